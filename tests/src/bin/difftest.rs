//! Differential testing against qemu-ppc, live:
//! `difftest --count N --seed S [--jobs J] [--jit | --tier1]`;
//! `--bless` regenerates the committed golden digests from qemu-ppc.

use clap::Parser;
use ferrite_tests::difftest::ferrite::{FerriteRunner, Tier};
use ferrite_tests::difftest::gen::{self, Case};
use ferrite_tests::difftest::qemu::QemuRunner;
use ferrite_tests::difftest::{golden, sweep, Outcome, Runner, Trap};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Compare ferrite with qemu-ppc on random instruction sequences.
#[derive(Parser)]
struct Args {
    /// Number of cases.
    #[arg(long, default_value_t = 10_000)]
    count: u64,
    /// Master seed.
    #[arg(long, default_value_t = golden::MASTER_SEED)]
    seed: u64,
    /// Parallel jobs.
    #[arg(long, default_value_t = 2)]
    jobs: u64,
    /// Cases per qemu-ppc process.
    #[arg(long, default_value_t = 2000)]
    batch: u64,
    /// Write the golden file from qemu-ppc's results (with --count and --seed).
    #[arg(long)]
    bless: bool,
    /// Run ferrite with every block compiled by Cranelift (default: interpreted).
    #[arg(long, conflicts_with = "tier1")]
    jit: bool,
    /// Run ferrite with every block compiled by the baseline compiler (tier 1).
    #[arg(long)]
    tier1: bool,
    /// How many differences to print in full.
    #[arg(long, default_value_t = 10)]
    show: usize,
    /// Run only case N (of --seed) and print it with both outcomes.
    #[arg(long)]
    case: Option<u64>,
    /// Log categories for ferrite while running (`ir`, `ir_opt`), to stderr.
    #[arg(long)]
    log: Option<String>,
    /// Instead of random sequences: every word that differs from a decoder pattern in one of
    /// its fixed bits and that ferrite rejects, run alone (does qemu-ppc reject it too?).
    #[arg(long)]
    sweep_reserved: bool,
}

impl Args {
    fn tier(&self) -> Tier {
        match (self.jit, self.tier1) {
            (true, _) => Tier::Jit,
            (_, true) => Tier::Baseline,
            _ => Tier::Interp,
        }
    }
}

/// Runs one case verbosely: the code, then ferrite's and qemu-ppc's outcomes side by side.
fn one_case(a: &Args, n: u64) -> anyhow::Result<()> {
    let case = gen::case(a.seed, n);
    println!("case {n} (seed {:#x}, {:?}):\n{}", case.seed, case.profile, disassemble(&case));
    let want = QemuRunner::new()?.run_batch(std::slice::from_ref(&case))?.remove(0);
    let got = FerriteRunner::new(a.tier())?.run_batch(std::slice::from_ref(&case))?.remove(0);
    println!("initial: {:x?}", case.init);
    println!("qemu:    {:?} at {}", want.trap, want.trap_index);
    if got == want {
        println!("ferrite: the same");
        return Ok(());
    }
    println!("ferrite vs qemu:\n{}", got.diff(&want));
    std::process::exit(1);
}

/// `--sweep-reserved`: see [`sweep`]. Compares ferrite with qemu-ppc on every swept word, or
/// with `--bless` records qemu-ppc's traps for `cargo test`.
fn sweep_reserved(a: &Args) -> anyhow::Result<()> {
    let words = sweep::words();
    let cases: Vec<Case> = words.iter().enumerate().map(|(i, s)| sweep::case(a.seed, i, s.word)).collect();
    let want = QemuRunner::new()?.run_batch(&cases)?;
    if a.bless {
        sweep::write_golden(&words, &want.iter().map(|o| o.trap).collect::<Vec<_>>())?;
        println!("wrote {} words to {}", words.len(), sweep::golden_path().display());
        return Ok(());
    }
    let got = FerriteRunner::new(Tier::Interp)?.run_batch(&cases)?;
    let (mut diffs, mut lenient) = (0, 0);
    for (s, (g, w)) in words.iter().zip(got.iter().zip(&want)) {
        if g != w {
            let known = sweep::known_lenient(s.word);
            let class = if known { "known QEMU leniency" } else { "DIFFERENCE" };
            println!("{class}: {:#010x} ({} with bit {} flipped): ferrite {:?}, qemu {:?}", s.word, s.pattern, s.bit, g.trap, w.trap);
            if known {
                lenient += 1;
            } else {
                diffs += 1;
            }
        }
    }
    println!("{} words swept; QEMU runs {lenient} of primary opcodes 4, 31 and 60 that ferrite rejects; differences: {diffs}", words.len());
    if diffs > 0 {
        std::process::exit(1);
    }
    Ok(())
}

fn disassemble(case: &Case) -> String {
    let start = gen::body_start();
    case.body
        .iter()
        .enumerate()
        .map(|(i, w)| format!("  {:#010x}  {w:08x}  {}\n", start + 4 * i as u32, ferrite_ppc::decode::mnemonic(*w).unwrap_or("(illegal)")))
        .collect()
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    if let Some(items) = &a.log {
        let filter = items.split(',').map(|i| format!("{i}=trace")).collect::<Vec<_>>().join(",");
        tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(filter)).without_time().with_writer(std::io::stderr).init();
    }
    if let Some(n) = a.case {
        return one_case(&a, n);
    }
    if a.sweep_reserved {
        return sweep_reserved(&a);
    }
    let next = AtomicU64::new(0);
    let digests = Mutex::new(vec![0u64; if a.bless { a.count as usize } else { 0 }]);
    let diffs = AtomicU64::new(0);
    let qemu_crashes = AtomicU64::new(0);
    let compared = AtomicU64::new(0);
    let shown = AtomicU64::new(0);
    let coverage: Mutex<BTreeMap<&'static str, u64>> = Mutex::new(BTreeMap::new());
    let t0 = std::time::Instant::now();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let mut handles = Vec::new();
        for _ in 0..a.jobs.max(1) {
            handles.push(s.spawn(|| -> anyhow::Result<()> {
                let mut qemu = QemuRunner::new()?;
                let mut fer = if a.bless { None } else { Some(FerriteRunner::new(a.tier())?) };
                loop {
                    let first = next.fetch_add(a.batch, Ordering::SeqCst);
                    if first >= a.count {
                        return Ok(());
                    }
                    let last = (first + a.batch).min(a.count);
                    let cases: Vec<Case> = (first..last).map(|i| gen::case(a.seed, i)).collect();
                    {
                        let mut cov = coverage.lock().unwrap();
                        for c in &cases {
                            for w in &c.body {
                                *cov.entry(ferrite_ppc::decode::mnemonic(*w).unwrap_or("(illegal)")).or_default() += 1;
                            }
                        }
                    }
                    let want: Vec<Outcome> = qemu.run_batch(&cases)?;
                    if a.bless {
                        if want.iter().any(|o| o.trap == Trap::QemuCrash) {
                            anyhow::bail!("qemu-ppc crashed on a case: fix the generator before blessing");
                        }
                        let mut d = digests.lock().unwrap();
                        for (i, o) in want.iter().enumerate() {
                            d[first as usize + i] = o.digest();
                        }
                        continue;
                    }
                    let got = fer.as_mut().expect("runner").run_batch(&cases)?;
                    let n = compared.fetch_add(cases.len() as u64, Ordering::SeqCst) + cases.len() as u64;
                    if n % 100_000 < cases.len() as u64 {
                        eprintln!("progress: {n} cases compared, {} differences", diffs.load(Ordering::SeqCst));
                    }
                    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                        if w.trap == Trap::QemuCrash {
                            // Named, so that it can be looked at with --case.
                            if qemu_crashes.fetch_add(1, Ordering::SeqCst) < a.show as u64 {
                                println!("qemu-ppc crashed on case {} (not compared)", first + i as u64);
                            }
                            continue;
                        }
                        if g != w {
                            diffs.fetch_add(1, Ordering::SeqCst);
                            if (shown.fetch_add(1, Ordering::SeqCst) as usize) < a.show {
                                let c = &cases[i];
                                println!(
                                    "DIFFERENCE in case {} (seed {:#x}) (ferrite vs qemu):\n{}{}",
                                    first + i as u64,
                                    c.seed,
                                    disassemble(c),
                                    g.diff(w)
                                );
                            }
                        }
                    }
                }
            }));
        }
        for h in handles {
            h.join().expect("worker panicked")?;
        }
        Ok(())
    })?;
    let secs = t0.elapsed().as_secs_f64();
    let cov = coverage.into_inner().unwrap();
    let missing: Vec<&str> = ferrite_tests::difftest::encode::names().filter(|n| !cov.contains_key(n)).collect();
    println!("{} cases in {secs:.1}s ({:.0}/s); {} mnemonics covered", a.count, a.count as f64 / secs, cov.len());
    println!("not covered: {}", if missing.is_empty() { "none".to_string() } else { missing.join(" ") });
    if a.bless {
        let d = digests.into_inner().unwrap();
        golden::write(&golden::path(), a.seed, &d)?;
        println!("wrote {} digests to {}", d.len(), golden::path().display());
        return Ok(());
    }
    let n = diffs.load(Ordering::SeqCst);
    println!("cases qemu-ppc crashed on (not compared): {}", qemu_crashes.load(Ordering::SeqCst));
    println!("differences: {n}");
    if n > 0 {
        std::process::exit(1);
    }
    Ok(())
}
