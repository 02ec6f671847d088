//! The reference interpreter: tier 0 of execution (cold code runs here before it is worth
//! compiling) and the oracle the JIT is tested against.
//!
//! A block is first flattened into a [`Program`] (basic blocks laid out in one array, register
//! offsets resolved, operands as slot numbers, the common opcode/type pairs specialised), which
//! then runs in a tight loop. Registers are read from and written to the CPU structure
//! immediately, so guest state is precise at every exit by construction. The meaning of each
//! pure opcode comes from [`crate::eval`] (common cases are inlined and tested against it).

mod program;
mod regs;
mod run;

pub use program::{CallSite, Op, Program, Site, Slot};
pub use run::eval_generic;
pub use regs::{direct_exit_index, direct_exit_targets, read_reg, write_reg};
pub use run::Interpreter;
