//! mfspr/mtspr of SPRs kept outside the IR registers (see `cpu::spr` for the table).

use crate::cpu::spr;
use crate::cpu::PpcCpu;
use crate::helpers::cpu;
use crate::mmu_glue;
use crate::translate::SUPERVISOR_MMU_MODES;
use ferrite_softmmu::CpuHeader;

/// L1CSR0/1 bits that read back as 0 (flash invalidate, lock clear): Linux polls them.
const L1CSR_SELF_CLEARING: u32 = 0x0000_0102 | 0x0000_0004 | 0x0000_0200;

impl PpcCpu {
    /// Reads a state SPR (the caller checked access rights).
    pub fn read_spr(&mut self, num: u32) -> u32 {
        match num {
            22 => self.timers_read_dec(),
            48 => self.mmu.pid[0],
            63 => self.spr.ivpr,
            268 => self.timebase() as u32,
            269 => (self.timebase() >> 32) as u32,
            286 => self.spr.pir,
            287 => self.spr.pvr,
            304 => self.spr.dbsr,
            308..=310 => self.spr.dbcr[(num - 308) as usize],
            312 | 313 => self.spr.iac[(num - 312) as usize],
            316 | 317 => self.spr.dac[(num - 316) as usize],
            336 => self.timers_tsr(),
            340 => self.timers_tcr(),
            400..=415 => self.spr.ivor[(num - 400) as usize],
            515 | 516 => L1CFG,
            528..=533 => self.spr.ivor[(num - 528 + 32) as usize],
            569 => self.spr.mcaru,
            572 => self.spr.mcsr,
            573 => self.spr.mcar,
            624..=628 | 630 | 944 | 688 | 689 | 1012 | 1015 => self.mmu.read_spr(num),
            633 | 634 => self.mmu.pid[(num - 632) as usize],
            702 => self.spr.epr,
            1008 | 1009 => self.spr.hid[(num - 1008) as usize],
            1010 | 1011 => self.spr.l1csr[(num - 1010) as usize],
            1017 => self.spr.l2csr0,
            _ => {
                tracing::warn!(target: "unimp", "mfspr of unhandled state SPR {num}");
                0
            }
        }
    }

    /// The soft-TLB modes whose PID-dependent translations a write of `v` to PID`i` makes
    /// stale (QEMU flushes everything). Linux's kernel-user access protection sets PID0 to 0
    /// on every kernel entry and back on exit: user-mode translations made under PID N cannot
    /// be used in the kernel and still hold when PID N comes back, so only a change to another
    /// non-zero PID drops them; kernel-mode ones made under PID N are dropped whenever it
    /// changes (with PID 0 the kernel must fault on user addresses).
    fn pid_change_modes(&mut self, i: usize, v: u32) -> u8 {
        if i == 0 && (v == 0 || v == self.mmu.user_pid) {
            return SUPERVISOR_MMU_MODES;
        }
        if i == 0 {
            self.mmu.user_pid = v;
        }
        u8::MAX
    }

    /// Writes a state SPR (the caller checked access rights).
    pub fn write_spr(&mut self, num: u32, v: u32) {
        match num {
            22 => self.timers_write_dec(v),
            48 | 633 | 634 => {
                let i = if num == 48 { 0 } else { (num - 632) as usize };
                if self.mmu.pid[i] != v {
                    self.mmu.pid[i] = v;
                    let modes = self.pid_change_modes(i, v);
                    self.hdr.flush_address_space(modes);
                }
            }
            54 => self.timers_write_decar(v),
            63 => self.spr.ivpr = v & 0xffff_0000,
            284 => self.timers_write_tb(false, v),
            285 => self.timers_write_tb(true, v),
            304 => self.spr.dbsr &= !v,
            308..=310 => self.spr.dbcr[(num - 308) as usize] = v,
            312 | 313 => self.spr.iac[(num - 312) as usize] = v,
            316 | 317 => self.spr.dac[(num - 316) as usize] = v,
            336 => self.timers_write_tsr(v),
            340 => self.timers_write_tcr(v),
            400..=415 => self.spr.ivor[(num - 400) as usize] = v & 0xffff,
            528..=533 => self.spr.ivor[(num - 528 + 32) as usize] = v & 0xffff,
            569 => self.spr.mcaru = v,
            572 => self.spr.mcsr &= !v,
            573 => self.spr.mcar = v,
            624..=628 | 630 | 944 => self.mmu.write_spr(num, v),
            1012 => {
                let effect = self.mmu.write_mmucsr0(v);
                mmu_glue::apply_effect(self, effect);
            }
            1008 | 1009 => self.spr.hid[(num - 1008) as usize] = v,
            1010 | 1011 => self.spr.l1csr[(num - 1010) as usize] = v & !L1CSR_SELF_CLEARING,
            1017 => self.spr.l2csr0 = v & !0x0020_0000,
            _ => tracing::warn!(target: "unimp", "mtspr of unhandled state SPR {num} = {v:#x}"),
        }
    }
}

/// L1CFG0/1: 32 KiB, 8-way, 64-byte lines (as Linux expects of an e500mc).
const L1CFG: u32 = 0x0b83_8020;

/// mfspr of a state SPR.
pub(crate) unsafe extern "C" fn helper_mfspr(env: *mut CpuHeader, num: u64, _: u64, _: u64, _: u64) -> u64 {
    debug_assert!(spr::lookup(num as u32).is_some());
    // SAFETY: called from PowerPC generated code.
    unsafe { cpu(env) }.read_spr(num as u32) as u64
}

/// mtspr of a state SPR.
pub(crate) unsafe extern "C" fn helper_mtspr(env: *mut CpuHeader, num: u64, v: u64, _: u64, _: u64) -> u64 {
    // SAFETY: called from PowerPC generated code.
    unsafe { cpu(env) }.write_spr(num as u32, v as u32);
    0
}
