//! virtio-rng (virtio 1.x section 5.4): one queue whose writable buffers the device fills
//! with entropy from an injected source.

use super::device::VirtioDevice;
use super::queue::{Queue, QueueError};
use super::DEVICE_RNG;
use crate::dma::GuestMemory;

/// Bytes handed out per request at most.
const MAX_REQUEST: usize = 64 << 10;

/// Fills a buffer with entropy.
pub type EntropySource = Box<dyn FnMut(&mut [u8]) + Send>;

/// A virtio entropy device.
pub struct VirtioRng {
    source: EntropySource,
}

impl VirtioRng {
    /// A device drawing from `source` (inject a seeded generator for deterministic runs).
    pub fn new(source: EntropySource) -> VirtioRng {
        VirtioRng { source }
    }

    /// A device drawing from the host's `getrandom`.
    pub fn host() -> VirtioRng {
        VirtioRng::new(Box::new(|buf: &mut [u8]| {
            let mut done = 0;
            while done < buf.len() {
                // SAFETY: writes at most the remaining length into our own buffer.
                let n = unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
                if n <= 0 {
                    break;
                }
                done += n as usize;
            }
        }))
    }
}

impl VirtioDevice for VirtioRng {
    fn device_type(&self) -> u32 {
        DEVICE_RNG
    }

    fn features(&self) -> u64 {
        0
    }

    fn queue_max_sizes(&self) -> Vec<u16> {
        vec![64]
    }

    fn read_config(&self, _offset: usize, data: &mut [u8]) {
        data.fill(0);
    }

    fn process(&mut self, _index: usize, queue: &mut Queue, mem: &dyn GuestMemory) -> Result<(), QueueError> {
        while let Some(chain) = queue.pop(mem)? {
            let len = chain.writable_len().min(MAX_REQUEST as u64) as usize;
            let mut buf = vec![0u8; len];
            (self.source)(&mut buf);
            let n = chain.write(mem, 0, &buf)?;
            queue.push_used(mem, chain.head, n as u32)?;
        }
        Ok(())
    }
}
