//! Algebraic simplification of integer operations, within a basic block:
//!
//! * identities: `and x, all-ones`, `and x, x`, `or x, x`, and `x op 0` for `or`, `xor`,
//!   `add`, `sub` and the shifts and rotates become `x` (`0 op x` too where `op` commutes);
//!   `and x, m` becomes `x` when `m` keeps every bit `x` can have (a byte load masked
//!   with 0xff);
//! * a test of a comparison's result, `icmp eq c, 1` or `icmp eq c, 0` (how guests test a
//!   flag they computed), becomes the comparison or its inverse, which the host fuses with
//!   the branch;
//! * a rotate whose result is masked so that only the bits shifted in from one side survive
//!   is that shift: `and (rotl x, k), m` becomes `shl x, k` or `shru x, w-k` when `m` keeps
//!   exactly those bits, and `and (shl x, k), m` (or `shru`) when it keeps some of them.
//!   Guest ISAs express shifts and bit-field extracts as rotate-and-mask (PowerPC `rlwinm`),
//!   which costs a rotate and an `and` on the host where a shift does, and a shift left
//!   folds into an address computation (`base + (i << 2)`) where a rotate does not.

use super::apply_subst;
use crate::block::{Block, Inst, Value};
use crate::opcodes::Opcode;
use crate::Type;

/// What an instruction becomes.
enum Rewrite {
    /// Every use of it uses this value instead.
    Value(Value),
    /// It becomes this instruction, after the listed new instructions (each a template whose
    /// `Value(u32::MAX - k)` operands refer to the k-th new instruction).
    Insts(Vec<Inst>, Inst),
}

/// Runs the pass.
pub fn run(block: &mut Block) {
    let mut subst: Vec<Value> = (0..block.insts.len() as u32).map(Value).collect();
    let mut changed = false;
    for bb in 0..block.bbs.len() {
        let old = std::mem::take(&mut block.bbs[bb].insts);
        let mut out = Vec::with_capacity(old.len());
        for ii in old {
            let i = ii as usize;
            for a in block.insts[i].args.iter_mut().filter(|a| a.is_some()) {
                *a = subst[a.index()];
            }
            match rewrite(block, i) {
                None => {}
                Some(Rewrite::Value(v)) => {
                    subst[i] = v;
                    block.insts[i] = Inst { op: Opcode::Nop, ty: Type::Void, args: [Value::NONE; 4], imm: 0 };
                    changed = true;
                }
                Some(Rewrite::Insts(new, mut inst)) => {
                    let first = block.insts.len() as u32;
                    let resolve = |a: &mut Value| {
                        if a.is_some() && a.0 >= u32::MAX - 16 {
                            *a = Value(first + (u32::MAX - 1 - a.0));
                        }
                    };
                    for mut n in new {
                        n.args.iter_mut().for_each(resolve);
                        out.push(block.insts.len() as u32);
                        block.insts.push(n);
                        subst.push(Value(block.insts.len() as u32 - 1));
                    }
                    inst.args.iter_mut().for_each(resolve);
                    block.insts[i] = inst;
                    changed = true;
                }
            }
            out.push(ii);
        }
        block.bbs[bb].insts = out;
    }
    if changed {
        apply_subst(block, &subst);
    }
}

/// A template operand naming the `k`-th new instruction of a [`Rewrite::Insts`].
const fn new_value(k: u32) -> Value {
    Value(u32::MAX - 1 - k)
}

fn rewrite(block: &Block, i: usize) -> Option<Rewrite> {
    let inst = block.insts[i];
    if inst.op == Opcode::Icmp {
        return flag_test(block, inst);
    }
    let ty = inst.ty;
    if !ty.is_int() || !matches!(inst.op.sig(), crate::opcodes::Sig::Binary) {
        return None;
    }
    let [mut x, mut y, ..] = inst.args;
    let commutes = matches!(inst.op, Opcode::And | Opcode::Or | Opcode::Xor | Opcode::Add);
    if commutes && block.as_const(x).is_some() && block.as_const(y).is_none() {
        std::mem::swap(&mut x, &mut y);
    }
    let k = block.as_const(y).map(|k| k & ty.mask());
    match inst.op {
        Opcode::And if x == y => Some(Rewrite::Value(x)),
        Opcode::And if k.is_some_and(|k| may_be_set(block, x, 4) & !k == 0) => Some(Rewrite::Value(x)),
        Opcode::Or if x == y => Some(Rewrite::Value(x)),
        Opcode::Or
        | Opcode::Xor
        | Opcode::Add
        | Opcode::Sub
        | Opcode::Shl
        | Opcode::ShrU
        | Opcode::ShrS
        | Opcode::Rotl
        | Opcode::Rotr
            if k == Some(0) =>
        {
            Some(Rewrite::Value(x))
        }
        Opcode::And => masked_rotate(block, inst, k?),
        _ => None,
    }
}

/// `icmp eq|ne c, 0|1` where `c` is an integer comparison: `c` or its inverse.
fn flag_test(block: &Block, inst: Inst) -> Option<Rewrite> {
    let [c, k, ..] = inst.args;
    let cmp = block.insts[c.index()];
    let k = block.as_const(k)?;
    if k == 0 && inst.imm <= 1 {
        if let Some(r) = bit_test(block, inst) {
            return Some(r);
        }
    }
    if cmp.op != Opcode::Icmp || k > 1 || inst.imm > 1 {
        return None;
    }
    // eq 1 and ne 0 test the flag; eq 0 and ne 1 its inverse.
    if (inst.imm == 0) == (k == 1) {
        return Some(Rewrite::Value(c));
    }
    // Inverse conditions, by `imm`: eq/ne, slt/sge, sle/sgt, ult/uge, ule/ugt.
    const INVERSE: [u64; 10] = [1, 0, 5, 4, 3, 2, 9, 8, 7, 6];
    Some(Rewrite::Insts(Vec::new(), Inst { imm: *INVERSE.get(cmp.imm as usize)?, ..cmp }))
}

/// `icmp eq|ne (and (shru x, n), m), 0` (or without the `and`) as
/// `icmp eq|ne (and x, m << n), 0`: a test of bits in place (a CR bit read from its field),
/// which the host does with one `test`.
fn bit_test(block: &Block, inst: Inst) -> Option<Rewrite> {
    let tested = block.insts[inst.args[0].index()];
    let ty = tested.ty;
    let (shr, m) = match tested.op {
        Opcode::And => (block.insts[tested.args[0].index()], block.as_const(tested.args[1])?),
        Opcode::ShrU => (tested, ty.mask()),
        _ => return None,
    };
    if shr.op != Opcode::ShrU {
        return None;
    }
    let n = block.as_const(shr.args[1]).filter(|&n| n < u64::from(shr.ty.bits()))?;
    let mask = Inst { op: Opcode::Const, ty, args: [Value::NONE; 4], imm: (m << n) & ty.mask() };
    let bits = Inst { op: Opcode::And, ty, args: [shr.args[0], new_value(0), Value::NONE, Value::NONE], imm: 0 };
    Some(Rewrite::Insts(vec![mask, bits], Inst { args: [new_value(1), inst.args[1], Value::NONE, Value::NONE], ..inst }))
}

/// The bits of `v` that may be 1 (a superset), looking `depth` definitions back.
fn may_be_set(block: &Block, v: Value, depth: u32) -> u64 {
    let inst = block.insts[v.index()];
    let all = inst.ty.mask();
    if depth == 0 {
        return all;
    }
    let arg = |k: usize| may_be_set(block, inst.args[k], depth - 1);
    let amount = || block.as_const(inst.args[1]).filter(|&n| n < u64::from(inst.ty.bits()));
    all & match inst.op {
        Opcode::Const => inst.imm,
        Opcode::Icmp | Opcode::Fcmp => 1,
        Opcode::Load => {
            let op = ferrite_softmmu::MemOp(inst.imm as u32);
            if op.signed() || op.size() >= 8 {
                all
            } else {
                (1u64 << (8 * op.size())) - 1
            }
        }
        Opcode::Zext => arg(0) & block.ty(inst.args[0]).mask(),
        Opcode::And => arg(0) & arg(1),
        Opcode::Or | Opcode::Xor => arg(0) | arg(1),
        Opcode::Select => arg(1) | arg(2),
        Opcode::ShrU => amount().map_or(all, |n| arg(0) >> n),
        Opcode::Shl => amount().map_or(all, |n| arg(0) << n),
        _ => all,
    }
}

/// `and (rotl x, n), m` as a shift, when `m` keeps only bits that one of the rotate's two
/// shifts supplies.
fn masked_rotate(block: &Block, and: Inst, m: u64) -> Option<Rewrite> {
    let rot = block.insts[and.args[0].index()];
    let ty = and.ty;
    let w = u64::from(ty.bits());
    if rot.op != Opcode::Rotl || rot.ty != ty {
        return None;
    }
    let n = block.as_const(rot.args[1])? % w;
    if n == 0 {
        return None;
    }
    let low = (1u64 << n) - 1; // bits rotated in from the top
    let high = ty.mask() & !low; // bits shifted left
    let x = rot.args[0];
    let konst = |v: u64| Inst { op: Opcode::Const, ty, args: [Value::NONE; 4], imm: v };
    let bin = |op, a, b| Inst { op, ty, args: [a, b, Value::NONE, Value::NONE], imm: 0 };
    if m & low == 0 {
        // Only the bits of x << n survive.
        let shl = bin(Opcode::Shl, x, rot.args[1]);
        if m == high {
            return Some(Rewrite::Insts(Vec::new(), shl));
        }
        return Some(Rewrite::Insts(vec![shl], bin(Opcode::And, new_value(0), and.args[1])));
    }
    if m & high == 0 {
        // Only the bits of x >> (w - n) survive.
        let amount = konst(w - n);
        let shr = bin(Opcode::ShrU, x, new_value(0));
        if m == low {
            return Some(Rewrite::Insts(vec![amount], shr));
        }
        return Some(Rewrite::Insts(vec![amount, shr], bin(Opcode::And, new_value(1), and.args[1])));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::Interpreter;
    use crate::testing::{TestMachine, DESC};
    use crate::{verify, Builder, Reg};

    /// A one-instruction block: r1 = `f(r0)`.
    fn r1_of_r0(f: impl FnOnce(&mut Builder, crate::Value) -> crate::Value) -> Block {
        let mut blk = Block::new(&DESC, 0x100);
        let mut b = Builder::new(&mut blk);
        b.insn_start(0x100);
        let x = b.get_reg(Reg(0));
        let r = f(&mut b, x);
        b.set_reg(Reg(1), r);
        b.exit_direct(0x104);
        blk
    }

    /// `blk` after this pass and dead-code elimination, verified.
    fn simplified(mut blk: Block) -> Block {
        run(&mut blk);
        crate::opt::dce::run(&mut blk);
        verify(&blk).unwrap();
        blk
    }

    /// r1 = (rotl r0, n) & m, as i32 in a 64-bit register.
    fn rot_mask(n: u64, m: u64) -> Block {
        r1_of_r0(|b, x| {
            let x = b.trunc(Type::I32, x);
            let r = b.rotl_imm(x, n);
            let r = b.and_imm(r, m);
            b.zext(Type::I64, r)
        })
    }

    fn run_on(blk: &Block, r0: u64) -> u64 {
        let mut tm = TestMachine::new();
        tm.cpu.r[0] = r0;
        // SAFETY: a verified block of the test guest on its machine.
        unsafe { Interpreter::new().run(blk, tm.env()) };
        tm.cpu.r[1]
    }

    fn ops(blk: &Block) -> Vec<Opcode> {
        blk.bbs.iter().flat_map(|bb| &bb.insts).map(|&i| blk.insts[i as usize].op).filter(|&o| o != Opcode::Nop).collect()
    }

    #[test]
    fn masked_rotates_become_shifts_and_keep_their_value() {
        let cases = [
            (2, 0xffff_fffc, Some(Opcode::Shl), false),
            (2, 0x0000_fff0, Some(Opcode::Shl), true),
            (28, 0x0fff_ffff, Some(Opcode::ShrU), false),
            (28, 0x0000_0ff0, Some(Opcode::ShrU), true),
            (5, 0xffff_ffff, None, false),
            (5, 0x0000_00ff, None, true),
        ];
        for (n, m, want, keeps_and) in cases {
            let before = rot_mask(n, m);
            let after = simplified(before.clone());
            let o = ops(&after);
            assert!(!o.contains(&Opcode::Rotl) || want.is_none(), "n={n} m={m:#x}: {o:?}");
            if let Some(op) = want {
                assert!(o.contains(&op), "n={n} m={m:#x}: {o:?}");
            }
            assert_eq!(o.contains(&Opcode::And), keeps_and, "n={n} m={m:#x}: {o:?}");
            for x in [0u64, 1, 0x8000_0001, 0xdead_beef, 0xffff_ffff, 0x1234_5678_9abc_def0] {
                assert_eq!(run_on(&after, x), run_on(&before, x), "n={n} m={m:#x} x={x:#x}");
            }
        }
    }

    #[test]
    fn identities_disappear() {
        let blk = simplified(r1_of_r0(|b, x| {
            let x = b.trunc(Type::I32, x);
            let a = b.and_imm(x, 0xffff_ffff);
            let o = b.or(a, a);
            let s = b.shl_imm(o, 0);
            b.zext(Type::I64, s)
        }));
        assert_eq!(ops(&blk), vec![Opcode::InsnStart, Opcode::GetReg, Opcode::Trunc, Opcode::Zext, Opcode::SetReg, Opcode::ExitDirect]);
    }

    #[test]
    fn masks_over_other_operations_stay() {
        let mut blk = r1_of_r0(|b, x| {
            let n = b.not(x);
            b.and_imm(n, 0xff)
        });
        let before = blk.clone();
        run(&mut blk);
        verify(&blk).unwrap();
        assert_eq!(ops(&blk), ops(&before));
    }

    /// r1 = (icmp cc r0, 5) tested with `test` against `k`, as 0/1.
    fn flag_block(cc: crate::IntCC, test: crate::IntCC, k: u64) -> Block {
        r1_of_r0(|b, x| {
            let c = b.icmp_imm(cc, x, 5);
            let t = b.icmp_imm(test, c, k);
            b.zext(Type::I64, t)
        })
    }

    #[test]
    fn tests_of_a_flag_become_the_comparison_or_its_inverse() {
        use crate::IntCC::*;
        for cc in crate::IntCC::ALL {
            for (test, k) in [(Eq, 0), (Eq, 1), (Ne, 0), (Ne, 1)] {
                let before = flag_block(cc, test, k);
                let after = simplified(before.clone());
                let icmps = ops(&after).iter().filter(|&&o| o == Opcode::Icmp).count();
                assert_eq!(icmps, 1, "{cc:?} {test:?} {k}");
                for x in [0u64, 4, 5, 6, u64::MAX, 1 << 63] {
                    assert_eq!(run_on(&after, x), run_on(&before, x), "{cc:?} {test:?} {k} x={x:#x}");
                }
            }
        }
    }

    #[test]
    fn a_mask_keeping_every_possible_bit_disappears() {
        let blk = simplified(r1_of_r0(|b, a| {
            let u8_load = ferrite_softmmu::MemOp::new(0, false, ferrite_softmmu::Endian::Big, 0);
            let s8_load = ferrite_softmmu::MemOp::new(0, true, ferrite_softmmu::Endian::Big, 0);
            let v = b.load(Type::I32, u8_load, a);
            let m = b.and_imm(v, 0xff); // redundant
            let w = b.load(Type::I32, s8_load, a);
            let n = b.and_imm(w, 0xff); // needed: sign bits
            let r = b.add(m, n);
            b.zext(Type::I64, r)
        }));
        assert_eq!(ops(&blk).iter().filter(|&&o| o == Opcode::And).count(), 1);
    }

    #[test]
    fn tests_of_shifted_bits_test_them_in_place() {
        for (n, m) in [(3, 1), (0, 1), (2, 3), (7, 0xff), (4, 0xf0)] {
            for test in [crate::IntCC::Eq, crate::IntCC::Ne] {
                // r1 = ((r0.i8 >> n) & m) ==/!= 0
                let before = r1_of_r0(|b, x| {
                    let x = b.trunc(Type::I8, x);
                    let s = b.shru_imm(x, n);
                    let a = b.and_imm(s, m);
                    let t = b.icmp_imm(test, a, 0);
                    b.zext(Type::I64, t)
                });
                let after = simplified(before.clone());
                assert!(!ops(&after).contains(&Opcode::ShrU), "n={n} m={m:#x}");
                for v in 0..=255u64 {
                    assert_eq!(run_on(&after, v), run_on(&before, v), "n={n} m={m:#x} {test:?} x={v:#x}");
                }
            }
        }
    }
}
