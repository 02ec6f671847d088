//! The vCPU run loop: find or translate the block at the PC, run it (interpreted or compiled),
//! and act on how it left.

use crate::cache::{jump_cache_index, BlockCache, Code, Tb, TbId};
use crate::compiler::{Compiler, Heat, Job};
use ferrite_baseline::Baseline;
use ferrite_ir::GuestCpu;
use crate::stats::Stats;
use ferrite_ir::exit::tag;
use ferrite_ir::interp::Interpreter;
use ferrite_ir::{opt, Exit};
use ferrite_jit::{CompileOptions, EnterFn, JitError};
use ferrite_softmmu::{slow_path, CpuHeader, Endian, MemOp, EXIT_REQ_EXTERNAL, EXIT_REQ_STOP, PAGE_MASK, PAGE_SIZE};
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Compile hot blocks with the JIT (otherwise interpret everything).
    pub jit: bool,
    /// Interpreted runs after which a block is queued for compilation.
    pub jit_threshold: u32,
    /// Runs after which a block is compiled by the baseline compiler (tier 1, on the vCPU
    /// thread, microseconds per block) until Cranelift's code replaces it; 0 turns tier 1 off.
    pub baseline_runs: u32,
    /// Deterministic mode: blocks count instructions against `icount_budget`.
    pub count_insns: bool,
    /// Size of the JIT's code arena in bytes.
    pub arena_bytes: usize,
    /// Wait for each compilation instead of interpreting meanwhile (reproducible profiles).
    pub sync_compile: bool,
    /// Write `/tmp/perf-<pid>.map` so that `perf report` names compiled blocks by guest PC.
    pub perf_map: bool,
    /// Let compiled code reach guest RAM check-free on CPUs that turned fastmem on
    /// (`ferrite_softmmu::fastmem`).
    pub fastmem: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            jit: true,
            jit_threshold: 1000,
            baseline_runs: 2,
            count_insns: false,
            arena_bytes: 256 << 20,
            sync_compile: false,
            perf_map: false,
            fastmem: true,
        }
    }
}

/// Why [`Engine::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The CPU is halted and nothing is pending: wait for an event.
    Halted,
    /// `exit_request` had external or stop bits (returned here, already cleared).
    Request(u32),
    /// Deterministic mode: the instruction budget is used up.
    Budget,
}

/// Errors starting the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The JIT could not start.
    #[error("cannot start the JIT: {0}")]
    Jit(#[from] JitError),
    /// The perf map file could not be created.
    #[error("cannot create the perf map {0}")]
    PerfMap(String),
}

/// Translation, caching, tiering and execution of guest code.
pub struct Engine {
    cfg: EngineConfig,
    pub(crate) cache: BlockCache,
    compiler: Option<Compiler>,
    /// Declared after the compiler: the compile thread reads baseline run counters, so the
    /// baseline arena must outlive it.
    baseline: Option<Baseline>,
    enter: Option<EnterFn>,
    pub(crate) interp: Interpreter,
    serial: u64,
    perf_map: Option<std::io::BufWriter<std::fs::File>>,
    /// Debugger breakpoints (guest virtual addresses); translations end before them.
    pub(crate) breakpoints: BTreeSet<u64>,
    /// The breakpoints the cached translations were cut for, or `None` when the cache was
    /// built outside debug runs (and may hold compiled code).
    pub(crate) cut_for: Option<BTreeSet<u64>>,
    /// Per physical page: guest stores that hit its translated code so far.
    code_store_hits: FxHashMap<u64, u32>,
    /// Dropping the engine leaves the translations to the process's exit.
    leak_translations: bool,
    /// Counters.
    pub stats: Stats,
}

impl Engine {
    /// An engine with `cfg`.
    pub fn new(cfg: EngineConfig) -> Result<Engine, EngineError> {
        let compiler = if cfg.jit { Some(Compiler::start(cfg.arena_bytes)?) } else { None };
        let enter = compiler.as_ref().map(|c| c.enter_fn());
        let baseline = if cfg.jit && cfg.baseline_runs > 0 { Some(Baseline::new(cfg.arena_bytes)?) } else { None };
        let perf_map = if cfg.perf_map {
            let path = format!("/tmp/perf-{}.map", std::process::id());
            let f = std::fs::File::create(&path).map_err(|e| EngineError::PerfMap(format!("{path}: {e}")))?;
            Some(std::io::BufWriter::new(f))
        } else {
            None
        };
        Ok(Engine {
            cfg,
            cache: BlockCache::new(),
            compiler,
            baseline,
            enter,
            interp: Interpreter::new(),
            serial: 0,
            perf_map,
            breakpoints: BTreeSet::new(),
            cut_for: None,
            code_store_hits: FxHashMap::default(),
            leak_translations: false,
            stats: Stats::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// Makes dropping the engine leave its translations to the process's exit: freeing tens of
    /// thousands of blocks one by one took 5-9 ms at the end of a 0.5 s Linux boot.
    pub fn leak_translations_on_drop(&mut self) {
        self.leak_translations = true;
    }

    /// Makes the engine keep the per-CPU state that refers to translations (jump caches, code
    /// pages' write protection in the soft TLBs) in step on all of `cpus`, not only on the CPU
    /// it is running.
    ///
    /// # Safety
    /// The headers must stay valid while the engine lives, and nothing may run on any of them
    /// while the engine runs another (one thread runs them in turn).
    pub unsafe fn attach_cpus(&mut self, cpus: &[*mut CpuHeader]) {
        self.cache.cpus = crate::cache::Cpus::new(cpus);
    }

    /// Drops every translation (machine reset).
    pub fn flush(&mut self, env: *mut CpuHeader) {
        // SAFETY: the caller passes a live CPU header.
        let hdr = unsafe { &mut *env };
        self.cache.clear(hdr);
        if let Some(c) = &mut self.compiler {
            c.reset();
        }
        if let Some(b) = &mut self.baseline {
            b.reset();
        }
        self.stats.flushes += 1;
    }

    /// Runs `cpu` until it halts, an external request arrives or the budget runs out.
    pub fn run(&mut self, cpu: &mut dyn GuestCpu) -> Stop {
        let env = cpu.env();
        // Finished compiles kick this CPU while it runs here (not in deterministic mode: no exit
        // may depend on the compile thread's timing; the budget brings the CPU back to the
        // loop often enough there).
        if let Some(c) = self.compiler.as_ref().filter(|_| !self.cfg.count_insns) {
            // SAFETY: the CPU is borrowed for this call, and the kick is cleared before it ends.
            unsafe { c.set_kick(Some(&(*env).exit_request)) };
        }
        let stop = self.run_cpu(cpu, env);
        if let Some(c) = &self.compiler {
            // SAFETY: clearing.
            unsafe { c.set_kick(None) };
        }
        stop
    }

    fn run_cpu(&mut self, cpu: &mut dyn GuestCpu, env: *mut CpuHeader) -> Stop {
        if self.cut_for.take().is_some() {
            // Leaving debug runs: the cut translations stay valid, but compile from here on.
            tracing::debug!(target: "exec", "normal runs resume");
        }
        loop {
            if let Some(stop) = self.loop_checks(env) {
                return stop;
            }
            if !cpu.poll_interrupts() {
                return Stop::Halted;
            }
            self.collect_compiled(env);
            // SAFETY (all uses of `env` below): the CPU outlives this call and generated code
            // is not running while the loop touches the header.
            let pc = unsafe { (*env).pc };
            let key = cpu.mode_key();
            let Some(id) = self.lookup(cpu, env, pc, key) else { continue };
            if self.budget_ends_in(id, env) {
                self.step_one(cpu, env, pc);
                continue;
            }
            tracing::trace!(target: "exec", "Trace {pc:#010x} key {key:#x}");
            self.maybe_compile(cpu, id, env);
            if self.cache.get(id).is_none() {
                // A synchronous compile filled the code arena and flushed everything.
                continue;
            }
            let (exit, compiled) = self.execute(id, env);
            self.handle_exit(cpu, env, id, compiled, exit);
        }
    }

    /// What the loop checks before each block: stop requests from other threads, written
    /// code, the deterministic budget.
    pub(crate) fn loop_checks(&mut self, env: *mut CpuHeader) -> Option<Stop> {
        // SAFETY: live header, not in generated code.
        let req = unsafe { (*env).exit_request.load(Ordering::Acquire) };
        if req != 0 {
            // SAFETY: as above.
            let req = unsafe { (*env).exit_request.swap(0, Ordering::AcqRel) };
            for (bit, n) in self.stats.requests.iter_mut().enumerate() {
                *n += u64::from(req >> bit & 1);
            }
            if req & (EXIT_REQ_EXTERNAL | EXIT_REQ_STOP) != 0 {
                self.drop_dirty_code(env);
                return Some(Stop::Request(req));
            }
        }
        self.drop_dirty_code(env);
        // SAFETY: as above.
        if self.cfg.count_insns && unsafe { (*env).icount_budget } <= 0 {
            return Some(Stop::Budget);
        }
        None
    }

    fn drop_dirty_code(&mut self, env: *mut CpuHeader) {
        // SAFETY: live header, not in generated code.
        let hdr = unsafe { &mut *env };
        if hdr.space().has_dirty_code() {
            for (addr, len) in hdr.space().take_dirty_code() {
                let page = addr & PAGE_MASK;
                // A page whose code keeps being written (freed and zeroed, reused for data)
                // goes whole after a few hits, instead of one exit per store; a few hits are
                // what patching an instruction or two costs.
                let hits = self.code_store_hits.entry(page).or_insert(0);
                *hits += 1;
                let whole = len >= PAGE_SIZE || *hits >= CODE_STORES_BEFORE_PAGE_DROP;
                let (n, left) = if whole {
                    (self.cache.invalidate_page(addr, hdr), false)
                } else {
                    self.cache.invalidate_range(addr, len, hdr)
                };
                if left {
                    // Stores to lines whose translations are gone need no exit any more.
                    hdr.space().set_code_lines(page, self.cache.code_lines(page));
                } else {
                    // No translations left: stores to the page may take the fast path again.
                    hdr.space().unmark_code_page(page);
                    self.code_store_hits.remove(&page);
                }
                self.stats.invalidated_blocks += n as u64;
            }
        }
    }

    /// Deterministic mode: whether the budget (positive: the loop checked) runs out inside
    /// block `id`. Every tier would refuse to run it, so its first instructions run one at a
    /// time instead (uncached one-instruction translations) until the budget is spent.
    pub(crate) fn budget_ends_in(&self, id: TbId, env: *mut CpuHeader) -> bool {
        // SAFETY: live header, not in generated code.
        self.cfg.count_insns && self.cache.get(id).is_some_and(|t| unsafe { (*env).icount_budget } < i64::from(t.n_insns))
    }

    pub(crate) fn lookup(&mut self, cpu: &mut dyn GuestCpu, env: *mut CpuHeader, pc: u64, key: u64) -> Option<TbId> {
        // SAFETY: live header, not in generated code.
        let hdr = unsafe { &mut *env };
        let jc = &mut hdr.jump_cache[jump_cache_index(pc)];
        if jc.vpc == pc && jc.key == key {
            let id = jc.block as TbId;
            if let Some(tb) = self.cache.get(id) {
                if jc.code == 0 {
                    jc.code = tb.entry().unwrap_or(0);
                }
                self.stats.jump_cache_hits += 1;
                return Some(id);
            }
        }
        self.stats.jump_cache_misses += 1;
        let code_mode = cpu.code_mmu_idx();
        // SAFETY: live header.
        let Some(phys) = (unsafe { slow_path::translate_code(env, pc, code_mode) }) else {
            cpu.on_fault(pc);
            return None;
        };
        let id = match self.cache.find(phys, pc, key) {
            Some(id) => id,
            None => self.translate(cpu, env, pc, phys, key),
        };
        // SAFETY: live header.
        let hdr = unsafe { &mut *env };
        let code = self.cache.get(id).and_then(|t| t.entry()).unwrap_or(0);
        // Whether the fetch's mapping (installed by translate_code above) depends on the PID.
        let local = hdr.tlb.is_local(code_mode, pc).then_some(code_mode);
        hdr.set_jump_cache(jump_cache_index(pc), ferrite_softmmu::JumpCacheEntry { vpc: pc, key, code, block: id as u64 }, local);
        Some(id)
    }

    pub(crate) fn translate(&mut self, cpu: &mut dyn GuestCpu, env: *mut CpuHeader, pc: u64, phys: u64, key: u64) -> TbId {
        let t0 = Instant::now();
        let block = self.build_ir(cpu, env, pc, phys, PAGE_SIZE, false);
        self.serial += 1;
        let tb = Tb::new(pc, phys, key, &block, self.serial);
        // SAFETY: live header.
        let hdr = unsafe { &mut *env };
        let (start, end) = tb.code_span;
        if hdr.space().mark_code(start, end - start) {
            self.cache.cpus.each(hdr, |hdr| hdr.tlb.protect_code_page(phys & PAGE_MASK));
        }
        self.stats.translated_blocks += 1;
        self.stats.translated_insns += block.n_insns as u64;
        self.stats.translate_time += t0.elapsed();
        self.cache.insert(tb)
    }

    /// Lifts and optimizes the guest code at `pc` (physical `phys`) for the CPU's current mode:
    /// at most `max_len` bytes, never past the page or a breakpoint.
    /// `for_jit`: the IR goes to Cranelift (all passes), not to the lower tiers (the cheap ones).
    pub(crate) fn build_ir(&mut self, cpu: &mut dyn GuestCpu, env: *mut CpuHeader, pc: u64, phys: u64, max_len: u64, for_jit: bool) -> ferrite_ir::Block {
        // SAFETY: live header.
        let hdr = unsafe { &mut *env };
        let page_end = (pc & PAGE_MASK) + PAGE_SIZE;
        let stop = self.breakpoints.range(pc + 1..page_end).next().copied().unwrap_or(page_end);
        let len = (stop - pc).min(max_len);
        let space = hdr.space();
        let mut block = match space.ram_ptr(phys, len) {
            // SAFETY: ram_ptr checked that the range is RAM; nothing writes it during translation.
            Some(p) => cpu.translate(pc, unsafe { std::slice::from_raw_parts(p, len as usize) }),
            None => {
                // Code in MMIO (flash, ROM devices): read a bounded window word by word.
                let n = len.min(256);
                let op = MemOp::new(0, false, Endian::Big, 0);
                let bytes: Vec<u8> = (0..n).map(|i| space.load(phys + i, op) as u8).collect();
                cpu.translate(pc, &bytes)
            }
        };
        if tracing::enabled!(target: "ir", tracing::Level::TRACE) {
            tracing::trace!(target: "ir", "{}", ferrite_ir::print_block(&block));
        }
        if for_jit {
            opt::optimize(&mut block);
        } else {
            opt::optimize_quick(&mut block);
        }
        if tracing::enabled!(target: "ir_opt", tracing::Level::TRACE) {
            tracing::trace!(target: "ir_opt", "{}", ferrite_ir::print_block(&block));
        }
        block
    }

    /// Runs block `id`; returns how it left and whether it ran compiled.
    fn execute(&mut self, id: TbId, env: *mut CpuHeader) -> (Exit, bool) {
        let tb = self.cache.get(id).expect("looked-up block exists");
        if let (Some(entry), Some(enter)) = (tb.entry(), self.enter) {
            self.stats.jit_entries += 1;
            // SAFETY: the code was compiled for this guest and this mode; env is live.
            let ret = unsafe { enter(entry, env) };
            // SAFETY: live header.
            let hdr = unsafe { &*env };
            return (Exit::decode(ret, hdr.pc, hdr.exit_slot), true);
        }
        self.stats.interp_runs += 1;
        if let Some(heat) = &tb.heat {
            // Only this thread writes it.
            heat.store(heat.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        }
        (interpret(&mut self.interp, tb, env, self.cfg.count_insns), false)
    }

    /// Counts an interpreted run of `id`, compiles it with the baseline compiler once it has
    /// run a few times, and queues it for Cranelift once it is hot (translating it again: the
    /// cache keeps no IR). Baseline code counts its own runs and comes back here (with a
    /// request exit) when its count reaches the next point where this policy looks again.
    fn maybe_compile(&mut self, cpu: &mut dyn GuestCpu, id: TbId, env: *mut CpuHeader) {
        let generation = self.cache.generation;
        let count_insns = self.cfg.count_insns;
        let Some(compiler) = self.compiler.as_ref() else { return };
        let idle = compiler.in_flight < IDLE_QUEUE;
        let full = self.cfg.jit_threshold;
        let tb = self.cache.get_mut(id).expect("looked-up block exists");
        if !matches!(tb.code, Code::Interp) {
            return;
        }
        if tb.baseline.is_none() {
            tb.runs += 1;
        }
        let runs = tb.total_runs();
        // With the compile thread idle, straight-line code is compiled early (a workload that
        // has just started, such as the first pass over a new I/O path, would otherwise run
        // it interpreted for hundreds of requests); while the thread is behind, only what is
        // hot. Loops always wait for the full threshold: by then the blocks around them have
        // run enough to be compiled with them as one region.
        let eager = (full / EAGER_DIVISOR).max(MIN_EAGER_RUNS).min(full);
        let threshold = if runs >= full {
            full
        } else if idle && !count_insns && runs.is_multiple_of(eager) && !self.on_loop(id, eager) {
            eager
        } else {
            // Baseline code comes back at the early point only while the thread is idle
            // (during a boot it never is, and the round trips would be wasted), else at the
            // threshold.
            let next = if idle && runs < eager { eager } else { full };
            self.tier1(id, runs, next, env);
            return;
        };
        let tb = self.cache.get_mut(id).expect("looked-up block exists");
        tb.code = Code::Queued;
        let counted = Arc::new(AtomicU32::new(0));
        tb.heat = Some(counted.clone());
        let heat = Heat { counted, baseline: tb.baseline.map(|b| (b.counter, b.counter.runs())) };
        if let Some(b) = tb.baseline {
            b.counter.set_limit(u32::MAX);
        }
        let (vpc, ppc, serial, key) = (tb.vpc, tb.ppc, tb.serial, tb.key);
        // Deterministic mode charges whole blocks to the budget at entry: no regions there.
        let block = if count_insns { self.build_ir(cpu, env, vpc, ppc, PAGE_SIZE, true) } else { self.build_region(cpu, env, id, threshold) };
        // A loop runs long enough to pay for Cranelift's optimisations, and so does FP code
        // (which a kernel boot hardly has): its inline fast paths leave most of their work
        // (inexactness residues, status words) to exit paths only when optimised. Other code
        // (most of a kernel boot) is compiled fast.
        let optimize = block.insts.iter().any(|i| i.op == ferrite_ir::Opcode::Chain || i.ty.is_float());
        // Compiled code reaches RAM check-free when the CPU has fastmem, unless its page has
        // met memory fastmem cannot map (then every access there would fault). Not only
        // loops: a loop whose blocks were compiled apart (an inner loop first) has no region
        // with a back edge, and was measured to need it as much (strings 0.41 -> 0.32 s).
        // SAFETY: live header, not in generated code.
        let fm = unsafe { &(*env).tlb.fastmem };
        let fastmem_modes = if self.cfg.fastmem && !fm.is_demoted(ppc) { fm.modes(optimize) } else { 0 };
        let block = Arc::new(block);
        let Some(compiler) = self.compiler.as_mut() else { return };
        let evicted = compiler.submit(Job {
            id,
            serial,
            generation,
            block,
            opts: CompileOptions { count_insns, mode_key: key, optimize, fastmem_modes, phys_pc: ppc },
            heat,
        });
        if let Some(cold) = evicted {
            // Back to the lower tiers; it may be queued again once it has run as often again.
            if let Some(t) = self.cache.get_mut(cold.id).filter(|t| t.serial == cold.serial) {
                t.code = Code::Interp;
                t.heat = None;
                t.runs = 0;
                if let Some(b) = t.baseline {
                    t.baseline_base = b.counter.runs();
                    b.counter.set_limit(t.baseline_base.wrapping_add(eager));
                }
            }
            self.stats.compile_evictions += 1;
        }
        if self.cfg.sync_compile {
            if let Some(done) = compiler.wait() {
                self.finish_compile(done, env);
            }
        }
    }

    /// Tier 1 for block `id`, which has run `runs` times and is not queued: compiles it with
    /// the baseline compiler once it has run `baseline_runs` times, and makes its baseline code
    /// come back to the run loop when it has run `next` times.
    fn tier1(&mut self, id: TbId, runs: u32, next: u32, env: *mut CpuHeader) {
        let Some(base) = self.baseline.as_mut() else { return };
        let tb = self.cache.get_mut(id).expect("looked-up block exists");
        let more = next.saturating_sub(runs).max(1);
        if let Some(b) = tb.baseline {
            b.counter.set_limit(b.counter.runs().wrapping_add(more));
            return;
        }
        if runs < self.cfg.baseline_runs {
            return;
        }
        let t0 = Instant::now();
        match base.compile(&tb.prog, tb.key, more, self.cfg.count_insns) {
            Ok(b) => {
                self.stats.baseline_blocks += 1;
                self.stats.baseline_bytes += b.code.code_size as u64;
                self.stats.baseline_time += t0.elapsed();
                if let Some(m) = &mut self.perf_map {
                    use std::io::Write;
                    let _ = writeln!(m, "{:x} {:x} guest_{:08x}_tier1", b.code.entry, b.code.code_size, tb.vpc);
                }
                self.cache.set_baseline(id, b);
            }
            // Start over, as when Cranelift's arena fills.
            Err(JitError::ArenaFull) => self.flush(env),
            Err(e) => tracing::debug!(target: "jit", "block {:#x} stays interpreted: {e}", tb.vpc),
        }
    }

    pub(crate) fn handle_exit(&mut self, cpu: &mut dyn GuestCpu, env: *mut CpuHeader, _id: TbId, compiled: bool, exit: Exit) {
        // SAFETY: live header, not in generated code.
        let hdr = unsafe { &mut *env };
        let kind = match exit {
            Exit::Direct { .. } => tag::DIRECT,
            Exit::Dynamic { .. } => tag::DYNAMIC,
            Exit::Sync { .. } => tag::SYNC,
            Exit::Raise { .. } => tag::RAISE,
            Exit::Halt { .. } => tag::HALT,
            Exit::Fault { .. } => tag::FAULT,
            Exit::Request { .. } => tag::REQUEST,
        };
        self.stats.exits[kind as usize] += 1;
        match exit {
            Exit::Direct { pc, .. } => {
                hdr.pc = pc;
                if compiled {
                    self.try_link(hdr, pc);
                }
            }
            Exit::Dynamic { pc } | Exit::Sync { pc } | Exit::Request { pc } => hdr.pc = pc,
            Exit::Raise { pc, code, aux } => cpu.on_raise(pc, code, aux),
            Exit::Fault { pc } => cpu.on_fault(pc),
            Exit::Halt { pc } => cpu.on_halt(pc),
        }
    }

    /// After a compiled block left through direct exit slot `hdr.exit_slot` for `target`, links
    /// the slot to the target's code if the target is compiled and on the same guest page.
    fn try_link(&mut self, hdr: &mut CpuHeader, target: u64) {
        let slot = hdr.exit_slot;
        let Some(src) = self.cache.slot_owner(slot) else { return };
        let Some(s) = self.cache.get(src) else { return };
        if s.vpc & PAGE_MASK != target & PAGE_MASK {
            return;
        }
        let tppc = (s.ppc & PAGE_MASK) | (target & !PAGE_MASK);
        if let Some(t) = self.cache.find(tppc, target, s.key) {
            if self.cache.link(src, slot, t) {
                self.stats.links += 1;
            }
        }
    }

    fn collect_compiled(&mut self, env: *mut CpuHeader) {
        loop {
            let Some(done) = self.compiler.as_mut().and_then(|c| c.poll()) else { return };
            self.finish_compile(done, env);
        }
    }

    fn finish_compile(&mut self, done: crate::compiler::Done, env: *mut CpuHeader) {
        self.stats.compile_time += done.elapsed;
        if done.generation != self.cache.generation {
            return;
        }
        let alive = self.cache.get(done.id).is_some_and(|t| t.serial == done.serial);
        match done.result {
            Ok(c) if alive => {
                if let Some(m) = &mut self.perf_map {
                    use std::io::Write;
                    let vpc = self.cache.get(done.id).map_or(0, |t| t.vpc);
                    let _ = writeln!(m, "{:x} {:x} guest_{vpc:08x}", c.entry, c.code_size);
                    let _ = m.flush();
                }
                self.stats.compiled_blocks += 1;
                self.stats.code_bytes += c.code_size as u64;
                // SAFETY: live header, not in generated code.
                self.cache.set_compiled(done.id, c, unsafe { &mut *env });
            }
            Ok(_) => {}
            Err(JitError::ArenaFull) => {
                // Start over: compiled blocks no longer keep what the interpreter needs.
                self.flush(env);
            }
            Err(e) => {
                self.stats.compile_failures += 1;
                let vpc = self.cache.get(done.id).map_or(0, |t| t.vpc);
                // Codegen errors are ferrite bugs (the guest only loses speed): say so.
                if matches!(e, JitError::Codegen(_)) {
                    tracing::warn!(target: "jit", "block {vpc:#x} stays interpreted: {e}");
                } else {
                    tracing::debug!(target: "jit", "block {vpc:#x} stays interpreted: {e}");
                }
                if alive {
                    if let Some(t) = self.cache.get_mut(done.id) {
                        t.code = Code::Failed;
                        t.heat = None;
                    }
                }
            }
        }
    }
}

/// Guest stores into a page's translated code after which all its translations are dropped.
const CODE_STORES_BEFORE_PAGE_DROP: u32 = 8;

/// Runs before any early compile: by then the blocks of a loop through the block have run
/// too, and the loop is seen (a block that ran once cannot tell).
const MIN_EAGER_RUNS: u32 = 8;
/// The compile queue counts as idle below this many jobs.
const IDLE_QUEUE: usize = 8;
/// While it is idle, straight-line blocks are queued after this fraction of the threshold's
/// runs (whether a block is on a loop is asked at each multiple of it).
const EAGER_DIVISOR: u32 = 16;

/// Runs `tb` in the interpreter with the entry checks generated code makes in its prologue
/// (stop requests, the deterministic budget).
pub(crate) fn interpret(interp: &mut Interpreter, tb: &Tb, env: *mut CpuHeader, count_insns: bool) -> Exit {
    // SAFETY: the caller passes a live header; no generated code is running.
    let hdr = unsafe { &mut *env };
    if hdr.exit_request.load(Ordering::Acquire) != 0 {
        return Exit::Request { pc: tb.vpc };
    }
    // SAFETY: the block was translated for this CPU's architecture and verified.
    unsafe {
        if count_insns {
            interp.run_counted(&tb.prog, env)
        } else {
            interp.run_program(&tb.prog, env)
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if self.leak_translations {
            std::mem::forget(std::mem::take(&mut self.cache));
        }
    }
}
