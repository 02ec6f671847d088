//! Board-independent emulated devices and the plumbing they share.
//!
//! * Every device implements [`ferrite_softmmu::MmioDevice`]: reads and writes at an offset in
//!   its own register block, in its own byte order; the board maps it.
//! * Interrupt outputs are [`IrqLine`]s the board wires to an [`IrqSink`].
//! * Timers read virtual time from a [`Clock`] and schedule expiries on the machine's
//!   [`TimerQueue`].
//! * Host I/O goes through an injected [`CharBackend`], [`block::BlockBackend`] or
//!   [`net::NetBackend`].
//! * DMA-capable devices reach guest RAM through [`GuestMemory`], which refuses anything
//!   outside RAM.

mod chardev;
mod clock;
mod dma;
pub mod block;
pub mod ds1338;
pub mod guts;
pub mod i2c;
pub(crate) mod irq;
pub mod mpc8xxx_gpio;
pub mod net;
pub mod openpic;
pub mod pci;
pub mod uart16550;
pub mod virtio;

pub use chardev::{BufferBackend, CharBackend, NullBackend};
pub use dma::{DmaError, GuestMemory, SpaceMemory};
pub use clock::{Clock, ManualClock, TimerCallback, TimerHandle, TimerQueue};
pub use ds1338::Ds1338;
pub use guts::Guts;
pub use i2c::{mpc::MpcI2c, I2cBus, I2cTarget};
pub use irq::{IrqLine, IrqSink};
pub use mpc8xxx_gpio::Mpc8xxxGpio;
pub use openpic::OpenPic;
pub use uart16550::Uart16550;
