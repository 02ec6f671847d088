//! Running cases on qemu-ppc 7.2 (user mode, `-cpu e500mc`) through the C harness in
//! `tests/difftest/harness.c`, built with Debian's powerpc-linux-gnu-gcc.

use super::gen::{body_start, Case, Profile};
use super::state::{Outcome, Trap, UserState, MEM_SIZE};
use super::Runner;
use anyhow::{bail, Context};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Longest a qemu-ppc process may take for one batch (a few thousand cases take seconds).
const BATCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Runs cases on qemu-ppc.
pub struct QemuRunner {
    harness: PathBuf,
    qemu: String,
}

impl QemuRunner {
    /// Builds the harness (once per process) and checks qemu-ppc is there.
    pub fn new() -> anyhow::Result<QemuRunner> {
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("difftest/harness.c");
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let out = std::env::temp_dir().join(format!("ferrite-difftest-harness-{}-{n}", std::process::id()));
        let cc = std::env::var("PPC_CC").unwrap_or_else(|_| "powerpc-linux-gnu-gcc".into());
        let st = Command::new(&cc)
            .args(["-static", "-O2", "-mcpu=e500mc", "-fno-stack-protector", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .with_context(|| format!("running {cc} (install gcc-powerpc-linux-gnu)"))?;
        if !st.success() {
            // The compiler alone has no C library headers: Debian ships them separately.
            bail!("building the harness {} with {cc} failed (it needs the static C library: install libc6-dev-powerpc-cross)", src.display());
        }
        let qemu = std::env::var("QEMU_PPC").unwrap_or_else(|_| "qemu-ppc".into());
        Ok(QemuRunner { harness: out, qemu })
    }
}

impl Drop for QemuRunner {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.harness);
    }
}

fn trap_of(sig: u32, code: u32) -> Trap {
    match (sig, code) {
        (0, _) => Trap::None,
        (4, 5 | 6) => Trap::Privileged,
        (4, _) => Trap::Illegal,
        (5, _) => Trap::Trap,
        (8, _) => Trap::FpEnabled,
        (11, _) => Trap::Segv,
        (7, _) => Trap::Alignment,
        (s, _) => Trap::Other(1000 + s),
    }
}

impl Runner for QemuRunner {
    /// Runs the cases of each profile under its CPU model, keeping the order.
    fn run_batch(&mut self, cases: &[Case]) -> anyhow::Result<Vec<Outcome>> {
        let mut out: Vec<Option<Outcome>> = vec![None; cases.len()];
        for profile in [Profile::E500mc, Profile::Classic] {
            let idx: Vec<usize> = (0..cases.len()).filter(|&i| cases[i].profile == profile).collect();
            if idx.is_empty() {
                continue;
            }
            let sub: Vec<Case> = idx.iter().map(|&i| cases[i].clone()).collect();
            for (i, o) in idx.into_iter().zip(self.run_profile(&sub, profile.qemu_cpu())?) {
                out[i] = Some(o);
            }
        }
        Ok(out.into_iter().map(|o| o.expect("every case ran")).collect())
    }
}

impl QemuRunner {
    fn run_profile(&mut self, cases: &[Case], cpu: &str) -> anyhow::Result<Vec<Outcome>> {
        let mut input = Vec::new();
        for c in cases {
            let code = c.code();
            input.extend_from_slice(&0x5345_5131u32.to_be_bytes());
            input.extend_from_slice(&(code.len() as u32).to_be_bytes());
            for w in &code {
                input.extend_from_slice(&w.to_be_bytes());
            }
            input.extend_from_slice(&c.init.to_block());
            input.extend_from_slice(&c.mem);
        }
        let mut child = Command::new(&self.qemu)
            .args(["-cpu", cpu])
            .arg(&self.harness)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("running {} (install qemu-user)", self.qemu))?;
        let mut stdin = child.stdin.take().expect("piped");
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        // A watchdog: qemu-ppc can hang on a case (seen once in 10 million, an FP trap loop).
        // Killing it makes the case count as a QEMU crash, and the batch goes on without it.
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let pid = child.id();
        let watchdog = std::thread::spawn(move || {
            if done_rx.recv_timeout(BATCH_TIMEOUT).is_err() {
                // SAFETY: plain kill(2) of our own child, which has not been waited for yet.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
        });
        let mut out = Vec::new();
        child.stdout.take().expect("piped").read_to_end(&mut out)?;
        let _ = writer.join();
        let status = child.wait()?;
        let _ = done_tx.send(());
        let _ = watchdog.join();
        let rec = 12 + 0x200 + MEM_SIZE;
        let done = out.len() / rec;
        if done < cases.len() {
            // qemu-ppc itself died on case `done` (it aborts on a few words, e.g. "Unknown
            // exception"): report that case as a QEMU crash and go on with the rest.
            let c = &cases[done];
            let words: Vec<String> = c.body.iter().map(|w| format!("{w:08x} {}", ferrite_ppc::decode::mnemonic(*w).unwrap_or("(illegal)"))).collect();
            eprintln!("qemu-ppc died ({status}) on case seed {:#x}: {}", c.seed, words.join("; "));
            if status.code().is_some() {
                // An exit code, not a signal: the harness itself failed.
                bail!("qemu-ppc harness failed ({status}) after {done} of {} cases", cases.len());
            }
            let mut all = parse(&out[..done * rec]);
            all.push(Outcome { state: UserState::default(), trap: Trap::QemuCrash, trap_index: 0, mem: Vec::new() });
            all.extend(self.run_profile(&cases[done + 1..], cpu)?);
            return Ok(all);
        }
        Ok(parse(&out))
    }
}

/// Parses the harness's records.
fn parse(out: &[u8]) -> Vec<Outcome> {
    let rec = 12 + 0x200 + MEM_SIZE;
    let start = body_start();
    out.chunks(rec)
        .map(|r| {
            let w = |o: usize| u32::from_be_bytes(r[o..o + 4].try_into().unwrap());
            let trap = trap_of(w(0), w(4));
            let trap_index = if trap == Trap::None { 0 } else { w(8).wrapping_sub(start) / 4 };
            Outcome { state: UserState::from_block(&r[12..12 + 0x200]), trap, trap_index, mem: r[12 + 0x200..].to_vec() }
        })
        .collect()
}
