//! The per-CPU soft TLB: a direct-mapped cache of guest-virtual to host translations.
//!
//! Each MMU mode (privilege level × address space, chosen by the frontend) has its own table of
//! [`TLB_ENTRIES`] entries indexed by virtual page number. An entry holds three tags (read,
//! write, execute) and the host addend: for a RAM page, `host = vaddr + addend`. The fast path,
//! emitted inline by the JIT and open-coded in the interpreter, compares the page of the
//! *last* byte accessed with the tag; any flag bit in the tag's low bits (MMIO, code page,
//! byte swap, watchpoint) makes the compare fail and sends the access to the slow path, as
//! does an access that crosses a page.

use crate::address_space::{AddressSpace, RegionKind};
use crate::bitset::{drain_bits, each_bit};
use crate::cpu::TlbFill;
use crate::fastmem::Fastmem;

/// log2 of the soft-TLB page size. Guest pages smaller than this are never cached.
pub const PAGE_BITS: u32 = 12;
/// The soft-TLB page size.
pub const PAGE_SIZE: u64 = 1 << PAGE_BITS;
/// Mask selecting the page part of an address.
pub const PAGE_MASK: u64 = !(PAGE_SIZE - 1);
/// log2 of the number of entries per MMU mode.
pub const TLB_BITS: u32 = 10;
/// Entries per MMU mode.
pub const TLB_ENTRIES: usize = 1 << TLB_BITS;
/// Number of MMU modes a frontend may use.
pub const NB_MMU_MODES: usize = 8;

/// Tag bit: entry (or this access type) is invalid. Invalid tags are all ones.
pub const TLB_INVALID: u64 = 1 << 0;
/// Tag bit: the page is MMIO (or unassigned); accesses go through the bus.
pub const TLB_MMIO: u64 = 1 << 1;
/// Write-tag bit: the page holds translated code; writes must drop translations.
pub const TLB_NOTDIRTY: u64 = 1 << 2;
/// Tag bit: the page has the opposite byte order (Book E `E` attribute).
pub const TLB_BSWAP: u64 = 1 << 3;
/// Tag bit: a debugger watchpoint covers the page.
pub const TLB_WATCH: u64 = 1 << 4;

const INVALID_TAG: u64 = u64::MAX;

/// One soft-TLB entry, exactly as generated code reads it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TlbEntry {
    /// Virtual page for loads, or all ones.
    pub addr_read: u64,
    /// Virtual page for stores, or all ones.
    pub addr_write: u64,
    /// Virtual page for instruction fetch, or all ones.
    pub addr_code: u64,
    /// `host address - guest virtual address` for RAM pages.
    pub addend: u64,
}

impl TlbEntry {
    const INVALID: TlbEntry =
        TlbEntry { addr_read: INVALID_TAG, addr_write: INVALID_TAG, addr_code: INVALID_TAG, addend: 0 };
}

/// Slow-path information for an entry (never read by generated code).
#[derive(Clone, Copy, Debug, Default)]
pub struct TlbExtra {
    /// Guest physical address of the page.
    pub phys_page: u64,
    /// Size of the guest page the translation came from.
    pub page_size: u64,
}

/// An entry as fastmem sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntryInfo {
    pub addr_read: u64,
    pub addr_write: u64,
    pub phys_page: u64,
    /// Size of the guest page the translation came from.
    pub page_size: u64,
    /// Holds whatever the address-space ID.
    pub global: bool,
}

/// The soft TLB of one vCPU.
#[repr(C)]
pub struct SoftTlb {
    /// The entries, `[mmu mode][index]`.
    pub table: [[TlbEntry; TLB_ENTRIES]; NB_MMU_MODES],
    /// Per-entry slow-path data.
    pub extra: [[TlbExtra; TLB_ENTRIES]; NB_MMU_MODES],
    /// Per mode: virtual base and mask of the region covered by guest pages larger than the
    /// soft-TLB page, so that flushing one virtual page can find them.
    large: [(u64, u64); NB_MMU_MODES],
    /// Per mode: which entries were filled since the mode was last flushed. A full flush then
    /// clears only those (Linux flushes on every PID change: clearing all 8 x 1024 entries each
    /// time showed up at 10 % of a disk benchmark).
    used: [[u64; TLB_ENTRIES / 64]; NB_MMU_MODES],
    /// Per mode: the filled entries that depend on the address-space ID ([`TlbFill::global`]
    /// false), dropped by [`SoftTlb::flush_local`].
    local: [[u64; TLB_ENTRIES / 64]; NB_MMU_MODES],
    /// Guest RAM mapped for check-free access by compiled code, kept in step with the
    /// entries above (see [`crate::fastmem`]).
    pub fastmem: Fastmem,
}

/// Index of `vaddr` in a mode's table.
#[inline]
pub fn tlb_index(vaddr: u64) -> usize {
    ((vaddr >> PAGE_BITS) as usize) & (TLB_ENTRIES - 1)
}

/// Whether `tag` holds a valid translation of the page of `vaddr`, ignoring flag bits.
#[inline]
pub fn tag_matches(tag: u64, vaddr: u64) -> bool {
    tag & TLB_INVALID == 0 && tag & PAGE_MASK == vaddr & PAGE_MASK
}

impl SoftTlb {
    /// A boxed, empty TLB (it is ~400 KiB; never put it on the stack).
    pub fn new_boxed() -> Box<SoftTlb> {
        let mut b: Box<std::mem::MaybeUninit<SoftTlb>> = Box::new_uninit();
        // SAFETY: we initialise every field before assume_init.
        unsafe {
            let p = b.as_mut_ptr();
            Self::init_raw(p);
            b.assume_init()
        }
    }

    /// Initialises a TLB in place (the TLB lives inside a larger CPU structure).
    ///
    /// # Safety
    /// `p` must be valid for writes of a `SoftTlb`.
    pub unsafe fn init_raw(p: *mut SoftTlb) {
        // SAFETY: caller guarantees p is writable; we write each field exactly once.
        unsafe {
            for m in 0..NB_MMU_MODES {
                for i in 0..TLB_ENTRIES {
                    std::ptr::addr_of_mut!((*p).table[m][i]).write(TlbEntry::INVALID);
                    std::ptr::addr_of_mut!((*p).extra[m][i]).write(TlbExtra::default());
                }
                std::ptr::addr_of_mut!((*p).large[m]).write((u64::MAX, 0));
                std::ptr::addr_of_mut!((*p).used[m]).write([0; TLB_ENTRIES / 64]);
                std::ptr::addr_of_mut!((*p).local[m]).write([0; TLB_ENTRIES / 64]);
            }
            std::ptr::addr_of_mut!((*p).fastmem).write(Fastmem::off());
        }
    }

    /// Drops every translation of every mode.
    pub fn flush_all(&mut self) {
        for m in 0..NB_MMU_MODES {
            self.flush_mode(m);
        }
    }

    /// Drops every translation of one mode.
    pub fn flush_mode(&mut self, mode: usize) {
        let table = &mut self.table[mode];
        drain_bits(&mut self.used[mode], |i| table[i] = TlbEntry::INVALID);
        self.local[mode] = [0; TLB_ENTRIES / 64];
        self.large[mode] = (u64::MAX, 0);
        self.fastmem.unmap_mode(mode);
    }

    /// Drops the entries that depend on the address-space ID, in the modes of `modes` (bit
    /// `m` for mode `m`).
    pub fn flush_local(&mut self, modes: u8) {
        for m in (0..NB_MMU_MODES).filter(|m| modes & (1 << m) != 0) {
            let table = &mut self.table[m];
            drain_bits(&mut self.local[m], |i| table[i] = TlbEntry::INVALID);
            self.fastmem.unmap_local(m);
        }
    }

    /// Whether the entry of `mode` for `vaddr` depends on the address-space ID.
    pub fn is_local(&self, mode: usize, vaddr: u64) -> bool {
        let i = tlb_index(vaddr);
        self.local[mode][i / 64] & (1 << (i % 64)) != 0
    }

    /// Drops the translations of the page of `vaddr` in every mode (a whole mode if the page
    /// lies inside a large guest page, whose other sub-pages may be cached too).
    pub fn flush_page(&mut self, vaddr: u64) {
        for m in 0..NB_MMU_MODES {
            self.flush_page_mode(m, vaddr);
        }
    }

    /// Like [`Self::flush_page`], for one mode.
    pub fn flush_page_mode(&mut self, mode: usize, vaddr: u64) {
        let (base, mask) = self.large[mode];
        if vaddr & mask == base {
            self.flush_mode(mode);
            return;
        }
        let e = &mut self.table[mode][tlb_index(vaddr)];
        if tag_matches(e.addr_read, vaddr) || tag_matches(e.addr_write, vaddr) || tag_matches(e.addr_code, vaddr) {
            *e = TlbEntry::INVALID;
        }
        // Whether or not the entry is still cached, a fastmem mapping of the page may be.
        self.fastmem.unmap_page(mode, vaddr);
    }

    /// Installs the translation `fill` of `vaddr` in `mode`.
    pub fn install(&mut self, mode: usize, vaddr: u64, fill: &TlbFill, space: &AddressSpace) {
        let vpage = vaddr & PAGE_MASK;
        let ppage = fill.phys & PAGE_MASK;
        if fill.page_size > PAGE_SIZE {
            let mask = !(fill.page_size - 1);
            let (base, old_mask) = self.large[mode];
            self.large[mode] = if base == u64::MAX {
                (vaddr & mask, mask)
            } else {
                // Grow the tracked region until it covers both large pages.
                let mut m = old_mask & mask;
                while (base & m) != (vaddr & m) {
                    m <<= 1;
                }
                (vaddr & m, m)
            };
        }
        let mut flags = if fill.bswap { TLB_BSWAP } else { 0 };
        let mut addend = 0u64;
        let mut code_page = false;
        match space.lookup(ppage).map(|r| (r.base, r.kind)) {
            Some((base, RegionKind::Ram { ram, offset, .. })) => {
                let host = ram.host_ptr() as u64 + offset + (ppage - base);
                addend = host.wrapping_sub(vpage);
                code_page = space.is_code_page(ppage);
            }
            _ => flags |= TLB_MMIO,
        }
        let tag = |allowed: bool, extra: u64| if allowed { vpage | flags | extra } else { INVALID_TAG };
        let idx = tlb_index(vaddr);
        self.table[mode][idx] = TlbEntry {
            addr_read: tag(fill.prot & TlbFill::READ != 0, 0),
            addr_write: tag(fill.prot & TlbFill::WRITE != 0, if code_page { TLB_NOTDIRTY } else { 0 }),
            addr_code: tag(fill.prot & TlbFill::EXEC != 0, 0),
            addend,
        };
        self.extra[mode][idx] = TlbExtra { phys_page: ppage, page_size: fill.page_size };
        let bit = 1u64 << (idx % 64);
        self.used[mode][idx / 64] |= bit;
        if fill.global {
            self.local[mode][idx / 64] &= !bit;
        } else {
            self.local[mode][idx / 64] |= bit;
        }
    }

    /// Sends loads (`read`) and/or stores (`write`) through entry `idx` of `mode` to the slow
    /// path, because a debugger watches part of its page.
    pub fn mark_watched(&mut self, mode: usize, idx: usize, read: bool, write: bool) {
        let e = &mut self.table[mode][idx];
        if read && e.addr_read & TLB_INVALID == 0 {
            e.addr_read |= TLB_WATCH;
        }
        if write && e.addr_write & TLB_INVALID == 0 {
            e.addr_write |= TLB_WATCH;
        }
    }

    /// Makes every write entry that maps the physical page `ppage` take the slow path, because
    /// the page now holds translated code.
    pub fn protect_code_page(&mut self, ppage: u64) {
        for m in 0..NB_MMU_MODES {
            let (table, extra) = (&mut self.table[m], &self.extra[m]);
            each_bit(&self.used[m], |i| {
                let e = &mut table[i];
                if e.addr_write & TLB_INVALID == 0 && e.addr_write & TLB_MMIO == 0 && extra[i].phys_page == ppage {
                    e.addr_write |= TLB_NOTDIRTY;
                }
            });
        }
        self.fastmem.write_protect(ppage);
    }

    /// What fastmem needs of the entry of `mode` for the page `vpage`, if it holds that page.
    pub(crate) fn entry_for(&self, mode: usize, vpage: u64) -> Option<EntryInfo> {
        let i = tlb_index(vpage);
        let e = &self.table[mode][i];
        let holds = tag_matches(e.addr_read, vpage) || tag_matches(e.addr_write, vpage);
        let x = &self.extra[mode][i];
        holds.then(|| EntryInfo {
            addr_read: e.addr_read,
            addr_write: e.addr_write,
            phys_page: x.phys_page,
            page_size: x.page_size,
            global: !self.is_local(mode, vpage),
        })
    }

    /// Fast-path lookup for code outside the JIT: the host address of an access of `size`
    /// bytes at `vaddr` through tag `which` (0 read, 1 write, 2 code), if no slow path is due.
    #[inline]
    pub fn host_addr(&self, mode: usize, vaddr: u64, size: u64, which: usize) -> Option<u64> {
        let e = &self.table[mode][tlb_index(vaddr)];
        let tag = match which {
            0 => e.addr_read,
            1 => e.addr_write,
            _ => e.addr_code,
        };
        (tag == (vaddr.wrapping_add(size - 1) & PAGE_MASK)).then(|| vaddr.wrapping_add(e.addend))
    }
}
