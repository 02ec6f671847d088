//! The OpenPIC / Freescale MPIC interrupt controller.

mod device;
pub mod regs;
#[cfg(test)]
mod tests;

pub use device::OpenPic;
