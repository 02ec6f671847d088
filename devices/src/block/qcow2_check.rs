//! Checks that a qcow2 image's metadata and data lie within its file, before the guest uses it.
//!
//! imago validates the header's fields, but reads past the end of a file as zeros: a truncated
//! image (an interrupted copy, a full disk) would open, and the clusters cut off would read as
//! zeros or fall through to the backing file. QEMU opens such images too and fails later or
//! never; ferrite refuses them at once and says what is missing. Only positions are checked
//! here; the meaning of every field stays imago's job.

use imago::file::File as ImagoFile;
use imago::{FormatAccess, ShallowMapping, Storage};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Bytes of a version 2 header, and of the version 3 fields up to `header_length`.
const V2_HEADER: u64 = 72;
const V3_HEADER: u64 = 104;
/// The bound on the L1 table and the refcount table (QEMU's and imago's: both refuse more).
const MAX_TABLE_BYTES: u64 = 32 << 20;
/// Host offset bits of an L1 entry, and of a refcount table entry.
const L1_OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
const REFTABLE_OFFSET_MASK: u64 = !0x1ff;

fn beyond_end(what: &str, start: u64, end: u64, len: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("truncated or corrupt: {what} (bytes {start}..{end}) lies past the end of the file ({len} bytes)"),
    )
}

fn be32(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]))
}

fn be64(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(v)
}

/// Checks, before imago reads them, that the header, the backing file name, the L1 table, the
/// refcount table, and the L2 tables and refcount blocks they point to lie within the file at
/// `path`. Returns the cluster size, or 0 when the header is not one imago accepts (imago then
/// says why).
pub(super) fn check_header(path: &Path) -> io::Result<u64> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut h = [0u8; V3_HEADER as usize];
    let got = read_up_to(&file, &mut h, 0)?;
    let within = |what: &str, start: u64, bytes: u64| match start.checked_add(bytes) {
        Some(end) if end <= len => Ok(()),
        Some(end) => Err(beyond_end(what, start, end, len)),
        None => Err(beyond_end(what, start, u64::MAX, len)),
    };
    if got >= 4 && &h[..4] != b"QFI\xfb" {
        return Ok(0);
    }
    within("the header", 0, V2_HEADER)?;
    let (version, cluster_bits) = (be32(&h, 4), be32(&h, 20));
    if !(2..=3).contains(&version) || !(9..=21).contains(&cluster_bits) {
        return Ok(0);
    }
    let cluster = 1u64 << cluster_bits;
    if version == 3 {
        within("the header", 0, V3_HEADER)?;
        within("the header", 0, be32(&h, 100))?;
    }
    let (backing_at, backing_len) = (be64(&h, 8), be32(&h, 16));
    if backing_at != 0 {
        within("the backing file name", backing_at, backing_len)?;
    }
    let (l1_at, l1_bytes) = (be64(&h, 40), be32(&h, 36) * 8);
    let (rt_at, rt_bytes) = (be64(&h, 48), be32(&h, 56) * cluster);
    let tables = [
        ("the L1 table", l1_at, l1_bytes, L1_OFFSET_MASK, "L2 table"),
        ("the refcount table", rt_at, rt_bytes, REFTABLE_OFFSET_MASK, "refcount block"),
    ];
    for (what, at, bytes, mask, points_to) in tables {
        if bytes == 0 || bytes > MAX_TABLE_BYTES {
            continue; // imago refuses oversized tables itself
        }
        within(what, at, bytes)?;
        let mut table = vec![0u8; bytes as usize];
        file.read_exact_at(&mut table, at)?;
        for (i, entry) in table.chunks_exact(8).enumerate() {
            let offset = be64(entry, 0) & mask;
            if offset != 0 {
                within(&format!("{points_to} {i}"), offset, cluster)?;
            }
        }
    }
    Ok(cluster)
}

/// Reads what there is of `buf.len()` bytes at `at`; returns how many.
fn read_up_to(file: &File, buf: &mut [u8], at: u64) -> io::Result<u64> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], at + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done as u64)
}

/// Walks every cluster the open image `access` stores itself (not its backing file's) and
/// checks that each starts within the file holding it. A cluster cut short by the end of the
/// file is allowed (the rest reads as zeros, as it would in QEMU).
pub(super) fn check_data(access: &FormatAccess<ImagoFile>, cluster_size: u64) -> io::Result<()> {
    let size = access.size();
    let mut at = 0;
    while at < size {
        let (mapping, len) = access.get_shallow_mapping(at, size - at)?;
        if len == 0 {
            break;
        }
        if let ShallowMapping::Raw { storage, offset, .. } = mapping {
            let file_len = storage.size()?;
            let last_cluster = (offset + len - 1) & !(cluster_size.max(1) - 1);
            if last_cluster >= file_len {
                let what = format!("the data of guest bytes {at}..{}", at + len);
                return Err(beyond_end(&what, offset, offset + len, file_len));
            }
        }
        at += len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_images::{qcow2, qemu_io, scratch};
    use super::super::Qcow2Image;
    use super::*;

    #[test]
    fn truncated_and_corrupt_images_are_refused_saying_what_is_missing() {
        let d = scratch("check");
        let img = qcow2(&d, "data.qcow2", None, "1M");
        qemu_io(&img, &["write -P 0x55 0 64k", "write -P 0x66 512k 64k"]);
        let good = std::fs::read(&img).unwrap();
        Qcow2Image::open(&img, true).expect("the intact image opens");
        let refused = |bytes: &[u8]| {
            std::fs::write(&img, bytes).unwrap();
            Qcow2Image::open(&img, true).unwrap_err().to_string()
        };
        // The last cluster written (the data at 512 KiB) cut off.
        let e = refused(&good[..good.len() - 0x1_0000]);
        assert!(e.contains("truncated or corrupt: the data of guest bytes 524288..589824"), "{e}");
        let e = refused(&good[..0x1_8000]);
        assert!(e.contains("the L1 table (bytes 196608..196616) lies past the end of the file (98304 bytes)"), "{e}");
        let e = refused(&good[..50]);
        assert!(e.contains("the header (bytes 0..72) lies past the end of the file (50 bytes)"), "{e}");
        // An L1 entry pointing 64 MiB into a file of half a MiB.
        let mut bad = good.clone();
        let l1 = be64(&good, 40) as usize;
        bad[l1..l1 + 8].copy_from_slice(&(1u64 << 63 | 64 << 20).to_be_bytes());
        let e = refused(&bad);
        assert!(e.contains("L2 table 0 (bytes 67108864..67174400) lies past the end"), "{e}");
        // A header imago refuses itself: its message comes through.
        let mut bad = good.clone();
        bad[20..24].copy_from_slice(&40u32.to_be_bytes());
        let e = refused(&bad);
        assert!(e.contains("cannot open qcow2 image") && e.contains("cluster size"), "{e}");
        let _ = std::fs::remove_dir_all(d);
    }
}
