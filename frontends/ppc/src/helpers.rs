//! The PowerPC helper table: functions generated code calls for instructions too rare or too
//! involved to inline. Each is `extern "C" fn(env, a0..a3) -> u64` (the IR's uniform helper
//! signature) and declares which IR registers it reads and writes and whether it may raise.

use crate::cpu::regs;
use crate::cpu::PpcCpu;
use ferrite_ir::{HelperInfo, RegSet, Type};
use ferrite_softmmu::CpuHeader;

/// The CPU behind a helper's `env`.
///
/// # Safety
/// `env` must be the header of a live `PpcCpu`.
pub(crate) unsafe fn cpu<'a>(env: *mut CpuHeader) -> &'a mut PpcCpu {
    // SAFETY: PpcCpu is repr(C) with the header first; the caller guarantees the type.
    unsafe { &mut *(env as *mut PpcCpu) }
}

const GPRS: RegSet = RegSet::range(0, 32);
const FPRS: RegSet = regs::FPRS;
const CRFS: RegSet = regs::CRFS;

macro_rules! helpers {
    ($( $idx:ident = $name:literal, $func:path, [$($arg:ident),*], $ret:ident, reads: $r:expr, writes: $w:expr, raise: $raise:literal; )*) => {
        helpers!(@consts 0usize, $($idx)*);
        /// The helper table, indexed by the constants of this module.
        pub static HELPERS: &[HelperInfo] = &[ $( HelperInfo {
            name: $name, func: $func, args: &[$(Type::$arg),*], ret: Type::$ret, reads: $r, writes: $w, may_raise: $raise,
        }, )* ];
    };
    (@consts $n:expr, $first:ident $($rest:ident)*) => {
        #[doc = concat!("Index of the `", stringify!($first), "` helper.")]
        pub const $first: usize = $n;
        helpers!(@consts $n + 1, $($rest)*);
    };
    (@consts $n:expr,) => {};
}

helpers! {
    LSWX = "lswx", crate::string_ops::helper_lswx, [I32, I32], Void, reads: GPRS.with(regs::XER_REST), writes: GPRS, raise: true;
    STSWX = "stswx", crate::string_ops::helper_stswx, [I32, I32], Void, reads: GPRS.with(regs::XER_REST), writes: RegSet::EMPTY, raise: true;
    MFSPR = "mfspr", crate::spr_ops::helper_mfspr, [I32], I32, reads: RegSet::EMPTY, writes: RegSet::EMPTY, raise: false;
    MTSPR = "mtspr", crate::spr_ops::helper_mtspr, [I32, I32], Void, reads: RegSet::EMPTY, writes: RegSet::EMPTY, raise: false;
    TLBWE = "tlbwe", crate::mmu_glue::helper_tlbwe, [], Void, reads: RegSet::EMPTY, writes: RegSet::EMPTY, raise: true;
    TLBRE = "tlbre", crate::mmu_glue::helper_tlbre, [], Void, reads: RegSet::EMPTY, writes: RegSet::EMPTY, raise: false;
    TLBSX = "tlbsx", crate::mmu_glue::helper_tlbsx, [I32], Void, reads: RegSet::EMPTY, writes: RegSet::EMPTY, raise: false;
    TLBIVAX = "tlbivax", crate::mmu_glue::helper_tlbivax, [I32], Void, reads: RegSet::EMPTY, writes: RegSet::EMPTY, raise: false;
    TLBILX = "tlbilx", crate::mmu_glue::helper_tlbilx, [I32, I32], Void, reads: RegSet::EMPTY, writes: RegSet::EMPTY, raise: false;
    FP_ARITH = "fp_arith", crate::fp_helpers::helper_fp_arith, [I32], Void, reads: FPRS.with(regs::FPSCR).with(regs::MSR), writes: FPRS.with(regs::FPSCR), raise: true;
    FP_COMPARE = "fp_compare", crate::fp_helpers::helper_fp_compare, [I32], Void, reads: FPRS.with(regs::FPSCR).with(regs::MSR), writes: CRFS.with(regs::FPSCR), raise: true;
    FPSCR_OP = "fpscr_op", crate::fp_helpers::helper_fpscr_op, [I32, I32], Void, reads: FPRS.union(CRFS).with(regs::FPSCR).with(regs::MSR), writes: CRFS.with(regs::FPSCR), raise: true;
    MSGSND = "msgsnd", crate::doorbell::helper_msgsnd, [I32], Void, reads: RegSet::EMPTY, writes: RegSet::EMPTY, raise: false;
    MSGCLR = "msgclr", crate::doorbell::helper_msgclr, [I32], Void, reads: RegSet::EMPTY, writes: RegSet::EMPTY, raise: false;
    IRQ_CHECK = "irq_check", crate::run::helper_irq_check, [], I32, reads: RegSet::EMPTY.with(regs::MSR), writes: RegSet::EMPTY, raise: false;
}
