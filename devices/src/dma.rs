//! Guest memory as DMA-capable devices see it: bytes at guest physical addresses, with every
//! access checked against RAM.

use ferrite_softmmu::AddressSpace;
use std::io::{self, IoSliceMut};
use std::sync::Weak;

/// A device touched guest memory outside RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("guest DMA of {len} bytes at {addr:#x} is outside RAM")]
pub struct DmaError {
    /// First guest physical address of the access.
    pub addr: u64,
    /// Length of the access.
    pub len: u64,
}

/// Guest physical memory for device DMA.
///
/// Implementations must refuse (not clamp) any access that is not wholly inside guest RAM, so
/// a guest-supplied address can never make the host touch memory it does not own.
pub trait GuestMemory: Send + Sync {
    /// Copies guest memory at `addr` into `buf`.
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), DmaError>;
    /// Copies `data` into guest memory at `addr`.
    fn write(&self, addr: u64, data: &[u8]) -> Result<(), DmaError>;
    /// Whether `len` bytes at `addr` are all RAM.
    fn is_ram(&self, addr: u64, len: u64) -> bool;

    /// Lets `fill` write the guest memory `ranges` (address, length) through host buffers,
    /// one per range in order, so that a device can read a file straight into guest RAM in
    /// one vectored system call. Refused (and `fill` not called) unless every range is RAM;
    /// otherwise returns what `fill` returned. Translations of code in the ranges are dropped,
    /// as [`Self::write`] does. This default fills a bounce buffer and copies it.
    fn fill(&self, ranges: &[(u64, usize)], fill: &mut dyn FnMut(&mut [IoSliceMut<'_>]) -> io::Result<()>) -> Result<io::Result<()>, DmaError> {
        if let Some(&(addr, len)) = ranges.iter().find(|&&(a, l)| !self.is_ram(a, l as u64)) {
            return Err(DmaError { addr, len: len as u64 });
        }
        bounce_fill(self, ranges, fill)
    }

    /// Reads a little-endian u16 (virtio rings are little-endian).
    fn read_le16(&self, addr: u64) -> Result<u16, DmaError> {
        let mut b = [0u8; 2];
        self.read(addr, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }
    /// Reads a little-endian u32.
    fn read_le32(&self, addr: u64) -> Result<u32, DmaError> {
        let mut b = [0u8; 4];
        self.read(addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    /// Reads a little-endian u64.
    fn read_le64(&self, addr: u64) -> Result<u64, DmaError> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    /// Writes a little-endian u16.
    fn write_le16(&self, addr: u64, v: u16) -> Result<(), DmaError> {
        self.write(addr, &v.to_le_bytes())
    }
    /// Writes a little-endian u32.
    fn write_le32(&self, addr: u64, v: u32) -> Result<(), DmaError> {
        self.write(addr, &v.to_le_bytes())
    }
}

/// The RAM of a machine's [`AddressSpace`], held weakly: the address space owns the devices
/// (through their MMIO regions), so a strong reference back would keep the machine alive.
pub struct SpaceMemory(Weak<AddressSpace>);

impl SpaceMemory {
    /// DMA into `space`'s RAM regions (MMIO and unassigned addresses are refused).
    pub fn new(space: Weak<AddressSpace>) -> SpaceMemory {
        SpaceMemory(space)
    }
}

impl GuestMemory for SpaceMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), DmaError> {
        let err = DmaError { addr, len: buf.len() as u64 };
        self.0.upgrade().ok_or(err)?.read_ram(addr, buf).map_err(|_| err)
    }

    fn write(&self, addr: u64, data: &[u8]) -> Result<(), DmaError> {
        let err = DmaError { addr, len: data.len() as u64 };
        // write_ram also drops translations of code pages the device overwrites.
        self.0.upgrade().ok_or(err)?.write_ram(addr, data).map_err(|_| err)
    }

    fn is_ram(&self, addr: u64, len: u64) -> bool {
        self.0.upgrade().is_some_and(|s| s.ram_ptr(addr, len).is_some())
    }

    fn fill(&self, ranges: &[(u64, usize)], fill: &mut dyn FnMut(&mut [IoSliceMut<'_>]) -> io::Result<()>) -> Result<io::Result<()>, DmaError> {
        let first = ranges.first().map_or(DmaError { addr: 0, len: 0 }, |&(addr, len)| DmaError { addr, len: len as u64 });
        let space = self.0.upgrade().ok_or(first)?;
        let mut bufs = Vec::with_capacity(ranges.len());
        for &(addr, len) in ranges {
            let p = space.ram_ptr(addr, len as u64).ok_or(DmaError { addr, len: len as u64 })?;
            bufs.push((p, len));
        }
        if overlap(ranges) {
            // Two host buffers over the same bytes would alias: copy through a bounce buffer.
            drop(bufs);
            return bounce_fill(self, ranges, fill);
        }
        // SAFETY: each pointer is valid for `len` bytes of guest RAM (ram_ptr checked the range),
        // the RAM stays mapped while `space` is held, and no two buffers overlap.
        let mut slices: Vec<IoSliceMut<'_>> =
            bufs.iter().map(|&(p, len)| IoSliceMut::new(unsafe { std::slice::from_raw_parts_mut(p, len) })).collect();
        let r = fill(&mut slices);
        drop(slices);
        for &(addr, len) in ranges {
            space.note_ram_written(addr, len as u64);
        }
        Ok(r)
    }
}

/// Whether any two of `ranges` share a byte.
fn overlap(ranges: &[(u64, usize)]) -> bool {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable_by_key(|r| r.0);
    sorted.windows(2).any(|w| w[0].0 + w[0].1 as u64 > w[1].0)
}

/// [`GuestMemory::fill`] through a bounce buffer (the trait's default, callable from overrides).
fn bounce_fill<M: GuestMemory + ?Sized>(
    mem: &M,
    ranges: &[(u64, usize)],
    fill: &mut dyn FnMut(&mut [IoSliceMut<'_>]) -> io::Result<()>,
) -> Result<io::Result<()>, DmaError> {
    let mut buf = vec![0u8; ranges.iter().map(|r| r.1).sum()];
    if let Err(e) = fill(&mut [IoSliceMut::new(&mut buf)]) {
        return Ok(Err(e));
    }
    let mut off = 0;
    for &(addr, len) in ranges {
        mem.write(addr, &buf[off..off + len])?;
        off += len;
    }
    Ok(Ok(()))
}

impl std::fmt::Debug for SpaceMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpaceMemory")
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::{DmaError, GuestMemory};
    use std::sync::Mutex;

    /// Guest RAM for tests: `len` bytes at guest physical `base`.
    pub struct VecMemory {
        pub base: u64,
        pub bytes: Mutex<Vec<u8>>,
    }

    impl VecMemory {
        pub fn new(base: u64, len: usize) -> VecMemory {
            VecMemory { base, bytes: Mutex::new(vec![0; len]) }
        }

        fn range(&self, addr: u64, len: usize) -> Result<std::ops::Range<usize>, DmaError> {
            let err = DmaError { addr, len: len as u64 };
            let off = addr.checked_sub(self.base).ok_or(err)?;
            let end = off.checked_add(len as u64).ok_or(err)?;
            if end > self.bytes.lock().unwrap().len() as u64 {
                return Err(err);
            }
            Ok(off as usize..end as usize)
        }
    }

    impl GuestMemory for VecMemory {
        fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), DmaError> {
            let r = self.range(addr, buf.len())?;
            buf.copy_from_slice(&self.bytes.lock().unwrap()[r]);
            Ok(())
        }
        fn write(&self, addr: u64, data: &[u8]) -> Result<(), DmaError> {
            let r = self.range(addr, data.len())?;
            self.bytes.lock().unwrap()[r].copy_from_slice(data);
            Ok(())
        }
        fn is_ram(&self, addr: u64, len: u64) -> bool {
            usize::try_from(len).is_ok_and(|l| self.range(addr, l).is_ok())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrite_softmmu::Ram;
    use std::sync::Arc;

    #[test]
    fn space_memory_refuses_anything_outside_ram() {
        let space = Arc::new(AddressSpace::new());
        space.add_ram("ram", 0x1000, Arc::new(Ram::new(0x2000).unwrap())).unwrap();
        let mem = SpaceMemory::new(Arc::downgrade(&space));
        mem.write(0x1ffe, &[1, 2, 3, 4]).unwrap();
        assert_eq!(mem.read_le32(0x1ffe).unwrap(), 0x0403_0201);
        assert!(mem.write(0x2ffe, &[0; 4]).is_err(), "crosses the end of RAM");
        assert!(mem.read(0xfff, &mut [0; 2]).is_err(), "starts below RAM");
        assert!(mem.read(u64::MAX - 1, &mut [0; 4]).is_err(), "wraps around");
        assert!(mem.is_ram(0x1000, 0x2000) && !mem.is_ram(0x1000, 0x2001));
        drop(space);
        assert!(mem.read(0x1000, &mut [0; 1]).is_err(), "machine gone");
    }

    /// Writes 1, 2, 3... across the buffers `fill` gets.
    fn count_up(bufs: &mut [IoSliceMut<'_>]) -> io::Result<()> {
        let mut k = 0u8;
        for b in bufs.iter_mut() {
            for x in b.iter_mut() {
                k += 1;
                *x = k;
            }
        }
        Ok(())
    }

    #[test]
    fn fill_writes_guest_ram_in_place_and_refuses_anything_outside_it() {
        let space = Arc::new(AddressSpace::new());
        space.add_ram("ram", 0x1000, Arc::new(Ram::new(0x2000).unwrap())).unwrap();
        let mem = SpaceMemory::new(Arc::downgrade(&space));
        mem.fill(&[(0x2ffc, 4), (0x1000, 2)], &mut count_up).unwrap().unwrap();
        assert_eq!(mem.read_le32(0x2ffc).unwrap(), 0x0403_0201);
        assert_eq!(mem.read_le16(0x1000).unwrap(), 0x0605);

        let mut called = false;
        let r = mem.fill(&[(0x1000, 4), (0x2ffe, 4)], &mut |_| {
            called = true;
            Ok(())
        });
        assert_eq!(r.unwrap_err(), DmaError { addr: 0x2ffe, len: 4 });
        assert!(!called, "nothing is written when a range is not RAM");

        // Overlapping ranges go through a bounce buffer; the later range wins, as with writes.
        mem.fill(&[(0x1800, 4), (0x1802, 4)], &mut count_up).unwrap().unwrap();
        assert_eq!(mem.read_le32(0x1800).unwrap(), 0x0605_0201);
        assert_eq!(mem.read_le16(0x1804).unwrap(), 0x0807);

        let failed = mem.fill(&[(0x1800, 4)], &mut |_| Err(io::Error::other("disk gone"))).unwrap();
        assert!(failed.is_err(), "the filler's error comes back");
    }

    #[test]
    fn fill_drops_translations_of_code_it_overwrites() {
        let space = Arc::new(AddressSpace::new());
        space.add_ram("ram", 0, Arc::new(Ram::new(0x4000).unwrap())).unwrap();
        space.mark_code_page(0x2000);
        let mem = SpaceMemory::new(Arc::downgrade(&space));
        mem.fill(&[(0x1000, 0x100)], &mut count_up).unwrap().unwrap();
        assert!(!space.has_dirty_code(), "no code on that page");
        mem.fill(&[(0x1ff0, 0x20)], &mut count_up).unwrap().unwrap();
        assert!(space.has_dirty_code(), "the code page was written");
        assert_eq!(space.take_dirty_code(), vec![(0x2000, 0x1000)]);
    }
}
