//! virtio-console: the default Linux image with virtio-serial-pci consoles, in QEMU's
//! spellings. The guest's /dev/hvc0 serves a shell on the terminal, exchanges lines and
//! binary data (3 MiB in, 100 KB out) with a Unix socket, and writes into files.

mod support;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::Guest;

const BOOT: Duration = Duration::from_secs(120);
const PROMPT: &str = " # ";

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ferrite-console-{}-{name}", std::process::id()))
}

/// SHA-256 of `data` in hex, by the host's sha256sum.
fn sha256(data: &[u8]) -> String {
    let mut c = std::process::Command::new("sha256sum").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
    c.stdin.take().unwrap().write_all(data).unwrap();
    let out = c.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_string()
}

/// Reads from `s` until `want` bytes arrived (or panics after `timeout`).
fn read_exactly(s: &mut UnixStream, want: usize, timeout: Duration) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let t0 = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while got.len() < want {
        assert!(t0.elapsed() < timeout, "{} of {want} bytes after {timeout:?}: {:?}", got.len(), String::from_utf8_lossy(&got));
        match s.read(&mut buf) {
            Ok(0) => panic!("socket closed after {} bytes", got.len()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("socket: {e}"),
        }
    }
    got
}

/// Waits until `path` holds `want`.
fn wait_for_file(path: &Path, want: &str) {
    let t0 = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text == want {
            return;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "{} holds {text:?}, not {want:?}", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn shell_on_hvc0_over_the_terminal() {
    let args = ["-serial", "null", "-chardev", "stdio,id=con0", "-device", "virtio-serial-pci", "-device", "virtconsole,chardev=con0", "-append", "console=hvc0"];
    let mut g = Guest::start(&args);
    g.wait_for(PROMPT, BOOT);
    let out = g.run("tty; echo $((6*7))-answer", PROMPT);
    assert!(out.contains("/dev/hvc0") && out.contains("42-answer"), "{out}");
    let out = g.run("sha256sum /etc/ferrite-test.txt", PROMPT);
    assert!(out.contains("0f4360b730ccebaf8caf802f0bc96275ab2e67975413c1761cdf2cada4bf69bf"), "{out}");
    // /init powers off when its shell exits.
    g.send(b"exit\r");
    assert!(g.wait_exit(Duration::from_secs(30)).success());
}

#[test]
fn consoles_on_a_unix_socket_and_in_files() {
    let sock = scratch("sock");
    let (file, short) = (scratch("file.txt"), scratch("short.txt"));
    let chardev_sock = format!("socket,id=c0,path={},server=on,wait=off", sock.display());
    let chardev_file = format!("file,id=c1,path={}", file.display());
    let short_form = format!("file:{}", short.display());
    let args = [
        "-nographic", "-device", "virtio-serial-pci,id=vs0", "-device", "virtconsole,chardev=c0,bus=vs0.0", "-chardev", &chardev_sock,
        "-device", "virtio-serial-pci", "-device", "virtconsole,chardev=c1", "-chardev", &chardev_file, "-virtioconsole", &short_form,
    ];
    let mut g = Guest::start(&args);
    let t0 = Instant::now();
    let mut s = loop {
        match UnixStream::connect(&sock) {
            Ok(s) => break s,
            Err(e) => assert!(t0.elapsed() < Duration::from_secs(10), "cannot connect to {}: {e}", sock.display()),
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    g.wait_for(PROMPT, BOOT);

    // Guest output reaches the socket and the files (the tty turns \n into \r\n).
    g.run("echo to-the-socket-$((6*7)) > /dev/hvc0; echo to-a-file > /dev/hvc1; echo short-form > /dev/hvc2", PROMPT);
    assert_eq!(read_exactly(&mut s, 18, Duration::from_secs(20)), b"to-the-socket-42\r\n");
    wait_for_file(&file, "to-a-file\r\n");
    wait_for_file(&short, "short-form\r\n");

    // A line from the host reaches a reader in the guest (and comes back as the tty's echo).
    g.send(b"head -n1 /dev/hvc0 > /tmp/in; echo got\"\"-$(cat /tmp/in)\r");
    s.write_all(b"typed-on-the-host\n").unwrap();
    g.wait_for("got-typed-on-the-host", Duration::from_secs(30));
    g.wait_for(PROMPT, Duration::from_secs(10));
    assert_eq!(read_exactly(&mut s, 19, Duration::from_secs(10)), b"typed-on-the-host\r\n");

    // Binary data both ways, with the tty in raw mode: 3 MiB in (more than the device holds
    // back for the guest: the writer must wait, not lose bytes), 100,000 bytes out.
    let data: Vec<u8> = (0..3u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    // Bytes that arrived before stty would go through the line discipline: wait for it.
    g.send(b"{ stty raw -echo; echo ra\"\"w-mode; head -c 3145728 | sha256sum; } < /dev/hvc0\r");
    g.wait_for("raw-mode", Duration::from_secs(30));
    let t = Instant::now();
    s.write_all(&data).unwrap();
    let out = g.wait_for(PROMPT, Duration::from_secs(60));
    eprintln!("3 MiB host to guest: {:?}", t.elapsed());
    assert!(out.contains(&sha256(&data)), "guest's checksum of what it read: {out}");
    let out = g.run("dd if=/dev/urandom of=/tmp/r bs=1000 count=100 2>/dev/null; sha256sum /tmp/r", PROMPT);
    let guest_sum = out.split_whitespace().find(|w| w.len() == 64).expect("a checksum").to_string();
    g.send(b"{ stty raw -echo; cat /tmp/r; } <> /dev/hvc0 >&0; echo se\"\"nt\r");
    let t = Instant::now();
    let got = read_exactly(&mut s, 100_000, Duration::from_secs(60));
    eprintln!("100,000 bytes guest to host: {:?}", t.elapsed());
    g.wait_for("sent", Duration::from_secs(30));
    assert_eq!(sha256(&got), guest_sum);
    for p in [&sock, &file, &short] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn console_options_are_checked() {
    for (args, want) in [
        (vec!["-device", "virtconsole,chardev=c0", "-chardev", "null,id=c0"], "no -device virtio-serial-pci before it"),
        (vec!["-device", "virtio-serial-pci", "-device", "virtconsole,chardev=c9"], "no -chardev with id 'c9'"),
        (vec!["-device", "virtio-serial-pci", "-device", "virtserialport,chardev=c0", "-chardev", "null,id=c0"], "use virtconsole"),
        (vec!["-chardev", "pty,id=p"], "not supported"),
        (vec!["-serial", "stdio", "-virtioconsole", "stdio"], "stdio is already used"),
        (vec!["-serial", "chardev:a", "-virtioconsole", "chardev:a", "-chardev", "null,id=a"], "already used by another device"),
        (vec!["-virtioconsole", "pipe:/tmp/x"], "unsupported backend"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrite")).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?} accepted; stderr: {err}");
        assert!(err.contains(want), "{args:?}: stderr should say {want:?}: {err}");
    }
}
