//! Opening a qcow2 image with the files it refers to (backing files, an external data file).
//!
//! imago opens every file of an image through an `ImplicitOpenGate`; [`ChainGate`] is ours.
//! Before imago opens a file, the gate takes an OFD lock on it as [`super::raw`] does: exclusive
//! for a writable file, shared for the read-only backing files. So a second writer of an
//! overlay, and a writer of a backing file some overlay is using, are refused, as QEMU refuses
//! them; overlays may share a backing file. The gate also refuses a chain that names a file
//! twice (imago would follow the loop until the stack overflows) and checks each qcow2 layer
//! against its file ([`super::qcow2_check`]).

use super::qcow2_check::{check_data, check_header};
use super::raw::{lock, lock_error};
use super::BlockError;
use imago::file::File as ImagoFile;
use imago::format::Format;
use imago::{FormatAccess, FormatDriverBuilder, Storage, StorageOpenOptions};
use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// The files of one image opened so far, with their locks.
pub(super) struct Chain {
    /// The image the user named.
    top: PathBuf,
    /// Canonical path and lock descriptor of every file opened, the top image first.
    locked: Vec<(PathBuf, File)>,
    /// Why opening failed, when the gate refused (imago only passes a message through).
    refusal: Option<BlockError>,
}

impl Chain {
    /// An empty chain for the image at `top`.
    pub(super) fn new(top: &Path) -> RefCell<Chain> {
        RefCell::new(Chain { top: top.to_path_buf(), locked: Vec::new(), refusal: None })
    }

    /// The lock descriptors, to keep for as long as the image is open.
    pub(super) fn into_locks(self) -> Vec<File> {
        self.locked.into_iter().map(|(_, f)| f).collect()
    }

    /// The error the gate refused with, if it did.
    pub(super) fn take_refusal(&mut self) -> Option<BlockError> {
        self.refusal.take()
    }
}

/// The gate imago opens the image's files through.
#[derive(Clone, Copy)]
pub(super) struct ChainGate<'a> {
    /// The chain being opened.
    pub(super) chain: &'a RefCell<Chain>,
}

impl ChainGate<'_> {
    /// Records why `path` is refused and returns the error to hand back to imago. Errors about
    /// a file other than the top image say which image needs it: imago opens backing files
    /// read-only and an external data file as the image itself (so the data file of a
    /// read-only image is called a backing file here).
    fn refuse(&self, path: &Path, writable: bool, error: BlockError) -> io::Error {
        let mut chain = self.chain.borrow_mut();
        let error = if path == chain.top || matches!(error, BlockError::Loop { .. }) {
            error
        } else {
            let role = if writable { "data file" } else { "backing file" };
            BlockError::Dependency { image: chain.top.clone(), role, source: Box::new(error) }
        };
        let io_error = io::Error::other(error.to_string());
        chain.refusal.get_or_insert(error);
        io_error
    }

    /// Opens and locks the file at `path` (exclusive if `writable`); a file the chain already
    /// holds is a loop.
    fn lock_file(&self, path: &Path, writable: bool) -> Result<(), BlockError> {
        let open_err = |source| BlockError::Open { path: path.to_path_buf(), source };
        let canonical = path.canonicalize().map_err(open_err)?;
        let mut chain = self.chain.borrow_mut();
        if chain.locked.iter().any(|(p, _)| *p == canonical) {
            return Err(BlockError::Loop { image: chain.top.clone(), path: path.to_path_buf() });
        }
        let fd = OpenOptions::new().read(true).write(writable).open(path).map_err(open_err)?;
        lock(&fd, !writable).map_err(|e| lock_error(path, !writable, e))?;
        chain.locked.push((canonical, fd));
        Ok(())
    }
}

// imago's `maybe_async` trait: with its `sync` feature these are plain functions.
impl imago::format::gate::ImplicitOpenGate<ImagoFile> for ChainGate<'_> {
    fn open_format<F>(&mut self, builder: F) -> io::Result<FormatAccess<ImagoFile>>
    where
        F: FormatDriverBuilder<ImagoFile>,
    {
        let path = builder.get_image_path().unwrap_or_default();
        let writable = builder.get_writable();
        let bad = |source| self.refuse(&path, writable, BlockError::Format { path: path.clone(), format: "qcow2", source });
        if F::FORMAT != Format::Qcow2 {
            return Ok(FormatAccess::new(builder.open(*self)?));
        }
        let cluster_size = check_header(&path).map_err(bad)?;
        let access = FormatAccess::new(builder.open(*self)?);
        check_data(&access, cluster_size).map_err(bad)?;
        Ok(access)
    }

    fn open_storage(&mut self, opts: StorageOpenOptions) -> io::Result<ImagoFile> {
        let path = opts.get_filename().map(Path::to_path_buf).unwrap_or_default();
        let writable = opts.get_writable();
        self.lock_file(&path, writable).map_err(|e| self.refuse(&path, writable, e))?;
        ImagoFile::open(opts).map_err(|source| self.refuse(&path, writable, BlockError::Open { path: path.clone(), source }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_images::{no_spawns, qcow2, qemu_img, scratch};
    use super::super::{Qcow2Image, RawImage};
    use super::*;

    #[test]
    fn backing_files_are_shared_and_their_writers_refused() {
        let d = scratch("chain-lock");
        let base = d.join("base.raw");
        std::fs::write(&base, vec![7u8; 1 << 20]).unwrap();
        let (a, b) = (qcow2(&d, "a.qcow2", Some(&base), "1M"), qcow2(&d, "b.qcow2", Some(&base), "1M"));
        let _locks_only_ours = no_spawns();
        // Two overlays and a reader share the base ...
        let users = (Qcow2Image::open(&a, false).unwrap(), Qcow2Image::open(&b, false).unwrap(), RawImage::open(&base, true).unwrap());
        // ... while nobody may write it.
        let e = RawImage::open(&base, false).unwrap_err();
        assert!(matches!(e, BlockError::Locked { kind: "write", .. }), "{e}");
        drop(users);
        // A writer of the base keeps overlays away; the message names both files.
        let writer = RawImage::open(&base, false).unwrap();
        let e = Qcow2Image::open(&a, true).unwrap_err().to_string();
        let want = format!("cannot open qcow2 image {}: its backing file: disk image {} is in use", a.display(), base.display());
        assert!(e.contains(&want), "{e}");
        drop(writer);
        // The refused open released the overlay's own lock.
        Qcow2Image::open(&a, false).unwrap();
        // A missing backing file is named as such.
        std::fs::remove_file(&base).unwrap();
        let e = Qcow2Image::open(&b, true).unwrap_err().to_string();
        let want = format!("its backing file: cannot open disk image {}: No such file", base.display());
        assert!(e.contains(&want), "{e}");
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn a_backing_chain_that_loops_is_refused() {
        let d = scratch("chain-loop");
        let (a, b) = (qcow2(&d, "a.qcow2", None, "1M"), qcow2(&d, "b.qcow2", None, "1M"));
        let (sa, sb) = (a.to_str().unwrap(), b.to_str().unwrap());
        qemu_img(&["rebase", "-u", "-f", "qcow2", "-F", "qcow2", "-b", sb, sa]);
        qemu_img(&["rebase", "-u", "-f", "qcow2", "-F", "qcow2", "-b", sa, sb]);
        let _locks_only_ours = no_spawns();
        for read_only in [true, false] {
            let e = Qcow2Image::open(&a, read_only).unwrap_err();
            assert!(matches!(e, BlockError::Loop { .. }), "{e}");
            assert!(e.to_string().contains(&format!("its backing chain comes back to {sa}")), "{e}");
        }
        let _ = std::fs::remove_dir_all(d);
    }
}
