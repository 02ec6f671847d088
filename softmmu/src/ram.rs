//! Guest RAM: one host mapping per RAM region, of an anonymous memory file when the host has
//! them (so that fastmem can map its pages a second time, elsewhere).

use crate::{Error, Result};
use memmap2::{MmapMut, MmapOptions};
use std::cell::UnsafeCell;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};

/// A block of guest RAM backed by a lazily committed host mapping.
///
/// Generated code reaches RAM through raw host pointers (soft-TLB addends), so the mapping is
/// never moved or resized while the machine exists.
pub struct Ram {
    map: UnsafeCell<MmapMut>,
    len: usize,
    /// The memory file behind the mapping, if any.
    file: Option<File>,
}

// SAFETY: RAM is plain bytes shared like physical memory; concurrent access from several vCPU
// threads has the guest's memory-model semantics, which is what we emulate. The mapping itself
// never moves.
unsafe impl Sync for Ram {}
// SAFETY: see above; the mapping is not tied to a thread.
unsafe impl Send for Ram {}

impl Ram {
    /// Maps `size` bytes of zeroed RAM.
    pub fn new(size: u64) -> Result<Ram> {
        let len = usize::try_from(size).map_err(|_| Error::RamMap {
            size,
            source: std::io::Error::other("size does not fit in the host address space"),
        })?;
        if let Some(file) = memory_file(size) {
            // SAFETY: the file is ours alone, sized above, and never truncated.
            if let Ok(map) = unsafe { MmapOptions::new().len(len).map_mut(&file) } {
                return Ok(Ram { map: UnsafeCell::new(map), len, file: Some(file) });
            }
        }
        let map = MmapMut::map_anon(len).map_err(|source| Error::RamMap { size, source })?;
        Ok(Ram { map: UnsafeCell::new(map), len, file: None })
    }

    /// The memory file behind the RAM (its offset 0 is the RAM's first byte), if it has one.
    pub fn fd(&self) -> Option<RawFd> {
        self.file.as_ref().map(|f| f.as_raw_fd())
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the region is empty (never, for a real board).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Host address of the first byte.
    pub fn host_ptr(&self) -> *mut u8 {
        // SAFETY: only the pointer is taken; the mapping lives as long as `self`.
        unsafe { (*self.map.get()).as_mut_ptr() }
    }

    /// Copies `data` into RAM at `offset`. Returns false if it does not fit.
    pub fn write(&self, offset: u64, data: &[u8]) -> bool {
        let Some(end) = offset.checked_add(data.len() as u64) else { return false };
        if end > self.len as u64 {
            return false;
        }
        // SAFETY: bounds checked above; RAM is plain bytes.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.host_ptr().add(offset as usize), data.len()) };
        true
    }

    /// Copies RAM at `offset` into `out`. Returns false if out of range.
    pub fn read(&self, offset: u64, out: &mut [u8]) -> bool {
        let Some(end) = offset.checked_add(out.len() as u64) else { return false };
        if end > self.len as u64 {
            return false;
        }
        // SAFETY: bounds checked above.
        unsafe { std::ptr::copy_nonoverlapping(self.host_ptr().add(offset as usize), out.as_mut_ptr(), out.len()) };
        true
    }
}

/// An anonymous memory file of `size` zero bytes, or `None` if the host cannot make one.
fn memory_file(size: u64) -> Option<File> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: memfd_create with a static name; the result is checked.
        let fd = unsafe { libc::memfd_create(c"ferrite-ram".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return None;
        }
        // SAFETY: a fresh descriptor we own.
        let file = unsafe { File::from_raw_fd(fd) };
        file.set_len(size).ok()?;
        Some(file)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = size;
        None
    }
}

impl std::fmt::Debug for Ram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ram").field("len", &self.len).finish()
    }
}
