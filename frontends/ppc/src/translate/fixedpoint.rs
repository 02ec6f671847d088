//! Power ISA Book I chapter 3: fixed-point arithmetic, logical, rotate, shift and compare
//! instructions, and isel.

use super::{Flow, TResult, Translator};
use crate::cpu::regs;
use ferrite_ir::{IntCC, Opcode, Type, Value};

/// Operand selection for the carrying add family.
#[derive(Clone, Copy)]
pub enum AddB {
    /// RB.
    Reg(u32),
    /// The constant 0 (`addze`, `subfze`).
    Zero,
    /// The constant -1 (`addme`, `subfme`).
    MinusOne,
}

/// Carry-in of the add family.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CarryIn {
    /// 0 (`add`, `addc`).
    Zero,
    /// 1 (`subf`, `subfc`: ~RA + RB + 1).
    One,
    /// XER[CA] (extended forms).
    Ca,
}

impl Translator<'_> {
    /// Finishes an XO-form result: write RT, OV if `oe`, CR0 if `rc`.
    fn finish_xo(&mut self, rt: u32, r: Value, ov: Option<Value>, rc: bool) -> TResult {
        self.set_gpr(rt, r);
        if let Some(ov) = ov {
            self.set_ov(ov);
        }
        if rc {
            self.set_cr0(r);
        }
        Ok(Flow::Continue)
    }

    /// The add family: RT = (`negate_a` ? ~RA : RA) + B + carry-in, with CA when `set_ca`.
    #[allow(clippy::too_many_arguments)]
    pub fn add_family(&mut self, rt: u32, ra: u32, b: AddB, negate_a: bool, cin: CarryIn, set_ca: bool, oe: bool, rc: bool) -> TResult {
        let a = self.gpr(ra);
        let a = if negate_a { self.b.not(a) } else { a };
        let bv = match b {
            AddB::Reg(rb) => self.gpr(rb),
            AddB::Zero => self.c32(0),
            AddB::MinusOne => self.c32(u32::MAX),
        };
        let c = match cin {
            CarryIn::Zero => self.c8(0),
            CarryIn::One => self.c8(1),
            CarryIn::Ca => self.get(regs::CA),
        };
        let s = self.b.add(a, bv);
        let s = if cin == CarryIn::Zero {
            s
        } else {
            let c32 = self.bool_to_i32(c);
            self.b.add(s, c32)
        };
        if set_ca {
            let ca = self.b.add_carry(a, bv, c);
            self.set(regs::CA, ca);
        }
        let ov = oe.then(|| self.b.add_overflow(a, bv, c));
        self.finish_xo(rt, s, ov, rc)
    }

    /// addi / addis: RT = (RA|0) + imm.
    pub fn addi(&mut self, rt: u32, ra: u32, imm: u32) -> TResult {
        let a = self.gpr_or_zero(ra);
        let r = self.b.add_imm(a, imm as u64);
        self.set_gpr(rt, r);
        Ok(Flow::Continue)
    }

    /// addic / addic.: RT = RA + imm, CA.
    pub fn addic(&mut self, rt: u32, ra: u32, imm: u32, rc: bool) -> TResult {
        let a = self.gpr(ra);
        let k = self.c32(imm);
        let zero = self.c8(0);
        let r = self.b.add(a, k);
        let ca = self.b.add_carry(a, k, zero);
        self.set(regs::CA, ca);
        self.finish_xo(rt, r, None, rc)
    }

    /// subfic: RT = ~RA + imm + 1, CA.
    pub fn subfic(&mut self, rt: u32, ra: u32, imm: u32) -> TResult {
        let a = self.gpr(ra);
        let na = self.b.not(a);
        let k = self.c32(imm);
        let one = self.c8(1);
        let r = self.b.sub(k, a);
        let ca = self.b.add_carry(na, k, one);
        self.set(regs::CA, ca);
        self.finish_xo(rt, r, None, false)
    }

    /// neg: RT = -RA; overflow when RA is the most negative number.
    pub fn neg(&mut self, rt: u32, ra: u32, oe: bool, rc: bool) -> TResult {
        let a = self.gpr(ra);
        let r = self.b.neg(a);
        let ov = oe.then(|| self.b.icmp_imm(IntCC::Eq, a, 0x8000_0000));
        self.finish_xo(rt, r, ov, rc)
    }

    /// mulli: RT = low 32 bits of RA * imm.
    pub fn mulli(&mut self, rt: u32, ra: u32, imm: u32) -> TResult {
        let a = self.gpr(ra);
        let k = self.c32(imm);
        let r = self.b.mul(a, k);
        self.set_gpr(rt, r);
        Ok(Flow::Continue)
    }

    /// mullw: low product; OV when the signed 64-bit product does not fit in 32 bits.
    pub fn mullw(&mut self, rt: u32, ra: u32, rb: u32, oe: bool, rc: bool) -> TResult {
        let a = self.gpr(ra);
        let b = self.gpr(rb);
        let lo = self.b.mul(a, b);
        let ov = oe.then(|| {
            let hi = self.b.mulhis(a, b);
            let sign = self.b.shrs_imm(lo, 31);
            self.b.icmp(IntCC::Ne, hi, sign)
        });
        self.finish_xo(rt, lo, ov, rc)
    }

    /// mulhw / mulhwu: high word of the signed / unsigned product.
    pub fn mulhw(&mut self, rt: u32, ra: u32, rb: u32, signed: bool, rc: bool) -> TResult {
        let a = self.gpr(ra);
        let b = self.gpr(rb);
        let r = if signed { self.b.mulhis(a, b) } else { self.b.mulhiu(a, b) };
        self.finish_xo(rt, r, None, rc)
    }

    /// divw / divwu. Division by zero (and MIN / -1 for divw) is undefined in the ISA; like
    /// QEMU we divide by 1 instead (RT = RA) and set OV under OE.
    pub fn divw(&mut self, rt: u32, ra: u32, rb: u32, signed: bool, oe: bool, rc: bool) -> TResult {
        let a = self.gpr(ra);
        let b = self.gpr(rb);
        let zero = self.b.icmp_imm(IntCC::Eq, b, 0);
        let bad = if signed {
            let min = self.b.icmp_imm(IntCC::Eq, a, 0x8000_0000);
            let m1 = self.b.icmp_imm(IntCC::Eq, b, 0xffff_ffff);
            let ovf = self.b.and(min, m1);
            self.b.or(zero, ovf)
        } else {
            zero
        };
        let one = self.c32(1);
        let d = self.b.select(bad, one, b);
        let r = if signed { self.b.divs(a, d) } else { self.b.divu(a, d) };
        self.finish_xo(rt, r, oe.then_some(bad), rc)
    }

    /// Logical X-form: RA = op(RS, RB), optionally complementing the result or RB.
    pub fn logical(&mut self, ra: u32, rs: u32, rb: u32, op: Opcode, invert_result: bool, invert_b: bool, rc: bool) -> TResult {
        let s = self.gpr(rs);
        let b = self.gpr(rb);
        let b = if invert_b { self.b.not(b) } else { b };
        let r = self.b.push(op, Type::I32, [s, b, Value::NONE, Value::NONE], 0);
        let r = if invert_result { self.b.not(r) } else { r };
        self.finish_xo(ra, r, None, rc)
    }

    /// Logical D-form: RA = op(RS, imm); `rc` for andi./andis.
    pub fn logical_imm(&mut self, ra: u32, rs: u32, imm: u32, op: Opcode, rc: bool) -> TResult {
        let s = self.gpr(rs);
        let r = self.b.binop_imm(op, s, imm as u64);
        self.finish_xo(ra, r, None, rc)
    }

    /// extsb / extsh: sign-extend the low byte or half-word of RS.
    pub fn exts(&mut self, ra: u32, rs: u32, from: Type, rc: bool) -> TResult {
        let s = self.gpr(rs);
        let n = self.b.trunc(from, s);
        let r = self.b.sext(Type::I32, n);
        self.finish_xo(ra, r, None, rc)
    }

    /// cntlzw.
    pub fn cntlzw(&mut self, ra: u32, rs: u32, rc: bool) -> TResult {
        let s = self.gpr(rs);
        let r = self.b.clz(s);
        self.finish_xo(ra, r, None, rc)
    }

    /// rlwinm / rlwnm: RA = ROTL(RS, n) & MASK(mb, me); `sh` is an immediate or RB.
    pub fn rlw(&mut self, ra: u32, rs: u32, sh: Result<u32, u32>, mb: u32, me: u32, insert: bool, rc: bool) -> TResult {
        let s = self.gpr(rs);
        let rot = match sh {
            Ok(n) => self.b.rotl_imm(s, n as u64 & 31),
            Err(rb) => {
                let n = self.gpr(rb);
                let n = self.b.and_imm(n, 31);
                self.b.rotl(s, n)
            }
        };
        let m = mask32(mb, me);
        let r = self.b.and_imm(rot, m as u64);
        let r = if insert {
            let old = self.gpr(ra);
            let keep = self.b.and_imm(old, !m as u64);
            self.b.or(r, keep)
        } else {
            r
        };
        self.finish_xo(ra, r, None, rc)
    }

    /// slw / srw: shift by RB[58:63]; amounts of 32 and more give 0.
    pub fn shift_word(&mut self, ra: u32, rs: u32, rb: u32, left: bool, rc: bool) -> TResult {
        let s = self.gpr(rs);
        let n = self.gpr(rb);
        let n = self.b.and_imm(n, 0x3f);
        let sh = if left { self.b.shl(s, n) } else { self.b.shru(s, n) };
        let big = self.b.icmp_imm(IntCC::Ugt, n, 31);
        let zero = self.c32(0);
        let r = self.b.select(big, zero, sh);
        self.finish_xo(ra, r, None, rc)
    }

    /// sraw / srawi: arithmetic shift; CA when RS is negative and one bits were shifted out.
    pub fn sraw(&mut self, ra: u32, rs: u32, amount: Result<u32, u32>, rc: bool) -> TResult {
        let s = self.gpr(rs);
        let n = match amount {
            Ok(k) => self.c32(k & 31),
            Err(rb) => {
                let n = self.gpr(rb);
                self.b.and_imm(n, 0x3f)
            }
        };
        // Amounts above 31 shift in sign bits only: clamp to 31 for the result and treat all
        // bits as shifted out for CA.
        let big = self.b.icmp_imm(IntCC::Ugt, n, 31);
        let k31 = self.c32(31);
        let n_eff = self.b.select(big, k31, n);
        let r = self.b.shrs(s, n_eff);
        let one = self.c32(1);
        let bit = self.b.shl(one, n_eff);
        let low_mask = self.b.sub(bit, one);
        let all = self.c32(u32::MAX);
        let low_mask = self.b.select(big, all, low_mask);
        let lost = self.b.and(s, low_mask);
        let lost_any = self.b.icmp_imm(IntCC::Ne, lost, 0);
        let negative = self.b.icmp_imm(IntCC::Slt, s, 0);
        let ca = self.b.and(lost_any, negative);
        self.set(regs::CA, ca);
        self.finish_xo(ra, r, None, rc)
    }

    /// cmp / cmpl / cmpi / cmpli: compare RA with RB or an immediate into CR field `bf`.
    /// L = 1 (a 64-bit compare) is an invalid form on this 32-bit core: an illegal-instruction
    /// program interrupt, as qemu-ppc -cpu e500mc gives for all four forms.
    pub fn compare(&mut self, bf: u32, l: u32, ra: u32, b: Result<u32, u32>, signed: bool) -> TResult {
        if l != 0 {
            return Err(super::TransError::Illegal);
        }
        let a = self.gpr(ra);
        let bv = match b {
            Ok(imm) => self.c32(imm),
            Err(rb) => self.gpr(rb),
        };
        let (lt, gt) = if signed { (IntCC::Slt, IntCC::Sgt) } else { (IntCC::Ult, IntCC::Ugt) };
        self.set_crf_compare(bf, lt, gt, a, bv);
        Ok(Flow::Continue)
    }

    /// isel: RT = CR[bc] ? (RA|0) : RB.
    pub fn isel(&mut self, rt: u32, ra: u32, rb: u32, bc: u32) -> TResult {
        let c = self.cr_bit(bc);
        let a = self.gpr_or_zero(ra);
        let b = self.gpr(rb);
        let r = self.b.select(c, a, b);
        self.set_gpr(rt, r);
        Ok(Flow::Continue)
    }

    /// CR bit `bi` (0 = CR0[LT]) as an `i8` 0/1.
    pub fn cr_bit(&mut self, bi: u32) -> Value {
        if let Some(v) = self.known_cr_bit(bi) {
            return v;
        }
        let f = self.get(regs::crf(bi / 4));
        let sh = self.b.shru_imm(f, (3 - bi % 4) as u64);
        self.b.and_imm(sh, 1)
    }
}

/// The rotate mask from bit `mb` to bit `me` (IBM numbering, wrapping when mb > me).
pub fn mask32(mb: u32, me: u32) -> u32 {
    let from_mb = u32::MAX >> (mb & 31);
    let to_me = u32::MAX << (31 - (me & 31));
    if mb <= me {
        from_mb & to_me
    } else {
        from_mb | to_me
    }
}

#[cfg(test)]
mod tests {
    use super::mask32;

    #[test]
    fn masks_wrap() {
        assert_eq!(mask32(0, 31), u32::MAX);
        assert_eq!(mask32(16, 31), 0xffff);
        assert_eq!(mask32(0, 0), 0x8000_0000);
        assert_eq!(mask32(31, 0), 0x8000_0001);
        assert_eq!(mask32(28, 3), 0xf000_000f);
    }
}
