//! The compile thread: Cranelift runs on the second host core while the vCPU keeps
//! interpreting; finished code is picked up by the run loop between blocks.

use ferrite_ir::Block;
use ferrite_jit::{CompileOptions, Compiled, EnterFn, Jit, JitError};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
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

enum Msg {
    Compile(Job),
    Reset,
}

/// Handle to the compile thread.
pub struct Compiler {
    tx: Option<Sender<Msg>>,
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
        let (tx, job_rx) = channel::<Msg>();
        let (done_tx, rx) = channel::<Done>();
        let finished = Arc::new(AtomicUsize::new(0));
        let finished_by_thread = finished.clone();
        let thread = std::thread::Builder::new()
            .name("ferrite-jit".into())
            .spawn(move || {
                while let Ok(msg) = job_rx.recv() {
                    match msg {
                        Msg::Reset => jit.reset(),
                        Msg::Compile(job) => {
                            if tracing::enabled!(target: "out_asm", tracing::Level::TRACE) {
                                let listing = jit.disassemble(&job.block, &job.opts).unwrap_or_else(|e| e.to_string());
                                tracing::trace!(target: "out_asm", "block {:#x}:\n{listing}", job.block.vpc);
                            }
                            let t = Instant::now();
                            let result = jit.compile(&job.block, &job.opts);
                            let done = Done { id: job.id, serial: job.serial, generation: job.generation, result, elapsed: t.elapsed() };
                            if done_tx.send(done).is_err() {
                                break;
                            }
                            finished_by_thread.fetch_add(1, Ordering::Release);
                        }
                    }
                }
            })
            .map_err(|e| JitError::Codegen(format!("cannot start the compile thread: {e}")))?;
        Ok(Compiler { tx: Some(tx), rx, thread: Some(thread), enter, in_flight: 0, finished, received: 0 })
    }

    /// The trampoline that runs compiled code.
    pub fn enter_fn(&self) -> EnterFn {
        self.enter
    }

    /// Queues a block.
    pub fn submit(&mut self, job: Job) {
        if let Some(tx) = &self.tx {
            if tx.send(Msg::Compile(job)).is_ok() {
                self.in_flight += 1;
            }
        }
    }

    /// Asks the thread to forget all code. The caller must have stopped using it.
    pub fn reset(&mut self) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Reset);
        }
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
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
