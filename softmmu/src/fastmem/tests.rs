//! Fastmem against a real reservation and the real signal handler: this test's own volatile
//! accesses play the part of generated code (its code range is registered), and the memory
//! slow path plays the part of an access's redo.

use super::signal;
use crate::{slow_path, Access, AddressSpace, CpuHeader, Endian, MemOp, Ram, TlbFill, PAGE_MASK, PAGE_SIZE};
use std::sync::Arc;

/// Identity MMU with page 0x5000 unmapped; pages below 0x8000 are global.
unsafe fn ident(_env: *mut CpuHeader, vaddr: u64, _access: Access, _mode: usize) -> Result<TlbFill, ()> {
    if vaddr & PAGE_MASK == 0x5000 {
        return Err(());
    }
    Ok(TlbFill { phys: vaddr, prot: 7, page_size: PAGE_SIZE, bswap: false, global: vaddr < 0x8000 })
}

const BE32: MemOp = MemOp::new(2, false, Endian::Big, 0);

struct Rig {
    space: Arc<AddressSpace>,
    cpu: Box<CpuHeader>,
}

impl Rig {
    fn new() -> Rig {
        Rig::with_ram(0x10000)
    }

    fn with_ram(size: u64) -> Rig {
        let space = Arc::new(AddressSpace::new());
        space.add_ram("ram", 0, Arc::new(Ram::new(size).unwrap())).unwrap();
        let mut b: Box<std::mem::MaybeUninit<CpuHeader>> = Box::new_uninit();
        // SAFETY: init_raw writes every field; the space outlives the CPU (both in the rig,
        // the CPU dropped first).
        let mut cpu = unsafe {
            CpuHeader::init_raw(b.as_mut_ptr(), Arc::as_ptr(&space), ident);
            b.assume_init()
        };
        cpu.tlb.fastmem.enable(u8::MAX, 0).expect("fastmem on this host");
        // Faults of this test's code in the reservation count as fastmem faults.
        signal::register_code(1, u64::MAX - 1);
        Rig { space, cpu }
    }

    fn env(&mut self) -> *mut CpuHeader {
        &mut *self.cpu
    }

    /// Host address of guest `vaddr` in mode 0.
    fn host(&self, vaddr: u64) -> *mut u32 {
        (self.cpu.tlb.fastmem.base[0] + vaddr) as *mut u32
    }

    /// Reads through fastmem; on a fault, redoes the read through the slow path. Returns the
    /// raw host-order word and whether it faulted.
    fn read(&mut self, vaddr: u64) -> (u32, bool) {
        // SAFETY: the address lies in the reservation; a fault there is handled.
        let v = unsafe { std::ptr::read_volatile(self.host(vaddr)) };
        if self.fault() {
            let env = self.env();
            // SAFETY: env is live.
            let be = unsafe { slow_path::load(env, vaddr, BE32.0) } as u32;
            return (be.swap_bytes(), true);
        }
        (v, false)
    }

    /// Writes through fastmem as code of block `site` would; returns whether it faulted.
    fn write(&mut self, vaddr: u64, raw: u32, site: u64) -> bool {
        // SAFETY: as for `read`.
        unsafe { std::ptr::write_volatile(self.host(vaddr), raw) };
        if self.fault() {
            self.cpu.tlb.fastmem.site = site;
            let env = self.env();
            // SAFETY: env is live.
            unsafe { slow_path::store(env, vaddr, raw.swap_bytes() as u64, BE32.0) };
            return true;
        }
        false
    }

    fn fault(&self) -> bool {
        // SAFETY: written by the signal handler on this thread.
        unsafe { std::ptr::read_volatile(&self.cpu.tlb.fastmem.fault) != 0 }
    }
}

#[test]
fn pages_map_on_first_touch_and_follow_the_soft_tlb() {
    let mut r = Rig::new();
    r.space.write_ram(0x1000, &[1, 2, 3, 4]).unwrap();
    let word = u32::from_ne_bytes([1, 2, 3, 4]);
    assert_eq!(r.read(0x1000), (word, true), "first touch faults and reads through the slow path");
    assert_eq!(r.read(0x1000), (word, false), "then the RAM page is mapped");
    assert!(!r.write(0x1004, 0x0d0c0b0a, 0), "writable too");
    let mut back = [0u8; 4];
    r.space.read_ram(0x1004, &mut back).unwrap();
    assert_eq!(back, 0x0d0c0b0au32.to_ne_bytes(), "the mapping shows guest RAM itself");

    // A page that comes to hold code is write-protected: the store faults, reaches the slow
    // path (which notes the code store) and demotes the storing block's page.
    r.space.mark_code_page(0x1000);
    r.cpu.tlb.protect_code_page(0x1000);
    assert!(r.write(0x1008, 7, 0x3000));
    assert_eq!(r.space.take_dirty_code(), vec![(0x1008, 4)]);
    assert!(r.cpu.tlb.fastmem.is_demoted(0x3000));
    r.space.unmark_code_page(0x1000);

    // Flushing the page unmaps it.
    r.cpu.tlb.flush_page(0x1000);
    assert!(r.read(0x1000).1);
    assert!(!r.read(0x1000).1);

    // An address-space switch unmaps the pages that depend on it, and only those.
    assert!(r.read(0x9000).1);
    assert!(!r.read(0x9000).1);
    r.cpu.tlb.flush_local(1);
    assert!(r.read(0x9000).1, "a local page is unmapped");
    assert!(!r.read(0x1000).1, "a global page stays");

    // A full flush unmaps everything.
    r.cpu.tlb.flush_all();
    assert!(r.read(0x1000).1);
    let before = r.cpu.tlb.fastmem.stats();
    assert_eq!(before.demotions, 1);
    assert!(before.maps >= 5 && before.unmaps >= 3, "{before:?}");
}

#[test]
fn guest_faults_and_unmappable_pages_are_not_mapped() {
    let mut r = Rig::new();
    // A guest fault: the slow path records it and nothing is mapped.
    assert!(r.read(0x5000).1);
    assert_eq!(r.cpu.pending_exit, 1);
    r.cpu.pending_exit = 0;
    assert!(r.read(0x5000).1, "still unmapped");
    r.cpu.pending_exit = 0;
    // Memory that is not RAM is never mapped: the access demotes its block.
    r.cpu.tlb.fastmem.site = 0x7000;
    assert!(r.read(0x20000).1);
    assert!(r.read(0x20000).1);
    assert!(r.cpu.tlb.fastmem.is_demoted(0x7000));
    assert_eq!(r.cpu.tlb.fastmem.stats().maps, 0);
}

#[test]
fn an_address_space_switch_unmaps_many_local_pages_and_keeps_the_global_ones() {
    let mut r = Rig::with_ram(0x10_0000);
    // Two clusters of local pages (a process's text and stack, say), 96 pages in all, and a
    // global page (the kernel's).
    let local: Vec<u64> = (0x2_0000..0x5_0000).step_by(PAGE_SIZE as usize).chain((0xc_0000..0xf_0000).step_by(PAGE_SIZE as usize)).collect();
    for &v in local.iter().chain([0x1000].iter()) {
        // Each page touched by code of its own page (a single site would be demoted after
        // its 64th fault and map nothing more).
        r.cpu.tlb.fastmem.site = 0x100_0000 + v;
        assert!(r.read(v).1, "{v:#x}: first touch");
    }
    for v in [0x1000, 0x2_0000, 0xe_f000] {
        assert!(!r.read(v).1, "{v:#x}: mapped");
    }
    r.cpu.tlb.flush_local(1);
    assert!(!r.read(0x1000).1, "the global page survives the switch");
    for &v in &local {
        assert!(r.read(v).1, "{v:#x}: a local page is unmapped");
    }
}

#[test]
fn page_runs_merge_adjacent_pages() {
    let p = PAGE_SIZE;
    assert_eq!(super::page_runs(&[0, p, 2 * p, 5 * p, 7 * p, 8 * p]), vec![(0, 3 * p), (5 * p, p), (7 * p, 2 * p)]);
    assert!(super::page_runs(&[]).is_empty());
}

#[test]
fn modes_for_long_running_code_add_to_the_others() {
    let mut fm = super::Fastmem::off();
    assert_eq!(fm.modes(true), 0, "off");
    fm.enable(0b0011, 0b1100).expect("fastmem on this host");
    assert_eq!(fm.modes(false), 0b0011);
    assert_eq!(fm.modes(true), 0b1111);
}
