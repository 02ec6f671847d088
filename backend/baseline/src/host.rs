//! What the float expansions need to know about the host, found out once per process: which
//! instruction, with its operands in which places, gives what the interpreter gives.
//!
//! The result of a float op with several NaN operands is one of them, and which one depends
//! on the instruction and on where each operand sits: SSE2 returns its destination's NaN,
//! and how FMA3 ranks its operands differs between vendors. So it depends on how the
//! compiler that built the interpreter placed the operands of a commutative `addsd` or
//! `mulsd`, and on the `vfmadd` form the `fma` library routine uses. Rather than assume
//! either, each candidate expansion runs here, as inline assembly, on NaN, infinite, zero and
//! finite operands against the interpreter's own code ([`eval_generic`]); an op no candidate
//! reproduces stays with `eval_generic`.

use ferrite_ir::interp::{eval_generic, Op};
use ferrite_ir::{Opcode, Type};
use std::arch::asm;
use std::sync::OnceLock;

/// The host facts the emitter plans with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Host {
    /// Per type (f32, f64), per op (fadd, fsub, fmul, fdiv): whether the expansion puts `a`
    /// in the destination (`Some(false)`) or `b` (`Some(true)`), or `None`: neither is
    /// the interpreter's op.
    binary: [[Option<bool>; 4]; 2],
    /// Per type: whether `vfmadd213 a, b, c` is the interpreter's `fma` (never without FMA3).
    fma: [bool; 2],
}

/// Operand values the probes combine: NaNs of both kinds and signs with distinct payloads,
/// infinity, zero, one.
const PROBES_F64: [u64; 7] =
    [0x7ff8_0000_0000_0001, 0xfff8_0000_0000_0002, 0x7ff0_0000_0000_0003, 0xfff4_0000_0000_0004, 0x7ff0_0000_0000_0000, 0, 0x3ff0_0000_0000_0000];
const PROBES_F32: [u64; 7] = [0x7fc0_0001, 0xffc0_0002, 0x7f80_0003, 0xffa0_0004, 0x7f80_0000, 0, 0x3f80_0000];

const BINARY_OPS: [Opcode; 4] = [Opcode::FAdd, Opcode::FSub, Opcode::FMul, Opcode::FDiv];

impl Host {
    /// The facts about this host (probed on first use).
    pub(crate) fn get() -> Host {
        static HOST: OnceLock<Host> = OnceLock::new();
        *HOST.get_or_init(Host::probe)
    }

    fn probe() -> Host {
        let fma3 = std::is_x86_feature_detected!("fma");
        let mut h = Host { binary: [[None; 4]; 2], fma: [false; 2] };
        for (t, (ty, probes)) in [(Type::F32, PROBES_F32), (Type::F64, PROBES_F64)].into_iter().enumerate() {
            for (o, op) in BINARY_OPS.into_iter().enumerate() {
                let commutative = matches!(op, Opcode::FAdd | Opcode::FMul);
                h.binary[t][o] = [false, true].into_iter().filter(|&swap| commutative || !swap).find(|&swap| {
                    pairs(&probes).all(|(a, b)| {
                        let want = eval(Op::Binary { d: 3, a: 0, b: 1, op, ty }, [a, b, 0]);
                        let got = if swap { sse2(op, ty, b, a) } else { sse2(op, ty, a, b) };
                        got == want
                    })
                });
            }
            h.fma[t] = fma3
                && pairs(&probes).all(|(a, b)| {
                    probes.iter().all(|&c| {
                        let want = eval(Op::Ternary { d: 3, a: 0, b: 1, c: 2, op: Opcode::Fma, ty }, [a, b, c]);
                        // SAFETY: the host has FMA3.
                        unsafe { vfmadd213(ty, a, b, c) == want }
                    })
                });
        }
        h
    }

    /// Whether a float `op` (fadd, fsub, fmul, fdiv) of type `ty` is expanded with `b` in
    /// the destination (`Some(true)`) or `a` (`Some(false)`); `None`: it is not expanded.
    pub(crate) fn binary_swapped(&self, op: Opcode, ty: Type) -> Option<bool> {
        let o = BINARY_OPS.iter().position(|&x| x == op).expect("a binary float op");
        self.binary[(ty == Type::F64) as usize][o]
    }

    /// Whether `fma` of type `ty` is expanded (as `vfmadd213 a, b, c`).
    pub(crate) fn fma(&self, ty: Type) -> bool {
        self.fma[(ty == Type::F64) as usize]
    }

    /// These facts without FMA3 (tests of the fallback).
    pub(crate) fn without_fma(self) -> Host {
        Host { fma: [false; 2], ..self }
    }
}

/// Every ordered pair of `values`.
fn pairs(values: &[u64]) -> impl Iterator<Item = (u64, u64)> + '_ {
    values.iter().flat_map(move |&a| values.iter().map(move |&b| (a, b)))
}

/// Runs `op` (reading slots 0-2, writing slot 3) through the interpreter's `eval_generic`.
fn eval(op: Op, args: [u64; 3]) -> u64 {
    let mut slots = [args[0], args[1], args[2], 0];
    // SAFETY: the op reads and writes slots 0-3, all of which exist.
    unsafe { eval_generic(&op, slots.as_mut_ptr()) };
    slots[3]
}

/// `op{ss,sd} x, y` as the expansion emits it, on bit patterns.
fn sse2(op: Opcode, ty: Type, x: u64, y: u64) -> u64 {
    macro_rules! run {
        ($ins:literal, $t:ty, $from:expr) => {{
            let mut x: $t = $from(x);
            // SAFETY: a register-only SSE2 instruction (part of x86-64).
            unsafe { asm!(concat!($ins, " {x}, {y}"), x = inout(xmm_reg) x, y = in(xmm_reg) $from(y), options(pure, nomem, nostack)) };
            x.to_bits() as u64
        }};
    }
    let f32_of = |v: u64| f32::from_bits(v as u32);
    match (op, ty) {
        (Opcode::FAdd, Type::F32) => run!("addss", f32, f32_of),
        (Opcode::FSub, Type::F32) => run!("subss", f32, f32_of),
        (Opcode::FMul, Type::F32) => run!("mulss", f32, f32_of),
        (Opcode::FDiv, Type::F32) => run!("divss", f32, f32_of),
        (Opcode::FAdd, _) => run!("addsd", f64, f64::from_bits),
        (Opcode::FSub, _) => run!("subsd", f64, f64::from_bits),
        (Opcode::FMul, _) => run!("mulsd", f64, f64::from_bits),
        _ => run!("divsd", f64, f64::from_bits),
    }
}

/// `vfmadd213{ss,sd} a, b, c` (`b * a + c`) as the expansion emits it, on bit patterns.
///
/// # Safety
/// The host must have FMA3.
#[target_feature(enable = "fma")]
unsafe fn vfmadd213(ty: Type, a: u64, b: u64, c: u64) -> u64 {
    if ty == Type::F32 {
        let mut x = f32::from_bits(a as u32);
        // SAFETY: the caller checked for FMA3.
        unsafe { asm!("vfmadd213ss {x}, {y}, {z}", x = inout(xmm_reg) x, y = in(xmm_reg) f32::from_bits(b as u32), z = in(xmm_reg) f32::from_bits(c as u32), options(pure, nomem, nostack)) };
        x.to_bits() as u64
    } else {
        let mut x = f64::from_bits(a);
        // SAFETY: as above.
        unsafe { asm!("vfmadd213sd {x}, {y}, {z}", x = inout(xmm_reg) x, y = in(xmm_reg) f64::from_bits(b), z = in(xmm_reg) f64::from_bits(c), options(pure, nomem, nostack)) };
        x.to_bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_float_op_has_an_expansion_on_this_host() {
        // The emitter would fall back to eval_generic, but on x86-64 every op has a match:
        // a failure here means a host or build whose float code needs a look.
        let h = Host::get();
        for ty in [Type::F32, Type::F64] {
            for op in BINARY_OPS {
                assert!(h.binary_swapped(op, ty).is_some(), "{op:?} {ty:?}");
            }
            assert_eq!(h.fma(ty), std::is_x86_feature_detected!("fma"), "fma {ty:?}");
        }
        assert!(!h.without_fma().fma(Type::F64));
    }
}
