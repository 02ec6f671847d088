//! The 16550A UART.

mod device;
pub mod regs;

pub use device::Uart16550;
