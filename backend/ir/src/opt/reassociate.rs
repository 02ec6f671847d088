//! Reassociation of loop recurrences: in a chain of one associative, commutative integer
//! operation (`add`, `mul`, `and`, `or`, `xor`) whose result is written to register `R`, the
//! one operand that depends on `R`'s own value is combined last.
//!
//! In a block that loops, `R` is a recurrence: its next value waits for its previous one.
//! Guests accumulate left to right, `r = ((r * k) + a) + b`, so each pass waits for two adds
//! after the multiply; `r * k + (a + b)` waits for one, and `a + b` overlaps with the
//! multiply (the 64-bit FNV loop of the `hash` benchmark, built from 32-bit halves, runs its
//! high word this way). Integer arithmetic wraps, so any order gives the same bits; outside
//! loops the new order costs nothing, as the number of operations is unchanged.
//!
//! A chain is the written value and its operands of the same operation and type that nothing
//! else uses (a value also used elsewhere, written to a register or stored, stays one operand).

use crate::block::{Block, Inst, Value};
use crate::opcodes::Opcode;

/// Longest chain considered (operands); longer ones are left as they are.
const MAX_OPERANDS: usize = 8;

/// Runs the pass.
pub fn run(block: &mut Block) {
    let mut uses = super::use_counts(block);
    let sets: Vec<(Value, u64)> = block
        .bbs
        .iter()
        .flat_map(|bb| &bb.insts)
        .map(|&ii| block.insts[ii as usize])
        .filter(|i| i.op == Opcode::SetReg)
        .map(|i| (i.args[0], i.imm))
        .collect();
    let mut done = vec![false; block.insts.len()];
    for (root, reg) in sets {
        // A value written to two registers is reordered for the first.
        if std::mem::replace(&mut done[root.index()], true) {
            continue;
        }
        let Some((new, inner)) = reorder(block, &uses, root, reg) else { continue };
        // The new inner operations go just before the root, which keeps its index (so the
        // write and every other use see the new value) and becomes the last operation.
        let Some((bb, pos)) = position(block, root) else { continue };
        for v in inner {
            block.insts[v.index()] = Inst { op: Opcode::Nop, ty: crate::Type::Void, args: [Value::NONE; 4], imm: 0 };
        }
        let first = block.insts.len() as u32;
        let n = new.len();
        for (k, inst) in new.into_iter().enumerate() {
            if k + 1 == n {
                block.insts[root.index()] = inst;
            } else {
                block.insts.push(inst);
                uses.push(1);
                block.bbs[bb].insts.insert(pos + k, first + k as u32);
            }
        }
    }
}

/// The basic block and index within it of the instruction defining `v`.
fn position(block: &Block, v: Value) -> Option<(usize, usize)> {
    block.bbs.iter().enumerate().find_map(|(bb, b)| b.insts.iter().position(|&i| i == v.0).map(|p| (bb, p)))
}

/// The chain rooted at `root` rebuilt with its one operand that depends on register `reg`
/// last, as new instructions (each refers to the ones before it; the last is the root's
/// new form) and the old inner operations, or `None` when there is nothing to move.
fn reorder(block: &Block, uses: &[u32], root: Value, reg: u64) -> Option<(Vec<Inst>, Vec<Value>)> {
    let r = block.insts[root.index()];
    if !matches!(r.op, Opcode::Add | Opcode::Mul | Opcode::And | Opcode::Or | Opcode::Xor) || !r.ty.is_int() {
        return None;
    }
    let mut operands = Vec::new();
    let mut inner = Vec::new();
    let mut stack = vec![r.args[1], r.args[0]];
    while let Some(v) = stack.pop() {
        let i = block.insts[v.index()];
        if i.op == r.op && i.ty == r.ty && uses[v.index()] == 1 && operands.len() + stack.len() < MAX_OPERANDS {
            inner.push(v);
            stack.push(i.args[1]);
            stack.push(i.args[0]);
        } else {
            operands.push(v);
        }
    }
    if operands.len() < 3 {
        return None;
    }
    // One operand on the recurrence, not yet the last one combined.
    let carried: Vec<usize> = (0..operands.len()).filter(|&k| reads_reg(block, operands[k], reg)).collect();
    let &[c] = carried.as_slice() else { return None };
    if c == operands.len() - 1 {
        return None;
    }
    let last = operands.remove(c);
    operands.push(last);
    let first = block.insts.len() as u32;
    let mut acc = operands[0];
    let mut new = Vec::with_capacity(operands.len() - 1);
    for (k, &v) in operands[1..].iter().enumerate() {
        new.push(Inst { op: r.op, ty: r.ty, args: [acc, v, Value::NONE, Value::NONE], imm: 0 });
        acc = Value(first + k as u32);
    }
    Some((new, inner))
}

/// Whether `v` is computed from a `get_reg` of register `reg`.
fn reads_reg(block: &Block, v: Value, reg: u64) -> bool {
    let mut stack = vec![v];
    let mut seen = std::collections::HashSet::new();
    while let Some(v) = stack.pop() {
        if !seen.insert(v) {
            continue;
        }
        let i = &block.insts[v.index()];
        if i.op == Opcode::GetReg && i.imm == reg {
            return true;
        }
        stack.extend(i.args.iter().copied().filter(|a| a.is_some()));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::Interpreter;
    use crate::testing::{TestMachine, DESC};
    use crate::{verify, Builder, Reg, Type};

    /// r1 = `f(r0, r1, r2)`, written back to r1.
    fn r1_update(f: impl FnOnce(&mut Builder, [Value; 3]) -> Value) -> Block {
        let mut blk = Block::new(&DESC, 0x100);
        let mut b = Builder::new(&mut blk);
        b.insn_start(0x100);
        let regs = [b.get_reg(Reg(0)), b.get_reg(Reg(1)), b.get_reg(Reg(2))];
        let r = f(&mut b, regs);
        b.set_reg(Reg(1), r);
        b.exit_direct(0x104);
        blk
    }

    fn run_on(blk: &Block, r: [u64; 3]) -> u64 {
        let mut tm = TestMachine::new();
        tm.cpu.r[..3].copy_from_slice(&r);
        // SAFETY: a verified block of the test guest on its machine.
        unsafe { Interpreter::new().run(blk, tm.env()) };
        tm.cpu.r[1]
    }

    /// The operation writing r1 and whether one of its operands is the multiply of r1.
    fn last_takes_the_recurrence(blk: &Block) -> bool {
        let set = blk.bbs[0].insts.iter().map(|&i| blk.insts[i as usize]).find(|i| i.op == Opcode::SetReg).unwrap();
        let root = blk.inst(set.args[0]);
        root.args[..2].iter().any(|&a| blk.inst(a).op == Opcode::Mul)
    }

    #[test]
    fn the_recurrence_joins_last_and_the_value_is_unchanged() {
        // r1 = ((r1 * 0x1b3) + (r0 << 8)) + r2, as the guest accumulates.
        let before = r1_update(|b, [r0, r1, r2]| {
            let k = b.iconst(Type::I64, 0x1b3);
            let m = b.mul(r1, k);
            let s = b.shl_imm(r0, 8);
            let a = b.add(m, s);
            b.add(a, r2)
        });
        assert!(!last_takes_the_recurrence(&before));
        let mut after = before.clone();
        run(&mut after);
        crate::opt::dce::run(&mut after);
        verify(&after).unwrap();
        assert!(last_takes_the_recurrence(&after), "{}", crate::print_block(&after));
        assert_eq!(after.live_inst_count(), before.live_inst_count());
        for r in [[0, 0, 0], [1, 2, 3], [u64::MAX, 0x1234_5678_9abc_def0, 7], [0xdead_beef, u64::MAX, u64::MAX]] {
            assert_eq!(run_on(&after, r), run_on(&before, r), "{r:x?}");
        }
    }

    #[test]
    fn chains_in_order_shared_or_mixed_stay() {
        let in_order = r1_update(|b, [r0, r1, r2]| {
            let a = b.add(r0, r2);
            let k = b.iconst(Type::I64, 3);
            let m = b.mul(r1, k);
            let s = b.add(a, r0);
            b.add(s, m)
        });
        let shared = r1_update(|b, [r0, r1, r2]| {
            let a = b.add(r1, r0);
            b.set_reg(Reg(2), a);
            b.add(a, r2)
        });
        let mixed = r1_update(|b, [r0, r1, r2]| {
            let a = b.xor(r1, r0);
            b.add(a, r2)
        });
        for blk in [in_order, shared, mixed] {
            let mut after = blk.clone();
            run(&mut after);
            assert_eq!(after.insts, blk.insts, "{}", crate::print_block(&after));
        }
    }
}
