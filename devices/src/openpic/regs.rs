//! OpenPIC / Freescale MPIC register map and bits (offsets from the MPIC base).

/// Block revision register 1 (FSL): version 4.2.
pub const BRR1: u64 = 0x0000;
/// "This CPU" aliases of the per-CPU registers.
pub const THIS_CPU_START: u64 = 0x0040;
/// End of the "this CPU" aliases.
pub const THIS_CPU_END: u64 = 0x00b0;
/// Feature reporting register.
pub const FRR: u64 = 0x1000;
/// Global configuration register.
pub const GCR: u64 = 0x1020;
/// Vendor identification register.
pub const VIR: u64 = 0x1080;
/// Processor initialisation register.
pub const PIR: u64 = 0x1090;
/// IPI vector/priority registers (4, stride 0x10).
pub const IPI_IVPR0: u64 = 0x10a0;
/// Spurious vector register.
pub const SPVE: u64 = 0x10e0;
/// Timer frequency reporting register.
pub const TFRR: u64 = 0x10f0;
/// Global timers A0-A3 (stride 0x40): TCCR +0, TBCR +0x10, TVPR +0x20, TDR +0x30.
pub const TIMER0: u64 = 0x1100;
/// End of timer group A.
pub const TIMER_END: u64 = 0x1200;
/// MSI bank: MSIR0-7 at +0x00..0x70, MSISR +0x120, MSIIR +0x140.
pub const MSI_BASE: u64 = 0x1600;
/// End of the MSI bank.
pub const MSI_END: u64 = 0x1800;
/// Interrupt summary registers (read 0).
pub const SUMMARY: u64 = 0x3800;
/// End of the summary registers.
pub const SUMMARY_END: u64 = 0x4000;
/// Per-source registers (stride 0x20): IVPR +0, IDR +0x10, ILR +0x18.
pub const SRC_BASE: u64 = 0x1_0000;
/// Per-CPU register blocks (stride 0x1000).
pub const CPU_BASE: u64 = 0x2_0000;

/// Per-CPU: IPI dispatch 0-3.
pub const IPIDR0: u64 = 0x40;
/// Per-CPU: current task priority.
pub const CTPR: u64 = 0x80;
/// Per-CPU: who am I.
pub const WHOAMI: u64 = 0x90;
/// Per-CPU: interrupt acknowledge.
pub const IACK: u64 = 0xa0;
/// Per-CPU: end of interrupt.
pub const EOI: u64 = 0xb0;

/// BRR1 of FSL MPIC 4.2.
pub const BRR1_VALUE: u32 = 0x0040_0402;
/// Number of interrupt sources FRR reports (QEMU `nb_irqs`).
pub const NB_IRQS: u32 = 196;
/// FRR vendor ID field.
pub const VID: u32 = 2;

/// GCR: reset (self-clearing).
pub const GCR_RESET: u32 = 0x8000_0000;
/// GCR mode bits: 0b11 = proxy (CoreInt, EPR).
pub const GCR_MODE_PROXY: u32 = 0x6000_0000;

/// IVPR: masked.
pub const IVPR_MASK: u32 = 0x8000_0000;
/// IVPR: activity (read-only).
pub const IVPR_ACTIVITY: u32 = 0x4000_0000;
/// IVPR: distributed delivery mode.
pub const IVPR_MODE: u32 = 0x2000_0000;
/// IVPR: polarity.
pub const IVPR_POLARITY: u32 = 0x0080_0000;
/// IVPR: sense (1 = level).
pub const IVPR_SENSE: u32 = 0x0040_0000;
/// IVPR: priority field.
pub const IVPR_PRIORITY: u32 = 0x000f_0000;
/// IVPR: vector field (FSL: 16 bits).
pub const IVPR_VECTOR: u32 = 0xffff;

/// TBCR: count inhibit.
pub const TBCR_CI: u32 = 0x8000_0000;
/// TCCR: toggle bit.
pub const TCCR_TOG: u32 = 0x8000_0000;
/// Global timer clock.
pub const TIMER_HZ: u64 = 25_000_000;

/// Sources: 0-15 external, 16-255 internal (MSIs at 224-231).
pub const MAX_SRC: usize = 256;
/// IPI sources follow the real ones.
pub const IRQ_IPI0: usize = MAX_SRC;
/// IPIs.
pub const MAX_IPI: usize = 4;
/// Timer sources follow the IPIs.
pub const IRQ_TIM0: usize = IRQ_IPI0 + MAX_IPI;
/// Global timers.
pub const MAX_TMR: usize = 4;
/// All sources.
pub const MAX_IRQ: usize = IRQ_TIM0 + MAX_TMR;
/// First MSI source.
pub const IRQ_MSI: usize = 224;
/// MSI registers.
pub const MAX_MSI: usize = 8;
