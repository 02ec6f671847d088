//! A minimal virtio driver over test memory, shared by the device and transport tests.

use super::queue::{DESC_F_NEXT, DESC_F_WRITE};
use crate::block::BlockBackend;
use crate::dma::testing::VecMemory;
use crate::dma::GuestMemory;
use std::io;
use std::sync::{Arc, Mutex};

pub const DESC: u64 = 0x1000;
pub const AVAIL: u64 = 0x2000;
pub const USED: u64 = 0x3000;
pub const DATA: u64 = 0x10000;
pub const QSIZE: u16 = 16;

/// Driver initialisation up to FEATURES_OK, taking every feature the device offers.
pub fn accept_all_features(core: &mut super::VirtioCore) {
    use super::{STATUS_ACKNOWLEDGE, STATUS_DRIVER, STATUS_FEATURES_OK};
    core.set_status(STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    for sel in 0..2 {
        core.device_features_sel = sel;
        core.driver_features_sel = sel;
        let w = core.device_features_word();
        core.set_driver_features_word(w);
    }
    core.set_status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
}

/// Points queue `i` of `core` at `drivers[i]`'s rings, enables them all and sets DRIVER_OK
/// (after [`accept_all_features`]).
pub fn start(core: &mut super::VirtioCore, drivers: &[&Driver]) {
    use super::{STATUS_ACKNOWLEDGE, STATUS_DRIVER, STATUS_DRIVER_OK, STATUS_FEATURES_OK};
    for (i, d) in drivers.iter().enumerate() {
        core.set_queue_sel(i as u16);
        let q = core.queue_mut().unwrap();
        q.size = QSIZE;
        q.desc_table = d.desc;
        q.avail_ring = d.avail;
        q.used_ring = d.used;
        core.enable_queue(true);
    }
    core.set_status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
}

/// The driver side of one queue.
pub struct Driver {
    pub mem: Arc<VecMemory>,
    /// Ring addresses of this queue.
    pub desc: u64,
    pub avail: u64,
    pub used: u64,
    next_desc: u16,
    avail_idx: u16,
    data_top: u64,
}

/// A buffer in a request: bytes the device reads, or a writable area of this length.
pub enum Buf<'a> {
    Out(&'a [u8]),
    In(usize),
}

impl Driver {
    pub fn new() -> Driver {
        Driver { mem: Arc::new(VecMemory::new(0, 0x100000)), desc: DESC, avail: AVAIL, used: USED, next_desc: 0, avail_idx: 0, data_top: DATA }
    }

    /// A second queue in the same memory, its rings 0x4000 above the first's and its
    /// buffers from 0x80000.
    pub fn second(&self) -> Driver {
        let up = 0x4000;
        Driver { mem: self.mem.clone(), desc: DESC + up, avail: AVAIL + up, used: USED + up, next_desc: 0, avail_idx: 0, data_top: 0x80000 }
    }

    /// Places `bufs` as one chain, makes it available; returns each buffer's address.
    pub fn submit(&mut self, bufs: &[Buf]) -> Vec<u64> {
        let head = self.next_desc;
        let mut addrs = Vec::new();
        for (i, b) in bufs.iter().enumerate() {
            let idx = (self.next_desc + i as u16) % QSIZE;
            let (len, flags) = match b {
                Buf::Out(d) => (d.len(), 0),
                Buf::In(n) => (*n, DESC_F_WRITE),
            };
            let addr = self.data_top;
            self.data_top += (len as u64 + 15) & !15;
            if let Buf::Out(d) = b {
                self.mem.write(addr, d).unwrap();
            }
            let next = (idx + 1) % QSIZE;
            let flags = flags | if i + 1 < bufs.len() { DESC_F_NEXT } else { 0 };
            self.raw_desc(idx, addr, len as u32, flags, next);
            addrs.push(addr);
        }
        self.next_desc = (self.next_desc + bufs.len() as u16) % QSIZE;
        self.publish(head);
        addrs
    }

    pub fn raw_desc(&self, idx: u16, addr: u64, len: u32, flags: u16, next: u16) {
        let mut d = [0u8; 16];
        d[..8].copy_from_slice(&addr.to_le_bytes());
        d[8..12].copy_from_slice(&len.to_le_bytes());
        d[12..14].copy_from_slice(&flags.to_le_bytes());
        d[14..].copy_from_slice(&next.to_le_bytes());
        self.mem.write(self.desc + 16 * u64::from(idx), &d).unwrap();
    }

    pub fn publish(&mut self, head: u16) {
        self.mem.write_le16(self.avail + 4 + 2 * u64::from(self.avail_idx % QSIZE), head).unwrap();
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.mem.write_le16(self.avail + 2, self.avail_idx).unwrap();
    }

    /// (used index, last used element's (id, len)).
    pub fn used(&self) -> (u16, (u32, u32)) {
        let idx = self.mem.read_le16(self.used + 2).unwrap();
        let at = self.used + 4 + 8 * u64::from(idx.wrapping_sub(1) % QSIZE);
        (idx, (self.mem.read_le32(at).unwrap(), self.mem.read_le32(at + 4).unwrap()))
    }

    pub fn bytes(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut b = vec![0; len];
        self.mem.read(addr, &mut b).unwrap();
        b
    }
}

/// An in-memory disk that counts flushes.
#[derive(Clone)]
pub struct MemDisk {
    pub data: Arc<Mutex<Vec<u8>>>,
    pub flushes: Arc<Mutex<u32>>,
    pub read_only: bool,
}

impl MemDisk {
    pub fn new(len: usize, read_only: bool) -> MemDisk {
        MemDisk { data: Arc::new(Mutex::new((0..len).map(|i| (i / 512) as u8).collect())), flushes: Arc::default(), read_only }
    }
}

impl BlockBackend for MemDisk {
    fn size(&self) -> u64 {
        self.data.lock().unwrap().len() as u64
    }
    fn read_only(&self) -> bool {
        self.read_only
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let d = self.data.lock().unwrap();
        buf.copy_from_slice(&d[offset as usize..offset as usize + buf.len()]);
        Ok(())
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.data.lock().unwrap()[offset as usize..offset as usize + data.len()].copy_from_slice(data);
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        *self.flushes.lock().unwrap() += 1;
        Ok(())
    }
    fn discard(&mut self, offset: u64, len: u64) -> io::Result<()> {
        self.data.lock().unwrap()[offset as usize..(offset + len) as usize].fill(0);
        Ok(())
    }
}

/// A block request header.
pub fn blk_header(ty: u32, sector: u64) -> Vec<u8> {
    let mut h = vec![0u8; 16];
    h[..4].copy_from_slice(&ty.to_le_bytes());
    h[8..].copy_from_slice(&sector.to_le_bytes());
    h
}
