//! What lowering must know about an IR block before emitting anything:
//!
//! * which basic blocks are reachable (only those are compiled);
//! * per basic block, the guest registers whose cached copy *may* differ from the CPU
//!   structure at its entry ("dirty", a forward may-analysis), so every exit stores exactly
//!   those;
//! * which registers live in variables: those the block writes. A register it only reads is
//!   loaded where it is read, so that its value does not occupy a host register across the
//!   whole function (a region's later members may read many registers its hot loop never
//!   touches);
//! * which registers to load at block entry: those read where a path from the entry may
//!   have written them and another may not (a loop-carried register, say), plus those
//!   written somewhere but possibly still undefined at an exit that stores them (a forward
//!   must-analysis of "defined" and a may-analysis of "written");
//! * which reads of written registers see only the entry value: they load from the CPU
//!   structure, which still holds it, so that a register a region writes only after its
//!   hot loop does not occupy a host register (or a spill slot) through the loop;
//! * per basic block, the guest PC and count of started instructions at its entry, when
//!   every path agrees (always, unless the IR loops across `insn_start`);
//! * which `chain`s must test for an exit request (see [`checked_chains`]);
//! * which 64-bit registers hold floating-point values (see [`float_regs`]).

use ferrite_ir::{Block, Opcode, RegSet, Type};

/// Guest PC and number of `insn_start`s executed, at some program point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    /// PC of the current instruction (the block's PC before the first `insn_start`).
    pub(crate) pc: u64,
    /// Number of `insn_start`s executed so far.
    pub(crate) started: u64,
}

impl Position {
    /// Instructions completed at this point, as `exit_insns` reports them.
    pub(crate) fn done(self) -> u64 {
        self.started.saturating_sub(1)
    }
}

/// The facts of one block.
pub(crate) struct Facts {
    /// Per basic block: reachable from the entry.
    pub(crate) reachable: Vec<bool>,
    /// Per basic block: registers possibly dirty at entry.
    pub(crate) dirty_in: Vec<RegSet>,
    /// Registers loaded into variables at block entry.
    pub(crate) entry_loads: RegSet,
    /// Per instruction: a `get_reg` of a register the block writes that no write can reach
    /// yet (it reads the CPU structure, not the variable).
    pub(crate) entry_value_reads: Vec<bool>,
    /// Registers that get a variable (written with `set_reg` somewhere).
    pub(crate) written: RegSet,
    /// Registers some helper called by the block may write.
    pub(crate) helper_writes: RegSet,
    /// Per basic block: position at entry; `None` when some join point disagrees.
    pub(crate) positions: Option<Vec<Position>>,
    /// Per basic block ending with `chain`: whether the chain tests for an exit request.
    pub(crate) chain_checks: Vec<bool>,
    /// 64-bit registers kept in host FP registers (see [`float_regs`]).
    pub(crate) float_regs: RegSet,
}

#[derive(Clone, Copy, PartialEq)]
struct State {
    dirty: RegSet,
    defined: RegSet,
    /// Registers some path from the entry has written (by `set_reg` or a helper).
    written: RegSet,
    pos: Position,
}

/// Computes the facts of `block` (which must have passed the verifier).
///
/// A `chain` edge does not make positions disagree: its target starts with `insn_start`,
/// which sets the PC, and the count of started instructions is then the count since some
/// merged block's entry. Only deterministic mode needs exact counts, and it has no regions
/// (see `check_supported`).
pub(crate) fn analyze(block: &Block) -> Facts {
    let n = block.bbs.len();
    let reachable = reachability(block);
    let mut written = RegSet::EMPTY;
    let mut helper_writes = RegSet::EMPTY;
    for (bb, _) in reachable.iter().enumerate().filter(|(_, r)| **r) {
        for &ii in &block.bbs[bb].insts {
            let inst = &block.insts[ii as usize];
            match inst.op {
                Opcode::SetReg => written = written.with(ferrite_ir::Reg(inst.imm as u16)),
                Opcode::Call => helper_writes = helper_writes.union(block.desc.helpers[inst.imm as usize].writes),
                _ => {}
            }
        }
    }

    let mut state: Vec<Option<State>> = vec![None; n];
    state[0] = Some(State {
        dirty: RegSet::EMPTY,
        defined: RegSet::EMPTY,
        written: RegSet::EMPTY,
        pos: Position { pc: block.vpc, started: 0 },
    });
    let mut pos_conflict = false;
    let mut violations = RegSet::EMPTY;
    let mut work = vec![0usize];
    let mut queued = vec![false; n];
    queued[0] = true;
    while let Some(bb) = work.pop() {
        queued[bb] = false;
        let mut st = state[bb].expect("queued blocks have a state");
        let succs = transfer(block, bb, &mut st, written, &mut violations);
        let via_chain = block.bbs[bb].insts.last().is_some_and(|&i| block.insts[i as usize].op == Opcode::Chain);
        for s in succs.into_iter().flatten() {
            let merged = match state[s] {
                None => st,
                Some(old) => {
                    if old.pos != st.pos && !via_chain {
                        pos_conflict = true;
                    }
                    State {
                        dirty: old.dirty.union(st.dirty),
                        defined: RegSet(old.defined.0 & st.defined.0),
                        written: old.written.union(st.written),
                        pos: old.pos,
                    }
                }
            };
            let changed = match state[s] {
                None => true,
                Some(old) => old.dirty != merged.dirty || old.defined != merged.defined || old.written != merged.written,
            };
            if changed {
                state[s] = Some(merged);
                if !queued[s] {
                    queued[s] = true;
                    work.push(s);
                }
            }
        }
    }
    let dirty_in = state.iter().map(|s| s.map_or(RegSet::EMPTY, |s| s.dirty)).collect();
    let positions = (!pos_conflict)
        .then(|| state.iter().map(|s| s.map_or(Position { pc: block.vpc, started: 0 }, |s| s.pos)).collect());
    let (entry_value_reads, entry_reads) = classify_reads(block, &state, written);
    let entry_loads = entry_reads.union(violations);
    let chain_checks = checked_chains(block, &reachable);
    let float_regs = float_regs(block);
    Facts {
        reachable,
        dirty_in,
        entry_loads,
        entry_value_reads,
        written,
        helper_writes,
        positions,
        chain_checks,
        float_regs,
    }
}

/// Classifies the reads of written registers, given each reachable basic block's entry
/// state: per instruction, whether it is a `get_reg` no write reaches (it may read the CPU
/// structure); and the registers read where a write may or may not have happened (their
/// variables need the entry value).
fn classify_reads(block: &Block, state: &[Option<State>], written: RegSet) -> (Vec<bool>, RegSet) {
    let mut entry_value_reads = vec![false; block.insts.len()];
    let mut needs_entry = RegSet::EMPTY;
    let mut ignored = RegSet::EMPTY;
    for (bb, st) in state.iter().enumerate() {
        let Some(mut st) = *st else { continue };
        for &ii in &block.bbs[bb].insts {
            let inst = &block.insts[ii as usize];
            if inst.op == Opcode::GetReg {
                let r = ferrite_ir::Reg(inst.imm as u16);
                if written.contains(r) && !st.defined.contains(r) {
                    if st.written.contains(r) {
                        needs_entry = needs_entry.with(r);
                    } else {
                        entry_value_reads[ii as usize] = true;
                    }
                }
            }
            if step(block, inst, &mut st, written, &mut ignored).is_some() {
                break;
            }
        }
    }
    (entry_value_reads, needs_entry)
}

/// The `i64` registers the block uses as doubles: read and then bitcast to `f64`, or written
/// with a bitcast `f64`. Their variables are `f64`, so that a chain of FP operations on them
/// stays in host FP registers instead of crossing to integer registers and back at each
/// guest instruction.
fn float_regs(block: &Block) -> RegSet {
    let mut set = RegSet::EMPTY;
    let is_float = |t: Type| t == Type::F64;
    for inst in &block.insts {
        let reg_of = |v: ferrite_ir::Value| {
            let d = block.inst(v);
            (d.op == Opcode::GetReg && d.ty == Type::I64).then_some(ferrite_ir::Reg(d.imm as u16))
        };
        match inst.op {
            Opcode::Bitcast if is_float(inst.ty) => {
                if let Some(r) = reg_of(inst.args[0]) {
                    set = set.with(r);
                }
            }
            Opcode::SetReg if inst.ty == Type::I64 => {
                let d = block.inst(inst.args[0]);
                if d.op == Opcode::Bitcast && is_float(block.ty(d.args[0])) {
                    set = set.with(ferrite_ir::Reg(inst.imm as u16));
                }
            }
            _ => {}
        }
    }
    set
}

/// Which `chain`s (per basic block ending with one) test for an exit request. A chain to an
/// earlier or the same basic block closes a loop: it always tests, so a loop stays
/// interruptible. A chain forward runs at most once per pass and may skip the test, unless
/// a store or helper call may have run since the entry or the last test: a store may have
/// written code of a later member (the run loop must drop it before it runs), a helper may
/// have asked to stop. If the IR has backward jumps or branches (loops not closed by a
/// chain), every chain tests.
fn checked_chains(block: &Block, reachable: &[bool]) -> Vec<bool> {
    let n = block.bbs.len();
    let last = |bb: usize| block.bbs[bb].insts.last().map(|&i| &block.insts[i as usize]);
    let backward_jumps = (0..n).filter(|&bb| reachable[bb]).any(|bb| match last(bb) {
        Some(i) if i.op == Opcode::Jump => i.imm as usize <= bb,
        Some(i) if i.op == Opcode::Branch => ((i.imm & 0xffff_ffff) as usize) <= bb || ((i.imm >> 32) as usize) <= bb,
        _ => false,
    });
    let mut checks: Vec<bool> = (0..n).map(|bb| last(bb).is_some_and(|i| i.op == Opcode::Chain)).collect();
    if backward_jumps {
        return checks;
    }
    // "A store or call may have run since the last test", at each basic block's entry; blocks
    // are in an order where every edge but a backward chain goes forward.
    let mut dirty_in = vec![false; n];
    for bb in (0..n).filter(|&bb| reachable[bb]) {
        let mut dirty = dirty_in[bb];
        for &ii in &block.bbs[bb].insts {
            let inst = &block.insts[ii as usize];
            match inst.op {
                Opcode::Store | Opcode::Call => dirty = true,
                Opcode::Jump => dirty_in[inst.imm as usize] |= dirty,
                Opcode::Branch => {
                    dirty_in[(inst.imm & 0xffff_ffff) as usize] |= dirty;
                    dirty_in[(inst.imm >> 32) as usize] |= dirty;
                }
                Opcode::Chain => {
                    let target = inst.imm as usize;
                    checks[bb] = target <= bb || dirty;
                    if !checks[bb] {
                        dirty_in[target] |= dirty;
                    }
                }
                _ => {}
            }
        }
    }
    checks
}

/// Applies basic block `bb` to `st`; records registers stored while possibly undefined.
/// Returns the successors inside the block.
fn transfer(block: &Block, bb: usize, st: &mut State, written: RegSet, viol: &mut RegSet) -> [Option<usize>; 2] {
    for &ii in &block.bbs[bb].insts {
        if let Some(succs) = step(block, &block.insts[ii as usize], st, written, viol) {
            return succs;
        }
    }
    [None, None]
}

/// Applies one instruction to `st`; records registers stored while possibly undefined.
/// Returns the successors inside the block when the instruction ends its basic block.
fn step(block: &Block, inst: &ferrite_ir::Inst, st: &mut State, written: RegSet, viol: &mut RegSet) -> Option<[Option<usize>; 2]> {
    let exit_point = |st: &State, viol: &mut RegSet| *viol = viol.union(RegSet(st.dirty.0 & !st.defined.0));
    match inst.op {
        Opcode::SetReg => {
            let r = ferrite_ir::Reg(inst.imm as u16);
            st.dirty = st.dirty.with(r);
            st.defined = st.defined.with(r);
            st.written = st.written.with(r);
        }
        Opcode::Load | Opcode::Store => exit_point(st, viol),
        Opcode::Call => {
            let h = &block.desc.helpers[inst.imm as usize];
            // Dirty registers the helper reads or writes are stored before the call.
            *viol = viol.union(RegSet(st.dirty.0 & (h.reads.0 | h.writes.0) & !st.defined.0));
            st.dirty = RegSet(st.dirty.0 & !(h.reads.0 | h.writes.0));
            st.defined = st.defined.union(RegSet(h.writes.0 & written.0));
            st.written = st.written.union(RegSet(h.writes.0 & written.0));
            if h.may_raise {
                exit_point(st, viol);
            }
        }
        Opcode::InsnStart => st.pos = Position { pc: inst.imm, started: st.pos.started + 1 },
        Opcode::Jump => return Some([Some(inst.imm as usize), None]),
        Opcode::Branch => return Some([Some((inst.imm & 0xffff_ffff) as usize), Some((inst.imm >> 32) as usize)]),
        Opcode::Chain => {
            // Leaves when an exit is requested.
            exit_point(st, viol);
            return Some([Some(inst.imm as usize), None]);
        }
        Opcode::ExitDirect | Opcode::ExitDynamic | Opcode::ExitSync | Opcode::ExitSyncDynamic | Opcode::Raise | Opcode::Halt => {
            exit_point(st, viol);
            return Some([None, None]);
        }
        _ => {}
    }
    None
}

fn reachability(block: &Block) -> Vec<bool> {
    let mut seen = vec![false; block.bbs.len()];
    let mut stack = vec![0usize];
    seen[0] = true;
    while let Some(bb) = stack.pop() {
        let Some(&last) = block.bbs[bb].insts.last() else { continue };
        let inst = &block.insts[last as usize];
        let succs = match inst.op {
            Opcode::Jump | Opcode::Chain => [Some(inst.imm as usize), None],
            Opcode::Branch => [Some((inst.imm & 0xffff_ffff) as usize), Some((inst.imm >> 32) as usize)],
            _ => [None, None],
        };
        for s in succs.into_iter().flatten() {
            if !std::mem::replace(&mut seen[s], true) {
                stack.push(s);
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrite_ir::testing::DESC;
    use ferrite_ir::{BbId, Builder, IntCC, Reg, Type};

    #[test]
    fn write_only_registers_are_loaded_only_when_a_path_may_skip_the_write() {
        let mut blk = Block::new(&DESC, 0x100);
        let mut b = Builder::new(&mut blk);
        let then = b.create_bb();
        let join = b.create_bb();
        b.insn_start(0x100);
        let k = b.iconst(Type::I64, 1);
        b.set_reg(Reg(0), k); // r0: written on every path before any exit
        let x = b.get_reg(Reg(3));
        let c = b.icmp_imm(IntCC::Eq, x, 0);
        b.branch(c, then, join);
        b.switch_to(then);
        b.set_reg(Reg(1), k); // r1: written on one path only
        b.jump(join);
        b.switch_to(join);
        b.insn_start(0x104);
        b.exit_direct(0x108);
        let f = analyze(&blk);
        assert!(f.entry_loads.contains(Reg(1)));
        assert!(!f.entry_loads.contains(Reg(3)), "read-only registers are loaded where they are read");
        assert!(!f.written.contains(Reg(3)));
        assert!(!f.entry_loads.contains(Reg(0)));
        assert_eq!(f.dirty_in[2], RegSet::EMPTY.with(Reg(0)).with(Reg(1)));
        assert_eq!(f.positions.unwrap()[2], Position { pc: 0x100, started: 1 });
    }

    #[test]
    fn reads_before_any_write_use_the_entry_value_and_loop_carried_reads_the_variable() {
        // bb0: read r1 (no write yet), chain to bb1. bb1 (a loop): read r2, write r2, branch
        // back or on to bb2. bb2: read r1 again, write it, exit.
        let mut blk = Block::new(&DESC, 0x100);
        let mut b = Builder::new(&mut blk);
        let (b1, b2) = (b.create_bb(), b.create_bb());
        b.insn_start(0x100);
        let first = b.get_reg(Reg(1));
        b.chain(b1);
        b.switch_to(b1);
        b.insn_start(0x104);
        let carried = b.get_reg(Reg(2));
        let one = b.iconst(Type::I64, 1);
        let next = b.add(carried, one);
        b.set_reg(Reg(2), next);
        let c = b.icmp_imm(IntCC::Eq, next, 0);
        let back = b.create_bb();
        b.branch(c, b2, back);
        b.switch_to(back);
        b.chain(b1);
        b.switch_to(b2);
        b.insn_start(0x108);
        let after = b.get_reg(Reg(1));
        let sum = b.add(after, first);
        b.set_reg(Reg(1), sum);
        b.exit_direct(0x10c);
        let f = analyze(&blk);
        assert!(f.entry_value_reads[first.index()], "no write reaches the first read of r1");
        assert!(f.entry_value_reads[after.index()], "r1 is still unwritten after the loop");
        assert!(!f.entry_value_reads[carried.index()], "r2 is loop-carried");
        assert!(f.entry_loads.contains(Reg(2)));
        assert!(!f.entry_loads.contains(Reg(1)), "r1's variable never needs the entry value");
    }

    #[test]
    fn only_loop_closing_chains_and_chains_after_a_store_test_for_exit_requests() {
        use ferrite_softmmu::{Endian, MemOp};
        // bb0 -chain-> bb1 (nothing stored yet) -store, chain-> bb2 -chain-> bb0 (loop).
        let mut blk = Block::new(&DESC, 0x100);
        let mut b = Builder::new(&mut blk);
        let (b1, b2) = (b.create_bb(), b.create_bb());
        b.insn_start(0x100);
        b.chain(b1);
        b.switch_to(b1);
        b.insn_start(0x104);
        let a = b.get_reg(Reg(0));
        b.store(MemOp::new(2, false, Endian::Big, 0), a, a);
        b.chain(b2);
        b.switch_to(b2);
        b.insn_start(0x108);
        b.chain(BbId(0));
        let f = analyze(&blk);
        assert_eq!(f.chain_checks, vec![false, true, true]);
    }
}
