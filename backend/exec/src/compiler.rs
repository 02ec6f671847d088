//! The compile thread: Cranelift runs on the second host core while the vCPU keeps
//! interpreting; finished code is picked up by the run loop between blocks.

use ferrite_baseline::Counter;
use ferrite_ir::Block;
use ferrite_jit::{CompileOptions, Compiled, EnterFn, Jit, JitError};
use ferrite_softmmu::EXIT_REQ_CODE_READY;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A request to compile one block.
pub struct Job {
    /// Block id in the cache.
    pub id: u32,
    /// The block's serial number (ids are reused).
    pub serial: u64,
    /// Cache generation the id belongs to.
    pub generation: u64,
    /// The optimized IR.
    pub block: Arc<Block>,
    /// Code generation options.
    pub opts: CompileOptions,
    /// How often the block ran since it was queued (the thread compiles the hottest first).
    pub heat: Heat,
}

/// Runs of a queued block since it was queued: those the run loop counted (interpreted, or
/// entered from the loop) plus those its baseline code counted itself.
#[derive(Clone, Debug)]
pub struct Heat {
    /// Counted by the run loop.
    pub counted: Arc<AtomicU32>,
    /// The block's baseline run counter and its value when the block was queued.
    pub baseline: Option<(Counter, u32)>,
}

impl Heat {
    /// Runs since queued.
    pub fn get(&self) -> u32 {
        let own = self.baseline.map_or(0, |(c, base)| c.runs().wrapping_sub(base));
        self.counted.load(Ordering::Relaxed).wrapping_add(own)
    }
}

/// A finished compilation.
pub struct Done {
    /// Block id.
    pub id: u32,
    /// The block's serial number.
    pub serial: u64,
    /// Generation of the job.
    pub generation: u64,
    /// The code, or why there is none.
    pub result: Result<Compiled, JitError>,
    /// Time spent.
    pub elapsed: Duration,
}

/// What the run loop and the compile thread share: the jobs not yet started.
#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    /// Forget all code before the next job.
    reset: bool,
    /// The engine is gone: stop.
    closed: bool,
}

impl Queue {
    /// Takes the job whose block ran most often since it was queued (the oldest among
    /// equals): when the thread falls behind (a kernel boot queues blocks faster than
    /// Cranelift compiles them) the blocks that still run come first, and those nobody runs
    /// any more wait.
    fn take_hottest(&mut self) -> Option<Job> {
        self.take_first_by(|heat, best| heat > best)
    }

    /// Takes the job whose block ran least often since it was queued (the oldest among equals).
    fn take_coldest(&mut self) -> Option<Job> {
        self.take_first_by(|heat, best| heat < best)
    }

    /// Takes the first job whose heat `beats` that of every job before it.
    fn take_first_by(&mut self, beats: impl Fn(u32, u32) -> bool) -> Option<Job> {
        let mut best: Option<(usize, u32)> = None;
        for (i, job) in self.jobs.iter().enumerate() {
            let heat = job.heat.get();
            if best.is_none_or(|(_, h)| beats(heat, h)) {
                best = Some((i, heat));
            }
        }
        best.map(|(i, _)| self.jobs.remove(i))
    }
}

/// Jobs that may wait for the compile thread. A boot queues blocks faster than Cranelift
/// compiles them; each waiting job holds its IR (a few KiB).
pub const MAX_QUEUED: usize = 256;

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    /// The `exit_request` of the CPU the engine is running, while it runs one: finished code
    /// makes it leave its chain of blocks so that the run loop installs the code.
    kick: Mutex<Option<KickTarget>>,
}

/// A CPU's `exit_request`, set only while [`Engine::run`](crate::Engine::run) holds the CPU.
struct KickTarget(*const AtomicU32);

// SAFETY: the pointer is only dereferenced under the `kick` mutex, and the engine clears it
// (under the same mutex) before the CPU it points into can go away: `Compiler::set_kick`.
unsafe impl Send for KickTarget {}

/// Handle to the compile thread.
pub struct Compiler {
    shared: Arc<Shared>,
    rx: Receiver<Done>,
    thread: Option<JoinHandle<()>>,
    enter: EnterFn,
    /// Jobs sent and not yet received back.
    pub in_flight: usize,
    /// Jobs the thread has finished (sent back) so far, and how many of those were received:
    /// the run loop's per-block poll reads one counter instead of the channel.
    finished: Arc<AtomicUsize>,
    received: usize,
}

impl Compiler {
    /// Starts the compile thread with a code arena of `arena_bytes`.
    pub fn start(arena_bytes: usize) -> Result<Compiler, JitError> {
        let mut jit = Jit::new(arena_bytes)?;
        let enter = jit.enter_fn();
        let shared = Arc::new(Shared { queue: Mutex::new(Queue::default()), wake: Condvar::new(), kick: Mutex::new(None) });
        let (done_tx, rx) = channel::<Done>();
        let finished = Arc::new(AtomicUsize::new(0));
        let finished_by_thread = finished.clone();
        let shared_by_thread = shared.clone();
        let thread = std::thread::Builder::new()
            .name("ferrite-jit".into())
            .spawn(move || {
                while let Some(job) = next_job(&shared_by_thread, &mut jit) {
                    if tracing::enabled!(target: "out_asm", tracing::Level::TRACE) {
                        let listing = jit.disassemble(&job.block, &job.opts).unwrap_or_else(|e| e.to_string());
                        tracing::trace!(target: "out_asm", "block {:#x} (optimised: {}):\n{listing}", job.block.vpc, job.opts.optimize);
                    }
                    let t = Instant::now();
                    let result = jit.compile(&job.block, &job.opts);
                    let done = Done { id: job.id, serial: job.serial, generation: job.generation, result, elapsed: t.elapsed() };
                    if done_tx.send(done).is_err() {
                        break;
                    }
                    finished_by_thread.fetch_add(1, Ordering::Release);
                    if let Some(k) = &*lock(&shared_by_thread.kick) {
                        // SAFETY: see KickTarget.
                        unsafe { (*k.0).fetch_or(EXIT_REQ_CODE_READY, Ordering::AcqRel) };
                    }
                }
            })
            .map_err(|e| JitError::Codegen(format!("cannot start the compile thread: {e}")))?;
        Ok(Compiler { shared, rx, thread: Some(thread), enter, in_flight: 0, finished, received: 0 })
    }

    /// Sets (or, with `None`, clears) the CPU whose `exit_request` finished compilations set.
    ///
    /// # Safety
    /// The caller must clear it before the CPU holding `target` is dropped or moved.
    pub unsafe fn set_kick(&self, target: Option<&AtomicU32>) {
        *lock(&self.shared.kick) = target.map(|t| KickTarget(t));
    }

    /// The trampoline that runs compiled code.
    pub fn enter_fn(&self) -> EnterFn {
        self.enter
    }

    /// Queues a block. With [`MAX_QUEUED`] jobs waiting, the coldest of them (fewest runs
    /// since queued, the oldest among equals: it had the longest to warm up) is taken out and
    /// returned, so that the waiting IR stays bounded; its block goes back to the interpreter.
    pub fn submit(&mut self, job: Job) -> Option<Job> {
        let mut q = lock(&self.shared.queue);
        q.jobs.push(job);
        let evicted = (q.jobs.len() > MAX_QUEUED).then(|| q.take_coldest()).flatten();
        drop(q);
        self.shared.wake.notify_one();
        self.in_flight += 1;
        if evicted.is_some() {
            self.in_flight -= 1;
        }
        evicted
    }

    /// Asks the thread to forget all code, dropping the jobs it has not started (their results
    /// would be stale). The caller must have stopped using the code.
    pub fn reset(&mut self) {
        let mut q = lock(&self.shared.queue);
        self.in_flight -= q.jobs.len();
        q.jobs.clear();
        q.reset = true;
        drop(q);
        self.shared.wake.notify_one();
    }

    /// A finished job, if any.
    pub fn poll(&mut self) -> Option<Done> {
        // The run loop asks after every block: skip the channel unless a job has finished.
        if self.in_flight == 0 || self.finished.load(Ordering::Acquire) == self.received {
            return None;
        }
        let d = self.rx.try_recv().ok()?;
        self.in_flight -= 1;
        self.received += 1;
        Some(d)
    }

    /// Waits for a finished job (tests and synchronous mode).
    pub fn wait(&mut self) -> Option<Done> {
        if self.in_flight == 0 {
            return None;
        }
        let d = self.rx.recv().ok()?;
        self.in_flight -= 1;
        self.received += 1;
        Some(d)
    }
}

impl Drop for Compiler {
    fn drop(&mut self) {
        lock(&self.shared.queue).closed = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The thread's next job, after any reset the engine asked for; `None` once the engine is gone.
fn next_job(shared: &Shared, jit: &mut Jit) -> Option<Job> {
    let mut q = lock(&shared.queue);
    loop {
        if q.closed {
            return None;
        }
        if q.reset {
            q.reset = false;
            jit.reset();
        }
        if let Some(job) = q.take_hottest() {
            return Some(job);
        }
        q = shared.wake.wait(q).unwrap_or_else(|e| e.into_inner());
    }
}

/// The queue, even if a thread panicked while holding it (its data stays consistent: every
/// change is a single push, remove or flag).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u32, heat: u32) -> Job {
        let block = Arc::new(Block::new(&ferrite_ir::testing::DESC, 0x100));
        Job { id, serial: 0, generation: 0, block, opts: CompileOptions::default(), heat: Heat { counted: Arc::new(AtomicU32::new(heat)), baseline: None } }
    }

    #[test]
    fn the_hottest_job_goes_first_and_the_oldest_among_equals() {
        let mut q = Queue::default();
        for (id, heat) in [(1, 0), (2, 5), (3, 9), (4, 9), (5, 1)] {
            q.jobs.push(job(id, heat));
        }
        // Heat changes after queueing count.
        q.jobs[0].heat.counted.store(7, Ordering::Relaxed);
        let order: Vec<u32> = std::iter::from_fn(|| q.take_hottest().map(|j| j.id)).collect();
        assert_eq!(order, [3, 4, 1, 2, 5]);
    }

    #[test]
    fn the_coldest_job_is_evicted_first_and_the_oldest_among_equals() {
        let mut q = Queue::default();
        for (id, heat) in [(1, 4), (2, 0), (3, 9), (4, 0)] {
            q.jobs.push(job(id, heat));
        }
        let order: Vec<u32> = std::iter::from_fn(|| q.take_coldest().map(|j| j.id)).collect();
        assert_eq!(order, [2, 4, 1, 3]);
    }
}
