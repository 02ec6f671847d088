//! Bad input gets a clear error naming the problem (exit status 1), never a crash or a hang.

mod support;

use std::path::PathBuf;
use std::process::Command;
use support::{refused, repo};

fn scratch(name: &str, data: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrite-refusals-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// Runs ferrite with `args`; returns (exit code, stderr).
fn ferrite(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrite")).args(args).current_dir(repo()).output().expect("run ferrite");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn image() -> Vec<u8> {
    std::fs::read(repo().join("images/ppc-e500mc/uImage")).expect("default image")
}

/// A minimal big-endian 32-bit ELF with one loadable segment at `paddr`.
fn elf(machine: u16, paddr: u32, data: &[u8]) -> Vec<u8> {
    let mut e = vec![0u8; 84];
    e[..4].copy_from_slice(b"\x7fELF");
    (e[4], e[5], e[6]) = (1, 2, 1);
    let be16 = |e: &mut Vec<u8>, o: usize, v: u16| e[o..o + 2].copy_from_slice(&v.to_be_bytes());
    let be32 = |e: &mut Vec<u8>, o: usize, v: u32| e[o..o + 4].copy_from_slice(&v.to_be_bytes());
    be16(&mut e, 16, 2); // ET_EXEC
    be16(&mut e, 18, machine);
    be32(&mut e, 20, 1);
    be32(&mut e, 24, paddr); // entry
    be32(&mut e, 28, 52); // phoff
    be16(&mut e, 40, 52);
    be16(&mut e, 42, 32);
    be16(&mut e, 44, 1);
    for (i, v) in [1u32, 84, paddr, paddr, data.len() as u32, data.len() as u32, 5, 4].iter().enumerate() {
        be32(&mut e, 52 + 4 * i, *v);
    }
    e.extend_from_slice(data);
    e
}

#[test]
fn truncated_elf() {
    let hello = elf(20, 0x10000, &[0x48, 0, 0, 0]);
    let p = scratch("truncated.elf", &hello[..60]);
    refused(&["-kernel", p.to_str().unwrap()], &["truncated.elf", "truncated"]);
}

#[test]
fn elf_of_another_architecture() {
    let p = scratch("x86.elf", &elf(62, 0x10000, &[0x90; 4]));
    refused(&["-kernel", p.to_str().unwrap()], &["x86.elf", "wrong architecture"]);
}

#[test]
fn elf_that_does_not_fit_in_ram() {
    let p = scratch("far.elf", &elf(20, 0x1000_0000, &[0x48, 0, 0, 0]));
    refused(&["-m", "64", "-kernel", p.to_str().unwrap()], &["far.elf", "does not fit in guest RAM"]);
}

#[test]
fn truncated_and_corrupt_uimage() {
    let img = image();
    let t = scratch("truncated.uImage", &img[..img.len() / 3]);
    refused(&["-kernel", t.to_str().unwrap()], &["truncated.uImage", "truncated"]);
    let mut bad = img.clone();
    bad[5000] ^= 0xff;
    let c = scratch("corrupt.uImage", &bad);
    refused(&["-kernel", c.to_str().unwrap()], &["corrupt.uImage", "checksum"]);
}

#[test]
fn bad_initrd_and_dtb() {
    refused(&["-kernel", "images/ppc-e500mc/uImage", "-initrd", "/nonexistent/initrd"], &["/nonexistent/initrd"]);
    let big = scratch("big.initrd", &vec![0u8; 80 << 20]);
    refused(&["-m", "64", "-kernel", "images/ppc-e500mc/uImage", "-initrd", big.to_str().unwrap()], &["big.initrd", "does not fit"]);
    let dtb = scratch("bad.dtb", b"this is not a device tree");
    refused(&["-kernel", "images/ppc-e500mc/uImage", "-dtb", dtb.to_str().unwrap()], &["bad.dtb", "device tree"]);
}

#[test]
fn bad_options() {
    refused(&["-M", "virt"], &["virt"]);
    refused(&["-m", "lots"], &["lots"]);
    refused(&["-d", "nonsense"], &["nonsense"]);
    refused(&["-qmp", "unix:/tmp/ferrite-no.sock"], &["-qmp unix:/tmp/ferrite-no.sock", "add ,server"]);
    refused(&["-qmp", "stdio"], &["-qmp stdio", "unix:PATH,server"]);
    refused(&["-qmp", "unix:/nonexistent/dir/q.sock,server,wait=off"], &["/nonexistent/dir/q.sock", "cannot listen"]);
    refused(&["-S", "-serial", "null"], &["-S", "-qmp"]);
    refused(&["-pidfile", "/nonexistent/dir/ferrite.pid"], &["-pidfile /nonexistent/dir/ferrite.pid", "No such file"]);
    refused(&["-name", "vm,color=red"], &["-name vm,color=red", "unknown option"]);
    refused(&["-monitor", "vc"], &["-monitor vc", "expected stdio, none, unix:PATH,server"]);
    refused(&["-monitor", "unix:/tmp/ferrite-no-mon.sock"], &["-monitor unix:/tmp/ferrite-no-mon.sock", "add ,server"]);
    refused(&["-smp", "33"], &["33", "1 to 32"]);
    refused(&["-rtc", "base=2023-02-30"], &["-rtc base=2023-02-30", "expected utc, localtime or a date"]);
}

#[test]
fn dumpdtb_writes_a_device_tree() {
    let out = std::env::temp_dir().join(format!("ferrite-dump-{}.dtb", std::process::id()));
    let (code, err) = ferrite(&["-machine", &format!("dumpdtb={}", out.display())]);
    assert_eq!(code, 0, "{err}");
    let blob = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    assert_eq!(&blob[..4], &[0xd0, 0x0d, 0xfe, 0xed]);
    let text = String::from_utf8_lossy(&blob);
    assert!(text.contains("fsl,mpic") && text.contains("ns16550"), "expected the MPIC and UART nodes");
}
