//! Expansions of the pure integer ops (arithmetic, logic, shifts, comparisons, selection,
//! carries) that have one.

use super::Emitter;
use crate::asm::{Alu, Cc, Shift, RAX, RCX, RDX, W};
use ferrite_ir::interp::{Op, Slot};
use ferrite_ir::{IntCC, Opcode, Type};

impl Emitter<'_> {
    /// Emits a pure integer op that has an expansion (`crate::plan::is_generic` is false).
    pub(super) fn int_op(&mut self, op: &Op) {
        match *op {
            Op::Add { d, a, b, m } => self.alu(Alu::Add, d, a, b, m),
            Op::Sub { d, a, b, m } => self.alu(Alu::Sub, d, a, b, m),
            Op::And { d, a, b } => self.alu(Alu::And, d, a, b, u64::MAX),
            Op::Or { d, a, b } => self.alu(Alu::Or, d, a, b, u64::MAX),
            Op::Xor { d, a, b } => self.alu(Alu::Xor, d, a, b, u64::MAX),
            Op::Mul { d, a, b, m } => {
                self.get(RCX, b);
                self.get(RAX, a);
                let w = if m == u32::MAX as u64 { W::B32 } else { W::B64 };
                self.a.imul_rr(w, RAX, RCX);
                self.mask(RAX, m);
                self.put(d);
            }
            Op::Shl { d, a, b, m } => self.shift(Shift::Shl, d, a, b, m.count_ones(), m),
            Op::ShrU { d, a, b, bits } => self.shift(Shift::Shr, d, a, b, bits, u64::MAX),
            Op::Trunc { d, a, m } => {
                self.get(RAX, a);
                self.mask(RAX, m);
                self.put(d);
            }
            Op::Select { d, c, a, b } => {
                self.get(RDX, c);
                self.get(RCX, b);
                self.get(RAX, a);
                self.a.test_r8_imm(RDX, 1);
                self.a.cmov(Cc::E, RAX, RCX);
                self.put(d);
            }
            Op::Icmp { d, a, b, cc, ty } => {
                let signed = matches!(cc, IntCC::Slt | IntCC::Sle | IntCC::Sgt | IntCC::Sge);
                let narrow = match ty {
                    Type::I8 => Some(W::B8),
                    Type::I16 => Some(W::B16),
                    _ => None,
                };
                match (narrow, signed) {
                    // Signed compares of narrow values (slots hold them zero-extended):
                    // sign-extend both to 64 bits.
                    (Some(from), true) => {
                        let ext = |k: u64| ((k << (64 - ty.bits())) as i64 >> (64 - ty.bits())) as i32;
                        match self.konst(b) {
                            Some(k) => {
                                self.get(RAX, a);
                                self.a.movsx(from, RAX, RAX);
                                self.a.alu_ri(W::B64, Alu::Cmp, RAX, ext(k));
                            }
                            None => {
                                self.get(RCX, b);
                                self.get(RAX, a);
                                self.a.movsx(from, RAX, RAX);
                                self.a.movsx(from, RCX, RCX);
                                self.a.alu_rr(W::B64, Alu::Cmp, RAX, RCX);
                            }
                        }
                    }
                    // 32-bit compares (zero-extended narrow values compare alike), 64-bit ones.
                    _ => {
                        let w = if ty == Type::I64 { W::B64 } else { W::B32 };
                        match self.konst(b).and_then(|k| i32::try_from(k as i64).ok().or((w == W::B32).then_some(k as u32 as i32))) {
                            Some(k) => {
                                self.get(RAX, a);
                                self.a.alu_ri(w, Alu::Cmp, RAX, k);
                            }
                            None => {
                                self.get(RCX, b);
                                self.get(RAX, a);
                                self.a.alu_rr(w, Alu::Cmp, RAX, RCX);
                            }
                        }
                    }
                }
                let cc = match cc {
                    IntCC::Eq => Cc::E,
                    IntCC::Ne => Cc::Ne,
                    IntCC::Slt => Cc::L,
                    IntCC::Sle => Cc::Le,
                    IntCC::Sgt => Cc::G,
                    IntCC::Sge => Cc::Ge,
                    IntCC::Ult => Cc::B,
                    IntCC::Ule => Cc::Be,
                    IntCC::Ugt => Cc::A,
                    IntCC::Uge => Cc::Ae,
                };
                self.a.setcc(cc, RAX);
                self.a.movzx8(RAX, RAX);
                self.put(d);
            }
            Op::Binary { d, a, b, op: bop @ (Opcode::Rotl | Opcode::Rotr | Opcode::ShrS), ty } => {
                let sh = match bop {
                    Opcode::Rotl => Shift::Rol,
                    Opcode::Rotr => Shift::Ror,
                    _ => Shift::Sar,
                };
                // 32- and 64-bit forms only: their counts wrap as the IR's do.
                self.shift(sh, d, a, b, ty.bits(), u64::MAX);
            }
            Op::Binary { d, a, b, op: bop @ (Opcode::MulHiU | Opcode::MulHiS), ty } => {
                let signed = bop == Opcode::MulHiS;
                self.get(RCX, b);
                self.get(RAX, a);
                if ty == Type::I32 {
                    // The whole product fits 64 bits: its bits 32-63.
                    if signed {
                        self.a.movsx(W::B32, RAX, RAX);
                        self.a.movsx(W::B32, RCX, RCX);
                    }
                    self.a.imul_rr(W::B64, RAX, RCX);
                    self.a.shift_imm(W::B64, Shift::Shr, RAX, 32);
                } else {
                    self.a.mul_wide(signed, RCX);
                    self.a.mov_rr(RAX, RDX);
                }
                self.put(d);
            }
            Op::Unary { d, a, op: uop @ (Opcode::Not | Opcode::Neg), ty } => {
                let w = if ty == Type::I32 { W::B32 } else { W::B64 };
                self.get(RAX, a);
                if uop == Opcode::Not {
                    self.a.not(w, RAX);
                } else {
                    self.a.neg(w, RAX);
                }
                self.put(d);
            }
            Op::Carry { d, a, b, c, op: Opcode::AddCarry, .. } => {
                // add_carry.i32: bit 32 of a + b + (c & 1) computed in 64 bits (slots hold
                // the operands zero-extended).
                self.get(RDX, c);
                self.get(RCX, b);
                self.get(RAX, a);
                self.a.alu_ri(W::B32, Alu::And, RDX, 1);
                self.a.alu_rr(W::B64, Alu::Add, RAX, RCX);
                self.a.alu_rr(W::B64, Alu::Add, RAX, RDX);
                self.a.shift_imm(W::B64, Shift::Shr, RAX, 32);
                self.put(d);
            }
            _ => unreachable!("{op:?} has no expansion"),
        }
    }

    /// `d = (a op b) & m`.
    fn alu(&mut self, op: Alu, d: Slot, a: Slot, b: Slot, m: u64) {
        let w = if m == u32::MAX as u64 { W::B32 } else { W::B64 };
        match self.konst(b).and_then(|k| i32::try_from(k as i64).ok().or((w == W::B32).then_some(k as u32 as i32))) {
            Some(k) => {
                self.get(RAX, a);
                self.a.alu_ri(w, op, RAX, k);
            }
            None => {
                self.get(RCX, b);
                self.get(RAX, a);
                self.a.alu_rr(w, op, RAX, RCX);
            }
        }
        if w == W::B64 {
            self.mask(RAX, m);
        }
        self.put(d);
    }

    /// `d = (a shift (b & (bits - 1))) & m` on zero-extended values.
    fn shift(&mut self, op: Shift, d: Slot, a: Slot, b: Slot, bits: u32, m: u64) {
        let w = if bits == 32 { W::B32 } else { W::B64 };
        match self.konst(b) {
            Some(k) => {
                self.get(RAX, a);
                self.a.shift_imm(w, op, RAX, (k & (bits as u64 - 1)) as u8);
            }
            None => {
                self.get(RCX, b);
                self.get(RAX, a);
                if bits < 32 {
                    self.a.alu_ri(W::B32, Alu::And, RCX, bits as i32 - 1);
                }
                self.a.shift_cl(w, op, RAX);
            }
        }
        if bits < 32 {
            self.mask(RAX, m);
        }
        self.put(d);
    }
}
