//! Helpers running the FPU model (`crate::fpu`) on the CPU's registers.

use crate::cpu::{msr, PpcCpu};
use crate::excp::{esr, Interrupt};
use crate::fpu::ops;
use crate::helpers::cpu;
use crate::translate::fp::FpOp;
use ferrite_softmmu::CpuHeader;

/// FPSCR helper kinds.
pub const MTFSF: u32 = 0;
/// mtfsfi.
pub const MTFSFI: u32 = 1;
/// mtfsb0.
pub const MTFSB0: u32 = 2;
/// mtfsb1.
pub const MTFSB1: u32 = 3;
/// mcrfs.
pub const MCRFS: u32 = 4;

impl PpcCpu {
    /// Whether an enabled FP exception interrupts (MSR[FE0] or MSR[FE1]; always in the
    /// user-mode test harness, as in qemu-ppc).
    fn fp_traps(&self) -> bool {
        self.regs.msr & (msr::FE0 | msr::FE1) != 0
    }

    fn fp_trap(&mut self) {
        self.raise_pending(Interrupt::Program { esr: esr::FP });
    }
}

/// Arithmetic: `packed` from `translate::fp::pack_operands`.
pub(crate) unsafe extern "C" fn helper_fp_arith(env: *mut CpuHeader, packed: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: called from PowerPC generated code.
    let c = unsafe { cpu(env) };
    let p = packed as u32;
    let op = FpOp::ALL[(p & 0xff) as usize];
    let reg = |sh: u32| ((p >> sh) & 31) as usize;
    let (frt, a, b, cc) = (reg(8), c.regs.fpr[reg(13)], c.regs.fpr[reg(18)], c.regs.fpr[reg(23)]);
    let (model, single) = op.model();
    let traps = c.fp_traps();
    let out = ops::arith(model, single, &mut c.regs.fpscr, a, b, cc, traps);
    if let Some(v) = out.frt {
        c.regs.fpr[frt] = v;
    }
    if out.trap {
        c.fp_trap();
    }
    0
}

/// fcmpu/fcmpo: `packed` = bf | fra << 8 | frb << 16 | ordered << 24.
pub(crate) unsafe extern "C" fn helper_fp_compare(env: *mut CpuHeader, packed: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: called from PowerPC generated code.
    let c = unsafe { cpu(env) };
    let p = packed as u32;
    let (bf, a, b, ordered) = ((p & 7) as usize, c.regs.fpr[((p >> 8) & 31) as usize], c.regs.fpr[((p >> 16) & 31) as usize], p >> 24 != 0);
    let traps = c.fp_traps();
    let (crf, trap) = ops::compare(ordered, &mut c.regs.fpscr, a, b, traps);
    c.regs.crf[bf] = crf as u8;
    if trap {
        c.fp_trap();
    }
    0
}

/// FPSCR instructions: `kind` | operand << 8 | rc << 31, second operand in `b`.
pub(crate) unsafe extern "C" fn helper_fpscr_op(env: *mut CpuHeader, k: u64, b: u64, _: u64, _: u64) -> u64 {
    // SAFETY: called from PowerPC generated code.
    let c = unsafe { cpu(env) };
    let k = k as u32;
    let (kind, a, rc) = (k & 0xff, (k >> 8) & 0x1ff, k >> 31 != 0);
    let traps = c.fp_traps();
    let fpscr = &mut c.regs.fpscr;
    let trap = match kind {
        MTFSF => {
            let frb = c.regs.fpr[(b & 31) as usize];
            ops::mtfsf(&mut c.regs.fpscr, a & 0x100 != 0, a & 0xff, frb, traps)
        }
        MTFSFI => ops::mtfsfi(fpscr, a & 7, b as u32, traps),
        MTFSB0 => ops::mtfsb(fpscr, a & 31, false, traps),
        MTFSB1 => ops::mtfsb(fpscr, a & 31, true, traps),
        _ => {
            let field = ops::mcrfs(fpscr, b as u32 & 7);
            c.regs.crf[(a & 7) as usize] = field as u8;
            false
        }
    };
    if rc {
        // CR1 gets the new FPSCR[0:3] before any trap (QEMU).
        c.regs.crf[1] = (c.regs.fpscr >> 28) as u8;
    }
    if trap {
        c.fp_trap();
    }
    0
}
