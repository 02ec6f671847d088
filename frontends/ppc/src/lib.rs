//! PowerPC e500mc frontend: CPU state, decoder, IR translator, helpers, Book E MMU, FPU,
//! interrupts and timers.
//!
//! * [`cpu`]: the vCPU structure (registers generated code reaches by offset, SPRs, timers).
//! * [`decode`]: the decoder generated from `decode/ppc32.decode`.
//! * [`translate`]: PowerPC to IR, one file per Power ISA chapter.
//! * [`mmu`]: TLB0/TLB1 and translation; [`fpu`]: the exact FPU model; [`excp`]: interrupts.
//! * [`run`]: the CPU as the execution engine drives it ([`ferrite_ir::GuestCpu`]).

pub mod cpu;
pub mod decode;
mod doorbell;
pub mod excp;
mod fp_helpers;
pub mod fpu;
pub mod helpers;
pub mod mmu;
mod mmu_glue;
pub mod raise;
pub mod run;
mod spr_ops;
mod string_ops;
pub mod translate;

pub use cpu::PpcCpu;

/// The PowerPC guest as the IR sees it.
pub static DESC: ferrite_ir::GuestDesc =
    ferrite_ir::GuestDesc { name: "ppc", regs: &cpu::regs::REGS, helpers: helpers::HELPERS };
