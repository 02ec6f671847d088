//! The e500mc MMU (Book E 2.06, MAV 1.0; QEMU's `POWERPC_MMU_BOOKE206`): TLB0 (4-way
//! set-associative, 4 KiB pages), TLB1 (64 entries, variable page size, IPROT), the MAS
//! registers, the TLB management instructions and address translation.
//!
//! There is no real mode: every access goes through these TLBs. The soft TLB caches the
//! answers; every operation here returns a [`TlbEffect`] saying which cached translations
//! became stale.

mod entry;
mod ops;
#[cfg(test)]
mod tests;

pub use entry::{mas, TlbEntry};

/// Which access the MMU is asked about (re-exported from the soft MMU).
pub use ferrite_softmmu::Access;

/// TLB0 configuration: 512 entries, 4-way, 4 KiB pages only, no IPROT.
pub const TLB0CFG: u32 = 0x0411_0200;
/// TLB1 configuration: 64 entries, fully associative, 4 KiB..4 GiB (power-of-4) pages, IPROT.
pub const TLB1CFG: u32 = 0x401c_c040;
/// MMU configuration: MAV 1.0, no extra PIDs in use, no LPID (what QEMU reports).
pub const MMUCFG: u32 = 0;

/// Sets of TLB0.
pub const TLB0_SETS: usize = 128;
/// Ways of TLB0.
pub const TLB0_WAYS: usize = 4;
/// Entries of TLB1.
pub const TLB1_ENTRIES: usize = 64;

/// What a TLB operation made stale in cached translations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlbEffect {
    /// Nothing changed.
    None,
    /// These 4 KiB virtual pages (the only entries changed were 4 KiB pages).
    Pages(Vec<u32>),
    /// Translations that depend on the address-space ID (Book E TID != 0) may have changed;
    /// global ones have not.
    Local,
    /// Anything may have changed.
    All,
}

impl TlbEffect {
    fn merge(self, other: TlbEffect) -> TlbEffect {
        match (self, other) {
            (TlbEffect::All, _) | (_, TlbEffect::All) => TlbEffect::All,
            (TlbEffect::None, x) | (x, TlbEffect::None) => x,
            (TlbEffect::Local, TlbEffect::Local) => TlbEffect::Local,
            (TlbEffect::Local, _) | (_, TlbEffect::Local) => TlbEffect::All,
            (TlbEffect::Pages(mut a), TlbEffect::Pages(b)) => {
                a.extend(b);
                if a.len() > 16 {
                    TlbEffect::All
                } else {
                    TlbEffect::Pages(a)
                }
            }
        }
    }
}

/// A TLB instruction that raises a program (illegal) interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MmuError {
    /// MAS0 selects an entry that does not exist, or TLB1 gets an unsupported page size.
    #[error("illegal TLB operation")]
    Illegal,
}

/// A translation fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// No entry matches: TLB error interrupt (with the MAS preload).
    Miss,
    /// An entry matches but forbids the access: storage interrupt.
    Protection,
}

/// A successful translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// Physical address (36 bits).
    pub phys: u64,
    /// Page size in bytes.
    pub page_size: u64,
    /// Accesses the page allows at this privilege: `TlbFill::READ | WRITE | EXEC` bits.
    pub prot: u8,
    /// W I M G E attributes.
    pub wimge: u8,
    /// The entry is global (TID 0): the translation holds for every PID.
    pub global: bool,
}

impl Translation {
    /// Whether the page is little-endian (the E attribute).
    pub fn little_endian(&self) -> bool {
        self.wimge & mas::MAS2_E as u8 != 0
    }
}

/// The MMU state of one core.
#[derive(Clone)]
pub struct BookeMmu {
    tlb0: Box<[[TlbEntry; TLB0_WAYS]; TLB0_SETS]>,
    tlb1: [TlbEntry; TLB1_ENTRIES],
    /// MAS0.
    pub mas0: u32,
    /// MAS1.
    pub mas1: u32,
    /// MAS2.
    pub mas2: u32,
    /// MAS3.
    pub mas3: u32,
    /// MAS4.
    pub mas4: u32,
    /// MAS6.
    pub mas6: u32,
    /// MAS7.
    pub mas7: u32,
    /// PID0, PID1, PID2.
    pub pid: [u32; 3],
    /// TLB0 next victim way (QEMU's `last_way`).
    next_victim: u32,
    /// The non-zero PID the user-mode soft-TLB and jump-cache entries were filled under.
    pub user_pid: u32,
}

impl std::fmt::Debug for BookeMmu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.info_tlb())
    }
}

impl Default for BookeMmu {
    fn default() -> Self {
        Self::new()
    }
}

impl BookeMmu {
    /// All entries invalid, registers 0.
    pub fn new() -> BookeMmu {
        BookeMmu {
            tlb0: Box::new([[TlbEntry::default(); TLB0_WAYS]; TLB0_SETS]),
            tlb1: [TlbEntry::default(); TLB1_ENTRIES],
            mas0: 0,
            mas1: 0,
            mas2: 0,
            mas3: 0,
            mas4: 0,
            mas6: 0,
            mas7: 0,
            pid: [0; 3],
            next_victim: 0,
            user_pid: 0,
        }
    }

    /// Back to the reset state.
    pub fn reset(&mut self) {
        self.tlb0.iter_mut().for_each(|set| set.fill(TlbEntry::default()));
        self.tlb1.fill(TlbEntry::default());
        (self.mas0, self.mas1, self.mas2, self.mas3, self.mas4, self.mas6, self.mas7) = (0, 0, 0, 0, 0, 0, 0);
        self.pid = [0; 3];
        self.next_victim = 0;
        self.user_pid = 0;
    }

    /// Reads an MMU SPR (MAS0-4, MAS6, MAS7, TLBnCFG, MMUCFG, MMUCSR0).
    pub fn read_spr(&self, num: u32) -> u32 {
        match num {
            624 => self.mas0,
            625 => self.mas1,
            626 => self.mas2,
            627 => self.mas3,
            628 => self.mas4,
            630 => self.mas6,
            944 => self.mas7,
            688 => TLB0CFG,
            689 => TLB1CFG,
            1015 => MMUCFG,
            // MMUCSR0's flash-invalidate bits complete at once and read back as 0.
            _ => 0,
        }
    }

    /// Writes a MAS register (with QEMU's masks).
    pub fn write_spr(&mut self, num: u32, v: u32) {
        match num {
            624 => self.mas0 = v,
            625 => self.mas1 = v,
            626 => self.mas2 = v,
            627 => self.mas3 = v,
            628 => self.mas4 = v,
            630 => self.mas6 = v,
            944 => self.mas7 = v & mas::MAS7_MASK,
            _ => {}
        }
    }

    /// Every valid entry, as (TLB number, index, entry).
    pub fn entries(&self) -> impl Iterator<Item = (usize, usize, &TlbEntry)> {
        let t0 = self.tlb0.iter().flatten().enumerate().map(|(i, e)| (0, i, e));
        let t1 = self.tlb1.iter().enumerate().map(|(i, e)| (1, i, e));
        t0.chain(t1).filter(|(_, _, e)| e.valid())
    }

    /// QEMU-like `info tlb` text.
    pub fn info_tlb(&self) -> String {
        let mut s = String::from("TLB  idx  Effective          Physical             Size   TID  TS SRWX URWX WIMGE\n");
        for (t, i, e) in self.entries() {
            s.push_str(&format!("{t}    {i:<4} {}\n", e.describe()));
        }
        s
    }
}
