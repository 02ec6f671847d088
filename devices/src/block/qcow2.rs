//! qcow2 images through the `imago` crate (synchronous build): reads, allocating writes,
//! discards, backing files named in the image header.
//!
//! Every file of the image is opened through [`ChainGate`], which locks it (the image like a
//! raw image, see [`super::raw`]; its backing files shared) and checks it against truncation.

use super::chain::{Chain, ChainGate};
use super::{BlockBackend, BlockError};
use imago::file::File as ImagoFile;
use imago::format::gate::ImplicitOpenGate;
use imago::qcow2::Qcow2;
use imago::{FormatAccess, FormatDriverBuilder, StorageOpenOptions};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// An open, locked qcow2 image.
pub struct Qcow2Image {
    image: FormatAccess<ImagoFile>,
    path: PathBuf,
    read_only: bool,
    /// Hold the OFD locks on the image and its backing chain for as long as it is open.
    _locks: Vec<File>,
}

impl Qcow2Image {
    /// Opens and locks `path`, with its backing chain, read-only or read-write.
    pub fn open(path: &Path, read_only: bool) -> Result<Qcow2Image, BlockError> {
        let chain = Chain::new(path);
        let mut gate = ChainGate { chain: &chain };
        // The file first, so it is locked before anything reads it.
        let opts = StorageOpenOptions::new().filename(path).write(!read_only);
        let opened = gate
            .open_storage(opts)
            .and_then(|file| gate.open_format(Qcow2::<ImagoFile>::builder(file).write(!read_only)));
        let mut chain = chain.into_inner();
        // The gate's own refusal says more than the message imago passed on.
        let image = opened.map_err(|source| {
            chain.take_refusal().unwrap_or_else(|| BlockError::Format { path: path.to_path_buf(), format: "qcow2", source })
        })?;
        Ok(Qcow2Image { image, path: path.to_path_buf(), read_only, _locks: chain.into_locks() })
    }

    /// The image's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl BlockBackend for Qcow2Image {
    fn size(&self) -> u64 {
        self.image.size()
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.image.read(buf, offset)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if self.read_only {
            return Err(io::Error::from(io::ErrorKind::PermissionDenied));
        }
        self.image.write(data, offset)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.read_only {
            return Ok(());
        }
        // Metadata caches to the file, then the file to the disk.
        self.image.flush()?;
        self.image.sync()
    }

    fn discard(&mut self, offset: u64, len: u64) -> io::Result<()> {
        if self.read_only {
            return Err(io::Error::from(io::ErrorKind::PermissionDenied));
        }
        self.image.discard_to_zero(offset, len)
    }
}

impl std::fmt::Debug for Qcow2Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qcow2Image").field("path", &self.path).field("read_only", &self.read_only).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_images::{qcow2, qemu_img, scratch};
    use super::*;

    /// Images made and checked by qemu-img (qemu-utils must be installed).
    #[test]
    fn qemu_img_images_round_trip_and_stay_clean() {
        let d = scratch("rt");
        let base = d.join("base.raw");
        std::fs::write(&base, (0..1u32 << 20).map(|i| (i / 4096) as u8).collect::<Vec<_>>()).unwrap();
        let top = qcow2(&d, "top.qcow2", Some(&base), "1M");
        let t = top.to_str().unwrap();
        let mut img = Qcow2Image::open(&top, false).unwrap();
        assert_eq!(img.size(), 1 << 20);
        let mut buf = [0u8; 8];
        img.read_at(5 * 4096 - 4, &mut buf).unwrap();
        assert_eq!(buf, [4, 4, 4, 4, 5, 5, 5, 5], "reads fall through to the backing file");
        img.write_at(0x1_0000 - 2, b"qcow2!").unwrap();
        img.discard(0x8_0000, 0x1_0000).unwrap();
        img.flush().unwrap();
        assert!(matches!(Qcow2Image::open(&top, true), Err(BlockError::Locked { .. })));
        drop(img);
        let check = qemu_img(&["check", t]);
        assert!(check.status.success(), "qemu-img check: {}", String::from_utf8_lossy(&check.stdout));
        let flat = d.join("flat.raw");
        qemu_img(&["convert", "-O", "raw", t, flat.to_str().unwrap()]);
        let data = std::fs::read(&flat).unwrap();
        assert_eq!(&data[0xfffe..0x1_0004], b"qcow2!");
        assert_eq!(data[0xfffd], 15);
        assert!(data[0x8_0000..0x9_0000].iter().all(|&x| x == 0), "discarded to zero");
        assert_eq!(data[0x9_0000], 0x90);
        assert_eq!(std::fs::read(&base).unwrap()[0x1_0000], 16, "backing file untouched");
        let _ = std::fs::remove_dir_all(d);
    }
}
