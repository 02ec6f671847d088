//! The memory slow-path thunks every block of an arena calls.

use crate::asm::{mem, Alu, Asm, RAX, RBX, RDI, RSP, W};
use crate::emit::PENDING_EXIT;
use ferrite_softmmu::slow_path;

/// Addresses of the memory slow-path thunks every block of an arena calls.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Thunks {
    /// `load`: `rsi` = address, `edx` = memop -> `rax` = value, ZF clear if a fault is pending.
    pub(crate) load: u64,
    /// `store`: `rsi` = address, `rdx` = value, `ecx` = memop -> ZF clear if a fault is pending.
    pub(crate) store: u64,
}

/// Emits the slow-path thunks (the CPU header in `rbx`, as in blocks): the softmmu's slow
/// path, then the pending-fault test, whose flags the caller branches on. One copy per arena
/// instead of one call sequence per memory access keeps blocks small. Returns the offsets of
/// the load and store thunks in `a`.
pub(crate) fn emit_thunks(a: &mut Asm) -> (usize, usize) {
    let one = |a: &mut Asm, func: u64| {
        let at = a.buf.len();
        a.mov_rr(RDI, RBX);
        // Called with rsp 16-byte aligned: the return address misaligns it.
        a.alu_ri(W::B64, Alu::Sub, RSP, 8);
        a.mov_imm(RAX, func);
        a.call_r(RAX);
        a.alu_ri(W::B64, Alu::Add, RSP, 8);
        a.alu_mi(W::B32, Alu::Cmp, mem(RBX, PENDING_EXIT), 0);
        a.ret();
        at
    };
    let load = one(a, slow_path::load as *const () as u64);
    let store = one(a, slow_path::store as *const () as u64);
    (load, store)
}
