//! Events from the host side (terminal input, quit keys, signals) to the machine loop, and the
//! way host threads wake a running or idle vCPU.

use ferrite_softmmu::{CpuHeader, EXIT_REQ_EXTERNAL};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Something the host wants the machine to do.
#[derive(Debug)]
pub enum HostEvent {
    /// Bytes from the host side of a character device (typed, or read from a socket).
    Input {
        /// The device they are for.
        to: CharInput,
        /// The bytes.
        data: Vec<u8>,
    },
    /// Stop the machine (Ctrl-A X, a signal, the monitor's `quit`).
    Quit,
    /// Reset the machine (monitor `system_reset`).
    Reset,
    /// A debugger connected (the stub holds the connection).
    Debugger,
    /// The attached debugger sent data while the guest ran (gdb's Ctrl-C).
    DebugInput,
    /// A line typed at the console monitor (Ctrl-A C).
    Monitor(String),
    /// A QMP command (answered through the call).
    Qmp(crate::qmp::QmpCall),
    /// A line from the monitor socket (answered through the call).
    MonitorCall(crate::monitor_socket::MonitorCall),
}

/// A guest character device that takes host input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CharInput {
    /// UART `n`.
    Serial(usize),
    /// The console port of virtio-serial device `n`.
    Console(usize),
}

/// A handle that makes a vCPU leave generated code soon (any thread).
#[derive(Clone, Copy)]
pub struct Kick(*const AtomicU32);

// SAFETY: the pointer refers to a CPU header's atomic exit_request; the machine keeps the CPU
// alive (boxed, never moved) for as long as any Kick exists, and only atomic operations are used.
unsafe impl Send for Kick {}
// SAFETY: as above.
unsafe impl Sync for Kick {}

impl Kick {
    /// A kick for the CPU whose header is `hdr`.
    pub fn new(hdr: &CpuHeader) -> Kick {
        Kick(&hdr.exit_request)
    }

    /// Requests an exit with `bits`.
    pub fn kick(&self, bits: u32) {
        // SAFETY: see the Send impl.
        unsafe { (*self.0).fetch_or(bits, Ordering::AcqRel) };
    }
}

/// How many vCPUs can be kicked (the kick list is a fixed array so that a signal handler can
/// walk it without taking a lock).
const MAX_KICKS: usize = 64;

/// How long an idle machine sleeps at most before it looks at the quit flag again: a signal
/// handler may not touch the condition variable, so it only sets the flag.
const IDLE_POLL: Duration = Duration::from_millis(50);

/// The queue of host events plus the wake-up of an idle or running machine.
pub struct HostEvents {
    queue: Mutex<VecDeque<HostEvent>>,
    cond: Condvar,
    kicks: [AtomicPtr<AtomicU32>; MAX_KICKS],
    /// Kicks in progress (see [`HostEvents::clear_kicks`]).
    kicking: std::sync::atomic::AtomicUsize,
    quit: AtomicBool,
}

impl Default for HostEvents {
    fn default() -> Self {
        HostEvents {
            queue: Mutex::default(),
            cond: Condvar::new(),
            kicks: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
            kicking: std::sync::atomic::AtomicUsize::new(0),
            quit: AtomicBool::new(false),
        }
    }
}

impl HostEvents {
    /// A shared, empty queue.
    pub fn new() -> Arc<HostEvents> {
        Arc::new(HostEvents::default())
    }

    /// Registers a CPU to kick when events arrive (at most 64 CPUs; later ones are only woken
    /// when they return to the loop on their own).
    pub fn add_kick(&self, k: Kick) {
        let ptr = k.0 as *mut AtomicU32;
        for slot in &self.kicks {
            if slot.compare_exchange(std::ptr::null_mut(), ptr, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                return;
            }
        }
        tracing::warn!("more than {MAX_KICKS} vCPUs: the extra ones are not kicked by host events");
    }

    fn kick_all(&self) {
        self.kicking.fetch_add(1, Ordering::AcqRel);
        for slot in &self.kicks {
            let p = slot.load(Ordering::Acquire);
            if p.is_null() {
                break;
            }
            Kick(p).kick(EXIT_REQ_EXTERNAL);
        }
        self.kicking.fetch_sub(1, Ordering::AcqRel);
    }

    /// Forgets every registered CPU and waits for kicks under way to finish: the machine calls
    /// this before its CPUs are freed, since other threads (terminal, alarm, signal handlers)
    /// may still hold the events.
    pub fn clear_kicks(&self) {
        for slot in &self.kicks {
            slot.store(std::ptr::null_mut(), Ordering::Release);
        }
        while self.kicking.load(Ordering::Acquire) != 0 {
            std::hint::spin_loop();
        }
    }

    /// Asks the machine to stop; async-signal-safe (atomics only), so signal handlers call it.
    pub fn request_quit(&self) {
        self.quit.store(true, Ordering::SeqCst);
        self.kick_all();
    }

    /// Whether [`request_quit`](Self::request_quit) was called.
    pub fn quit_requested(&self) -> bool {
        self.quit.load(Ordering::SeqCst)
    }

    /// Queues an event and wakes the machine.
    pub fn push(&self, ev: HostEvent) {
        self.queue.lock().unwrap().push_back(ev);
        self.wake();
    }

    /// Wakes the machine without an event (timers, signals).
    pub fn wake(&self) {
        self.kick_all();
        let _guard = self.queue.lock().unwrap();
        self.cond.notify_all();
    }

    /// Takes every queued event.
    pub fn drain(&self) -> Vec<HostEvent> {
        self.queue.lock().unwrap().drain(..).collect()
    }

    /// Sleeps until an event arrives, a quit is requested or `timeout` passes (None: no
    /// timeout). Returns early (spuriously) at least every 50 ms.
    pub fn wait(&self, timeout: Option<Duration>) {
        let q = self.queue.lock().unwrap();
        if !q.is_empty() || self.quit_requested() {
            return;
        }
        let t = timeout.map_or(IDLE_POLL, |t| t.min(IDLE_POLL));
        drop(self.cond.wait_timeout(q, t).unwrap());
    }
}

/// A thread that kicks the vCPU when a real-time deadline passes, so timers fire while guest
/// code runs chained blocks without returning to the loop.
pub struct Alarm {
    state: Arc<(Mutex<(Option<std::time::Instant>, bool)>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Alarm {
    /// Starts the alarm thread; it wakes `events` at each deadline.
    pub fn start(events: Arc<HostEvents>) -> Alarm {
        let state: Arc<(Mutex<(Option<std::time::Instant>, bool)>, Condvar)> = Arc::new((Mutex::new((None, false)), Condvar::new()));
        let s = state.clone();
        let thread = std::thread::Builder::new()
            .name("ferrite-alarm".into())
            .spawn(move || {
                let (m, c) = &*s;
                let mut g = m.lock().unwrap();
                loop {
                    if g.1 {
                        return;
                    }
                    match g.0 {
                        None => g = c.wait(g).unwrap(),
                        Some(t) => {
                            let now = std::time::Instant::now();
                            if now >= t {
                                g.0 = None;
                                drop(g);
                                events.wake();
                                g = m.lock().unwrap();
                            } else {
                                g = c.wait_timeout(g, t - now).unwrap().0;
                            }
                        }
                    }
                }
            })
            .expect("cannot start the alarm thread");
        Alarm { state, thread: Some(thread) }
    }

    /// Sets the next deadline (replacing any earlier one); None disarms.
    pub fn set(&self, at: Option<std::time::Instant>) {
        let (m, c) = &*self.state;
        let mut g = m.lock().unwrap();
        if g.0 != at {
            g.0 = at;
            c.notify_one();
        }
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        let (m, c) = &*self.state;
        m.lock().unwrap().1 = true;
        c.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
