//! Disks: Linux on the default image finds a virtio-blk-pci disk given with `-drive`, mounts
//! it, writes to it durably, boots from it with Buildroot's command line, and a second ferrite
//! cannot open an image the first is writing.
//!
//! Needs `mke2fs` (e2fsprogs) and `e2fsck`/`debugfs` on the host to make and check images.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::{repo, Guest};

const BOOT: Duration = Duration::from_secs(120);
const PROMPT: &str = " # ";

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrite-virtio-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An ext2 image of `size_mb` MiB holding the tree at `root`, made by `mke2fs -d`.
fn ext2_image(root: &Path, image: &Path, size_mb: u32) {
    std::fs::File::create(image).unwrap().set_len(u64::from(size_mb) << 20).unwrap();
    let st = Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext2", "-d"])
        .arg(root)
        .arg(image)
        .status()
        .expect("mke2fs (e2fsprogs) is needed to make test disks");
    assert!(st.success(), "mke2fs failed");
}

/// Extracts a gzip'd newc cpio archive (the default image's initramfs) into `dir`: regular
/// files, directories and symlinks; device nodes are skipped (devtmpfs provides them).
fn extract_initramfs(cpio_gz: &Path, dir: &Path) {
    use std::io::Read;
    let mut data = Vec::new();
    let gz = Command::new("gzip").arg("-dc").arg(cpio_gz).output().expect("gzip");
    assert!(gz.status.success());
    gz.stdout.as_slice().read_to_end(&mut data).unwrap();
    let hex = |b: &[u8]| u32::from_str_radix(std::str::from_utf8(b).unwrap(), 16).unwrap() as usize;
    let mut at = 0;
    while at + 110 <= data.len() {
        let h = &data[at..at + 110];
        assert_eq!(&h[..6], b"070701", "newc cpio");
        let (mode, filesize, namesize) = (hex(&h[14..22]), hex(&h[54..62]), hex(&h[94..102]));
        let name = std::str::from_utf8(&data[at + 110..at + 110 + namesize - 1]).unwrap().to_string();
        let body = (at + 110 + namesize + 3) & !3;
        let content = &data[body..body + filesize];
        at = (body + filesize + 3) & !3;
        if name == "TRAILER!!!" {
            break;
        }
        let path = dir.join(&name);
        match mode & 0o170000 {
            0o040000 => std::fs::create_dir_all(&path).unwrap(),
            0o100000 => {
                std::fs::write(&path, content).unwrap();
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode as u32 & 0o7777)).unwrap();
            }
            0o120000 => {
                let target = std::str::from_utf8(content).unwrap().trim_end_matches('\0');
                std::os::unix::fs::symlink(target, &path).unwrap();
            }
            _ => {}
        }
    }
}

#[test]
fn data_disk_is_found_mounted_written_and_clean() {
    let dir = scratch_dir("data");
    std::fs::create_dir_all(dir.join("tree/etc")).unwrap();
    std::fs::write(dir.join("tree/etc/vdisk.txt"), "hello from the virtio disk\n").unwrap();
    let img = dir.join("disk.ext2");
    ext2_image(&dir.join("tree"), &img, 16);
    let drive = format!("file={},if=virtio,format=raw", img.display());
    let mut g = Guest::start(&["-nographic", "-drive", &drive]);
    g.wait_for("[vda] 32768 512-byte logical blocks", BOOT);
    g.wait_for(PROMPT, BOOT);
    assert!(g.run("cat /sys/block/vda/ro", PROMPT).contains("\n0"));
    let cat = g.run("mkdir -p /mnt && mount -t ext2 /dev/vda /mnt && cat /mnt/etc/vdisk.txt", PROMPT);
    assert!(cat.contains("hello from the virtio disk"), "{cat}");
    // 2 MiB of data plus a small file; the checksum must survive the round trip to the host.
    let sum = g.run("dd if=/dev/urandom of=/mnt/big bs=64k count=32 2>/dev/null; md5sum /mnt/big", PROMPT);
    let guest_md5 = sum.lines().find_map(|l| l.strip_suffix("  /mnt/big")).expect("md5sum output").trim().to_string();
    g.run("echo written-by-guest > /mnt/new.txt && sync && umount /mnt && echo un\"\"mounted", "unmounted");
    g.wait_for(PROMPT, BOOT);
    g.send(b"poweroff -f\r");
    assert!(g.wait_exit(BOOT).success());

    let fsck = Command::new("e2fsck").arg("-fn").arg(&img).output().expect("e2fsck");
    assert!(fsck.status.success(), "e2fsck: {}", String::from_utf8_lossy(&fsck.stdout));
    let cat = Command::new("debugfs").args(["-R", "cat /new.txt"]).arg(&img).output().expect("debugfs");
    assert_eq!(String::from_utf8_lossy(&cat.stdout), "written-by-guest\n");
    let out = dir.join("big");
    let dump = Command::new("debugfs").arg("-R").arg(format!("dump /big {}", out.display())).arg(&img).output().unwrap();
    assert!(dump.status.success());
    let host_md5 = Command::new("md5sum").arg(&out).output().unwrap();
    assert!(String::from_utf8_lossy(&host_md5.stdout).starts_with(&guest_md5), "guest {guest_md5} vs host");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn data_synced_by_the_guest_survives_sigkill() {
    let dir = scratch_dir("kill");
    std::fs::create_dir_all(dir.join("tree")).unwrap();
    let img = dir.join("disk.ext2");
    ext2_image(&dir.join("tree"), &img, 8);
    let drive = format!("file={},if=virtio,format=raw", img.display());
    let mut g = Guest::start(&["-nographic", "-drive", &drive]);
    g.wait_for(PROMPT, BOOT);
    g.run("mkdir -p /mnt && mount -t ext2 /dev/vda /mnt && echo synced-data > /mnt/kept.txt && sync && echo sy\"\"nc-returned", "sync-returned");
    // SIGKILL at once: no chance for ferrite to flush anything the guest had not.
    // SAFETY: plain kill(2) of our own child.
    assert_eq!(unsafe { libc::kill(g.pid() as i32, libc::SIGKILL) }, 0);
    g.wait_exit(BOOT);
    let cat = Command::new("debugfs").args(["-R", "cat /kept.txt"]).arg(&img).output().expect("debugfs");
    assert_eq!(String::from_utf8_lossy(&cat.stdout), "synced-data\n");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn root_on_a_virtio_disk_with_buildroots_command_line() {
    let dir = scratch_dir("root");
    extract_initramfs(&repo().join("images/ppc-e500mc/initramfs.cpio.gz"), &dir.join("tree"));
    let img = dir.join("rootfs.ext2");
    ext2_image(&dir.join("tree"), &img, 32);
    let drive = format!("file={},if=virtio,format=raw", img.display());
    let (st, out) = support::run_to_end(
        &[
            "-M", "ppce500", "-cpu", "e500mc", "-m", "256", "-kernel", "images/ppc-e500mc/uImage", "-drive", &drive,
            "-append", "console=ttyS0 rootwait root=/dev/vda init=/init autopoweroff", "-serial", "mon:stdio",
            "-nographic",
        ],
        BOOT,
    );
    assert!(out.contains("VFS: Mounted root (ext2 filesystem)"), "console:\n{out}");
    assert!(out.contains("boot complete, powering off"), "console:\n{out}");
    assert!(st.success(), "exit status {st}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn root_on_qcow2_over_a_backing_file_keeps_files_across_boots() {
    let dir = scratch_dir("qcow2");
    extract_initramfs(&repo().join("images/ppc-e500mc/initramfs.cpio.gz"), &dir.join("tree"));
    let base = dir.join("base.ext2");
    ext2_image(&dir.join("tree"), &base, 32);
    let top = dir.join("top.qcow2");
    let made = Command::new("qemu-img").args(["create", "-q", "-f", "qcow2", "-F", "raw", "-b"]).arg(&base).arg(&top).status();
    assert!(made.is_ok_and(|s| s.success()), "qemu-img create failed (apt-get install qemu-utils)");
    let base_before = std::fs::read(&base).unwrap();
    let drive = format!("file={},if=virtio,format=qcow2", top.display());
    let args = ["-kernel", "images/ppc-e500mc/uImage", "-drive", &drive, "-append", "console=ttyS0 root=/dev/vda rw init=/init", "-nographic"];
    let mut g = Guest::start(&args);
    g.wait_for(PROMPT, BOOT);
    g.run("echo persisted-in-qcow2 > /root/p.txt && sync && echo sy\"\"nced", "synced");
    g.send(b"poweroff -f\r");
    assert!(g.wait_exit(BOOT).success());
    let check = Command::new("qemu-img").arg("check").arg(&top).output().unwrap();
    assert!(check.status.success(), "qemu-img check: {}", String::from_utf8_lossy(&check.stdout));
    let mut g = Guest::start(&args);
    g.wait_for(PROMPT, BOOT);
    assert!(g.run("cat /root/p.txt", PROMPT).contains("persisted-in-qcow2"));
    g.send(b"poweroff -f\r");
    assert!(g.wait_exit(BOOT).success());
    assert!(std::fs::read(&base).unwrap() == base_before, "the backing file is never written");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn read_only_drive_and_image_locking() {
    let dir = scratch_dir("lock");
    std::fs::create_dir_all(dir.join("tree")).unwrap();
    let img = dir.join("disk.ext2");
    ext2_image(&dir.join("tree"), &img, 8);
    let before = std::fs::read(&img).unwrap();
    let rw = format!("file={},if=virtio,format=raw", img.display());
    let ro = format!("{rw},readonly=on");
    let mut g = Guest::start(&["-nographic", "-drive", &ro]);
    g.wait_for(PROMPT, BOOT);
    assert!(g.run("cat /sys/block/vda/ro", PROMPT).contains("\n1"), "guest sees a read-only disk");
    let w = g.run("mkdir -p /mnt; mount -t ext2 -o ro /dev/vda /mnt && ls /mnt", PROMPT);
    assert!(w.contains("lost+found"), "{w}");
    // A writer may not open the image while we read it.
    let second = Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .args(["-nographic", "-drive", &rw, "-append", "console=ttyS0 autopoweroff"])
        .current_dir(repo())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "second ferrite must be refused: {err}");
    assert!(err.contains("in use by another process"), "{err}");
    g.send(b"poweroff -f\r");
    assert!(g.wait_exit(BOOT).success());
    assert!(std::fs::read(&img).unwrap() == before, "a read-only disk is never written");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_drive_options_are_refused_clearly() {
    for (opts, expect) in [
        ("file=/nonexistent.img,if=virtio,format=raw", "cannot open disk image /nonexistent.img"),
        ("file=x.img,if=virtio,bogus=1", "unknown option 'bogus'"),
        ("file=x.img,if=scsi", "only if=virtio"),
        ("file=x.img,format=vmdk", "raw or qcow2"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ferrite")).args(["-nographic", "-drive", opts]).current_dir(repo()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "-drive {opts}: {err}");
        assert!(err.contains(expect), "-drive {opts}: stderr should say {expect:?}: {err}");
        assert!(!err.contains("panicked"));
    }
}
