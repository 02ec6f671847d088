//! The baseline compiler: tier 1 of execution, between the interpreter and Cranelift.
//!
//! A block that runs more than once is turned from its interpreter [`Program`] into x86-64
//! op by op (see [`emit`]), in microseconds rather than the hundreds Cranelift needs, so a
//! kernel boot's lukewarm code (run tens or hundreds of times, never enough to pay for
//! Cranelift) runs as host code instead of through the interpreter's dispatch. The code keeps
//! the contract of Cranelift-compiled blocks ([`ferrite_jit`]): `tail fn(env) -> exit word`,
//! entered through the JIT's trampoline, one link slot per direct exit, precise state at every
//! exit; so the run loop links and jump-caches both tiers alike.
//!
//! Each block counts its runs in its data: when the count reaches a limit the run loop sets
//! ([`Counter`]), the block leaves with a request exit instead of running, which hands the
//! run loop the decision to queue it for Cranelift.

mod asm;
mod emit;
mod host;
mod plan;
mod thunks;

use ferrite_ir::interp::{Op, Program};
use ferrite_jit::arena::Arena;
use ferrite_jit::{Compiled, JitError};
use std::mem::size_of;
use std::sync::atomic::{AtomicU32, Ordering};

/// A block compiled by the baseline compiler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BaselineCode {
    /// The code and its link slots, as the JIT describes its own.
    pub code: Compiled,
    /// The block's run counter.
    pub counter: Counter,
}

/// A block's run counter: a `u32` the code increments on each entry, and the count (also a
/// `u32`, right after it) at which it leaves with a request exit instead of running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counter(u64);

impl Counter {
    /// The counter (`k = 0`) or the limit (`k = 1`). The code reads and writes them with plain
    /// moves, which on x86-64 are relaxed atomic accesses; the compile thread reads counts too.
    fn cell(self, k: u64) -> &'static AtomicU32 {
        // SAFETY: the pair lives in the arena's data, 8-byte aligned; the arena stays mapped
        // while the `Baseline` that made the counter lives (its owner outlives every reader).
        unsafe { &*((self.0 + 4 * k) as *const AtomicU32) }
    }

    /// Times the block was entered.
    pub fn runs(self) -> u32 {
        self.cell(0).load(Ordering::Relaxed)
    }

    /// Makes the block leave with a request when its run count reaches `limit`
    /// (`u32::MAX`: in practice never).
    pub fn set_limit(self, limit: u32) {
        self.cell(1).store(limit, Ordering::Relaxed);
    }
}

/// The baseline compiler and the executable memory its code lives in.
pub struct Baseline {
    arena: Arena,
    asm: asm::Asm,
    scratch: emit::Scratch,
    /// The slow-path thunks at the start of the arena.
    thunks: thunks::Thunks,
    /// What the host offers the float expansions.
    host: host::Host,
}

impl Baseline {
    /// A compiler with an arena of `arena_bytes`.
    pub fn new(arena_bytes: usize) -> Result<Baseline, JitError> {
        let mut b = Baseline { arena: Arena::new(arena_bytes)?, asm: asm::Asm::default(), scratch: emit::Scratch::default(), thunks: thunks::Thunks::default(), host: host::Host::get() };
        b.install_thunks()?;
        Ok(b)
    }

    /// Emits the slow-path thunks at the start of the (empty) arena.
    fn install_thunks(&mut self) -> Result<(), JitError> {
        self.asm.clear();
        let (load, store) = thunks::emit_thunks(&mut self.asm);
        let dst = self.arena.alloc_code(self.asm.buf.len())?;
        // SAFETY: dst was reserved for the thunks' length; they make no far calls.
        unsafe { self.asm.install(dst) };
        self.thunks = thunks::Thunks { load: dst as u64 + load as u64, store: dst as u64 + store as u64 };
        Ok(())
    }

    /// Compiles `p`, translated for CPU mode `mode_key`; the block will leave with a request
    /// when its run count reaches `limit`. `count_insns`: deterministic mode, in which the
    /// code keeps the instruction budget as the interpreter does
    /// ([`ferrite_ir::interp::Interpreter::run_counted`]); a region (`chain`) cannot, so it is
    /// refused.
    pub fn compile(&mut self, p: &Program, mode_key: u64, limit: u32, count_insns: bool) -> Result<BaselineCode, JitError> {
        if count_insns && p.ops().iter().any(|o| matches!(o, Op::Chain { .. })) {
            return Err(JitError::Unsupported("regions in deterministic mode".into()));
        }
        let charge = count_insns.then(|| p.n_insns());
        let mark = self.arena.data_mark();
        let r = self.compile_at(p, mode_key, limit, charge);
        if r.is_err() {
            self.arena.release_data_to(mark);
        }
        r
    }

    fn compile_at(&mut self, p: &Program, mode_key: u64, limit: u32, charge: Option<u32>) -> Result<BaselineCode, JitError> {
        let ops = p.ops();
        let n_slots = ops.iter().map(|o| if let Op::ExitDirect { index, .. } = o { *index as usize + 1 } else { 0 }).max().unwrap_or(0);
        let sc = &mut self.scratch;
        sc.generic.clear();
        sc.generic.extend((0..ops.len()).filter(|&i| plan::is_generic(&ops[i], &self.host)));
        sc.plan.make(p, &sc.generic, &self.host);
        let op_bytes = size_of::<Op>().next_multiple_of(8);
        let data = self.arena.alloc_data(8 * n_slots + 8 + op_bytes * sc.generic.len())?;
        let counter = data + 8 * n_slots as u64;
        sc.op_copies.clear();
        sc.op_copies.resize(ops.len(), 0);
        for (k, &i) in sc.generic.iter().enumerate() {
            let at = counter + 8 + (op_bytes * k) as u64;
            // SAFETY: the data area was just reserved with room for this copy, 8-byte aligned.
            unsafe { std::ptr::write(at as *mut Op, plan::remap(&ops[i], &sc.plan.slot_of)) };
            sc.op_copies[i] = at;
        }
        let counter = Counter(counter);
        counter.set_limit(limit);
        self.asm.clear();
        emit::emit(&mut self.asm, p, &emit::Data { slots: data, counter: counter.0, mode_key, thunks: self.thunks, charge }, self.host, sc);
        let len = self.asm.buf.len();
        let dst = self.arena.alloc_code(len)?;
        // SAFETY: dst was reserved for len bytes; the code uses absolute addresses, jumps
        // relative within it, and calls to the thunks in the same arena.
        unsafe { self.asm.install(dst) };
        let code = Compiled { entry: dst as u64, slots: data, n_slots: n_slots as u32, code_size: len as u32 };
        Ok(BaselineCode { code, counter })
    }

    /// How many of `p`'s ops the code would leave to `eval_generic` (for tests).
    pub fn generic_ops(&self, p: &Program) -> usize {
        p.ops().iter().filter(|o| plan::is_generic(o, &self.host)).count()
    }

    /// Leaves `fma` to `eval_generic` even on a host with FMA3 (for tests of that path).
    pub fn without_inline_fma(mut self) -> Baseline {
        self.host = self.host.without_fma();
        self
    }

    /// Forgets all code. The caller guarantees none of it runs any more.
    pub fn reset(&mut self) {
        self.arena.reset();
        self.install_thunks().expect("an empty arena has room for the thunks");
    }

    /// Bytes of the arena in use.
    pub fn used_bytes(&self) -> usize {
        self.arena.used()
    }
}
