//! Boots the default Linux image (images/ppc-e500mc) and uses its shell over the console.

mod support;

use std::time::Duration;
use support::{run_to_end, Guest};

const BOOT: Duration = Duration::from_secs(120);

/// The sha256 of /etc/ferrite-test.txt in the image (images/ppc-e500mc/README.md).
const TEST_FILE_SHA256: &str = "0f4360b730ccebaf8caf802f0bc96275ab2e67975413c1761cdf2cada4bf69bf";

#[test]
fn default_image_boots_to_a_shell_that_runs_commands() {
    // No image arguments: the default image, as the README's run command does.
    let mut g = Guest::start(&["-nographic"]);
    g.wait_for("Welcome to ferrite's guest: ppc", BOOT);
    let prompt = " # ";
    g.wait_for(prompt, BOOT);
    assert!(g.run("uname -m", prompt).contains("\nppc"), "uname -m");
    assert!(g.run("echo \"six times seven is $((6*7))\"", prompt).contains("six times seven is 42"));
    let sum = g.run("sha256sum /etc/ferrite-test.txt", prompt);
    assert!(sum.contains(&format!("{TEST_FILE_SHA256}  /etc/ferrite-test.txt")), "sha256sum printed: {sum}");
    assert!(g.run("echo ferrite | tr a-z A-Z | sed s/RR/rr/", prompt).contains("FErrITE"), "a pipe");
    // Ctrl-C stops a running guest command (the console is the shell's controlling tty).
    // The quotes keep the marker out of the terminal's echo of the command line.
    g.send(b"sleep 30; echo sleep-was-\"\"not-interrupted\r");
    std::thread::sleep(Duration::from_millis(500));
    g.send(&[0x03]);
    g.wait_for(prompt, BOOT);
    let after = g.run("echo status=$?", prompt);
    assert!(after.contains("status=130"), "Ctrl-C did not interrupt sleep: {after}");
    assert!(!g.output().contains("sleep-was-not-interrupted"));
    g.send(b"poweroff -f\r");
    let st = g.wait_exit(BOOT);
    assert!(st.success(), "guest power-off must exit 0, got {st}");
}

/// The guest's clock comes from the board's DS1338 through the I2C controller (Linux's
/// rtc-ds1307 and i2c-mpc drivers): the host's time at boot, and `hwclock -w` sets the chip.
#[test]
fn guest_clock_comes_from_the_rtc_and_hwclock_sets_it() {
    let mut g = Guest::start(&["-nographic"]);
    let prompt = " # ";
    g.wait_for("Welcome to ferrite's guest: ppc", BOOT);
    g.wait_for(prompt, BOOT);
    let host = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let out = g.run("echo guest-time=$(date -u +%s)", prompt);
    let guest: i64 = out
        .split("guest-time=")
        .filter_map(|t| t.split_whitespace().next()?.parse().ok())
        .next()
        .unwrap_or_else(|| panic!("no guest time in {out:?}"));
    assert!((guest - host).abs() < 600, "guest clock {guest} is not the host's {host}");
    g.run("date -u -s '2031-02-03 04:05:06' >/dev/null && hwclock -w -u", prompt);
    let back = g.run("hwclock -r -u", prompt);
    assert!(back.contains("Mon Feb  3 04:05:0"), "hwclock read back: {back:?}");
    g.send(b"poweroff -f\r");
    assert!(g.wait_exit(BOOT).success());
}

/// `-smp 2`: Linux releases the second core from the spin table and runs processes on both;
/// a job pinned to CPU 1 runs there, each core's IPIs (doorbells) arrive, and work done on both
/// at once gives the right results.
#[test]
fn smp_guest_runs_processes_on_both_cores() {
    let mut g = Guest::start(&["-nographic", "-smp", "2"]);
    let prompt = " # ";
    g.wait_for("smp: Brought up 1 node, 2 CPUs", BOOT);
    g.wait_for(prompt, BOOT);
    assert!(g.run("nproc", prompt).contains("\n2"), "nproc");
    // /proc/self/stat's 39th field is the CPU the reading process runs on.
    let pinned = g.run("taskset -c 1 sh -c 'echo on-cpu-$(cut -d\" \" -f39 /proc/self/stat)'", prompt);
    assert!(pinned.contains("on-cpu-1"), "a job pinned to CPU 1: {pinned}");
    // Two pinned jobs at once, each hashing the same data: the same digests.
    let both = g.run(
        "for c in 0 1; do taskset -c $c sh -c 'i=0; while [ $i -lt 200 ]; do i=$((i+1)); cat /etc/ferrite-test.txt; done | sha256sum > /tmp/sum$0' $c & done; wait; cat /tmp/sum0 /tmp/sum1",
        prompt,
    );
    let sums: Vec<&str> = both.lines().filter(|l| l.ends_with("  -") || l.ends_with("  -\r")).collect();
    assert_eq!(sums.len(), 2, "two digests: {both}");
    assert_eq!(sums[0], sums[1], "both cores computed the same digest: {both}");
    let doorbells = g.run("grep DBL: /proc/interrupts", prompt);
    let counts: Vec<u64> = doorbells
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("DBL:"))
        .map(|rest| rest.split_whitespace().take(2).filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    assert!(counts.len() == 2 && counts.iter().all(|&n| n > 0), "doorbell IPIs on both cores: {doorbells}");
    // The console monitor lists both and shows the one chosen with `cpu N`.
    g.send(b"\x01c");
    g.wait_for("(ferrite) ", BOOT);
    g.send(b"info cpus\r");
    let cpus = g.wait_for("(ferrite) ", BOOT);
    assert!(cpus.contains("* CPU #0: pc=0x") && cpus.contains("  CPU #1: pc=0x"), "info cpus:\n{cpus}");
    g.send(b"cpu 1\r");
    g.wait_for("(ferrite) ", BOOT);
    g.send(b"info registers\r");
    assert!(g.wait_for("(ferrite) ", BOOT).contains("CPU#1"), "info registers after cpu 1");
    g.send(b"\x01c");
    g.send(b"poweroff -f\r");
    assert!(g.wait_exit(BOOT).success());
}

/// Under `-icount` the cores take turns by instruction counts, so an SMP boot repeats exactly.
#[test]
fn deterministic_smp_boots_print_identical_consoles() {
    let args = ["-nographic", "-smp", "2", "-icount", "shift=3", "-append", "console=ttyS0 autopoweroff"];
    let (st1, a) = run_to_end(&args, BOOT);
    let (st2, b) = run_to_end(&args, BOOT);
    assert!(st1.success() && st2.success());
    assert!(a.contains("Brought up 1 node, 2 CPUs") && a.contains("boot complete"), "console:\n{a}");
    assert_eq!(a, b, "two deterministic SMP boots differ");
}

/// `-rtc base=DATE` sets what the clock chip shows at start, so the guest's date.
#[test]
fn rtc_base_sets_the_guest_date() {
    let mut g = Guest::start(&["-nographic", "-rtc", "base=2006-06-17T16:01:21,clock=vm"]);
    let prompt = " # ";
    g.wait_for(prompt, BOOT);
    let out = g.run("date -u +guest-date=%F", prompt);
    assert!(out.contains("guest-date=2006-06-17"), "{out}");
    g.send(b"poweroff -f\r");
    assert!(g.wait_exit(BOOT).success());
}

#[test]
fn autopoweroff_boot_exits_zero() {
    let (st, out) = run_to_end(&["-nographic", "-append", "console=ttyS0 autopoweroff"], BOOT);
    assert!(out.contains("boot complete, powering off"), "console:\n{out}");
    assert!(st.success(), "exit status {st}; console:\n{out}");
}

#[test]
fn deterministic_boots_print_identical_consoles() {
    let args = ["-nographic", "-icount", "shift=3", "-append", "console=ttyS0 autopoweroff"];
    let (st1, a) = run_to_end(&args, BOOT);
    let (st2, b) = run_to_end(&args, BOOT);
    assert!(st1.success() && st2.success());
    assert!(a.contains("boot complete"), "console:\n{a}");
    // printk timestamps included: the whole console must match byte for byte.
    assert_eq!(a, b, "two deterministic boots differ");
}

#[test]
fn ctrl_a_x_quits() {
    let mut g = Guest::start(&["-nographic"]);
    g.wait_for("Welcome to ferrite's guest", BOOT);
    g.send(&[0x01, b'x']);
    let st = g.wait_exit(Duration::from_secs(20));
    assert!(st.success(), "Ctrl-A X must quit cleanly, got {st}");
}

#[test]
fn sigterm_stops_the_machine_cleanly() {
    use std::os::unix::process::ExitStatusExt;
    let mut g = Guest::start(&["-nographic"]);
    g.wait_for("Welcome to ferrite's guest", BOOT);
    let st = std::process::Command::new("kill").args(["-TERM", &g.pid().to_string()]).status().unwrap();
    assert!(st.success());
    let st = g.wait_exit(Duration::from_secs(20));
    assert_eq!(st.signal(), None, "ferrite must handle SIGTERM itself, not die of it: {st}");
    assert_eq!(st.code(), Some(1), "stopped by a signal: status 1");
}

#[test]
fn guest_reboot_boots_again_and_no_reboot_exits() {
    let mut g = Guest::start(&["-nographic"]);
    g.wait_for("Welcome to ferrite's guest", BOOT);
    g.wait_for(" # ", BOOT);
    g.send(b"reboot -f\r");
    // The board resets (guts RSTCR) and the same image boots again.
    g.wait_for("Welcome to ferrite's guest", BOOT);
    g.wait_for(" # ", BOOT);
    g.send(b"poweroff -f\r");
    assert!(g.wait_exit(BOOT).success());

    let mut g = Guest::start(&["-nographic", "-no-reboot"]);
    g.wait_for(" # ", BOOT);
    g.send(b"reboot -f\r");
    let st = g.wait_exit(BOOT);
    assert!(st.success(), "-no-reboot: a guest reset ends ferrite with status 0, got {st}");
    assert_eq!(g.output().matches("Welcome to ferrite's guest").count(), 1);
}

#[test]
fn serial_port_on_a_unix_socket() {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    let path = std::env::temp_dir().join(format!("ferrite-serial-{}.sock", std::process::id()));
    let spec = format!("unix:{},server", path.display());
    let mut g = Guest::start(&["-nographic", "-serial", &spec]);
    let t0 = std::time::Instant::now();
    let mut s = loop {
        match UnixStream::connect(&path) {
            Ok(s) => break s,
            Err(_) if t0.elapsed() < Duration::from_secs(20) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("cannot connect to {}: {e}", path.display()),
        }
    };
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut seen = Vec::new();
    let mut typed = false;
    let mut buf = [0u8; 4096];
    while t0.elapsed() < BOOT {
        if let Ok(n) = s.read(&mut buf) {
            seen.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&seen);
        if !typed && text.contains(" # ") {
            s.write_all(b"echo $((40+2))-over-the-socket\r").unwrap();
            typed = true;
        }
        if text.contains("42-over-the-socket") {
            s.write_all(b"poweroff -f\r").unwrap();
            break;
        }
    }
    assert!(String::from_utf8_lossy(&seen).contains("42-over-the-socket"), "console over the socket:\n{}", String::from_utf8_lossy(&seen));
    assert!(g.wait_exit(BOOT).success());
    let _ = std::fs::remove_file(&path);
}

#[test]
fn console_monitor_between_guest_lines() {
    let mut g = Guest::start(&["-nographic"]);
    let prompt = " # ";
    g.wait_for(prompt, BOOT);
    // Ctrl-A C: the monitor takes the keyboard.
    g.send(b"\x01c");
    g.wait_for("(ferrite) ", BOOT);
    g.send(b"info registers\r");
    let regs = g.wait_for("(ferrite) ", BOOT);
    assert!(regs.contains("NIP ") && regs.contains("GPR00") && regs.contains("MSR "), "info registers:\n{regs}");
    g.send(b"info mtree\r");
    let mtree = g.wait_for("(ferrite) ", BOOT);
    assert!(mtree.contains("(ram): ram") && mtree.contains("(i/o)"), "info mtree:\n{mtree}");
    g.send(b"info tlb\r");
    assert!(g.wait_for("(ferrite) ", BOOT).contains("TLB  idx"));
    g.send(b"frobnicate\r");
    assert!(g.wait_for("(ferrite) ", BOOT).contains("unknown command 'frobnicate'"));
    // Back to the guest: typed lines reach the shell again.
    g.send(b"\x01c");
    assert!(g.run("echo back$((40+2))", prompt).contains("back42"));
    // The monitor's quit ends ferrite cleanly.
    g.send(b"\x01cquit\r");
    let st = g.wait_exit(BOOT);
    assert!(st.success(), "monitor quit exits 0, got {st}");
}
