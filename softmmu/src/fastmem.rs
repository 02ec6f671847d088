//! Fastmem: guest RAM mapped into host address space, so that compiled code reaches it at
//! `base + guest address` with no soft-TLB check.
//!
//! A CPU that enables it reserves, per MMU mode, 4 GiB of inaccessible host address space (plus
//! a guard for accesses that run past 4 GiB): only 32-bit guest addresses use it. Pages are
//! mapped lazily. A fastmem access to an unmapped page faults; the SIGSEGV handler
//! ([`signal`]) covers the page with a scratch page, records the fault here and returns, so the
//! host instruction completes harmlessly on scratch. Generated code checks [`Fastmem::fault`]
//! right after every fastmem access and, when set, performs the access again through the
//! memory slow path: that removes the scratch page ([`take_fault`]), does the access exactly as
//! a soft-TLB miss would (a guest fault leaves precise state), and maps the guest's RAM page
//! into the reservation if its translation is plain RAM ([`settle`]).
//!
//! Mappings follow the soft TLB, which calls in here on every change: flushing a page, a mode
//! or the address-space ID unmaps, and a page that comes to hold translated code becomes
//! read-only (stores to it must reach the slow path and drop translations). A compiled block
//! whose fastmem access meets a page that cannot be mapped (MMIO, code being written, a
//! watchpoint, byte-swapped) is demoted: its translations are dropped and its code page is
//! compiled with soft-TLB accesses from then on ([`Fastmem::is_demoted`]).

mod mappings;
pub mod signal;
#[cfg(test)]
mod tests;

use crate::address_space::{AddressSpace, RegionKind};
use crate::tlb::{EntryInfo, SoftTlb, NB_MMU_MODES, PAGE_MASK, PAGE_SIZE};
use mappings::{Mapping, Mappings};
use std::collections::{HashMap, HashSet};

/// Host address space reserved per MMU mode: every 32-bit guest address, and a guard page for
/// an access of up to 8 bytes that starts in the last page.
pub const MODE_SPAN: u64 = (1 << 32) + PAGE_SIZE;

/// Most pages mapped at once, per CPU: each mapping may be a host VMA of its own, and the host
/// refuses more than `vm.max_map_count` (65530 by default) per process.
const MAX_MAPPED: usize = 16384;

/// A fault in a large guest page maps this much around the faulting page at once.
const WINDOW: u64 = 64 * PAGE_SIZE;

/// Faults a code page's fastmem accesses may take before it is demoted: a loop that keeps
/// meeting new pages (clearing or copying memory a page at a time, each page once) pays a
/// fault per page, far more than soft-TLB misses would cost; loops that come back to the same
/// data stop faulting once it is mapped.
const FAULTS_BEFORE_DEMOTION: u32 = 64;

/// Most runs of adjacent pages unmapped one call each before a whole mode is unmapped instead.
const MAX_UNMAP_RUNS: usize = 64;

/// The runs of adjacent pages in the sorted page addresses `pages`: (first page, length).
fn page_runs(pages: &[u64]) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &p in pages {
        match runs.last_mut() {
            Some((start, len)) if *start + *len == p => *len += PAGE_SIZE,
            _ => runs.push((p, PAGE_SIZE)),
        }
    }
    runs
}

/// Fastmem counters (`-d stats`).
#[derive(Clone, Copy, Debug, Default)]
pub struct FastmemStats {
    /// Faults taken by fastmem accesses.
    pub faults: u64,
    /// Pages mapped (or remapped writable).
    pub maps: u64,
    /// Pages unmapped by soft-TLB flushes.
    pub unmaps: u64,
    /// Compiled code pages demoted to soft-TLB accesses.
    pub demotions: u64,
}

impl std::ops::Add for FastmemStats {
    type Output = FastmemStats;

    fn add(self, o: FastmemStats) -> FastmemStats {
        FastmemStats { faults: self.faults + o.faults, maps: self.maps + o.maps, unmaps: self.unmaps + o.unmaps, demotions: self.demotions + o.demotions }
    }
}

/// The part of fastmem that generated code does not read.
struct State {
    /// The modes whose accesses compiled code makes through fastmem (bit `m` for mode `m`).
    modes: u8,
    /// The modes whose accesses go through fastmem in code compiled to run long as well.
    long_running_modes: u8,
    /// Start of the reservation (all modes, one after another).
    start: u64,
    /// Registry slot of the signal handler.
    slot: usize,
    mapped: Mappings,
    demoted: HashSet<u64>,
    /// Faults per code page (of the faulting block's first instruction).
    faults_by_page: HashMap<u64, u32>,
    stats: FastmemStats,
}

/// A CPU's fastmem state (lives in its soft TLB).
#[repr(C)]
pub struct Fastmem {
    /// Per MMU mode: host address of guest address 0 (generated code reads this), or 0 while
    /// fastmem is off.
    pub base: [u64; NB_MMU_MODES],
    /// Non-zero: a fastmem access faulted and ran on scratch (written by the signal handler,
    /// read by generated code after every fastmem access).
    pub fault: u32,
    /// The host pages the signal handler covered with scratch (at most the two of an access
    /// that crosses a page), 0 for none.
    pub scratch: [u64; 2],
    /// Written by generated code before it redoes a faulted access: the physical address of
    /// the compiled block, demoted if the access cannot be mapped.
    pub site: u64,
    state: Option<Box<State>>,
}

impl Fastmem {
    /// Fastmem off (generated code never uses it for this CPU).
    pub const fn off() -> Fastmem {
        Fastmem { base: [0; NB_MMU_MODES], fault: 0, scratch: [0; 2], site: 0, state: None }
    }

    /// Whether it is on.
    pub fn enabled(&self) -> bool {
        self.state.is_some()
    }

    /// Turns it on for the accesses of the MMU modes in `modes` (bit `m` for mode `m`), and
    /// for those of `long_running_modes` too in code compiled to run long (loops, FP code):
    /// reserves the host address space and registers it with the signal handler. The
    /// structure must not move afterwards (it lives in the CPU header, which generated code
    /// already requires to stay put).
    pub fn enable(&mut self, modes: u8, long_running_modes: u8) -> Result<(), String> {
        if self.enabled() {
            return Ok(());
        }
        if !signal::supported() {
            return Err("fastmem needs an x86-64 Linux host".into());
        }
        let len = MODE_SPAN as usize * NB_MMU_MODES;
        // SAFETY: a fresh inaccessible mapping with no address hint; the result is checked.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(format!("cannot reserve {len} bytes of host address space: {}", std::io::Error::last_os_error()));
        }
        let start = p as u64;
        let Some(slot) = signal::register(start, start + len as u64, self as *mut Fastmem) else {
            // SAFETY: unmapping what was just mapped.
            unsafe { libc::munmap(p, len) };
            return Err("too many CPUs with fastmem".into());
        };
        for (m, b) in self.base.iter_mut().enumerate() {
            *b = start + m as u64 * MODE_SPAN;
        }
        self.state = Some(Box::new(State {
            modes,
            long_running_modes,
            start,
            slot,
            mapped: Mappings::default(),
            demoted: HashSet::new(),
            faults_by_page: HashMap::new(),
            stats: FastmemStats::default(),
        }));
        Ok(())
    }

    /// The MMU modes whose accesses code compiled to run long (`long_running`) or not may
    /// make through fastmem (0 while off).
    pub fn modes(&self, long_running: bool) -> u8 {
        self.state.as_ref().map_or(0, |s| s.modes | if long_running { s.long_running_modes } else { 0 })
    }

    /// Counters.
    pub fn stats(&self) -> FastmemStats {
        self.state.as_ref().map(|s| s.stats).unwrap_or_default()
    }

    /// Whether code on the physical page `page` must be compiled without fastmem.
    pub fn is_demoted(&self, page: u64) -> bool {
        self.state.as_ref().is_some_and(|s| s.demoted.contains(&(page & PAGE_MASK)))
    }

    /// Host address of guest page `vpage` in the mode reservation at `base` (a free function
    /// of the base, so that it can be used while the state is borrowed).
    fn host(base: u64, vpage: u64) -> *mut libc::c_void {
        (base + vpage) as *mut libc::c_void
    }

    /// Makes the mapped page at `host` read-only.
    fn read_only(host: *mut libc::c_void) {
        // SAFETY: `host` is a page of this CPU's reservation that we mapped.
        let r = unsafe { libc::mprotect(host, PAGE_SIZE as usize, libc::PROT_READ) };
        // Failing would leave stores to translated code unseen by the slow path.
        assert!(r == 0, "fastmem: cannot write-protect: {}", std::io::Error::last_os_error());
    }

    /// Makes `len` bytes at `host` inaccessible again.
    fn cover(host: *mut libc::c_void, len: u64) {
        // SAFETY: `host` lies in this CPU's reservation; replacing it with a fresh
        // inaccessible mapping touches nothing else.
        let r = unsafe {
            libc::mmap(host, len as usize, libc::PROT_NONE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED, -1, 0)
        };
        // Failing to take a mapping away would leave a stale translation reachable.
        assert!(r != libc::MAP_FAILED, "fastmem: cannot unmap: {}", std::io::Error::last_os_error());
    }

    /// Unmaps guest page `vpage` of `mode` (its translation changed).
    pub(crate) fn unmap_page(&mut self, mode: usize, vpage: u64) {
        let Some(s) = self.state.as_mut() else { return };
        if s.mapped.remove(mode, vpage & PAGE_MASK) {
            s.stats.unmaps += 1;
            Self::cover(Self::host(self.base[mode], vpage & PAGE_MASK), PAGE_SIZE);
        }
    }

    /// Unmaps the pages of `mode` that `doomed` lists, a call per run of adjacent pages; when
    /// the runs are many, one call for the whole mode (the survivors fault back in when used).
    /// Runs matter: an address-space switch dooms a process's pages (clustered: text, heap,
    /// stack), and covering the whole mode then would also drop the kernel's global pages of
    /// that mode, which every switch would make fault back in.
    fn unmap_pages(&mut self, mode: usize, doomed: impl FnOnce(&Mappings) -> Vec<u64>) {
        let Some(s) = self.state.as_mut() else { return };
        let mut doomed = doomed(&s.mapped);
        if doomed.is_empty() {
            return;
        }
        s.stats.unmaps += doomed.len() as u64;
        doomed.sort_unstable();
        let runs = page_runs(&doomed);
        if runs.len() > MAX_UNMAP_RUNS {
            s.mapped.clear_mode(mode);
            Self::cover(Self::host(self.base[mode], 0), MODE_SPAN);
            return;
        }
        for p in &doomed {
            s.mapped.remove(mode, *p);
        }
        for (start, len) in runs {
            Self::cover(Self::host(self.base[mode], start), len);
        }
    }

    /// Unmaps every page of `mode`.
    pub(crate) fn unmap_mode(&mut self, mode: usize) {
        self.unmap_pages(mode, |m| m.pages(mode));
    }

    /// Unmaps the pages of `mode` whose translation depends on the address-space ID.
    pub(crate) fn unmap_local(&mut self, mode: usize) {
        self.unmap_pages(mode, |m| m.local_pages(mode));
    }

    /// Makes every mapping of the physical page `ppage` read-only (it now holds code).
    pub(crate) fn write_protect(&mut self, ppage: u64) {
        let Some(s) = self.state.as_mut() else { return };
        for (mode, vpage) in s.mapped.make_read_only(ppage) {
            Self::read_only(Self::host(self.base[mode], vpage));
        }
    }

    /// Maps the faulting guest page `vpage` of `mode` as the soft TLB now translates it (`e`),
    /// if that is plain RAM readable (and writable, if `write`) with no slow-path flag; with
    /// it, when the translation is a large guest page, the rest of an aligned window of
    /// [`WINDOW`] around it (a loop walking memory would otherwise fault on every page).
    /// Returns false if the faulting page cannot be mapped.
    fn map(&mut self, e: EntryInfo, mode: usize, vpage: u64, write: bool, space: &AddressSpace, watched: bool) -> bool {
        if vpage >= 1 << 32 || e.addr_read != vpage || (write && e.addr_write != vpage) {
            return false;
        }
        let Some(region) = space.lookup(e.phys_page) else { return false };
        let RegionKind::Ram { ram, offset, .. } = &region.kind else { return false };
        let Some(fd) = ram.fd() else { return false };
        if self.state.as_ref().is_some_and(|s| s.mapped.len() >= MAX_MAPPED) {
            // Start over rather than run into the host's limit: what is used maps back in.
            for m in 0..NB_MMU_MODES {
                self.unmap_mode(m);
            }
        }
        // The window: inside the guest page, the 32-bit space and the RAM region, and
        // without watched memory (watchpoints are per page).
        let (mut lo, mut hi) = (vpage, vpage + PAGE_SIZE);
        if e.page_size > PAGE_SIZE && !watched {
            let guest_lo = vpage & !(e.page_size - 1);
            let ram_lo = vpage - (e.phys_page - region.base);
            lo = (vpage & !(WINDOW - 1)).max(guest_lo).max(ram_lo);
            hi = ((vpage & !(WINDOW - 1)) + WINDOW).min(guest_lo + e.page_size).min(ram_lo + region.size).min(1 << 32);
        }
        let writable = e.addr_write == vpage;
        let prot = libc::PROT_READ | if writable { libc::PROT_WRITE } else { 0 };
        let phys = |v: u64| e.phys_page - vpage + v;
        let file_offset = offset + (phys(lo) - region.base);
        // SAFETY: [lo, hi) lies in this CPU's reservation of `mode`; the file range lies
        // inside the RAM's memory file (the window lies inside the region).
        let r = unsafe { libc::mmap(Self::host(self.base[mode], lo), (hi - lo) as usize, prot, libc::MAP_SHARED | libc::MAP_FIXED, fd, file_offset as libc::off_t) };
        if r == libc::MAP_FAILED {
            return false;
        }
        let s = self.state.as_mut().expect("mapping with fastmem on");
        for v in (lo..hi).step_by(PAGE_SIZE as usize) {
            // A page holding translated code must not take stores behind the slow path's back.
            let w = writable && (v == vpage || !space.is_code_page(phys(v)));
            if !w && writable {
                Self::read_only(Self::host(self.base[mode], v));
            }
            s.stats.maps += 1;
            s.mapped.insert(mode, v, Mapping { phys_page: phys(v), global: e.global, writable: w });
        }
        true
    }
}

impl Drop for Fastmem {
    fn drop(&mut self) {
        if let Some(s) = self.state.take() {
            signal::unregister(s.slot);
            // SAFETY: the reservation is ours and nothing runs on it any more.
            unsafe { libc::munmap(s.start as *mut libc::c_void, MODE_SPAN as usize * NB_MMU_MODES) };
        }
    }
}

/// Called by the memory slow path on entry: if a fastmem access just faulted, takes its
/// scratch pages away and returns true (the slow path then redoes that access).
///
/// # Safety
/// `tlb` must be the soft TLB of the CPU running on this thread.
pub(crate) unsafe fn take_fault(tlb: &mut SoftTlb) -> bool {
    let fm = &mut tlb.fastmem;
    // SAFETY: written by the signal handler on this thread; a volatile read keeps the
    // compiler from assuming it unchanged.
    if unsafe { std::ptr::read_volatile(&fm.fault) } == 0 {
        return false;
    }
    for i in 0..2 {
        let page = std::mem::take(&mut fm.scratch[i]);
        if page != 0 {
            Fastmem::cover(page as *mut libc::c_void, PAGE_SIZE);
        }
    }
    fm.fault = 0;
    if let Some(s) = fm.state.as_mut() {
        s.stats.faults += 1;
    }
    true
}

/// After the slow path redid a faulted fastmem access of `size` bytes at `vaddr` in `mode`
/// successfully: maps its page(s), or demotes the block (`Fastmem::site`) when a page cannot
/// be mapped. Returns true when the block was demoted and its translations must go (the CPU
/// then has to leave it; see `EXIT_REQ_CODE_DIRTY`).
/// `watched`: the CPU has watchpoints (then only the accessed pages are mapped).
pub(crate) fn settle(tlb: &mut SoftTlb, space: &AddressSpace, mode: usize, vaddr: u64, size: u64, write: bool, watched: bool) -> bool {
    let site_page = tlb.fastmem.site & PAGE_MASK;
    if let Some(s) = tlb.fastmem.state.as_mut() {
        let n = s.faults_by_page.entry(site_page).or_insert(0);
        *n += 1;
        if *n > FAULTS_BEFORE_DEMOTION {
            return demote(tlb, space);
        }
    }
    let first = vaddr & PAGE_MASK;
    let last = vaddr.wrapping_add(size - 1) & PAGE_MASK;
    for vpage in [first, last].into_iter().take(if first == last { 1 } else { 2 }) {
        let Some(entry) = tlb.entry_for(mode, vpage) else { return demote(tlb, space) };
        if !tlb.fastmem.map(entry, mode, vpage, write, space, watched) {
            return demote(tlb, space);
        }
    }
    false
}

/// Marks the code page of the faulting block for soft-TLB accesses and asks for its
/// translations to be dropped. Returns true if some were.
fn demote(tlb: &mut SoftTlb, space: &AddressSpace) -> bool {
    let site = tlb.fastmem.site;
    let Some(s) = tlb.fastmem.state.as_mut() else { return false };
    if s.demoted.insert(site & PAGE_MASK) {
        s.stats.demotions += 1;
        tracing::debug!(target: "mmu", "fastmem: code page {:#x} demoted to soft-TLB accesses", site & PAGE_MASK);
    }
    space.note_code_store(site, 4)
}
