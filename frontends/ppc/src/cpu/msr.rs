//! Machine State Register bits of the e500mc (32-bit Book E), as masks.

/// Guest state (E.HV; not implemented, kept for masking).
pub const GS: u32 = 0x1000_0000;
/// User cache locking enable.
pub const UCLE: u32 = 0x0400_0000;
/// Critical interrupt enable.
pub const CE: u32 = 0x0002_0000;
/// External interrupt enable.
pub const EE: u32 = 0x0000_8000;
/// Problem state (user mode).
pub const PR: u32 = 0x0000_4000;
/// Floating point available.
pub const FP: u32 = 0x0000_2000;
/// Machine check enable.
pub const ME: u32 = 0x0000_1000;
/// FP exception mode 0.
pub const FE0: u32 = 0x0000_0800;
/// Debug interrupt enable.
pub const DE: u32 = 0x0000_0200;
/// FP exception mode 1.
pub const FE1: u32 = 0x0000_0100;
/// Instruction address space.
pub const IS: u32 = 0x0000_0020;
/// Data address space.
pub const DS: u32 = 0x0000_0010;
/// Performance monitor mark.
pub const PMM: u32 = 0x0000_0004;
/// Recoverable interrupt.
pub const RI: u32 = 0x0000_0002;

/// Bits an e500mc implements; writes of others are dropped (QEMU's msr_mask).
pub const MASK: u32 = GS | UCLE | CE | EE | PR | FP | ME | FE0 | DE | FE1 | IS | DS | PMM | RI;
