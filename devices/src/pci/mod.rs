//! Conventional PCI: configuration spaces, a bus that decodes memory and I/O cycles by BAR,
//! INTx routing, and the host bridges that connect a bus to a board.

pub mod bus;
pub mod config;
mod function;
pub mod mpc8540;

pub use bus::{devfn, DevFn, IntxRouter, PciBus, Space};
pub use config::{Bar, BarKind, BarMapping, ConfigSpace};
pub use function::PciFunction;
pub use mpc8540::{Mpc8540PciHost, PlugError};
