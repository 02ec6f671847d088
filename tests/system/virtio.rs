//! Disks: Linux on the default image finds a virtio-blk-pci disk given with `-drive`, mounts
//! it and writes to it durably; it boots with root on the image's ext4 disk
//! (`rootfs.ext4.xz`), raw or under a qcow2 overlay, with Buildroot's command line; two
//! ferrites never open one writable image (or the backing file under an overlay) at once;
//! `-snapshot` leaves the image as it was; broken qcow2 images are refused.
//!
//! Needs e2fsprogs (`mke2fs`, `e2fsck`, `debugfs`), qemu-utils (`qemu-img`) and xz.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::{refused, repo, Guest};

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
    power_off(g);

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

/// A private copy of the image's ext4 root disk, `images/ppc-e500mc/rootfs.ext4.xz`.
fn root_disk(dir: &Path, name: &str) -> PathBuf {
    let img = dir.join(name);
    let out = std::fs::File::create(&img).unwrap();
    let xz = repo().join("images/ppc-e500mc/rootfs.ext4.xz");
    let st = Command::new("xz").arg("-dc").arg(xz).stdout(out).status().expect("xz (xz-utils) is needed");
    assert!(st.success(), "xz -dc rootfs.ext4.xz failed");
    img
}

/// A qcow2 overlay `name` in `dir` over the raw image `base`, made by `qemu-img`.
fn overlay(dir: &Path, name: &str, base: &Path) -> PathBuf {
    let top = dir.join(name);
    let made = Command::new("qemu-img").args(["create", "-q", "-f", "qcow2", "-F", "raw", "-b"]).arg(base).arg(&top).status();
    assert!(made.is_ok_and(|s| s.success()), "qemu-img create failed (apt-get install qemu-utils)");
    top
}

/// Buildroot's `qemu_ppc_e500mc` command line (its `readme.txt`), with `drive` for the disk
/// and `extra` appended to the kernel command line.
fn buildroot(drive: &str, extra: &str) -> Vec<String> {
    let append = format!("console=ttyS0 rootwait root=/dev/vda{extra}");
    ["-M", "ppce500", "-cpu", "e500mc", "-m", "256", "-kernel", "images/ppc-e500mc/uImage", "-drive", drive, "-append", &append]
        .into_iter()
        .chain(["-serial", "mon:stdio", "-nographic"])
        .map(String::from)
        .collect()
}

/// Boots Buildroot's command line on `drive` to the shell; checks that root is the disk,
/// mounted read-write.
fn boot_root_disk(drive: &str) -> Guest {
    let args = buildroot(drive, "");
    let mut g = Guest::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    g.wait_for("VFS: Mounted root (ext4 filesystem) readonly on device 254:0", BOOT);
    g.wait_for(PROMPT, BOOT);
    let root = g.run("grep ' / ' /proc/mounts", PROMPT);
    assert!(root.contains("/dev/root / ext4 rw,"), "root is the disk, made writable by /sbin/init: {root}");
    g
}

/// Types `poweroff -f` and expects a clean exit.
fn power_off(mut g: Guest) {
    g.send(b"poweroff -f\r");
    assert!(g.wait_exit(BOOT).success(), "exit status");
}

/// Reads `path` in an ext4 image the way the kernel would after a power cut: on a scratch
/// copy, after `e2fsck -fy` replays the journal and finds nothing else to fix.
fn read_from_ext4(img: &Path, path: &str) -> String {
    let copy = img.with_extension("fsck");
    std::fs::copy(img, &copy).unwrap();
    let fsck = Command::new("e2fsck").arg("-fy").arg(&copy).output().expect("e2fsck");
    // 0: clean; 1: fixed (the journal replay counts as that).
    assert!(matches!(fsck.status.code(), Some(0 | 1)), "e2fsck: {}", String::from_utf8_lossy(&fsck.stdout));
    let cat = Command::new("debugfs").args(["-R", &format!("cat {path}")]).arg(&copy).output().expect("debugfs");
    std::fs::remove_file(copy).unwrap();
    String::from_utf8_lossy(&cat.stdout).into_owned()
}

#[test]
fn root_disk_with_buildroots_command_line_keeps_files_across_boots() {
    let dir = scratch_dir("rootraw");
    let img = root_disk(&dir, "rootfs.ext4");
    let drive = format!("file={},if=virtio,format=raw", img.display());
    let mut g = boot_root_disk(&drive);
    g.run("echo kept-on-the-raw-root > /root/kept.txt && sync && echo sy\"\"nced", "synced");
    power_off(g);
    assert_eq!(read_from_ext4(&img, "/root/kept.txt"), "kept-on-the-raw-root\n", "on the host");
    let mut g = boot_root_disk(&drive);
    assert!(g.run("cat /root/kept.txt", PROMPT).contains("kept-on-the-raw-root"));
    power_off(g);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn root_disk_under_a_qcow2_overlay_keeps_files_and_leaves_the_base_alone() {
    let dir = scratch_dir("rootqcow2");
    let base = root_disk(&dir, "base.ext4");
    let top = overlay(&dir, "top.qcow2", &base);
    let base_before = std::fs::read(&base).unwrap();
    let drive = format!("file={},if=virtio,format=qcow2", top.display());
    let check = || {
        let out = Command::new("qemu-img").arg("check").arg(&top).output().unwrap();
        assert!(out.status.success(), "qemu-img check: {}", String::from_utf8_lossy(&out.stdout));
        assert!(String::from_utf8_lossy(&out.stdout).contains("No errors were found"));
    };
    let mut g = boot_root_disk(&drive);
    g.run("echo kept-in-the-overlay > /root/kept.txt && sync && echo sy\"\"nced", "synced");
    power_off(g);
    check();
    let mut g = boot_root_disk(&drive);
    assert!(g.run("cat /root/kept.txt", PROMPT).contains("kept-in-the-overlay"));
    power_off(g);
    check();
    assert!(std::fs::read(&base).unwrap() == base_before, "the backing file is never written");
    let _ = std::fs::remove_dir_all(dir);
}

/// `-snapshot` (and `snapshot=on`): the guest writes freely, reads its writes back, and the
/// image is byte for byte what it was after the run; while it runs, the image is only read
/// (another reader may open it, a writer may not).
#[test]
fn snapshot_writes_are_dropped_and_the_image_is_only_read() {
    let dir = scratch_dir("snapshot");
    let img = root_disk(&dir, "root.ext4");
    let before = std::fs::read(&img).unwrap();
    for (drive, global) in [(format!("file={},if=virtio,format=raw", img.display()), true), (format!("file={},if=virtio,format=raw,snapshot=on", img.display()), false)] {
        let mut args = buildroot(&drive, "");
        if global {
            args.push("-snapshot".into());
        }
        let mut g = Guest::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
        g.wait_for(PROMPT, BOOT);
        // 3 MiB of data and a file, through the page cache and back from the disk.
        let out = g.run(
            "dd if=/dev/urandom of=/root/big bs=64k count=48 2>/dev/null; sha256sum /root/big > /root/sum; sync; echo 3 > /proc/sys/vm/drop_caches; sha256sum -c /root/sum && echo wr\"\"ote-ok",
            PROMPT,
        );
        assert!(out.contains("/root/big: OK") && out.contains("wrote-ok"), "{out}");
        // Meanwhile the image is shared: readers may open it, writers may not.
        let reader = Command::new("dd").arg(format!("if={}", img.display())).args(["of=/dev/null", "count=1"]).status().unwrap();
        assert!(reader.success());
        refused(&["-nographic", "-drive", &format!("file={},if=virtio,format=raw", img.display())], &["in use by another process"]);
        power_off(g);
        assert!(std::fs::read(&img).unwrap() == before, "snapshot=on wrote to the image");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_overlay_and_its_backing_file_are_locked_against_other_processes() {
    let dir = scratch_dir("chainlock");
    let base = root_disk(&dir, "base.ext4");
    let (a, b) = (overlay(&dir, "a.qcow2", &base), overlay(&dir, "b.qcow2", &base));
    let drive = |img: &Path, format: &str| format!("file={},if=virtio,format={format}", img.display());
    let g = boot_root_disk(&drive(&a, "qcow2"));
    // While the overlay runs, nobody may write its base, nor open the overlay again ...
    let base_in_use = format!("disk image {} is in use by another process", base.display());
    refused(&["-nographic", "-drive", &drive(&base, "raw")], &[&base_in_use, "write lock"]);
    let a_in_use = format!("disk image {} is in use by another process", a.display());
    refused(&["-nographic", "-drive", &drive(&a, "qcow2")], &[&a_in_use]);
    // ... but a second overlay shares the base (and the disk's init honours autopoweroff).
    let args = buildroot(&drive(&b, "qcow2"), " autopoweroff");
    let (st, out) = support::run_to_end(&args.iter().map(String::as_str).collect::<Vec<_>>(), BOOT);
    assert!(out.contains("boot complete, powering off") && st.success(), "second overlay ({st}):\n{out}");
    power_off(g);
    // A writer of the base keeps overlays away; the message says which file and why.
    let mut w = Guest::start(&["-nographic", "-drive", &drive(&base, "raw")]);
    w.wait_for(PROMPT, BOOT);
    let its_base = format!("cannot open qcow2 image {}: its backing file: {base_in_use}", a.display());
    refused(&["-nographic", "-drive", &drive(&a, "qcow2")], &[&its_base, "shared lock"]);
    power_off(w);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn broken_qcow2_images_are_refused_clearly() {
    let dir = scratch_dir("badqcow2");
    let base = root_disk(&dir, "base.ext4");
    let good = std::fs::read(overlay(&dir, "top.qcow2", &base)).unwrap();
    let drive = |img: &Path| format!("file={},if=virtio,format=qcow2,readonly=on", img.display());
    let try_open = |name: &str, bytes: &[u8], expect: &str| {
        let img = dir.join(name);
        std::fs::write(&img, bytes).unwrap();
        refused(&["-nographic", "-drive", &drive(&img)], &[&format!("cannot open qcow2 image {}", img.display()), expect]);
    };
    try_open("short.qcow2", &good[..40], "truncated or corrupt: the header (bytes 0..72) lies past the end");
    try_open("cut.qcow2", &good[..0x1_8000], "the L1 table (bytes 196608..196616) lies past the end of the file (98304 bytes)");
    // Guest data qemu-io wrote at 1 MiB, its cluster cut off.
    let data = dir.join("data.qcow2");
    std::fs::write(&data, &good).unwrap();
    let io = Command::new("qemu-io").args(["-c", "write -P 0x55 1M 64k"]).arg(&data).output().expect("qemu-io");
    assert!(io.status.success(), "{}", String::from_utf8_lossy(&io.stderr));
    let written = std::fs::read(&data).unwrap();
    try_open("data.qcow2", &written[..written.len() - 0x1_0000], "the data of guest bytes 1048576..1114112");
    // Corrupt headers: an L1 entry pointing past the end, a cluster size of 2 GiB.
    let mut bad = good.clone();
    let l1 = u64::from_be_bytes(good[40..48].try_into().unwrap()) as usize;
    bad[l1..l1 + 8].copy_from_slice(&(1u64 << 63 | 1 << 30).to_be_bytes());
    try_open("l1.qcow2", &bad, "L2 table 0 (bytes 1073741824..1073807360) lies past the end");
    let mut bad = good.clone();
    bad[20..24].copy_from_slice(&31u32.to_be_bytes());
    try_open("clusters.qcow2", &bad, "cluster size");
    // A backing file that is gone, and a chain that comes back to itself.
    let loop_img = dir.join("loop.qcow2");
    std::fs::write(&loop_img, &good).unwrap();
    let rebase = Command::new("qemu-img").args(["rebase", "-u", "-f", "qcow2", "-F", "qcow2", "-b"]).arg(&loop_img).arg(&loop_img).status();
    assert!(rebase.is_ok_and(|s| s.success()));
    refused(&["-nographic", "-drive", &drive(&loop_img)], &[&format!("its backing chain comes back to {}", loop_img.display())]);
    std::fs::rename(&base, dir.join("moved.ext4")).unwrap();
    let gone = format!("its backing file: cannot open disk image {}: No such file", base.display());
    try_open("orphan.qcow2", &good, &gone);
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
    refused(&["-nographic", "-drive", &rw, "-append", "console=ttyS0 autopoweroff"], &["in use by another process"]);
    power_off(g);
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
        refused(&["-nographic", "-drive", opts], &[expect]);
    }
}
