//! The classic PowerPC FPU, exactly as QEMU 7.2 implements it for e500mc: an exact soft-float
//! core ([`soft`]), the FPSCR rules ([`fpscr`]), and each instruction's semantics ([`ops`]).
//! The translator calls these through helpers; they know nothing of the emulator.

pub mod fast;
pub mod fpscr;
pub mod ops;
pub mod soft;
#[cfg(test)]
mod tests;

pub use ops::{ArithOp, FpOutcome};
