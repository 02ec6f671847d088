//! `-snapshot` / `-drive ...,snapshot=on`: the guest writes to a temporary overlay, never to
//! the image, and the writes are gone when ferrite exits (QEMU's temporary qcow2 overlay).
//!
//! The image underneath is opened read-only (a shared lock: other readers may use it at the
//! same time). Written data goes to an unlinked, sparse temporary file in 4 KiB blocks; a
//! bitmap in memory (32 KiB per GiB of disk) says which blocks the overlay holds. A write
//! that covers part of a block first copies the rest of the block from the image.

use super::BlockBackend;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Bytes per overlay block.
const BLOCK: u64 = 4096;

/// A copy-on-write view of an image.
pub struct SnapshotOverlay {
    base: Box<dyn BlockBackend>,
    overlay: File,
    /// One bit per block: the overlay holds it.
    written: Vec<u64>,
}

impl SnapshotOverlay {
    /// Puts a temporary overlay in the host's temporary directory over `base` (opened
    /// read-only by the caller).
    pub fn new(base: Box<dyn BlockBackend>) -> io::Result<SnapshotOverlay> {
        let overlay = temp_file()?;
        overlay.set_len(base.size())?;
        let blocks = base.size().div_ceil(BLOCK);
        Ok(SnapshotOverlay { base, overlay, written: vec![0; blocks.div_ceil(64) as usize] })
    }

    fn has(&self, block: u64) -> bool {
        self.written[(block / 64) as usize] & (1 << (block % 64)) != 0
    }

    fn mark(&mut self, block: u64) {
        self.written[(block / 64) as usize] |= 1 << (block % 64);
    }

    /// The bytes of block `block` that exist (the last block may be short).
    fn block_len(&self, block: u64) -> usize {
        (self.base.size() - block * BLOCK).min(BLOCK) as usize
    }

    /// Splits [offset, offset + len) at block boundaries: (block, offset in block, length).
    fn pieces(offset: u64, len: u64) -> impl Iterator<Item = (u64, usize, usize)> {
        let end = offset + len;
        let mut at = offset;
        std::iter::from_fn(move || {
            (at < end).then(|| {
                let (block, within) = (at / BLOCK, at % BLOCK);
                let n = (BLOCK - within).min(end - at);
                at += n;
                (block, within as usize, n as usize)
            })
        })
    }
}

/// An unlinked file in `$TMPDIR` (or /var/tmp, as QEMU): nothing is left behind, whatever way
/// the process ends.
fn temp_file() -> io::Result<File> {
    let dir = std::env::var_os("TMPDIR").map(std::path::PathBuf::from).unwrap_or_else(|| "/var/tmp".into());
    let mut last = None;
    for attempt in 0..16u32 {
        let path = dir.join(format!("ferrite-snapshot-{}-{attempt}", std::process::id()));
        match std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
            Ok(f) => {
                std::fs::remove_file(&path)?;
                return Ok(f);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no temporary file")))
}

impl BlockBackend for SnapshotOverlay {
    fn size(&self) -> u64 {
        self.base.size()
    }

    fn read_only(&self) -> bool {
        false
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut done = 0;
        for (block, within, n) in Self::pieces(offset, buf.len() as u64) {
            let out = &mut buf[done..done + n];
            if self.has(block) {
                self.overlay.read_exact_at(out, block * BLOCK + within as u64)?;
            } else {
                self.base.read_at(block * BLOCK + within as u64, out)?;
            }
            done += n;
        }
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut done = 0;
        for (block, within, n) in Self::pieces(offset, data.len() as u64) {
            if !self.has(block) && n < self.block_len(block) {
                // Copy the rest of the block up from the image first.
                let mut whole = vec![0u8; self.block_len(block)];
                self.base.read_at(block * BLOCK, &mut whole)?;
                self.overlay.write_all_at(&whole, block * BLOCK)?;
            }
            self.overlay.write_all_at(&data[done..done + n], block * BLOCK + within as u64)?;
            self.mark(block);
            done += n;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        // The overlay dies with the process: nothing to make durable.
        Ok(())
    }

    fn discard(&mut self, offset: u64, len: u64) -> io::Result<()> {
        // Discarded ranges read back as zeros.
        let zeros = vec![0u8; BLOCK as usize];
        let mut at = offset;
        while at < offset + len {
            let n = (offset + len - at).min(BLOCK - at % BLOCK);
            self.write_at(at, &zeros[..n as usize])?;
            at += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory image that counts writes (none may reach it).
    struct Mem {
        data: Vec<u8>,
        writes: u32,
    }

    impl BlockBackend for Mem {
        fn size(&self) -> u64 {
            self.data.len() as u64
        }
        fn read_only(&self) -> bool {
            true
        }
        fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
            buf.copy_from_slice(&self.data[offset as usize..offset as usize + buf.len()]);
            Ok(())
        }
        fn write_at(&mut self, _: u64, _: &[u8]) -> io::Result<()> {
            self.writes += 1;
            Err(io::Error::other("read-only"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn discard(&mut self, _: u64, _: u64) -> io::Result<()> {
            Err(io::Error::other("read-only"))
        }
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 4096) as u8).collect()
    }

    #[test]
    fn writes_land_in_the_overlay_and_reads_merge_both() {
        // 3.5 blocks, so the last block is short.
        let size = 3 * 4096 + 2048;
        let image = pattern(size);
        let mut o = SnapshotOverlay::new(Box::new(Mem { data: image.clone(), writes: 0 })).unwrap();
        let mut model = image.clone();
        let writes: &[(usize, usize)] = &[(100, 10), (4090, 20), (8192, 4096), (3 * 4096 + 2000, 48), (0, 1)];
        for (i, &(at, n)) in writes.iter().enumerate() {
            let data: Vec<u8> = (0..n).map(|k| (k as u8) ^ (0x55 + i as u8)).collect();
            o.write_at(at as u64, &data).unwrap();
            model[at..at + n].copy_from_slice(&data);
        }
        o.discard(4096 + 10, 30).unwrap();
        model[4096 + 10..4096 + 40].fill(0);
        let mut all = vec![0u8; size];
        o.read_at(0, &mut all).unwrap();
        assert!(all == model, "the overlay's view differs from the model");
        let mut mid = vec![0u8; 5000];
        o.read_at(3000, &mut mid).unwrap();
        assert_eq!(mid, model[3000..8000]);
        assert!(!o.read_only());
    }

    #[test]
    fn the_image_is_never_written() {
        let image = pattern(8192);
        let mut o = SnapshotOverlay::new(Box::new(Mem { data: image.clone(), writes: 0 })).unwrap();
        o.write_at(0, &[1; 8192]).unwrap();
        o.flush().unwrap();
        let mut back = vec![0u8; 8192];
        o.read_at(0, &mut back).unwrap();
        assert_eq!(back, vec![1; 8192]);
    }
}
