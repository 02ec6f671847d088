//! qcow2 images through the `imago` crate (synchronous build): reads, allocating writes,
//! discards, backing files named in the image header.
//!
//! The image file is locked like a raw image (see [`super::raw`]); backing files are opened
//! read-only by imago and not locked.

use super::raw::lock;
use super::{BlockBackend, BlockError};
use imago::file::File as ImagoFile;
use imago::qcow2::Qcow2;
use imago::{FormatAccess, FormatDriverBuilder, PermissiveImplicitOpenGate};
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// An open, locked qcow2 image.
pub struct Qcow2Image {
    image: FormatAccess<ImagoFile>,
    path: PathBuf,
    read_only: bool,
    /// Holds the OFD lock for as long as the image is open.
    _lock: File,
}

impl Qcow2Image {
    /// Opens and locks `path`, with its backing chain, read-only or read-write.
    pub fn open(path: &Path, read_only: bool) -> Result<Qcow2Image, BlockError> {
        let open_err = |source| BlockError::Open { path: path.to_path_buf(), source };
        let lock_fd = OpenOptions::new().read(true).write(!read_only).open(path).map_err(open_err)?;
        lock(&lock_fd, read_only).map_err(|e| super::raw::lock_error(path, read_only, e))?;
        let qcow2 = Qcow2::<ImagoFile>::builder_path(path)
            .write(!read_only)
            .open(PermissiveImplicitOpenGate::default())
            .map_err(|source| BlockError::Format { path: path.to_path_buf(), format: "qcow2", source })?;
        Ok(Qcow2Image { image: FormatAccess::new(qcow2), path: path.to_path_buf(), read_only, _lock: lock_fd })
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
    use super::*;
    use std::process::Command;

    fn qemu_img(args: &[&str]) -> Option<std::process::Output> {
        let out = Command::new("qemu-img").args(args).output().ok()?;
        assert!(out.status.success() || args[0] == "check", "qemu-img {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        Some(out)
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ferrite-qcow2-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Images made and checked by qemu-img (qemu-utils must be installed).
    #[test]
    fn qemu_img_images_round_trip_and_stay_clean() {
        let d = dir("rt");
        let base = d.join("base.raw");
        std::fs::write(&base, (0..1u32 << 20).map(|i| (i / 4096) as u8).collect::<Vec<_>>()).unwrap();
        let top = d.join("top.qcow2");
        let (b, t) = (base.to_str().unwrap(), top.to_str().unwrap());
        assert!(qemu_img(&["create", "-q", "-f", "qcow2", "-b", b, "-F", "raw", t]).is_some(), "qemu-img create failed (apt-get install qemu-utils)");
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
        let check = qemu_img(&["check", t]).unwrap();
        assert!(check.status.success(), "qemu-img check: {}", String::from_utf8_lossy(&check.stdout));
        let flat = d.join("flat.raw");
        qemu_img(&["convert", "-O", "raw", t, flat.to_str().unwrap()]).unwrap();
        let data = std::fs::read(&flat).unwrap();
        assert_eq!(&data[0xfffe..0x1_0004], b"qcow2!");
        assert_eq!(data[0xfffd], 15);
        assert!(data[0x8_0000..0x9_0000].iter().all(|&x| x == 0), "discarded to zero");
        assert_eq!(data[0x9_0000], 0x90);
        assert_eq!(std::fs::read(&base).unwrap()[0x1_0000], 16, "backing file untouched");
        // A missing backing file and a truncated image are refused with the reason.
        std::fs::remove_file(&base).unwrap();
        let e = Qcow2Image::open(&top, true).unwrap_err().to_string();
        assert!(e.contains("cannot open qcow2 image") && e.contains("base.raw"), "{e}");
        std::fs::write(&top, &b"QFI\xfb\0\0\0\x03"[..]).unwrap();
        let e = Qcow2Image::open(&top, true).unwrap_err().to_string();
        assert!(e.contains("cannot open qcow2 image"), "{e}");
        let _ = std::fs::remove_dir_all(d);
    }
}
