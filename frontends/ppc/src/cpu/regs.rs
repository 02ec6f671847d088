//! The guest registers generated code accesses, and the IR register table describing them.
//!
//! Each architected register (or field: CR is kept as eight 4-bit fields, XER as separate SO,
//! OV, CA and byte-count fields, so that instructions write only what they change) is one IR
//! register with a fixed offset in [`super::PpcCpu`]. SPRs that are rare or have side effects
//! (timers, MMU) are not here; helpers reach them.

use ferrite_ir::{Reg, RegInfo, RegSet, Type};

/// Register block of the CPU structure (right after the header).
#[repr(C)]
#[derive(Clone, Debug, Default)]
pub struct PpcRegs {
    /// General purpose registers.
    pub gpr: [u32; 32],
    /// Floating point registers (IEEE double bit patterns).
    pub fpr: [u64; 32],
    /// Condition register fields CR0..CR7, each 0..15 (LT=8, GT=4, EQ=2, SO=1).
    pub crf: [u8; 8],
    /// XER[SO], 0 or 1.
    pub so: u8,
    /// XER[OV], 0 or 1.
    pub ov: u8,
    /// XER[CA], 0 or 1.
    pub ca: u8,
    /// The XER bits other than SO, OV and CA: bits 57:63 are the byte count of lswx/stswx;
    /// the rest are reserved but kept as written (as QEMU keeps them).
    pub xer_rest: u32,
    /// Link register.
    pub lr: u32,
    /// Count register.
    pub ctr: u32,
    /// Floating-point status and control register.
    pub fpscr: u32,
    /// Machine state register.
    pub msr: u32,
    /// lwarx reservation address, or `NO_RESERVATION`.
    pub reserve_addr: u32,
    /// Value loaded by the lwarx that made the reservation.
    pub reserve_val: u32,
    /// SPRG0..SPRG9.
    pub sprg: [u32; 10],
    /// Save/restore registers: SRR0, SRR1, CSRR0, CSRR1, DSRR0, DSRR1, MCSRR0, MCSRR1.
    pub srr: [u32; 8],
    /// Data exception address register.
    pub dear: u32,
    /// Exception syndrome register.
    pub esr: u32,
}

/// `reserve_addr` when no reservation is held (lwarx addresses are word aligned).
pub const NO_RESERVATION: u32 = u32::MAX;

/// IR register index of GPR `n`.
pub const fn gpr(n: u32) -> Reg {
    Reg(n as u16)
}
/// IR register index of FPR `n`.
pub const fn fpr(n: u32) -> Reg {
    Reg(32 + n as u16)
}
/// IR register index of CR field `n`.
pub const fn crf(n: u32) -> Reg {
    Reg(64 + n as u16)
}
/// XER bits not kept in `xer_rest`: SO, OV and CA (kept apart in their own registers) and
/// the ISA 3.0 OV32/CA32 bits, which this core does not have (they read as 0, as in QEMU).
pub const XER_NOT_REST: u32 = 0xe00c_0000;

/// XER[SO].
pub const SO: Reg = Reg(72);
/// XER[OV].
pub const OV: Reg = Reg(73);
/// XER[CA].
pub const CA: Reg = Reg(74);
/// XER bits other than SO, OV, CA (the byte count and the reserved bits).
pub const XER_REST: Reg = Reg(75);
/// LR.
pub const LR: Reg = Reg(76);
/// CTR.
pub const CTR: Reg = Reg(77);
/// FPSCR.
pub const FPSCR: Reg = Reg(78);
/// MSR.
pub const MSR: Reg = Reg(79);
/// Reservation address.
pub const RESERVE_ADDR: Reg = Reg(80);
/// Reservation value.
pub const RESERVE_VAL: Reg = Reg(81);
/// IR register index of SPRG `n` (0..9).
pub const fn sprg(n: u32) -> Reg {
    Reg(82 + n as u16)
}
/// IR register index of save/restore register `n` (SRR0, SRR1, CSRR0, CSRR1, DSRR0, DSRR1, MCSRR0, MCSRR1).
pub const fn srr(n: u32) -> Reg {
    Reg(92 + n as u16)
}
/// DEAR.
pub const DEAR: Reg = Reg(100);
/// ESR.
pub const ESR: Reg = Reg(101);
/// Number of IR registers.
pub const NUM_REGS: usize = 102;

/// All FPRs.
pub const FPRS: RegSet = RegSet::range(32, 32);
/// All CR fields.
pub const CRFS: RegSet = RegSet::range(64, 8);
/// The XER fields.
pub const XER: RegSet = RegSet::range(72, 4);

const fn base() -> u32 {
    std::mem::offset_of!(super::PpcCpu, regs) as u32
}

macro_rules! table {
    ($( $name:literal, $field:ident $([$i:expr])?, $ty:ident; )*) => {
        [ $( RegInfo {
            name: $name,
            offset: base() + std::mem::offset_of!(PpcRegs, $field) as u32 $( + $i * Type::$ty.bytes())?,
            ty: Type::$ty,
        }, )* ]
    };
}

/// The IR register table, indexed by the constants above.
pub static REGS: [RegInfo; NUM_REGS] = table! {
    "r0", gpr[0], I32; "r1", gpr[1], I32; "r2", gpr[2], I32; "r3", gpr[3], I32;
    "r4", gpr[4], I32; "r5", gpr[5], I32; "r6", gpr[6], I32; "r7", gpr[7], I32;
    "r8", gpr[8], I32; "r9", gpr[9], I32; "r10", gpr[10], I32; "r11", gpr[11], I32;
    "r12", gpr[12], I32; "r13", gpr[13], I32; "r14", gpr[14], I32; "r15", gpr[15], I32;
    "r16", gpr[16], I32; "r17", gpr[17], I32; "r18", gpr[18], I32; "r19", gpr[19], I32;
    "r20", gpr[20], I32; "r21", gpr[21], I32; "r22", gpr[22], I32; "r23", gpr[23], I32;
    "r24", gpr[24], I32; "r25", gpr[25], I32; "r26", gpr[26], I32; "r27", gpr[27], I32;
    "r28", gpr[28], I32; "r29", gpr[29], I32; "r30", gpr[30], I32; "r31", gpr[31], I32;
    "f0", fpr[0], I64; "f1", fpr[1], I64; "f2", fpr[2], I64; "f3", fpr[3], I64;
    "f4", fpr[4], I64; "f5", fpr[5], I64; "f6", fpr[6], I64; "f7", fpr[7], I64;
    "f8", fpr[8], I64; "f9", fpr[9], I64; "f10", fpr[10], I64; "f11", fpr[11], I64;
    "f12", fpr[12], I64; "f13", fpr[13], I64; "f14", fpr[14], I64; "f15", fpr[15], I64;
    "f16", fpr[16], I64; "f17", fpr[17], I64; "f18", fpr[18], I64; "f19", fpr[19], I64;
    "f20", fpr[20], I64; "f21", fpr[21], I64; "f22", fpr[22], I64; "f23", fpr[23], I64;
    "f24", fpr[24], I64; "f25", fpr[25], I64; "f26", fpr[26], I64; "f27", fpr[27], I64;
    "f28", fpr[28], I64; "f29", fpr[29], I64; "f30", fpr[30], I64; "f31", fpr[31], I64;
    "cr0", crf[0], I8; "cr1", crf[1], I8; "cr2", crf[2], I8; "cr3", crf[3], I8;
    "cr4", crf[4], I8; "cr5", crf[5], I8; "cr6", crf[6], I8; "cr7", crf[7], I8;
    "so", so, I8; "ov", ov, I8; "ca", ca, I8; "xer_rest", xer_rest, I32;
    "lr", lr, I32; "ctr", ctr, I32; "fpscr", fpscr, I32; "msr", msr, I32;
    "reserve_addr", reserve_addr, I32; "reserve_val", reserve_val, I32;
    "sprg0", sprg[0], I32; "sprg1", sprg[1], I32; "sprg2", sprg[2], I32; "sprg3", sprg[3], I32;
    "sprg4", sprg[4], I32; "sprg5", sprg[5], I32; "sprg6", sprg[6], I32; "sprg7", sprg[7], I32;
    "sprg8", sprg[8], I32; "sprg9", sprg[9], I32;
    "srr0", srr[0], I32; "srr1", srr[1], I32; "csrr0", srr[2], I32; "csrr1", srr[3], I32;
    "dsrr0", srr[4], I32; "dsrr1", srr[5], I32; "mcsrr0", srr[6], I32; "mcsrr1", srr[7], I32;
    "dear", dear, I32; "esr", esr, I32;
};

impl PpcRegs {
    /// The full 32-bit CR.
    pub fn cr(&self) -> u32 {
        self.crf.iter().fold(0, |acc, &f| (acc << 4) | (f as u32 & 0xf))
    }

    /// Sets the full 32-bit CR.
    pub fn set_cr(&mut self, cr: u32) {
        for (i, f) in self.crf.iter_mut().enumerate() {
            *f = ((cr >> (28 - 4 * i)) & 0xf) as u8;
        }
    }

    /// The full 32-bit XER.
    pub fn xer(&self) -> u32 {
        (self.so as u32) << 31 | (self.ov as u32) << 30 | (self.ca as u32) << 29 | (self.xer_rest & !XER_NOT_REST)
    }

    /// Sets the full 32-bit XER (reserved bits are kept, as QEMU keeps them).
    pub fn set_xer(&mut self, v: u32) {
        self.so = (v >> 31) as u8 & 1;
        self.ov = (v >> 30) as u8 & 1;
        self.ca = (v >> 29) as u8 & 1;
        self.xer_rest = v & !XER_NOT_REST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_table_matches_the_accessors() {
        assert_eq!(REGS[gpr(5).0 as usize].name, "r5");
        assert_eq!(REGS[fpr(31).0 as usize].name, "f31");
        assert_eq!(REGS[crf(7).0 as usize].name, "cr7");
        assert_eq!(REGS[sprg(9).0 as usize].name, "sprg9");
        assert_eq!(REGS[srr(7).0 as usize].name, "mcsrr1");
        assert_eq!(REGS[ESR.0 as usize].name, "esr");
        let names: std::collections::HashSet<_> = REGS.iter().map(|r| r.name).collect();
        assert_eq!(names.len(), NUM_REGS);
        for r in REGS.iter() {
            assert_eq!(r.offset % r.ty.bytes(), 0, "{} misaligned", r.name);
        }
    }

    #[test]
    fn cr_and_xer_pack() {
        let mut r = PpcRegs::default();
        r.set_cr(0x1234_5678);
        assert_eq!(r.crf, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(r.cr(), 0x1234_5678);
        r.set_xer(0xe012_347f);
        assert_eq!((r.so, r.ov, r.ca, r.xer_rest), (1, 1, 1, 0x0012_347f));
        assert_eq!(r.xer(), 0xe012_347f);
    }
}
