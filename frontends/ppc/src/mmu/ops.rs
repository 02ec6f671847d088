//! TLB management instructions and translation, following QEMU 7.2 (`mmu_helper.c`,
//! `mmu_common.c`) so Linux behaves as it does there.

use super::entry::{mas::*, TlbEntry};
use super::{Access, BookeMmu, Fault, MmuError, TlbEffect, Translation, TLB0_SETS, TLB0_WAYS, TLB1_ENTRIES};
use ferrite_softmmu::TlbFill;

/// Where an entry lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Tlb0 { set: usize, way: usize },
    Tlb1(usize),
}

/// Supported TLB1 page sizes: TSIZE 2, 4, ..., 24 (4 KiB to 4 GiB, powers of 4; TLB1CFG
/// MINSIZE 1, MAXSIZE 0xC).
fn tlb1_size_ok(tsize: u32) -> bool {
    tsize % 2 == 0 && (2..=24).contains(&tsize)
}

fn tlb0_set(ea: u32) -> usize {
    ((ea >> 12) as usize) & (TLB0_SETS - 1)
}

impl BookeMmu {
    fn entry(&self, s: Slot) -> &TlbEntry {
        match s {
            Slot::Tlb0 { set, way } => &self.tlb0[set][way],
            Slot::Tlb1(i) => &self.tlb1[i],
        }
    }

    fn entry_mut(&mut self, s: Slot) -> &mut TlbEntry {
        match s {
            Slot::Tlb0 { set, way } => &mut self.tlb0[set][way],
            Slot::Tlb1(i) => &mut self.tlb1[i],
        }
    }

    /// The entry MAS0 (TLBSEL, ESEL) and MAS2 (EPN, for TLB0's set) select (QEMU
    /// `booke206_cur_tlb`), if it exists.
    fn selected(&self) -> Option<Slot> {
        let tlbsel = (self.mas0 >> MAS0_TLBSEL_SHIFT) & 3;
        let esel = ((self.mas0 >> MAS0_ESEL_SHIFT) & MAS0_ESEL_MASK) as usize;
        match tlbsel {
            0 if esel < TLB0_WAYS => Some(Slot::Tlb0 { set: tlb0_set(self.mas2), way: esel }),
            1 if esel < TLB1_ENTRIES => Some(Slot::Tlb1(esel)),
            _ => None,
        }
    }

    /// Candidate entries for `ea`, in QEMU's search order: TLB0's set, then TLB1.
    fn candidates(ea: u32) -> impl Iterator<Item = Slot> {
        let set = tlb0_set(ea);
        (0..TLB0_WAYS).map(move |way| Slot::Tlb0 { set, way }).chain((0..TLB1_ENTRIES).map(Slot::Tlb1))
    }

    /// Loads MAS0-3 and MAS7 from an entry (`booke206_tlb_to_mas`).
    fn to_mas(&mut self, s: Slot) {
        let (tlbn, way) = match s {
            Slot::Tlb0 { way, .. } => (0, way as u32),
            Slot::Tlb1(i) => (1, i as u32),
        };
        let e = *self.entry(s);
        self.mas0 = (tlbn << MAS0_TLBSEL_SHIFT) | (way << MAS0_ESEL_SHIFT) | self.next_victim;
        self.mas1 = e.mas1;
        self.mas2 = e.mas2;
        self.mas3 = e.mas7_3 as u32;
        self.mas7 = (e.mas7_3 >> 32) as u32;
    }

    /// The stale-translation effect of changing `e`.
    /// The non-zero TIDs that cached translations (soft TLB, jump cache) may have been made
    /// under: the current PIDs and the last user PID (`user_pid`; a change to another non-zero
    /// PID flushes them). An entry of any other TID was never used by one, so invalidating or
    /// writing it makes nothing stale: Linux drops whole address spaces of other processes
    /// (`tlbilx` by PID) and its TLB-miss handler replaces other processes' TLB0 entries.
    fn cached_tids(&self) -> [u32; 4] {
        [self.user_pid, self.pid[0], self.pid[1], self.pid[2]]
    }

    /// What changing entry `e` makes stale, given the TIDs cached translations were made under.
    fn effect_of(e: &TlbEntry, cached_tids: &[u32; 4]) -> TlbEffect {
        if !e.valid() || (e.tid() != 0 && !cached_tids.contains(&e.tid())) {
            TlbEffect::None
        } else if e.page_size() == 4096 {
            TlbEffect::Pages(vec![e.epn()])
        } else {
            TlbEffect::All
        }
    }

    /// Bumps the TLB0 round-robin victim and returns MAS0 ESEL | NV for a miss.
    fn victim_fields(&mut self) -> u32 {
        let esel = self.next_victim << MAS0_ESEL_SHIFT;
        self.next_victim = (self.next_victim + 1) & (TLB0_WAYS as u32 - 1);
        esel | self.next_victim
    }

    /// tlbwe: writes the selected entry from MAS1, MAS2, MAS7:MAS3.
    pub fn tlbwe(&mut self) -> Result<TlbEffect, MmuError> {
        if self.mas0 & MAS0_WQ_MASK != 0 {
            // Only "write always" (WQ = 0) is implemented, as in QEMU; others do nothing.
            return Ok(TlbEffect::None);
        }
        let slot = self.selected().ok_or(MmuError::Illegal)?;
        let tsize = (self.mas1 & MAS1_TSIZE_MASK) >> MAS1_TSIZE_SHIFT;
        if matches!(slot, Slot::Tlb1(_)) && self.mas1 & MAS1_V != 0 && !tlb1_size_ok(tsize) {
            return Err(MmuError::Illegal);
        }
        let old = *self.entry(slot);
        let mut new = TlbEntry {
            mas1: self.mas1,
            mas2: self.mas2 & (MAS2_EPN | MAS2_WIMGE),
            mas7_3: ((self.mas7 as u64) << 32) | self.mas3 as u64,
        };
        if matches!(slot, Slot::Tlb0 { .. }) {
            // TLB0 holds 4 KiB pages only and has no IPROT.
            new.mas1 = (new.mas1 & !(MAS1_TSIZE_MASK | MAS1_IPROT)) | (2 << MAS1_TSIZE_SHIFT);
        }
        tracing::trace!(target: "mmu", "tlbwe {slot:?}: MAS1 {:08x} MAS2 {:08x} MAS7:3 {:09x}", new.mas1, new.mas2, new.mas7_3);
        *self.entry_mut(slot) = new;
        let cached = self.cached_tids();
        Ok(Self::effect_of(&old, &cached).merge(Self::effect_of(&new, &cached)))
    }

    /// tlbre: reads the selected entry into the MAS registers (MAS1 = 0 if none).
    pub fn tlbre(&mut self) {
        match self.selected() {
            Some(s) => self.to_mas(s),
            None => self.mas1 = 0,
        }
    }

    /// tlbsx: searches for `ea` with MAS6's SPID and SAS; fills the MAS registers from the hit,
    /// or with MAS4 defaults and V = 0 on a miss.
    pub fn tlbsx(&mut self, ea: u32) {
        let spid = (self.mas6 & MAS6_SPID_MASK) >> 16;
        let sas = self.mas6 & MAS6_SAS != 0;
        if let Some(s) = Self::candidates(ea).find(|&s| {
            let e = self.entry(s);
            e.matches(ea, spid) && e.ts() == sas
        }) {
            self.to_mas(s);
            return;
        }
        self.mas0 = (self.mas4 & MAS4_TLBSELD_MASK) | self.victim_fields();
        self.mas1 = (self.mas4 & MAS4_TSIZED_MASK) | if sas { MAS1_TS } else { 0 } | ((self.mas6 >> 16) << MAS1_TID_SHIFT);
        self.mas2 = self.mas4 & MAS4_WIMGED_MASK;
        self.mas3 = 0;
        self.mas7 = 0;
    }

    /// Invalidates every entry of the selected TLBs (`tlb0`, `tlb1`), sparing IPROT entries
    /// when `respect_iprot`.
    fn flush(&mut self, tlb0: bool, tlb1: bool, respect_iprot: bool) -> TlbEffect {
        let mut changed = false;
        let mut clear = |e: &mut TlbEntry| {
            if e.valid() && !(respect_iprot && e.iprot()) {
                e.mas1 &= !MAS1_V;
                changed = true;
            }
        };
        if tlb0 {
            self.tlb0.iter_mut().flatten().for_each(&mut clear);
        }
        if tlb1 {
            self.tlb1.iter_mut().for_each(&mut clear);
        }
        if changed {
            TlbEffect::All
        } else {
            TlbEffect::None
        }
    }

    /// tlbivax: EA bit 0x4 invalidates a whole TLB (bit 0x8 selects TLB1), sparing IPROT
    /// entries; otherwise the non-IPROT entries mapping the EA's page, any TID.
    pub fn tlbivax(&mut self, ea: u32) -> TlbEffect {
        let tlb1 = ea & 0x8 != 0;
        if ea & 0x4 != 0 {
            return self.flush(!tlb1, tlb1, true);
        }
        let cached = self.cached_tids();
        let mut effect = TlbEffect::None;
        let slots: Vec<Slot> = Self::candidates(ea).filter(|s| matches!(s, Slot::Tlb1(_)) == tlb1).collect();
        for s in slots {
            let e = self.entry_mut(s);
            let mask = !(e.page_size() - 1) as u32;
            if e.valid() && e.epn() == ea & mask && !e.iprot() {
                let old = *e;
                e.mas1 &= !MAS1_V;
                effect = effect.merge(Self::effect_of(&old, &cached));
            }
        }
        effect
    }

    /// tlbilx (local invalidate): T=0 all, T=1 by MAS6[SPID], T=3 by SPID and EA; IPROT
    /// entries are spared. Other T values are illegal (checked by the translator).
    pub fn tlbilx(&mut self, t: u32, ea: u32) -> TlbEffect {
        let spid = (self.mas6 & MAS6_SPID_MASK) >> 16;
        let cached = self.cached_tids();
        match t {
            0 => self.flush(true, true, true),
            1 => {
                let mut effect = TlbEffect::None;
                for e in self.tlb0.iter_mut().flatten().chain(self.tlb1.iter_mut()) {
                    if e.valid() && !e.iprot() && e.tid() == spid {
                        let old = *e;
                        e.mas1 &= !MAS1_V;
                        effect = effect.merge(Self::effect_of(&old, &cached));
                    }
                }
                // Only entries of one non-zero TID went (Linux drops a whole address space
                // this way): global translations, the kernel's, stay valid.
                if spid != 0 && effect == TlbEffect::All {
                    TlbEffect::Local
                } else {
                    effect
                }
            }
            _ => {
                let mut effect = TlbEffect::None;
                let slots: Vec<Slot> = Self::candidates(ea).collect();
                for s in slots {
                    let e = self.entry_mut(s);
                    if e.matches(ea, spid) && !e.iprot() {
                        let old = *e;
                        e.mas1 &= !MAS1_V;
                        effect = effect.merge(Self::effect_of(&old, &cached));
                    }
                }
                effect
            }
        }
    }

    /// MMUCSR0 write: bit 0x4 flash-invalidates TLB0, 0x2 TLB1 (IPROT respected).
    pub fn write_mmucsr0(&mut self, v: u32) -> TlbEffect {
        self.flush(v & 0x4 != 0, v & 0x2 != 0, true)
    }

    /// Translates `ea` for `access` in address space `space` (MSR[IS] or MSR[DS]) at privilege
    /// `pr`. The first entry matching V, TID (0, PID0, or non-zero PID1/PID2), EPN and TS
    /// decides; its permissions for this privilege give the protection.
    pub fn translate(&self, ea: u32, space: bool, pr: bool, access: Access) -> Result<Translation, Fault> {
        if let Some(e) = self.find(ea, space) {
            let p = e.mas7_3 as u32;
            let (r, w, x) = if pr { (MAS3_UR, MAS3_UW, MAS3_UX) } else { (MAS3_SR, MAS3_SW, MAS3_SX) };
            let mut prot = 0;
            if p & r != 0 {
                prot |= TlbFill::READ;
            }
            if p & w != 0 {
                prot |= TlbFill::WRITE;
            }
            if p & x != 0 {
                prot |= TlbFill::EXEC;
            }
            let need = match access {
                Access::Read => TlbFill::READ,
                Access::Write => TlbFill::WRITE,
                Access::Execute => TlbFill::EXEC,
            };
            if prot & need == 0 {
                return Err(Fault::Protection);
            }
            return Ok(Translation { phys: e.phys(ea), page_size: e.page_size(), prot, wimge: (e.mas2 & MAS2_WIMGE) as u8, global: e.tid() == 0 });
        }
        Err(Fault::Miss)
    }

    /// The first valid entry that maps `ea` in address space `space` under the current PIDs
    /// (TID 0, PID0, or a non-zero PID1/PID2).
    fn find(&self, ea: u32, space: bool) -> Option<&TlbEntry> {
        Self::candidates(ea).map(|s| self.entry(s)).find(|e| {
            let hit = e.matches(ea, self.pid[0])
                || (self.pid[1] != 0 && e.matches(ea, self.pid[1]))
                || (self.pid[2] != 0 && e.matches(ea, self.pid[2]));
            hit && e.ts() == space
        })
    }

    /// Where `ea` maps in address space `space`, whatever the permissions and without any
    /// side effect (debugger accesses).
    pub fn debug_translate(&self, ea: u32, space: bool) -> Option<u64> {
        self.find(ea, space).map(|e| e.phys(ea))
    }

    /// The MAS preload hardware performs on a TLB miss at `ea` in address space `space`
    /// (QEMU `booke206_update_mas_tlb_miss`).
    pub fn tlb_miss_preload(&mut self, ea: u32, space: bool, _is_store: bool) {
        let tid = match (self.mas4 & MAS4_TIDSELD_MASK) >> 16 {
            0 => self.pid[0],
            1 => self.pid[1],
            2 => self.pid[2],
            _ => 0,
        };
        self.mas0 = (self.mas4 & MAS4_TLBSELD_MASK) | self.victim_fields();
        self.mas1 = (self.mas4 & MAS4_TSIZED_MASK) | MAS1_V | (tid << MAS1_TID_SHIFT) | if space { MAS1_TS } else { 0 };
        self.mas2 = (self.mas4 & MAS4_WIMGED_MASK) | (ea & MAS2_EPN);
        self.mas3 = 0;
        self.mas7 = 0;
        self.mas6 = (self.pid[0] << 16) | if space { MAS6_SAS } else { 0 };
    }
}
