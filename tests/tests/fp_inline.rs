//! The FP code generated inline (arithmetic on the host FPU, lfs/stfs conversions) against the
//! exact FPU model it stands in for (`ferrite_ppc::fpu::ops`), in every tier. The inline
//! arithmetic runs when the FPSCR rounds to nearest with no exception enabled; each case here
//! starts so, with random status bits, and runs every arithmetic instruction in turn on edge
//! operands (zeros, subnormals, values near the over- and underflow thresholds, NaNs,
//! infinities, singles and single rounding midpoints), so that the FPSCR the run of inline
//! operations shares is checked after every kind of operation and every fallback.

use ferrite_ppc::fpu::fpscr::{FI, FPRF, FX, XX};
use ferrite_ppc::fpu::{ops, ArithOp};
use ferrite_tests::difftest::encode::enc;
use ferrite_tests::difftest::ferrite::{FerriteRunner, Tier};
use ferrite_tests::difftest::rng::Rng;
use ferrite_tests::difftest::state::SCRATCH;
use ferrite_tests::difftest::{Case, Runner, UserState};

/// The arithmetic instructions: mnemonic, model operation, single precision.
const ARITH: &[(&str, ArithOp, bool)] = &[
    ("FADD", ArithOp::Add, false),
    ("FSUB", ArithOp::Sub, false),
    ("FMUL", ArithOp::Mul, false),
    ("FDIV", ArithOp::Div, false),
    ("FMADD", ArithOp::Madd, false),
    ("FMSUB", ArithOp::Msub, false),
    ("FNMADD", ArithOp::Nmadd, false),
    ("FNMSUB", ArithOp::Nmsub, false),
    ("FADDS", ArithOp::Add, true),
    ("FSUBS", ArithOp::Sub, true),
    ("FMULS", ArithOp::Mul, true),
    ("FDIVS", ArithOp::Div, true),
    ("FMADDS", ArithOp::Madd, true),
    ("FMSUBS", ArithOp::Msub, true),
    ("FNMADDS", ArithOp::Nmadd, true),
    ("FNMSUBS", ArithOp::Nmsub, true),
    ("FRSP", ArithOp::Rsp, false),
];

/// An operand: any double the difftest generator makes, often a single, sometimes one close
/// to where the inline path's guards draw their lines.
fn operand(r: &mut Rng) -> u64 {
    match r.below(6) {
        0 => (f64::from(f32::from_bits(r.word()))).to_bits(),
        1 => {
            // Near the guards' bounds (1e-270, 1e300) and the single range's.
            let e = r.pick(&[0x07f_u64, 0x080, 0x081, 0x0e6, 0x7e2, 0x7e3, 0x7e4, 0x380, 0x381, 0x47e, 0x47f]);
            (r.next() & 0x800f_ffff_ffff_ffff) | (e << 52)
        }
        _ => r.double(),
    }
}

/// One instruction of a body: FRT, operation, single precision, FRA/FRB/FRC, Rc.
type Insn = (usize, ArithOp, bool, [usize; 3], bool);

/// The body: every arithmetic instruction, FRT f4.. f20, on f1, f2, f3 in rotating roles,
/// some with Rc=1.
fn arith_body(r: &mut Rng) -> Vec<Insn> {
    ARITH
        .iter()
        .enumerate()
        .map(|(i, &(_, op, single))| {
            let mut regs = [1, 2, 3];
            let k = r.below(3) as usize;
            regs.rotate_left(k);
            // Sometimes an operand is an earlier result, so results feed operations.
            if i > 0 && r.chance(30) {
                regs[r.below(3) as usize] = 4 + r.below(i as u64) as usize;
            }
            (4 + i, op, single, regs, r.chance(25))
        })
        .collect()
}

fn encode(i: usize, &(frt, _, _, regs, rc): &Insn) -> u32 {
    let (name, op, _) = ARITH[i];
    let [a, b, c] = regs.map(|x| x as i64);
    let (frt, rc) = (frt as i64, i64::from(rc));
    match op {
        ArithOp::Mul => enc(name, &[("frt", frt), ("fra", a), ("frc", c), ("rc", rc)]),
        ArithOp::Rsp => enc(name, &[("frt", frt), ("frb", b), ("rc", rc)]),
        ArithOp::Add | ArithOp::Sub | ArithOp::Div => enc(name, &[("frt", frt), ("fra", a), ("frb", b), ("rc", rc)]),
        _ => enc(name, &[("frt", frt), ("fra", a), ("frb", b), ("frc", c), ("rc", rc)]),
    }
}

/// A starting FPSCR in round-to-nearest with nothing enabled: random status bits.
fn quiet_fpscr(r: &mut Rng) -> u32 {
    let mut f = 0;
    for bit in [FX, XX, FI, FPRF] {
        if r.chance(50) {
            f |= bit & r.word();
        }
    }
    f
}

fn run_arith(tier: Tier, cases: usize, seed: u64) {
    let mut r = Rng::new(seed);
    let mut runner = FerriteRunner::new(tier).expect("runner");
    let mut inexact_seen = 0;
    for n in 0..cases {
        let mut init = UserState::default();
        for f in 1..4 {
            init.fpr[f] = operand(&mut r);
        }
        init.fpscr = quiet_fpscr(&mut r);
        let ops = arith_body(&mut r);
        let body = ops.iter().enumerate().map(|(i, insn)| encode(i, insn)).collect();
        let case = Case { seed: n as u64, profile: ferrite_tests::difftest::gen::Profile::E500mc, body, init: init.clone(), mem: vec![0; 1024] };
        let got = runner.run_batch(std::slice::from_ref(&case)).expect("case ran").remove(0);
        // The model, instruction by instruction (no enables: nothing traps).
        let (mut fpr, mut fpscr, mut cr1) = (init.fpr, init.fpscr, init.cr >> 24 & 0xf);
        for &(frt, op, single, [a, b, c], rc) in &ops {
            let out = ops::arith_exact(op, single, &mut fpscr, fpr[a], fpr[b], fpr[c], true);
            assert!(!out.trap);
            fpr[frt] = out.frt.expect("no trap, so FRT is written");
            if rc {
                cr1 = fpscr >> 28;
            }
        }
        inexact_seen += usize::from(fpscr & XX != 0 && init.fpscr & XX == 0);
        let ctx = || format!("case {n} ({tier:?}): initial {:x?} fpscr {:#x}", &init.fpr[1..4], init.fpscr);
        for f in 4..4 + ARITH.len() {
            assert_eq!(got.state.fpr[f], fpr[f], "f{f} ({}): {}", ARITH[f - 4].0, ctx());
        }
        assert_eq!(got.state.fpscr, fpscr, "fpscr: {}", ctx());
        assert_eq!(got.state.cr >> 24 & 0xf, cr1, "CR1: {}", ctx());
    }
    // The cases do reach the sticky bits' 0 -> 1 transition.
    assert!(inexact_seen > cases / 20, "only {inexact_seen} cases set XX");
}

#[test]
fn inline_arithmetic_matches_the_exact_model_interpreted() {
    run_arith(Tier::Interp, 3000, 0x5eed_f10a);
}

#[test]
fn inline_arithmetic_matches_the_exact_model_compiled() {
    run_arith(Tier::Jit, 150, 0x5eed_f10b);
}

#[test]
fn inline_arithmetic_matches_the_exact_model_as_baseline_code() {
    run_arith(Tier::Baseline, 1000, 0x5eed_f10c);
}

/// stfs of f1..f8 to the scratch area, then lfs of eight words back into f9..f16: the inline
/// conversions against `ops::stfs` and `ops::lfs`, in every tier.
fn run_conversions(tier: Tier, cases: usize, seed: u64) {
    let mut r = Rng::new(seed);
    let mut runner = FerriteRunner::new(tier).expect("runner");
    for n in 0..cases {
        let mut init = UserState::default();
        init.gpr[3] = SCRATCH;
        let mut body = Vec::new();
        let mut mem = vec![0u8; 1024];
        for k in 0..8 {
            init.fpr[1 + k] = match r.below(4) {
                // Exponents around the single denormal range (874..=896) and below it.
                0 => (r.next() & 0x800f_ffff_ffff_ffff) | ((860 + r.below(40)) << 52),
                _ => operand(&mut r),
            };
            body.push(enc("STFS", &[("rt", 1 + k as i64), ("ra", 3), ("d", 4 * k as i64)]));
            let w = match r.below(3) {
                0 => r.word() | 0x7f80_0000,
                1 => r.word() & 0x807f_ffff,
                _ => r.word(),
            };
            mem[0x40 + 4 * k..0x44 + 4 * k].copy_from_slice(&w.to_be_bytes());
            body.push(enc("LFS", &[("rt", 9 + k as i64), ("ra", 3), ("d", 0x40 + 4 * k as i64)]));
        }
        let case = Case { seed: n as u64, profile: ferrite_tests::difftest::gen::Profile::E500mc, body, init: init.clone(), mem: mem.clone() };
        let got = runner.run_batch(std::slice::from_ref(&case)).expect("case ran").remove(0);
        for k in 0..8 {
            let stored = u32::from_be_bytes(got.mem[4 * k..4 * k + 4].try_into().expect("4 bytes"));
            assert_eq!(stored, ops::stfs(init.fpr[1 + k]), "stfs of {:#x} ({tier:?})", init.fpr[1 + k]);
            let w = u32::from_be_bytes(mem[0x40 + 4 * k..0x44 + 4 * k].try_into().expect("4 bytes"));
            assert_eq!(got.state.fpr[9 + k], ops::lfs(w), "lfs of {w:#x} ({tier:?})");
        }
    }
}

#[test]
fn single_conversions_match_the_model_in_every_tier() {
    run_conversions(Tier::Interp, 500, 0xc0_0001);
    run_conversions(Tier::Baseline, 300, 0xc0_0002);
    run_conversions(Tier::Jit, 40, 0xc0_0003);
}
