//! The machine's virtual clock: every timer of every device and CPU reads time here.
//!
//! Two modes, as in QEMU:
//! * **real time** (default): host monotonic time since start, minus time spent paused (a
//!   debugger holding the machine stops the clock, so timers do not fire on continue);
//! * **deterministic** (`-icount shift=N`): time is `2^N` ns per executed instruction, plus time
//!   skipped while every CPU waited (then time jumps to the next timer instead of sleeping), so
//!   two runs of the same guest see exactly the same times.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which flavour of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockMode {
    /// Host time.
    RealTime,
    /// Instruction-count time with 2^shift ns per instruction.
    Deterministic {
        /// log2 of nanoseconds per instruction.
        shift: u32,
    },
}

/// Time source shared by the machine, its CPUs and devices.
#[derive(Debug)]
pub struct VirtualClock {
    mode: ClockMode,
    start: Instant,
    /// Real time: total time paused; plus the instant the current pause began.
    paused: Mutex<(Duration, Option<Instant>)>,
    /// Deterministic: instructions retired in finished run slices.
    retired: AtomicU64,
    /// Deterministic: budget granted to the running slice, and its remaining budget's address.
    granted: AtomicI64,
    budget: AtomicU64,
    /// Deterministic: nanoseconds skipped while all CPUs were idle.
    skipped: AtomicU64,
}

impl VirtualClock {
    /// A clock in `mode`, starting at 0.
    pub fn new(mode: ClockMode) -> VirtualClock {
        VirtualClock {
            mode,
            start: Instant::now(),
            paused: Mutex::new((Duration::ZERO, None)),
            retired: AtomicU64::new(0),
            granted: AtomicI64::new(0),
            budget: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    /// The mode.
    pub fn mode(&self) -> ClockMode {
        self.mode
    }

    /// Nanoseconds of virtual time since the machine started.
    pub fn now_ns(&self) -> u64 {
        match self.mode {
            ClockMode::RealTime => {
                let p = self.paused.lock().unwrap();
                let now = p.1.unwrap_or_else(Instant::now);
                (now.duration_since(self.start).saturating_sub(p.0)).as_nanos() as u64
            }
            ClockMode::Deterministic { shift } => {
                let insns = self.retired.load(Ordering::Relaxed) + self.in_flight();
                (insns << shift) + self.skipped.load(Ordering::Relaxed)
            }
        }
    }

    /// Instructions of the running slice executed so far (deterministic mode).
    fn in_flight(&self) -> u64 {
        let p = self.budget.load(Ordering::Relaxed) as *const i64;
        if p.is_null() {
            return 0;
        }
        // SAFETY: `begin_slice` stored the address of a live CPU's budget and `end_slice`
        // clears it before the slice's CPU can go away; only the vCPU thread reads it.
        let left = unsafe { p.read_volatile() };
        (self.granted.load(Ordering::Relaxed) - left).max(0) as u64
    }

    /// Deterministic mode: a CPU starts running with `granted` instructions, its remaining
    /// budget living at `budget`.
    pub fn begin_slice(&self, granted: i64, budget: *const i64) {
        self.granted.store(granted, Ordering::Relaxed);
        self.budget.store(budget as u64, Ordering::Relaxed);
    }

    /// Deterministic mode: the slice ended with `left` instructions of budget unused.
    pub fn end_slice(&self, left: i64) {
        let used = (self.granted.load(Ordering::Relaxed) - left).max(0) as u64;
        self.retired.fetch_add(used, Ordering::Relaxed);
        self.budget.store(0, Ordering::Relaxed);
        self.granted.store(0, Ordering::Relaxed);
    }

    /// Deterministic mode: the number of instructions until `deadline_ns` (at least 1).
    pub fn insns_until(&self, deadline_ns: u64) -> i64 {
        match self.mode {
            ClockMode::Deterministic { shift } => {
                let now = self.now_ns();
                (deadline_ns.saturating_sub(now) >> shift).clamp(1, i64::MAX as u64 / 2) as i64
            }
            ClockMode::RealTime => i64::MAX,
        }
    }

    /// Deterministic mode: every CPU waits, so jump to `deadline_ns`.
    pub fn skip_to(&self, deadline_ns: u64) {
        let now = self.now_ns();
        if deadline_ns > now {
            self.skipped.fetch_add(deadline_ns - now, Ordering::Relaxed);
        }
    }

    /// Real time: how long until `deadline_ns`, for sleeping.
    pub fn real_delay(&self, deadline_ns: u64) -> Duration {
        Duration::from_nanos(deadline_ns.saturating_sub(self.now_ns()))
    }

    /// Stops real time (a debugger holds the machine). Deterministic time only advances with
    /// execution anyway.
    pub fn pause(&self) {
        let mut p = self.paused.lock().unwrap();
        if p.1.is_none() {
            p.1 = Some(Instant::now());
        }
    }

    /// Restarts real time.
    pub fn resume(&self) {
        let mut p = self.paused.lock().unwrap();
        if let Some(t) = p.1.take() {
            p.0 += t.elapsed();
        }
    }
}

impl ferrite_devices::Clock for VirtualClock {
    fn now_ns(&self) -> u64 {
        VirtualClock::now_ns(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_time_follows_instructions_and_skips() {
        let c = VirtualClock::new(ClockMode::Deterministic { shift: 3 });
        assert_eq!(c.now_ns(), 0);
        let mut budget: i64 = 1000;
        c.begin_slice(1000, &budget);
        budget -= 250;
        assert_eq!(c.now_ns(), 250 * 8);
        c.end_slice(budget);
        assert_eq!(c.now_ns(), 2000);
        assert_eq!(c.insns_until(10_000), 1000);
        c.skip_to(5000);
        assert_eq!(c.now_ns(), 5000);
        c.skip_to(100);
        assert_eq!(c.now_ns(), 5000, "time never goes back");
    }

    #[test]
    fn real_time_stops_while_paused() {
        let c = VirtualClock::new(ClockMode::RealTime);
        c.pause();
        let a = c.now_ns();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(c.now_ns(), a);
        c.resume();
        std::thread::sleep(Duration::from_millis(5));
        assert!(c.now_ns() >= a + 4_000_000);
        assert!(c.now_ns() < a + 20_000_000, "paused time is not counted");
    }
}
