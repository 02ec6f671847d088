//! The e500mc vCPU: architected state, construction and reset, and the hooks the memory system
//! and the run loop call.

pub mod msr;
pub mod regs;
pub mod spr;
mod state;
pub mod timer;

pub use regs::PpcRegs;
pub use state::Sprs;
pub use timer::Timers;

use crate::excp::Interrupt;
use crate::mmu::BookeMmu;
use crate::translate::Mode;
use ferrite_devices::{Clock, TimerQueue};
use ferrite_softmmu::{AddressSpace, CpuHeader};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// e500mc processor version (QEMU `CPU_POWERPC_e500mc`).
pub const PVR_E500MC: u32 = 0x8023_0020;

/// External interrupt inputs of the core, set from any thread by the interrupt controller.
#[derive(Debug, Default)]
pub struct IrqInputs {
    /// Bit set of `IRQ_*` levels.
    pub levels: AtomicU32,
}

/// External input (MPIC INT).
pub const IRQ_EXTERNAL: u32 = 1 << 0;
/// Critical input (MPIC CINT).
pub const IRQ_CRITICAL: u32 = 1 << 1;
/// Machine check input.
pub const IRQ_MCHECK: u32 = 1 << 2;
/// Processor doorbell pending (msgsnd type 0).
pub const IRQ_DOORBELL: u32 = 1 << 3;
/// Critical doorbell pending (msgsnd type 1).
pub const IRQ_CRIT_DOORBELL: u32 = 1 << 4;

/// Interrupt-controller acknowledge for proxy (CoreInt) mode: vector for core `n`, if the
/// controller is in that mode.
pub type EprAck = Arc<dyn Fn(u32) -> Option<u32> + Send + Sync>;

/// One e500mc core.
///
/// `#[repr(C)]` with the header first: generated code receives a pointer to `hdr` and reaches
/// `regs` at the offsets of the register table.
#[repr(C)]
pub struct PpcCpu {
    /// Fixed-layout header shared with generated code and the soft MMU.
    pub hdr: CpuHeader,
    /// Registers generated code accesses directly.
    pub regs: PpcRegs,
    /// Other special-purpose registers.
    pub spr: Sprs,
    /// TLB0, TLB1 and the MAS registers.
    pub mmu: BookeMmu,
    /// Timebase, decrementer, FIT, watchdog.
    pub timers: Timers,
    /// Proxy-mode interrupt acknowledge: the interrupt controller's vector for core `n`, read
    /// into EPR when an external interrupt is taken (None: not in proxy mode).
    pub epr_ack: Option<EprAck>,
    /// Interrupt input levels (shared with the interrupt controller's output lines).
    pub irq: Arc<IrqInputs>,
    /// Guest exception recorded by the MMU hook or a helper, delivered when the block leaves.
    pub pending: Option<Interrupt>,
    /// Waiting for an interrupt (`wait`).
    pub halted: bool,
    /// Index of this core (its PIR).
    pub index: u32,
    /// Report exceptions (in `stopped`) and stop instead of taking them (test harnesses).
    pub stop_on_exception: bool,
    /// Conditional branches a translated block may leave through before it ends (0: every
    /// conditional branch ends its block). Blocks that continue on the fall-through path are
    /// longer and cheaper to run; deterministic mode uses 0, because its instruction budget is
    /// charged for whole blocks.
    pub side_exits: u32,
    /// Leave to the machine loop whenever a timer is armed while guest code runs, so that the
    /// host alarm follows the new deadline (real-time mode; the board sets it).
    pub timer_exits: bool,
    /// The exception that stopped the CPU when `stop_on_exception` is set.
    pub stopped: Option<crate::run::Stopped>,
    /// Cores reachable by msgsnd, this one included (set by the board; empty: only this one).
    pub peers: crate::doorbell::Peers,
}

// SAFETY: the raw pointers in the header refer to the machine's address space, which outlives
// the CPU and is itself Sync; a CPU is used by one thread at a time.
unsafe impl Send for PpcCpu {}

impl PpcCpu {
    /// A core in its reset state, seeing `space`, with timers on `clock` whose expiries are
    /// scheduled on `queue`.
    pub fn new(space: &Arc<AddressSpace>, index: u32, clock: Arc<dyn Clock>, queue: Option<&Arc<TimerQueue>>) -> Box<PpcCpu> {
        let mut b: Box<std::mem::MaybeUninit<PpcCpu>> = Box::new_uninit();
        // SAFETY: every field is initialised before assume_init; the header stays valid as long
        // as the CPU because the machine keeps `space` alive longer.
        let mut cpu = unsafe {
            let p = b.as_mut_ptr();
            CpuHeader::init_raw(std::ptr::addr_of_mut!((*p).hdr), Arc::as_ptr(space), crate::mmu_glue::tlb_fill);
            std::ptr::addr_of_mut!((*p).regs).write(PpcRegs::default());
            std::ptr::addr_of_mut!((*p).spr).write(Sprs::default());
            std::ptr::addr_of_mut!((*p).mmu).write(BookeMmu::new());
            std::ptr::addr_of_mut!((*p).timers).write(Timers::new(clock, queue));
            std::ptr::addr_of_mut!((*p).epr_ack).write(None);
            std::ptr::addr_of_mut!((*p).irq).write(Arc::new(IrqInputs::default()));
            std::ptr::addr_of_mut!((*p).pending).write(None);
            std::ptr::addr_of_mut!((*p).halted).write(false);
            std::ptr::addr_of_mut!((*p).index).write(index);
            std::ptr::addr_of_mut!((*p).stop_on_exception).write(false);
            std::ptr::addr_of_mut!((*p).side_exits).write(0);
            std::ptr::addr_of_mut!((*p).timer_exits).write(false);
            std::ptr::addr_of_mut!((*p).stopped).write(None);
            std::ptr::addr_of_mut!((*p).peers).write(Vec::new());
            b.assume_init()
        };
        cpu.reset();
        cpu
    }

    /// Power-on reset (QEMU `ppc_cpu_reset` + e500 specifics): MSR 0, all registers 0, TLBs
    /// invalid. The board then sets the boot state.
    pub fn reset(&mut self) {
        self.regs = PpcRegs { reserve_addr: regs::NO_RESERVATION, ..PpcRegs::default() };
        self.spr = Sprs { pir: self.index, ..Sprs::default() };
        self.mmu.reset();
        self.timers.reset();
        self.pending = None;
        self.halted = false;
        self.hdr.pc = 0;
        self.hdr.pending_exit = 0;
        self.hdr.flush_tlb();
    }

    /// The current PC.
    pub fn pc(&self) -> u32 {
        self.hdr.pc as u32
    }

    /// Sets the PC.
    pub fn set_pc(&mut self, pc: u32) {
        self.hdr.pc = pc as u64;
    }

    /// Writes the MSR (unimplemented bits dropped). Translation modes follow from the MSR, so
    /// nothing needs flushing.
    pub fn set_msr(&mut self, v: u32) {
        self.regs.msr = v & msr::MASK;
    }

    /// The CPU mode the current MSR and FPSCR select (part of the block-cache key).
    pub fn mode(&self) -> Mode {
        Mode::new(self.regs.msr, self.regs.fpscr)
    }

    /// Records a guest exception to deliver when the current block leaves.
    pub fn raise_pending(&mut self, intr: Interrupt) {
        self.pending = Some(intr);
        self.hdr.pending_exit = 1;
    }

    /// Whether an interrupt input is asserted.
    pub fn irq_level(&self, bit: u32) -> bool {
        self.irq.levels.load(Ordering::Acquire) & bit != 0
    }
}
