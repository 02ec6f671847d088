//! Register access helpers and exit numbering shared by the interpreter and its users.

use crate::block::{Block, RegInfo};
use crate::opcodes::Opcode;
use ferrite_softmmu::CpuHeader;


/// Reads a register field of the CPU structure.
///
/// # Safety
/// `env` must point to a CPU structure the register table describes.
#[inline]
pub unsafe fn read_reg(env: *mut CpuHeader, r: &RegInfo) -> u64 {
    // SAFETY: the frontend's register table gives in-bounds, aligned offsets.
    unsafe {
        let p = (env as *mut u8).add(r.offset as usize);
        match r.ty.bytes() {
            1 => *p as u64,
            2 => *(p as *const u16) as u64,
            4 => *(p as *const u32) as u64,
            _ => *(p as *const u64),
        }
    }
}

/// Writes a register field of the CPU structure.
///
/// # Safety
/// `env` must point to a CPU structure the register table describes.
#[inline]
pub unsafe fn write_reg(env: *mut CpuHeader, r: &RegInfo, v: u64) {
    // SAFETY: the frontend's register table gives in-bounds, aligned offsets.
    unsafe {
        let p = (env as *mut u8).add(r.offset as usize);
        match r.ty.bytes() {
            1 => *p = v as u8,
            2 => *(p as *mut u16) = v as u16,
            4 => *(p as *mut u32) = v as u32,
            _ => *(p as *mut u64) = v,
        }
    }
}

/// The index of direct exit `inst` among the block's direct exits, in instruction order (the
/// JIT numbers link slots the same way).
pub fn direct_exit_index(block: &Block, inst: u32) -> u32 {
    block.insts[..inst as usize].iter().filter(|i| i.op == Opcode::ExitDirect).count() as u32
}

/// Direct exit targets of a block in link-slot order.
pub fn direct_exit_targets(block: &Block) -> Vec<u64> {
    block.insts.iter().filter(|i| i.op == Opcode::ExitDirect).map(|i| i.imm).collect()
}
