//! The memory slow path: what generated code and the interpreter call when the inline soft-TLB
//! lookup misses or the entry carries a flag.
//!
//! Every function here takes the raw CPU header because it is called from generated code. A
//! guest fault sets `pending_exit` and returns a dummy value; the caller leaves the block.

use crate::cpu::{Access, CpuHeader, EXIT_REQ_CODE_DIRTY};
use crate::fastmem;
use crate::memop::bswap_sized;
use crate::tlb::{tag_matches, tlb_index, PAGE_MASK, PAGE_SIZE, TLB_BSWAP, TLB_MMIO, TLB_NOTDIRTY, TLB_WATCH};
use crate::{Endian, MemOp};

/// Makes sure the TLB of `mode` holds a translation of `vaddr` for `access`. Returns the entry
/// index, or `None` after a guest fault (then `pending_exit` is set).
///
/// # Safety
/// `env` must point to a live, initialised CPU header.
pub unsafe fn probe(env: *mut CpuHeader, vaddr: u64, access: Access, mode: usize) -> Option<usize> {
    // SAFETY: caller guarantees env is live.
    let cpu = unsafe { &mut *env };
    let idx = tlb_index(vaddr);
    let e = &cpu.tlb.table[mode][idx];
    let tag = match access {
        Access::Read => e.addr_read,
        Access::Write => e.addr_write,
        Access::Execute => e.addr_code,
    };
    if tag_matches(tag, vaddr) {
        return Some(idx);
    }
    let fill = cpu.tlb_fill.expect("CPU without an MMU hook");
    // SAFETY: env is live; the hook belongs to this CPU's frontend.
    match unsafe { fill(env, vaddr, access, mode) } {
        Ok(f) => {
            // SAFETY: the hook may have touched the CPU, re-borrow.
            let cpu = unsafe { &mut *env };
            let space = cpu.space;
            // SAFETY: the space outlives the CPU.
            cpu.tlb.install(mode, vaddr, &f, unsafe { &*space });
            if !cpu.watch.is_empty() {
                let (r, w) = (cpu.watch.covers_page(vaddr, Access::Read), cpu.watch.covers_page(vaddr, Access::Write));
                cpu.tlb.mark_watched(mode, idx, r, w);
            }
            Some(idx)
        }
        Err(()) => {
            // SAFETY: env is live.
            unsafe { (*env).pending_exit = 1 };
            None
        }
    }
}

/// Physical address of the instruction at `vaddr` in MMU `mode`, or `None` after a guest
/// fault (an instruction TLB miss or storage interrupt the frontend recorded).
///
/// # Safety
/// `env` must point to a live, initialised CPU header.
pub unsafe fn translate_code(env: *mut CpuHeader, vaddr: u64, mode: usize) -> Option<u64> {
    // SAFETY: forwarded contract.
    let idx = unsafe { probe(env, vaddr, Access::Execute, mode) }?;
    // SAFETY: env is live.
    let cpu = unsafe { &*env };
    Some(cpu.tlb.extra[mode][idx].phys_page | (vaddr & !PAGE_MASK))
}

/// Whether an access of `size` bytes at `vaddr` spans two soft-TLB pages.
#[inline]
fn crosses_page(vaddr: u64, size: u64) -> bool {
    (vaddr & !PAGE_MASK) + size > PAGE_SIZE
}

/// Load slow path.
///
/// # Safety
/// `env` must point to a live, initialised CPU header.
pub unsafe extern "C" fn load(env: *mut CpuHeader, vaddr: u64, memop: u32) -> u64 {
    // SAFETY: forwarded contract.
    let refault = unsafe { fastmem::take_fault(&mut (*env).tlb) };
    // SAFETY: forwarded contract.
    let v = unsafe { load_access(env, vaddr, memop) };
    if refault {
        // SAFETY: forwarded contract.
        unsafe { settle_fastmem(env, vaddr, MemOp(memop), false) };
    }
    v
}

/// After the slow path redid a fastmem access that faulted: maps its page for the next time,
/// or drops the block's translations if the page can never be mapped.
///
/// # Safety
/// `env` must point to a live, initialised CPU header.
unsafe fn settle_fastmem(env: *mut CpuHeader, vaddr: u64, op: MemOp, write: bool) {
    // SAFETY: caller's contract.
    let cpu = unsafe { &mut *env };
    if cpu.pending_exit != 0 {
        return;
    }
    // SAFETY: the space outlives the CPU.
    let space = unsafe { &*cpu.space };
    let watched = !cpu.watch.is_empty();
    if fastmem::settle(&mut cpu.tlb, space, op.mmu_idx(), vaddr, op.size(), write, watched) {
        cpu.request_exit(EXIT_REQ_CODE_DIRTY);
    }
}

/// A load past the inline checks (see [`load`]).
///
/// # Safety
/// `env` must point to a live, initialised CPU header.
unsafe fn load_access(env: *mut CpuHeader, vaddr: u64, memop: u32) -> u64 {
    let op = MemOp(memop);
    let size = op.size();
    if crosses_page(vaddr, size) {
        // Byte by byte through both pages; a fault on either leaves with pending_exit.
        let byte = MemOp::new(0, false, op.endian(), op.mmu_idx() as u32);
        let mut raw = 0u64;
        for i in 0..size {
            // SAFETY: forwarded contract.
            let b = unsafe { load_access(env, vaddr.wrapping_add(i), byte.0) };
            // SAFETY: env is live.
            if unsafe { (*env).pending_exit } != 0 {
                return 0;
            }
            raw = match op.endian() {
                Endian::Big => (raw << 8) | b,
                Endian::Little => raw | (b << (8 * i)),
            };
        }
        return op.extend(raw);
    }
    let mode = op.mmu_idx();
    // SAFETY: forwarded contract.
    let Some(idx) = (unsafe { probe(env, vaddr, Access::Read, mode) }) else { return 0 };
    // SAFETY: env is live.
    let cpu = unsafe { &*env };
    let e = cpu.tlb.table[mode][idx];
    // SAFETY: env is live.
    if e.addr_read & TLB_WATCH != 0 && unsafe { watch_trips(env, vaddr, size, Access::Read) } {
        return 0;
    }
    let op = if e.addr_read & TLB_BSWAP != 0 { op.flip_endian() } else { op };
    let raw = if e.addr_read & TLB_MMIO != 0 {
        let phys = cpu.tlb.extra[mode][idx].phys_page | (vaddr & !PAGE_MASK);
        cpu.space().load(phys, op)
    } else {
        // SAFETY: the entry maps this whole page to RAM and the access does not cross it.
        unsafe { read_host(vaddr.wrapping_add(e.addend) as *const u8, size, op.endian()) }
    };
    op.extend(raw)
}

/// Store slow path.
///
/// # Safety
/// `env` must point to a live, initialised CPU header.
pub unsafe extern "C" fn store(env: *mut CpuHeader, vaddr: u64, value: u64, memop: u32) {
    // SAFETY: forwarded contract.
    let refault = unsafe { fastmem::take_fault(&mut (*env).tlb) };
    // SAFETY: forwarded contract.
    unsafe { store_access(env, vaddr, value, memop) };
    if refault {
        // SAFETY: forwarded contract.
        unsafe { settle_fastmem(env, vaddr, MemOp(memop), true) };
    }
}

/// A store past the inline checks (see [`store`]).
///
/// # Safety
/// `env` must point to a live, initialised CPU header.
unsafe fn store_access(env: *mut CpuHeader, vaddr: u64, value: u64, memop: u32) {
    let op = MemOp(memop);
    let size = op.size();
    let mode = op.mmu_idx();
    if crosses_page(vaddr, size) {
        // Check both pages first so that a fault on the second writes nothing.
        let last = vaddr.wrapping_add(size - 1);
        // SAFETY: forwarded contract.
        if unsafe { probe(env, vaddr, Access::Write, mode).is_none() || probe(env, last, Access::Write, mode).is_none() } {
            return;
        }
        let byte = MemOp::new(0, false, op.endian(), mode as u32);
        for i in 0..size {
            let shift = match op.endian() {
                Endian::Big => 8 * (size - 1 - i),
                Endian::Little => 8 * i,
            };
            // SAFETY: forwarded contract.
            unsafe { store_access(env, vaddr.wrapping_add(i), (value >> shift) & 0xff, byte.0) };
        }
        return;
    }
    // SAFETY: forwarded contract.
    let Some(idx) = (unsafe { probe(env, vaddr, Access::Write, mode) }) else { return };
    // SAFETY: env is live.
    let cpu = unsafe { &mut *env };
    let e = cpu.tlb.table[mode][idx];
    // SAFETY: env is live.
    if e.addr_write & TLB_WATCH != 0 && unsafe { watch_trips(env, vaddr, size, Access::Write) } {
        return;
    }
    // SAFETY: env is live.
    let cpu = unsafe { &mut *env };
    let phys = cpu.tlb.extra[mode][idx].phys_page | (vaddr & !PAGE_MASK);
    let op = if e.addr_write & TLB_BSWAP != 0 { op.flip_endian() } else { op };
    if e.addr_write & TLB_MMIO != 0 {
        cpu.space().store(phys, op, value);
        return;
    }
    if e.addr_write & TLB_NOTDIRTY != 0 {
        let space = cpu.space();
        if space.is_code_page(phys & PAGE_MASK) {
            // Only translations overlapping the written bytes go; the page stays protected
            // while it holds others (data next to code costs a slow store, not retranslation).
            if space.note_code_store(phys, size) {
                cpu.request_exit(EXIT_REQ_CODE_DIRTY);
            }
        } else {
            cpu.tlb.table[mode][idx].addr_write &= !TLB_NOTDIRTY;
        }
    }
    // SAFETY: the entry maps this whole page to RAM and the access does not cross it.
    unsafe { write_host(vaddr.wrapping_add(e.addend) as *mut u8, size, op.endian(), value) };
}

/// Checks an access to a watched page against the exact watchpoints; on a hit the access does
/// not happen and the block leaves as for a fault (the run loop sees the recorded hit).
///
/// # Safety
/// `env` must point to a live, initialised CPU header.
unsafe fn watch_trips(env: *mut CpuHeader, vaddr: u64, size: u64, access: Access) -> bool {
    // SAFETY: caller guarantees env is live.
    let cpu = unsafe { &mut *env };
    if cpu.watch.trips(vaddr, size, access) {
        cpu.pending_exit = 1;
        return true;
    }
    false
}

/// Reads `size` bytes at host address `p` in byte order `endian`.
///
/// # Safety
/// `p` must be valid for reads of `size` bytes.
#[inline]
pub unsafe fn read_host(p: *const u8, size: u64, endian: Endian) -> u64 {
    // SAFETY: caller guarantees validity; unaligned reads are allowed.
    let le = unsafe {
        match size {
            1 => *p as u64,
            2 => (p as *const u16).read_unaligned() as u64,
            4 => (p as *const u32).read_unaligned() as u64,
            _ => (p as *const u64).read_unaligned(),
        }
    };
    match endian {
        Endian::Little => le,
        Endian::Big => bswap_sized(le, size),
    }
}

/// Writes the low `size` bytes of `value` at host address `p` in byte order `endian`.
///
/// # Safety
/// `p` must be valid for writes of `size` bytes.
#[inline]
pub unsafe fn write_host(p: *mut u8, size: u64, endian: Endian, value: u64) {
    let v = match endian {
        Endian::Little => value,
        Endian::Big => bswap_sized(value, size),
    };
    // SAFETY: caller guarantees validity; unaligned writes are allowed.
    unsafe {
        match size {
            1 => *p = v as u8,
            2 => (p as *mut u16).write_unaligned(v as u16),
            4 => (p as *mut u32).write_unaligned(v as u32),
            _ => (p as *mut u64).write_unaligned(v),
        }
    }
}

/// Load used by the interpreter and helpers: inline TLB hit, else the slow path.
///
/// # Safety
/// `env` must point to a live, initialised CPU header.
#[inline]
pub unsafe fn load_fast(env: *mut CpuHeader, vaddr: u64, op: MemOp) -> u64 {
    // SAFETY: env is live.
    let tlb = unsafe { &(*env).tlb };
    if let Some(h) = tlb.host_addr(op.mmu_idx(), vaddr, op.size(), 0) {
        // SAFETY: a tag hit guarantees the page is RAM and the access stays inside it.
        return op.extend(unsafe { read_host(h as *const u8, op.size(), op.endian()) });
    }
    // SAFETY: forwarded contract.
    unsafe { load(env, vaddr, op.0) }
}

/// Store used by the interpreter and helpers: inline TLB hit, else the slow path.
///
/// # Safety
/// `env` must point to a live, initialised CPU header.
#[inline]
pub unsafe fn store_fast(env: *mut CpuHeader, vaddr: u64, value: u64, op: MemOp) {
    // SAFETY: env is live.
    let tlb = unsafe { &(*env).tlb };
    if let Some(h) = tlb.host_addr(op.mmu_idx(), vaddr, op.size(), 1) {
        // SAFETY: a tag hit guarantees the page is writable RAM without code.
        unsafe { write_host(h as *mut u8, op.size(), op.endian(), value) };
        return;
    }
    // SAFETY: forwarded contract.
    unsafe { store(env, vaddr, value, op.0) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlb::{NB_MMU_MODES, PAGE_BITS};
    use crate::{jump_cache_index, AddressSpace, Ram, TlbFill};
    use std::sync::Arc;

    /// Identity MMU with the top page read-only and page 0x5000 unmapped.
    unsafe fn ident(_env: *mut CpuHeader, vaddr: u64, access: Access, _mode: usize) -> Result<TlbFill, ()> {
        if vaddr & PAGE_MASK == 0x5000 {
            return Err(());
        }
        let prot = if vaddr & PAGE_MASK == 0xf000 && access == Access::Write { TlbFill::READ } else { 7 };
        if prot & 2 == 0 && access == Access::Write {
            return Err(());
        }
        Ok(TlbFill { phys: vaddr, prot, page_size: PAGE_SIZE, bswap: false, global: vaddr < 0x8000 })
    }

    fn cpu(space: &AddressSpace) -> Box<CpuHeader> {
        let mut b: Box<std::mem::MaybeUninit<CpuHeader>> = Box::new_uninit();
        // SAFETY: init_raw writes every field.
        unsafe {
            CpuHeader::init_raw(b.as_mut_ptr(), space, ident);
            b.assume_init()
        }
    }

    #[test]
    fn loads_and_stores_fill_the_tlb_and_cross_pages() {
        let space = AddressSpace::new();
        space.add_ram("ram", 0, Arc::new(Ram::new(0x10000).unwrap())).unwrap();
        let mut c = cpu(&space);
        let env: *mut CpuHeader = &mut *c;
        let be32 = MemOp::new(2, false, Endian::Big, 0);
        // SAFETY: env is live for the whole test.
        unsafe {
            store_fast(env, 0x1ffe, 0xaabbccdd, be32);
            assert_eq!(load_fast(env, 0x1ffe, be32), 0xaabbccdd);
            assert_eq!(load_fast(env, 0x2000, MemOp::new(0, false, Endian::Big, 0)), 0xcc);
            assert_eq!(load_fast(env, 0x1ffe, MemOp::new(1, true, Endian::Big, 0)), 0xffff_ffff_ffff_aabb);
            assert_eq!((*env).pending_exit, 0);
            load_fast(env, 0x5004, be32);
            assert_eq!((*env).pending_exit, 1);
            (*env).pending_exit = 0;
            // A crossing store whose second page faults writes nothing.
            store_fast(env, 0x4ffe, 0x11223344, be32);
            assert_eq!((*env).pending_exit, 1);
            (*env).pending_exit = 0;
            assert_eq!(load_fast(env, 0x4ffc, be32), 0);
        }
    }

    #[test]
    fn writes_to_code_pages_request_an_exit() {
        let space = AddressSpace::new();
        space.add_ram("ram", 0, Arc::new(Ram::new(0x10000).unwrap())).unwrap();
        let mut c = cpu(&space);
        let env: *mut CpuHeader = &mut *c;
        let be32 = MemOp::new(2, false, Endian::Big, 0);
        // SAFETY: env is live for the whole test.
        unsafe {
            store_fast(env, 0x3000, 1, be32);
            space.mark_code_page(0x3000);
            (*env).tlb.protect_code_page(0x3000);
            store_fast(env, 0x3004, 2, be32);
            assert_ne!((*env).exit_request.load(std::sync::atomic::Ordering::Relaxed) & EXIT_REQ_CODE_DIRTY, 0);
            assert_eq!(space.take_dirty_code(), vec![(0x3004, 4)]);
            assert_eq!(load_fast(env, 0x3004, be32), 2);
        }
    }

    #[test]
    fn flushes_drop_every_filled_entry_of_every_mode_and_the_jump_cache() {
        let space = AddressSpace::new();
        space.add_ram("ram", 0, Arc::new(Ram::new(0x10000).unwrap())).unwrap();
        let mut c = cpu(&space);
        let env: *mut CpuHeader = &mut *c;
        // SAFETY: env is live for the whole test.
        unsafe {
            for mode in [0u32, 3, 7] {
                for page in [0x1000u64, 0x7000, 0xe000] {
                    load_fast(env, page + 8, MemOp::new(2, false, Endian::Big, mode));
                    assert!((*env).tlb.host_addr(mode as usize, page + 8, 4, 0).is_some(), "filled");
                }
            }
            (*env).set_jump_cache(5, crate::JumpCacheEntry { vpc: 0x1000, key: 0, code: 0, block: 0 }, None);
            (*env).set_jump_cache(4095, crate::JumpCacheEntry { vpc: 0x2000, key: 0, code: 0, block: 0 }, Some(3));
            (*env).flush_tlb();
            for mode in [0usize, 3, 7] {
                for page in [0x1000u64, 0x7000, 0xe000] {
                    assert!((*env).tlb.host_addr(mode, page + 8, 4, 0).is_none(), "mode {mode} page {page:#x} flushed");
                }
            }
            assert_eq!((*env).jump_cache[5].vpc, u64::MAX);
            assert_eq!((*env).jump_cache[4095].vpc, u64::MAX);
            // Filled again after the flush, and flushed again.
            load_fast(env, 0x7008, MemOp::new(2, false, Endian::Big, 3));
            assert!((*env).tlb.host_addr(3, 0x7008, 4, 0).is_some());
            (*env).tlb.flush_mode(3);
            assert!((*env).tlb.host_addr(3, 0x7008, 4, 0).is_none());
            // An address-space change drops only what depends on it (the test MMU calls pages
            // below 0x8000 global).
            load_fast(env, 0x7008, MemOp::new(2, false, Endian::Big, 3));
            load_fast(env, 0xe008, MemOp::new(2, false, Endian::Big, 3));
            assert!(!(*env).tlb.is_local(3, 0x7008) && (*env).tlb.is_local(3, 0xe008));
            (*env).set_jump_cache(7, crate::JumpCacheEntry { vpc: 0x7000, key: 0, code: 0, block: 0 }, None);
            (*env).set_jump_cache(8, crate::JumpCacheEntry { vpc: 0xe000, key: 0, code: 0, block: 0 }, Some(3));
            (*env).set_jump_cache(9, crate::JumpCacheEntry { vpc: 0xf000, key: 0, code: 0, block: 0 }, Some(1));
            (*env).flush_address_space(1 << 1);
            assert_eq!((*env).jump_cache[9].vpc, u64::MAX, "mode 1's local entry dropped");
            assert_eq!((*env).jump_cache[8].vpc, 0xe000, "mode 3's kept");
            assert!((*env).tlb.host_addr(3, 0xe008, 4, 0).is_some(), "mode 3's kept");
            (*env).flush_address_space(0xff);
            assert!((*env).tlb.host_addr(3, 0x7008, 4, 0).is_some(), "global entry kept");
            assert!((*env).tlb.host_addr(3, 0xe008, 4, 0).is_none(), "local entry dropped");
            assert_eq!((*env).jump_cache[7].vpc, 0x7000);
            assert_eq!((*env).jump_cache[8].vpc, u64::MAX);
        }
    }

    #[test]
    fn page_flushes_drop_every_jump_cache_entry_of_the_page_whatever_came_before() {
        // Fills, overwrites, address-space flushes, dropped blocks and full flushes in random
        // order over a few pages sharing buckets: after each page flush no entry of the page
        // may stay (the page census skips the scan of pages it counts none for).
        let space = AddressSpace::new();
        let mut c = cpu(&space);
        let mut rng = 0x2545_f491_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        // Random pages, and pages in one bucket that share their census counter (page numbers
        // 2^24 apart: the counter folds the bits above the bucket's).
        let mut pages: Vec<u64> = (0..32).map(|_| (next() & 0xf_ffff) << PAGE_BITS).collect();
        pages.extend((0..8u64).map(|k| (0x123 | k << 24) << PAGE_BITS));
        let mut flushed_entries = 0;
        for _ in 0..20_000 {
            let page = pages[next() as usize % pages.len()];
            let vpc = page + (next() & 0x3ff) * 4;
            match next() % 20 {
                0..=10 => {
                    let local = (next() % 3 == 0).then_some(next() as usize % NB_MMU_MODES);
                    c.set_jump_cache(jump_cache_index(vpc), crate::JumpCacheEntry { vpc, key: 0, code: 1, block: 0 }, local);
                }
                11..=14 => {
                    let bucket = jump_cache_index(page) & !(crate::JUMP_CACHE_BUCKET - 1);
                    let before = (bucket..bucket + crate::JUMP_CACHE_BUCKET).filter(|&i| c.jump_cache[i].vpc & PAGE_MASK == page).count();
                    c.flush_jump_cache_page(page + 0x10);
                    let left = (bucket..bucket + crate::JUMP_CACHE_BUCKET).filter(|&i| c.jump_cache[i].vpc & PAGE_MASK == page).count();
                    assert_eq!(left, 0, "entries of page {page:#x} left after its flush");
                    flushed_entries += before;
                }
                15..=16 => c.flush_address_space(next() as u8),
                17..=18 => c.drop_jump_cache_entry(jump_cache_index(vpc)),
                _ => {
                    if next() % 8 == 0 {
                        c.flush_jump_cache();
                    }
                }
            }
        }
        assert!(flushed_entries > 1000, "the flushes found entries to drop ({flushed_entries})");
    }
}
