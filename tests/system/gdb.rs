//! The GDB stub, driven by the real `gdb-multiarch` in batch mode (Debian's), and by a raw
//! client that sends malformed packets.
//!
//! * a bare-metal program (`tests/guest/ppc/gdb/debugee.c`, built `-O0 -g`): break by name,
//!   step into and over, finish, read and change registers and memory, a write watchpoint that
//!   stops at the storing instruction, continue to the end;
//! * the default Linux image with its kernel symbols (`images/ppc-e500mc/vmlinux.syms.xz`):
//!   break at `start_kernel`, backtrace, break at a syscall handler reached from the shell,
//!   detach, and the shell goes on;
//! * malformed, truncated and oversized packets, and a second client, while a guest runs.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use support::Guest;

const GDB: &str = "gdb-multiarch";

fn guest_dir() -> PathBuf {
    support::repo().join("tests/guest/ppc")
}

/// Builds the debugger's guest programs once.
fn build() -> &'static Path {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let r = BUILT.get_or_init(|| {
        let out = Command::new("make").arg("-C").arg(guest_dir()).output().map_err(|e| format!("cannot run make: {e}"))?;
        if !out.status.success() {
            return Err(format!("make -C tests/guest/ppc failed (needs gcc-powerpc-linux-gnu):\n{}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(())
    });
    if let Err(e) = r {
        panic!("{e}");
    }
    assert!(Command::new(GDB).arg("--version").output().is_ok(), "{GDB} not found: apt-get install gdb-multiarch");
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| guest_dir().join("build/gdb"))
}

/// A TCP port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// gdb-multiarch running a batch script, its output (stdout and stderr interleaved, as a
/// terminal shows them) going to a log file.
struct GdbRun {
    child: std::process::Child,
    script: PathBuf,
    log: PathBuf,
}

impl GdbRun {
    /// Starts gdb-multiarch on `elf` with `commands` (one per line) after connecting to `port`.
    fn start(elf: &Path, port: u16, commands: &str) -> GdbRun {
        let text = format!("set pagination off\nset confirm off\nset width 0\nset tcp auto-retry on\nset tcp connect-timeout 60\ntarget remote 127.0.0.1:{port}\n{commands}\n");
        let base = std::env::temp_dir().join(format!("ferrite-gdb-{}-{port}", std::process::id()));
        let (script, log) = (base.with_extension("gdb"), base.with_extension("log"));
        std::fs::write(&script, text).unwrap();
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(GDB)
            .args(["-q", "-nx", "-batch", "-x"])
            .arg(&script)
            .arg(elf)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("cannot run gdb-multiarch");
        GdbRun { child, script, log }
    }

    /// What gdb printed so far.
    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until gdb's output contains `text`.
    fn wait_for(&self, text: &str, timeout: Duration) {
        let t0 = Instant::now();
        while !self.output().contains(text) {
            assert!(t0.elapsed() < timeout, "gdb did not print {text:?} within {timeout:?}:\n{}", self.output());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends gdb the Ctrl-C of a terminal (SIGINT): it interrupts the running target.
    fn interrupt(&self) {
        // SAFETY: kill with a valid signal on our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
    }

    /// Waits for gdb to finish the script; returns its whole output.
    fn finish(mut self) -> String {
        let status = self.child.wait().expect("gdb-multiarch");
        let text = self.output();
        let _ = std::fs::remove_file(&self.script);
        let _ = std::fs::remove_file(&self.log);
        assert!(status.code().is_some(), "gdb crashed: {status}\n{text}");
        text
    }
}

/// Runs a gdb batch script to its end; returns gdb's output.
fn gdb_batch(elf: &Path, port: u16, commands: &str) -> String {
    GdbRun::start(elf, port, commands).finish()
}

/// Asserts that `needles` appear in `hay` in this order.
fn assert_in_order(hay: &str, needles: &[&str]) {
    let mut at = 0;
    for n in needles {
        match hay[at..].find(n) {
            Some(i) => at += i + n.len(),
            None => panic!("expected {n:?} (after the earlier matches) in gdb's output:\n{hay}"),
        }
    }
}

#[test]
fn bare_metal_breakpoints_steps_registers_memory_and_watchpoints() {
    let dir = build();
    let elf = dir.join("debugee.elf");
    let port = free_port();
    let mut g = Guest::start(&["-nographic", "-kernel", elf.to_str().unwrap(), "-gdb", &format!("tcp::{port}"), "-S"]);
    std::thread::sleep(Duration::from_millis(300));
    let commands = "\
print $pc
break sum_squares
continue
backtrace
print $tbl
shell sleep 1
print $tbl
monitor info registers
monitor info tlb
monitor info mtree
monitor frobnicate
next
next
step
info frame
finish
set $r3 = 1000
print $r3
next
info locals
print/x watched
set var watched = 100
x/1dw &watched
watch watched
continue
x/i $pc - 4
delete
rwatch watched
continue
delete
hbreak printf_
continue
delete
continue
";
    let t = gdb_batch(&elf, port, commands);
    let tbl: Vec<&str> = t.lines().filter(|l| l.starts_with("$2 = ") || l.starts_with("$3 = ")).map(|l| &l[5..]).collect();
    assert!(tbl.len() == 2 && tbl[0] == tbl[1], "the timebase moved while stopped: {tbl:?}\n{t}");
    assert_in_order(
        &t,
        &[
            "<_start>",
            "Breakpoint 1 at",
            "Breakpoint 1, sum_squares (n=4) at",
            "#0  sum_squares (n=4)",
            "#1  ",
            "in main () at",
            // The clock stands still while the debugger holds the machine.
            "$2 = ",
            "$3 = ",
            "NIP ",
            "GPR00",
            "FPSCR",
            "TLB  idx",
            "0xe0000000 -> 0xfe0000000",
            "address-space: memory",
            "(ram): ram",
            "unknown command 'frobnicate'",
            // next, next: into the loop body
            "17\t        total += square(i);",
            // step: into square
            "square (x=1) at",
            "in sum_squares (n=4) at",
            "Value returned is $4 = 1",
            "$5 = 1000",
            "16\t    for (int i = 1; i <= n; i++)",
            "i = 1",
            "total = 1000",
            "$6 = 0x0",
            "100",
            "Hardware watchpoint 2: watched",
            "Old value = 100",
            "New value = 105",
            "bump (by=5) at",
            // gdb reports after stepping the watched store: the instruction before the PC.
            "stw",
            // The read in bump(7).
            "Hardware read watchpoint 3: watched",
            "Value = 105",
            "bump (by=7) at",
            "Hardware assisted breakpoint 4 at",
            "Breakpoint 4, ",
            "printf_",
            "exited normally",
        ],
    );
    let st = g.wait_exit(Duration::from_secs(30));
    let console = g.output();
    assert!(st.success(), "ferrite must exit 0 after the guest powers off, got {st}\n{console}\n{t}");
    // The register write (square's result) and the memory write (watched) changed the run.
    assert!(console.contains("sum_squares(4) = 1029"), "console:\n{console}\ngdb:\n{t}");
    assert!(console.contains("watched = 112"), "console:\n{console}\ngdb:\n{t}");
}

/// Two cores (`tests/guest/ppc/smp.c`, `-smp 2`): each is a thread; a breakpoint that only the
/// second core reaches stops there and names its thread, registers are per thread, and a step
/// moves only the thread gdb names.
#[test]
fn smp_cores_are_threads_that_stop_and_step_on_their_own() {
    let elf = build().parent().expect("build/").join("smp.elf");
    let port = free_port();
    let mut g = Guest::start(&["-nographic", "-smp", "2", "-kernel", elf.to_str().unwrap(), "-gdb", &format!("tcp::{port}"), "-S"]);
    std::thread::sleep(Duration::from_millis(300));
    let commands = "\
info threads
break secondary_main
continue
info threads
print/x $r3
thread 1
print/x $pc
thread 2
print/x $pc
stepi
print/x $pc
thread 1
print/x $pc
delete
continue
";
    let t = gdb_batch(&elf, port, commands);
    assert_in_order(
        &t,
        &["* 1    Thread 1.1", "  2    Thread 1.2", "Thread 2 hit Breakpoint 1, ", "in secondary_main ()", "* 2    Thread 1.2", "$1 = 0x5eed"],
    );
    let values: Vec<u64> = t
        .lines()
        .filter_map(|l| l.split_once(" = 0x").filter(|(k, _)| k.starts_with('$')).and_then(|(_, v)| u64::from_str_radix(v.trim(), 16).ok()))
        .collect();
    let [_, cpu0, cpu1, cpu1_stepped, cpu0_after] = values[..] else { panic!("five values expected:\n{t}") };
    assert_ne!(cpu0, cpu1, "the threads have their own PCs:\n{t}");
    assert_eq!(cpu1_stepped, cpu1 + 4, "stepi on thread 2 moves its PC one instruction:\n{t}");
    assert_eq!(cpu0_after, cpu0, "and leaves thread 1 where it was:\n{t}");
    assert!(t.contains("exited normally"), "{t}");
    let st = g.wait_exit(Duration::from_secs(30));
    assert!(st.success() && g.output().contains("doorbells: CPU 0 took 1, CPU 1 took 1"), "{}", g.output());
}

/// The default image's kernel symbols, unpacked once.
fn kernel_symbols() -> PathBuf {
    static SYMS: OnceLock<PathBuf> = OnceLock::new();
    SYMS.get_or_init(|| {
        let out = std::env::temp_dir().join(format!("ferrite-vmlinux-{}.syms", std::process::id()));
        let xz = support::repo().join("images/ppc-e500mc/vmlinux.syms.xz");
        let data = Command::new("xz").arg("-dc").arg(&xz).output().expect("xz not found (apt-get install xz-utils)");
        assert!(data.status.success(), "cannot unpack {}", xz.display());
        std::fs::write(&out, data.stdout).unwrap();
        out
    })
    .clone()
}

#[test]
fn linux_kernel_breakpoints_backtrace_and_a_syscall_from_the_shell() {
    build();
    let syms = kernel_symbols();
    let port = free_port();
    let mut g = Guest::start(&["-nographic", "-gdb", &format!("tcp::{port}"), "-S"]);
    std::thread::sleep(Duration::from_millis(300));
    let commands = "\
break start_kernel
continue
backtrace
delete
break sys_newuname
continue
backtrace
print/x $msr
delete
continue
print $pc
detach
";
    let gdb = GdbRun::start(&syms, port, commands);
    g.wait_for("~ # ", Duration::from_secs(120));
    gdb.wait_for("Breakpoint 2 at", Duration::from_secs(30));
    g.send(b"uname -m\r");
    // The breakpoint stops the guest inside the syscall; gdb then continues it, and the shell
    // prints the answer and its next prompt.
    g.wait_for("ppc", Duration::from_secs(60));
    g.wait_for("~ # ", Duration::from_secs(30));
    // gdb's Ctrl-C stops the running guest; gdb detaches and the shell goes on.
    gdb.wait_for("$1 = 0x", Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(300));
    gdb.interrupt();
    let t = gdb.finish();
    assert_in_order(
        &t,
        &[
            "Breakpoint 1, ",
            "in start_kernel ()",
            "#0 ",
            "start_kernel",
            "#1 ",
            "Breakpoint 2, ",
            "in sys_newuname ()",
            "#0 ",
            "sys_newuname",
            "#1 ",
            "$1 = 0x",
            "received signal SIGINT",
            "$2 = ",
            "(process 1) detached]",
        ],
    );
    assert!(g.run("echo still-$((20+1))", "~ # ").contains("still-21"), "the shell after detach");
    g.send(b"poweroff -f\r");
    let st = g.wait_exit(Duration::from_secs(30));
    assert!(st.success(), "power-off must exit 0, got {st}\n{}", g.output());
}

/// A raw gdb protocol client.
struct Raw(UnixStream);

impl Raw {
    fn connect(path: &Path) -> Raw {
        let t0 = Instant::now();
        loop {
            match UnixStream::connect(path) {
                Ok(s) => {
                    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    return Raw(s);
                }
                Err(e) if t0.elapsed() > Duration::from_secs(10) => panic!("cannot connect to {}: {e}", path.display()),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    fn packet(body: &[u8]) -> Vec<u8> {
        let sum = body.iter().fold(0u8, |a, b| a.wrapping_add(*b));
        [b"$".as_slice(), body, format!("#{sum:02x}").as_bytes()].concat()
    }

    /// Sends raw bytes; false if the connection is gone.
    fn send(&mut self, bytes: &[u8]) -> bool {
        self.0.write_all(bytes).is_ok()
    }

    /// Reads until a complete packet reply arrives (acks skipped); None on EOF or timeout.
    fn reply(&mut self) -> Option<String> {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = self.0.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            got.extend_from_slice(&buf[..n]);
            let s = String::from_utf8_lossy(&got).into_owned();
            if let Some(start) = s.find('$') {
                if let Some(end) = s[start..].find('#') {
                    if s.len() >= start + end + 3 {
                        let _ = self.0.write_all(b"+");
                        return Some(unrle(&s[start + 1..start + end]));
                    }
                }
            }
        }
    }

    fn command(&mut self, body: &[u8]) -> Option<String> {
        if !self.send(&Self::packet(body)) {
            return None;
        }
        self.reply()
    }
}

/// Expands the protocol's run-length encoding (`X*n`: `n - 29` more copies of `X`).
fn unrle(body: &str) -> String {
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '*' {
            let n = chars.next().map_or(0, |k| k as usize - 29);
            let last = out.chars().last().unwrap_or('0');
            out.extend(std::iter::repeat(last).take(n));
        } else {
            out.push(c);
        }
    }
    out
}

/// Malformed input for the stub: bad checksums, truncations, garbage, huge lengths, wrong
/// register sizes, unknown and oversized packets.
fn malformed_packets(seed: u64) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = vec![
        b"$m0,10#00".to_vec(),
        b"$m1000".to_vec(),
        b"$".to_vec(),
        b"#12".to_vec(),
        b"}}}}}}".to_vec(),
        b"\x03\x03\x03".to_vec(),
        Raw::packet(b"mffffffff,ffffffff"),
        Raw::packet(b"m10000,zz"),
        Raw::packet(b"M10000,4:0102"),
        Raw::packet(b"Mffffffff,ffffffff:00"),
        Raw::packet(b"G00"),
        Raw::packet(b"p9999"),
        Raw::packet(b"Pffff=00"),
        Raw::packet(b"P40=00"),
        Raw::packet(b"Z0,zz,4"),
        Raw::packet(b"Z9,0,4"),
        Raw::packet(b"z2,0,0"),
        Raw::packet(b"Hgffff"),
        Raw::packet(b"vCont;s:99"),
        Raw::packet(b"vCont;x"),
        Raw::packet(b"qXfer:features:read:target.xml:ffffffff,ffff"),
        Raw::packet(b"qXfer:features:read:nothere.xml:0,100"),
        Raw::packet(b"qRcmd,zz"),
        Raw::packet(b"qRcmd,696e666f20"),
        Raw::packet(b"X10000,4:\x01\x02"),
        Raw::packet(b"T99"),
        Raw::packet(&[b'q'; 70_000]),
        [b"$m".as_slice(), &[b'1'; 50_000], b"#00"].concat(),
    ];
    // Random bytes, and random bodies with valid checksums.
    let mut x = seed | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..200 {
        let len = (next() % 64) as usize;
        let body: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        v.push(if i % 2 == 0 { body } else { Raw::packet(&body) });
    }
    v
}

/// Starts the ticking guest (`gdb/spin.c`) with the stub on a Unix socket named after `name`;
/// returns it once it runs, its ELF and the socket path.
fn spinning_guest(name: &str) -> (Guest, PathBuf, PathBuf) {
    let elf = build().join("spin.elf");
    let sock = std::env::temp_dir().join(format!("ferrite-gdb-{name}-{}.sock", std::process::id()));
    let mut g = Guest::start(&["-nographic", "-kernel", elf.to_str().unwrap(), "-gdb", &format!("unix:{}", sock.display())]);
    g.wait_for("tick 0", Duration::from_secs(30));
    (g, elf, sock)
}

#[test]
fn malformed_packets_and_a_second_client_never_crash_anything() {
    let (mut g, elf, sock) = spinning_guest("fuzz");

    // A second client is refused while one is attached; the first keeps working.
    let mut first = Raw::connect(&sock);
    assert!(first.command(b"?").is_some_and(|r| r.starts_with('T') || r.starts_with('S')), "stop reply");
    let mut second = Raw::connect(&sock);
    let refused = second.reply();
    assert!(refused.as_deref().is_some_and(|r| r.starts_with('E')), "second client gets an error: {refused:?}");
    assert_eq!(second.reply(), None, "then the connection closes");
    // Continue, then Ctrl-C: the guest stops with SIGINT and the ticks pause.
    assert!(first.send(&Raw::packet(b"c")));
    std::thread::sleep(Duration::from_millis(300));
    assert!(first.send(b"\x03"));
    let stop = first.reply();
    assert!(stop.as_deref().is_some_and(|r| r.starts_with("T02") || r.starts_with("S02")), "Ctrl-C stops with SIGINT: {stop:?}");
    let regs = first.command(b"g");
    assert!(regs.as_deref().is_some_and(|r| !r.is_empty() && !r.starts_with('E')), "registers still readable: {regs:?}");
    assert!(first.command(b"D").is_some_and(|r| r == "OK"));
    drop(first);

    // Garbage of every kind, each batch on a fresh connection (the stub may drop a client that
    // breaks the protocol; the guest keeps running either way).
    for (i, chunk) in malformed_packets(0x9e37_79b9_7f4a_7c15).chunks(8).enumerate() {
        let mut c = Raw::connect(&sock);
        for p in chunk {
            if !c.send(p) {
                break;
            }
        }
        let _ = c.send(&Raw::packet(b"D"));
        drop(c);
        if i % 8 == 0 {
            g.wait_for("tick", Duration::from_secs(30));
        }
    }

    // A well-behaved client ends the run: set `stop` through memory, detach.
    let nm = Command::new("powerpc-linux-gnu-nm").arg(&elf).output().expect("powerpc-linux-gnu-nm (binutils-powerpc-linux-gnu)");
    let syms = String::from_utf8_lossy(&nm.stdout).into_owned();
    let addr = syms.lines().find(|l| l.ends_with(" stop")).and_then(|l| l.split_whitespace().next()).expect("symbol stop");
    let mut c = Raw::connect(&sock);
    assert!(c.command(b"?").is_some(), "stop reply after the fuzzing");
    assert_eq!(c.command(format!("M{addr},4:00000001").as_bytes()).as_deref(), Some("OK"));
    assert_eq!(c.command(format!("m{addr},4").as_bytes()).as_deref(), Some("00000001"));
    assert_eq!(c.command(b"D").as_deref(), Some("OK"));
    let st = g.wait_exit(Duration::from_secs(30));
    let console = g.output();
    assert!(st.success(), "ferrite must exit 0, got {st}\n{console}");
    assert!(console.contains("stopped by the debugger"), "console:\n{console}");
}

#[test]
fn kill_from_the_debugger_ends_ferrite() {
    let (mut g, _elf, sock) = spinning_guest("kill");
    let mut c = Raw::connect(&sock);
    assert!(c.command(b"?").is_some());
    assert!(c.send(&Raw::packet(b"k")));
    let st = g.wait_exit(Duration::from_secs(10));
    assert!(st.code().is_some(), "ferrite exits by itself after kill, got {st}");
    assert!(!sock.exists(), "the socket file is removed on exit");
}
