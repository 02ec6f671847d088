//! Virtual time as devices see it: a [`Clock`] to read, and a [`TimerQueue`] of one-shot timers
//! the machine loop fires when their deadline passes.
//!
//! Timer callbacks run on the machine loop thread from [`TimerQueue::run_due`], which holds no
//! device lock and no queue lock while calling them, so a callback may lock its device and
//! re-arm timers.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// A source of virtual time in nanoseconds since the machine started.
pub trait Clock: Send + Sync {
    /// The current virtual time.
    fn now_ns(&self) -> u64;
}

/// What a timer runs when it expires (with the current time).
pub type TimerCallback = Box<dyn FnMut(u64) + Send>;

struct Slot {
    deadline: Option<u64>,
    callback: Option<TimerCallback>,
}

#[derive(Default)]
struct Inner {
    slots: Vec<Slot>,
    /// (deadline, timer id) of armed timers.
    armed: BTreeSet<(u64, usize)>,
}

/// The machine's timers.
#[derive(Default)]
pub struct TimerQueue {
    inner: Mutex<Inner>,
}

/// A handle to one timer of a [`TimerQueue`]. It does not keep the queue alive (devices own
/// handles and the queue owns their callbacks); once the machine is gone it does nothing.
pub struct TimerHandle {
    queue: Weak<TimerQueue>,
    id: usize,
}

impl TimerQueue {
    /// An empty queue.
    pub fn new() -> TimerQueue {
        TimerQueue::default()
    }

    /// Creates a disarmed timer that runs `callback` when it expires.
    pub fn timer(self: &Arc<Self>, callback: TimerCallback) -> TimerHandle {
        let mut g = self.inner.lock().unwrap();
        g.slots.push(Slot { deadline: None, callback: Some(callback) });
        TimerHandle { queue: Arc::downgrade(self), id: g.slots.len() - 1 }
    }

    fn arm(&self, id: usize, deadline: Option<u64>) {
        let mut g = self.inner.lock().unwrap();
        if let Some(old) = g.slots[id].deadline.take() {
            g.armed.remove(&(old, id));
        }
        if let Some(d) = deadline {
            g.slots[id].deadline = Some(d);
            g.armed.insert((d, id));
        }
    }

    /// The earliest deadline of an armed timer.
    pub fn next_deadline(&self) -> Option<u64> {
        self.inner.lock().unwrap().armed.first().map(|&(d, _)| d)
    }

    /// Fires, in deadline order, every timer due at `now`.
    pub fn run_due(&self, now: u64) {
        loop {
            let (id, mut cb) = {
                let mut g = self.inner.lock().unwrap();
                let Some(&(d, id)) = g.armed.first() else { return };
                if d > now {
                    return;
                }
                g.armed.remove(&(d, id));
                g.slots[id].deadline = None;
                let Some(cb) = g.slots[id].callback.take() else { continue };
                (id, cb)
            };
            cb(now);
            self.inner.lock().unwrap().slots[id].callback = Some(cb);
        }
    }
}

impl TimerHandle {
    /// Arms (or re-arms) the timer for `deadline_ns`.
    pub fn arm(&self, deadline_ns: u64) {
        if let Some(q) = self.queue.upgrade() {
            q.arm(self.id, Some(deadline_ns));
        }
    }

    /// Disarms the timer.
    pub fn cancel(&self) {
        if let Some(q) = self.queue.upgrade() {
            q.arm(self.id, None);
        }
    }

    /// Whether the timer is armed.
    pub fn armed(&self) -> bool {
        self.queue.upgrade().is_some_and(|q| q.inner.lock().unwrap().slots[self.id].deadline.is_some())
    }
}

impl std::fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TimerHandle({})", self.id)
    }
}

/// A clock tests set by hand.
#[derive(Default, Debug)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock at 0.
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock::default())
    }

    /// Sets the time.
    pub fn set(&self, ns: u64) {
        self.0.store(ns, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ns(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_in_order_and_can_rearm() {
        let q = Arc::new(TimerQueue::new());
        let log = Arc::new(Mutex::new(Vec::new()));
        let l1 = log.clone();
        let a = q.timer(Box::new(move |now| l1.lock().unwrap().push(("a", now))));
        let l2 = log.clone();
        let b = q.timer(Box::new(move |now| l2.lock().unwrap().push(("b", now))));
        a.arm(200);
        b.arm(100);
        assert_eq!(q.next_deadline(), Some(100));
        q.run_due(50);
        assert!(log.lock().unwrap().is_empty());
        q.run_due(250);
        assert_eq!(*log.lock().unwrap(), vec![("b", 250), ("a", 250)]);
        assert!(!a.armed());
        a.arm(300);
        a.cancel();
        assert_eq!(q.next_deadline(), None);
    }
}
