//! Flattening an IR block into the interpreter's compact form.
//!
//! Basic blocks are laid out in one array of [`Op`]s (jumps become op indices), `nop`s vanish,
//! live values get dense slot numbers, register indices become byte offsets, and the most
//! common opcode/type pairs get their own variants so the run loop dispatches once per op.
//!
//! Three kinds of IR instruction cost no dispatch at all (a third of a typical block):
//! constants live in the first slots (one per constant), filled by one copy when the program starts; a
//! zero-extension or a bitcast shares its operand's slot (slots hold values zero-extended and
//! floats as their bits, so both leave the slot's value as it is, and every value has its own
//! slot, so the operand is never overwritten); and instruction markers are counted
//! per basic block: a jump or branch adds its block's markers to the running count, and an op
//! that can leave early (load, store, raising call, raise) knows how many markers precede it
//! in its own block ([`Site`]), which gives the exit's PC and completed-instruction count.

use crate::block::{Block, HelperFn, Value};
use crate::opcodes::{FloatCC, IntCC, Opcode, Sig};
use crate::Type;

/// A slot number in the interpreter's value array.
pub type Slot = u32;

/// One interpreter operation. Also the input of the baseline compiler (`ferrite-baseline`),
/// which turns a program's ops into host code one by one: its fields are the interpreter's.
#[derive(Clone, Copy, Debug)]
#[allow(missing_docs)]
pub enum Op {
    Get8 { d: Slot, off: u32 },
    Get16 { d: Slot, off: u32 },
    Get32 { d: Slot, off: u32 },
    Get64 { d: Slot, off: u32 },
    Set8 { s: Slot, off: u32 },
    Set16 { s: Slot, off: u32 },
    Set32 { s: Slot, off: u32 },
    Set64 { s: Slot, off: u32 },
    GetLocal { d: Slot, l: u32 },
    SetLocal { s: Slot, l: u32 },
    Add { d: Slot, a: Slot, b: Slot, m: u64 },
    Sub { d: Slot, a: Slot, b: Slot, m: u64 },
    Mul { d: Slot, a: Slot, b: Slot, m: u64 },
    And { d: Slot, a: Slot, b: Slot },
    Or { d: Slot, a: Slot, b: Slot },
    Xor { d: Slot, a: Slot, b: Slot },
    Shl { d: Slot, a: Slot, b: Slot, m: u64 },
    ShrU { d: Slot, a: Slot, b: Slot, bits: u32 },
    Trunc { d: Slot, a: Slot, m: u64 },
    Icmp { d: Slot, a: Slot, b: Slot, cc: IntCC, ty: Type },
    Select { d: Slot, c: Slot, a: Slot, b: Slot },
    Unary { d: Slot, a: Slot, op: Opcode, ty: Type },
    Binary { d: Slot, a: Slot, b: Slot, op: Opcode, ty: Type },
    Ternary { d: Slot, a: Slot, b: Slot, c: Slot, op: Opcode, ty: Type },
    Carry { d: Slot, a: Slot, b: Slot, c: Slot, op: Opcode, ty: Type },
    Convert { d: Slot, a: Slot, op: Opcode, from: Type, to: Type },
    Fcmp { d: Slot, a: Slot, b: Slot, cc: FloatCC, ty: Type },
    Load { d: Slot, a: Slot, memop: u32, m: u64, at: u16 },
    Store { a: Slot, s: Slot, memop: u32, at: u16 },
    Call { d: Slot, site: u32, at: u16 },
    Jump { to: u32, from: u32 },
    /// `chain`: `pc` is the target's first instruction (where a requested exit leaves).
    Chain { to: u32, from: u32, pc: u64 },
    Branch { c: Slot, t: u32, f: u32, from: u32 },
    /// `index`: the link slot of compiled code (`direct_exit_index`).
    ExitDirect { pc: u64, index: u32 },
    ExitDynamic { s: Slot },
    ExitSync { pc: u64 },
    ExitSyncDynamic { s: Slot },
    Raise { code: u64, s: Slot, at: u16 },
    Halt { pc: u64 },
}

/// Whether an instruction of opcode `op` takes its operand's slot instead of a slot of its own
/// (its result has the operand's slot value).
fn shares_slot(op: Opcode) -> bool {
    matches!(op, Opcode::Zext | Opcode::Bitcast)
}

/// A helper call's static data.
#[derive(Clone, Copy, Debug)]
pub struct CallSite {
    /// The helper.
    pub func: HelperFn,
    /// Operand slots (the first `nargs`).
    pub args: [Slot; 4],
    /// Number of operands.
    pub nargs: u8,
    /// Mask applied to the result (the helper's return type).
    pub ret_mask: u64,
    /// Whether it can make a guest exception pending.
    pub may_raise: bool,
}

/// Where an op that can leave early stands: `k` instruction markers precede it in its basic
/// block, the last at `pc` (with `k == 0` the current instruction started in an earlier block).
#[derive(Clone, Copy, Debug)]
pub struct Site {
    /// Instruction markers before the op in its basic block.
    pub k: u64,
    /// PC of the last of them.
    pub pc: u64,
}

/// A block flattened for the interpreter.
#[derive(Clone, Debug)]
pub struct Program {
    pub(crate) ops: Vec<Op>,
    pub(crate) calls: Vec<CallSite>,
    /// Values of slots `0..consts.len()`.
    pub(crate) consts: Vec<u64>,
    /// Where each op that can leave early stands among the instruction markers.
    pub(crate) sites: Vec<Site>,
    /// Per basic block: its instruction markers and the PC of the last.
    pub(crate) bb_marks: Vec<(u64, u64)>,
    pub(crate) n_slots: usize,
    pub(crate) n_locals: usize,
    pub(crate) vpc: u64,
    /// Guest instructions in the block.
    pub(crate) n_insns: u32,
}

impl Program {
    /// Flattens a verified block.
    pub fn new(block: &Block) -> Program {
        let mut slot_of = vec![u32::MAX; block.insts.len()];
        // Exact sizes, so that nothing grows or needs shrinking (tens of thousands of programs
        // are made, and those that stay cached keep no spare capacity).
        let (mut n_consts, mut n_ops, mut n_sites, mut n_calls) = (0, 0, 0, 0);
        for bb in &block.bbs {
            for &ii in &bb.insts {
                let op = block.insts[ii as usize].op;
                n_consts += (op == Opcode::Const) as u32;
                n_ops += !(matches!(op, Opcode::Nop | Opcode::Const | Opcode::InsnStart) || shares_slot(op)) as usize;
                n_sites += matches!(op, Opcode::Load | Opcode::Store | Opcode::Call | Opcode::Raise) as usize;
                n_calls += (op == Opcode::Call) as usize;
            }
        }
        // Constants take the first slots (filled by one copy at the start of each run), one
        // each: finding duplicates costs more per translation than the copy saves on the few
        // runs a program has before tier 1 compiles it. Then dense slot numbers for every
        // other value-producing instruction that is placed; a zero-extension or bitcast shares
        // its operand's slot.
        let mut consts: Vec<u64> = Vec::with_capacity(n_consts as usize);
        let mut n_slots = n_consts;
        for bb in &block.bbs {
            for &ii in &bb.insts {
                let inst = &block.insts[ii as usize];
                if inst.op == Opcode::Const {
                    slot_of[ii as usize] = consts.len() as u32;
                    consts.push(inst.imm);
                } else if !shares_slot(inst.op)
                    && inst.ty != Type::Void
                    && !matches!(inst.op.sig(), Sig::SetReg | Sig::SetLocal | Sig::Store)
                {
                    slot_of[ii as usize] = n_slots;
                    n_slots += 1;
                }
            }
        }
        // Zero-extensions and bitcasts (possibly of each other) take the slot of their operand.
        for ii in 0..block.insts.len() {
            let mut j = ii;
            while shares_slot(block.insts[j].op) {
                j = block.insts[j].args[0].index();
            }
            if j != ii {
                slot_of[ii] = slot_of[j];
            }
        }
        // Void helper calls write their (ignored) return value here, never over a live value.
        let discard = n_slots;
        n_slots += 1;
        let s = |v: Value| -> Slot {
            let x = slot_of[v.index()];
            assert!(x != u32::MAX, "operand without a slot (unverified block?)");
            x
        };
        let mut sites: Vec<Site> = Vec::with_capacity(n_sites);
        let mut bb_marks: Vec<(u64, u64)> = Vec::with_capacity(block.bbs.len());
        let mut ops = Vec::with_capacity(n_ops);
        let mut calls = Vec::with_capacity(n_calls);
        let mut bb_start = vec![0u32; block.bbs.len()];
        let mut fixups: Vec<usize> = Vec::new();
        for (bi, bb) in block.bbs.iter().enumerate() {
            bb_start[bi] = ops.len() as u32;
            let (mut k, mut last_pc) = (0u64, 0u64);
            for &ii in &bb.insts {
                let inst = &block.insts[ii as usize];
                let a = inst.args;
                let d = slot_of[ii as usize];
                let ty = inst.ty;
                let mut at = || {
                    sites.push(Site { k, pc: last_pc });
                    u16::try_from(sites.len() - 1).expect("fewer than 65536 memory ops in a block")
                };
                let op = match inst.op {
                    Opcode::Nop | Opcode::Const | Opcode::Zext | Opcode::Bitcast => continue,
                    Opcode::InsnStart => {
                        k += 1;
                        last_pc = inst.imm;
                        continue;
                    }
                    Opcode::GetReg => {
                        let r = &block.desc.regs[inst.imm as usize];
                        match r.ty.bytes() {
                            1 => Op::Get8 { d, off: r.offset },
                            2 => Op::Get16 { d, off: r.offset },
                            4 => Op::Get32 { d, off: r.offset },
                            _ => Op::Get64 { d, off: r.offset },
                        }
                    }
                    Opcode::SetReg => {
                        let r = &block.desc.regs[inst.imm as usize];
                        let v = s(a[0]);
                        match r.ty.bytes() {
                            1 => Op::Set8 { s: v, off: r.offset },
                            2 => Op::Set16 { s: v, off: r.offset },
                            4 => Op::Set32 { s: v, off: r.offset },
                            _ => Op::Set64 { s: v, off: r.offset },
                        }
                    }
                    Opcode::GetLocal => Op::GetLocal { d, l: inst.imm as u32 },
                    Opcode::SetLocal => Op::SetLocal { s: s(a[0]), l: inst.imm as u32 },
                    Opcode::Add => Op::Add { d, a: s(a[0]), b: s(a[1]), m: ty.mask() },
                    Opcode::Sub => Op::Sub { d, a: s(a[0]), b: s(a[1]), m: ty.mask() },
                    Opcode::Mul => Op::Mul { d, a: s(a[0]), b: s(a[1]), m: ty.mask() },
                    Opcode::And => Op::And { d, a: s(a[0]), b: s(a[1]) },
                    Opcode::Or => Op::Or { d, a: s(a[0]), b: s(a[1]) },
                    Opcode::Xor => Op::Xor { d, a: s(a[0]), b: s(a[1]) },
                    Opcode::Shl => Op::Shl { d, a: s(a[0]), b: s(a[1]), m: ty.mask() },
                    Opcode::ShrU => Op::ShrU { d, a: s(a[0]), b: s(a[1]), bits: ty.bits() },
                    Opcode::Trunc => Op::Trunc { d, a: s(a[0]), m: ty.mask() },
                    Opcode::Icmp => Op::Icmp {
                        d,
                        a: s(a[0]),
                        b: s(a[1]),
                        cc: IntCC::from_imm(inst.imm).expect("verified"),
                        ty: block.ty(a[0]),
                    },
                    Opcode::Fcmp => Op::Fcmp {
                        d,
                        a: s(a[0]),
                        b: s(a[1]),
                        cc: FloatCC::from_imm(inst.imm).expect("verified"),
                        ty: block.ty(a[0]),
                    },
                    Opcode::Select => Op::Select { d, c: s(a[0]), a: s(a[1]), b: s(a[2]) },
                    Opcode::Load => Op::Load { d, a: s(a[0]), memop: inst.imm as u32, m: ty.mask(), at: at() },
                    Opcode::Store => Op::Store { a: s(a[0]), s: s(a[1]), memop: inst.imm as u32, at: at() },
                    Opcode::Call => {
                        let h = &block.desc.helpers[inst.imm as usize];
                        let mut args = [0; 4];
                        let mut nargs = 0;
                        for (k, v) in a.iter().enumerate() {
                            if v.is_some() {
                                args[k] = s(*v);
                                nargs = k as u8 + 1;
                            }
                        }
                        calls.push(CallSite { func: h.func, args, nargs, ret_mask: h.ret.mask(), may_raise: h.may_raise });
                        Op::Call { d: if d == u32::MAX { discard } else { d }, site: calls.len() as u32 - 1, at: at() }
                    }
                    Opcode::Jump => {
                        fixups.push(ops.len());
                        Op::Jump { to: inst.imm as u32, from: bi as u32 }
                    }
                    Opcode::Chain => {
                        fixups.push(ops.len());
                        let pc = block.bb_start_pc(inst.imm as usize).expect("verified: chain targets start an instruction");
                        Op::Chain { to: inst.imm as u32, from: bi as u32, pc }
                    }
                    Opcode::Branch => {
                        fixups.push(ops.len());
                        Op::Branch { c: s(a[0]), t: (inst.imm & 0xffff_ffff) as u32, f: (inst.imm >> 32) as u32, from: bi as u32 }
                    }
                    // Link-slot numbers: direct exits in instruction order, as in compiled code.
                    Opcode::ExitDirect => Op::ExitDirect { pc: inst.imm, index: super::direct_exit_index(block, ii) },
                    Opcode::ExitDynamic => Op::ExitDynamic { s: s(a[0]) },
                    Opcode::ExitSync => Op::ExitSync { pc: inst.imm },
                    Opcode::ExitSyncDynamic => Op::ExitSyncDynamic { s: s(a[0]) },
                    Opcode::Raise => Op::Raise { code: inst.imm, s: s(a[0]), at: at() },
                    Opcode::Halt => Op::Halt { pc: inst.imm },
                    Opcode::MulHiU
                    | Opcode::MulHiS
                    | Opcode::DivU
                    | Opcode::DivS
                    | Opcode::RemU
                    | Opcode::RemS
                    | Opcode::ShrS
                    | Opcode::Rotl
                    | Opcode::Rotr
                    | Opcode::FAdd
                    | Opcode::FSub
                    | Opcode::FMul
                    | Opcode::FDiv => Op::Binary { d, a: s(a[0]), b: s(a[1]), op: inst.op, ty },
                    Opcode::Neg
                    | Opcode::Not
                    | Opcode::Clz
                    | Opcode::Ctz
                    | Opcode::Popcnt
                    | Opcode::Bswap
                    | Opcode::FSqrt
                    | Opcode::FNeg
                    | Opcode::FAbs => Op::Unary { d, a: s(a[0]), op: inst.op, ty },
                    Opcode::Fma => Op::Ternary { d, a: s(a[0]), b: s(a[1]), c: s(a[2]), op: inst.op, ty },
                    Opcode::AddCarry | Opcode::AddOverflow => {
                        Op::Carry { d, a: s(a[0]), b: s(a[1]), c: s(a[2]), op: inst.op, ty: block.ty(a[0]) }
                    }
                    Opcode::Sext
                    | Opcode::FPromote
                    | Opcode::FDemote
                    | Opcode::FToSI
                    | Opcode::FToUI
                    | Opcode::SIToF
                    | Opcode::UIToF => Op::Convert { d, a: s(a[0]), op: inst.op, from: block.ty(a[0]), to: ty },
                };
                ops.push(op);
            }
            bb_marks.push((k, last_pc));
        }
        for i in fixups {
            match &mut ops[i] {
                Op::Jump { to, .. } | Op::Chain { to, .. } => *to = bb_start[*to as usize],
                Op::Branch { t, f, .. } => {
                    *t = bb_start[*t as usize];
                    *f = bb_start[*f as usize];
                }
                _ => unreachable!(),
            }
        }
        debug_assert!(ops.len() == n_ops && sites.len() == n_sites && calls.len() == n_calls);
        Program { ops, calls, consts, sites, bb_marks, n_slots: n_slots as usize, n_locals: block.locals.len(), vpc: block.vpc, n_insns: block.n_insns }
    }

    /// Frees the operations of a block that will not be interpreted again (it was compiled).
    pub fn release(&mut self) {
        self.ops = Vec::new();
        self.calls = Vec::new();
        self.consts = Vec::new();
        self.sites = Vec::new();
        self.bb_marks = Vec::new();
    }

    /// The operations (basic blocks laid out in order; jump targets are op indices).
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Static data of helper calls, indexed by `Op::Call::site`.
    pub fn calls(&self) -> &[CallSite] {
        &self.calls
    }

    /// Values of the constant slots `0..consts().len()`.
    pub fn consts(&self) -> &[u64] {
        &self.consts
    }

    /// Positions of the ops that can leave early, indexed by their `at`.
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    /// Per basic block (`from` of a jump): its instruction markers and the PC of the last.
    pub fn bb_marks(&self) -> &[(u64, u64)] {
        &self.bb_marks
    }

    /// Number of value slots.
    pub fn n_slots(&self) -> usize {
        self.n_slots
    }

    /// Number of IR locals.
    pub fn n_locals(&self) -> usize {
        self.n_locals
    }

    /// Guest PC of the block.
    pub fn vpc(&self) -> u64 {
        self.vpc
    }

    /// Guest instructions in the block (deterministic mode charges them at entry).
    pub fn n_insns(&self) -> u32 {
        self.n_insns
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the program is empty (never, for a verified block).
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ops_stay_small() {
        // The run loop streams through ops: keep each within 24 bytes.
        assert!(std::mem::size_of::<super::Op>() <= 24, "{}", std::mem::size_of::<super::Op>());
    }
}
