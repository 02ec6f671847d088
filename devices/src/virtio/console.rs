//! virtio-console (virtio 1.x section 5.3): one console port, port 0, with a receive queue
//! (host to guest) and a transmit queue (guest to host) over a [`CharBackend`].
//!
//! The device does not offer VIRTIO_CONSOLE_F_MULTIPORT. Linux then makes port 0 a console
//! at probe time (`/dev/hvc0`, plus `/dev/vport0p0`) that accepts input at any time, which is
//! what a QEMU `virtconsole` gives the guest; the control queues of the multiport protocol
//! would only add named `virtserialport`s, which ferrite does not offer. It offers
//! EMERG_WRITE, as QEMU does: a driver may print single bytes through the configuration
//! space before any queue exists. Output is written synchronously on the notification, so
//! Linux's `put_chars`, which spins until the buffer comes back, never waits. Host input
//! waits in a [`ConsoleInput`] until the driver posts receive buffers; a full one holds the
//! host writer back.

use super::device::{process_duplex, read_config_image, Duplex, VirtioDevice};
pub use super::device::{RX_QUEUE, TX_QUEUE};
use super::queue::{Queue, QueueError};
use super::DEVICE_CONSOLE;
use crate::chardev::CharBackend;
use crate::dma::GuestMemory;
use std::collections::VecDeque;
use crate::net::Waker;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

/// Feature: the driver may write single characters to `emerg_wr` in the configuration.
pub const F_EMERG_WRITE: u64 = 1 << 2;
/// Entries per queue (QEMU's virtio-serial uses 128).
const QUEUE_SIZE: u16 = 128;
/// Offset of `emerg_wr` in the configuration (after cols, rows and max_nr_ports).
const EMERG_WR: usize = 8;
/// Host input held for the guest at most (a guest that never reads its console must not
/// make ferrite's memory grow without bound).
const MAX_PENDING: usize = 1 << 20;
/// Bytes copied from a transmit chain to the backend at a time (a chain may be huge).
const TX_CHUNK: usize = 64 << 10;

/// Host input waiting for the guest's receive buffers, shared between the host side (which
/// adds what was typed or sent, from any thread) and the device (which takes it).
#[derive(Default)]
pub struct ConsoleInput {
    queue: Mutex<VecDeque<u8>>,
    /// Signalled when the device took input (room for a waiting writer).
    room: Condvar,
    /// Tells the machine to serve the receive queue.
    waker: OnceLock<Waker>,
}

impl ConsoleInput {
    /// An empty input queue.
    pub fn new() -> Arc<ConsoleInput> {
        Arc::new(ConsoleInput::default())
    }

    /// Sets what is called when input arrives (the machine polls the device then).
    pub fn set_waker(&self, waker: Waker) {
        let _ = self.waker.set(waker);
    }

    /// Queues bytes for the guest without waiting: past [`MAX_PENDING`] waiting bytes the rest
    /// is dropped (typed input, whose reader must stay free for the escape keys).
    pub fn push(&self, data: &[u8]) {
        {
            let mut q = self.lock();
            let room = MAX_PENDING.saturating_sub(q.len());
            if data.len() > room {
                tracing::warn!("virtio-console: guest is not reading its console; {} input bytes dropped", data.len() - room);
            }
            q.extend(&data[..data.len().min(room)]);
        }
        self.wake();
    }

    /// Queues bytes for the guest, waiting while [`MAX_PENDING`] bytes wait already: a
    /// socket's reader thread then stops reading, and the host writer is held back as by a
    /// full pipe (nothing is lost).
    pub fn push_wait(&self, mut data: &[u8]) {
        while !data.is_empty() {
            {
                let mut q = self.lock();
                while q.len() >= MAX_PENDING {
                    q = self.room.wait(q).unwrap_or_else(|e| e.into_inner());
                }
                let n = data.len().min(MAX_PENDING - q.len());
                q.extend(&data[..n]);
                data = &data[n..];
            }
            self.wake();
        }
    }

    /// Forgets waiting input (machine reset).
    pub fn clear(&self) {
        self.lock().clear();
        self.room.notify_all();
    }

    fn wake(&self) {
        if let Some(w) = self.waker.get() {
            w();
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<u8>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A virtio console with one port.
pub struct VirtioConsole {
    backend: Box<dyn CharBackend>,
    input: Arc<ConsoleInput>,
}

impl VirtioConsole {
    /// A console whose output goes to `backend` and whose input comes from `input`.
    pub fn new(backend: Box<dyn CharBackend>, input: Arc<ConsoleInput>) -> VirtioConsole {
        VirtioConsole { backend, input }
    }
}

impl Duplex for VirtioConsole {
    /// Fills posted receive buffers with waiting input, one chain per buffer as far as it goes.
    fn receive(&mut self, queue: &mut Queue, mem: &dyn GuestMemory) -> Result<(), QueueError> {
        let mut input = self.input.lock();
        while !input.is_empty() {
            let Some(chain) = queue.pop(mem)? else { break };
            let room = chain.writable_len();
            if room == 0 {
                return Err(QueueError::Request("virtio-console receive buffer is not writable"));
            }
            let n = input.len().min(usize::try_from(room).unwrap_or(usize::MAX));
            let data: Vec<u8> = input.drain(..n).collect();
            self.input.room.notify_all();
            chain.write(mem, 0, &data)?;
            queue.push_used(mem, chain.head, n as u32)?;
        }
        Ok(())
    }

    /// Sends every transmit chain's readable bytes to the backend.
    fn transmit(&mut self, queue: &mut Queue, mem: &dyn GuestMemory) -> Result<(), QueueError> {
        let mut buf = Vec::new();
        while let Some(chain) = queue.pop(mem)? {
            let len = chain.readable_len();
            let mut at = 0u64;
            while at < len {
                buf.resize((len - at).min(TX_CHUNK as u64) as usize, 0);
                let n = chain.read(mem, at, &mut buf)?;
                self.backend.write(&buf[..n]);
                at += n as u64;
            }
            queue.push_used(mem, chain.head, 0)?;
        }
        self.backend.flush();
        Ok(())
    }
}

impl VirtioDevice for VirtioConsole {
    fn device_type(&self) -> u32 {
        DEVICE_CONSOLE
    }

    fn features(&self) -> u64 {
        F_EMERG_WRITE
    }

    fn queue_max_sizes(&self) -> Vec<u16> {
        vec![QUEUE_SIZE, QUEUE_SIZE]
    }

    fn read_config(&self, offset: usize, data: &mut [u8]) {
        // cols, rows (no size: 0), max_nr_ports (1), emerg_wr (reads 0).
        let mut c = [0u8; 12];
        c[4..8].copy_from_slice(&1u32.to_le_bytes());
        read_config_image(&c, offset, data);
    }

    fn write_config(&mut self, offset: usize, data: &[u8]) {
        match (offset, data.first()) {
            (EMERG_WR, Some(&byte)) => {
                self.backend.write(&[byte]);
                self.backend.flush();
            }
            _ => tracing::warn!(target: "guest_errors", "virtio-console: write of {} bytes to read-only config at {offset:#x}", data.len()),
        }
    }

    fn process(&mut self, index: usize, queue: &mut Queue, mem: &dyn GuestMemory) -> Result<(), QueueError> {
        process_duplex(self, index, queue, mem)
    }

    fn host_queues(&self) -> &'static [usize] {
        &[RX_QUEUE]
    }
}

#[cfg(test)]
mod tests;
