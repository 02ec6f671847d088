//! Expansions of the float ops and the conversions that have one, with the interpreter's
//! meaning (`ferrite_ir::eval`) bit for bit.
//!
//! Floats live in the frame and in `rax` as bit patterns (an `f32` zero-extended), as
//! everywhere else; an op moves its operands into `xmm0`-`xmm2`, computes with the scalar SSE2
//! instruction the interpreter's Rust compiles to (or FMA3's `vfmadd213`, which the `fma`
//! library routine uses on such hosts), and moves the result back to `rax`. A result left in
//! `xmm0` also serves the next op from there; one that only the next op reads, into an `xmm`
//! register, skips `rax` (float chains are bound by latency, and each crossing between the
//! register files costs some). Where several operands are NaN, which one the result is
//! depends on where each sits: the operands are placed as in the interpreter's code
//! ([`crate::host::Host`] checks).

use super::Emitter;
use crate::asm::{Alu, Bt, FArith, Fp, X, RAX, RCX, W, XMM0, XMM1, XMM2};
use ferrite_ir::interp::{Op, Slot};
use ferrite_ir::{FloatCC, Opcode, Type};

/// Whether `op`, when expanded, reads all its operands with [`Emitter::get_x`] (which finds
/// one the previous op left in `xmm0`).
pub(super) fn reads_xmm(op: &Op) -> bool {
    matches!(
        *op,
        Op::Binary { op: Opcode::FAdd | Opcode::FSub | Opcode::FMul | Opcode::FDiv, .. }
            | Op::Ternary { op: Opcode::Fma, .. }
            | Op::Unary { op: Opcode::FSqrt, .. }
            | Op::Convert { op: Opcode::FPromote | Opcode::FDemote, .. }
            | Op::Fcmp { .. }
    )
}

/// The precision of a float type.
fn fp(ty: Type) -> Fp {
    if ty == Type::F32 {
        Fp::S
    } else {
        Fp::D
    }
}

/// The register width of an integer or float type's slot value.
fn width(ty: Type) -> W {
    match ty.bits() {
        8 => W::B8,
        16 => W::B16,
        32 => W::B32,
        _ => W::B64,
    }
}

impl Emitter<'_> {
    /// Emits a float op or conversion that has an expansion (`crate::plan::is_generic` is
    /// false).
    pub(super) fn float_op(&mut self, op: &Op) {
        match *op {
            Op::Binary { d, a, b, op, ty } => {
                let arith = match op {
                    Opcode::FAdd => FArith::Add,
                    Opcode::FSub => FArith::Sub,
                    Opcode::FMul => FArith::Mul,
                    _ => FArith::Div,
                };
                // (Only commutative ops are planned with b in the destination.)
                let (x, y) = if self.host.binary_swapped(op, ty) == Some(true) { (b, a) } else { (a, b) };
                self.get_x(XMM1, y);
                self.get_x(XMM0, x);
                self.a.farith(fp(ty), arith, XMM0, XMM1);
                self.put_x(d, ty);
            }
            Op::Ternary { d, a, b, c, ty, .. } => self.fma(d, [a, b, c], ty),
            Op::Unary { d, a, op: Opcode::FSqrt, ty } => {
                self.get_x(XMM0, a);
                self.a.farith(fp(ty), FArith::Sqrt, XMM0, XMM0);
                self.put_x(d, ty);
            }
            Op::Unary { d, a, op, ty } => {
                // fneg and fabs work on the sign bit: integer instructions (no NaN is quieted).
                let bt = if op == Opcode::FNeg { Bt::Btc } else { Bt::Btr };
                self.get(RAX, a);
                self.a.bt_imm(width(ty), bt, RAX, ty.bits() as u8 - 1);
                self.put(d);
            }
            Op::Convert { d, a, op, from, to } => self.convert(d, a, op, from, to),
            Op::Fcmp { d, a, b, cc, ty } => {
                // The predicates hold the IR's meaning: eq, lt, le, gt and ge are false on
                // unordered operands, ne is true (Rust's `!=`); gt and ge swap the operands.
                let (pred, x, y) = match cc {
                    FloatCC::Eq => (0, a, b),
                    FloatCC::Lt => (1, a, b),
                    FloatCC::Le => (2, a, b),
                    FloatCC::Gt => (1, b, a),
                    FloatCC::Ge => (2, b, a),
                    FloatCC::Uno => (3, a, b),
                    FloatCC::Ne => (4, a, b),
                    FloatCC::Ord => (7, a, b),
                };
                self.get_x(XMM1, y);
                self.get_x(XMM0, x);
                self.a.fcmp(fp(ty), pred, XMM0, XMM1);
                self.a.mov_rx(W::B32, RAX, XMM0);
                self.a.alu_ri(W::B32, Alu::And, RAX, 1);
                self.put(d);
            }
            _ => unreachable!("{op:?} has no expansion"),
        }
    }

    fn convert(&mut self, d: Slot, a: Slot, op: Opcode, from: Type, to: Type) {
        match op {
            Opcode::Sext => {
                self.get(RAX, a);
                self.a.movsx(width(from), RAX, RAX);
                self.mask(RAX, to.mask());
            }
            // cvtss2sd and cvtsd2ss: exact, and rounded to nearest even (the MXCSR mode the
            // interpreter's `as` runs under too); both quiet a signalling NaN.
            Opcode::FPromote | Opcode::FDemote => {
                self.get_x(XMM0, a);
                self.a.fconvert(fp(from), XMM0, XMM0);
                self.put_x(d, to);
                return;
            }
            _ => unreachable!("{op:?} has no expansion"),
        }
        self.put(d);
    }

    /// `fma(a, b, c)`: b × a + c with one rounding, by the instruction the interpreter's `fma`
    /// runs, its operands in the same places (vendors rank NaN operands differently).
    fn fma(&mut self, d: Slot, [a, b, c]: [Slot; 3], ty: Type) {
        self.get_x(XMM2, c);
        self.get_x(XMM1, b);
        self.get_x(XMM0, a);
        self.a.vfmadd213(fp(ty), XMM0, XMM1, XMM2);
        self.put_x(d, ty);
    }

    /// Loads slot `s` into the low lane of `x` (the whole 64 bits; an `f32` slot's upper half
    /// is zero). Leaves `rax` alone, so operands are read in any order, and `xmm0` unless
    /// `x` is `xmm0`, so operands are read into `xmm0` last.
    fn get_x(&mut self, x: X, s: Slot) {
        if self.in_xmm0 == Some(s) {
            if x != XMM0 {
                self.a.movaps(x, XMM0);
            }
            return;
        }
        if self.in_rax == Some(s) {
            self.a.movq_xr(x, RAX);
            return;
        }
        match self.konst(s) {
            Some(k) => {
                self.a.mov_imm(RCX, k);
                self.a.movq_xr(x, RCX);
            }
            None => {
                let m = self.slot(s);
                self.a.movq_xm(x, m);
            }
        }
    }

    /// The result of type `ty` in `xmm0` to `rax` (an `f32` zero-extended) and slot `d`, or,
    /// when only the next op reads it and that from `xmm0`, nowhere else.
    fn put_x(&mut self, d: Slot, ty: Type) {
        self.left_in_xmm0 = Some(d);
        if self.keep_current && self.next_reads_xmm {
            return;
        }
        self.a.mov_rx(width(ty), RAX, XMM0);
        self.put(d);
    }
}
