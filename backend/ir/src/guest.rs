//! What the run loop needs from a guest CPU. Each frontend implements this for its CPU type.

use crate::{Block, GuestDesc};
use ferrite_softmmu::CpuHeader;

/// A guest CPU as the engine drives it.
///
/// The PC of the next instruction lives in `CpuHeader::pc` while the engine is outside
/// generated code; the methods below read and write it through the header.
pub trait GuestCpu {
    /// The CPU's header: the `env` pointer generated code and helpers receive.
    fn env(&mut self) -> *mut CpuHeader;

    /// The guest architecture description (registers, helpers).
    fn desc(&self) -> &'static GuestDesc;

    /// A key for all CPU state a translation depends on (privilege, address spaces, FPU
    /// availability...). Blocks are cached per key.
    fn mode_key(&self) -> u64;

    /// The soft-TLB mode instruction fetch uses in the current state.
    fn code_mmu_idx(&self) -> usize;

    /// Translates the guest block at `vpc` for the current mode. `code` holds the bytes from
    /// `vpc` to the end of its page.
    fn translate(&self, vpc: u64, code: &[u8]) -> Block;

    /// A `raise` terminator fired at `pc`: take the guest exception.
    fn on_raise(&mut self, pc: u64, code: u64, aux: u64);

    /// A memory access, instruction fetch or helper recorded a guest exception at `pc`: take it
    /// and clear `pending_exit`.
    fn on_fault(&mut self, pc: u64);

    /// A `halt` terminator: stop until an interrupt, resuming at `pc`.
    fn on_halt(&mut self, pc: u64);

    /// Takes a pending interrupt if one is enabled. Returns whether the CPU can run (false when
    /// it is halted with nothing to wake it).
    fn poll_interrupts(&mut self) -> bool;

    /// Whether the CPU waits for an interrupt (without taking one: a debugger's single step
    /// runs with interrupts held off).
    fn halted(&self) -> bool;
}
