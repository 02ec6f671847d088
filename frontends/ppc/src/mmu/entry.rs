//! One TLB entry, stored as QEMU stores it (MAS1, MAS2, MAS7:MAS3), and the MAS field layout.

/// MAS register fields (32-bit view; Linux `mmu-e500.h`, QEMU `cpu.h`).
pub mod mas {
    /// MAS0: TLB select.
    pub const MAS0_TLBSEL_SHIFT: u32 = 28;
    /// MAS0: entry select.
    pub const MAS0_ESEL_SHIFT: u32 = 16;
    /// MAS0: entry select mask (after shifting).
    pub const MAS0_ESEL_MASK: u32 = 0xfff;
    /// MAS0: write qualifier.
    pub const MAS0_WQ_MASK: u32 = 0x3000;
    /// MAS0: next victim mask.
    pub const MAS0_NV_MASK: u32 = 0xfff;
    /// MAS1: valid.
    pub const MAS1_V: u32 = 0x8000_0000;
    /// MAS1: invalidation protect.
    pub const MAS1_IPROT: u32 = 0x4000_0000;
    /// MAS1: translation ID.
    pub const MAS1_TID_SHIFT: u32 = 16;
    /// MAS1: translation ID mask (in place).
    pub const MAS1_TID_MASK: u32 = 0x3fff_0000;
    /// MAS1: translation space.
    pub const MAS1_TS: u32 = 0x1000;
    /// MAS1: page size shift.
    pub const MAS1_TSIZE_SHIFT: u32 = 7;
    /// MAS1: page size mask (in place).
    pub const MAS1_TSIZE_MASK: u32 = 0xf80;
    /// MAS2: effective page number.
    pub const MAS2_EPN: u32 = 0xffff_f000;
    /// MAS2: little-endian.
    pub const MAS2_E: u32 = 0x01;
    /// MAS2: WIMGE.
    pub const MAS2_WIMGE: u32 = 0x1f;
    /// MAS3: real page number (low).
    pub const MAS3_RPN: u32 = 0xffff_f000;
    /// MAS3 permission bits.
    pub const MAS3_UX: u32 = 0x20;
    /// Supervisor execute.
    pub const MAS3_SX: u32 = 0x10;
    /// User write.
    pub const MAS3_UW: u32 = 0x08;
    /// Supervisor write.
    pub const MAS3_SW: u32 = 0x04;
    /// User read.
    pub const MAS3_UR: u32 = 0x02;
    /// Supervisor read.
    pub const MAS3_SR: u32 = 0x01;
    /// MAS4: default TLB select (in place).
    pub const MAS4_TLBSELD_MASK: u32 = 0x3000_0000;
    /// MAS4: default TID select (in place).
    pub const MAS4_TIDSELD_MASK: u32 = 0x0003_0000;
    /// MAS4: default page size (in place).
    pub const MAS4_TSIZED_MASK: u32 = 0xf80;
    /// MAS4: default WIMGE (in place, with X0/X1).
    pub const MAS4_WIMGED_MASK: u32 = 0x7f;
    /// MAS6: search PID (in place).
    pub const MAS6_SPID_MASK: u32 = 0x3fff_0000;
    /// MAS6: search address space.
    pub const MAS6_SAS: u32 = 0x1;
    /// MAS7: the implemented upper physical address bits (36-bit).
    pub const MAS7_MASK: u32 = 0xf;
}

use mas::*;

/// A TLB entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TlbEntry {
    /// V, IPROT, TID, TS, TSIZE.
    pub mas1: u32,
    /// EPN and WIMGE.
    pub mas2: u32,
    /// RPN (36 bits) and permissions.
    pub mas7_3: u64,
}

impl TlbEntry {
    /// Valid?
    pub fn valid(&self) -> bool {
        self.mas1 & MAS1_V != 0
    }

    /// Protected from invalidate-all?
    pub fn iprot(&self) -> bool {
        self.mas1 & MAS1_IPROT != 0
    }

    /// Translation ID.
    pub fn tid(&self) -> u32 {
        (self.mas1 & MAS1_TID_MASK) >> MAS1_TID_SHIFT
    }

    /// Translation space bit.
    pub fn ts(&self) -> bool {
        self.mas1 & MAS1_TS != 0
    }

    /// Page size in bytes: 1 KiB << TSIZE.
    pub fn page_size(&self) -> u64 {
        1024u64 << ((self.mas1 & MAS1_TSIZE_MASK) >> MAS1_TSIZE_SHIFT)
    }

    /// Effective page number (as stored; not masked to the page size).
    pub fn epn(&self) -> u32 {
        self.mas2 & MAS2_EPN
    }

    /// Whether the entry maps `ea` for translation ID `pid` (QEMU `ppcmas_tlb_check`).
    pub fn matches(&self, ea: u32, pid: u32) -> bool {
        let mask = !(self.page_size() - 1) as u32;
        self.valid() && (self.tid() == 0 || self.tid() == pid) && ea & mask == self.epn()
    }

    /// Physical address of `ea` through this entry.
    pub fn phys(&self, ea: u32) -> u64 {
        let mask = self.page_size() - 1;
        (self.mas7_3 & !mask & 0xf_ffff_f000) | (ea as u64 & mask)
    }

    /// One `info tlb` line.
    pub fn describe(&self) -> String {
        let p = self.mas7_3 as u32;
        let bit = |m: u32, c: char| if p & m != 0 { c } else { '-' };
        let w = self.mas2 & MAS2_WIMGE;
        let wimge: String = ['W', 'I', 'M', 'G', 'E'].iter().enumerate().map(|(i, &c)| if w & (0x10 >> i) != 0 { c } else { '-' }).collect();
        format!(
            "{:#010x} -> {:#011x} {:>6} {:>4} {}  {}{}{}  {}{}{}  {}",
            self.epn(),
            self.phys(self.epn()),
            human_size(self.page_size()),
            self.tid(),
            self.ts() as u8,
            bit(MAS3_SR, 'R'),
            bit(MAS3_SW, 'W'),
            bit(MAS3_SX, 'X'),
            bit(MAS3_UR, 'R'),
            bit(MAS3_UW, 'W'),
            bit(MAS3_UX, 'X'),
            wimge
        )
    }
}

fn human_size(b: u64) -> String {
    match b {
        b if b >= 1 << 30 => format!("{}G", b >> 30),
        b if b >= 1 << 20 => format!("{}M", b >> 20),
        b => format!("{}K", b >> 10),
    }
}
