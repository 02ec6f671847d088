//! The host side of network cards: where a virtio-net's frames go and come from.
//!
//! A [`NetBackend`] takes Ethernet frames from the guest and hands back frames for it. Frames
//! for the guest arrive on the backend's own threads; the backend then calls its [`Waker`],
//! and the machine loop (on the vCPU thread) moves them into the guest's receive buffers.
//!
//! Backends: [`user`] (QEMU's "user" networking: a NAT to host sockets with DHCP, DNS and
//! port forwarding, over `smoltcp`), [`socket`] (QEMU's `-netdev socket` framing over TCP) and
//! [`tap`] (a host TAP interface).

pub mod socket;
pub mod tap;
pub mod user;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Largest Ethernet frame (without FCS, with one VLAN tag) a card passes either way.
pub const MAX_FRAME: usize = 1518;
/// Smallest frame: an Ethernet header.
pub const MIN_FRAME: usize = 14;
/// Frames queued for the guest at most; more are dropped (as a full NIC would).
const INBOX_FRAMES: usize = 512;

/// Called (from any thread) when frames for the guest are ready.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// A host network backend.
pub trait NetBackend: Send {
    /// Transmits one Ethernet frame the guest sent (no virtio header, no FCS).
    fn send(&mut self, frame: &[u8]);

    /// The next frame for the guest, if one is waiting.
    fn recv(&mut self) -> Option<Vec<u8>>;
}

/// Frames waiting for the guest, filled by a backend thread and drained by the device.
pub struct Inbox {
    frames: Mutex<VecDeque<Vec<u8>>>,
    waker: Waker,
}

impl Inbox {
    /// An empty inbox that calls `waker` when frames arrive.
    pub fn new(waker: Waker) -> Arc<Inbox> {
        Arc::new(Inbox { frames: Mutex::default(), waker })
    }

    /// Queues frames for the guest and wakes the machine (drops them if the guest is not
    /// taking frames and the inbox is full).
    pub fn push_all(&self, frames: impl IntoIterator<Item = Vec<u8>>) {
        let mut any = false;
        {
            let mut q = self.frames.lock().unwrap_or_else(|e| e.into_inner());
            for f in frames {
                if q.len() < INBOX_FRAMES {
                    q.push_back(f);
                    any = true;
                }
            }
        }
        if any {
            (self.waker)();
        }
    }

    /// The oldest waiting frame.
    pub fn pop(&self) -> Option<Vec<u8>> {
        self.frames.lock().unwrap_or_else(|e| e.into_inner()).pop_front()
    }
}

/// A backend with no host side: frames from the guest vanish, none arrive.
#[derive(Debug, Default)]
pub struct NullNet;

impl NetBackend for NullNet {
    fn send(&mut self, _frame: &[u8]) {}
    fn recv(&mut self) -> Option<Vec<u8>> {
        None
    }
}
