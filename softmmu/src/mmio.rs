//! The one trait every memory-mapped device implements.

use std::sync::{Arc, Mutex};

/// A device register block mapped into the guest physical address space.
///
/// Devices see *offsets* from the start of their region, never absolute addresses, and sizes
/// of 1, 2, 4 or 8 bytes. Values are in the device's own register byte order (declared when
/// the board maps it, see [`crate::AddressSpace::add_mmio`]); the bus swaps bytes when the CPU
/// accesses it in the other order. A read or write the device does not implement must be
/// answered as hardware would (usually: reads 0, writes ignored) and may be logged under the
/// `guest_errors` target; it must never panic.
pub trait MmioDevice: Send {
    /// Reads `size` bytes at `offset`.
    fn read(&mut self, offset: u64, size: u32) -> u64;
    /// Writes the low `size` bytes of `value` at `offset`.
    fn write(&mut self, offset: u64, size: u32, value: u64);
    /// Returns the device to its power-on state.
    fn reset(&mut self) {}
}

/// A device shared between the bus and the board (which also wires its interrupts).
pub type SharedDevice = Arc<Mutex<dyn MmioDevice>>;
