//! The host-FPU fast path for the common case: round-to-nearest, no exception enabled, NI off,
//! finite normal (or zero) operands and a normal (or exactly zero) result far from the
//! overflow and underflow thresholds. There the host's IEEE double operations give the
//! PowerPC result bit for bit, and error-free transformations (TwoSum, FMA residues) tell
//! whether it was inexact, which is all the FPSCR needs (QEMU 7.2 never sets FR). Anything
//! else returns `None` and goes through the exact software path in `soft`.

use super::fpscr::{NI, RN};
use super::ops::ArithOp;

/// FPSCR bits that must be clear: the five enables, NI and a directed rounding mode.
const NEEDS_CLEAR: u32 = 0xf8 | NI | RN;

/// Smallest magnitude accepted for results and dividends: far enough above the subnormal
/// range that neither the result nor the residues used to detect inexactness underflow.
const TINY: f64 = 1.0e-270;
/// Largest magnitude accepted (below the overflow threshold with room for rounding).
const HUGE: f64 = 1.0e300;
/// The same bounds for single-precision results.
const TINY_S: f32 = 1.0e-30;
const HUGE_S: f32 = 1.0e30;

/// A result and whether it is inexact.
pub struct Fast {
    /// The FRT bit pattern.
    pub bits: u64,
    /// The result differs from the exact value.
    pub inexact: bool,
}

#[inline(always)]
fn normal_or_zero(x: f64) -> bool {
    x == 0.0 || (x.is_normal() && x.abs() >= TINY && x.abs() <= HUGE)
}

/// Operand `x` as a single, if it is one exactly (normal or zero, in the comfortable range).
#[inline(always)]
fn as_single(x: f64) -> Option<f32> {
    let s = x as f32;
    (s as f64 == x && (s == 0.0 || (s.is_normal() && s.abs() >= TINY_S && s.abs() <= HUGE_S))).then_some(s)
}

/// Error of `a + b` rounded to `s`: exact `a + b - s` (Knuth's TwoSum).
#[inline(always)]
fn two_sum_err(a: f64, b: f64, s: f64) -> f64 {
    let bb = s - a;
    (a - (s - bb)) + (b - bb)
}

/// Whether `a·x + y` differs from its rounding `r1`: the error terms r2 + r3 of Boldo and
/// Muller's ErrFma (exact when nothing underflows), both zero exactly when `r1` is exact.
#[inline(always)]
fn fma_error_nonzero(a: f64, x: f64, y: f64, r1: f64) -> bool {
    let u1 = a * x;
    let u2 = a.mul_add(x, -u1);
    let alpha1 = y + u2;
    let alpha2 = two_sum_err(y, u2, alpha1);
    let beta1 = u1 + alpha1;
    let beta2 = two_sum_err(u1, alpha1, beta1);
    let gamma = (beta1 - r1) + beta2;
    let r2 = gamma + alpha2;
    let r3 = alpha2 - (r2 - gamma);
    r2 != 0.0 || r3 != 0.0
}

/// Tries the fast path for `op` (FRA `a`, FRB `b`, FRC `c` as bit patterns).
pub fn try_arith(op: ArithOp, single: bool, fpscr: u32, a: u64, b: u64, c: u64) -> Option<Fast> {
    // `mul_add` is a call into libm unless the code is compiled for a CPU with FMA: use the
    // host's FMA instructions where it has them (the results are the same either way).
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has FMA.
        return unsafe { try_arith_fma(op, single, fpscr, a, b, c) };
    }
    try_arith_any(op, single, fpscr, a, b, c)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn try_arith_fma(op: ArithOp, single: bool, fpscr: u32, a: u64, b: u64, c: u64) -> Option<Fast> {
    try_arith_any(op, single, fpscr, a, b, c)
}

#[inline(always)]
fn try_arith_any(op: ArithOp, single: bool, fpscr: u32, a: u64, b: u64, c: u64) -> Option<Fast> {
    if fpscr & NEEDS_CLEAR != 0 {
        return None;
    }
    let (fa, fb, fc) = (f64::from_bits(a), f64::from_bits(b), f64::from_bits(c));
    if single {
        return try_single(op, fa, fb, fc);
    }
    let (r, inexact) = match op {
        ArithOp::Add | ArithOp::Sub => {
            let fb = if op == ArithOp::Sub { -fb } else { fb };
            if !normal_or_zero(fa) || !normal_or_zero(fb) {
                return None;
            }
            let r = fa + fb;
            (r, two_sum_err(fa, fb, r) != 0.0)
        }
        ArithOp::Mul => {
            if !normal_or_zero(fa) || !normal_or_zero(fc) {
                return None;
            }
            let r = fa * fc;
            if r == 0.0 && fa != 0.0 && fc != 0.0 {
                return None;
            }
            (r, fa.mul_add(fc, -r) != 0.0)
        }
        ArithOp::Div => {
            if !normal_or_zero(fa) || !normal_or_zero(fb) || fb == 0.0 {
                return None;
            }
            let r = fa / fb;
            // A zero quotient of a nonzero dividend underflowed.
            if r == 0.0 && fa != 0.0 {
                return None;
            }
            (r, (-r).mul_add(fb, fa) != 0.0)
        }
        ArithOp::Madd | ArithOp::Msub | ArithOp::Nmadd | ArithOp::Nmsub => {
            let fb = if matches!(op, ArithOp::Msub | ArithOp::Nmsub) { -fb } else { fb };
            if !normal_or_zero(fa) || !normal_or_zero(fb) || !normal_or_zero(fc) {
                return None;
            }
            let p = fa * fc;
            if p != 0.0 && p.abs() < TINY || p == 0.0 && fa != 0.0 && fc != 0.0 {
                return None;
            }
            let r = fa.mul_add(fc, fb);
            let inexact = fma_error_nonzero(fa, fc, fb, r);
            // fnmadd/fnmsub negate the rounded result (zeros included), as QEMU does.
            (if matches!(op, ArithOp::Nmadd | ArithOp::Nmsub) { -r } else { r }, inexact)
        }
        _ => return None,
    };
    if !normal_or_zero(r) {
        return None;
    }
    // The sign of an exact zero follows IEEE round-to-nearest on the host too.
    Some(Fast { bits: r.to_bits(), inexact })
}

/// Single-precision forms on single operands: the double result (exact for products, and
/// innocuously double-rounded for sums and quotients, since 53 ≥ 2·24 + 2) rounded to single.
#[inline(always)]
fn try_single(op: ArithOp, fa: f64, fb: f64, fc: f64) -> Option<Fast> {
    let (r, inexact) = match op {
        ArithOp::Add | ArithOp::Sub => {
            let (sa, sb) = (as_single(fa)?, as_single(fb)?);
            let sb = if op == ArithOp::Sub { -sb } else { sb };
            let d = sa as f64 + sb as f64;
            let err = two_sum_err(sa as f64, sb as f64, d);
            let r = d as f32;
            (r, err != 0.0 || r as f64 != d)
        }
        ArithOp::Mul => {
            let (sa, sc) = (as_single(fa)?, as_single(fc)?);
            let d = sa as f64 * sc as f64; // exact: 48 significant bits
            let r = d as f32;
            // Here and below: a single that rounds to zero from a nonzero double underflowed.
            if r == 0.0 && d != 0.0 {
                return None;
            }
            (r, r as f64 != d)
        }
        ArithOp::Div => {
            let (sa, sb) = (as_single(fa)?, as_single(fb)?);
            if sb == 0.0 {
                return None;
            }
            let d = sa as f64 / sb as f64;
            let r = d as f32;
            if r == 0.0 && d != 0.0 {
                return None;
            }
            (r, (-(r as f64)).mul_add(sb as f64, sa as f64) != 0.0)
        }
        ArithOp::Madd | ArithOp::Msub | ArithOp::Nmadd | ArithOp::Nmsub => {
            let (sa, sb, sc) = (as_single(fa)?, as_single(fb)?, as_single(fc)?);
            let p = sa as f64 * sc as f64; // exact
            let addend = if matches!(op, ArithOp::Msub | ArithOp::Nmsub) { -(sb as f64) } else { sb as f64 };
            let s = p + addend;
            let t = two_sum_err(p, addend, s);
            // Rounding s (not the exact s + t) to single is wrong only when s lies exactly
            // half-way between two singles and t tips the balance: leave that to the exact path.
            if t != 0.0 && is_single_midpoint(s) {
                return None;
            }
            let rounded = s as f32;
            if rounded == 0.0 && s != 0.0 {
                return None;
            }
            // fnmadd/fnmsub negate the rounded result (zeros included), as QEMU does.
            let r = if matches!(op, ArithOp::Nmadd | ArithOp::Nmsub) { -rounded } else { rounded };
            (r, t != 0.0 || rounded as f64 != s)
        }
        _ => return None,
    };
    if !(r == 0.0 || (r.is_normal() && r.abs() >= TINY_S && r.abs() <= HUGE_S)) {
        return None;
    }
    Some(Fast { bits: (r as f64).to_bits(), inexact })
}

/// Whether `s` is exactly half-way between two adjacent singles.
#[inline(always)]
fn is_single_midpoint(s: f64) -> bool {
    // A double in the single range has 29 extra fraction bits; a midpoint has exactly the
    // top one of them set.
    s.to_bits() & 0x1fff_ffff == 0x1000_0000
}
