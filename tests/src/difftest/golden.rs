//! Golden digests: for a master seed, the digest of QEMU's outcome of each case, stored
//! compactly (8 bytes a case) in `tests/difftest/golden.bin`.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

/// The committed golden file.
pub fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("difftest/golden.bin")
}

/// Master seed of the committed goldens.
pub const MASTER_SEED: u64 = 0xfe22_17e0_5eed_0001;

/// Writes goldens.
pub fn write(path: &Path, master: u64, digests: &[u64]) -> anyhow::Result<()> {
    let mut b = Vec::with_capacity(16 + 8 * digests.len());
    b.extend_from_slice(b"FDG1");
    b.extend_from_slice(&master.to_le_bytes());
    b.extend_from_slice(&(digests.len() as u32).to_le_bytes());
    for d in digests {
        b.extend_from_slice(&d.to_le_bytes());
    }
    std::fs::write(path, b).with_context(|| format!("writing {}", path.display()))
}

/// Reads goldens: (master seed, digests).
pub fn read(path: &Path) -> anyhow::Result<(u64, Vec<u64>)> {
    let b = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if b.len() < 16 || &b[..4] != b"FDG1" {
        bail!("{}: not a golden digest file", path.display());
    }
    let master = u64::from_le_bytes(b[4..12].try_into().unwrap());
    let n = u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize;
    if b.len() != 16 + 8 * n {
        bail!("{}: truncated", path.display());
    }
    Ok((master, b[16..].chunks(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect()))
}
