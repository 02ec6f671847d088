//! The FPU's common case inline: add, subtract, multiply, divide, the multiply-adds and frsp,
//! double and single precision, in round-to-nearest with no exception enabled
//! (`Mode::FP_NEAREST_QUIET`), with results well inside the normal range. The host's IEEE
//! operation gives the result bit for bit, an error-free transformation tells whether it was
//! inexact, and the FPSCR update (`fp_status`) is the one `crate::fpu::ops::arith` makes for
//! such a result. The guards are on results (division and the single forms also check
//! operands; see [`Translator::double_fast`]); when one fails the helper runs the instruction,
//! exactly for every case. `tests/tests/fp_inline.rs` checks the two agree in every tier.

use super::fp::FpOp;
use super::{Mode, Translator};
use crate::cpu::regs::fpr;
use crate::decode::ArgA;
use crate::fpu::fpscr::{NI, RN};
use crate::fpu::ArithOp;
use crate::helpers;
use ferrite_ir::{IntCC, Type, Value};

/// When an inline result stands: `hot`, the common case (every value checked in the
/// comfortable normal range), tested first; `full`, the exact condition (zeros, and the
/// operand checks of division and the single forms), tested only when `hot` fails.
#[derive(Clone, Copy)]
struct Guard {
    hot: Value,
    full: Value,
}

/// FPSCR bits that must be clear for the inline path (`Mode::FP_NEAREST_QUIET`): the five
/// enables, NI and a directed rounding mode.
pub(crate) const NEEDS_CLEAR: u32 = 0xf8 | NI | RN;
/// Magnitude bounds of accepted operands and results (as in `crate::fpu::fast`).
const TINY_BITS: u64 = 1.0e-270f64.to_bits();
const HUGE_BITS: u64 = 1.0e300f64.to_bits();

/// The same bounds for single-precision results and operands.
const TINY_S_BITS: u64 = 1.0e-30f32.to_bits() as u64;
const HUGE_S_BITS: u64 = 1.0e30f32.to_bits() as u64;

/// The operations inlined: the arithmetic and multiply-adds, double and single, and frsp.
fn inlined(op: FpOp) -> bool {
    !matches!(op, FpOp::Res | FpOp::Rsqrte | FpOp::Ctiw | FpOp::Ctiwz)
}

impl Translator<'_> {
    /// Emits `op` with the inline fast path and the helper as the fallback. Returns false,
    /// emitting nothing, for operations that are not inlined and in modes where the FPSCR
    /// asks for more than round-to-nearest without traps.
    pub(super) fn fp_arith_inline(&mut self, op: FpOp, a: &ArgA) -> bool {
        if !inlined(op) || self.mode.0 & Mode::FP_NEAREST_QUIET == 0 {
            return false;
        }
        let status = self.fp_status();
        let (xa, xb, xc) = (self.get(fpr(a.fra)), self.get(fpr(a.frb)), self.get(fpr(a.frc)));
        let (fa, fb, fc) = (self.to_f64(xa), self.to_f64(xb), self.to_f64(xc));
        let (model, single) = op.model();
        let (bits, inexact, guard) = match op {
            FpOp::Rsp => self.round_to_single_fast(fb),
            _ if single => self.single_fast(model, fa, fb, fc),
            _ => self.double_fast(op, [xa, xb, xc], [fa, fb, fc]),
        };
        // Branch on the guard rather than select: the host predicts the fast path, so the
        // guard's checks stay off the result's dependency chain. IR values live in their
        // basic block: locals carry the result (and the full guard) to the next ones.
        let (value_l, inexact_l, full_l) = (self.b.new_local(Type::F64), self.b.new_local(Type::I8), self.b.new_local(Type::I8));
        let value = self.b.bitcast(Type::F64, bits);
        self.b.set_local(value_l, value);
        self.b.set_local(inexact_l, inexact);
        self.b.set_local(full_l, guard.full);
        let (fast, check, slow) = (self.b.create_bb(), self.b.create_cold_bb(), self.b.create_cold_bb());
        self.b.branch(guard.hot, fast, check);
        self.b.switch_to(check);
        let full = self.b.get_local(full_l);
        self.b.branch(full, fast, slow);
        // The helper is exact for every case. Where blocks may leave early, its path leaves
        // for the next instruction, so that nothing after it has to merge two versions of
        // the FP state; in deterministic mode (no early exits) the paths join.
        self.b.switch_to(slow);
        let packed = self.c32(super::fp::pack_operands(op, a.frt, a.fra, a.frb, a.frc));
        self.b.call(helpers::FP_ARITH, &[packed]);
        let join = if self.early_exits {
            // The rest of the instruction first: CR1 for Rc=1.
            if a.rc != 0 {
                self.set_cr1();
            }
            self.b.exit_direct(self.next_pc() as u64);
            None
        } else {
            let join = self.b.create_bb();
            self.b.jump(join);
            Some(join)
        };
        self.b.switch_to(fast);
        let value = self.b.get_local(value_l);
        let bits = self.b.bitcast(Type::I64, value);
        self.set(fpr(a.frt), bits);
        let inexact = self.b.get_local(inexact_l);
        self.fp_status_after(status, bits, inexact);
        if let Some(join) = join {
            self.b.jump(join);
            self.b.switch_to(join);
            self.forget_fp_status();
        }
        true
    }

    /// The double-precision forms on operand bits `x` (FRA, FRB, FRC) and their values `f`.
    /// Returns the result bits, whether it is inexact and the guard.
    ///
    /// Except for division, only results are checked. A NaN or infinite operand gives a NaN or
    /// infinite result (x·∞ and x+∞ are infinite or NaN), and so do invalid operations and
    /// overflow; underflow gives a result below the accepted range, or a zero, which a sum
    /// never does (a tiny sum is exact) and a product does only from a zero operand when it is
    /// exact. An accepted result is therefore the architecture's, with inexact the only
    /// exception; subnormal operands are fine, as neither the host operation nor the residues
    /// used to detect inexactness lose anything on them.
    fn double_fast(&mut self, op: FpOp, x: [Value; 3], f: [Value; 3]) -> (Value, Value, Guard) {
        let ([xa, xb, xc], [fa, fb, fc]) = (x, f);
        match op {
            FpOp::Add | FpOp::Sub => {
                let fb = if op == FpOp::Sub { self.b.fneg(fb) } else { fb };
                let r = self.b.fadd(fa, fb);
                let err = self.two_sum_err(fa, fb, r);
                let rb = self.b.bitcast(Type::I64, r);
                let in_range = self.in_range(rb);
                let guard = Guard { hot: in_range, full: self.normal_or_zero(rb, in_range) };
                (rb, self.nonzero(err), guard)
            }
            FpOp::Mul => {
                let r = self.b.fmul(fa, fc);
                let nr = self.b.fneg(r);
                let err = self.b.fma(fa, fc, nr);
                let rb = self.b.bitcast(Type::I64, r);
                let in_range = self.in_range(rb);
                let guard = Guard { hot: in_range, full: self.result_ok(rb, in_range, &[xa, xc]) };
                (rb, self.nonzero(err), guard)
            }
            FpOp::Div => {
                // x/∞ is an exact zero whose residue is a NaN, and the residue of a subnormal
                // dividend can underflow: division checks its operands too.
                let b_zero = self.any_zero(&[xb]);
                let b_nonzero = self.b.xor_imm(b_zero, 1);
                let (ha, hb) = (self.in_range(xa), self.in_range(xb));
                let (ga, gb) = (self.normal_or_zero(xa, ha), self.normal_or_zero(xb, hb));
                let r = self.b.fdiv(fa, fb);
                let nr = self.b.fneg(r);
                let err = self.b.fma(nr, fb, fa);
                let rb = self.b.bitcast(Type::I64, r);
                let hr = self.in_range(rb);
                let gr = self.result_ok(rb, hr, &[xa]);
                let full = self.all(ga, &[gb, b_nonzero, gr]);
                let hot = self.all(ha, &[hb, hr]);
                (rb, self.nonzero(err), Guard { hot, full })
            }
            _ => {
                // fmadd family: FRA × FRC ± FRB, negated afterwards for the fnm forms. The
                // product must neither underflow nor get near it (the residues would); past
                // that, a sum that is tiny is exact, so a zero result is exact too.
                let fb = if matches!(op, FpOp::Msub | FpOp::Nmsub) { self.b.fneg(fb) } else { fb };
                let p = self.b.fmul(fa, fc);
                let pb = self.b.bitcast(Type::I64, p);
                let p_in_range = self.in_range(pb);
                let zero_operand = self.any_zero(&[xa, xc]);
                let p_ok = self.b.or(p_in_range, zero_operand);
                let r = self.b.fma(fa, fc, fb);
                let inexact = self.fma_error_nonzero(fa, fc, fb, r);
                let rb = self.b.bitcast(Type::I64, r);
                let r_in_range = self.in_range(rb);
                let gr = self.normal_or_zero(rb, r_in_range);
                let guard = Guard { hot: self.b.and(p_in_range, r_in_range), full: self.b.and(p_ok, gr) };
                let rb = if matches!(op, FpOp::Nmadd | FpOp::Nmsub) {
                    let nr = self.b.fneg(r);
                    self.b.bitcast(Type::I64, nr)
                } else {
                    rb
                };
                (rb, inexact, guard)
            }
        }
    }

    /// Whether product or quotient `rb` (`in_range` its range test) is accepted: in range, or
    /// a zero from a zero operand among `zero_from` (then exact; zero times an infinity or NaN
    /// is a NaN). Any other zero underflowed.
    fn result_ok(&mut self, rb: Value, in_range: Value, zero_from: &[Value]) -> Value {
        let r_zero = self.any_zero(&[rb]);
        let zero_operand = self.any_zero(zero_from);
        let exact_zero = self.b.and(r_zero, zero_operand);
        self.b.or(in_range, exact_zero)
    }

    /// The single-precision forms on operands that are singles (`crate::fpu::fast`'s
    /// `try_single`): the exact or innocuously double-rounded double result rounded to single.
    /// Returns the result bits, whether it is inexact and the guard.
    fn single_fast(&mut self, op: ArithOp, fa: Value, fb: Value, fc: Value) -> (Value, Value, Guard) {
        let (operands, d, inexact_d) = match op {
            ArithOp::Add | ArithOp::Sub => {
                let g = self.single_operands(&[fa, fb]);
                let fb = if op == ArithOp::Sub { self.b.fneg(fb) } else { fb };
                let d = self.b.fadd(fa, fb);
                let err = self.two_sum_err(fa, fb, d);
                (g, d, Some(self.nonzero(err)))
            }
            ArithOp::Mul => {
                let g = self.single_operands(&[fa, fc]);
                // Exact: 48 significant bits.
                let d = self.b.fmul(fa, fc);
                (g, d, None)
            }
            ArithOp::Div => {
                // The hot guard's divisor is in range, so not zero.
                let g = self.single_operands(&[fa, fb]);
                let xb = self.b.bitcast(Type::I64, fb);
                let b_zero = self.any_zero(&[xb]);
                let b_nonzero = self.b.xor_imm(b_zero, 1);
                let d = self.b.fdiv(fa, fb);
                (Guard { full: self.b.and(g.full, b_nonzero), ..g }, d, None)
            }
            _ => {
                let g = self.single_operands(&[fa, fb, fc]);
                let p = self.b.fmul(fa, fc); // exact
                let addend = if matches!(op, ArithOp::Msub | ArithOp::Nmsub) { self.b.fneg(fb) } else { fb };
                let d = self.b.fadd(p, addend);
                let t = self.two_sum_err(p, addend, d);
                let t_nonzero = self.nonzero(t);
                // Rounding d instead of the exact d + t to single errs only when d is a midpoint
                // between two singles and t tips it: leave that to the helper.
                let db = self.b.bitcast(Type::I64, d);
                let low = self.b.and_imm(db, 0x1fff_ffff);
                let midpoint = self.b.icmp_imm(IntCC::Eq, low, 0x1000_0000);
                let risky = self.b.and(t_nonzero, midpoint);
                let safe = self.b.xor_imm(risky, 1);
                let g = Guard { hot: self.b.and(g.hot, safe), full: self.b.and(g.full, safe) };
                (g, d, Some(t_nonzero))
            }
        };
        let r = self.b.fdemote(Type::F32, d);
        let rd = self.b.fpromote(Type::F64, r);
        let rounded = self.b.fcmp(ferrite_ir::FloatCC::Ne, rd, d);
        let inexact = match (op, inexact_d) {
            // The quotient's own residue against the single result.
            (ArithOp::Div, _) => {
                let nr = self.b.fneg(rd);
                let e = self.b.fma(nr, fb, fa);
                self.nonzero(e)
            }
            (_, Some(e)) => self.b.or(e, rounded),
            (_, None) => rounded,
        };
        let r_in_range = self.single_in_range(r);
        let hot = self.b.and(operands.hot, r_in_range);
        let r_ok = self.single_normal_or_zero(r, r_in_range);
        // A single that rounds to zero from a nonzero double underflowed.
        let rb = self.b.bitcast(Type::I64, rd);
        let r_zero = self.any_zero(&[rb]);
        let db = self.b.bitcast(Type::I64, d);
        let d_zero = self.any_zero(&[db]);
        let d_nonzero = self.b.xor_imm(d_zero, 1);
        let bad = self.b.and(r_zero, d_nonzero);
        let good = self.b.xor_imm(bad, 1);
        let full = self.all(operands.full, &[r_ok, good]);
        let rd = if matches!(op, ArithOp::Nmadd | ArithOp::Nmsub) { self.b.fneg(rd) } else { rd };
        let bits = self.b.bitcast(Type::I64, rd);
        (bits, inexact, Guard { hot, full })
    }

    /// frsp: `fb` rounded to single by the host, when the result is a normal single in
    /// [TINY_S, HUGE_S] or a zero from a zero (any other zero underflowed; NaNs, infinities
    /// and overflow fall outside the range). Returns the result bits, whether it is inexact
    /// and the guard.
    fn round_to_single_fast(&mut self, fb: Value) -> (Value, Value, Guard) {
        let r = self.b.fdemote(Type::F32, fb);
        let rd = self.b.fpromote(Type::F64, r);
        let inexact = self.b.fcmp(ferrite_ir::FloatCC::Ne, rd, fb);
        let hot = self.single_in_range(r);
        let normal_or_zero = self.single_normal_or_zero(r, hot);
        let rb = self.b.bitcast(Type::I64, rd);
        let xb = self.b.bitcast(Type::I64, fb);
        let rb_in_range = self.in_range(rb);
        let ok = self.result_ok(rb, rb_in_range, &[xb]);
        let full = self.b.and(ok, normal_or_zero);
        (rb, inexact, Guard { hot, full })
    }

    /// Whether the doubles `xs` are all exactly singles: `hot`, normal ones in [TINY_S,
    /// HUGE_S]; `full`, such or zeros.
    fn single_operands(&mut self, xs: &[Value]) -> Guard {
        let (mut hot, mut full) = (None, None);
        for &x in xs {
            let s = self.b.fdemote(Type::F32, x);
            let back = self.b.fpromote(Type::F64, s);
            let exact = self.b.fcmp(ferrite_ir::FloatCC::Eq, back, x);
            let in_range = self.single_in_range(s);
            let h = self.b.and(exact, in_range);
            let z = self.single_normal_or_zero(s, in_range);
            let f = self.b.and(exact, z);
            hot = Some(hot.map_or(h, |a| self.b.and(a, h)));
            full = Some(full.map_or(f, |a| self.b.and(a, f)));
        }
        Guard { hot: hot.expect("operands"), full: full.expect("operands") }
    }

    /// Whether single `s` is normal with a magnitude in [TINY_S, HUGE_S].
    fn single_in_range(&mut self, s: Value) -> Value {
        let bits = self.b.bitcast(Type::I32, s);
        let mag = self.b.shl_imm(bits, 1);
        let off = self.b.add_imm(mag, (TINY_S_BITS << 1).wrapping_neg());
        self.b.icmp_imm(IntCC::Ule, off, (HUGE_S_BITS - TINY_S_BITS) << 1)
    }

    /// `in_range` ([`single_in_range`](Self::single_in_range) of `s`) or `s` a zero of either
    /// sign.
    fn single_normal_or_zero(&mut self, s: Value, in_range: Value) -> Value {
        let bits = self.b.bitcast(Type::I32, s);
        let mag = self.b.shl_imm(bits, 1);
        let zero = self.b.icmp_imm(IntCC::Eq, mag, 0);
        self.b.or(in_range, zero)
    }

    fn to_f64(&mut self, bits: Value) -> Value {
        self.b.bitcast(Type::F64, bits)
    }

    /// `ok && all conds` (each an `i8` 0/1).
    fn all(&mut self, ok: Value, conds: &[Value]) -> Value {
        let mut acc = ok;
        for &c in conds {
            acc = self.b.and(acc, c);
        }
        acc
    }

    /// Whether double `bits` is normal with a magnitude in [TINY, HUGE].
    fn in_range(&mut self, bits: Value) -> Value {
        // The magnitude doubled: the sign shifted out, no mask constant needed.
        let mag = self.b.shl_imm(bits, 1);
        let off = self.b.add_imm(mag, (TINY_BITS << 1).wrapping_neg());
        self.b.icmp_imm(IntCC::Ule, off, (HUGE_BITS - TINY_BITS) << 1)
    }

    /// `in_range` ([`in_range`](Self::in_range) of `bits`) or `bits` a zero of either sign.
    fn normal_or_zero(&mut self, bits: Value, in_range: Value) -> Value {
        let z = self.any_zero(&[bits]);
        self.b.or(in_range, z)
    }

    /// Whether any of the doubles (bit patterns) is a zero of either sign.
    fn any_zero(&mut self, xs: &[Value]) -> Value {
        let mut acc = None;
        for &x in xs {
            let mag = self.b.shl_imm(x, 1);
            let z = self.b.icmp_imm(IntCC::Eq, mag, 0);
            acc = Some(match acc {
                None => z,
                Some(a) => self.b.or(a, z),
            });
        }
        acc.expect("at least one operand")
    }

    /// Whether float `x` is not zero (an inexactness residue).
    fn nonzero(&mut self, x: Value) -> Value {
        let zero = self.b.f64const(0.0);
        self.b.fcmp(ferrite_ir::FloatCC::Ne, x, zero)
    }

    /// Error of `a + b` rounded to `s` (Knuth's TwoSum).
    fn two_sum_err(&mut self, a: Value, b: Value, s: Value) -> Value {
        let bb = self.b.fsub(s, a);
        let sb = self.b.fsub(s, bb);
        let ea = self.b.fsub(a, sb);
        let eb = self.b.fsub(b, bb);
        self.b.fadd(ea, eb)
    }

    /// Whether `a·x + y` differs from its rounding `r1` (Boldo and Muller's ErrFma, as in
    /// `crate::fpu::fast`).
    fn fma_error_nonzero(&mut self, a: Value, x: Value, y: Value, r1: Value) -> Value {
        let u1 = self.b.fmul(a, x);
        let nu1 = self.b.fneg(u1);
        let u2 = self.b.fma(a, x, nu1);
        let alpha1 = self.b.fadd(y, u2);
        let alpha2 = self.two_sum_err(y, u2, alpha1);
        let beta1 = self.b.fadd(u1, alpha1);
        let beta2 = self.two_sum_err(u1, alpha1, beta1);
        let g = self.b.fsub(beta1, r1);
        let gamma = self.b.fadd(g, beta2);
        let r2 = self.b.fadd(gamma, alpha2);
        let d = self.b.fsub(r2, gamma);
        let r3 = self.b.fsub(alpha2, d);
        let n2 = self.nonzero(r2);
        let n3 = self.nonzero(r3);
        self.b.or(n2, n3)
    }
}
