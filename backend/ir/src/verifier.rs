//! The IR verifier: structural and type rules every block must satisfy before it runs.
//!
//! Rules: every basic block ends with exactly one terminator and has none before; operands are
//! values defined earlier in the *same* basic block (locals carry values across); operand and
//! result types follow the opcode's signature class; register, local, helper and basic-block
//! indices exist.

use crate::block::{Block, Value};
use crate::opcodes::{FloatCC, IntCC, Opcode, Sig, TERMINATOR};
use crate::Type;
use ferrite_softmmu::MemOp;

/// A broken IR rule (always a frontend or pass bug).
#[derive(Debug, thiserror::Error)]
#[error("IR verifier: bb{bb} v{inst} ({op}): {msg}")]
pub struct VerifyError {
    /// Basic block.
    pub bb: usize,
    /// Instruction index.
    pub inst: usize,
    /// Opcode name.
    pub op: &'static str,
    /// What is wrong.
    pub msg: String,
}

/// Checks `block` against every IR rule.
pub fn verify(block: &Block) -> Result<(), VerifyError> {
    let mut placed = vec![false; block.insts.len()];
    let mut defined = vec![usize::MAX; block.insts.len()]; // bb that defined it
    for (bbi, bb) in block.bbs.iter().enumerate() {
        if bb.insts.is_empty() {
            return Err(VerifyError { bb: bbi, inst: 0, op: "-", msg: "empty basic block".into() });
        }
        for (pos, &ii) in bb.insts.iter().enumerate() {
            let i = ii as usize;
            let inst = block.insts.get(i).ok_or_else(|| VerifyError {
                bb: bbi,
                inst: i,
                op: "-",
                msg: "instruction index out of range".into(),
            })?;
            let err = |msg: String| VerifyError { bb: bbi, inst: i, op: inst.op.name(), msg };
            if std::mem::replace(&mut placed[i], true) {
                return Err(err("instruction placed twice".into()));
            }
            let is_term = inst.op.flags() & TERMINATOR != 0;
            let last = pos + 1 == bb.insts.len();
            if is_term != last {
                return Err(err(if is_term { "terminator before the end".into() } else { "missing terminator".into() }));
            }
            for a in inst.args.iter().copied().filter(|a| a.is_some()) {
                if a.index() >= block.insts.len() || defined[a.index()] != bbi {
                    return Err(err(format!("operand v{} is not defined earlier in this basic block", a.0)));
                }
            }
            check_types(block, inst.op, inst.ty, &inst.args, inst.imm).map_err(err)?;
            defined[i] = bbi;
        }
    }
    Ok(())
}

fn check_types(block: &Block, op: Opcode, ty: Type, args: &[Value; 4], imm: u64) -> Result<(), String> {
    let n = args.iter().filter(|a| a.is_some()).count();
    let at = |k: usize| block.ty(args[k]);
    let want_args = |k: usize| if n == k { Ok(()) } else { Err(format!("expects {k} operands, has {n}")) };
    let same = |t: Type, what: &str| if t == ty { Ok(()) } else { Err(format!("{what} is {t}, expected {ty}")) };
    let bb_ok = |b: u64| if (b as usize) < block.bbs.len() { Ok(()) } else { Err(format!("no basic block {b}")) };
    match op.sig() {
        Sig::Const => want_args(0)?,
        Sig::GetReg | Sig::SetReg => {
            let r = block.desc.regs.get(imm as usize).ok_or(format!("no register {imm}"))?;
            same(r.ty, "register")?;
            want_args(if op.sig() == Sig::GetReg { 0 } else { 1 })?;
            if op.sig() == Sig::SetReg {
                same(at(0), "value")?;
            }
        }
        Sig::GetLocal | Sig::SetLocal => {
            let l = *block.locals.get(imm as usize).ok_or(format!("no local {imm}"))?;
            same(l, "local")?;
            want_args(if op.sig() == Sig::GetLocal { 0 } else { 1 })?;
            if op.sig() == Sig::SetLocal {
                same(at(0), "value")?;
            }
        }
        Sig::Unary | Sig::Binary | Sig::Ternary => {
            want_args(match op.sig() {
                Sig::Unary => 1,
                Sig::Binary => 2,
                _ => 3,
            })?;
            for k in 0..n {
                same(at(k), "operand")?;
            }
            let float_op = matches!(
                op,
                Opcode::FAdd | Opcode::FSub | Opcode::FMul | Opcode::FDiv | Opcode::Fma | Opcode::FSqrt | Opcode::FNeg | Opcode::FAbs
            );
            if float_op != ty.is_float() || !(ty.is_int() || ty.is_float()) {
                return Err(format!("type {ty} not allowed"));
            }
        }
        Sig::ICmp | Sig::FCmp => {
            want_args(2)?;
            if ty != Type::I8 || at(0) != at(1) {
                return Err("compare needs two operands of one type and an i8 result".into());
            }
            let ok = if op.sig() == Sig::ICmp {
                at(0).is_int() && IntCC::from_imm(imm).is_some()
            } else {
                at(0).is_float() && FloatCC::from_imm(imm).is_some()
            };
            if !ok {
                return Err("bad operand type or condition".into());
            }
        }
        Sig::Select => {
            want_args(3)?;
            if at(0) != Type::I8 {
                return Err("condition must be i8".into());
            }
            same(at(1), "then")?;
            same(at(2), "else")?;
        }
        Sig::Carry => {
            want_args(3)?;
            if ty != Type::I8 || at(0) != at(1) || !at(0).is_int() || at(2) != Type::I8 {
                return Err("carry ops take two integers of one type and an i8 carry".into());
            }
        }
        Sig::Convert => {
            want_args(1)?;
            let from = at(0);
            let ok = match op {
                Opcode::Zext | Opcode::Sext => from.is_int() && ty.is_int() && ty.bits() > from.bits(),
                Opcode::Trunc => from.is_int() && ty.is_int() && ty.bits() < from.bits(),
                Opcode::Bitcast => from.bits() == ty.bits() && from != ty,
                Opcode::FPromote => from == Type::F32 && ty == Type::F64,
                Opcode::FDemote => from == Type::F64 && ty == Type::F32,
                Opcode::FToSI | Opcode::FToUI => from.is_float() && ty.is_int(),
                Opcode::SIToF | Opcode::UIToF => from.is_int() && ty.is_float(),
                _ => false,
            };
            if !ok {
                return Err(format!("cannot convert {from} to {ty}"));
            }
        }
        Sig::Load | Sig::Store => {
            want_args(if op.sig() == Sig::Load { 1 } else { 2 })?;
            if at(0) != Type::I64 {
                return Err("address must be i64".into());
            }
            let vt = if op.sig() == Sig::Load { ty } else { at(1) };
            if op.sig() == Sig::Store {
                same(at(1), "value")?;
            }
            let m = MemOp(imm as u32);
            let ok = if vt.is_float() { m.size() == vt.bytes() as u64 && !m.signed() } else { vt.is_int() && m.size() <= vt.bytes() as u64 };
            if !ok || imm >> 8 != 0 {
                return Err(format!("memop {m:?} does not fit {vt}"));
            }
        }
        Sig::Call => {
            let h = block.desc.helpers.get(imm as usize).ok_or(format!("no helper {imm}"))?;
            same(h.ret, "helper result")?;
            want_args(h.args.len())?;
            for (k, t) in h.args.iter().enumerate() {
                if at(k) != *t {
                    return Err(format!("helper {} operand {k} is {}, expected {t}", h.name, at(k)));
                }
            }
        }
        Sig::Marker | Sig::Nop => want_args(0)?,
        Sig::Jump => {
            want_args(0)?;
            bb_ok(imm)?;
            if op == Opcode::Chain && block.bb_start_pc(imm as usize).is_none() {
                return Err(format!("chain target bb{imm} does not start with insn_start"));
            }
        }
        Sig::Branch => {
            want_args(1)?;
            if at(0) != Type::I8 {
                return Err("branch condition must be i8".into());
            }
            bb_ok(imm & 0xffff_ffff)?;
            bb_ok(imm >> 32)?;
        }
        Sig::ExitImm => want_args(0)?,
        Sig::ExitDyn | Sig::Raise => {
            want_args(1)?;
            if at(0) != Type::I64 {
                return Err("operand must be i64".into());
            }
        }
    }
    Ok(())
}
