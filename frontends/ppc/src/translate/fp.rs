//! Power ISA Book I chapter 4: floating-point loads and stores, moves, arithmetic, compares
//! and FPSCR instructions. Arithmetic goes through helpers that run the exact FPU model
//! (`crate::fpu`), after an inline fast path for the common double-precision case
//! (`fp_fast`); moves, selects, loads and stores of doubles are inlined.

use super::loadstore::Ea;
use super::{Flow, TResult, TransError, Translator};
use crate::cpu::regs::{self, crf, fpr};
use crate::decode::ArgA;
use crate::helpers;
use ferrite_ir::{FloatCC, IntCC, Type, Value};

/// The FP operations the arithmetic helper performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum FpOp {
    /// fadd
    Add,
    /// fsub
    Sub,
    /// fmul
    Mul,
    /// fdiv
    Div,
    /// fadds
    AddS,
    /// fsubs
    SubS,
    /// fmuls
    MulS,
    /// fdivs
    DivS,
    /// fmadd
    Madd,
    /// fmsub
    Msub,
    /// fnmadd
    Nmadd,
    /// fnmsub
    Nmsub,
    /// fmadds
    MaddS,
    /// fmsubs
    MsubS,
    /// fnmadds
    NmaddS,
    /// fnmsubs
    NmsubS,
    /// fres
    Res,
    /// frsqrte
    Rsqrte,
    /// frsp
    Rsp,
    /// fctiw
    Ctiw,
    /// fctiwz
    Ctiwz,
}

impl FpOp {
    /// All operations, indexed by their numeric value.
    pub const ALL: [FpOp; 21] = [
        FpOp::Add,
        FpOp::Sub,
        FpOp::Mul,
        FpOp::Div,
        FpOp::AddS,
        FpOp::SubS,
        FpOp::MulS,
        FpOp::DivS,
        FpOp::Madd,
        FpOp::Msub,
        FpOp::Nmadd,
        FpOp::Nmsub,
        FpOp::MaddS,
        FpOp::MsubS,
        FpOp::NmaddS,
        FpOp::NmsubS,
        FpOp::Res,
        FpOp::Rsqrte,
        FpOp::Rsp,
        FpOp::Ctiw,
        FpOp::Ctiwz,
    ];

    /// The FPU model's operation and whether it is single precision.
    pub fn model(self) -> (crate::fpu::ArithOp, bool) {
        use crate::fpu::ArithOp as A;
        match self {
            FpOp::Add => (A::Add, false),
            FpOp::Sub => (A::Sub, false),
            FpOp::Mul => (A::Mul, false),
            FpOp::Div => (A::Div, false),
            FpOp::AddS => (A::Add, true),
            FpOp::SubS => (A::Sub, true),
            FpOp::MulS => (A::Mul, true),
            FpOp::DivS => (A::Div, true),
            FpOp::Madd => (A::Madd, false),
            FpOp::Msub => (A::Msub, false),
            FpOp::Nmadd => (A::Nmadd, false),
            FpOp::Nmsub => (A::Nmsub, false),
            FpOp::MaddS => (A::Madd, true),
            FpOp::MsubS => (A::Msub, true),
            FpOp::NmaddS => (A::Nmadd, true),
            FpOp::NmsubS => (A::Nmsub, true),
            FpOp::Res => (A::Res, false),
            FpOp::Rsqrte => (A::Rsqrte, false),
            FpOp::Rsp => (A::Rsp, false),
            FpOp::Ctiw => (A::Ctiw, false),
            FpOp::Ctiwz => (A::Ctiwz, false),
        }
    }
}

/// Packs the helper's operand: op | frt << 8 | fra << 13 | frb << 18 | frc << 23.
pub fn pack_operands(op: FpOp, frt: u32, fra: u32, frb: u32, frc: u32) -> u32 {
    op as u32 | (frt << 8) | (fra << 13) | (frb << 18) | (frc << 23)
}

impl Translator<'_> {
    /// CR1 = FPSCR[FX FEX VX OX] (Rc=1 of FP instructions).
    pub(super) fn set_cr1(&mut self) {
        let f = self.get(regs::FPSCR);
        let f = self.b.shru_imm(f, 28);
        let f = self.b.trunc(Type::I8, f);
        self.set(crf(1), f);
    }

    fn finish_rc(&mut self, rc: bool) -> TResult {
        if rc {
            self.set_cr1();
        }
        Ok(Flow::Continue)
    }

    /// An arithmetic instruction through the FPU helper.
    pub fn fp_arith(&mut self, op: FpOp, a: &ArgA) -> TResult {
        self.require_fp();
        if !self.fp_arith_inline(op, a) {
            let packed = self.c32(pack_operands(op, a.frt, a.fra, a.frb, a.frc));
            self.b.call(helpers::FP_ARITH, &[packed]);
        }
        self.finish_rc(a.rc != 0)
    }

    /// frsp, fctiw, fctiwz: one FRB operand.
    pub fn fp_unary(&mut self, op: FpOp, frt: u32, frb: u32, rc: bool) -> TResult {
        self.require_fp();
        if op == FpOp::Rsp {
            return self.fp_arith(op, &crate::decode::ArgA { frt, fra: 0, frb, frc: 0, rc: rc as u32 });
        }
        let packed = self.c32(pack_operands(op, frt, 0, frb, 0));
        self.b.call(helpers::FP_ARITH, &[packed]);
        self.finish_rc(rc)
    }

    /// fcmpu / fcmpo into CR field `bf`.
    pub fn fp_compare(&mut self, bf: u32, fra: u32, frb: u32, ordered: bool) -> TResult {
        self.require_fp();
        let packed = self.c32(bf | (fra << 8) | (frb << 16) | ((ordered as u32) << 24));
        self.b.call(helpers::FP_COMPARE, &[packed]);
        Ok(Flow::Continue)
    }

    /// fmr, fneg, fabs, fnabs: FRB with its sign cleared (`abs`), then flipped (`negate`),
    /// bit for bit (NaNs included), no FPSCR change. Done on the value as a double, so that
    /// it stays in an FP register.
    pub fn fp_move(&mut self, frt: u32, frb: u32, abs: bool, negate: bool, rc: bool) -> TResult {
        self.require_fp();
        let v = self.get(fpr(frb));
        let mut x = self.b.bitcast(Type::F64, v);
        if abs {
            x = self.b.fabs(x);
        }
        if negate {
            x = self.b.fneg(x);
        }
        let v = self.b.bitcast(Type::I64, x);
        self.set(fpr(frt), v);
        self.finish_rc(rc)
    }

    /// fsel: FRT = FRA >= 0 ? FRC : FRB (NaN selects FRB).
    pub fn fsel(&mut self, a: &ArgA) -> TResult {
        self.require_fp();
        let x = self.get(fpr(a.fra));
        let xf = self.b.bitcast(Type::F64, x);
        let zero = self.b.f64const(0.0);
        let ge = self.b.fcmp(FloatCC::Ge, xf, zero);
        let c = self.get(fpr(a.frc));
        let bv = self.get(fpr(a.frb));
        let r = self.b.select(ge, c, bv);
        self.set(fpr(a.frt), r);
        self.finish_rc(a.rc != 0)
    }

    /// lfs/lfd and their u/x/ux forms.
    pub fn load_fp(&mut self, frt: u32, ea: Ea, single: bool, update: bool) -> TResult {
        self.require_fp();
        if update && ea_ra(ea) == 0 {
            return Err(TransError::Illegal);
        }
        let addr32 = self.ea(ea, update);
        let addr = self.addr(addr32);
        if single {
            let w = self.b.load(Type::I32, self.memop(2, false), addr);
            let v = self.single_to_double(w);
            self.set(fpr(frt), v);
            if update {
                self.set_gpr(ea_ra(ea), addr32);
            }
            return Ok(Flow::Continue);
        }
        let v = self.b.load(Type::I64, self.memop(3, false), addr);
        self.set(fpr(frt), v);
        if update {
            self.set_gpr(ea_ra(ea), addr32);
        }
        Ok(Flow::Continue)
    }

    /// stfs/stfd and their u/x/ux forms.
    pub fn store_fp(&mut self, frs: u32, ea: Ea, single: bool, update: bool) -> TResult {
        self.require_fp();
        if update && ea_ra(ea) == 0 {
            return Err(TransError::Illegal);
        }
        let v = self.get(fpr(frs));
        let w = single.then(|| self.double_to_single(v));
        let addr32 = self.ea(ea, update);
        let addr = self.addr(addr32);
        if let Some(w) = w {
            self.b.store(self.memop(2, false), addr, w);
        } else {
            self.b.store(self.memop(3, false), addr, v);
        }
        if update {
            self.set_gpr(ea_ra(ea), addr32);
        }
        Ok(Flow::Continue)
    }

    /// lfs's widening of single `w` (`i32`) to double bits, as `crate::fpu::ops::lfs`: the
    /// host's conversion for every single but a NaN, whose signalling bit the host would set;
    /// a NaN (or an infinity) by moving its fields.
    fn single_to_double(&mut self, w: Value) -> Value {
        let f = self.b.bitcast(Type::F32, w);
        let d = self.b.fpromote(Type::F64, f);
        let d = self.b.bitcast(Type::I64, d);
        let w64 = self.b.zext(Type::I64, w);
        let sign = self.b.and_imm(w64, 0x8000_0000);
        let sign = self.b.shl_imm(sign, 32);
        let frac = self.b.and_imm(w64, 0x7f_ffff);
        let frac = self.b.shl_imm(frac, 29);
        let moved = self.b.or(sign, frac);
        let moved = self.b.or_imm(moved, 0x7ff0_0000_0000_0000);
        let exp = self.b.and_imm(w, 0x7f80_0000);
        let special = self.b.icmp_imm(IntCC::Eq, exp, 0x7f80_0000);
        self.b.select(special, moved, d)
    }

    /// stfs's narrowing of double bits `v` to a single (`i32`) without rounding, as
    /// `crate::fpu::ops::stfs`: exponents above 896 (with Inf and NaN) by bit selection,
    /// 874..=896 denormalised by truncation, smaller ones to a signed zero.
    fn double_to_single(&mut self, v: Value) -> Value {
        let e = self.b.shru_imm(v, 52);
        let e = self.b.and_imm(e, 0x7ff);
        let hi = self.b.shru_imm(v, 32);
        let sign_and_top = self.b.and_imm(hi, 0xc000_0000);
        let rest = self.b.shru_imm(v, 29);
        let rest = self.b.and_imm(rest, 0x3fff_ffff);
        let selected = self.b.or(sign_and_top, rest);
        // Denormal: the significand with its leading one, shifted right by 926 - e (30 to
        // 52); below that range a shift of 63 leaves nothing of it.
        let frac = self.b.and_imm(v, (1 << 52) - 1);
        let sig = self.b.or_imm(frac, 1 << 52);
        let k926 = self.b.iconst(Type::I64, 926);
        let shift = self.b.sub(k926, e);
        let denormal = self.b.icmp_imm(IntCC::Uge, e, 874);
        let k63 = self.b.iconst(Type::I64, 63);
        let shift = self.b.select(denormal, shift, k63);
        let tiny = self.b.shru(sig, shift);
        let sign = self.b.and_imm(hi, 0x8000_0000);
        let tiny = self.b.or(sign, tiny);
        let normal = self.b.icmp_imm(IntCC::Ugt, e, 896);
        let bits = self.b.select(normal, selected, tiny);
        self.b.trunc(Type::I32, bits)
    }

    /// stfiwx: the low word of FRS.
    pub fn stfiwx(&mut self, frs: u32, ra: u32, rb: u32) -> TResult {
        self.require_fp();
        let a = self.ea(Ea::X(ra, rb), false);
        let a = self.addr(a);
        let v = self.get(fpr(frs));
        let w = self.b.trunc(Type::I32, v);
        self.b.store(self.memop(2, false), a, w);
        Ok(Flow::Continue)
    }

    /// mffs: FRT = the FPSCR, high word 0.
    pub fn mffs(&mut self, frt: u32, rc: bool) -> TResult {
        self.require_fp();
        let f = self.get(regs::FPSCR);
        let f = self.b.zext(Type::I64, f);
        self.set(fpr(frt), f);
        self.finish_rc(rc)
    }

    /// The FPSCR-writing instructions end the block: the rounding mode and enables are part of
    /// how later FP code behaves.
    fn fpscr_op(&mut self, kind: u32, a: u32, b: u32, rc: bool) -> TResult {
        self.require_fp();
        let k = self.c32(kind | (a << 8) | ((rc as u32) << 31));
        let bv = self.c32(b);
        self.b.call(helpers::FPSCR_OP, &[k, bv]);
        self.b.exit_sync(self.next_pc() as u64);
        Ok(Flow::EndBlock)
    }

    /// mtfsf (W=1 is illegal on e500mc: no ISA 2.05).
    pub fn mtfsf(&mut self, l: u32, flm: u32, w: u32, frb: u32, rc: bool) -> TResult {
        if w != 0 {
            return Err(TransError::Illegal);
        }
        self.fpscr_op(crate::fp_helpers::MTFSF, flm | (l << 8), frb, rc)
    }

    /// mtfsfi (W=1 is illegal on e500mc).
    pub fn mtfsfi(&mut self, bf: u32, w: u32, u: u32, rc: bool) -> TResult {
        if w != 0 {
            return Err(TransError::Illegal);
        }
        self.fpscr_op(crate::fp_helpers::MTFSFI, bf, u, rc)
    }

    /// mtfsb0 / mtfsb1.
    pub fn mtfsb(&mut self, bt: u32, set: bool, rc: bool) -> TResult {
        let kind = if set { crate::fp_helpers::MTFSB1 } else { crate::fp_helpers::MTFSB0 };
        self.fpscr_op(kind, bt, 0, rc)
    }

    /// mcrfs.
    pub fn mcrfs(&mut self, bf: u32, bfa: u32) -> TResult {
        self.fpscr_op(crate::fp_helpers::MCRFS, bf, bfa, false)
    }
}

fn ea_ra(ea: Ea) -> u32 {
    match ea {
        Ea::D(ra, _) | Ea::X(ra, _) => ra,
    }
}
