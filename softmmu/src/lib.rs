//! ferrite's software MMU.
//!
//! * [`AddressSpace`]: the guest *physical* address space of a machine: RAM regions backed by
//!   anonymous host mappings and MMIO regions served by [`MmioDevice`]s.
//! * [`SoftTlb`]: the per-CPU translation cache whose fast path generated code looks up inline
//!   (QEMU-style `{read tag, write tag, code tag, host addend}` entries).
//! * [`CpuHeader`]: the fixed-layout part of every vCPU that generated code, the interpreter
//!   and the memory slow path share (exit flags, PC at exits, the TLB, the guest MMU hook).
//! * [`slow_path`]: what happens when the inline lookup misses: ask the guest MMU (through the
//!   frontend's [`TlbFillFn`]), refill, or dispatch to a device.
//!
//! The guest MMU itself (page tables, Book E TLBs) lives in each frontend; this crate only
//! caches its answers.

mod addr;
mod bitset;
mod address_space;
mod cpu;
mod error;
pub mod fastmem;
mod memop;
mod mmio;
mod page_census;
mod ram;
pub mod slow_path;
mod tlb;
mod watch;

pub use addr::{GuestPhys, GuestVirt};
pub use address_space::{code_line_mask, AddressSpace, RegionInfo, RegionKind};
pub use cpu::{
    current_cpu, jump_cache_index, set_current_cpu, Access, CpuHeader, JumpCacheEntry, TlbFill, TlbFillFn, EXIT_REQ_CODE_DIRTY, EXIT_REQ_CODE_READY, EXIT_REQ_EXTERNAL, EXIT_REQ_INTERRUPT,
    EXIT_REQ_STOP, JUMP_CACHE_BUCKET, JUMP_CACHE_ENTRIES,
};
pub use error::{Error, Result};
pub use memop::{Endian, MemOp};
pub use mmio::{MmioDevice, SharedDevice};
pub use ram::Ram;
pub use watch::{WatchHit, WatchKind, Watchpoint, Watchpoints};
pub use tlb::{
    SoftTlb, TlbEntry, TlbExtra, NB_MMU_MODES, PAGE_BITS, PAGE_MASK, PAGE_SIZE, TLB_BITS, TLB_BSWAP,
    TLB_ENTRIES, TLB_INVALID, TLB_MMIO, TLB_NOTDIRTY, TLB_WATCH,
};
