//! `-pidfile FILE`: the process id written to FILE while ferrite runs, as QEMU does; the file
//! is locked, so a second ferrite (or QEMU) given the same file is refused, and removed at exit.

use anyhow::Context;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A written, locked pid file; dropping it removes the file.
pub struct PidFile {
    path: PathBuf,
    _file: File,
}

impl PidFile {
    /// Writes this process's id to `path`, holding a write lock on it.
    pub fn create(path: &Path) -> anyhow::Result<PidFile> {
        let what = || format!("-pidfile {}", path.display());
        let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(path).with_context(what)?;
        if let Err(e) = ferrite_devices::block::lock_file(&file, false) {
            anyhow::bail!("{}: locked by another process (is another ferrite or QEMU using it?): {e}", what());
        }
        file.set_len(0).with_context(what)?;
        writeln!(file, "{}", std::process::id()).with_context(what)?;
        Ok(PidFile { path: path.to_path_buf(), _file: file })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
