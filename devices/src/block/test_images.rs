//! Test images made by QEMU's own tools (qemu-utils must be installed).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{RwLock, RwLockReadGuard};

/// A spawned child holds a copy of every open file description of this process until it
/// execs, and with them their image locks: a test that closes an image and opens it again
/// could find it still locked by a `qemu-img` another test was starting. Spawns take this
/// exclusively; tests asserting on locks hold [`no_spawns`] while they open and close.
static SPAWNS: RwLock<()> = RwLock::new(());

/// Keeps other tests from spawning processes while held (do not spawn while holding it).
pub(super) fn no_spawns() -> RwLockReadGuard<'static, ()> {
    SPAWNS.read().unwrap_or_else(|e| e.into_inner())
}

/// Runs `c`, with no lock-sensitive test between its open and its close.
fn spawn(c: &mut Command) -> std::io::Result<Output> {
    let _exclusive = SPAWNS.write().unwrap_or_else(|e| e.into_inner());
    c.output()
}

/// A fresh, empty scratch directory for one test.
pub(super) fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ferrite-block-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `qemu-img ARGS`; every subcommand but `check` must succeed.
pub(super) fn qemu_img(args: &[&str]) -> Output {
    let out = spawn(Command::new("qemu-img").args(args)).expect("qemu-img (apt-get install qemu-utils)");
    assert!(out.status.success() || args[0] == "check", "qemu-img {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// A qcow2 image at `dir/name` over the raw `backing` file (or of `size` without one).
pub(super) fn qcow2(dir: &Path, name: &str, backing: Option<&Path>, size: &str) -> PathBuf {
    let img = dir.join(name);
    let mut args = vec!["create", "-q", "-f", "qcow2"];
    if let Some(b) = backing {
        args.extend(["-F", "raw", "-b", b.to_str().unwrap()]);
    }
    args.extend([img.to_str().unwrap(), size]);
    qemu_img(&args);
    img
}

/// Writes through `qemu-io`: each command is one `-c` (e.g. "write -P 0x55 0 64k").
pub(super) fn qemu_io(img: &Path, cmds: &[&str]) {
    let mut c = Command::new("qemu-io");
    for cmd in cmds {
        c.args(["-c", cmd]);
    }
    let out = spawn(c.arg(img)).expect("qemu-io (apt-get install qemu-utils)");
    assert!(out.status.success(), "qemu-io {cmds:?}: {}", String::from_utf8_lossy(&out.stderr));
}
