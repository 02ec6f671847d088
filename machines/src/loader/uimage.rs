//! U-Boot legacy images (`mkimage -A ppc -T kernel -C gzip|none`): a 64-byte big-endian header
//! with CRCs, then the payload, loaded at `ih_load` and entered at `ih_ep`.

use super::{check_fits, LoadError, LoadedImage};
use ferrite_softmmu::AddressSpace;
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;

/// The uImage magic number.
pub const UIMAGE_MAGIC: u32 = 0x2705_1956;
const HEADER: usize = 64;
const ARCH_PPC: u8 = 7;
const TYPE_KERNEL: u8 = 2;
const COMP_NONE: u8 = 0;
const COMP_GZIP: u8 = 1;
/// Decompressed kernels larger than this are refused before inflating further (gzip bombs).
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
    let bytes = match comp {
        COMP_NONE => payload.to_vec(),
        COMP_GZIP => {
            let mut out = Vec::new();
            GzDecoder::new(payload)
                .take(MAX_PAYLOAD.min(ram) + 1)
                .read_to_end(&mut out)
                .map_err(|e| corrupt(format!("gzip payload: {e}")))?;
            out
        }
        c => return Err(corrupt(format!("unsupported uImage compression {c}"))),
    };
    let end = load + bytes.len() as u64;
    check_fits(path, load, end, ram)?;
    space.write_ram(load, &bytes).map_err(|e| corrupt(e.to_string()))?;
    Ok(LoadedImage { entry: ep, low: load, high: end })
}
