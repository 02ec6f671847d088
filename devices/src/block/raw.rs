//! Raw image files: guest byte n is file byte n, read and written with `pread`/`pwrite`.
//!
//! The file is locked with an open-file-description lock over all its bytes, as QEMU locks
//! images (QEMU locks single bytes at 100+ and 200+ with the same kind of lock, so the two
//! exclude each other too): exclusive for a writable image, shared for a read-only one. A
//! second writer, or a writer next to readers, is refused with a clear message instead of
//! corrupting the file.

use super::{BlockBackend, BlockError};
use std::fs::{File, OpenOptions};
use std::io::{self, IoSliceMut};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// An open, locked raw image.
#[derive(Debug)]
pub struct RawImage {
    file: File,
    path: PathBuf,
    size: u64,
    read_only: bool,
}

impl RawImage {
    /// Opens and locks `path`, read-only or read-write.
    pub fn open(path: &Path, read_only: bool) -> Result<RawImage, BlockError> {
        let open_err = |source| BlockError::Open { path: path.to_path_buf(), source };
        let file = OpenOptions::new().read(true).write(!read_only).open(path).map_err(open_err)?;
        lock(&file, read_only).map_err(|e| lock_error(path, read_only, e))?;
        let size = file.metadata().map_err(open_err)?.len();
        Ok(RawImage { file, path: path.to_path_buf(), size, read_only })
    }

    /// The image's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The error for a failed [`lock`].
pub(super) fn lock_error(path: &Path, read_only: bool, source: io::Error) -> BlockError {
    match source.raw_os_error() {
        Some(libc::EAGAIN | libc::EACCES) => {
            BlockError::Locked { path: path.to_path_buf(), kind: if read_only { "shared" } else { "write" } }
        }
        _ => BlockError::Lock { path: path.to_path_buf(), source },
    }
}

/// Takes a whole-file OFD lock: shared for readers, exclusive for a writer. Fails at once
/// (EAGAIN) if another open file description holds a conflicting one. (Also the pid file's.)
pub fn lock(file: &File, shared: bool) -> io::Result<()> {
    // SAFETY: flock is a plain C struct; all-zero is a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = if shared { libc::F_RDLCK } else { libc::F_WRLCK } as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = 0;
    fl.l_len = 0; // to the end of the file, however large it grows
    // SAFETY: the descriptor is open for the duration of the call and `fl` is initialised.
    let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &fl) };
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl BlockBackend for RawImage {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        // A file shorter than its recorded size (truncated behind our back) reads zeros.
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => {
                    buf[done..].fill(0);
                    break;
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn read_vectored_at(&mut self, offset: u64, mut bufs: &mut [IoSliceMut<'_>]) -> io::Result<()> {
        let mut at = offset;
        // Skip empty buffers: a zero-length read would look like the end of the file.
        IoSliceMut::advance_slices(&mut bufs, 0);
        while !bufs.is_empty() {
            let n_iov = bufs.len().min(1024) as libc::c_int; // IOV_MAX
            let off = libc::off_t::try_from(at).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
            // SAFETY: IoSliceMut is ABI-compatible with iovec, and each points to writable
            // memory of its length for the duration of the call.
            let n = unsafe { libc::preadv(self.file.as_raw_fd(), bufs.as_ptr() as *const libc::iovec, n_iov, off) };
            match n {
                0 => {
                    // A file shorter than its recorded size reads zeros.
                    for b in bufs.iter_mut() {
                        b.fill(0);
                    }
                    break;
                }
                n if n > 0 => {
                    at += n as u64;
                    IoSliceMut::advance_slices(&mut bufs, n as usize);
                }
                _ => {
                    let e = io::Error::last_os_error();
                    if e.kind() != io::ErrorKind::Interrupted {
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if self.read_only {
            return Err(io::Error::from(io::ErrorKind::PermissionDenied));
        }
        self.file.write_all_at(data, offset)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.read_only {
            return Ok(());
        }
        self.file.sync_data()
    }

    fn discard(&mut self, offset: u64, len: u64) -> io::Result<()> {
        if self.read_only {
            return Err(io::Error::from(io::ErrorKind::PermissionDenied));
        }
        let (Ok(off), Ok(l)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        };
        let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
        // SAFETY: plain system call on an open descriptor.
        if unsafe { libc::fallocate(self.file.as_raw_fd(), mode, off, l) } == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EOPNOTSUPP) {
            return Err(err);
        }
        // No hole punching on this file system: write zeros so the range still reads as 0.
        let zeros = vec![0u8; 64 << 10];
        let mut at = offset;
        while at < offset + len {
            let n = (offset + len - at).min(zeros.len() as u64) as usize;
            self.file.write_all_at(&zeros[..n], at)?;
            at += n as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(name: &str, len: usize) -> PathBuf {
        let p = std::env::temp_dir().join(format!("ferrite-raw-{}-{name}", std::process::id()));
        std::fs::write(&p, (0..len).map(|i| i as u8).collect::<Vec<_>>()).unwrap();
        p
    }

    #[test]
    fn vectored_reads_fill_every_buffer_in_order_and_zeros_past_a_truncated_end() {
        let p = image("vec", 16384);
        let mut img = RawImage::open(&p, true).unwrap();
        let (mut a, mut b, mut c) = ([0u8; 3], [0u8; 0], [0u8; 5000]);
        img.read_vectored_at(4094, &mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b), IoSliceMut::new(&mut c)]).unwrap();
        let want: Vec<u8> = (4094..4094 + 5003).map(|i| i as u8).collect();
        assert_eq!(&a[..], &want[..3]);
        assert_eq!(&c[..], &want[3..]);
        // Shrunk behind our back: what is gone reads as zeros.
        std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(4096).unwrap();
        let mut d = [0xffu8; 8];
        img.read_vectored_at(4092, &mut [IoSliceMut::new(&mut d)]).unwrap();
        assert_eq!(d, [252, 253, 254, 255, 0, 0, 0, 0]);
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn reads_writes_flushes_and_discards() {
        let p = image("rw", 8192);
        let mut img = RawImage::open(&p, false).unwrap();
        assert_eq!(img.size(), 8192);
        let mut b = [0u8; 4];
        img.read_at(510, &mut b).unwrap();
        assert_eq!(b, [254, 255, 0, 1]);
        img.write_at(512, b"abcd").unwrap();
        img.flush().unwrap();
        img.discard(4096, 4096).unwrap();
        drop(img);
        let data = std::fs::read(&p).unwrap();
        assert_eq!(&data[512..516], b"abcd");
        assert!(data[4096..].iter().all(|&x| x == 0), "discarded range reads zeros");
        assert_eq!(data.len(), 8192, "discard keeps the size");
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn a_writable_image_is_locked_against_everyone_else() {
        let p = image("lock", 4096);
        let _locks_only_ours = crate::block::test_images::no_spawns();
        let w = RawImage::open(&p, false).unwrap();
        let again = RawImage::open(&p, false).unwrap_err();
        assert!(matches!(again, BlockError::Locked { .. }), "{again}");
        assert!(again.to_string().contains("in use by another process"));
        assert!(matches!(RawImage::open(&p, true), Err(BlockError::Locked { .. })), "no reader next to a writer");
        drop(w);
        // Readers share; a writer must wait for them all.
        let r1 = RawImage::open(&p, true).unwrap();
        let mut r2 = RawImage::open(&p, true).unwrap();
        assert!(matches!(RawImage::open(&p, false), Err(BlockError::Locked { .. })));
        assert!(r2.write_at(0, b"x").is_err(), "read-only");
        drop((r1, r2));
        RawImage::open(&p, false).unwrap();
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn missing_file_is_a_clear_error() {
        let e = RawImage::open(Path::new("/nonexistent/disk.img"), true).unwrap_err();
        assert!(e.to_string().contains("cannot open disk image /nonexistent/disk.img"), "{e}");
    }
}
