//! Counters that tell where the time goes (`-d stats`, benchmarks' closing notes).

use std::time::Duration;

/// Engine counters since the machine started.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Blocks translated to IR.
    pub translated_blocks: u64,
    /// Guest instructions translated.
    pub translated_insns: u64,
    /// Time spent translating (decode, IR, passes).
    pub translate_time: Duration,
    /// Blocks compiled by the baseline compiler (tier 1).
    pub baseline_blocks: u64,
    /// Time the baseline compiler took (on the vCPU thread).
    pub baseline_time: Duration,
    /// Host code bytes it produced.
    pub baseline_bytes: u64,
    /// Blocks compiled by the JIT.
    pub compiled_blocks: u64,
    /// Further blocks compiled into those as members of their regions.
    pub region_members: u64,
    /// Blocks the JIT refused (they stay interpreted; `-d jit` says why).
    pub compile_failures: u64,
    /// Queued blocks sent back to the interpreter unqueued, the coldest when the queue was full.
    pub compile_evictions: u64,
    /// Time the compile thread spent compiling.
    pub compile_time: Duration,
    /// Host code bytes produced.
    pub code_bytes: u64,
    /// Blocks run by the interpreter.
    pub interp_runs: u64,
    /// Entries into generated code from the run loop (chained blocks are not counted).
    pub jit_entries: u64,
    /// Links between compiled blocks established.
    pub links: u64,
    /// Blocks dropped because their code was overwritten.
    pub invalidated_blocks: u64,
    /// Full flushes of the code cache.
    pub flushes: u64,
    /// Run-loop block lookups answered by the jump cache, and those that were not.
    pub jump_cache_hits: u64,
    /// See `jump_cache_hits`.
    pub jump_cache_misses: u64,
    /// Exits to the run loop by kind: direct, dynamic, sync, raise, halt, fault, request.
    pub exits: [u64; 8],
    /// Exit requests the run loop found, by cause: interrupt, external (timers, devices,
    /// the machine), written code, stop, compiled code ready.
    pub requests: [u64; 5],
}

impl Stats {
    /// A human-readable summary.
    pub fn report(&self) -> String {
        format!(
            "translated {} blocks / {} insns in {:.3}s; baseline-compiled {} blocks ({} KiB) in {:.3}s; compiled {} blocks (+{} region members, {} KiB) in {:.3}s, {} refused, {} evicted from the queue; \
             interpreted runs {}; jit entries {}; links {}; invalidated {}; flushes {}; \
             jump cache hits {} misses {}; \
             exits direct {} dynamic {} sync {} raise {} halt {} fault {} request {}; \
             requests for interrupts {} external {} code writes {} stop {} code ready {}",
            self.translated_blocks,
            self.translated_insns,
            self.translate_time.as_secs_f64(),
            self.baseline_blocks,
            self.baseline_bytes / 1024,
            self.baseline_time.as_secs_f64(),
            self.compiled_blocks,
            self.region_members,
            self.code_bytes / 1024,
            self.compile_time.as_secs_f64(),
            self.compile_failures,
            self.compile_evictions,
            self.interp_runs,
            self.jit_entries,
            self.links,
            self.invalidated_blocks,
            self.flushes,
            self.jump_cache_hits,
            self.jump_cache_misses,
            self.exits[1],
            self.exits[2],
            self.exits[3],
            self.exits[4],
            self.exits[5],
            self.exits[6],
            self.exits[7],
            self.requests[0],
            self.requests[1],
            self.requests[2],
            self.requests[3],
            self.requests[4],
        )
    }
}
