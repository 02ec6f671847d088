//! The run loop under a debugger: breakpoints, single steps and watchpoint stops.
//!
//! * Breakpoints live in the block cache, never in guest memory: translations end just before
//!   a breakpoint address, and the loop stops when the next block starts at one.
//! * Debug runs interpret every block and return to the loop after each, so no compiled code,
//!   block link or in-block loop can run past a breakpoint. Normal runs ([`Engine::run`]) do
//!   not look at any of this: a machine without a debugger pays nothing.
//! * A single step translates the one instruction at the PC, uncached, and runs it with
//!   interrupts held off (as QEMU's default `SSTEP_NOIRQ`).
//! * A watchpoint hit leaves the block as a fault would, before the access, with the PC of the
//!   accessing instruction ([`ferrite_softmmu::Watchpoints`]).

use crate::cache::Tb;
use crate::engine::{interpret, Engine, Stop};
use ferrite_ir::{Exit, GuestCpu};
use ferrite_softmmu::{slow_path, CpuHeader, WatchHit};

/// Bytes of one instruction-sized translation (enough for one instruction of a fixed-width
/// ISA; a variable-width frontend would stop after its first instruction anyway).
const ONE_INSN: u64 = 4;

impl Engine {
    /// Adds a breakpoint at guest virtual address `addr`; returns false if it was there.
    /// Translations are cut at the next debug run.
    pub fn insert_breakpoint(&mut self, addr: u64) -> bool {
        self.breakpoints.insert(addr)
    }

    /// Removes the breakpoint at `addr`; returns whether there was one.
    pub fn remove_breakpoint(&mut self, addr: u64) -> bool {
        self.breakpoints.remove(&addr)
    }

    /// Removes every breakpoint (debugger detached).
    pub fn clear_breakpoints(&mut self) {
        self.breakpoints.clear();
    }

    /// Whether any breakpoint is set.
    pub fn has_breakpoints(&self) -> bool {
        !self.breakpoints.is_empty()
    }

    /// Runs `cpu` under the debugger until a breakpoint, a watchpoint, the end of a single
    /// step (`step`), a halt, a request or the end of the budget.
    ///
    /// `resume` says where the debugger resumed: a breakpoint there does not stop the first
    /// instruction (the debugger has seen it already), and if the last stop was a watchpoint
    /// hit there the instruction's accesses run without tripping it again. It is used up once
    /// the first block or instruction has run (a turn may end before, on a timer).
    pub fn run_debug(&mut self, cpu: &mut dyn GuestCpu, step: bool, resume: &mut Resume) -> DebugStop {
        let env = cpu.env();
        self.cut_translations(env);
        loop {
            if let Some(stop) = self.loop_checks(env) {
                return DebugStop::Run(stop);
            }
            if step && cpu.halted() {
                // Only an interrupt ends a wait: take it, and the step ends at its vector.
                return if cpu.poll_interrupts() { DebugStop::Stepped } else { DebugStop::Run(Stop::Halted) };
            }
            if !step && !cpu.poll_interrupts() {
                return DebugStop::Run(Stop::Halted);
            }
            // SAFETY (all uses of `env` below): the CPU outlives this call; no generated code runs.
            let pc = unsafe { (*env).pc };
            let resuming = pc == resume.pc;
            if !resuming && self.breakpoints.contains(&pc) {
                return DebugStop::Breakpoint;
            }
            if step || (resuming && resume.after_watch_hit) {
                // SAFETY: as above.
                unsafe { (*env).watch.suppressed = resuming && resume.after_watch_hit };
                let stop = self.step_one(cpu, env, pc);
                // SAFETY: as above.
                unsafe { (*env).watch.suppressed = false };
                if stop != DebugStop::Run(Stop::Budget) {
                    *resume = Resume::USED;
                }
                match stop {
                    DebugStop::Stepped if !step => continue,
                    other => return other,
                }
            }
            let key = cpu.mode_key();
            let Some(id) = self.lookup(cpu, env, pc, key) else { continue };
            if self.budget_ends_in(id, env) {
                match self.step_one(cpu, env, pc) {
                    DebugStop::Stepped => {
                        *resume = Resume::USED;
                        continue;
                    }
                    other => return other,
                }
            }
            let count = self.config().count_insns;
            let tb = self.cache.get(id).expect("looked-up block exists");
            self.stats.interp_runs += 1;
            let exit = interpret(&mut self.interp, tb, env, count);
            if !matches!(exit, Exit::Request { .. }) {
                *resume = Resume::USED;
            }
            if let Some(hit) = take_watch_hit(env, &exit) {
                return DebugStop::Watchpoint(hit);
            }
            self.handle_exit(cpu, env, id, false, exit);
        }
    }

    /// Runs the one instruction at `pc` from an uncached translation.
    pub(crate) fn step_one(&mut self, cpu: &mut dyn GuestCpu, env: *mut CpuHeader, pc: u64) -> DebugStop {
        // SAFETY: live header, not in generated code.
        let Some(phys) = (unsafe { slow_path::translate_code(env, pc, cpu.code_mmu_idx()) }) else {
            // The fetch faulted: the step ends at the exception vector.
            cpu.on_fault(pc);
            return DebugStop::Stepped;
        };
        let block = self.build_ir(cpu, env, pc, phys, ONE_INSN, false);
        let tb = Tb::new(pc, phys, cpu.mode_key(), &block, 0);
        let count = self.config().count_insns;
        let exit = interpret(&mut self.interp, &tb, env, count);
        if let Some(hit) = take_watch_hit(env, &exit) {
            return DebugStop::Watchpoint(hit);
        }
        if let Exit::Request { .. } = exit {
            // Refused at entry (stop request or no budget left): nothing ran.
            return DebugStop::Run(Stop::Budget);
        }
        self.handle_exit(cpu, env, 0, false, exit);
        DebugStop::Stepped
    }

    /// Makes the cache match the breakpoints: drops compiled code left from normal runs and
    /// translations that run past a breakpoint inserted since.
    fn cut_translations(&mut self, env: *mut CpuHeader) {
        if self.cut_for.as_ref() != Some(&self.breakpoints) {
            self.flush(env);
            self.cut_for = Some(self.breakpoints.clone());
        }
    }
}

/// Why [`Engine::run_debug`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebugStop {
    /// What also ends a normal run (halt, request, budget).
    Run(Stop),
    /// The CPU reached a breakpoint (the instruction there has not run).
    Breakpoint,
    /// An access tripped a watchpoint (the accessing instruction has not run).
    Watchpoint(WatchHit),
    /// One instruction ran (or an exception was taken instead).
    Stepped,
}

/// Where and how a debugger resumes the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resume {
    /// The PC at the resume.
    pub pc: u64,
    /// The last stop was a watchpoint hit at `pc`.
    pub after_watch_hit: bool,
}

impl Resume {
    /// Already used: the CPU has run since the debugger resumed it.
    pub const USED: Resume = Resume { pc: u64::MAX, after_watch_hit: false };
}

/// A block that left as for a fault because of a watchpoint: the PC goes back to the
/// accessing instruction and the hit is returned.
fn take_watch_hit(env: *mut CpuHeader, exit: &Exit) -> Option<WatchHit> {
    let Exit::Fault { pc } = *exit else { return None };
    // SAFETY: live header, not in generated code.
    let hdr = unsafe { &mut *env };
    let hit = hdr.watch.hit.take()?;
    hdr.pending_exit = 0;
    hdr.pc = pc;
    Some(hit)
}
