//! The guest physical address space: RAM and MMIO regions, and which RAM pages hold code.

use crate::memop::bswap_sized;
use crate::mmio::SharedDevice;
use crate::ram::Ram;
use crate::tlb::{PAGE_BITS, PAGE_SIZE};
use crate::{Endian, Error, MemOp, Result};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// What backs a region.
#[derive(Clone)]
pub enum RegionKind {
    /// Guest RAM; `offset` is the region's start within the mapping.
    Ram {
        /// The backing mapping.
        ram: Arc<Ram>,
        /// Offset of the region's first byte in `ram`.
        offset: u64,
        /// Index of the code-page bitmap of this region.
        code_map: usize,
    },
    /// A device's registers, in the device's byte order.
    Mmio {
        /// The device.
        dev: SharedDevice,
        /// Byte order of the device's registers.
        endian: Endian,
    },
}

/// One region of the physical map.
#[derive(Clone)]
struct Region {
    name: String,
    base: u64,
    size: u64,
    kind: RegionKind,
}

/// A region as seen by a lookup.
#[derive(Clone)]
pub struct RegionInfo {
    /// Region name (for `info mtree` and logs).
    pub name: String,
    /// First physical address.
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
    /// What backs it.
    pub kind: RegionKind,
}

/// Per-RAM-region bitmap of pages that hold translated code, and per page a bitmap of its
/// 64-byte lines that do: a store to a code page outside those lines (data next to code, a
/// page reused for data while old translations linger) drops nothing and needs no exit.
struct CodeMap {
    base: u64,
    bits: Vec<AtomicU64>,
    lines: Vec<AtomicU64>,
}

/// Bytes per bit of a page's line bitmap.
const CODE_LINE: u64 = PAGE_SIZE / 64;

/// The bits of a code page's line bitmap (see [`AddressSpace::mark_code`]) for the bytes
/// `[addr, addr + len)` that fall in `addr`'s page.
pub fn code_line_mask(addr: u64, len: u64) -> u64 {
    let off = addr & (PAGE_SIZE - 1);
    let end = (off + len.max(1)).min(PAGE_SIZE);
    let (first, last) = (off / CODE_LINE, (end - 1) / CODE_LINE);
    (u64::MAX >> (63 - last)) & (u64::MAX << first)
}

/// A machine's guest physical address space.
///
/// Shared by all vCPUs and DMA-capable devices. Regions may be added or removed at run time
/// (PCI windows); whoever does so must flush the soft TLBs.
pub struct AddressSpace {
    regions: RwLock<Vec<Region>>,
    code_maps: RwLock<Vec<CodeMap>>,
    dirty_code: Mutex<Vec<(u64, u64)>>,
    has_dirty_code: AtomicBool,
}

impl Default for AddressSpace {
    fn default() -> Self {
        Self::new()
    }
}

impl AddressSpace {
    /// An empty address space: every access is unassigned.
    pub fn new() -> AddressSpace {
        AddressSpace {
            regions: RwLock::new(Vec::new()),
            code_maps: RwLock::new(Vec::new()),
            dirty_code: Mutex::new(Vec::new()),
            has_dirty_code: AtomicBool::new(false),
        }
    }

    fn insert(&self, region: Region) -> Result<()> {
        if region.base % PAGE_SIZE != 0 && matches!(region.kind, RegionKind::Ram { .. }) {
            return Err(Error::Misaligned { name: region.name, base: region.base, size: region.size, align: PAGE_SIZE });
        }
        let mut regions = self.regions.write().unwrap();
        let end = region.base + region.size;
        if let Some(old) = regions.iter().find(|r| region.base < r.base + r.size && r.base < end) {
            return Err(Error::Overlap { new: region.name, old: old.name.clone(), base: region.base, size: region.size });
        }
        let pos = regions.partition_point(|r| r.base < region.base);
        regions.insert(pos, region);
        Ok(())
    }

    /// Maps `ram` (all of it) at physical `base`.
    pub fn add_ram(&self, name: &str, base: u64, ram: Arc<Ram>) -> Result<()> {
        let size = ram.len() as u64;
        if size % PAGE_SIZE != 0 {
            return Err(Error::Misaligned { name: name.into(), base, size, align: PAGE_SIZE });
        }
        let code_map = {
            let mut maps = self.code_maps.write().unwrap();
            let words = (size >> PAGE_BITS).div_ceil(64) as usize;
            let pages = (size >> PAGE_BITS) as usize;
            maps.push(CodeMap {
                base,
                bits: (0..words).map(|_| AtomicU64::new(0)).collect(),
                lines: (0..pages).map(|_| AtomicU64::new(0)).collect(),
            });
            maps.len() - 1
        };
        self.insert(Region { name: name.into(), base, size, kind: RegionKind::Ram { ram, offset: 0, code_map } })
    }

    /// Maps a device's registers at `base`, `size` bytes, in byte order `endian`.
    pub fn add_mmio(&self, name: &str, base: u64, size: u64, dev: SharedDevice, endian: Endian) -> Result<()> {
        self.insert(Region { name: name.into(), base, size, kind: RegionKind::Mmio { dev, endian } })
    }

    /// Removes the region called `name`, if present (PCI windows being reprogrammed).
    pub fn remove(&self, name: &str) -> bool {
        let mut regions = self.regions.write().unwrap();
        let before = regions.len();
        regions.retain(|r| r.name != name);
        before != regions.len()
    }

    /// The region containing `addr`, if any.
    pub fn lookup(&self, addr: u64) -> Option<RegionInfo> {
        let regions = self.regions.read().unwrap();
        find(&regions, addr).map(|r| RegionInfo { name: r.name.clone(), base: r.base, size: r.size, kind: r.kind.clone() })
    }

    /// All regions, in address order (for `info mtree`).
    pub fn regions(&self) -> Vec<RegionInfo> {
        let regions = self.regions.read().unwrap();
        regions
            .iter()
            .map(|r| RegionInfo { name: r.name.clone(), base: r.base, size: r.size, kind: r.kind.clone() })
            .collect()
    }

    /// Host pointer to `len` bytes of RAM at `addr`, if they lie in one RAM region.
    pub fn ram_ptr(&self, addr: u64, len: u64) -> Option<*mut u8> {
        let regions = self.regions.read().unwrap();
        let r = find(&regions, addr)?;
        let RegionKind::Ram { ram, offset, .. } = &r.kind else { return None };
        let off = addr - r.base;
        if off.checked_add(len)? > r.size {
            return None;
        }
        // SAFETY: off + len is within the region, which lies within the mapping.
        Some(unsafe { ram.host_ptr().add((offset + off) as usize) })
    }

    /// Copies guest RAM at `addr` into `out` (loaders, DMA, debugger). Fails if not all RAM.
    pub fn read_ram(&self, addr: u64, out: &mut [u8]) -> Result<()> {
        let p = self.ram_ptr(addr, out.len() as u64).ok_or(Error::NotRam { addr, len: out.len() as u64 })?;
        // SAFETY: ram_ptr checked the range.
        unsafe { std::ptr::copy_nonoverlapping(p, out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    /// Copies `data` into guest RAM at `addr`, dropping translations of pages it overwrites.
    pub fn write_ram(&self, addr: u64, data: &[u8]) -> Result<()> {
        let p = self.ram_ptr(addr, data.len() as u64).ok_or(Error::NotRam { addr, len: data.len() as u64 })?;
        // SAFETY: ram_ptr checked the range.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
        self.note_ram_written(addr, data.len() as u64);
        Ok(())
    }

    /// Notes that the host wrote `len` bytes of RAM at `addr` (a device's DMA through a
    /// pointer from [`Self::ram_ptr`]): translations of code pages among them are dropped.
    pub fn note_ram_written(&self, addr: u64, len: u64) {
        if len == 0 {
            return;
        }
        let mut page = addr >> PAGE_BITS << PAGE_BITS;
        while page < addr + len {
            if self.is_code_page(page) {
                self.note_code_write(page);
            }
            page += PAGE_SIZE;
        }
    }

    /// A load of `op.size()` bytes at physical `addr` through the bus (MMIO or RAM), in the
    /// access's byte order; unassigned addresses read 0 and are logged.
    pub fn load(&self, addr: u64, op: MemOp) -> u64 {
        let size = op.size();
        let regions = self.regions.read().unwrap();
        match find(&regions, addr) {
            Some(r) if addr - r.base + size <= r.size => match &r.kind {
                RegionKind::Ram { ram, offset, .. } => {
                    let mut buf = [0u8; 8];
                    ram.read(offset + addr - r.base, &mut buf[..size as usize]);
                    raw_from_bytes(&buf[..size as usize], op.endian())
                }
                RegionKind::Mmio { dev, endian } => {
                    let dev = dev.clone();
                    let endian = *endian;
                    let off = addr - r.base;
                    drop(regions);
                    let v = dev.lock().unwrap().read(off, size as u32);
                    let v = v & size_mask(size);
                    if endian == op.endian() { v } else { bswap_sized(v, size) }
                }
            },
            _ => {
                tracing::warn!(target: "guest_errors", "read of {size} bytes from unassigned physical address {addr:#x}");
                0
            }
        }
    }

    /// A store of `op.size()` bytes at physical `addr` through the bus.
    pub fn store(&self, addr: u64, op: MemOp, value: u64) {
        let size = op.size();
        let regions = self.regions.read().unwrap();
        match find(&regions, addr) {
            Some(r) if addr - r.base + size <= r.size => match &r.kind {
                RegionKind::Ram { .. } => {
                    drop(regions);
                    let bytes = raw_to_bytes(value, size, op.endian());
                    let _ = self.write_ram(addr, &bytes[..size as usize]);
                }
                RegionKind::Mmio { dev, endian } => {
                    let dev = dev.clone();
                    let endian = *endian;
                    let off = addr - r.base;
                    drop(regions);
                    let v = value & size_mask(size);
                    let v = if endian == op.endian() { v } else { bswap_sized(v, size) };
                    dev.lock().unwrap().write(off, size as u32, v);
                }
            },
            _ => {
                tracing::warn!(target: "guest_errors", "write of {size} bytes ({value:#x}) to unassigned physical address {addr:#x}");
            }
        }
    }

    /// The code map of `page`'s region and the page's index in it.
    fn code_page(&self, page: u64) -> Option<(usize, usize)> {
        let regions = self.regions.read().unwrap();
        let r = find(&regions, page)?;
        let RegionKind::Ram { code_map, .. } = r.kind else { return None };
        let maps = self.code_maps.read().unwrap();
        Some((code_map, ((page - maps[code_map].base) >> PAGE_BITS) as usize))
    }

    fn code_bit(&self, page: u64) -> Option<(usize, usize, u64)> {
        let (map, idx) = self.code_page(page)?;
        Some((map, idx / 64, 1u64 << (idx % 64)))
    }

    /// Records that the RAM page at `page` now holds translated code, all of it. Returns true
    /// if it did not before (the caller must then make soft-TLB write entries for it take the
    /// slow path); false if it already did or is not RAM.
    pub fn mark_code_page(&self, page: u64) -> bool {
        self.mark_code(page & !(PAGE_SIZE - 1), PAGE_SIZE)
    }

    /// Records that the `len` bytes at `addr` (within one RAM page) now hold translated code.
    /// Returns true if the page held none before (see [`Self::mark_code_page`]).
    pub fn mark_code(&self, addr: u64, len: u64) -> bool {
        let Some((map, idx)) = self.code_page(addr & !(PAGE_SIZE - 1)) else { return false };
        let maps = self.code_maps.read().unwrap();
        maps[map].lines[idx].fetch_or(code_line_mask(addr, len), Ordering::Relaxed);
        let bit = 1u64 << (idx % 64);
        maps[map].bits[idx / 64].fetch_or(bit, Ordering::Relaxed) & bit == 0
    }

    /// Whether the RAM page at `page` holds translated code.
    pub fn is_code_page(&self, page: u64) -> bool {
        let Some((map, word, bit)) = self.code_bit(page) else { return false };
        self.code_maps.read().unwrap()[map].bits[word].load(Ordering::Relaxed) & bit != 0
    }

    /// Notes a write to a code page from the host (loaders, devices): the page stops being a
    /// code page and all its translations must be dropped before any CPU runs them again (see
    /// [`Self::take_dirty_code`]).
    pub fn note_code_write(&self, page: u64) {
        let page = page >> PAGE_BITS << PAGE_BITS;
        self.unmark_code_page(page);
        self.dirty_code.lock().unwrap().push((page, PAGE_SIZE));
        self.has_dirty_code.store(true, Ordering::Release);
    }

    /// Notes a guest store of `len` bytes at `addr` in a code page: if they touch lines with
    /// translated code, the translations that overlap those bytes must be dropped (the page
    /// stays a code page until it has none left) and true is returned: the CPU must leave
    /// its block before running more code.
    pub fn note_code_store(&self, addr: u64, len: u64) -> bool {
        let hit = self.code_page(addr & !(PAGE_SIZE - 1)).is_some_and(|(map, idx)| {
            self.code_maps.read().unwrap()[map].lines[idx].load(Ordering::Relaxed) & code_line_mask(addr, len) != 0
        });
        if hit {
            self.dirty_code.lock().unwrap().push((addr, len));
            self.has_dirty_code.store(true, Ordering::Release);
        }
        hit
    }

    /// Sets the line bitmap of code page `page` to `mask` (the lines its remaining translations
    /// cover, after some were dropped).
    pub fn set_code_lines(&self, page: u64, mask: u64) {
        if let Some((map, idx)) = self.code_page(page & !(PAGE_SIZE - 1)) {
            self.code_maps.read().unwrap()[map].lines[idx].store(mask, Ordering::Relaxed);
        }
    }

    /// Records that the RAM page at `page` no longer holds translated code.
    pub fn unmark_code_page(&self, page: u64) {
        if let Some((map, idx)) = self.code_page(page & !(PAGE_SIZE - 1)) {
            let maps = self.code_maps.read().unwrap();
            maps[map].bits[idx / 64].fetch_and(!(1u64 << (idx % 64)), Ordering::Relaxed);
            maps[map].lines[idx].store(0, Ordering::Relaxed);
        }
    }

    /// Whether pages with translations were written since the last [`Self::take_dirty_code`].
    pub fn has_dirty_code(&self) -> bool {
        self.has_dirty_code.load(Ordering::Acquire)
    }

    /// The physical byte ranges (address, length) whose translations must be dropped.
    pub fn take_dirty_code(&self) -> Vec<(u64, u64)> {
        self.has_dirty_code.store(false, Ordering::Release);
        std::mem::take(&mut *self.dirty_code.lock().unwrap())
    }

    /// Resets every device (machine reset). RAM is left as is; the board reloads images.
    pub fn reset_devices(&self) {
        let regions = self.regions.read().unwrap().clone();
        let mut seen: Vec<*const ()> = Vec::new();
        for r in regions {
            if let RegionKind::Mmio { dev, .. } = r.kind {
                let key = Arc::as_ptr(&dev) as *const ();
                if !seen.contains(&key) {
                    seen.push(key);
                    dev.lock().unwrap().reset();
                }
            }
        }
    }
}

fn find(regions: &[Region], addr: u64) -> Option<&Region> {
    let i = regions.partition_point(|r| r.base <= addr);
    let r = regions.get(i.checked_sub(1)?)?;
    (addr - r.base < r.size).then_some(r)
}

fn size_mask(size: u64) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * size)) - 1
    }
}

fn raw_from_bytes(b: &[u8], endian: Endian) -> u64 {
    let mut v = 0u64;
    match endian {
        Endian::Big => b.iter().for_each(|&x| v = (v << 8) | x as u64),
        Endian::Little => b.iter().rev().for_each(|&x| v = (v << 8) | x as u64),
    }
    v
}

fn raw_to_bytes(v: u64, size: u64, endian: Endian) -> [u8; 8] {
    let mut out = [0u8; 8];
    for i in 0..size as usize {
        let shift = match endian {
            Endian::Big => 8 * (size as usize - 1 - i),
            Endian::Little => 8 * i,
        };
        out[i] = (v >> shift) as u8;
    }
    out
}

impl std::fmt::Debug for AddressSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let regions = self.regions.read().unwrap();
        let mut l = f.debug_list();
        for r in regions.iter() {
            l.entry(&format_args!("{:#011x}-{:#011x} {}", r.base, r.base + r.size - 1, r.name));
        }
        l.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MmioDevice;

    struct Echo(u64);
    impl MmioDevice for Echo {
        fn read(&mut self, offset: u64, _size: u32) -> u64 {
            self.0 + offset
        }
        fn write(&mut self, _offset: u64, _size: u32, value: u64) {
            self.0 = value;
        }
    }

    #[test]
    fn ram_and_mmio_accesses_route_and_swap() {
        let a = AddressSpace::new();
        a.add_ram("ram", 0, Arc::new(Ram::new(0x10000).unwrap())).unwrap();
        let dev: SharedDevice = Arc::new(Mutex::new(Echo(0)));
        a.add_mmio("echo", 0xf_e000_0000, 0x1000, dev, Endian::Big).unwrap();
        let be32 = MemOp::new(2, false, Endian::Big, 0);
        a.store(0x100, be32, 0x1122_3344);
        let mut b = [0u8; 4];
        a.read_ram(0x100, &mut b).unwrap();
        assert_eq!(b, [0x11, 0x22, 0x33, 0x44]);
        assert_eq!(a.load(0x100, be32.flip_endian()), 0x4433_2211);
        a.store(0xf_e000_0000, be32, 0x1000);
        assert_eq!(a.load(0xf_e000_0004, be32), 0x1004);
        assert_eq!(a.load(0xf_e000_0004, be32.flip_endian()), 0x0410_0000);
        assert_eq!(a.load(0x5000_0000, be32), 0, "unassigned reads 0");
    }

    #[test]
    fn overlapping_regions_are_refused() {
        let a = AddressSpace::new();
        a.add_ram("ram", 0, Arc::new(Ram::new(0x10000).unwrap())).unwrap();
        assert!(a.add_ram("ram2", 0x8000, Arc::new(Ram::new(0x10000).unwrap())).is_err());
    }

    #[test]
    fn guest_stores_next_to_code_drop_nothing() {
        let a = AddressSpace::new();
        a.add_ram("ram", 0, Arc::new(Ram::new(0x10000).unwrap())).unwrap();
        // A block of 8 instructions at 0x3100: lines 0x3100..0x3140.
        assert!(a.mark_code(0x3100, 32));
        assert!(!a.mark_code(0x3140, 4), "the page was a code page already");
        assert!(!a.note_code_store(0x30fc, 4), "the line before");
        assert!(!a.note_code_store(0x3180, 8), "a line after");
        assert!(!a.has_dirty_code());
        assert!(a.note_code_store(0x313e, 4), "overlaps the last instruction's line");
        assert!(a.note_code_store(0x30fe, 4), "straddles into the first line");
        assert_eq!(a.take_dirty_code(), vec![(0x313e, 4), (0x30fe, 4)]);
        // Once the page holds no translations, its lines are forgotten with it.
        a.unmark_code_page(0x3000);
        assert!(!a.is_code_page(0x3000));
        assert!(a.mark_code(0x3800, 4));
        assert!(!a.note_code_store(0x3100, 4));
        assert_eq!(super::code_line_mask(0x3fff, 8), 1 << 63, "clamped to the page");
    }

    #[test]
    fn writes_to_code_pages_are_reported_once() {
        let a = AddressSpace::new();
        a.add_ram("ram", 0, Arc::new(Ram::new(0x10000).unwrap())).unwrap();
        assert!(a.mark_code_page(0x2000));
        a.write_ram(0x1ffe, &[1, 2, 3, 4]).unwrap();
        assert!(a.has_dirty_code());
        assert_eq!(a.take_dirty_code(), vec![(0x2000, 0x1000)]);
        assert!(!a.is_code_page(0x2000));
        a.write_ram(0x2000, &[1]).unwrap();
        assert!(!a.has_dirty_code());
    }
}
