//! Replays the committed differential-test cases (generated from the master seed) on ferrite
//! and checks each outcome's digest against qemu-ppc's, recorded in tests/difftest/golden.bin
//! by `difftest --bless`. No QEMU is needed here.

use ferrite_tests::difftest::ferrite::{FerriteRunner, Tier};
use ferrite_tests::difftest::{encode, gen, golden, Runner};
use std::collections::BTreeSet;

/// Instructions the generator leaves out on purpose (see gen.rs): `sc` ends a case, qemu-ppc
/// aborts on `wait`, and qemu-ppc 7.2 lacks the e500mc cache-locking instructions.
const NOT_GENERATED: &[&str] = &["SC", "WAIT", "DCBTLS", "DCBTSTLS", "DCBLC", "ICBTLS", "ICBLC"];

fn check(tier: Tier, count: usize) {
    let (master, digests) = golden::read(&golden::path()).expect("golden file");
    assert!(digests.len() >= 100_000, "at least 100,000 committed sequences, found {}", digests.len());
    let mut runner = FerriteRunner::new(tier).expect("runner");
    let mut failures = Vec::new();
    for (i, want) in digests.iter().enumerate().take(count) {
        let case = gen::case(master, i as u64);
        let got = runner.run_batch(std::slice::from_ref(&case)).expect("case ran").remove(0);
        if got.digest() != *want {
            failures.push(i);
        }
    }
    // A block a compiler refuses runs interpreted and would pass unnoticed.
    assert_eq!(runner.compile_failures(), 0, "the JIT refused blocks (see `-d jit`)");
    if tier == Tier::Baseline {
        assert!(runner.baseline_blocks() > 0 && runner.interpreted_runs() == 0, "blocks ran interpreted, not as baseline code");
    }
    if tier == Tier::Jit {
        // Optimised blocks (those with FP) reach RAM through fastmem, as on the board.
        let fm = runner.fastmem_stats();
        assert!(fm.faults > 0 && fm.maps > 0, "fastmem never used: {fm:?}");
    }
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ from qemu-ppc ({tier:?}); first: {:?}. Inspect one with \
         `cargo run --release -p ferrite-tests --bin difftest -- --case N` (needs qemu-user).",
        failures.len(),
        &failures[..failures.len().min(20)]
    );
}

#[test]
fn every_committed_case_matches_qemu_interpreted() {
    check(Tier::Interp, usize::MAX);
}

#[test]
fn committed_cases_match_qemu_compiled() {
    // Every block compiled: a subset, since compiling costs far more than running.
    check(Tier::Jit, 1_000);
}

#[test]
fn committed_cases_match_qemu_as_baseline_code() {
    // Every block compiled by tier 1 (microseconds each) before its first run.
    check(Tier::Baseline, 20_000);
}

#[test]
fn committed_cases_cover_every_instruction() {
    let (master, digests) = golden::read(&golden::path()).expect("golden file");
    let mut seen = BTreeSet::new();
    for i in 0..digests.len() as u64 {
        for w in gen::case(master, i).body {
            if let Some(m) = ferrite_ppc::decode::mnemonic(w) {
                seen.insert(m);
            }
        }
    }
    let missing: Vec<&str> = encode::names().filter(|n| !seen.contains(n) && !NOT_GENERATED.contains(n)).collect();
    assert!(missing.is_empty(), "instructions never generated: {missing:?}");
}

/// Every word one fixed bit away from a pattern that no pattern decodes traps as qemu-ppc's
/// recorded trap, outside the primary opcodes where QEMU is known to be lenient.
#[test]
fn reserved_bit_words_trap_as_qemu_does() {
    use ferrite_tests::difftest::sweep;
    let golden = sweep::read_golden().expect("tests/difftest/reserved_sweep.txt");
    let words = sweep::words();
    let mut runner = FerriteRunner::new(Tier::Interp).expect("runner");
    let mut checked = 0;
    for (i, s) in words.iter().enumerate() {
        let Some((_, want)) = golden.iter().find(|(w, _)| *w == s.word) else {
            panic!("{:#010x} ({} with bit {} flipped) is not in the committed sweep: rerun `difftest --sweep-reserved --bless` (needs qemu-user)", s.word, s.pattern, s.bit);
        };
        if sweep::known_lenient(s.word) {
            continue;
        }
        let got = runner.run_batch(&[sweep::case(0, i, s.word)]).expect("case ran").remove(0);
        assert_eq!(&format!("{:?}", got.trap), want, "{:#010x} ({} with bit {} flipped)", s.word, s.pattern, s.bit);
        checked += 1;
    }
    assert!(checked > 600, "only {checked} words checked");
}
