//! U-Boot legacy images (`mkimage -A ppc -T kernel -C gzip|none`): a 64-byte big-endian header
//! with CRCs, then the payload, loaded at `ih_load` and entered at `ih_ep`.

use super::{check_fits, LoadError, LoadedImage};
use ferrite_softmmu::AddressSpace;
use std::path::Path;

/// The uImage magic number.
pub const UIMAGE_MAGIC: u32 = 0x2705_1956;
const HEADER: usize = 64;
const ARCH_PPC: u8 = 7;
const TYPE_KERNEL: u8 = 2;
const COMP_NONE: u8 = 0;
const COMP_GZIP: u8 = 1;
/// Decompressed kernels larger than this are refused (gzip bombs).
const MAX_PAYLOAD: u64 = 1 << 30;

fn be32(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

/// Loads a PowerPC kernel uImage from `data` into RAM of `ram` bytes at physical 0.
pub fn load_uimage(path: &Path, data: &[u8], space: &AddressSpace, ram: u64) -> Result<LoadedImage, LoadError> {
    let corrupt = |detail: String| LoadError::Corrupt { path: path.to_owned(), detail };
    if data.len() < HEADER {
        return Err(corrupt(format!("{} bytes is shorter than the 64-byte uImage header", data.len())));
    }
    let mut hdr = data[..HEADER].to_vec();
    let hcrc = be32(&hdr, 4);
    hdr[4..8].fill(0);
    if crc32fast::hash(&hdr) != hcrc {
        return Err(corrupt("header checksum mismatch".into()));
    }
    let size = be32(data, 12) as usize;
    let load = be32(data, 16) as u64;
    let ep = be32(data, 20) as u64;
    let dcrc = be32(data, 24);
    let (arch, kind, comp) = (data[29], data[30], data[31]);
    if arch != ARCH_PPC {
        return Err(LoadError::WrongArch { path: path.to_owned(), detail: format!("uImage architecture {arch}"), want: "a PowerPC (arch 7) uImage" });
    }
    if kind != TYPE_KERNEL {
        return Err(corrupt(format!("uImage type {kind} is not a kernel (2)")));
    }
    let payload = data.get(HEADER..HEADER + size).ok_or_else(|| {
        corrupt(format!("payload of {size} bytes declared, {} present", data.len() - HEADER))
    })?;
    if crc32fast::hash(payload) != dcrc {
        return Err(corrupt("payload checksum mismatch".into()));
    }
    let end = match comp {
        COMP_NONE => {
            let end = load + payload.len() as u64;
            check_fits(path, load, end, ram)?;
            space.write_ram(load, payload).map_err(|e| corrupt(e.to_string()))?;
            end
        }
        COMP_GZIP => load + gunzip_into_ram(path, payload, space, load, ram)?,
        c => return Err(corrupt(format!("unsupported uImage compression {c}"))),
    };
    Ok(LoadedImage { entry: ep, low: load, high: end })
}

/// Inflates the gzip `payload` straight into guest RAM at `load` (RAM of `ram` bytes at
/// physical 0) and returns its size. Straight into RAM because the boot waits for it: a
/// 17 MiB Linux kernel took 38-40 ms through a growing buffer and a copy, 19-21 ms this way.
/// A kernel whose gzip trailer says it does not fit is refused before anything is written.
fn gunzip_into_ram(path: &Path, payload: &[u8], space: &AddressSpace, load: u64, ram: u64) -> Result<u64, LoadError> {
    let corrupt = |detail: String| LoadError::Corrupt { path: path.to_owned(), detail };
    // ISIZE, the size modulo 2^32, ends the stream; the inflater checks it.
    let isize = payload.len().checked_sub(4).map(|at| u32::from_le_bytes(payload[at..].try_into().expect("4 bytes")) as u64);
    let Some(isize) = isize else { return Err(corrupt("gzip payload shorter than its trailer".into())) };
    check_fits(path, load, load + isize, ram)?;
    let room = (ram - load).min(MAX_PAYLOAD);
    let dst = space.ram_ptr(load, room).ok_or_else(|| corrupt(format!("load address {load:#x} is not in RAM")))?;
    // SAFETY: `ram_ptr` checked that the `room` bytes lie in one RAM region; images load
    // while no vCPU runs (at start and on reset), and like `write_ram` this treats guest RAM
    // as plain bytes.
    let dst = unsafe { std::slice::from_raw_parts_mut(dst, room as usize) };
    let n = libdeflater::Decompressor::new().gzip_decompress(payload, dst).map_err(|e| match e {
        libdeflater::DecompressionError::InsufficientSpace => {
            LoadError::TooLarge { path: path.to_owned(), start: load, end: load + room + 1, ram }
        }
        libdeflater::DecompressionError::BadData => corrupt("gzip payload: invalid compressed data".into()),
    })? as u64;
    space.note_ram_written(load, n);
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrite_softmmu::Ram;
    use std::sync::Arc;

    const RAM: u64 = 1 << 20;

    fn space() -> AddressSpace {
        let space = AddressSpace::new();
        space.add_ram("ram", 0, Arc::new(Ram::new(RAM).unwrap())).unwrap();
        space
    }

    /// A gzip uImage of `body`, loaded at `load`, its payload passed through `mangle`.
    fn uimage(body: &[u8], load: u32, mangle: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::default());
        let mut payload = vec![0; c.gzip_compress_bound(body.len())];
        let n = c.gzip_compress(body, &mut payload).unwrap();
        payload.truncate(n);
        mangle(&mut payload);
        let mut img = vec![0u8; HEADER];
        img[..4].copy_from_slice(&UIMAGE_MAGIC.to_be_bytes());
        img[12..16].copy_from_slice(&(payload.len() as u32).to_be_bytes());
        img[16..20].copy_from_slice(&load.to_be_bytes());
        img[20..24].copy_from_slice(&(load + 0x10).to_be_bytes());
        img[24..28].copy_from_slice(&crc32fast::hash(&payload).to_be_bytes());
        (img[29], img[30], img[31]) = (ARCH_PPC, TYPE_KERNEL, COMP_GZIP);
        let hcrc = crc32fast::hash(&img);
        img[4..8].copy_from_slice(&hcrc.to_be_bytes());
        img.extend_from_slice(&payload);
        img
    }

    fn body(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 300) as u8).collect()
    }

    #[test]
    fn gzip_kernel_lands_in_ram() {
        let (space, kernel) = (space(), body(300_000));
        let img = uimage(&kernel, 0x1000, |_| {});
        let got = load_uimage(Path::new("k"), &img, &space, RAM).unwrap();
        assert_eq!(got, LoadedImage { entry: 0x1010, low: 0x1000, high: 0x1000 + kernel.len() as u64 });
        let mut back = vec![0; kernel.len()];
        space.read_ram(0x1000, &mut back).unwrap();
        assert!(back == kernel, "RAM holds the decompressed kernel");
    }

    #[test]
    fn kernel_too_large_for_ram_is_refused_untouched() {
        let space = space();
        let img = uimage(&body(200_000), (RAM - 100_000) as u32, |_| {});
        let err = load_uimage(Path::new("k"), &img, &space, RAM).unwrap_err();
        assert!(matches!(err, LoadError::TooLarge { .. }), "{err}");
        let mut back = vec![0xffu8; 100_000];
        space.read_ram(RAM - 100_000, &mut back).unwrap();
        assert!(back.iter().all(|&b| b == 0), "nothing written");
    }

    #[test]
    fn lying_trailer_and_bad_data_are_errors() {
        let space = space();
        // The trailer claims a small kernel; the inflater still stops at the end of RAM.
        let shrink = |p: &mut Vec<u8>| {
            let at = p.len() - 4;
            p[at..].copy_from_slice(&16u32.to_le_bytes());
        };
        let err = load_uimage(Path::new("k"), &uimage(&body(200_000), (RAM - 100_000) as u32, shrink), &space, RAM).unwrap_err();
        assert!(matches!(err, LoadError::TooLarge { .. }), "{err}");
        let garble = |p: &mut Vec<u8>| p[20..60].fill(0xa5);
        let err = load_uimage(Path::new("k"), &uimage(&body(50_000), 0x1000, garble), &space, RAM).unwrap_err();
        assert!(matches!(err, LoadError::Corrupt { .. }), "{err}");
        let err = load_uimage(Path::new("k"), &uimage(&body(50_000), 0x1000, shrink), &space, RAM).unwrap_err();
        assert!(err.to_string().contains("gzip"), "a wrong size is caught: {err}");
    }
}
