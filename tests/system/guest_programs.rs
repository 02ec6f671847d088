//! Bare-metal guest programs (`tests/guest/ppc/*.c`) run on ferrite, their console compared with
//! what qemu-system-ppc 7.2 printed for the same ELF.
//!
//! `tests/guest/ppc/expected/<name>.txt` holds QEMU's console output, byte for byte (the guest
//! prints "\r\n" line ends). The comparison is line by line and ignores a trailing "\r" on each
//! line, so a checkout that rewrote the line ends still compares equal; everything else must
//! match exactly. Each program powers the board off at its end, so ferrite must also exit 0.
//!
//! The programs are built once per test run with `make -C tests/guest/ppc`, which needs Debian's
//! cross compiler `powerpc-linux-gnu-gcc`. To re-bless a program after changing it:
//!
//! ```text
//! make -C tests/guest/ppc
//! qemu-system-ppc -M ppce500 -cpu e500mc -m 256 -nographic -monitor none -serial stdio \
//!     -net none -kernel tests/guest/ppc/build/NAME.elf </dev/null >tests/guest/ppc/expected/NAME.txt
//! ```
//!
//! `smp.c` needs two cores: its expected output comes from the same command with `-smp 2`.
//!
//! A program whose output differs because of a known ferrite bug keeps its test, marked
//! `#[ignore]` with the bug in the reason.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// How long one program may run on ferrite.
const TIMEOUT: Duration = Duration::from_secs(60);

fn guest_dir() -> PathBuf {
    support::repo().join("tests/guest/ppc")
}

/// Builds every program once; every test gets the same verdict (and message) on failure.
fn build() -> &'static Result<(), String> {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cc = "powerpc-linux-gnu-gcc";
        if Command::new(cc).arg("--version").output().is_err() {
            return Err(format!(
                "{cc} not found: the guest programs need Debian's PowerPC cross compiler \
                 (apt-get install gcc-powerpc-linux-gnu)"
            ));
        }
        let out = Command::new("make")
            .arg("-C")
            .arg(guest_dir())
            .output()
            .map_err(|e| format!("cannot run make: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "make -C tests/guest/ppc failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    })
}

/// The lines of `text` without their trailing "\r".
fn lines(text: &str) -> Vec<&str> {
    text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect()
}

/// Runs `name`.elf on ferrite and compares its console with `expected/<name>.txt`.
fn check(name: &str) {
    check_with(name, &[]);
}

/// As [`check`], with more ferrite (and QEMU) arguments.
fn check_with(name: &str, extra: &[&str]) {
    if let Err(e) = build() {
        panic!("{e}");
    }
    let elf = guest_dir().join("build").join(format!("{name}.elf"));
    let expected_path = guest_dir().join("expected").join(format!("{name}.txt"));
    let expected = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", expected_path.display()));
    let elf_arg = elf.to_str().expect("UTF-8 path");
    let mut args = vec!["-M", "ppce500", "-cpu", "e500mc", "-m", "256", "-kernel", elf_arg, "-nographic"];
    args.extend_from_slice(extra);
    let (status, output) = support::run_to_end(&args, TIMEOUT);

    let (want, got) = (lines(&expected), lines(&output));
    if want != got {
        let i = want.iter().zip(&got).position(|(w, g)| w != g).unwrap_or(want.len().min(got.len()));
        panic!(
            "{name}: console differs from QEMU's at line {} (expected {} lines, got {}):\n  \
             expected: {:?}\n  ferrite:  {:?}\nfull ferrite console:\n{output}",
            i + 1,
            want.len(),
            got.len(),
            want.get(i).copied().unwrap_or("<end of output>"),
            got.get(i).copied().unwrap_or("<end of output>"),
        );
    }
    assert!(status.success(), "{name}: ferrite exited with {status} after a matching console");
}

#[test]
fn every_program_has_expected_output() {
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(guest_dir()).expect("tests/guest/ppc") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "c") {
            let name = path.file_stem().expect("file name").to_string_lossy().into_owned();
            if !guest_dir().join("expected").join(format!("{name}.txt")).exists() {
                missing.push(name);
            }
        }
    }
    assert!(missing.is_empty(), "programs without expected/<name>.txt: {missing:?}");
}

#[test]
fn hello() {
    check("hello");
}

#[test]
fn isa_int() {
    check("isa_int");
}

#[test]
fn isa_fp() {
    check("isa_fp");
}

#[test]
fn exceptions() {
    check("exceptions");
}

#[test]
fn remap() {
    check("remap");
}

#[test]
fn timer() {
    check("timer");
}

#[test]
fn mmio_wild() {
    check("mmio_wild");
}

#[test]
fn mmio_subword() {
    check("mmio_subword");
}

/// The I2C controller and the DS1338 real-time clock behind it.
#[test]
fn i2c_rtc() {
    check("i2c_rtc");
}

/// In deterministic mode the clock starts at 2000-01-01 (the DS1338's first year), so runs
/// repeat: the same program prints the same, with the year before 2026.
#[test]
fn i2c_rtc_is_deterministic_with_icount() {
    if let Err(e) = build() {
        panic!("{e}");
    }
    let elf = guest_dir().join("build/i2c_rtc.elf");
    let args = ["-M", "ppce500", "-cpu", "e500mc", "-m", "256", "-kernel", elf.to_str().unwrap(), "-nographic", "-icount", "shift=3"];
    let (st1, first) = support::run_to_end(&args, TIMEOUT);
    let (st2, second) = support::run_to_end(&args, TIMEOUT);
    assert!(st1.success() && st2.success(), "{first}");
    assert_eq!(first, second, "two deterministic runs differ");
    assert!(first.contains("valid BCD date: yes; year 2026 or later: no"), "{first}");
    assert!(first.contains("after setting 2031-02-03 04:05:06: 31-02-03 04:05, seconds 06 or 07: yes"), "{first}");
}

/// Branches over register arithmetic, which ferrite runs as predicated runs (selects).
/// Two cores: the spin-table release, lwarx/stwcx. and a spinlock under contention, and
/// doorbells both ways.
#[test]
fn smp() {
    check_with("smp", &["-smp", "2"]);
}

/// The same with four cores (two stay in the spin table) and under `-icount`, where the cores'
/// turns are instruction counts: the same console, twice.
#[test]
fn smp_with_idle_cores_and_icount() {
    check_with("smp", &["-smp", "4"]);
    check_with("smp", &["-smp", "2", "-icount", "shift=3"]);
    check_with("smp", &["-smp", "2", "-icount", "shift=3"]);
}

#[test]
fn predicated() {
    check("predicated");
}

/// The runtime also builds for the host (`RT_HOST`: console on stdout, power-off is exit), so
/// `tests/bench/run.sh NATIVE=1` can time each benchmark as native code: hello built that way
/// prints what QEMU printed for the guest build.
#[test]
fn runtime_builds_for_the_host() {
    let dir = std::env::temp_dir().join(format!("ferrite-native-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let exe = dir.join("hello");
    let out = Command::new("cc")
        // As tests/bench/run.sh builds it: the runtime's byte loops must not become calls to
        // the memcpy/memset they define.
        .args(["-O2", "-DRT_HOST", "-fno-builtin", "-fno-tree-loop-distribute-patterns", "-o"])
        .arg(&exe)
        .arg(guest_dir().join("lib/rt.c"))
        .arg(guest_dir().join("hello.c"))
        .output()
        .expect("the host C compiler (cc) runs");
    assert!(out.status.success(), "cc -DRT_HOST failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(&exe).output().expect("the host build of hello runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(run.status.success(), "the host build of hello exited with {}", run.status);
    let expected = std::fs::read_to_string(guest_dir().join("expected/hello.txt")).expect("expected/hello.txt");
    assert_eq!(lines(&String::from_utf8_lossy(&run.stdout)), lines(&expected));
}
