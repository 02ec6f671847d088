//! The meaning of every pure opcode, on 64-bit slots.
//!
//! Integer values narrower than 64 bits live zero-extended in their slot; floats live as bit
//! patterns. The interpreter and the constant folder both evaluate through these functions,
//! and the JIT is tested against them.

use crate::opcodes::{FloatCC, IntCC, Opcode};
use crate::Type;

/// Sign-extends the low `ty.bits()` bits of `v`.
#[inline]
pub fn sext(ty: Type, v: u64) -> i64 {
    let sh = 64 - ty.bits();
    ((v << sh) as i64) >> sh
}

#[inline]
fn f64_of(v: u64) -> f64 {
    f64::from_bits(v)
}

#[inline]
fn f32_of(v: u64) -> f32 {
    f32::from_bits(v as u32)
}

/// Applies a float operation in the type's precision.
#[inline]
fn float2(ty: Type, a: u64, b: u64, f64op: fn(f64, f64) -> f64, f32op: fn(f32, f32) -> f32) -> u64 {
    match ty {
        Type::F32 => f32op(f32_of(a), f32_of(b)).to_bits() as u64,
        _ => f64op(f64_of(a), f64_of(b)).to_bits(),
    }
}

/// Evaluates a unary opcode.
pub fn unary(op: Opcode, ty: Type, a: u64) -> u64 {
    let bits = ty.bits();
    let r = match op {
        Opcode::Neg => a.wrapping_neg(),
        Opcode::Not => !a,
        Opcode::Clz => (a.leading_zeros() - (64 - bits)) as u64,
        Opcode::Ctz => {
            if a & ty.mask() == 0 {
                bits as u64
            } else {
                a.trailing_zeros() as u64
            }
        }
        Opcode::Popcnt => (a & ty.mask()).count_ones() as u64,
        Opcode::Bswap => a.swap_bytes() >> (64 - bits),
        Opcode::FNeg => a ^ (1u64 << (bits - 1)),
        Opcode::FAbs => a & !(1u64 << (bits - 1)),
        Opcode::FSqrt => match ty {
            Type::F32 => f32_of(a).sqrt().to_bits() as u64,
            _ => f64_of(a).sqrt().to_bits(),
        },
        _ => unreachable!("{op:?} is not unary"),
    };
    r & ty.mask()
}

/// Evaluates a binary opcode.
pub fn binary(op: Opcode, ty: Type, a: u64, b: u64) -> u64 {
    let bits = ty.bits();
    let m = ty.mask();
    let sh = b & (bits as u64 - 1);
    let r = match op {
        Opcode::Add => a.wrapping_add(b),
        Opcode::Sub => a.wrapping_sub(b),
        Opcode::Mul => a.wrapping_mul(b),
        Opcode::MulHiU => (((a & m) as u128 * (b & m) as u128) >> bits) as u64,
        Opcode::MulHiS => ((sext(ty, a) as i128 * sext(ty, b) as i128) >> bits) as u64,
        Opcode::DivU => {
            if b & m == 0 {
                u64::MAX
            } else {
                (a & m) / (b & m)
            }
        }
        Opcode::DivS => {
            let (x, y) = (sext(ty, a), sext(ty, b));
            if y == 0 {
                u64::MAX
            } else {
                // MIN / -1 wraps to MIN in the type's width.
                x.wrapping_div(y) as u64
            }
        }
        Opcode::RemU => {
            if b & m == 0 {
                a
            } else {
                (a & m) % (b & m)
            }
        }
        Opcode::RemS => {
            let (x, y) = (sext(ty, a), sext(ty, b));
            if y == 0 {
                a
            } else {
                x.wrapping_rem(y) as u64
            }
        }
        Opcode::And => a & b,
        Opcode::Or => a | b,
        Opcode::Xor => a ^ b,
        Opcode::Shl => a << sh,
        Opcode::ShrU => (a & m) >> sh,
        Opcode::ShrS => (sext(ty, a) >> sh) as u64,
        Opcode::Rotl => {
            let a = a & m;
            if sh == 0 {
                a
            } else {
                (a << sh) | (a >> (bits as u64 - sh))
            }
        }
        Opcode::Rotr => {
            let a = a & m;
            if sh == 0 {
                a
            } else {
                (a >> sh) | (a << (bits as u64 - sh))
            }
        }
        Opcode::FAdd => float2(ty, a, b, |x, y| x + y, |x, y| x + y),
        Opcode::FSub => float2(ty, a, b, |x, y| x - y, |x, y| x - y),
        Opcode::FMul => float2(ty, a, b, |x, y| x * y, |x, y| x * y),
        Opcode::FDiv => float2(ty, a, b, |x, y| x / y, |x, y| x / y),
        _ => unreachable!("{op:?} is not binary"),
    };
    r & m
}

/// Evaluates a ternary opcode (`fma`).
pub fn ternary(op: Opcode, ty: Type, a: u64, b: u64, c: u64) -> u64 {
    match (op, ty) {
        (Opcode::Fma, Type::F32) => f32_of(a).mul_add(f32_of(b), f32_of(c)).to_bits() as u64,
        (Opcode::Fma, _) => f64_of(a).mul_add(f64_of(b), f64_of(c)).to_bits(),
        _ => unreachable!("{op:?} is not ternary"),
    }
}

/// Evaluates an integer comparison of operands of type `ty`.
pub fn icmp(cc: IntCC, ty: Type, a: u64, b: u64) -> u64 {
    let (ua, ub) = (a & ty.mask(), b & ty.mask());
    let (sa, sb) = (sext(ty, a), sext(ty, b));
    (match cc {
        IntCC::Eq => ua == ub,
        IntCC::Ne => ua != ub,
        IntCC::Slt => sa < sb,
        IntCC::Sle => sa <= sb,
        IntCC::Sgt => sa > sb,
        IntCC::Sge => sa >= sb,
        IntCC::Ult => ua < ub,
        IntCC::Ule => ua <= ub,
        IntCC::Ugt => ua > ub,
        IntCC::Uge => ua >= ub,
    }) as u64
}

/// Evaluates a float comparison of operands of type `ty`.
pub fn fcmp(cc: FloatCC, ty: Type, a: u64, b: u64) -> u64 {
    let (x, y) = match ty {
        Type::F32 => (f32_of(a) as f64, f32_of(b) as f64),
        _ => (f64_of(a), f64_of(b)),
    };
    (match cc {
        FloatCC::Eq => x == y,
        FloatCC::Ne => x != y,
        FloatCC::Lt => x < y,
        FloatCC::Le => x <= y,
        FloatCC::Gt => x > y,
        FloatCC::Ge => x >= y,
        FloatCC::Uno => x.is_nan() || y.is_nan(),
        FloatCC::Ord => !x.is_nan() && !y.is_nan(),
    }) as u64
}

/// Evaluates `add_carry` / `add_overflow` on operands of type `ty`.
pub fn carry(op: Opcode, ty: Type, a: u64, b: u64, c: u64) -> u64 {
    let m = ty.mask();
    let c = c & 1;
    match op {
        Opcode::AddCarry => {
            let s = (a & m) as u128 + (b & m) as u128 + c as u128;
            (s >> ty.bits()) as u64 & 1
        }
        Opcode::AddOverflow => {
            let s = sext(ty, a) as i128 + sext(ty, b) as i128 + c as i128;
            let lim = 1i128 << (ty.bits() - 1);
            (s < -lim || s >= lim) as u64
        }
        _ => unreachable!("{op:?} is not a carry op"),
    }
}

/// Evaluates a conversion from `from` to `to`.
pub fn convert(op: Opcode, from: Type, to: Type, a: u64) -> u64 {
    let r = match op {
        Opcode::Zext => a & from.mask(),
        Opcode::Sext => sext(from, a) as u64,
        Opcode::Trunc | Opcode::Bitcast => a,
        Opcode::FPromote => (f32_of(a) as f64).to_bits(),
        Opcode::FDemote => (f64_of(a) as f32).to_bits() as u64,
        Opcode::FToSI | Opcode::FToUI => {
            let x = if from == Type::F32 { f32_of(a) as f64 } else { f64_of(a) };
            float_to_int(op == Opcode::FToSI, to, x)
        }
        Opcode::SIToF | Opcode::UIToF => {
            let (s, u) = (sext(from, a), a & from.mask());
            match (to, op == Opcode::SIToF) {
                (Type::F32, true) => (s as f32).to_bits() as u64,
                (Type::F32, false) => (u as f32).to_bits() as u64,
                (_, true) => (s as f64).to_bits(),
                (_, false) => (u as f64).to_bits(),
            }
        }
        _ => unreachable!("{op:?} is not a conversion"),
    };
    r & to.mask()
}

/// Saturating float-to-integer conversion toward zero (NaN gives 0).
fn float_to_int(signed: bool, to: Type, x: f64) -> u64 {
    match (signed, to) {
        (true, Type::I8) => x as i8 as u64,
        (true, Type::I16) => x as i16 as u64,
        (true, Type::I32) => x as i32 as u64,
        (true, _) => x as i64 as u64,
        (false, Type::I8) => x as u8 as u64,
        (false, Type::I16) => x as u16 as u64,
        (false, Type::I32) => x as u32 as u64,
        (false, _) => x as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_edge_cases_follow_the_documented_rules() {
        assert_eq!(binary(Opcode::DivU, Type::I32, 5, 0), 0xffff_ffff);
        assert_eq!(binary(Opcode::DivS, Type::I32, 0x8000_0000, 0xffff_ffff), 0x8000_0000);
        assert_eq!(binary(Opcode::RemS, Type::I32, 0x8000_0000, 0xffff_ffff), 0);
        assert_eq!(binary(Opcode::RemU, Type::I32, 7, 0), 7);
        assert_eq!(binary(Opcode::Shl, Type::I32, 1, 33), 2);
        assert_eq!(binary(Opcode::ShrS, Type::I16, 0x8000, 15), 0xffff);
        assert_eq!(binary(Opcode::Rotl, Type::I32, 0x8000_0001, 1), 3);
        assert_eq!(binary(Opcode::MulHiS, Type::I32, 0xffff_ffff, 0xffff_ffff), 0);
        assert_eq!(binary(Opcode::MulHiU, Type::I32, 0xffff_ffff, 0xffff_ffff), 0xffff_fffe);
        assert_eq!(unary(Opcode::Clz, Type::I32, 0), 32);
        assert_eq!(unary(Opcode::Clz, Type::I32, 1), 31);
        assert_eq!(unary(Opcode::Ctz, Type::I16, 0), 16);
        assert_eq!(unary(Opcode::Bswap, Type::I32, 0x1122_3344), 0x4433_2211);
        assert_eq!(carry(Opcode::AddCarry, Type::I32, 0xffff_ffff, 0, 1), 1);
        assert_eq!(carry(Opcode::AddOverflow, Type::I32, 0x7fff_ffff, 0, 1), 1);
        assert_eq!(carry(Opcode::AddOverflow, Type::I32, 0x8000_0000, 0xffff_ffff, 1), 0);
        assert_eq!(icmp(IntCC::Slt, Type::I32, 0xffff_ffff, 0), 1);
        assert_eq!(icmp(IntCC::Ult, Type::I32, 0xffff_ffff, 0), 0);
        assert_eq!(convert(Opcode::Sext, Type::I8, Type::I32, 0x80), 0xffff_ff80);
    }

    #[test]
    fn float_conversions_saturate() {
        assert_eq!(convert(Opcode::FToSI, Type::F64, Type::I32, 1e300f64.to_bits()), 0x7fff_ffff);
        assert_eq!(convert(Opcode::FToSI, Type::F64, Type::I32, f64::NAN.to_bits()), 0);
        assert_eq!(convert(Opcode::FToSI, Type::F64, Type::I32, (-1.5f64).to_bits()), 0xffff_ffff);
        assert_eq!(fcmp(FloatCC::Ne, Type::F64, f64::NAN.to_bits(), 0), 1);
        assert_eq!(fcmp(FloatCC::Lt, Type::F64, f64::NAN.to_bits(), 0), 0);
    }
}
