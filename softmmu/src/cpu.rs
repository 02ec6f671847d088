//! The part of a vCPU with a fixed layout, shared by generated code, the interpreter, the
//! memory slow path and the run loop.
//!
//! A frontend's CPU structure is `#[repr(C)]` with a [`CpuHeader`] as its *first* field, so a
//! `*mut CpuHeader` handed to generated code and helpers can be cast back to the frontend's type.

use crate::address_space::AddressSpace;
use crate::bitset::drain_bits;
use crate::page_census::PageCensus;
use crate::tlb::{SoftTlb, NB_MMU_MODES, PAGE_BITS, PAGE_MASK};
use crate::watch::Watchpoints;
use std::sync::atomic::AtomicU32;

/// `exit_request` bit: an interrupt line of this CPU changed.
pub const EXIT_REQ_INTERRUPT: u32 = 1 << 0;
/// `exit_request` bit: a host event (console input, timer, another thread) needs the loop.
pub const EXIT_REQ_EXTERNAL: u32 = 1 << 1;
/// `exit_request` bit: a page holding translations was written.
pub const EXIT_REQ_CODE_DIRTY: u32 = 1 << 2;
/// `exit_request` bit: stop running (debugger, shutdown, reset).
pub const EXIT_REQ_STOP: u32 = 1 << 3;
/// `exit_request` bit: the compile thread finished code the run loop should install (blocks
/// chained among themselves would otherwise not come back to the loop for it).
pub const EXIT_REQ_CODE_READY: u32 = 1 << 4;

/// Kind of memory access, for the guest MMU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
    /// An instruction fetch.
    Execute,
}

/// The guest MMU's answer for one virtual address.
#[derive(Clone, Copy, Debug)]
pub struct TlbFill {
    /// Guest physical address that the looked-up virtual address maps to.
    pub phys: u64,
    /// Allowed accesses in the looked-up mode: [`Self::READ`] | [`Self::WRITE`] | [`Self::EXEC`].
    pub prot: u8,
    /// Size of the guest page (for flushing); at least the soft-TLB page size to be cached.
    pub page_size: u64,
    /// The page has the opposite byte order of the access (Book E `E` bit).
    pub bswap: bool,
    /// The translation holds whatever the address-space ID (Book E PID) is: it came from a
    /// global mapping (TID 0). Others are dropped when the ID changes.
    pub global: bool,
}

impl TlbFill {
    /// Loads allowed.
    pub const READ: u8 = 1;
    /// Stores allowed.
    pub const WRITE: u8 = 2;
    /// Instruction fetch allowed.
    pub const EXEC: u8 = 4;
}

/// The frontend's guest-MMU hook: translate `vaddr` for `access` in MMU `mode`.
///
/// On a fault, the frontend records the guest exception (TLB miss, storage interrupt) in its
/// CPU state and returns `Err(())`; the caller then sets `pending_exit` and leaves the block
/// with the faulting instruction's PC.
///
/// # Safety
/// `env` must point to the header of a live CPU of the frontend that installed the hook.
pub type TlbFillFn = unsafe fn(env: *mut CpuHeader, vaddr: u64, access: Access, mode: usize) -> Result<TlbFill, ()>;

/// Inline cache entry for indirect branches: virtual PC and CPU mode to host code.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct JumpCacheEntry {
    /// Guest virtual PC, or all ones when empty.
    pub vpc: u64,
    /// CPU mode key the code was translated for.
    pub key: u64,
    /// Host entry point of the compiled block.
    pub code: u64,
    /// Run-loop private data (block id).
    pub block: u64,
}

/// Number of jump-cache entries (a power of two).
pub const JUMP_CACHE_ENTRIES: usize = 65536;

/// Jump-cache entries per virtual page bucket (a power of two): one per instruction of a page,
/// so that no two PCs of one page share an entry (with a quarter of that, hot PCs 1 KiB apart
/// evicted each other: two fifths of a boot's jump-cache misses).
pub const JUMP_CACHE_BUCKET: usize = 1024;

/// Slot index in the jump cache for a virtual PC, as QEMU lays out its `tb_jmp_cache`: a hash
/// of the page number picks a bucket of [`JUMP_CACHE_BUCKET`] entries, the word offset in the
/// page picks the entry. All PCs of one page fall in one bucket, so dropping a page's
/// translations (Linux's TLB-miss handler replaces a TLB0 entry on every miss) clears one
/// bucket instead of the whole cache. Generated code computes the same (the JIT's
/// `jump_cache_lookup`).
#[inline]
pub fn jump_cache_index(vpc: u64) -> usize {
    let page = vpc >> PAGE_BITS;
    let bucket = ((page ^ (page >> 6)) as usize) & (JUMP_CACHE_BUCKETS - 1);
    bucket * JUMP_CACHE_BUCKET + ((vpc >> 2) as usize & (JUMP_CACHE_BUCKET - 1))
}

/// The fixed-layout header of every vCPU.
#[repr(C)]
pub struct CpuHeader {
    /// Non-zero: generated code leaves at the next block entry. Bits are `EXIT_REQ_*`; set
    /// from any thread.
    pub exit_request: AtomicU32,
    /// Set to non-zero by the slow path or a helper that raised a guest exception; generated
    /// code then stores the current guest PC in `pc` and leaves the block.
    pub pending_exit: u32,
    /// Deterministic mode: instructions left before the next timer event. Blocks subtract
    /// their length on entry and leave when it would go negative.
    pub icount_budget: i64,
    /// Guest PC when the block left (next PC, or the PC of the faulting instruction).
    pub pc: u64,
    /// Number of guest instructions of the block that had completed when it left early.
    pub exit_insns: u64,
    /// Code of the last block exit (run-loop private).
    pub exit_code: u64,
    /// Host code pointer of the link slot the last exit came through, or 0.
    pub exit_slot: u64,
    /// Operands of a Cranelift block's call to a memory slow-path shim, passed here rather
    /// than in argument registers so that the (cold) call pins no register and the hot path's
    /// values keep theirs. This one: the guest address.
    pub slow_addr: u64,
    /// The value to store, or the value loaded.
    pub slow_value: u64,
    /// The access (a `MemOp`).
    pub slow_memop: u32,
    /// The frontend's guest MMU.
    pub tlb_fill: Option<TlbFillFn>,
    /// The physical address space this CPU sees.
    pub space: *const AddressSpace,
    /// Indirect-branch inline cache.
    pub jump_cache: [JumpCacheEntry; JUMP_CACHE_ENTRIES],
    /// The soft TLB.
    pub tlb: SoftTlb,
    /// Debugger watchpoints (empty unless a debugger set some).
    pub watch: Watchpoints,
    /// Jump-cache entries filled since the last flush (see [`CpuHeader::set_jump_cache`]).
    jump_cache_used: [u64; JUMP_CACHE_ENTRIES / 64],
    /// Per soft-TLB mode, those of them whose code mapping in that mode depends on the
    /// address-space ID.
    jump_cache_local: [[u64; JUMP_CACHE_ENTRIES / 64]; NB_MMU_MODES],
    /// Bit `m`: `jump_cache_local[m]` may have a bit set. Linux changes the PID on every kernel
    /// entry and exit, and its kernel's entries are never local: scanning the mode's 8 KiB of
    /// bits each time cost 2.5 % of a process-heavy job.
    jump_cache_local_modes: u8,
    /// Which pages each bucket holds entries of.
    jump_cache_pages: PageCensus<JUMP_CACHE_BUCKETS>,
}

/// Number of jump-cache buckets.
const JUMP_CACHE_BUCKETS: usize = JUMP_CACHE_ENTRIES / JUMP_CACHE_BUCKET;

/// Whether a jump-cache entry holds a PC (all ones when empty: never a PC, being odd).
fn filled(e: &JumpCacheEntry) -> bool {
    e.vpc != u64::MAX
}

/// Empties entry `i` of `cache` if it holds a PC, and takes it out of the page census: every
/// emptying but a full flush goes through here, so the census stays exact.
fn empty_entry(cache: &mut [JumpCacheEntry], pages: &mut PageCensus<JUMP_CACHE_BUCKETS>, i: usize) {
    if filled(&cache[i]) {
        pages.remove(i / JUMP_CACHE_BUCKET, cache[i].vpc);
        cache[i].vpc = u64::MAX;
    }
}

impl CpuHeader {
    /// Initialises a header in place.
    ///
    /// # Safety
    /// `p` must be valid for writes of a `CpuHeader`; `space` must outlive the CPU.
    pub unsafe fn init_raw(p: *mut CpuHeader, space: *const AddressSpace, tlb_fill: TlbFillFn) {
        use std::ptr::addr_of_mut;
        // SAFETY: caller guarantees p is writable; every field is written once.
        unsafe {
            addr_of_mut!((*p).exit_request).write(AtomicU32::new(0));
            addr_of_mut!((*p).pending_exit).write(0);
            addr_of_mut!((*p).icount_budget).write(i64::MAX);
            addr_of_mut!((*p).pc).write(0);
            addr_of_mut!((*p).exit_insns).write(0);
            addr_of_mut!((*p).exit_code).write(0);
            addr_of_mut!((*p).exit_slot).write(0);
            addr_of_mut!((*p).slow_addr).write(0);
            addr_of_mut!((*p).slow_value).write(0);
            addr_of_mut!((*p).slow_memop).write(0);
            addr_of_mut!((*p).tlb_fill).write(Some(tlb_fill));
            addr_of_mut!((*p).space).write(space);
            for i in 0..JUMP_CACHE_ENTRIES {
                addr_of_mut!((*p).jump_cache[i]).write(JumpCacheEntry { vpc: u64::MAX, key: 0, code: 0, block: 0 });
            }
            SoftTlb::init_raw(addr_of_mut!((*p).tlb));
            addr_of_mut!((*p).watch).write(Watchpoints::default());
            addr_of_mut!((*p).jump_cache_used).write([0; JUMP_CACHE_ENTRIES / 64]);
            addr_of_mut!((*p).jump_cache_local).write([[0; JUMP_CACHE_ENTRIES / 64]; NB_MMU_MODES]);
            addr_of_mut!((*p).jump_cache_local_modes).write(0);
            addr_of_mut!((*p).jump_cache_pages).write(PageCensus::EMPTY);
        }
    }

    /// The address space.
    pub fn space(&self) -> &AddressSpace {
        // SAFETY: init_raw's contract: the space outlives the CPU.
        unsafe { &*self.space }
    }

    /// Drops the jump-cache entries of PCs in the virtual page of `vaddr` (they are all in its
    /// bucket; the bucket's entries of other pages stay).
    pub fn flush_jump_cache_page(&mut self, vaddr: u64) {
        let page = vaddr & PAGE_MASK;
        let first = jump_cache_index(page);
        let bucket = first / JUMP_CACHE_BUCKET;
        // Only the entries filled since the last flush can hold the page (Linux's TLB-miss
        // handler flushes a page on every miss: scanning the whole bucket cost more), and only
        // while the census counts some for it.
        let (cache, used, pages) = (&mut self.jump_cache, &mut self.jump_cache_used, &mut self.jump_cache_pages);
        for (w, word) in used.iter_mut().enumerate().skip(first / 64).take(JUMP_CACHE_BUCKET / 64) {
            let mut b = *word;
            while b != 0 && pages.may_hold(bucket, page) {
                let bit = b & b.wrapping_neg();
                let i = w * 64 + bit.trailing_zeros() as usize;
                if filled(&cache[i]) && cache[i].vpc & PAGE_MASK == page {
                    empty_entry(cache, pages, i);
                    *word &= !bit;
                }
                b &= b - 1;
            }
        }
    }

    /// Empties jump-cache entry `idx` (its block was dropped).
    pub fn drop_jump_cache_entry(&mut self, idx: usize) {
        empty_entry(&mut self.jump_cache, &mut self.jump_cache_pages, idx);
        self.jump_cache[idx].code = 0;
    }

    /// Fills jump-cache entry `idx` (the run loop; generated code only reads the cache).
    /// `local`: the soft-TLB mode whose mapping of the code depends on the address-space ID.
    pub fn set_jump_cache(&mut self, idx: usize, e: JumpCacheEntry, local: Option<usize>) {
        empty_entry(&mut self.jump_cache, &mut self.jump_cache_pages, idx);
        self.jump_cache_pages.add(idx / JUMP_CACHE_BUCKET, e.vpc);
        self.jump_cache[idx] = e;
        let bit = 1u64 << (idx % 64);
        self.jump_cache_used[idx / 64] |= bit;
        if let Some(m) = local {
            self.jump_cache_local_modes |= 1 << m;
        }
        for (m, bits) in self.jump_cache_local.iter_mut().enumerate() {
            if local == Some(m) {
                bits[idx / 64] |= bit;
            } else {
                bits[idx / 64] &= !bit;
            }
        }
    }

    /// The address-space ID (Book E PID) changed: drops, in the soft-TLB modes of `modes`
    /// (bit `m` for mode `m`), the translations and jump-cache entries that depend on it;
    /// global ones stay. (Linux switches the PID on every kernel entry and exit to fence off
    /// user memory: flushing everything each time made every system call start cold.)
    pub fn flush_address_space(&mut self, modes: u8) {
        self.tlb.flush_local(modes);
        let (cache, pages) = (&mut self.jump_cache, &mut self.jump_cache_pages);
        for m in (0..NB_MMU_MODES).filter(|m| modes & self.jump_cache_local_modes & (1 << m) != 0) {
            drain_bits(&mut self.jump_cache_local[m], |i| empty_entry(cache, pages, i));
        }
        self.jump_cache_local_modes &= !modes;
    }

    /// Empties the indirect-branch cache (after the guest changes translations): only the
    /// entries filled since the last flush are touched.
    pub fn flush_jump_cache(&mut self) {
        self.jump_cache_local = [[0; JUMP_CACHE_ENTRIES / 64]; NB_MMU_MODES];
        self.jump_cache_local_modes = 0;
        self.jump_cache_pages.clear();
        let cache = &mut self.jump_cache;
        drain_bits(&mut self.jump_cache_used, |i| cache[i].vpc = u64::MAX);
    }

    /// Drops all soft-TLB entries and jump-cache entries.
    pub fn flush_tlb(&mut self) {
        self.tlb.flush_all();
        self.flush_jump_cache();
    }

    /// Requests an exit from generated code (any thread may call this).
    pub fn request_exit(&self, bits: u32) {
        self.exit_request.fetch_or(bits, std::sync::atomic::Ordering::AcqRel);
    }
}

thread_local! {
    static CURRENT_CPU: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Index of the vCPU this thread is running (devices with per-CPU "this CPU" registers, such as
/// an interrupt controller, read it during MMIO accesses).
pub fn current_cpu() -> u32 {
    CURRENT_CPU.with(|c| c.get())
}

/// Records which vCPU this thread is about to run.
pub fn set_current_cpu(index: u32) {
    CURRENT_CPU.with(|c| c.set(index));
}
