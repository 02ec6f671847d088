//! The trait a virtio device implements, whatever transport carries it.

use super::queue::{Queue, QueueError};
use crate::dma::GuestMemory;

/// A virtio device: its type, features, queues, configuration space and request handling.
///
/// Lifecycle, driven by the transport through [`super::VirtioCore`]:
/// 1. the driver reads [`Self::features`] and writes the subset it accepts;
/// 2. it sets up the queues and sets DRIVER_OK: [`Self::activate`] gets the final features;
/// 3. every notification of queue `i` calls [`Self::process`], which pops chains, serves
///    them and pushes them to the used ring; the core decides whether to interrupt;
/// 4. a status write of 0 (or a bus reset) calls [`Self::reset`].
///
/// An `Err` from [`Self::process`] means the driver broke the protocol: the core logs it as a
/// guest error and puts the device in the `DEVICE_NEEDS_RESET` state.
pub trait VirtioDevice: Send {
    /// Device type (2 block, 4 entropy, ...).
    fn device_type(&self) -> u32;

    /// Device-specific feature bits (the core adds VERSION_1 and the ring features).
    fn features(&self) -> u64;

    /// Maximum size of each queue; the length is the number of queues.
    fn queue_max_sizes(&self) -> Vec<u16>;

    /// Copies configuration space bytes at `offset` into `data` (bytes past the end read 0).
    fn read_config(&self, offset: usize, data: &mut [u8]);

    /// A driver write to the configuration space (ignored by default: read-only fields).
    fn write_config(&mut self, offset: usize, data: &[u8]) {
        tracing::warn!(target: "guest_errors", "virtio: write of {} bytes to read-only config at {offset:#x}", data.len());
    }

    /// The driver set DRIVER_OK with these negotiated features.
    fn activate(&mut self, _features: u64) {}

    /// Serves the available chains of queue `index`.
    fn process(&mut self, index: usize, queue: &mut Queue, mem: &dyn GuestMemory) -> Result<(), QueueError>;

    /// Queues that also have work arriving from the host side (a network card's receive
    /// queue): [`super::VirtioCore::poll`] serves them as if the driver had notified them.
    fn host_queues(&self) -> &'static [usize] {
        &[]
    }

    /// Device reset.
    fn reset(&mut self) {}
}

/// Copies the bytes of `image` at `offset` into `data`, zero past its end.
pub(crate) fn read_config_image(image: &[u8], offset: usize, data: &mut [u8]) {
    for (i, b) in data.iter_mut().enumerate() {
        *b = offset.checked_add(i).and_then(|o| image.get(o)).copied().unwrap_or(0);
    }
}

/// The receive queue of a network card or console: data from the host to the guest.
pub const RX_QUEUE: usize = 0;
/// Its transmit queue: data from the guest to the host.
pub const TX_QUEUE: usize = 1;

/// A device with a receive and a transmit queue (network card, console).
pub(crate) trait Duplex {
    /// Fills the receive queue's buffers with what the host has for the guest.
    fn receive(&mut self, queue: &mut Queue, mem: &dyn GuestMemory) -> Result<(), QueueError>;
    /// Sends the transmit queue's buffers to the host.
    fn transmit(&mut self, queue: &mut Queue, mem: &dyn GuestMemory) -> Result<(), QueueError>;
}

/// [`VirtioDevice::process`] of a [`Duplex`] device.
pub(crate) fn process_duplex(dev: &mut impl Duplex, index: usize, queue: &mut Queue, mem: &dyn GuestMemory) -> Result<(), QueueError> {
    match index {
        RX_QUEUE => dev.receive(queue, mem),
        TX_QUEUE => dev.transmit(queue, mem),
        _ => Ok(()),
    }
}
