//! Disk images behind emulated block devices.
//!
//! A [`BlockBackend`] is a flat array of bytes with flush and discard; devices translate
//! their requests into it and never see files. [`RawImage`] is a raw image file,
//! [`Qcow2Image`] a qcow2 image (through the `imago` crate) with its backing chain, and
//! [`SnapshotOverlay`] a temporary copy-on-write layer over either (`snapshot=on`).

mod chain;
mod qcow2;
mod qcow2_check;
mod raw;
mod snapshot;
#[cfg(test)]
mod test_images;

pub use qcow2::Qcow2Image;
pub use raw::{lock as lock_file, RawImage};
pub use snapshot::SnapshotOverlay;
use std::io::{self, IoSliceMut};
use std::path::PathBuf;

/// Storage a block device reads and writes.
pub trait BlockBackend: Send {
    /// Size in bytes.
    fn size(&self) -> u64;

    /// Whether writes are refused.
    fn read_only(&self) -> bool;

    /// Fills `buf` from byte `offset` (the range is within [`Self::size`]).
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()>;

    /// Reads into `bufs`, in order, from byte `offset` (the range is within [`Self::size`]).
    /// Images that can do it in one system call override this.
    fn read_vectored_at(&mut self, offset: u64, bufs: &mut [IoSliceMut<'_>]) -> io::Result<()> {
        let mut at = offset;
        for b in bufs.iter_mut() {
            self.read_at(at, b)?;
            at += b.len() as u64;
        }
        Ok(())
    }

    /// Writes `data` at byte `offset` (the range is within [`Self::size`]).
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;

    /// Makes every completed write durable (it survives a host crash) before returning.
    fn flush(&mut self) -> io::Result<()>;

    /// The range's contents are no longer needed; it reads back as zeros.
    fn discard(&mut self, offset: u64, len: u64) -> io::Result<()>;
}

/// Why an image could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// The file could not be opened.
    #[error("cannot open disk image {path}: {source}")]
    Open {
        /// The image.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file is not a valid image of the format (corrupt, truncated, missing backing file).
    #[error("cannot open {format} image {path}: {source}")]
    Format {
        /// The image.
        path: PathBuf,
        /// The format it was opened as.
        format: &'static str,
        /// Why.
        source: io::Error,
    },
    /// Another process holds a conflicting lock.
    #[error("disk image {path} is in use by another process (ferrite or QEMU): cannot get its {kind} lock")]
    Locked {
        /// The image.
        path: PathBuf,
        /// "write" (exclusive) or "shared".
        kind: &'static str,
    },
    /// Locking failed for another reason.
    #[error("cannot lock disk image {path}: {source}")]
    Lock {
        /// The image.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A file a qcow2 image refers to could not be used.
    #[error("cannot open qcow2 image {image}: its {role}: {source}")]
    Dependency {
        /// The image given on the command line.
        image: PathBuf,
        /// "backing file" or "data file".
        role: &'static str,
        /// What went wrong with that file.
        source: Box<BlockError>,
    },
    /// `snapshot=on`: the temporary overlay could not be made.
    #[error("cannot create the temporary overlay for {path} (snapshot=on; the directory is $TMPDIR, else /var/tmp): {source}")]
    Snapshot {
        /// The image.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A qcow2 image's backing chain names one file twice (following it would never end).
    #[error("cannot open qcow2 image {image}: its backing chain comes back to {path}")]
    Loop {
        /// The image given on the command line.
        image: PathBuf,
        /// The file named a second time.
        path: PathBuf,
    },
}
