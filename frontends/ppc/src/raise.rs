//! Exception codes the translator puts in IR `raise` terminators (PowerPC-specific meaning of
//! the IR's opaque code), with the `aux` operand each carries.

/// Program interrupt; `aux` = ESR bits (PIL, PPR, PTR, FP).
pub const PROGRAM: u64 = 1;
/// FP unavailable; `aux` unused.
pub const FP_UNAVAILABLE: u64 = 2;
/// System call (`sc`); the interrupt's SRR0 is the next instruction.
pub const SYSCALL: u64 = 3;
/// Alignment interrupt; `aux` = effective address, plus bit 32 for a store.
pub const ALIGNMENT: u64 = 4;
/// Alignment `aux` flag: the access was a store.
pub const ALIGNMENT_STORE: u64 = 1 << 32;
