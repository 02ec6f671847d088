//! virtio-net (virtio 1.x section 5.1): a receive and a transmit queue over a [`NetBackend`].
//!
//! The device offers its MAC address and link status and nothing else (no checksum offload,
//! no segmentation, no mergeable buffers, no control queue), so every receive buffer holds a
//! whole frame and every frame is at most [`MAX_FRAME`] bytes. Transmission is synchronous
//! on the notification; reception happens when the machine loop polls the device after the
//! backend woke it, or when the driver adds receive buffers.

use super::device::{process_duplex, read_config_image, Duplex, VirtioDevice};
pub use super::device::{RX_QUEUE, TX_QUEUE};
use super::queue::{Queue, QueueError};
use super::DEVICE_NET;
use crate::dma::GuestMemory;
use crate::net::{NetBackend, MAX_FRAME, MIN_FRAME};

/// Feature: the configuration space holds the MAC address.
pub const F_MAC: u64 = 1 << 5;
/// Feature: the configuration space holds the link status.
pub const F_STATUS: u64 = 1 << 16;
/// Link status bit: the link is up.
pub const STATUS_LINK_UP: u16 = 1;
/// Size of `struct virtio_net_hdr` with VERSION_1 (it always has `num_buffers`).
pub const HDR_LEN: usize = 12;
/// Entries per queue.
const QUEUE_SIZE: u16 = 256;

/// A virtio network card.
pub struct VirtioNet {
    mac: [u8; 6],
    backend: Box<dyn NetBackend>,
    /// A frame taken from the backend while the driver had no receive buffer.
    pending: Option<Vec<u8>>,
}

impl VirtioNet {
    /// A card with address `mac` attached to `backend`.
    pub fn new(mac: [u8; 6], backend: Box<dyn NetBackend>) -> VirtioNet {
        VirtioNet { mac, backend, pending: None }
    }
}

impl Duplex for VirtioNet {
    fn receive(&mut self, queue: &mut Queue, mem: &dyn GuestMemory) -> Result<(), QueueError> {
        loop {
            let Some(frame) = self.pending.take().or_else(|| self.backend.recv()) else { return Ok(()) };
            let Some(chain) = queue.pop(mem)? else {
                self.pending = Some(frame);
                return Ok(());
            };
            let room = chain.writable_len();
            if room < HDR_LEN as u64 {
                return Err(QueueError::Request("virtio-net receive buffer shorter than the header"));
            }
            if room < (HDR_LEN + frame.len()) as u64 {
                // Without mergeable buffers the driver must post whole-frame buffers.
                tracing::warn!(target: "guest_errors", "virtio-net: {}-byte frame dropped: receive buffer holds {room} bytes", frame.len());
                queue.push_used(mem, chain.head, 0)?;
                continue;
            }
            let mut hdr = [0u8; HDR_LEN];
            hdr[10..12].copy_from_slice(&1u16.to_le_bytes()); // num_buffers
            chain.write(mem, 0, &hdr)?;
            chain.write(mem, HDR_LEN as u64, &frame)?;
            queue.push_used(mem, chain.head, (HDR_LEN + frame.len()) as u32)?;
        }
    }

    fn transmit(&mut self, queue: &mut Queue, mem: &dyn GuestMemory) -> Result<(), QueueError> {
        while let Some(chain) = queue.pop(mem)? {
            let len = chain.readable_len();
            if len < HDR_LEN as u64 {
                return Err(QueueError::Request("virtio-net transmit chain shorter than the header"));
            }
            let frame_len = len - HDR_LEN as u64;
            if frame_len < MIN_FRAME as u64 || frame_len > MAX_FRAME as u64 {
                tracing::warn!(target: "guest_errors", "virtio-net: {frame_len}-byte frame from the guest dropped");
            } else {
                let mut frame = vec![0u8; frame_len as usize];
                chain.read(mem, HDR_LEN as u64, &mut frame)?;
                self.backend.send(&frame);
            }
            queue.push_used(mem, chain.head, 0)?;
        }
        Ok(())
    }
}

impl VirtioDevice for VirtioNet {
    fn device_type(&self) -> u32 {
        DEVICE_NET
    }

    fn features(&self) -> u64 {
        F_MAC | F_STATUS
    }

    fn queue_max_sizes(&self) -> Vec<u16> {
        vec![QUEUE_SIZE, QUEUE_SIZE]
    }

    fn read_config(&self, offset: usize, data: &mut [u8]) {
        let mut c = [0u8; 8];
        c[..6].copy_from_slice(&self.mac);
        c[6..8].copy_from_slice(&STATUS_LINK_UP.to_le_bytes());
        read_config_image(&c, offset, data);
    }

    fn process(&mut self, index: usize, queue: &mut Queue, mem: &dyn GuestMemory) -> Result<(), QueueError> {
        process_duplex(self, index, queue, mem)
    }

    fn host_queues(&self) -> &'static [usize] {
        &[RX_QUEUE]
    }

    fn reset(&mut self) {
        self.pending = None;
    }
}

#[cfg(test)]
mod tests;
