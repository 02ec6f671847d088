//! The scalar SSE2 and FMA3 forms (the low lane of `xmm` registers; the baseline compiler
//! keeps no value in them across ops).

use super::{Asm, Mem, Rm, R, W};

/// An `xmm` register (hardware number).
pub(crate) type X = u8;

pub(crate) const XMM0: X = 0;
pub(crate) const XMM1: X = 1;
pub(crate) const XMM2: X = 2;

/// Precision of a scalar operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fp {
    /// binary32: the `ss` forms.
    S,
    /// binary64: the `sd` forms.
    D,
}

impl Fp {
    /// The mandatory prefix of the legacy-SSE form.
    fn prefix(self) -> u8 {
        match self {
            Fp::S => 0xf3,
            Fp::D => 0xf2,
        }
    }
}

/// Scalar arithmetic `op dst, src` (the opcode after 0F).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum FArith {
    Sqrt = 0x51,
    Add = 0x58,
    Mul = 0x59,
    Sub = 0x5c,
    Div = 0x5e,
}

impl Asm {
    /// `movq dst, src`: an xmm register from a 64-bit one (the upper lane is cleared).
    pub(crate) fn movq_xr(&mut self, dst: X, src: R) {
        self.inst_p(Some(0x66), W::B64, &[0x0f, 0x6e], dst, Rm::Reg(src));
    }

    /// `movq dst, src` (`W::B64`) or `movd dst32, src` (`W::B32`, zero-extends): a register
    /// from the low lane of an xmm register.
    pub(crate) fn mov_rx(&mut self, w: W, dst: R, src: X) {
        debug_assert!(matches!(w, W::B32 | W::B64));
        self.inst_p(Some(0x66), w, &[0x0f, 0x7e], src, Rm::Reg(dst));
    }

    /// `movaps dst, src` (the whole register).
    pub(crate) fn movaps(&mut self, dst: X, src: X) {
        self.inst(W::B32, &[0x0f, 0x28], dst, Rm::Reg(src));
    }

    /// `movq dst, [m]`: 64 bits (the upper lane is cleared).
    pub(crate) fn movq_xm(&mut self, dst: X, m: Mem) {
        self.inst_p(Some(0xf3), W::B32, &[0x0f, 0x7e], dst, Rm::Mem(m));
    }

    /// `op{ss,sd} dst, src`.
    pub(crate) fn farith(&mut self, p: Fp, op: FArith, dst: X, src: X) {
        self.inst_p(Some(p.prefix()), W::B32, &[0x0f, op as u8], dst, Rm::Reg(src));
    }

    /// `cvtss2sd` (`from` S) or `cvtsd2ss` (`from` D) `dst, src`.
    pub(crate) fn fconvert(&mut self, from: Fp, dst: X, src: X) {
        self.inst_p(Some(from.prefix()), W::B32, &[0x0f, 0x5a], dst, Rm::Reg(src));
    }

    /// `cmp{ss,sd} dst, src, pred`: the low lane of `dst` becomes all ones where the
    /// predicate holds, else zero (0 eq, 1 lt, 2 le, 3 unord, 4 neq, 7 ord; all but neq and
    /// unord false on NaN operands).
    pub(crate) fn fcmp(&mut self, p: Fp, pred: u8, dst: X, src: X) {
        self.inst_p(Some(p.prefix()), W::B32, &[0x0f, 0xc2], dst, Rm::Reg(src));
        self.byte(pred);
    }

    /// `vfmadd213{ss,sd} dst, src2, src3`: `dst = src2 * dst + src3` with one rounding.
    pub(crate) fn vfmadd213(&mut self, p: Fp, dst: X, src2: X, src3: X) {
        // Three-byte VEX: inverted R, X, B and the 0F 38 map; W (double), inverted vvvv
        // (src2), L = 0, pp = 66.
        self.byte(0xc4);
        self.byte((!dst >> 3 & 1) << 7 | 1 << 6 | (!src3 >> 3 & 1) << 5 | 0b00010);
        self.byte(((p == Fp::D) as u8) << 7 | (!src2 & 15) << 3 | 0b01);
        self.byte(0xa9);
        self.modrm(dst, Rm::Reg(src3));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm::tests::check;
    use crate::asm::{mem, RAX, RCX, RSP, R8};

    #[test]
    fn scalar_float_forms_encode_as_gnu_as_does() {
        check(&[
            ("movq xmm0, rax", |a| a.movq_xr(XMM0, RAX), &[0x66, 0x48, 0x0f, 0x6e, 0xc0]),
            ("movq xmm2, rcx", |a| a.movq_xr(XMM2, RCX), &[0x66, 0x48, 0x0f, 0x6e, 0xd1]),
            ("movq xmm1, r8", |a| a.movq_xr(XMM1, R8), &[0x66, 0x49, 0x0f, 0x6e, 0xc8]),
            ("movq xmm9, rax", |a| a.movq_xr(9, RAX), &[0x66, 0x4c, 0x0f, 0x6e, 0xc8]),
            ("movq rax, xmm0", |a| a.mov_rx(W::B64, RAX, XMM0), &[0x66, 0x48, 0x0f, 0x7e, 0xc0]),
            ("movq rcx, xmm2", |a| a.mov_rx(W::B64, RCX, XMM2), &[0x66, 0x48, 0x0f, 0x7e, 0xd1]),
            ("movd eax, xmm0", |a| a.mov_rx(W::B32, RAX, XMM0), &[0x66, 0x0f, 0x7e, 0xc0]),
            ("movd r8d, xmm1", |a| a.mov_rx(W::B32, R8, XMM1), &[0x66, 0x41, 0x0f, 0x7e, 0xc8]),
            ("movq xmm0, [rsp+16]", |a| a.movq_xm(XMM0, mem(RSP, 16)), &[0xf3, 0x0f, 0x7e, 0x44, 0x24, 0x10]),
            ("movq xmm1, [rsp+0x200]", |a| a.movq_xm(XMM1, mem(RSP, 0x200)), &[0xf3, 0x0f, 0x7e, 0x8c, 0x24, 0x00, 0x02, 0x00, 0x00]),
            ("movq xmm2, [rcx]", |a| a.movq_xm(XMM2, mem(RCX, 0)), &[0xf3, 0x0f, 0x7e, 0x11]),
            ("movq xmm10, [r8+8]", |a| a.movq_xm(10, mem(R8, 8)), &[0xf3, 0x45, 0x0f, 0x7e, 0x50, 0x08]),
            ("movaps xmm1, xmm0", |a| a.movaps(XMM1, XMM0), &[0x0f, 0x28, 0xc8]),
            ("movaps xmm9, xmm0", |a| a.movaps(9, XMM0), &[0x44, 0x0f, 0x28, 0xc8]),
            ("addsd xmm0, xmm1", |a| a.farith(Fp::D, FArith::Add, XMM0, XMM1), &[0xf2, 0x0f, 0x58, 0xc1]),
            ("subss xmm0, xmm1", |a| a.farith(Fp::S, FArith::Sub, XMM0, XMM1), &[0xf3, 0x0f, 0x5c, 0xc1]),
            ("mulsd xmm1, xmm0", |a| a.farith(Fp::D, FArith::Mul, XMM1, XMM0), &[0xf2, 0x0f, 0x59, 0xc8]),
            ("divss xmm0, xmm2", |a| a.farith(Fp::S, FArith::Div, XMM0, XMM2), &[0xf3, 0x0f, 0x5e, 0xc2]),
            ("sqrtsd xmm0, xmm0", |a| a.farith(Fp::D, FArith::Sqrt, XMM0, XMM0), &[0xf2, 0x0f, 0x51, 0xc0]),
            ("sqrtss xmm0, xmm0", |a| a.farith(Fp::S, FArith::Sqrt, XMM0, XMM0), &[0xf3, 0x0f, 0x51, 0xc0]),
            ("cvtss2sd xmm0, xmm0", |a| a.fconvert(Fp::S, XMM0, XMM0), &[0xf3, 0x0f, 0x5a, 0xc0]),
            ("cvtsd2ss xmm1, xmm2", |a| a.fconvert(Fp::D, XMM1, XMM2), &[0xf2, 0x0f, 0x5a, 0xca]),
            ("cmpneqsd xmm0, xmm1", |a| a.fcmp(Fp::D, 4, XMM0, XMM1), &[0xf2, 0x0f, 0xc2, 0xc1, 0x04]),
            ("cmpordss xmm0, xmm1", |a| a.fcmp(Fp::S, 7, XMM0, XMM1), &[0xf3, 0x0f, 0xc2, 0xc1, 0x07]),
            ("vfmadd213sd xmm0, xmm1, xmm2", |a| a.vfmadd213(Fp::D, XMM0, XMM1, XMM2), &[0xc4, 0xe2, 0xf1, 0xa9, 0xc2]),
            ("vfmadd213ss xmm0, xmm1, xmm2", |a| a.vfmadd213(Fp::S, XMM0, XMM1, XMM2), &[0xc4, 0xe2, 0x71, 0xa9, 0xc2]),
            ("vfmadd213ss xmm2, xmm0, xmm1", |a| a.vfmadd213(Fp::S, XMM2, XMM0, XMM1), &[0xc4, 0xe2, 0x79, 0xa9, 0xd1]),
            ("vfmadd213sd xmm9, xmm10, xmm11", |a| a.vfmadd213(Fp::D, 9, 10, 11), &[0xc4, 0x42, 0xa9, 0xa9, 0xcb]),
        ]);
    }
}
