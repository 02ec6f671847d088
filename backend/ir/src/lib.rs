//! ferrite's guest-neutral intermediate representation.
//!
//! * [`opcodes`]: the opcode table, the single source of truth for what the IR can say.
//! * [`Block`], [`Inst`], [`Value`]: SSA values within basic blocks, locals across them, guest
//!   registers by index into the frontend's [`GuestDesc`].
//! * [`Builder`]: how frontends emit IR.
//! * [`verify`], [`print_block`]: the rules and the text form.
//! * [`opt`]: passes; [`interp`]: the reference interpreter; [`eval`]: the meaning of each pure
//!   opcode, shared by the interpreter and the constant folder.
//!
//! Nothing here is specific to one guest architecture: PowerPC and AArch64 lower to the same
//! opcodes (see `docs/ir.md`).

mod block;
mod builder;
pub mod eval;
pub mod exit;
mod guest;
pub mod interp;
pub mod opcodes;
pub mod opt;
mod printer;
pub mod region;
mod types;
mod verifier;

pub use block::{BasicBlock, BbId, Block, GuestDesc, HelperFn, HelperInfo, Inst, Local, Reg, RegInfo, RegSet, Value};
pub use builder::Builder;
pub use exit::Exit;
pub use guest::GuestCpu;
pub use opcodes::{FloatCC, IntCC, Opcode};
pub use printer::{print_block, write_block, write_inst};
pub use types::Type;
pub use verifier::{verify, VerifyError};
pub mod testing;

#[cfg(test)]
mod tests;
