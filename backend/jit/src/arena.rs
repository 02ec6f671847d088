//! The executable arena: one RWX anonymous mapping, committed lazily by the kernel as it is
//! touched. Code grows from the bottom, link slots (data written by the engine while code
//! runs) from the top, so that slot writes never share a cache line with code.

use crate::JitError;

/// Alignment of every function start (Cranelift's constant pools assume 16).
pub const CODE_ALIGN: usize = 16;

/// A bump allocator over an RWX mapping.
pub struct Arena {
    base: *mut u8,
    size: usize,
    /// First free byte of the code area (grows up).
    code_top: usize,
    /// Start of the data area (grows down).
    data_bottom: usize,
}

// SAFETY: the arena owns its mapping; the raw pointer is only dereferenced through `&mut self`
// methods, and code handed out is immutable once written.
unsafe impl Send for Arena {}

impl Arena {
    /// Maps `size` bytes (rounded up to pages) of RWX memory, reserved but not committed.
    pub fn new(size: usize) -> Result<Arena, JitError> {
        let size = size.max(4096).next_multiple_of(4096);
        // SAFETY: anonymous private mapping with no address hint; the result is checked.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(JitError::Codegen(format!("mmap of {size} bytes failed: {}", std::io::Error::last_os_error())));
        }
        // Fastmem accesses run here: the fault handler must know the range.
        ferrite_softmmu::fastmem::signal::register_code(p as u64, size as u64);
        Ok(Arena { base: p as *mut u8, size, code_top: 0, data_bottom: size })
    }

    /// Reserves `n` zeroed, 8-byte aligned bytes of data. Returns the host address.
    pub fn alloc_data(&mut self, n: usize) -> Result<u64, JitError> {
        let bottom = self.data_bottom.checked_sub(n).ok_or(JitError::ArenaFull)? & !7;
        if bottom < self.code_top {
            return Err(JitError::ArenaFull);
        }
        // SAFETY: [bottom, bottom + n) lies inside the mapping and is not handed out yet.
        unsafe { std::ptr::write_bytes(self.base.add(bottom), 0, n) };
        self.data_bottom = bottom;
        Ok(self.base as u64 + bottom as u64)
    }

    /// Gives back data reserved by the last `alloc_data` calls down to `mark` (a value of
    /// [`Self::data_mark`]), after a failed compilation.
    pub fn release_data_to(&mut self, mark: usize) {
        debug_assert!(mark >= self.data_bottom);
        self.data_bottom = mark;
    }

    /// The current data watermark.
    pub fn data_mark(&self) -> usize {
        self.data_bottom
    }

    /// Reserves `n` bytes of code space aligned to [`CODE_ALIGN`]; returns a writable pointer.
    pub fn alloc_code(&mut self, n: usize) -> Result<*mut u8, JitError> {
        let start = self.code_top.next_multiple_of(CODE_ALIGN);
        let end = start.checked_add(n).ok_or(JitError::ArenaFull)?;
        if end > self.data_bottom {
            return Err(JitError::ArenaFull);
        }
        self.code_top = end;
        // SAFETY: start is inside the mapping.
        Ok(unsafe { self.base.add(start) })
    }

    /// Forgets everything. The caller guarantees no code from the arena runs any more.
    pub fn reset(&mut self) {
        self.code_top = 0;
        self.data_bottom = self.size;
        // Give the pages back to the kernel; the next use faults in zero pages.
        // SAFETY: the range is our own private anonymous mapping.
        unsafe { libc::madvise(self.base as *mut libc::c_void, self.size, libc::MADV_DONTNEED) };
    }

    /// Bytes handed out (code and data).
    pub fn used(&self) -> usize {
        self.code_top + (self.size - self.data_bottom)
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        ferrite_softmmu::fastmem::signal::unregister_code(self.base as u64);
        // SAFETY: the mapping was created by `new` with this size and is not used after drop
        // (the owner of the `Jit` guarantees no generated code still runs).
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.size) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_and_data_meet_in_the_middle() {
        let mut a = Arena::new(8192).unwrap();
        let d = a.alloc_data(16).unwrap();
        assert_eq!(d % 8, 0);
        // SAFETY: 16 bytes were just reserved at d.
        assert_eq!(unsafe { *(d as *const u64) }, 0);
        let c = a.alloc_code(100).unwrap();
        assert_eq!(c as usize % CODE_ALIGN, 0);
        assert!(matches!(a.alloc_code(8192), Err(JitError::ArenaFull)));
        assert!(matches!(a.alloc_data(8100), Err(JitError::ArenaFull)));
        assert_eq!(a.used(), 116);
        a.reset();
        assert_eq!(a.used(), 0);
        assert!(a.alloc_code(8000).is_ok());
    }
}
