//! Pure opcodes: exactly the semantics of `ferrite_ir::eval`, without host traps.
//!
//! Integer values use their Cranelift type of the same width (no zero-extended slots), so
//! masking is implicit; division guards its divisor so the host never faults.

use super::clif_type;
use cranelift_codegen::ir::{self, condcodes, types, InstBuilder, MemFlagsData};
use cranelift_frontend::FunctionBuilder;
use ferrite_ir::{FloatCC, IntCC, Opcode, Type};

/// A constant of IR type `ty` with bits `imm`.
pub(super) fn constant(b: &mut FunctionBuilder, ty: Type, imm: u64) -> ir::Value {
    match ty {
        Type::F32 => b.ins().f32const(ir::immediates::Ieee32::with_bits(imm as u32)),
        Type::F64 => b.ins().f64const(ir::immediates::Ieee64::with_bits(imm)),
        _ => b.ins().iconst(clif_type(ty), (imm & ty.mask()) as i64),
    }
}

/// The IR's integer condition as Cranelift's.
pub(super) fn int_cc(cc: IntCC) -> condcodes::IntCC {
    use condcodes::IntCC as C;
    match cc {
        IntCC::Eq => C::Equal,
        IntCC::Ne => C::NotEqual,
        IntCC::Slt => C::SignedLessThan,
        IntCC::Sle => C::SignedLessThanOrEqual,
        IntCC::Sgt => C::SignedGreaterThan,
        IntCC::Sge => C::SignedGreaterThanOrEqual,
        IntCC::Ult => C::UnsignedLessThan,
        IntCC::Ule => C::UnsignedLessThanOrEqual,
        IntCC::Ugt => C::UnsignedGreaterThan,
        IntCC::Uge => C::UnsignedGreaterThanOrEqual,
    }
}

/// The IR's float condition as Cranelift's (same NaN behaviour: only `Ne` and `Uno` hold for
/// unordered operands).
pub(super) fn float_cc(cc: FloatCC) -> condcodes::FloatCC {
    use condcodes::FloatCC as C;
    match cc {
        FloatCC::Eq => C::Equal,
        FloatCC::Ne => C::NotEqual,
        FloatCC::Lt => C::LessThan,
        FloatCC::Le => C::LessThanOrEqual,
        FloatCC::Gt => C::GreaterThan,
        FloatCC::Ge => C::GreaterThanOrEqual,
        FloatCC::Uno => C::Unordered,
        FloatCC::Ord => C::Ordered,
    }
}

/// A unary opcode on type `ty`.
pub(super) fn unary(b: &mut FunctionBuilder, op: Opcode, ty: Type, x: ir::Value) -> ir::Value {
    match op {
        Opcode::Neg => b.ins().ineg(x),
        Opcode::Not => b.ins().bnot(x),
        Opcode::Clz => b.ins().clz(x),
        Opcode::Ctz => b.ins().ctz(x),
        Opcode::Popcnt => b.ins().popcnt(x),
        Opcode::Bswap if ty == Type::I8 => x,
        Opcode::Bswap => b.ins().bswap(x),
        Opcode::FSqrt => b.ins().sqrt(x),
        Opcode::FNeg => b.ins().fneg(x),
        Opcode::FAbs => b.ins().fabs(x),
        _ => unreachable!("{op:?} is not unary"),
    }
}

/// A binary opcode on type `ty`.
pub(super) fn binary(b: &mut FunctionBuilder, op: Opcode, ty: Type, x: ir::Value, y: ir::Value) -> ir::Value {
    match op {
        Opcode::Add => b.ins().iadd(x, y),
        Opcode::Sub => b.ins().isub(x, y),
        Opcode::Mul => b.ins().imul(x, y),
        Opcode::MulHiU | Opcode::MulHiS => mul_hi(b, op == Opcode::MulHiS, ty, x, y),
        Opcode::DivU | Opcode::RemU => div_u(b, op == Opcode::RemU, ty, x, y),
        Opcode::DivS | Opcode::RemS => div_s(b, op == Opcode::RemS, ty, x, y),
        Opcode::And => b.ins().band(x, y),
        Opcode::Or => b.ins().bor(x, y),
        Opcode::Xor => b.ins().bxor(x, y),
        // Cranelift shifts and rotates take the amount modulo the width, as the IR does.
        Opcode::Shl => b.ins().ishl(x, y),
        Opcode::ShrU => b.ins().ushr(x, y),
        Opcode::ShrS => b.ins().sshr(x, y),
        Opcode::Rotl => b.ins().rotl(x, y),
        Opcode::Rotr => b.ins().rotr(x, y),
        Opcode::FAdd => b.ins().fadd(x, y),
        Opcode::FSub => b.ins().fsub(x, y),
        Opcode::FMul => b.ins().fmul(x, y),
        Opcode::FDiv => b.ins().fdiv(x, y),
        _ => unreachable!("{op:?} is not binary"),
    }
}

/// High half of the double-width product.
fn mul_hi(b: &mut FunctionBuilder, signed: bool, ty: Type, x: ir::Value, y: ir::Value) -> ir::Value {
    match (ty, signed) {
        (Type::I64, false) => b.ins().umulhi(x, y),
        (Type::I64, true) => b.ins().smulhi(x, y),
        _ => {
            // Narrow types: one 64-bit multiply of the extended operands.
            let (x, y) = if signed {
                (b.ins().sextend(types::I64, x), b.ins().sextend(types::I64, y))
            } else {
                (b.ins().uextend(types::I64, x), b.ins().uextend(types::I64, y))
            };
            let p = b.ins().imul(x, y);
            let hi = b.ins().ushr_imm_s(p, ty.bits() as i64);
            b.ins().ireduce(clif_type(ty), hi)
        }
    }
}

/// Widens i8/i16 operands to i32 (cheaper division, and MIN / -1 cannot overflow there).
fn widen(b: &mut FunctionBuilder, signed: bool, ty: Type, x: ir::Value, y: ir::Value) -> (ir::Value, ir::Value) {
    if ty.bits() >= 32 {
        return (x, y);
    }
    if signed {
        (b.ins().sextend(types::I32, x), b.ins().sextend(types::I32, y))
    } else {
        (b.ins().uextend(types::I32, x), b.ins().uextend(types::I32, y))
    }
}

fn narrow(b: &mut FunctionBuilder, ty: Type, v: ir::Value) -> ir::Value {
    if ty.bits() >= 32 {
        v
    } else {
        b.ins().ireduce(clif_type(ty), v)
    }
}

/// Unsigned division or remainder; by zero: all ones, or the dividend.
fn div_u(b: &mut FunctionBuilder, rem: bool, ty: Type, x0: ir::Value, y0: ir::Value) -> ir::Value {
    let (x, y) = widen(b, false, ty, x0, y0);
    let wty = b.func.dfg.value_type(x);
    let zero = b.ins().icmp_imm_s(condcodes::IntCC::Equal, y, 0);
    let one = b.ins().iconst(wty, 1);
    let safe = b.ins().select(zero, one, y);
    let r = if rem {
        let r = b.ins().urem(x, safe);
        b.ins().select(zero, x, r)
    } else {
        let q = b.ins().udiv(x, safe);
        let ones = b.ins().iconst(wty, -1);
        b.ins().select(zero, ones, q)
    };
    narrow(b, ty, r)
}

/// Signed division or remainder; by zero: -1, or the dividend; MIN / -1 = MIN, MIN % -1 = 0.
fn div_s(b: &mut FunctionBuilder, rem: bool, ty: Type, x0: ir::Value, y0: ir::Value) -> ir::Value {
    let (x, y) = widen(b, true, ty, x0, y0);
    let wty = b.func.dfg.value_type(x);
    let zero = b.ins().icmp_imm_s(condcodes::IntCC::Equal, y, 0);
    // Divisors 0 and -1 become 1: y + 1 <= 1 (unsigned) exactly for those two.
    let y1 = b.ins().iadd_imm_s(y, 1);
    let bad = b.ins().icmp_imm_s(condcodes::IntCC::UnsignedLessThanOrEqual, y1, 1);
    let one = b.ins().iconst(wty, 1);
    let safe = b.ins().select(bad, one, y);
    let r = if rem {
        // x % 1 == 0 is also the answer for y == -1.
        let r = b.ins().srem(x, safe);
        b.ins().select(zero, x, r)
    } else {
        let q = b.ins().sdiv(x, safe);
        // x / 1 == x; y == -1 needs -x (wrapping), y == 0 needs -1.
        let neg = b.ins().ineg(x);
        let m1 = b.ins().icmp_imm_s(condcodes::IntCC::Equal, y, -1);
        let q = b.ins().select(m1, neg, q);
        let ones = b.ins().iconst(wty, -1);
        b.ins().select(zero, ones, q)
    };
    narrow(b, ty, r)
}

/// A known or computed carry-in.
#[derive(Clone, Copy)]
pub(super) enum CarryIn {
    /// A constant carry.
    Const(bool),
    /// An `i8` 0/1.
    Value(ir::Value),
}

/// `add_carry` / `add_overflow` of `x + y + cin` on type `ty`.
pub(super) fn carry(b: &mut FunctionBuilder, op: Opcode, ty: Type, x: ir::Value, y: ir::Value, cin: CarryIn) -> ir::Value {
    let signed = op == Opcode::AddOverflow;
    let add = |b: &mut FunctionBuilder, p: ir::Value, q: ir::Value| {
        if signed {
            b.ins().sadd_overflow(p, q)
        } else {
            b.ins().uadd_overflow(p, q)
        }
    };
    let (s, o1) = add(b, x, y);
    let c = match cin {
        CarryIn::Const(false) => return o1,
        CarryIn::Const(true) => b.ins().iconst(clif_type(ty), 1),
        CarryIn::Value(c) if ty == Type::I8 => c,
        CarryIn::Value(c) => b.ins().uextend(clif_type(ty), c),
    };
    let (_, o2) = add(b, s, c);
    // Unsigned: the two carries never both occur. Signed: two overflows cancel out.
    if signed {
        b.ins().bxor(o1, o2)
    } else {
        b.ins().bor(o1, o2)
    }
}

/// A conversion from `from` to `to`.
pub(super) fn convert(b: &mut FunctionBuilder, op: Opcode, from: Type, to: Type, x: ir::Value) -> ir::Value {
    let t = clif_type(to);
    match op {
        Opcode::Zext => b.ins().uextend(t, x),
        Opcode::Sext => b.ins().sextend(t, x),
        Opcode::Trunc => b.ins().ireduce(t, x),
        Opcode::Bitcast => b.ins().bitcast(t, MemFlagsData::new(), x),
        Opcode::FPromote => b.ins().fpromote(t, x),
        Opcode::FDemote => b.ins().fdemote(t, x),
        Opcode::FToSI => match to {
            Type::I32 | Type::I64 => b.ins().fcvt_to_sint_sat(t, x),
            _ => {
                // Saturating to i32 then clamping gives the narrow saturation (NaN stays 0).
                let v = b.ins().fcvt_to_sint_sat(types::I32, x);
                let lo = b.ins().iconst(types::I32, -(1i64 << (to.bits() - 1)));
                let hi = b.ins().iconst(types::I32, (1i64 << (to.bits() - 1)) - 1);
                let v = b.ins().smax(v, lo);
                let v = b.ins().smin(v, hi);
                b.ins().ireduce(t, v)
            }
        },
        Opcode::FToUI => match to {
            Type::I32 | Type::I64 => b.ins().fcvt_to_uint_sat(t, x),
            _ => {
                let v = b.ins().fcvt_to_uint_sat(types::I32, x);
                let hi = b.ins().iconst(types::I32, to.mask() as i64);
                let v = b.ins().umin(v, hi);
                b.ins().ireduce(t, v)
            }
        },
        Opcode::SIToF => {
            let x = if from.bits() < 32 { b.ins().sextend(types::I32, x) } else { x };
            b.ins().fcvt_from_sint(t, x)
        }
        Opcode::UIToF => match from {
            // Zero-extended values below 2^32 convert exactly as signed 64-bit ones.
            Type::I8 | Type::I16 | Type::I32 => {
                let x = b.ins().uextend(types::I64, x);
                b.ins().fcvt_from_sint(t, x)
            }
            _ => b.ins().fcvt_from_uint(t, x),
        },
        _ => unreachable!("{op:?} is not a conversion"),
    }
}

/// A value of IR type `ty` as the `u64` helpers and slow paths exchange (zero-extended
/// integers, float bits).
pub(super) fn to_u64(b: &mut FunctionBuilder, ty: Type, v: ir::Value) -> ir::Value {
    let v = match ty {
        Type::F32 => b.ins().bitcast(types::I32, MemFlagsData::new(), v),
        Type::F64 => b.ins().bitcast(types::I64, MemFlagsData::new(), v),
        _ => v,
    };
    if ty.bits() < 64 {
        b.ins().uextend(types::I64, v)
    } else {
        v
    }
}

/// The low bits of a `u64` as a value of IR type `ty`.
pub(super) fn from_u64(b: &mut FunctionBuilder, ty: Type, v: ir::Value) -> ir::Value {
    let int = ty.int_of_same_width();
    let v = if int.bits() < 64 { b.ins().ireduce(clif_type(int), v) } else { v };
    if ty.is_float() {
        b.ins().bitcast(clif_type(ty), MemFlagsData::new(), v)
    } else {
        v
    }
}
