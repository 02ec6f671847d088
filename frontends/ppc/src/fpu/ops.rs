//! Per-instruction semantics of the FPU, following QEMU 7.2's helper and translation sequence
//! exactly (see `docs/ppc-fpu.md` of the project brief): compute, report invalid operations and
//! zero divides (an enabled one traps at once, leaving FRT and FPRF alone), write FRT, set FPRF,
//! then fold overflow, underflow and inexact into the FPSCR (an enabled one traps after FRT is
//! written). The caller updates CR1 for Rc=1 unless the instruction trapped.

use super::fpscr::{self, *};
use super::soft::{self, Env, Flags, Precision, Rounding, DEFAULT_NAN};

/// What an FP instruction produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FpOutcome {
    /// The new FRT, or `None` when the instruction trapped before writing it.
    pub frt: Option<u64>,
    /// An enabled exception occurred and FP exceptions are enabled: program interrupt.
    pub trap: bool,
}

/// The arithmetic instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    /// fadd[s]
    Add,
    /// fsub[s]
    Sub,
    /// fmul[s] (FRA × FRC)
    Mul,
    /// fdiv[s]
    Div,
    /// fmadd[s]: FRA × FRC + FRB
    Madd,
    /// fmsub[s]: FRA × FRC - FRB
    Msub,
    /// fnmadd[s]: -(FRA × FRC + FRB)
    Nmadd,
    /// fnmsub[s]: -(FRA × FRC - FRB)
    Nmsub,
    /// fsqrt[s] (not on e500mc; the decoder rejects it)
    Sqrt,
    /// fres: 1/FRB rounded to single
    Res,
    /// frsqrte: 1/√FRB, two double roundings
    Rsqrte,
    /// frsp: FRB rounded to single
    Rsp,
    /// fctiw: FRB to int32 in the current rounding mode
    Ctiw,
    /// fctiwz: FRB to int32 toward zero
    Ctiwz,
}

/// State threaded through one instruction.
struct Run<'a> {
    fpscr: &'a mut u32,
    traps_enabled: bool,
}

impl Run<'_> {
    /// QEMU `finish_invalid_op_excp`: VX, FX, and FEX (+ trap) when VE.
    fn invalid_finish(&mut self) -> bool {
        *self.fpscr |= VX | FX;
        if *self.fpscr & VE != 0 {
            *self.fpscr |= FEX;
            return self.traps_enabled;
        }
        false
    }

    /// An arithmetic invalid operation (VXISI, VXIMZ, VXIDI, VXZDZ, VXSQRT, VXCVI): FR and FI
    /// cleared, FPRF "unordered" when not enabled.
    fn invalid_arith(&mut self, bit: u32, set_fpcc: bool) -> bool {
        *self.fpscr |= bit;
        *self.fpscr &= !(FR | FI);
        if *self.fpscr & VE == 0 && set_fpcc {
            *self.fpscr = (*self.fpscr & !FPRF) | FPRF_QNAN;
        }
        self.invalid_finish()
    }

    /// A signalling-NaN operand (FR/FI untouched: QEMU quirk).
    fn invalid_snan(&mut self) -> bool {
        *self.fpscr |= VXSNAN;
        self.invalid_finish()
    }

    /// QEMU `float_zero_divide_excp`.
    fn zero_divide(&mut self) -> bool {
        *self.fpscr |= ZX | FX;
        *self.fpscr &= !(FR | FI);
        if *self.fpscr & ZE != 0 {
            *self.fpscr |= FEX;
            return self.traps_enabled;
        }
        false
    }

    /// QEMU `float_check_status`: returns whether a deferred trap is due.
    fn check_status(&mut self, fl: &Flags) -> bool {
        let mut trap = false;
        if fl.overflow {
            *self.fpscr |= OX | FX;
            if *self.fpscr & OE != 0 {
                *self.fpscr |= FEX;
                trap = true;
            } else {
                *self.fpscr |= XX | FI;
            }
        } else if fl.underflow {
            *self.fpscr |= UX | FX;
            if *self.fpscr & UE != 0 {
                *self.fpscr |= FEX;
                trap = true;
            }
        }
        if fl.inexact {
            *self.fpscr |= XX | FX;
            if *self.fpscr & XE != 0 {
                *self.fpscr |= FEX;
                trap = true;
            }
        }
        if fl.inexact {
            *self.fpscr |= FI;
        } else {
            *self.fpscr &= !FI;
        }
        trap && self.traps_enabled
    }
}

fn env_of(fpscr: u32) -> Env {
    Env { mode: Some(Rounding::from_rn(fpscr & RN)), rebias_overflow: fpscr & OE != 0, rebias_underflow: fpscr & UE != 0, wrap_in_binary32: false }
}

/// Drops the low 29 fraction bits of a NaN produced by a single-precision operation.
fn single_nan(x: u64, prec: Precision) -> u64 {
    if prec == Precision::Single && soft::is_nan(x) {
        x & !((1u64 << 29) - 1)
    } else {
        x
    }
}

/// Executes an arithmetic, rounding or conversion instruction with operands FRA (`a`), FRB
/// (`b`), FRC (`c`), updating `fpscr`. `single` selects the single-precision (`s`) form.
pub fn arith(op: ArithOp, single: bool, fpscr: &mut u32, a: u64, b: u64, c: u64, traps_enabled: bool) -> FpOutcome {
    if let Some(f) = super::fast::try_arith(op, single, *fpscr, a, b, c) {
        // What the exact path does for a normal result with no enabled exception.
        *fpscr = (*fpscr & !FPRF) | fpscr::fprf(f.bits);
        if f.inexact {
            *fpscr |= XX | FX | FI;
        } else {
            *fpscr &= !FI;
        }
        return FpOutcome { frt: Some(f.bits), trap: false };
    }
    arith_exact(op, single, fpscr, a, b, c, traps_enabled)
}

/// [`arith`] through the exact software path only.
pub fn arith_exact(op: ArithOp, single: bool, fpscr: &mut u32, a: u64, b: u64, c: u64, traps_enabled: bool) -> FpOutcome {
    let prec = if single || matches!(op, ArithOp::Res | ArithOp::Rsp) { Precision::Single } else { Precision::Double };
    let env = Env { wrap_in_binary32: op == ArithOp::Rsp, ..env_of(*fpscr) };
    let mut fl = Flags::default();
    let mut run = Run { fpscr, traps_enabled };
    let sign = 1u64 << 63;
    let trapped = |frt: Option<u64>| FpOutcome { frt, trap: true };

    // Compute the raw result and flags.
    let result = match op {
        ArithOp::Add | ArithOp::Sub => match soft::propagate_nan(&[a, b], &mut fl) {
            Some(n) => n,
            None => soft::add(a, if op == ArithOp::Sub { b ^ sign } else { b }, prec, &env, &mut fl),
        },
        ArithOp::Mul => soft::propagate_nan(&[a, c], &mut fl).unwrap_or_else(|| soft::mul(a, c, prec, &env, &mut fl)),
        ArithOp::Div => soft::propagate_nan(&[a, b], &mut fl).unwrap_or_else(|| soft::div(a, b, prec, &env, &mut fl)),
        ArithOp::Madd | ArithOp::Msub | ArithOp::Nmadd | ArithOp::Nmsub => {
            let infzero = |x: u64, y: u64| soft::class(x) == soft::Class::Inf && soft::class(y) == soft::Class::Zero;
            if infzero(a, c) || infzero(c, a) {
                fl.imz = true;
            }
            let addend = if matches!(op, ArithOp::Msub | ArithOp::Nmsub) && !soft::is_nan(b) { b ^ sign } else { b };
            match soft::propagate_nan(&[a, b, c], &mut fl) {
                Some(n) => n,
                None if fl.imz => DEFAULT_NAN,
                None => soft::fma(a, c, addend, matches!(op, ArithOp::Nmadd | ArithOp::Nmsub), prec, &env, &mut fl),
            }
        }
        ArithOp::Sqrt => soft::propagate_nan(&[b], &mut fl).unwrap_or_else(|| soft::sqrt(b, prec, &env, &mut fl)),
        ArithOp::Res => {
            soft::propagate_nan(&[b], &mut fl).unwrap_or_else(|| soft::div(1.0f64.to_bits(), b, prec, &env, &mut fl))
        }
        ArithOp::Rsqrte => match soft::propagate_nan(&[b], &mut fl) {
            Some(n) => n,
            None => {
                let r = soft::sqrt(b, Precision::Double, &env, &mut fl);
                if soft::is_nan(r) {
                    r
                } else {
                    soft::div(1.0f64.to_bits(), r, Precision::Double, &env, &mut fl)
                }
            }
        },
        ArithOp::Rsp => soft::propagate_nan(&[b], &mut fl).unwrap_or_else(|| soft::round_value(b, prec, &env, &mut fl)),
        ArithOp::Ctiw | ArithOp::Ctiwz => {
            let mode = if op == ArithOp::Ctiwz { Rounding::Zero } else { Rounding::from_rn(*run.fpscr & RN) };
            soft::to_i32(b, mode, &mut fl)
        }
    };
    let result = if matches!(op, ArithOp::Ctiw | ArithOp::Ctiwz) { result } else { single_nan(result, prec) };

    // Invalid operations, in QEMU's order for each helper.
    if fl.invalid() {
        let t = match op {
            ArithOp::Ctiw | ArithOp::Ctiwz => {
                if fl.snan {
                    *run.fpscr |= VXSNAN;
                }
                let t = run.invalid_arith(VXCVI, true);
                if t {
                    return trapped(None);
                }
                false
            }
            _ if fl.imz => run.invalid_arith(VXIMZ, true),
            _ if fl.isi => run.invalid_arith(VXISI, true),
            _ if fl.idi => run.invalid_arith(VXIDI, true),
            _ if fl.zdz => run.invalid_arith(VXZDZ, true),
            _ if fl.sqrt => run.invalid_arith(VXSQRT, true),
            _ => run.invalid_snan(),
        };
        if t {
            return trapped(None);
        }
    }
    let mut result = result;
    if fl.div_zero && matches!(op, ArithOp::Div | ArithOp::Res | ArithOp::Rsqrte) {
        if run.zero_divide() {
            return trapped(None);
        }
        if op == ArithOp::Res {
            // QEMU: with ZE = 0 fres of ±0 gives ±1/2.
            result = (0.5f64.to_bits()) | (b & sign);
        }
    }
    // FRT is written; FPRF from the result (not for the integer conversions).
    if !matches!(op, ArithOp::Ctiw | ArithOp::Ctiwz) {
        *run.fpscr = (*run.fpscr & !FPRF) | fpscr::fprf(result);
    }
    let trap = run.check_status(&fl);
    FpOutcome { frt: Some(result), trap }
}

/// fcmpu / fcmpo: returns the CR field (8 <, 4 >, 2 =, 1 unordered) and whether it traps.
pub fn compare(ordered: bool, fpscr: &mut u32, a: u64, b: u64, traps_enabled: bool) -> (u32, bool) {
    let crf = match soft::compare(a, b) {
        None => 1,
        Some(std::cmp::Ordering::Less) => 8,
        Some(std::cmp::Ordering::Greater) => 4,
        Some(std::cmp::Ordering::Equal) => 2,
    };
    *fpscr = (*fpscr & !FPCC) | (crf << 12);
    let mut run = Run { fpscr, traps_enabled };
    let snan = soft::is_snan(a) || soft::is_snan(b);
    let mut deferred = false;
    if crf == 1 {
        if ordered {
            // QEMU's VXVC is a deferred exception: it sets FPRF to "unordered" even when VE=1,
            // then lets a signalling NaN add VXSNAN (which traps at once) before raising.
            *run.fpscr |= VXVC | VX | FX;
            *run.fpscr = (*run.fpscr & !FPRF) | FPRF_QNAN;
            if *run.fpscr & VE != 0 {
                *run.fpscr |= FEX;
                deferred = true;
            }
        }
        if snan && run.invalid_snan() {
            return (crf, true);
        }
    }
    // float_check_status with no flags: FI cleared; a deferred exception is raised.
    let trap = run.check_status(&Flags::default()) || (deferred && traps_enabled);
    (crf, trap)
}

/// fsel: FRC if FRA >= 0 (-0 included, NaN not), else FRB. No FPSCR effect.
pub fn fsel(a: u64, b: u64, c: u64) -> u64 {
    let f = f64::from_bits(a);
    if !f.is_nan() && f >= 0.0 {
        c
    } else {
        b
    }
}

/// mffs: the FPSCR in the low word of FRT.
pub fn mffs(fpscr: u32) -> u64 {
    fpscr as u64
}

/// Writes the FPSCR nibbles selected by `nibbles` (bit i = nibble i from the right) from
/// `value`; returns whether the check for a pending enabled exception traps.
pub fn store_nibbles(fpscr: &mut u32, value: u32, nibbles: u32, check: bool, traps_enabled: bool) -> bool {
    let mask = (0..8).filter(|i| nibbles & (1 << i) != 0).fold(0u32, |m, i| m | (0xf << (4 * i)));
    *fpscr = fpscr::store((value & mask) | (*fpscr & !mask));
    check_pending(fpscr, check, traps_enabled)
}

fn check_pending(fpscr: &mut u32, check: bool, traps_enabled: bool) -> bool {
    if check && fpscr::enabled_exception(*fpscr) {
        *fpscr |= FEX;
        return traps_enabled;
    }
    false
}

/// mtfsf: `flm` field mask (bit 7 = nibble 0, the leftmost), `l` = all nibbles. (W=1 is
/// rejected by the translator: not on e500mc.)
pub fn mtfsf(fpscr: &mut u32, l: bool, flm: u32, frb: u64, traps_enabled: bool) -> bool {
    let nibbles = if l { 0xff } else { flm & 0xff };
    store_nibbles(fpscr, frb as u32, nibbles, true, traps_enabled)
}

/// mtfsfi: field `bf` (0 = leftmost) gets `u`.
pub fn mtfsfi(fpscr: &mut u32, bf: u32, u: u32, traps_enabled: bool) -> bool {
    let sh = 7 - (bf & 7);
    store_nibbles(fpscr, (u & 0xf) << (4 * sh), 1 << sh, true, traps_enabled)
}

/// mtfsb0 / mtfsb1 of FPSCR bit `bt` (0 = FX). FEX and VX (and NI for mtfsb1) cannot be
/// written this way (QEMU); only mtfsb1 checks for a pending enabled exception.
pub fn mtfsb(fpscr: &mut u32, bt: u32, set: bool, traps_enabled: bool) -> bool {
    let mask = 0x8000_0000u32 >> (bt & 31);
    let ignored = FEX | VX | if set { NI } else { 0 };
    if mask & ignored == 0 {
        let v = if set { *fpscr | mask } else { *fpscr & !mask };
        if v != *fpscr {
            *fpscr = fpscr::store(v);
        }
    }
    set && check_pending(fpscr, true, traps_enabled)
}

/// mcrfs: returns FPSCR field `bfa` for the CR, and clears that field's exception bits.
pub fn mcrfs(fpscr: &mut u32, bfa: u32) -> u32 {
    let sh = 4 * (7 - (bfa & 7));
    let field = (*fpscr >> sh) & 0xf;
    let v = *fpscr & !((0xf << sh) & EX_CLEAR);
    *fpscr = fpscr::store(v);
    field
}

/// lfs: single to double (exact; signalling NaNs stay signalling).
pub fn lfs(w: u32) -> u64 {
    soft::single_to_double(w)
}

/// stfs: double to single by bit selection (no rounding), as QEMU's `helper_tosingle`:
/// exponent above 896 (or Inf/NaN) takes the fields directly; 874..=896 denormalises by
/// truncation; below that gives ±0.
pub fn stfs(x: u64) -> u32 {
    let s = ((x >> 32) & 0x8000_0000) as u32;
    let e = ((x >> 52) & 0x7ff) as i64;
    if e > 896 || e == 0x7ff {
        // Also covers Inf/NaN: bit selection keeps the top fraction bits.
        s | (((x >> 32) & 0x4000_0000) as u32) | (((x >> 29) & 0x3fff_ffff) as u32)
    } else if e >= 874 {
        let sig = (1u64 << 52) | (x & ((1 << 52) - 1));
        s | ((sig >> (29 + 897 - e)) as u32)
    } else {
        s
    }
}
