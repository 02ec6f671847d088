//! What the emitter decides before it emits a program: which ops call `eval_generic`, which
//! results stay in `rax` for the next op, and where every value lives in the frame.

use ferrite_ir::interp::{CallSite, Op, Program, Slot};
use crate::host::Host;
use ferrite_ir::{Opcode, Type};

/// Whether `op` runs through `eval_generic` (everything without an expansion: conversions
/// between floats and integers, carries, division and the narrow integer types are rare in
/// the code tier 1 runs; `fma` without FMA3 on the host, and the float ops whose NaN choice
/// an expansion cannot reproduce, see [`Host`]).
pub(crate) fn is_generic(op: &Op, host: &Host) -> bool {
    let wide = |ty: Type| matches!(ty, Type::I32 | Type::I64);
    match *op {
        Op::Icmp { ty, .. } => !ty.is_int(),
        Op::Carry { op: Opcode::AddCarry, ty: Type::I32, .. } => false,
        Op::Binary { op: Opcode::Rotl | Opcode::Rotr | Opcode::ShrS | Opcode::MulHiU | Opcode::MulHiS, ty, .. } => !wide(ty),
        Op::Binary { op: op @ (Opcode::FAdd | Opcode::FSub | Opcode::FMul | Opcode::FDiv), ty, .. } => host.binary_swapped(op, ty).is_none(),
        Op::Ternary { op: Opcode::Fma, ty, .. } => !host.fma(ty),
        Op::Unary { op: Opcode::Not | Opcode::Neg, ty, .. } => !wide(ty),
        Op::Unary { op: Opcode::FNeg | Opcode::FAbs | Opcode::FSqrt, .. } => false,
        Op::Convert { op: Opcode::Sext | Opcode::FPromote | Opcode::FDemote, .. } => false,
        Op::Fcmp { .. } => false,
        Op::Unary { .. } | Op::Binary { .. } | Op::Ternary { .. } | Op::Carry { .. } | Op::Convert { .. } => true,
        _ => false,
    }
}

/// The slots an op reads (`calls`: the program's call sites).
pub(crate) fn reads(op: &Op, calls: &[CallSite]) -> ([Slot; 4], usize) {
    match *op {
        Op::Set8 { s, .. } | Op::Set16 { s, .. } | Op::Set32 { s, .. } | Op::Set64 { s, .. } | Op::SetLocal { s, .. } => ([s, 0, 0, 0], 1),
        Op::Add { a, b, .. }
        | Op::Sub { a, b, .. }
        | Op::Mul { a, b, .. }
        | Op::And { a, b, .. }
        | Op::Or { a, b, .. }
        | Op::Xor { a, b, .. }
        | Op::Shl { a, b, .. }
        | Op::ShrU { a, b, .. }
        | Op::Icmp { a, b, .. }
        | Op::Binary { a, b, .. }
        | Op::Fcmp { a, b, .. }
        | Op::Store { a, s: b, .. } => ([a, b, 0, 0], 2),
        Op::Trunc { a, .. } | Op::Unary { a, .. } | Op::Convert { a, .. } | Op::Load { a, .. } => ([a, 0, 0, 0], 1),
        Op::Select { c, a, b, .. } | Op::Ternary { a, b, c, .. } | Op::Carry { a, b, c, .. } => ([a, b, c, 0], 3),
        Op::Branch { c, .. } => ([c, 0, 0, 0], 1),
        Op::ExitDynamic { s } | Op::ExitSyncDynamic { s } | Op::Raise { s, .. } => ([s, 0, 0, 0], 1),
        Op::Call { site, .. } => {
            let c = &calls[site as usize];
            (c.args, c.nargs as usize)
        }
        _ => ([0; 4], 0),
    }
}

/// The slot an op writes, for the ops whose expansion leaves it in `rax`.
pub(crate) fn result(op: &Op, host: &Host) -> Option<Slot> {
    match *op {
        Op::Get8 { d, .. }
        | Op::Get16 { d, .. }
        | Op::Get32 { d, .. }
        | Op::Get64 { d, .. }
        | Op::GetLocal { d, .. }
        | Op::Add { d, .. }
        | Op::Sub { d, .. }
        | Op::Mul { d, .. }
        | Op::And { d, .. }
        | Op::Or { d, .. }
        | Op::Xor { d, .. }
        | Op::Shl { d, .. }
        | Op::ShrU { d, .. }
        | Op::Trunc { d, .. }
        | Op::Select { d, .. }
        | Op::Load { d, .. }
        | Op::Call { d, .. } => Some(d),
        Op::Icmp { d, .. }
        | Op::Binary { d, .. }
        | Op::Unary { d, .. }
        | Op::Ternary { d, .. }
        | Op::Carry { d, .. }
        | Op::Convert { d, .. }
        | Op::Fcmp { d, .. }
            if !is_generic(op, host) =>
        {
            Some(d)
        }
        _ => None,
    }
}

/// Empties `v` and fills it with `n` copies of `x` (keeping its allocation).
pub(crate) fn refill<T: Clone>(v: &mut Vec<T>, n: usize, x: T) {
    v.clear();
    v.resize(n, x);
}

/// The slot an op writes, if any.
fn written(op: &Op, host: &Host) -> Option<Slot> {
    match *op {
        Op::Ternary { d, .. } | Op::Carry { d, .. } | Op::Convert { d, .. } | Op::Fcmp { d, .. } | Op::Icmp { d, .. } | Op::Binary { d, .. } | Op::Unary { d, .. } => Some(d),
        _ => result(op, host),
    }
}

/// Jump targets of an op.
fn targets(op: &Op) -> impl Iterator<Item = u32> {
    let (a, b) = match *op {
        Op::Jump { to, .. } | Op::Chain { to, .. } => (Some(to), None),
        Op::Branch { t, f, .. } => (Some(t), Some(f)),
        _ => (None, None),
    };
    a.into_iter().chain(b)
}

/// No frame slot (a constant the code uses as an immediate).
pub(crate) const NO_SLOT: u32 = u32::MAX;

/// The plan of a program's code: where its values live in the frame, and which results stay
/// in `rax` for the next op.
///
/// The interpreter gives every value its own slot (a block has dozens); here a value's frame
/// slot is reused once its last reader has run, so that frames stay small and are addressed
/// with 8-bit displacements. (Programs that jump backwards keep the interpreter's numbering:
/// a value read in a loop lives across it, which a scan in layout order would not see.)
///
/// A result stays in `rax` (is never stored) when the next op, in the same basic block, is
/// its only reader and takes its operands in registers: every expansion reads all its
/// operands before anything else writes `rax`, and reads into `rax` last.
#[derive(Default)]
pub(crate) struct Plan {
    /// Per program slot: its frame slot, or [`NO_SLOT`].
    pub(crate) slot_of: Vec<u32>,
    /// Frame slots in use (the IR locals follow them).
    pub(crate) len: u32,
    /// Per constant: whether a generic op reads it from the frame.
    pub(crate) need: Vec<bool>,
    /// Per op: whether its result stays in `rax`.
    pub(crate) keep: Vec<bool>,
    uses: Vec<u32>,
    last: Vec<u32>,
    target: Vec<bool>,
    free: Vec<u32>,
}

impl Plan {
    /// Plans `p`, whose ops at `generic` call `eval_generic` (as `host` decides).
    pub(crate) fn make(&mut self, p: &Program, generic: &[usize], host: &Host) {
        let (ops, calls) = (p.ops(), p.calls());
        let (n, nc) = (p.n_slots(), p.consts().len());
        refill(&mut self.need, nc, false);
        for &i in generic {
            let (r, k) = reads(&ops[i], calls);
            for &x in &r[..k] {
                if (x as usize) < nc {
                    self.need[x as usize] = true;
                }
            }
        }
        refill(&mut self.uses, n, 0);
        refill(&mut self.last, n, NO_SLOT);
        refill(&mut self.target, ops.len(), false);
        let mut backward = false;
        for (i, op) in ops.iter().enumerate() {
            for t in targets(op) {
                self.target[t as usize] = true;
                backward |= t as usize <= i;
            }
            let (r, k) = reads(op, calls);
            for &x in &r[..k] {
                self.uses[x as usize] += 1;
                self.last[x as usize] = i as u32;
            }
        }
        refill(&mut self.keep, ops.len(), false);
        refill(&mut self.slot_of, n, NO_SLOT);
        self.free.clear();
        self.len = 0;
        if backward {
            for (s, f) in self.slot_of.iter_mut().enumerate() {
                *f = s as u32;
            }
            self.len = n as u32;
        } else {
            for k in 0..nc {
                if self.need[k] {
                    self.slot_of[k] = self.len;
                    self.len += 1;
                }
            }
        }
        let mut sink = None;
        for (i, op) in ops.iter().enumerate() {
            let (r, k) = reads(op, calls);
            if i > 0 && !self.target[i] && !is_generic(op, host) {
                if let Some(d) = result(&ops[i - 1], host) {
                    self.keep[i - 1] = self.uses[d as usize] == 1 && r[..k].contains(&d);
                }
            }
            if backward {
                continue;
            }
            // Every expansion reads all its operands before it writes its result, so the
            // result may take the slot of an operand read for the last time.
            for &x in &r[..k] {
                if x as usize >= nc && self.last[x as usize] == i as u32 {
                    self.last[x as usize] = NO_SLOT;
                    self.free.push(self.slot_of[x as usize]);
                }
            }
            if let Some(d) = written(op, host) {
                let f = if self.last[d as usize] == NO_SLOT {
                    // Never read (void calls all write one such slot): one sink for all.
                    *sink.get_or_insert_with(|| {
                        self.len += 1;
                        self.len - 1
                    })
                } else {
                    self.free.pop().unwrap_or_else(|| {
                        self.len += 1;
                        self.len - 1
                    })
                };
                self.slot_of[d as usize] = f;
            }
        }
    }
}

/// `op` (a generic one) with its slots renumbered to frame slots, for `eval_generic`, which
/// reads and writes the frame.
pub(crate) fn remap(op: &Op, slot_of: &[u32]) -> Op {
    let f = |s: Slot| slot_of[s as usize];
    match *op {
        Op::Icmp { d, a, b, cc, ty } => Op::Icmp { d: f(d), a: f(a), b: f(b), cc, ty },
        Op::Unary { d, a, op, ty } => Op::Unary { d: f(d), a: f(a), op, ty },
        Op::Binary { d, a, b, op, ty } => Op::Binary { d: f(d), a: f(a), b: f(b), op, ty },
        Op::Ternary { d, a, b, c, op, ty } => Op::Ternary { d: f(d), a: f(a), b: f(b), c: f(c), op, ty },
        Op::Carry { d, a, b, c, op, ty } => Op::Carry { d: f(d), a: f(a), b: f(b), c: f(c), op, ty },
        Op::Convert { d, a, op, from, to } => Op::Convert { d: f(d), a: f(a), op, from, to },
        Op::Fcmp { d, a, b, cc, ty } => Op::Fcmp { d: f(d), a: f(a), b: f(b), cc, ty },
        other => other,
    }
}
