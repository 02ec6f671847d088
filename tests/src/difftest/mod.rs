//! Differential testing of the PowerPC user-level ISA against QEMU's `qemu-ppc -cpu e500mc`.
//!
//! A seeded generator ([`gen`]) produces short instruction sequences with random register,
//! CR/XER/FPSCR and memory state. The same machine code (a prologue that loads the state from
//! a block at 0x4000 with absolute addressing, the sequence, an epilogue that stores it at
//! 0x4200) runs on qemu-ppc through a small C harness ([`qemu`]) and on ferrite ([`ferrite`]);
//! every GPR, FPR, CR, XER, LR, CTR, FPSCR, the trap (if any) and the scratch memory are
//! compared. Golden digests of QEMU's results are committed ([`golden`]) so `cargo test` needs
//! no QEMU.

pub mod encode;
pub mod ferrite;
pub mod gen;
pub mod golden;
pub mod qemu;
pub mod rng;
pub mod state;
pub mod sweep;

pub use gen::Case;
pub use state::{Outcome, Trap, UserState};

/// Something that runs cases.
pub trait Runner {
    /// Runs every case, in order.
    fn run_batch(&mut self, cases: &[Case]) -> anyhow::Result<Vec<Outcome>>;
}
