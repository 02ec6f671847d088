//! lswx and stswx: string moves whose length (XER[BC]) is only known at run time.

use crate::cpu::regs::PpcRegs;
use crate::excp::{esr, Interrupt};
use crate::helpers::cpu;
use crate::translate::reg_in_range;
use ferrite_softmmu::{slow_path, CpuHeader, Endian, MemOp};

fn unpack(packed: u64) -> (u32, u32, u32, u32) {
    let p = packed as u32;
    (p & 31, (p >> 8) & 31, (p >> 16) & 31, p >> 24)
}

/// lswx: `packed` = RT | RA << 8 | RB << 16 | mmu mode << 24.
/// XER[57:63]: the byte count of lswx and stswx.
const XER_BYTE_COUNT: u32 = 0x7f;

pub(crate) unsafe extern "C" fn helper_lswx(env: *mut CpuHeader, ea: u64, packed: u64, _: u64, _: u64) -> u64 {
    let (rt, ra, rb, mode) = unpack(packed);
    // SAFETY: called from PowerPC generated code.
    let c = unsafe { cpu(env) };
    let n = c.regs.xer_rest & XER_BYTE_COUNT;
    if n == 0 {
        return 0;
    }
    let nregs = n.div_ceil(4);
    if (ra != 0 && reg_in_range(rt, nregs, ra)) || reg_in_range(rt, nregs, rb) {
        c.raise_pending(Interrupt::Program { esr: esr::PIL });
        return 0;
    }
    let byte = MemOp::new(0, false, Endian::Big, mode);
    // Load everything first so that a fault leaves the registers untouched.
    let mut bytes = [0u8; 128];
    for i in 0..n as usize {
        // SAFETY: env is live.
        bytes[i] = unsafe { slow_path::load_fast(env, (ea as u32).wrapping_add(i as u32) as u64, byte) } as u8;
        // SAFETY: env is live.
        if unsafe { (*env).pending_exit } != 0 {
            return 0;
        }
    }
    // SAFETY: called from PowerPC generated code.
    let regs: &mut PpcRegs = &mut unsafe { cpu(env) }.regs;
    for r in 0..nregs as usize {
        let w = &bytes[4 * r..4 * r + 4];
        regs.gpr[(rt as usize + r) % 32] = u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
    }
    0
}

/// stswx: `packed` as for lswx (RT is RS).
pub(crate) unsafe extern "C" fn helper_stswx(env: *mut CpuHeader, ea: u64, packed: u64, _: u64, _: u64) -> u64 {
    let (rs, _, _, mode) = unpack(packed);
    // SAFETY: called from PowerPC generated code.
    let c = unsafe { cpu(env) };
    let n = c.regs.xer_rest & XER_BYTE_COUNT;
    let byte = MemOp::new(0, false, Endian::Big, mode);
    for i in 0..n {
        // SAFETY: called from PowerPC generated code.
        let r = unsafe { cpu(env) }.regs.gpr[((rs + i / 4) % 32) as usize];
        let b = (r >> (24 - 8 * (i % 4))) & 0xff;
        // SAFETY: env is live.
        unsafe { slow_path::store_fast(env, (ea as u32).wrapping_add(i) as u64, b as u64, byte) };
        // SAFETY: env is live.
        if unsafe { (*env).pending_exit } != 0 {
            return 0;
        }
    }
    0
}
