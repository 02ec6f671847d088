//! Loading guest images into RAM: ELF (via goblin), U-Boot legacy uImage (gzip or raw), initrd
//! and device-tree blobs. Every failure is a clear error naming the file and the problem; an
//! image that does not fit is refused before anything is written to guest RAM (a gzip kernel
//! by the size its trailer states; one whose trailer lies is stopped at the end of RAM).

mod elf;
mod uimage;

pub use elf::load_elf;
pub use uimage::{load_uimage, UIMAGE_MAGIC};

use std::path::{Path, PathBuf};

/// Where a loaded kernel went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadedImage {
    /// Physical address of the entry point.
    pub entry: u64,
    /// Lowest physical address written.
    pub low: u64,
    /// One past the highest physical address written (including BSS).
    pub high: u64,
}

/// Why an image could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not in a format this loader knows.
    #[error("{path}: not an ELF file or a U-Boot uImage (first bytes {magic:02x?})")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// Its first bytes.
        magic: Vec<u8>,
    },
    /// The file is cut short or internally inconsistent.
    #[error("{path}: corrupt or truncated image: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The image is for another architecture or byte order.
    #[error("{path}: wrong architecture: {detail} (this machine needs {want})")]
    WrongArch {
        /// The file.
        path: PathBuf,
        /// What the image is.
        detail: String,
        /// What the machine needs.
        want: &'static str,
    },
    /// The image does not fit in guest RAM.
    #[error("{path}: does not fit in guest RAM: needs {start:#x}..{end:#x} but RAM is {ram:#x} bytes (raise -m)")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// First byte needed.
        start: u64,
        /// One past the last byte needed.
        end: u64,
        /// RAM size.
        ram: u64,
    },
}

/// Reads a whole file.
pub fn read_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Io { path: path.to_owned(), source })
}

/// Checks that `[start, end)` lies in RAM of `ram` bytes at physical 0.
pub(crate) fn check_fits(path: &Path, start: u64, end: u64, ram: u64) -> Result<(), LoadError> {
    if end < start || end > ram {
        return Err(LoadError::TooLarge { path: path.to_owned(), start, end, ram });
    }
    Ok(())
}
