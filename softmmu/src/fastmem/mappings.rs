//! Which guest pages a CPU's fastmem reservation maps, by mode and virtual page, with a
//! reverse index by physical page (a page that comes to hold code must find its mappings
//! without a scan: Linux translates thousands of new code pages while it boots).

use crate::tlb::NB_MMU_MODES;
use std::collections::{HashMap, HashSet};

/// A guest page mapped in one mode's reservation.
#[derive(Clone, Copy, Debug)]
pub(super) struct Mapping {
    /// Guest physical page it shows.
    pub phys_page: u64,
    /// Its translation holds whatever the address-space ID is.
    pub global: bool,
    /// Mapped writable.
    pub writable: bool,
}

#[derive(Default)]
pub(super) struct Mappings {
    by_virt: [HashMap<u64, Mapping>; NB_MMU_MODES],
    /// Per mode, the pages whose translation depends on the address-space ID: Linux drops
    /// them on every context switch, and finding them by scanning all mappings cost ~1 % of
    /// a boot.
    local: [HashSet<u64>; NB_MMU_MODES],
    by_phys: HashMap<u64, Vec<(usize, u64)>>,
    count: usize,
}

impl Mappings {
    /// Pages mapped, all modes.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Records (or replaces) the mapping of `vpage` in `mode`.
    pub fn insert(&mut self, mode: usize, vpage: u64, m: Mapping) {
        match self.by_virt[mode].insert(vpage, m) {
            Some(old) => self.unlink(mode, vpage, old.phys_page),
            None => self.count += 1,
        }
        if m.global {
            self.local[mode].remove(&vpage);
        } else {
            self.local[mode].insert(vpage);
        }
        self.by_phys.entry(m.phys_page).or_default().push((mode, vpage));
    }

    /// Forgets the mapping of `vpage` in `mode`; false if there was none.
    pub fn remove(&mut self, mode: usize, vpage: u64) -> bool {
        let Some(old) = self.by_virt[mode].remove(&vpage) else { return false };
        if !old.global {
            self.local[mode].remove(&vpage);
        }
        self.unlink(mode, vpage, old.phys_page);
        self.count -= 1;
        true
    }

    /// Forgets every mapping of `mode`.
    pub fn clear_mode(&mut self, mode: usize) {
        self.local[mode].clear();
        for (vpage, m) in std::mem::take(&mut self.by_virt[mode]) {
            self.unlink(mode, vpage, m.phys_page);
            self.count -= 1;
        }
    }

    /// The pages of `mode` whose translation depends on the address-space ID.
    pub fn local_pages(&self, mode: usize) -> Vec<u64> {
        self.local[mode].iter().copied().collect()
    }

    /// Every page of `mode`.
    pub fn pages(&self, mode: usize) -> Vec<u64> {
        self.by_virt[mode].keys().copied().collect()
    }

    /// Marks the writable mappings of physical page `ppage` read-only; returns them.
    pub fn make_read_only(&mut self, ppage: u64) -> Vec<(usize, u64)> {
        let Some(views) = self.by_phys.get(&ppage) else { return Vec::new() };
        let mut changed = Vec::new();
        for &(mode, vpage) in views {
            if let Some(m) = self.by_virt[mode].get_mut(&vpage).filter(|m| m.writable) {
                m.writable = false;
                changed.push((mode, vpage));
            }
        }
        changed
    }

    fn unlink(&mut self, mode: usize, vpage: u64, ppage: u64) {
        if let Some(views) = self.by_phys.get_mut(&ppage) {
            views.retain(|&x| x != (mode, vpage));
            if views.is_empty() {
                self.by_phys.remove(&ppage);
            }
        }
    }
}
