//! The trait every function on a PCI bus implements.

use super::config::ConfigSpace;

/// One PCI function: a configuration space and the registers its BARs decode.
///
/// The bus routes configuration cycles by device/function number and memory or I/O cycles by
/// the BAR that decodes the address; the function sees a BAR index and an offset into it,
/// never a bus address. Values are little-endian, PCI's byte order.
pub trait PciFunction: Send {
    /// The configuration space.
    fn config(&self) -> &ConfigSpace;

    /// The configuration space, for writes.
    fn config_mut(&mut self) -> &mut ConfigSpace;

    /// A configuration read of `size` (1, 2, 4) bytes at `offset`.
    fn config_read(&mut self, offset: usize, size: usize) -> u32 {
        self.config().read(offset, size)
    }

    /// A configuration write. Functions override this to react to the command register or
    /// to capability fields.
    fn config_write(&mut self, offset: usize, size: usize, value: u32) {
        self.config_mut().write(offset, size, value);
    }

    /// A read of `size` bytes at `offset` in BAR `bar`.
    fn bar_read(&mut self, bar: usize, offset: u64, size: u32) -> u64;

    /// A write of the low `size` bytes of `value` at `offset` in BAR `bar`.
    fn bar_write(&mut self, bar: usize, offset: u64, size: u32, value: u64);

    /// Serves work that arrived from the host side (frames for a network card).
    fn poll(&mut self) {}

    /// Bus reset: the function returns to its power-on state.
    fn reset(&mut self) {
        self.config_mut().reset();
    }
}
