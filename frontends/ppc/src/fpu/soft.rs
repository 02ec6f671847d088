//! A small, exact binary floating-point core: IEEE 754 double operands, results rounded once to
//! double or single precision in any of the four rounding modes, with tininess detected before
//! rounding (as on PowerPC), and QEMU's exponent rebiasing for trapped overflow/underflow.
//!
//! Values are unpacked to (sign, exponent, significand); operations compute the exact result
//! in a 128-bit significand with a sticky bit, and [`round`] rounds and packs it.

/// Rounding mode (FPSCR[RN]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// To nearest, ties to even.
    Nearest,
    /// Toward zero.
    Zero,
    /// Toward +infinity.
    Up,
    /// Toward -infinity.
    Down,
}

impl Rounding {
    /// From the FPSCR RN field.
    pub fn from_rn(rn: u32) -> Rounding {
        [Rounding::Nearest, Rounding::Zero, Rounding::Up, Rounding::Down][(rn & 3) as usize]
    }
}

/// Result precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// binary64.
    Double,
    /// binary32 (returned in double format).
    Single,
}

impl Precision {
    fn frac_bits(self) -> i32 {
        match self {
            Precision::Double => 52,
            Precision::Single => 23,
        }
    }
    fn emax(self) -> i32 {
        match self {
            Precision::Double => 1023,
            Precision::Single => 127,
        }
    }
    fn emin(self) -> i32 {
        1 - self.emax()
    }
    fn rebias(self) -> i32 {
        match self {
            Precision::Double => 1536,
            Precision::Single => 192,
        }
    }
}

/// Exceptions an operation raised (softfloat's flags, with the kinds of invalid operation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// Result rounded.
    pub inexact: bool,
    /// Result overflowed.
    pub overflow: bool,
    /// Result underflowed (tiny and inexact; tiny alone with rebias).
    pub underflow: bool,
    /// Division of a finite non-zero by zero.
    pub div_zero: bool,
    /// A signalling NaN operand.
    pub snan: bool,
    /// Infinity minus infinity.
    pub isi: bool,
    /// Infinity times zero.
    pub imz: bool,
    /// Infinity divided by infinity.
    pub idi: bool,
    /// Zero divided by zero.
    pub zdz: bool,
    /// Square root of a negative number.
    pub sqrt: bool,
    /// Invalid integer conversion.
    pub cvi: bool,
}

impl Flags {
    /// Any invalid-operation kind.
    pub fn invalid(&self) -> bool {
        self.snan || self.isi || self.imz || self.idi || self.zdz || self.sqrt || self.cvi
    }
}

/// How an out-of-range result is delivered.
#[derive(Clone, Copy, Debug, Default)]
pub struct Env {
    /// Rounding mode.
    pub mode: Option<Rounding>,
    /// FPSCR[OE]: overflowing results are rebiased instead of becoming infinity.
    pub rebias_overflow: bool,
    /// FPSCR[UE]: tiny results are rebiased, and underflow is reported even when exact.
    pub rebias_underflow: bool,
    /// A single result whose rebiased exponent is still out of range wraps in the 8-bit
    /// binary32 exponent field (frsp: QEMU converts through a binary32) instead of the 11-bit
    /// double field (single arithmetic: QEMU rounds in place in a double).
    pub wrap_in_binary32: bool,
}

impl Env {
    fn mode(&self) -> Rounding {
        self.mode.unwrap_or(Rounding::Nearest)
    }
}

/// The default quiet NaN of PowerPC.
pub const DEFAULT_NAN: u64 = 0x7ff8_0000_0000_0000;
const SIGN: u64 = 1 << 63;
const QUIET: u64 = 1 << 51;

/// Operand classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// ±0.
    Zero,
    /// Normal or subnormal.
    Finite,
    /// ±∞.
    Inf,
    /// Quiet NaN.
    QNan,
    /// Signalling NaN.
    SNan,
}

/// Classifies a double.
pub fn class(x: u64) -> Class {
    let e = (x >> 52) & 0x7ff;
    let f = x & ((1 << 52) - 1);
    match (e, f) {
        (0, 0) => Class::Zero,
        (0x7ff, 0) => Class::Inf,
        (0x7ff, f) if f & QUIET != 0 => Class::QNan,
        (0x7ff, _) => Class::SNan,
        _ => Class::Finite,
    }
}

/// Whether `x` is a NaN.
pub fn is_nan(x: u64) -> bool {
    matches!(class(x), Class::QNan | Class::SNan)
}

/// Whether `x` is a signalling NaN.
pub fn is_snan(x: u64) -> bool {
    class(x) == Class::SNan
}

/// Sign bit.
pub fn sign(x: u64) -> bool {
    x & SIGN != 0
}

/// A quieted copy of a NaN.
pub fn quiet(x: u64) -> u64 {
    x | QUIET
}

/// A finite non-zero value: `sig × 2^exp`, `sig` normalised with bit 52 set.
#[derive(Clone, Copy, Debug)]
struct Unpacked {
    neg: bool,
    exp: i32,
    sig: u64,
}

fn unpack(x: u64) -> Unpacked {
    let neg = sign(x);
    let e = ((x >> 52) & 0x7ff) as i32;
    let f = x & ((1 << 52) - 1);
    if e == 0 {
        let shift = f.leading_zeros() as i32 - 11;
        Unpacked { neg, exp: -1074 - shift, sig: f << shift }
    } else {
        Unpacked { neg, exp: e - 1075, sig: f | (1 << 52) }
    }
}

fn inf(neg: bool) -> u64 {
    ((neg as u64) << 63) | 0x7ff0_0000_0000_0000
}

fn zero(neg: bool) -> u64 {
    (neg as u64) << 63
}

/// Shifts right, ORing what falls off into bit 0 (sticky).
fn shr_sticky(x: u128, n: u32) -> u128 {
    if n == 0 {
        x
    } else if n >= 128 {
        (x != 0) as u128
    } else {
        (x >> n) | ((x & ((1u128 << n) - 1) != 0) as u128)
    }
}

/// Rounds the exact value `(-1)^neg × sig × 2^exp` (sticky in bit 0 of `sig`) to `prec` in the
/// environment's mode, packs it as a double and records flags.
pub fn round(neg: bool, exp: i32, sig: u128, prec: Precision, env: &Env, fl: &mut Flags) -> u64 {
    if sig == 0 {
        return zero(neg);
    }
    // Normalise so bit 127 is the leading one: value = sig × 2^(e - 127), in [2^e, 2^(e+1)).
    let lz = sig.leading_zeros();
    let sig = sig << lz;
    let mut e = exp + 127 - lz as i32;
    let p = prec.frac_bits();
    let tiny = e < prec.emin();
    let rebias_under = tiny && env.rebias_underflow;
    if rebias_under {
        e += prec.rebias();
    }
    // Number of significand bits kept below the leading one (fewer when subnormal).
    let kept = if e < prec.emin() && !rebias_under { p - (prec.emin() - e) } else { p };
    // Round position: bits below `127 - kept` are dropped.
    let (q, rem_nonzero, half, above_half) = if kept < -1 {
        (0u128, true, false, false)
    } else if kept == -1 {
        // Below the smallest subnormal: compare with half of it.
        (0u128, true, sig == 1 << 127, sig > 1 << 127)
    } else {
        let drop = (127 - kept) as u32;
        let q = sig >> drop;
        let rem = sig & ((1u128 << drop) - 1);
        let halfv = 1u128 << (drop - 1);
        (q, rem != 0, rem == halfv, rem > halfv)
    };
    let inc = rem_nonzero
        && match env.mode() {
            Rounding::Nearest => above_half || (half && q & 1 == 1),
            Rounding::Zero => false,
            Rounding::Up => !neg,
            Rounding::Down => neg,
        };
    if rem_nonzero {
        fl.inexact = true;
    }
    if tiny && (rem_nonzero || env.rebias_underflow) {
        fl.underflow = true;
    }
    let q = q + inc as u128;
    // Value is now q × 2^(e - kept).
    let unit_exp = e - kept;
    if q == 0 {
        return zero(neg);
    }
    let msb = 127 - q.leading_zeros() as i32;
    let mut e_res = unit_exp + msb;
    // Overflow.
    if e_res > prec.emax() {
        if env.rebias_overflow {
            fl.overflow = true;
            e_res -= prec.rebias();
        } else {
            fl.overflow = true;
            fl.inexact = true;
            let to_inf = match env.mode() {
                Rounding::Nearest => true,
                Rounding::Zero => false,
                Rounding::Up => !neg,
                Rounding::Down => neg,
            };
            return if to_inf { inf(neg) } else { max_finite(neg, prec) };
        }
    }
    pack(neg, e_res, q, msb, prec, !rebias_under, env.wrap_in_binary32)
}

fn max_finite(neg: bool, prec: Precision) -> u64 {
    match prec {
        Precision::Double => ((neg as u64) << 63) | 0x7fef_ffff_ffff_ffff,
        Precision::Single => ((neg as u64) << 63) | 0x47ef_ffff_e000_0000,
    }
}

/// Packs `q × 2^(e_res - msb)` (q's leading one at bit `msb`) whose unbiased exponent is
/// `e_res`. Subnormal results of the precision keep their value (`subnormal`: the result was
/// rounded as a subnormal); full-precision exponents outside the format after rebiasing wrap
/// in the double exponent field, as in QEMU.
fn pack(neg: bool, e_res: i32, q: u128, msb: i32, prec: Precision, subnormal: bool, wrap_in_binary32: bool) -> u64 {
    let s = (neg as u64) << 63;
    match prec {
        Precision::Double => {
            if e_res < -1022 && subnormal {
                // Double subnormal: fraction = value / 2^-1074.
                let shift = (e_res - msb) + 1074;
                let f = if shift >= 0 { (q << shift) as u64 } else { (q >> -shift) as u64 };
                return s | f;
            }
            let frac = if msb >= 52 { (q >> (msb - 52)) as u64 } else { (q << (52 - msb)) as u64 } & ((1 << 52) - 1);
            let be = ((e_res + 1023) & 0x7ff) as u64;
            s | (be << 52) | frac
        }
        Precision::Single => {
            // Build the single, then widen it exactly to double.
            let f32bits: u32 = if e_res < -126 && subnormal {
                let shift = (e_res - msb) + 149;
                (if shift >= 0 { q << shift } else { q >> -shift }) as u32
            } else {
                let frac = (if msb >= 23 { q >> (msb - 23) } else { q << (23 - msb) }) as u32 & 0x7f_ffff;
                if !(-126..=127).contains(&e_res) && !wrap_in_binary32 {
                    // Still out of range after rebiasing (a huge or tiny double operand): QEMU
                    // widens the single fraction with the double exponent field wrapping at 11 bits;
                    // a biased single exponent of exactly 0 is read as a denormal whose fraction
                    // still holds the leading one, i.e. as 2^-126 (a live differential run found it).
                    let e = if e_res == -127 { -126 } else { e_res };
                    let be = ((e + 1023) & 0x7ff) as u64;
                    return s | (be << 52) | ((frac as u64) << 29);
                }
                let be = ((e_res + 127) & 0xff) as u32;
                (be << 23) | frac
            };
            s | (single_to_double(f32bits) & !SIGN)
        }
    }
}

/// Exact widening of a binary32 bit pattern (NaNs keep their payload; no quieting).
pub fn single_to_double(w: u32) -> u64 {
    let s = ((w >> 31) as u64) << 63;
    let e = (w >> 23) & 0xff;
    let f = (w & 0x7f_ffff) as u64;
    match e {
        0 if f == 0 => s,
        0 => {
            let shift = f.leading_zeros() - 40; // bring the leading one to bit 23
            let f = (f << shift) & 0x7f_ffff;
            let exp = (1023 - 126 - shift as u64) as u64;
            s | (exp << 52) | (f << 29)
        }
        0xff => s | 0x7ff0_0000_0000_0000 | (f << 29),
        _ => s | ((e as u64 + 1023 - 127) << 52) | (f << 29),
    }
}

/// NaN selection: the first NaN of `ops` in order, quieted; `snan` if any operand is
/// signalling.
pub fn propagate_nan(ops: &[u64], fl: &mut Flags) -> Option<u64> {
    let first = ops.iter().copied().find(|&x| is_nan(x))?;
    if ops.iter().any(|&x| is_snan(x)) {
        fl.snan = true;
    }
    Some(quiet(first))
}

/// a + b (b negated first for subtraction by the caller, NaNs excluded).
pub fn add(a: u64, b: u64, prec: Precision, env: &Env, fl: &mut Flags) -> u64 {
    let (ca, cb) = (class(a), class(b));
    match (ca, cb) {
        (Class::Inf, Class::Inf) => {
            if sign(a) != sign(b) {
                fl.isi = true;
                return DEFAULT_NAN;
            }
            return a;
        }
        (Class::Inf, _) => return a,
        (_, Class::Inf) => return b,
        (Class::Zero, Class::Zero) => {
            return if sign(a) == sign(b) { a } else { zero(env.mode() == Rounding::Down) };
        }
        (Class::Zero, _) => return round_value(b, prec, env, fl),
        (_, Class::Zero) => return round_value(a, prec, env, fl),
        _ => {}
    }
    let (x, y) = (unpack(a), unpack(b));
    add_parts(x.neg, x.exp, x.sig as u128, y.neg, y.exp, y.sig as u128, false, prec, env, fl)
}

/// Rounds an exact operand value to `prec` (x + 0, or frsp).
pub fn round_value(x: u64, prec: Precision, env: &Env, fl: &mut Flags) -> u64 {
    match class(x) {
        Class::Zero | Class::Inf => x,
        _ => {
            let u = unpack(x);
            round(u.neg, u.exp, u.sig as u128, prec, env, fl)
        }
    }
}

/// Exact sum of two finite non-zero values `sig × 2^exp`, negated when `negate`, rounded.
#[allow(clippy::too_many_arguments)]
fn add_parts(an: bool, ae: i32, asig: u128, bn: bool, be: i32, bsig: u128, negate: bool, prec: Precision, env: &Env, fl: &mut Flags) -> u64 {
    // Place both at the same exponent with the larger on top of a 125-bit window.
    let top = |sig: u128, e: i32| {
        let lz = sig.leading_zeros() as i32 - 2;
        (sig << lz, e - lz)
    };
    let (mut a_s, mut a_e) = top(asig, ae);
    let (mut b_s, mut b_e) = top(bsig, be);
    let (mut a_n, mut b_n) = (an, bn);
    if (b_e, b_s) > (a_e, a_s) {
        std::mem::swap(&mut a_s, &mut b_s);
        std::mem::swap(&mut a_e, &mut b_e);
        std::mem::swap(&mut a_n, &mut b_n);
    }
    let b_s = shr_sticky(b_s, (a_e - b_e) as u32);
    let (neg, sig) = if a_n == b_n {
        (a_n, a_s + b_s)
    } else if a_s >= b_s {
        (a_n, a_s - b_s)
    } else {
        (b_n, b_s - a_s)
    };
    if sig == 0 {
        return zero((env.mode() == Rounding::Down) != negate);
    }
    round(neg != negate, a_e, sig, prec, env, fl)
}

/// a × b (NaNs excluded).
pub fn mul(a: u64, b: u64, prec: Precision, env: &Env, fl: &mut Flags) -> u64 {
    let neg = sign(a) != sign(b);
    match (class(a), class(b)) {
        (Class::Inf, Class::Zero) | (Class::Zero, Class::Inf) => {
            fl.imz = true;
            DEFAULT_NAN
        }
        (Class::Inf, _) | (_, Class::Inf) => inf(neg),
        (Class::Zero, _) | (_, Class::Zero) => zero(neg),
        _ => {
            let (x, y) = (unpack(a), unpack(b));
            round(neg, x.exp + y.exp, x.sig as u128 * y.sig as u128, prec, env, fl)
        }
    }
}

/// a ÷ b (NaNs excluded).
pub fn div(a: u64, b: u64, prec: Precision, env: &Env, fl: &mut Flags) -> u64 {
    let neg = sign(a) != sign(b);
    match (class(a), class(b)) {
        (Class::Inf, Class::Inf) => {
            fl.idi = true;
            DEFAULT_NAN
        }
        (Class::Zero, Class::Zero) => {
            fl.zdz = true;
            DEFAULT_NAN
        }
        (Class::Inf, _) => inf(neg),
        (_, Class::Inf) => zero(neg),
        (Class::Zero, _) => zero(neg),
        (_, Class::Zero) => {
            fl.div_zero = true;
            inf(neg)
        }
        _ => {
            let (x, y) = (unpack(a), unpack(b));
            // 53-bit / 53-bit with 72 extra quotient bits; the remainder becomes a sticky bit
            // one place below the quotient's last bit.
            let n = (x.sig as u128) << 72;
            let q = n / y.sig as u128;
            let r = n % y.sig as u128;
            round(neg, x.exp - y.exp - 73, (q << 1) | (r != 0) as u128, prec, env, fl)
        }
    }
}

/// Fused a × c + b with one rounding; `negate` negates the exact result before rounding (the
/// `fnm*` forms as QEMU computes them). NaNs excluded; ∞ × 0 is the caller's.
pub fn fma(a: u64, c: u64, b: u64, negate: bool, prec: Precision, env: &Env, fl: &mut Flags) -> u64 {
    let pneg = sign(a) != sign(c);
    let (ca, cc, cb) = (class(a), class(c), class(b));
    let prod_inf = ca == Class::Inf || cc == Class::Inf;
    let prod_zero = ca == Class::Zero || cc == Class::Zero;
    if prod_inf && prod_zero {
        fl.imz = true;
        return DEFAULT_NAN;
    }
    let flip = |x: u64| if negate { x ^ SIGN } else { x };
    if prod_inf {
        if cb == Class::Inf && sign(b) != pneg {
            fl.isi = true;
            return DEFAULT_NAN;
        }
        return flip(inf(pneg));
    }
    if cb == Class::Inf {
        return flip(b);
    }
    if prod_zero {
        if cb == Class::Zero {
            // Exact zero sum: its sign follows the usual rules, then the negation.
            let z = if pneg == sign(b) { zero(pneg) } else { zero(env.mode() == Rounding::Down) };
            return flip(z);
        }
        return round_value(flip(b), prec, env, fl);
    }
    let (x, y) = (unpack(a), unpack(c));
    let psig = x.sig as u128 * y.sig as u128;
    let pexp = x.exp + y.exp;
    if cb == Class::Zero {
        return round(pneg != negate, pexp, psig, prec, env, fl);
    }
    let z = unpack(b);
    add_parts(pneg, pexp, psig, z.neg, z.exp, z.sig as u128, negate, prec, env, fl)
}

/// Square root (NaNs excluded).
pub fn sqrt(a: u64, prec: Precision, env: &Env, fl: &mut Flags) -> u64 {
    match class(a) {
        Class::Zero => a,
        _ if sign(a) => {
            fl.sqrt = true;
            DEFAULT_NAN
        }
        Class::Inf => a,
        _ => {
            let u = unpack(a);
            // Make the exponent even, then take the integer square root of a 120-bit value.
            let (mut sig, mut e) = (u.sig as u128, u.exp);
            if e & 1 != 0 {
                sig <<= 1;
                e -= 1;
            }
            let shift = 120 - (128 - sig.leading_zeros()) as i32;
            let shift = shift & !1;
            let n = sig << shift;
            let e = e - shift;
            let r = isqrt(n);
            let sticky = (r * r != n) as u128;
            round(false, e / 2 - 1, (r << 1) | sticky, prec, env, fl)
        }
    }
}

fn isqrt(n: u128) -> u128 {
    if n == 0 {
        return 0;
    }
    let mut x = (n as f64).sqrt() as u128 + 1;
    loop {
        let y = (x + n / x) / 2;
        if y >= x {
            break;
        }
        x = y;
    }
    while x * x > n {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= n {
        x += 1;
    }
    x
}

/// Conversion to a signed 32-bit integer in `mode` (QEMU saturation; NaN gives 0x80000000
/// with `cvi`). Returns the integer sign-extended to 64 bits.
pub fn to_i32(a: u64, mode: Rounding, fl: &mut Flags) -> u64 {
    match class(a) {
        Class::QNan | Class::SNan => {
            if is_snan(a) {
                fl.snan = true;
            }
            fl.cvi = true;
            0x8000_0000
        }
        Class::Inf => {
            fl.cvi = true;
            if sign(a) {
                0xffff_ffff_8000_0000
            } else {
                0x7fff_ffff
            }
        }
        Class::Zero => 0,
        Class::Finite => {
            let u = unpack(a);
            // Integer part and remainder of sig × 2^exp.
            let (int, rem_nz, half, above) = if u.exp >= 0 {
                if u.exp > 40 {
                    (u128::MAX, false, false, false)
                } else {
                    ((u.sig as u128) << u.exp, false, false, false)
                }
            } else if -u.exp > 60 {
                (0, true, false, false)
            } else {
                let sh = (-u.exp) as u32;
                let int = (u.sig >> sh) as u128;
                let rem = u.sig & ((1u64 << sh) - 1);
                let halfv = 1u64 << (sh - 1);
                (int, rem != 0, rem == halfv, rem > halfv)
            };
            let inc = rem_nz
                && match mode {
                    Rounding::Nearest => above || (half && int & 1 == 1),
                    Rounding::Zero => false,
                    Rounding::Up => !u.neg,
                    Rounding::Down => u.neg,
                };
            let mag = int.saturating_add(inc as u128);
            let limit = if u.neg { 0x8000_0000u128 } else { 0x7fff_ffff };
            if mag > limit {
                fl.cvi = true;
                return if u.neg { 0xffff_ffff_8000_0000 } else { 0x7fff_ffff };
            }
            if rem_nz {
                fl.inexact = true;
            }
            let v = if u.neg { -(mag as i64) } else { mag as i64 };
            v as u64
        }
    }
}

/// IEEE comparison: Some(Less/Equal/Greater) or None when unordered.
pub fn compare(a: u64, b: u64) -> Option<std::cmp::Ordering> {
    if is_nan(a) || is_nan(b) {
        return None;
    }
    f64::from_bits(a).partial_cmp(&f64::from_bits(b))
}
