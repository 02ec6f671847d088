//! The FPSCR as the inline FP path (`fp_fast`) writes it.
//!
//! An inline operation leaves FPRF and FI describing its own result and, when inexact, sets
//! the sticky XX and FX (QEMU sets FX on every exception, even one already recorded). In the
//! common mode where XX and FX are already set (`Mode::FP_STICKY_SET`: after a program's
//! first inexact operation, until it clears them, which ends a block), the sticky bits need
//! no update, and the FPSCR after an inline operation depends on its own result only:
//! `base | FI(inexact) | FPRF(result)`, where `base` is the FPSCR before a run of inline
//! operations with FPRF and FI cleared. No FPSCR value then depends on the previous one, so
//! a value only an exit stores is computed on that (cold) exit path, together with the
//! residue that says whether its result was inexact. Otherwise each operation updates the
//! FPSCR it finds.

use super::{Mode, Translator};
use crate::cpu::regs;
use crate::fpu::fpscr::{FI, FPRF, FX, XX};
use ferrite_ir::{IntCC, Local, Opcode, Type, Value};

/// A run of inline FP operations sharing a base.
#[derive(Clone, Copy)]
pub(super) struct FpStatus {
    /// `i32`: the FPSCR before the run, FPRF and FI cleared.
    base: Local,
    /// Arena length after the run's last FPSCR write: the run goes on while nothing after
    /// that point writes the FPSCR or calls a helper (which may).
    since: usize,
}

impl Translator<'_> {
    /// The run the next inline operation joins: the current one if the FPSCR is still the
    /// one its last operation wrote, else a new one.
    pub(super) fn fp_status(&mut self) -> FpStatus {
        if let Some(st) = self.fp_status {
            let fpscr = regs::FPSCR.0 as u64;
            let clobbered = self.b.block().insts[st.since..]
                .iter()
                .any(|i| i.op == Opcode::Call || (i.op == Opcode::SetReg && i.imm == fpscr));
            if !clobbered {
                return st;
            }
        }
        let f = self.get(regs::FPSCR);
        let base = self.b.and_imm(f, u64::from(!(FPRF | FI)));
        let base_l = self.b.new_local(Type::I32);
        self.b.set_local(base_l, base);
        FpStatus { base: base_l, since: 0 }
    }

    /// Ends the current run (the FPSCR may have been written some other way).
    pub(super) fn forget_fp_status(&mut self) {
        self.fp_status = None;
    }

    /// Writes the FPSCR after an inline operation of run `st` with normal or zero result
    /// `bits` and inexact flag `inexact` (`i8`).
    pub(super) fn fp_status_after(&mut self, st: FpStatus, bits: Value, inexact: Value) {
        let base = self.b.get_local(st.base);
        let inexact = self.b.zext(Type::I32, inexact);
        let fi = self.b.shl_imm(inexact, u64::from(FI.trailing_zeros()));
        let code = self.fprf_normal_or_zero(bits);
        let f = self.b.or(base, fi);
        let mut f = self.b.or(f, code);
        let sticky_set = self.mode.0 & Mode::FP_STICKY_SET != 0;
        if !sticky_set {
            let all = self.b.neg(inexact);
            let sticky = self.b.and_imm(all, u64::from(XX | FX));
            f = self.b.or(f, sticky);
        }
        self.set(regs::FPSCR, f);
        // Without the sticky bits set, the next operation starts from this FPSCR.
        self.fp_status = sticky_set.then(|| FpStatus { since: self.b.block().insts.len(), ..st });
    }

    /// FPRF of a normal or zero double `bits`: 0x04 << sign for a normal number (+ 0x04,
    /// - 0x08) and 0x02 | sign << 4 for a zero (+ 0x02, - 0x12).
    fn fprf_normal_or_zero(&mut self, bits: Value) -> Value {
        let sign = self.b.shru_imm(bits, 63);
        let sign = self.b.trunc(Type::I32, sign);
        let normal = self.c32(0x04 << 12);
        let ncode = self.b.shl(normal, sign);
        let zsign = self.b.shl_imm(sign, 16);
        let zcode = self.b.or_imm(zsign, 0x02 << 12);
        let mag = self.b.shl_imm(bits, 1);
        let zero = self.b.icmp_imm(IntCC::Eq, mag, 0);
        self.b.select(zero, zcode, ncode)
    }
}
