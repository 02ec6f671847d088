//! virtio 1.x: split virtqueues, a transport-independent device trait, the PCI (modern) and
//! MMIO (version 2) transports, and the block, network, console and entropy devices.
//!
//! A device ([`VirtioDevice`]) knows its queues and configuration layout and processes
//! chains; a [`VirtioCore`] holds the state every transport shares (status, feature
//! negotiation, queues, interrupt status) and turns a malformed queue into
//! `DEVICE_NEEDS_RESET`; a transport maps that state onto registers.

pub mod blk;
pub mod console;
mod core;
mod device;
pub mod mmio;
pub mod net;
pub mod pci;
pub mod queue;
pub mod rng;
#[cfg(test)]
mod testing;

pub use self::core::VirtioCore;
pub use blk::VirtioBlk;
pub use console::{ConsoleInput, VirtioConsole};
pub use device::VirtioDevice;
pub use mmio::VirtioMmio;
pub use net::VirtioNet;
pub use pci::VirtioPci;
pub use queue::{Chain, Queue, QueueError, Segment};
pub use rng::VirtioRng;

/// Device status: the guest has noticed the device.
pub const STATUS_ACKNOWLEDGE: u8 = 1;
/// Device status: the guest has a driver for it.
pub const STATUS_DRIVER: u8 = 2;
/// Device status: the driver is ready.
pub const STATUS_DRIVER_OK: u8 = 4;
/// Device status: feature negotiation is complete.
pub const STATUS_FEATURES_OK: u8 = 8;
/// Device status: the device hit an error and must be reset.
pub const STATUS_NEEDS_RESET: u8 = 0x40;
/// Device status: the driver gave up.
pub const STATUS_FAILED: u8 = 0x80;

/// Feature: indirect descriptors.
pub const F_RING_INDIRECT_DESC: u64 = 1 << 28;
/// Feature: event-index notification suppression.
pub const F_RING_EVENT_IDX: u64 = 1 << 29;
/// Feature: virtio 1.0 or later (no legacy interface).
pub const F_VERSION_1: u64 = 1 << 32;

/// Interrupt status: a used ring was updated.
pub const ISR_QUEUE: u8 = 1;
/// Interrupt status: the configuration (or the device status) changed.
pub const ISR_CONFIG: u8 = 2;

/// Device type: network card.
pub const DEVICE_NET: u32 = 1;
/// Device type: block device.
pub const DEVICE_BLOCK: u32 = 2;
/// Device type: console.
pub const DEVICE_CONSOLE: u32 = 3;
/// Device type: entropy source.
pub const DEVICE_RNG: u32 = 4;
