//! Errors of the memory system. These are configuration errors (a board placing overlapping
//! regions, a RAM size the host can not map); guest faults are never errors here.

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// A memory-system configuration error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The host could not map guest RAM.
    #[error("cannot map {size} bytes of guest RAM: {source}")]
    RamMap {
        /// Requested size in bytes.
        size: u64,
        /// The host error.
        source: std::io::Error,
    },
    /// Two regions of the physical address space overlap (a board bug).
    #[error("region {new} at {base:#x}+{size:#x} overlaps region {old}")]
    Overlap {
        /// Name of the region being added.
        new: String,
        /// Name of the region already there.
        old: String,
        /// Base of the new region.
        base: u64,
        /// Size of the new region.
        size: u64,
    },
    /// A region size or base that is not page aligned (a board bug).
    #[error("region {name} at {base:#x}+{size:#x} is not aligned to the {align:#x}-byte page")]
    Misaligned {
        /// Name of the region.
        name: String,
        /// Base address.
        base: u64,
        /// Size.
        size: u64,
        /// Required alignment.
        align: u64,
    },
    /// A guest physical range that is not RAM (loading an image, DMA).
    #[error("guest physical range {addr:#x}+{len:#x} is not RAM")]
    NotRam {
        /// Start of the access.
        addr: u64,
        /// Length of the access.
        len: u64,
    },
}
