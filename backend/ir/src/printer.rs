//! Text form of the IR (`-d ir`, golden files, test failures).
//!
//! ```text
//! block 0x1000 insns=2
//! bb0:
//!   insn_start 0x1000
//!   v1 = get_reg.i32 r3
//!   v2 = const.i32 0x10
//!   v3 = add.i32 v1, v2
//!   set_reg.i32 r3, v3
//!   exit_direct 0x1004
//! ```

use crate::block::{Block, Inst, Value};
use crate::opcodes::{FloatCC, IntCC, Opcode, Sig};
use crate::Type;
use ferrite_softmmu::MemOp;
use std::fmt::{self, Write};

/// Prints a whole block.
pub fn print_block(block: &Block) -> String {
    let mut s = String::new();
    write_block(&mut s, block).expect("writing to a String");
    s
}

/// Writes a whole block.
pub fn write_block(out: &mut impl Write, block: &Block) -> fmt::Result {
    writeln!(out, "block {:#x} insns={}", block.vpc, block.n_insns)?;
    for (i, t) in block.locals.iter().enumerate() {
        writeln!(out, "  local l{i}: {t}")?;
    }
    for (bi, bb) in block.bbs.iter().enumerate() {
        writeln!(out, "bb{bi}:{}", if bb.cold { " (cold)" } else { "" })?;
        for &ii in &bb.insts {
            let inst = &block.insts[ii as usize];
            if inst.op == Opcode::Nop {
                continue;
            }
            write!(out, "  ")?;
            write_inst(out, block, Value(ii), inst)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

fn args(block: &Block, inst: &Inst) -> String {
    let _ = block;
    inst.args.iter().filter(|a| a.is_some()).map(|a| format!("v{}", a.0)).collect::<Vec<_>>().join(", ")
}

/// Writes one instruction.
pub fn write_inst(out: &mut impl Write, block: &Block, v: Value, inst: &Inst) -> fmt::Result {
    let name = inst.op.name();
    let has_result = inst.ty != Type::Void && !matches!(inst.op.sig(), Sig::SetReg | Sig::SetLocal | Sig::Store);
    if has_result {
        write!(out, "v{} = {}.{}", v.0, name, inst.ty)?;
    } else if matches!(inst.op.sig(), Sig::SetReg | Sig::SetLocal | Sig::Store) {
        write!(out, "{}.{}", name, inst.ty)?;
    } else {
        write!(out, "{name}")?;
    }
    let a = args(block, inst);
    let sep = if a.is_empty() { "" } else { ", " };
    match inst.op.sig() {
        Sig::Const => {
            if inst.ty == Type::F64 {
                write!(out, " {:#x} ; {}", inst.imm, f64::from_bits(inst.imm))
            } else if inst.ty == Type::F32 {
                write!(out, " {:#x} ; {}", inst.imm, f32::from_bits(inst.imm as u32))
            } else {
                write!(out, " {:#x}", inst.imm)
            }
        }
        Sig::GetReg | Sig::SetReg => {
            let r = block.desc.regs.get(inst.imm as usize).map_or("?", |r| r.name);
            write!(out, " {r}{sep}{a}")
        }
        Sig::GetLocal | Sig::SetLocal => write!(out, " l{}{sep}{a}", inst.imm),
        Sig::ICmp => write!(out, " {}, {a}", IntCC::from_imm(inst.imm).map_or("?", |c| c.name())),
        Sig::FCmp => write!(out, " {}, {a}", FloatCC::from_imm(inst.imm).map_or("?", |c| c.name())),
        Sig::Load | Sig::Store => write!(out, " {:?}, {a}", MemOp(inst.imm as u32)),
        Sig::Call => {
            let h = block.desc.helpers.get(inst.imm as usize).map_or("?", |h| h.name);
            write!(out, " {h}({a})")
        }
        Sig::Marker | Sig::ExitImm => write!(out, " {:#x}", inst.imm),
        Sig::Jump => write!(out, " bb{}", inst.imm),
        Sig::Branch => write!(out, " {a}, bb{}, bb{}", inst.imm & 0xffff_ffff, inst.imm >> 32),
        Sig::Raise => write!(out, " {:#x}, {a}", inst.imm),
        Sig::Nop => Ok(()),
        Sig::Unary | Sig::Binary | Sig::Ternary | Sig::Select | Sig::Convert | Sig::Carry | Sig::ExitDyn => {
            if a.is_empty() {
                Ok(())
            } else {
                write!(out, " {a}")
            }
        }
    }
}
