//! Power ISA Book I chapter 2.5 and 3.3.15: condition register logic and moves
//! (cr* logic, mcrf, mfcr/mfocrf, mtcrf/mtocrf, mcrxr).

use super::{Flow, TResult, Translator};
use crate::cpu::regs::{self, crf};
use ferrite_ir::{Opcode, Type, Value};

impl Translator<'_> {
    /// Writes CR bit `bt` from an `i8` 0/1.
    fn set_cr_bit(&mut self, bt: u32, bit: Value) {
        let pos = 3 - bt % 4;
        let f = self.get(crf(bt / 4));
        let keep = self.b.and_imm(f, !(1u64 << pos) & 0xff);
        let v = self.b.shl_imm(bit, pos as u64);
        let r = self.b.or(keep, v);
        self.set(crf(bt / 4), r);
    }

    /// crand, cror, crxor, crnand, crnor, creqv, crandc, crorc: CR[bt] = op(CR[ba], CR[bb]).
    pub fn cr_logic(&mut self, bt: u32, ba: u32, bb: u32, op: Opcode, invert_result: bool, invert_b: bool) -> TResult {
        let a = self.cr_bit(ba);
        let b = self.cr_bit(bb);
        let b = if invert_b { self.b.xor_imm(b, 1) } else { b };
        let r = self.b.push(op, Type::I8, [a, b, Value::NONE, Value::NONE], 0);
        let r = if invert_result { self.b.xor_imm(r, 1) } else { r };
        self.set_cr_bit(bt, r);
        Ok(Flow::Continue)
    }

    /// mcrf: CR[bf] = CR[bfa].
    pub fn mcrf(&mut self, bf: u32, bfa: u32) -> TResult {
        let v = self.get(crf(bfa));
        self.set(crf(bf), v);
        Ok(Flow::Continue)
    }

    /// The whole CR as an `i32`.
    pub fn read_cr(&mut self) -> Value {
        let mut acc = self.c32(0);
        for i in 0..8 {
            let f = self.get(crf(i));
            let f = self.b.zext(Type::I32, f);
            let f = self.b.shl_imm(f, 28 - 4 * i as u64);
            acc = self.b.or(acc, f);
        }
        acc
    }

    /// Sets the CR fields selected by `fxm` (bit 7 = CR0) from `v`.
    pub fn write_cr_fields(&mut self, fxm: u32, v: Value) {
        for i in 0..8 {
            if fxm & (0x80 >> i) != 0 {
                let f = self.b.shru_imm(v, 28 - 4 * i as u64);
                let f = self.b.trunc(Type::I8, f);
                let f = self.b.and_imm(f, 0xf);
                self.set(crf(i), f);
            }
        }
    }

    /// mfcr (`one_field` false) / mfocrf (true): like QEMU, mfocrf with a FXM that does not
    /// select exactly one field leaves RT unchanged.
    pub fn mfcr(&mut self, rt: u32, fxm: u32, one_field: bool) -> TResult {
        if one_field {
            if fxm != 0 && fxm & (fxm - 1) == 0 {
                let i = fxm.leading_zeros() - 24;
                let f = self.get(crf(i));
                let f = self.b.zext(Type::I32, f);
                let r = self.b.shl_imm(f, 28 - 4 * i as u64);
                self.set_gpr(rt, r);
            }
            return Ok(Flow::Continue);
        }
        let cr = self.read_cr();
        self.set_gpr(rt, cr);
        Ok(Flow::Continue)
    }

    /// mtcrf (`one_field` false) / mtocrf (true; only a single-field FXM does anything, as in QEMU).
    pub fn mtcrf(&mut self, fxm: u32, rs: u32, one_field: bool) -> TResult {
        if one_field && (fxm == 0 || fxm & (fxm - 1) != 0) {
            return Ok(Flow::Continue);
        }
        let v = self.gpr(rs);
        self.write_cr_fields(fxm, v);
        Ok(Flow::Continue)
    }

    /// mcrxr: CR[bf] = SO OV CA 0, then clear them.
    pub fn mcrxr(&mut self, bf: u32) -> TResult {
        let so = self.get(regs::SO);
        let ov = self.get(regs::OV);
        let ca = self.get(regs::CA);
        let so = self.b.shl_imm(so, 3);
        let ov = self.b.shl_imm(ov, 2);
        let ca = self.b.shl_imm(ca, 1);
        let v = self.b.or(so, ov);
        let v = self.b.or(v, ca);
        self.set(crf(bf), v);
        let zero = self.c8(0);
        self.set(regs::SO, zero);
        self.set(regs::OV, zero);
        self.set(regs::CA, zero);
        Ok(Flow::Continue)
    }
}
