//! Glue between the Book E MMU model and the soft MMU: the TLB-fill hook and the TLB
//! management instruction helpers, which also drop soft-TLB entries made stale.

use crate::cpu::PpcCpu;
use crate::excp::{esr, Interrupt};
use crate::helpers::cpu;
use crate::mmu::{Fault, TlbEffect};
use ferrite_softmmu::{Access, CpuHeader, TlbFill};

/// The soft MMU's hook: translate `vaddr` for `access` in soft-TLB mode `mode`
/// (privilege × address space, see `Mode::data_mmu_idx`).
///
/// # Safety
/// `env` must be the header of a live `PpcCpu`.
pub unsafe fn tlb_fill(env: *mut CpuHeader, vaddr: u64, access: Access, mode: usize) -> Result<TlbFill, ()> {
    // SAFETY: the hook is only installed on PpcCpu headers.
    let cpu = unsafe { cpu(env) };
    let pr = mode & 2 != 0;
    let space = mode & 1 != 0;
    let ea = vaddr as u32;
    match cpu.mmu.translate(ea, space, pr, access) {
        Ok(t) => Ok(TlbFill { phys: t.phys, prot: t.prot, page_size: t.page_size, bswap: t.little_endian(), global: t.global }),
        Err(fault) => {
            let intr = fault_interrupt(cpu, fault, ea, space, access);
            cpu.raise_pending(intr);
            Err(())
        }
    }
}

/// The interrupt a translation fault causes, with the MAS preload of TLB misses.
fn fault_interrupt(cpu: &mut PpcCpu, fault: Fault, ea: u32, space: bool, access: Access) -> Interrupt {
    let store = access == Access::Write;
    let st = if store { esr::ST } else { 0 };
    match (fault, access) {
        (Fault::Miss, Access::Execute) => {
            cpu.mmu.tlb_miss_preload(ea, space, false);
            Interrupt::InstTlb { dear: ea }
        }
        (Fault::Miss, _) => {
            cpu.mmu.tlb_miss_preload(ea, space, store);
            Interrupt::DataTlb { dear: ea, esr: st }
        }
        (Fault::Protection, Access::Execute) => Interrupt::InstStorage { esr: 0 },
        (Fault::Protection, _) => Interrupt::DataStorage { dear: ea, esr: st },
    }
}

/// Applies what a TLB instruction made stale to the soft TLB and the jump cache.
fn apply(cpu: &mut PpcCpu, effect: TlbEffect) {
    match effect {
        TlbEffect::None => {}
        TlbEffect::Pages(pages) => {
            for p in pages {
                cpu.hdr.tlb.flush_page(p as u64);
                cpu.hdr.flush_jump_cache_page(p as u64);
            }
        }
        TlbEffect::Local => cpu.hdr.flush_address_space(0xff),
        TlbEffect::All => cpu.hdr.flush_tlb(),
    }
}

/// tlbwe.
pub(crate) unsafe extern "C" fn helper_tlbwe(env: *mut CpuHeader, _: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: called from PowerPC generated code.
    let cpu = unsafe { cpu(env) };
    match cpu.mmu.tlbwe() {
        Ok(effect) => apply(cpu, effect),
        Err(_) => cpu.raise_pending(Interrupt::Program { esr: esr::PIL }),
    }
    0
}

/// tlbre.
pub(crate) unsafe extern "C" fn helper_tlbre(env: *mut CpuHeader, _: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: called from PowerPC generated code.
    unsafe { cpu(env) }.mmu.tlbre();
    0
}

/// tlbsx with the effective address in `ea`.
pub(crate) unsafe extern "C" fn helper_tlbsx(env: *mut CpuHeader, ea: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: called from PowerPC generated code.
    unsafe { cpu(env) }.mmu.tlbsx(ea as u32);
    0
}

/// tlbivax with the effective address in `ea`.
pub(crate) unsafe extern "C" fn helper_tlbivax(env: *mut CpuHeader, ea: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: called from PowerPC generated code.
    let cpu = unsafe { cpu(env) };
    let effect = cpu.mmu.tlbivax(ea as u32);
    apply(cpu, effect);
    0
}

/// tlbilx with type `t` and effective address `ea`.
pub(crate) unsafe extern "C" fn helper_tlbilx(env: *mut CpuHeader, t: u64, ea: u64, _: u64, _: u64) -> u64 {
    // SAFETY: called from PowerPC generated code.
    let cpu = unsafe { cpu(env) };
    let effect = cpu.mmu.tlbilx(t as u32, ea as u32);
    apply(cpu, effect);
    0
}

/// Applies a TLB effect from other CPU code (MMUCSR0, PID writes).
pub(crate) fn apply_effect(cpu: &mut PpcCpu, effect: TlbEffect) {
    apply(cpu, effect)
}
