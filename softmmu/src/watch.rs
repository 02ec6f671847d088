//! Debugger watchpoints: ranges of guest *virtual* addresses whose loads or stores stop the CPU
//! just before the access, with the PC of the accessing instruction (what gdb expects of a
//! PowerPC target, whose watchpoints are not steppable).
//!
//! Soft-TLB entries of pages that hold a watched range carry [`crate::TLB_WATCH`] in their read
//! or write tag, so every access to those pages misses the inline fast path and reaches the
//! slow path, which checks the exact range here. Pages without watchpoints cost nothing.

use crate::cpu::Access;
use crate::tlb::PAGE_MASK;

/// Which accesses a watchpoint catches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WatchKind {
    /// Loads.
    Read,
    /// Stores.
    Write,
    /// Loads and stores.
    Access,
}

impl WatchKind {
    fn catches(self, access: Access) -> bool {
        match (self, access) {
            (_, Access::Execute) => false,
            (WatchKind::Access, _) => true,
            (WatchKind::Read, Access::Read) | (WatchKind::Write, Access::Write) => true,
            _ => false,
        }
    }
}

/// One watched range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watchpoint {
    /// First guest virtual address.
    pub addr: u64,
    /// Length in bytes (at least 1).
    pub len: u64,
    /// Accesses that trigger it.
    pub kind: WatchKind,
}

impl Watchpoint {
    fn overlaps(&self, addr: u64, len: u64) -> bool {
        addr < self.addr.saturating_add(self.len) && self.addr < addr.saturating_add(len)
    }
}

/// A watchpoint that fired: the CPU left the block before the access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchHit {
    /// The watchpoint's start address (what gdb reports).
    pub addr: u64,
    /// The watchpoint's kind.
    pub kind: WatchKind,
}

/// The watchpoints of one CPU and the last hit.
#[derive(Clone, Debug, Default)]
pub struct Watchpoints {
    list: Vec<Watchpoint>,
    /// Set by the slow path when an access trips a watchpoint; the run loop takes it.
    pub hit: Option<WatchHit>,
    /// While set, accesses do not trip (stepping over the instruction that just tripped).
    pub suppressed: bool,
}

impl Watchpoints {
    /// Adds `w` (a duplicate is kept once). The caller flushes the soft TLB.
    pub fn insert(&mut self, w: Watchpoint) {
        if !self.list.contains(&w) {
            self.list.push(w);
        }
    }

    /// Removes `w`; returns whether it existed. The caller flushes the soft TLB.
    pub fn remove(&mut self, w: Watchpoint) -> bool {
        let before = self.list.len();
        self.list.retain(|x| *x != w);
        self.list.len() != before
    }

    /// Removes every watchpoint.
    pub fn clear(&mut self) {
        self.list.clear();
        self.hit = None;
        self.suppressed = false;
    }

    /// No watchpoints.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether `access`es to the page of `vaddr` must take the slow path.
    pub fn covers_page(&self, vaddr: u64, access: Access) -> bool {
        let page = vaddr & PAGE_MASK;
        self.list.iter().any(|w| w.kind.catches(access) && w.overlaps(page, !PAGE_MASK + 1))
    }

    /// The slow path's check of an access of `size` bytes at `vaddr`: records and returns the
    /// hit, unless suppressed.
    pub fn trips(&mut self, vaddr: u64, size: u64, access: Access) -> bool {
        if self.suppressed {
            return false;
        }
        match self.list.iter().find(|w| w.kind.catches(access) && w.overlaps(vaddr, size)) {
            Some(w) => {
                self.hit = Some(WatchHit { addr: w.addr, kind: w.kind });
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_ranges_and_kinds() {
        let mut w = Watchpoints::default();
        w.insert(Watchpoint { addr: 0x1004, len: 4, kind: WatchKind::Write });
        assert!(w.covers_page(0x1ffc, Access::Write));
        assert!(!w.covers_page(0x1000, Access::Read));
        assert!(!w.covers_page(0x2000, Access::Write));
        assert!(!w.trips(0x1000, 4, Access::Write), "the word before");
        assert!(!w.trips(0x1004, 4, Access::Read), "a load");
        assert!(w.trips(0x1007, 1, Access::Write));
        assert_eq!(w.hit, Some(WatchHit { addr: 0x1004, kind: WatchKind::Write }));
        w.suppressed = true;
        assert!(!w.trips(0x1004, 4, Access::Write));
        assert!(w.remove(Watchpoint { addr: 0x1004, len: 4, kind: WatchKind::Write }));
        assert!(w.is_empty());
    }

    #[test]
    fn access_watchpoints_catch_both_but_not_fetches() {
        let mut w = Watchpoints::default();
        w.insert(Watchpoint { addr: 0xffff_fffc, len: 8, kind: WatchKind::Access });
        assert!(w.trips(0xffff_fffc, 4, Access::Read));
        assert!(w.trips(0xffff_fffe, 2, Access::Write));
        assert!(!w.trips(0xffff_fffc, 4, Access::Execute));
    }
}
