//! virtio-blk (virtio 1.x section 5.2): one request queue over a [`BlockBackend`].
//!
//! Requests are served synchronously when the driver notifies the queue. A flush returns
//! only once the backend has made earlier writes durable (`fdatasync` for raw files), so a
//! guest `sync` that returned survives a host crash.

use super::device::{read_config_image, VirtioDevice};
use super::queue::{clip, Chain, Queue, QueueError, Segment, MAX_QUEUE_SIZE};
use super::DEVICE_BLOCK;
use crate::block::BlockBackend;
use crate::dma::GuestMemory;

/// Feature: `seg_max` is valid.
pub const F_SEG_MAX: u64 = 1 << 2;
/// Feature: the disk is read-only.
pub const F_RO: u64 = 1 << 5;
/// Feature: `blk_size` is valid.
pub const F_BLK_SIZE: u64 = 1 << 6;
/// Feature: flush requests (and a volatile write cache).
pub const F_FLUSH: u64 = 1 << 9;
/// Feature: discard requests.
pub const F_DISCARD: u64 = 1 << 13;
/// Feature: write-zeroes requests.
pub const F_WRITE_ZEROES: u64 = 1 << 14;

/// Request type: read.
pub const T_IN: u32 = 0;
/// Request type: write.
pub const T_OUT: u32 = 1;
/// Request type: flush.
pub const T_FLUSH: u32 = 4;
/// Request type: identify (20-byte serial).
pub const T_GET_ID: u32 = 8;
/// Request type: discard.
pub const T_DISCARD: u32 = 11;
/// Request type: write zeroes.
pub const T_WRITE_ZEROES: u32 = 13;

/// Status: success.
pub const S_OK: u8 = 0;
/// Status: I/O error.
pub const S_IOERR: u8 = 1;
/// Status: unsupported request.
pub const S_UNSUPP: u8 = 2;

/// Sector size of the protocol.
pub const SECTOR: u64 = 512;
/// Longest serial number.
pub const ID_BYTES: usize = 20;
/// Largest discard or write-zeroes range, in sectors.
const MAX_DISCARD_SECTORS: u32 = 0x3f_ffff;
/// Segments per discard or write-zeroes request.
const MAX_DISCARD_SEG: u32 = 1;
/// Discard flag: the range may be deallocated (write zeroes).
const DISCARD_F_UNMAP: u32 = 1;
/// Size of the configuration structure.
const CONFIG_LEN: usize = 60;

/// Largest bounce buffer: a guest buffer is copied in pieces of at most this size, so a
/// huge descriptor cannot make the host allocate as much as the guest has RAM.
const CHUNK: u32 = 256 << 10;

/// `seg` cut into pieces of at most [`CHUNK`] bytes.
fn chunks(seg: Segment) -> impl Iterator<Item = Segment> {
    (0..seg.len.div_ceil(CHUNK)).map(move |i| {
        let off = i * CHUNK;
        Segment { addr: seg.addr + u64::from(off), len: (seg.len - off).min(CHUNK) }
    })
}

/// `segs` (each at most [`CHUNK`] bytes) in consecutive runs of at most [`CHUNK`] bytes in
/// all: each run is one host read or write (Linux hands over 4 KiB pages, so a 1 MiB request
/// is 256 segments: one system call each was half the time of a cached read).
fn runs(segs: &[Segment]) -> impl Iterator<Item = (&[Segment], u32)> {
    let mut rest = segs;
    std::iter::from_fn(move || {
        let mut n = 0;
        let mut total = 0u32;
        while n < rest.len() && (n == 0 || total + rest[n].len <= CHUNK) {
            total += rest[n].len;
            n += 1;
        }
        let (run, tail) = rest.split_at(n);
        rest = tail;
        (n > 0).then_some((run, total))
    })
}

/// A virtio block device.
pub struct VirtioBlk {
    disk: Box<dyn BlockBackend>,
    serial: [u8; ID_BYTES],
    buf: Vec<u8>,
}

impl VirtioBlk {
    /// A device serving `disk`, reporting `serial` (truncated to 20 bytes) to GET_ID.
    pub fn new(disk: Box<dyn BlockBackend>, serial: &str) -> VirtioBlk {
        let mut s = [0u8; ID_BYTES];
        let n = serial.len().min(ID_BYTES);
        s[..n].copy_from_slice(&serial.as_bytes()[..n]);
        VirtioBlk { disk, serial: s, buf: Vec::new() }
    }

    fn config_image(&self) -> [u8; CONFIG_LEN] {
        let mut c = [0u8; CONFIG_LEN];
        let mut put = |at: usize, b: &[u8]| c[at..at + b.len()].copy_from_slice(b);
        put(0, &(self.disk.size() / SECTOR).to_le_bytes()); // capacity
        put(12, &u32::from(MAX_QUEUE_SIZE - 2).to_le_bytes()); // seg_max
        put(20, &(SECTOR as u32).to_le_bytes()); // blk_size
        put(34, &1u16.to_le_bytes()); // num_queues
        put(36, &MAX_DISCARD_SECTORS.to_le_bytes());
        put(40, &MAX_DISCARD_SEG.to_le_bytes());
        put(44, &1u32.to_le_bytes()); // discard_sector_alignment
        put(48, &MAX_DISCARD_SECTORS.to_le_bytes()); // max_write_zeroes_sectors
        put(52, &MAX_DISCARD_SEG.to_le_bytes());
        put(56, &[1]); // write_zeroes_may_unmap
        c
    }

    /// Byte range of `len` bytes at `sector`, if it lies within the disk.
    fn range(&self, sector: u64, len: u64) -> Option<u64> {
        let start = sector.checked_mul(SECTOR)?;
        (len.is_multiple_of(SECTOR) && start.checked_add(len)? <= self.disk.size()).then_some(start)
    }

    /// Serves one request; returns the bytes written into the chain (data plus status).
    fn handle(&mut self, chain: &Chain, mem: &dyn GuestMemory) -> Result<u32, QueueError> {
        let mut hdr = [0u8; 16];
        if chain.read(mem, 0, &mut hdr)? < hdr.len() {
            return Err(QueueError::Request("virtio-blk header shorter than 16 bytes"));
        }
        let Some(status_at) = chain.writable_len().checked_sub(1) else {
            return Err(QueueError::Request("virtio-blk request without a status byte"));
        };
        let ty = u32::from_le_bytes(hdr[0..4].try_into().unwrap_or_default());
        let sector = u64::from_le_bytes(hdr[8..16].try_into().unwrap_or_default());
        let (status, written) = match ty {
            T_IN => self.read(chain, mem, sector, status_at)?,
            T_OUT => (self.write(chain, mem, sector)?, 0),
            T_FLUSH => (if self.disk.flush().is_ok() { S_OK } else { S_IOERR }, 0),
            T_GET_ID => {
                let n = (ID_BYTES as u64).min(status_at) as usize;
                chain.write(mem, 0, &self.serial[..n])?;
                (S_OK, n as u32)
            }
            T_DISCARD | T_WRITE_ZEROES => (self.discard(chain, mem, ty)?, 0),
            _ => {
                tracing::warn!(target: "guest_errors", "virtio-blk: unsupported request type {ty}");
                (S_UNSUPP, 0)
            }
        };
        chain.write(mem, status_at, &[status])?;
        Ok(written + 1)
    }

    fn read(&mut self, chain: &Chain, mem: &dyn GuestMemory, sector: u64, len: u64) -> Result<(u8, u32), QueueError> {
        let Some(mut at) = self.range(sector, len) else {
            tracing::warn!(target: "guest_errors", "virtio-blk: read of {len} bytes at sector {sector} is outside the disk");
            return Ok((S_IOERR, 0));
        };
        let mut done = 0u32;
        let segs: Vec<Segment> = clip(&chain.writable, 0, len).flat_map(chunks).collect();
        let mut ranges = Vec::new();
        for (run, total) in runs(&segs) {
            // Straight from the file into guest RAM: one vectored read per run, no bounce copy.
            ranges.clear();
            ranges.extend(run.iter().map(|s| (s.addr, s.len as usize)));
            let disk = &mut self.disk;
            if let Err(e) = mem.fill(&ranges, &mut |bufs| disk.read_vectored_at(at, bufs))? {
                tracing::warn!("virtio-blk: read at {at:#x} failed: {e}");
                return Ok((S_IOERR, done));
            }
            at += u64::from(total);
            done += total;
        }
        Ok((S_OK, done))
    }

    fn write(&mut self, chain: &Chain, mem: &dyn GuestMemory, sector: u64) -> Result<u8, QueueError> {
        let len = chain.readable_len() - 16;
        if self.disk.read_only() {
            return Ok(S_IOERR);
        }
        let Some(mut at) = self.range(sector, len) else {
            tracing::warn!(target: "guest_errors", "virtio-blk: write of {len} bytes at sector {sector} is outside the disk");
            return Ok(S_IOERR);
        };
        let segs: Vec<Segment> = clip(&chain.readable, 16, len).flat_map(chunks).collect();
        for (run, total) in runs(&segs) {
            self.buf.resize(total as usize, 0);
            let mut off = 0;
            for seg in run {
                mem.read(seg.addr, &mut self.buf[off..off + seg.len as usize])?;
                off += seg.len as usize;
            }
            if let Err(e) = self.disk.write_at(at, &self.buf) {
                tracing::warn!("virtio-blk: write at {at:#x} failed: {e}");
                return Ok(S_IOERR);
            }
            at += u64::from(total);
        }
        Ok(S_OK)
    }

    /// Discard and write zeroes: both leave the ranges reading as zeros.
    fn discard(&mut self, chain: &Chain, mem: &dyn GuestMemory, ty: u32) -> Result<u8, QueueError> {
        let segs = (chain.readable_len() - 16) / 16;
        if segs == 0 || segs > u64::from(MAX_DISCARD_SEG) {
            return Ok(S_UNSUPP);
        }
        if self.disk.read_only() {
            return Ok(S_IOERR);
        }
        for i in 0..segs {
            let mut s = [0u8; 16];
            chain.read(mem, 16 + 16 * i, &mut s)?;
            let sector = u64::from_le_bytes(s[0..8].try_into().unwrap_or_default());
            let count = u32::from_le_bytes(s[8..12].try_into().unwrap_or_default());
            let flags = u32::from_le_bytes(s[12..16].try_into().unwrap_or_default());
            let allowed = if ty == T_WRITE_ZEROES { DISCARD_F_UNMAP } else { 0 };
            if flags & !allowed != 0 || count > MAX_DISCARD_SECTORS {
                return Ok(S_UNSUPP);
            }
            let len = u64::from(count) * SECTOR;
            let Some(at) = self.range(sector, len) else { return Ok(S_IOERR) };
            if self.disk.discard(at, len).is_err() {
                return Ok(S_IOERR);
            }
        }
        Ok(S_OK)
    }
}

impl VirtioDevice for VirtioBlk {
    fn device_type(&self) -> u32 {
        DEVICE_BLOCK
    }

    fn features(&self) -> u64 {
        let base = F_SEG_MAX | F_BLK_SIZE | F_FLUSH;
        if self.disk.read_only() {
            base | F_RO
        } else {
            base | F_DISCARD | F_WRITE_ZEROES
        }
    }

    fn queue_max_sizes(&self) -> Vec<u16> {
        vec![MAX_QUEUE_SIZE]
    }

    fn read_config(&self, offset: usize, data: &mut [u8]) {
        read_config_image(&self.config_image(), offset, data);
    }

    fn process(&mut self, _index: usize, queue: &mut Queue, mem: &dyn GuestMemory) -> Result<(), QueueError> {
        while let Some(chain) = queue.pop(mem)? {
            let written = self.handle(&chain, mem)?;
            queue.push_used(mem, chain.head, written)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

