//! Split virtqueues (virtio 1.x section 2.7): the driver's descriptor table and available
//! ring, the device's used ring, indirect descriptors and event-index notification
//! suppression.
//!
//! Everything here reads guest memory the guest controls, so every address is checked
//! through [`GuestMemory`] and every malformed structure (out-of-RAM buffer, descriptor loop,
//! chain longer than the queue, nested indirect table, ...) becomes a [`QueueError`], which
//! the transport turns into the device's error state. Nothing panics.

use crate::dma::{DmaError, GuestMemory};
use std::sync::atomic::{fence, Ordering};

/// Descriptor flag: the chain continues at `next`.
pub const DESC_F_NEXT: u16 = 1;
/// Descriptor flag: device-writable buffer.
pub const DESC_F_WRITE: u16 = 2;
/// Descriptor flag: the buffer is a table of descriptors.
pub const DESC_F_INDIRECT: u16 = 4;
/// Available ring flag: the driver does not want interrupts (without event index).
const AVAIL_F_NO_INTERRUPT: u16 = 1;
/// Largest queue ferrite offers.
pub const MAX_QUEUE_SIZE: u16 = 256;
/// Total length the device accepts for one chain (virtio-blk requests are far smaller).
const MAX_CHAIN_BYTES: u64 = 1 << 30;

/// A malformed queue or chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// A ring or buffer lies outside RAM.
    #[error(transparent)]
    Dma(#[from] DmaError),
    /// The available index moved by more than the queue size.
    #[error("available index {avail} is more than the queue size ahead of {seen}")]
    AvailIndex {
        /// Driver's index.
        avail: u16,
        /// Device's next index.
        seen: u16,
    },
    /// A head or `next` index past the table.
    #[error("descriptor index {0} is out of range")]
    Index(u16),
    /// More descriptors than the table holds: a loop.
    #[error("descriptor chain loops or is longer than its table")]
    Loop,
    /// Indirect descriptors the driver did not negotiate, nested, or combined with NEXT.
    #[error("invalid indirect descriptor: {0}")]
    Indirect(&'static str),
    /// A readable buffer after a writable one.
    #[error("device-readable descriptor after a device-writable one")]
    Order,
    /// The chain's buffers add up to more than the device accepts.
    #[error("descriptor chain is longer than {MAX_CHAIN_BYTES} bytes")]
    TooLong,
    /// The device could not make sense of the request.
    #[error("malformed request: {0}")]
    Request(&'static str),
}

/// One buffer of a chain, already checked to lie in RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Guest physical address.
    pub addr: u64,
    /// Length in bytes.
    pub len: u32,
}

/// A descriptor chain popped from the available ring.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chain {
    /// Head descriptor index (what goes back in the used ring).
    pub head: u16,
    /// Device-readable buffers, in order.
    pub readable: Vec<Segment>,
    /// Device-writable buffers, in order.
    pub writable: Vec<Segment>,
}

impl Chain {
    /// Total bytes of the readable buffers.
    pub fn readable_len(&self) -> u64 {
        self.readable.iter().map(|s| u64::from(s.len)).sum()
    }

    /// Total bytes of the writable buffers.
    pub fn writable_len(&self) -> u64 {
        self.writable.iter().map(|s| u64::from(s.len)).sum()
    }

    /// Copies readable bytes starting `offset` bytes into the readable part into `buf`;
    /// returns how many there were (fewer than asked at the end of the chain).
    pub fn read(&self, mem: &dyn GuestMemory, offset: u64, buf: &mut [u8]) -> Result<usize, DmaError> {
        let mut done = 0;
        for s in clip(&self.readable, offset, buf.len() as u64) {
            let n = s.len as usize;
            mem.read(s.addr, &mut buf[done..done + n])?;
            done += n;
        }
        Ok(done)
    }

    /// Copies `data` into the writable part starting `offset` bytes in; returns how many
    /// bytes fitted.
    pub fn write(&self, mem: &dyn GuestMemory, offset: u64, data: &[u8]) -> Result<usize, DmaError> {
        let mut done = 0;
        for s in clip(&self.writable, offset, data.len() as u64) {
            let n = s.len as usize;
            mem.write(s.addr, &data[done..done + n])?;
            done += n;
        }
        Ok(done)
    }
}

/// The pieces of `segs` covering `len` bytes from byte `offset` of their concatenation.
pub fn clip(segs: &[Segment], offset: u64, len: u64) -> impl Iterator<Item = Segment> + '_ {
    let mut skip = offset;
    let mut left = len;
    segs.iter().filter_map(move |s| {
        let slen = u64::from(s.len);
        if skip >= slen {
            skip -= slen;
            return None;
        }
        if left == 0 {
            return None;
        }
        let n = (slen - skip).min(left);
        let piece = Segment { addr: s.addr + skip, len: n as u32 };
        skip = 0;
        left -= n;
        Some(piece)
    })
}

/// The guest-programmed state of one split virtqueue.
#[derive(Clone, Debug)]
pub struct Queue {
    /// Largest size the device offers.
    pub max_size: u16,
    /// Size the driver chose (a power of two up to `max_size`).
    pub size: u16,
    /// Driver has enabled the queue.
    pub ready: bool,
    /// Descriptor table address.
    pub desc_table: u64,
    /// Available ring ("driver area") address.
    pub avail_ring: u64,
    /// Used ring ("device area") address.
    pub used_ring: u64,
    /// VIRTIO_F_RING_EVENT_IDX negotiated.
    pub event_idx: bool,
    /// VIRTIO_F_RING_INDIRECT_DESC negotiated.
    pub indirect: bool,
    next_avail: u16,
    next_used: u16,
    /// Used index at the last interrupt, for event-index suppression.
    signalled_used: Option<u16>,
}

impl Queue {
    /// A queue offering up to `max_size` entries, in its reset state.
    pub fn new(max_size: u16) -> Queue {
        Queue {
            max_size,
            size: max_size,
            ready: false,
            desc_table: 0,
            avail_ring: 0,
            used_ring: 0,
            event_idx: false,
            indirect: false,
            next_avail: 0,
            next_used: 0,
            signalled_used: None,
        }
    }

    /// Back to the reset state (device reset or queue reset).
    pub fn reset(&mut self) {
        *self = Queue::new(self.max_size);
    }

    /// Whether the driver's configuration is usable: a power-of-two size within bounds.
    pub fn is_valid(&self) -> bool {
        self.size.is_power_of_two() && self.size <= self.max_size
    }

    /// The next available chain, if the driver has made one available.
    pub fn pop(&mut self, mem: &dyn GuestMemory) -> Result<Option<Chain>, QueueError> {
        if !self.ready || !self.is_valid() {
            return Ok(None);
        }
        let avail = mem.read_le16(self.avail_ring + 2)?;
        let pending = avail.wrapping_sub(self.next_avail);
        if pending == 0 {
            return Ok(None);
        }
        if pending > self.size {
            return Err(QueueError::AvailIndex { avail, seen: self.next_avail });
        }
        // Read the ring entry only after seeing the index that covers it.
        fence(Ordering::Acquire);
        let slot = u64::from(self.next_avail % self.size);
        let head = mem.read_le16(self.avail_ring + 4 + 2 * slot)?;
        let chain = self.walk(mem, head)?;
        self.next_avail = self.next_avail.wrapping_add(1);
        if self.event_idx {
            // avail_event: kick us again once the driver moves past what we have taken.
            let at = self.used_ring + 4 + 8 * u64::from(self.size);
            mem.write_le16(at, self.next_avail)?;
        }
        Ok(Some(chain))
    }

    /// The device's used index (entries given back so far, modulo 2^16).
    pub fn used_index(&self) -> u16 {
        self.next_used
    }

    /// Gives back the chain whose head is `head`, with `len` bytes written into it.
    pub fn push_used(&mut self, mem: &dyn GuestMemory, head: u16, len: u32) -> Result<(), QueueError> {
        let slot = u64::from(self.next_used % self.size);
        let at = self.used_ring + 4 + 8 * slot;
        let mut elem = [0u8; 8];
        elem[..4].copy_from_slice(&u32::from(head).to_le_bytes());
        elem[4..].copy_from_slice(&len.to_le_bytes());
        mem.write(at, &elem)?;
        // The element must be visible before the index that publishes it.
        fence(Ordering::Release);
        self.next_used = self.next_used.wrapping_add(1);
        mem.write_le16(self.used_ring + 2, self.next_used)?;
        Ok(())
    }

    /// Whether the driver wants an interrupt for the used entries added since the last one.
    pub fn needs_interrupt(&mut self, mem: &dyn GuestMemory) -> Result<bool, QueueError> {
        // Our used-index store must be visible before we read the driver's suppression.
        fence(Ordering::SeqCst);
        let new = self.next_used;
        if !self.event_idx {
            let flags = mem.read_le16(self.avail_ring)?;
            return Ok(flags & AVAIL_F_NO_INTERRUPT == 0);
        }
        let old = self.signalled_used.replace(new);
        let Some(old) = old else { return Ok(true) };
        if old == new {
            return Ok(false);
        }
        let used_event = mem.read_le16(self.avail_ring + 4 + 2 * u64::from(self.size))?;
        // vring_need_event: did `new` pass `used_event` since `old`?
        Ok(new.wrapping_sub(used_event).wrapping_sub(1) < new.wrapping_sub(old))
    }

    /// Follows the chain starting at descriptor `head`.
    fn walk(&self, mem: &dyn GuestMemory, head: u16) -> Result<Chain, QueueError> {
        let mut chain = Chain { head, ..Chain::default() };
        let mut total = 0u64;
        let mut table = self.desc_table;
        let mut count = u32::from(self.size);
        let mut index = head;
        let mut seen = 0u32;
        let mut in_indirect = false;
        loop {
            if u32::from(index) >= count {
                return Err(QueueError::Index(index));
            }
            seen += 1;
            if seen > count {
                return Err(QueueError::Loop);
            }
            let d = read_desc(mem, table + 16 * u64::from(index))?;
            if d.flags & DESC_F_INDIRECT != 0 {
                if !self.indirect {
                    return Err(QueueError::Indirect("not negotiated"));
                }
                if in_indirect {
                    return Err(QueueError::Indirect("nested table"));
                }
                if d.flags & DESC_F_NEXT != 0 {
                    return Err(QueueError::Indirect("combined with NEXT"));
                }
                if d.len == 0 || d.len % 16 != 0 || d.len / 16 > 0xffff {
                    return Err(QueueError::Indirect("bad table length"));
                }
                if !mem.is_ram(d.addr, u64::from(d.len)) {
                    return Err(DmaError { addr: d.addr, len: u64::from(d.len) }.into());
                }
                in_indirect = true;
                table = d.addr;
                count = d.len / 16;
                index = 0;
                seen = 0;
                continue;
            }
            if !mem.is_ram(d.addr, u64::from(d.len)) {
                return Err(DmaError { addr: d.addr, len: u64::from(d.len) }.into());
            }
            total += u64::from(d.len);
            if total > MAX_CHAIN_BYTES {
                return Err(QueueError::TooLong);
            }
            let seg = Segment { addr: d.addr, len: d.len };
            if d.flags & DESC_F_WRITE != 0 {
                chain.writable.push(seg);
            } else if !chain.writable.is_empty() {
                return Err(QueueError::Order);
            } else {
                chain.readable.push(seg);
            }
            if d.flags & DESC_F_NEXT == 0 {
                return Ok(chain);
            }
            index = d.next;
        }
    }
}

struct Desc {
    addr: u64,
    len: u32,
    flags: u16,
    next: u16,
}

fn read_desc(mem: &dyn GuestMemory, at: u64) -> Result<Desc, DmaError> {
    let mut b = [0u8; 16];
    mem.read(at, &mut b)?;
    Ok(Desc {
        addr: u64::from_le_bytes(b[0..8].try_into().unwrap_or_default()),
        len: u32::from_le_bytes(b[8..12].try_into().unwrap_or_default()),
        flags: u16::from_le_bytes([b[12], b[13]]),
        next: u16::from_le_bytes([b[14], b[15]]),
    })
}

#[cfg(test)]
mod tests;
