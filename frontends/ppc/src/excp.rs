//! Book E interrupts of the e500mc: what each saves, where it goes, and how it is delivered.
//!
//! Delivery follows QEMU 7.2 (`powerpc_excp_booke`), which Linux is known to boot on: the
//! save/restore pair of the interrupt's class receives the PC and MSR, the new MSR keeps only
//! ME, and the vector is `IVPR[0:15] | IVORn[16:27]`.

use crate::cpu::{msr, regs, PpcCpu};

/// ESR bits.
pub mod esr {
    /// Illegal instruction.
    pub const PIL: u32 = 0x0800_0000;
    /// Privileged instruction.
    pub const PPR: u32 = 0x0400_0000;
    /// Trap.
    pub const PTR: u32 = 0x0200_0000;
    /// Floating-point enabled exception.
    pub const FP: u32 = 0x0100_0000;
    /// The access was a store.
    pub const ST: u32 = 0x0080_0000;
}

/// An interrupt and the syndrome it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupt {
    /// IVOR0: critical input.
    CriticalInput,
    /// IVOR1: machine check.
    MachineCheck,
    /// IVOR2: data storage (permission) with the faulting address and ESR.
    DataStorage {
        /// Faulting address.
        dear: u32,
        /// Syndrome.
        esr: u32,
    },
    /// IVOR3: instruction storage with ESR.
    InstStorage {
        /// Syndrome.
        esr: u32,
    },
    /// IVOR4: external input (from the interrupt controller).
    External,
    /// IVOR5: alignment with the address and ESR.
    Alignment {
        /// Faulting address.
        dear: u32,
        /// Syndrome.
        esr: u32,
    },
    /// IVOR6: program with ESR (PIL, PPR, PTR, FP).
    Program {
        /// Syndrome.
        esr: u32,
    },
    /// IVOR7: FP unavailable.
    FpUnavailable,
    /// IVOR8: system call (SRR0 = next instruction).
    SystemCall,
    /// IVOR10: decrementer.
    Decrementer,
    /// IVOR11: fixed-interval timer.
    FixedInterval,
    /// IVOR12: watchdog.
    Watchdog,
    /// IVOR13: data TLB error with the address and ESR.
    DataTlb {
        /// Faulting address.
        dear: u32,
        /// Syndrome.
        esr: u32,
    },
    /// IVOR14: instruction TLB error (QEMU also sets DEAR).
    InstTlb {
        /// Faulting address.
        dear: u32,
    },
    /// IVOR15: debug.
    Debug,
    /// IVOR35: performance monitor.
    PerfMon,
    /// IVOR36: processor doorbell.
    Doorbell,
    /// IVOR37: critical doorbell.
    CritDoorbell,
}

/// Which save/restore pair and return instruction an interrupt uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// SRR0/SRR1, rfi.
    Base,
    /// CSRR0/CSRR1, rfci.
    Critical,
    /// DSRR0/DSRR1, rfdi.
    Debug,
    /// MCSRR0/MCSRR1, rfmci.
    MachineCheck,
}

impl Class {
    /// Index of the class's SRR0 in the save/restore register array (SRR1 is next).
    pub fn srr_index(self) -> u32 {
        match self {
            Class::Base => 0,
            Class::Critical => 2,
            Class::Debug => 4,
            Class::MachineCheck => 6,
        }
    }
}

impl Interrupt {
    /// The IVOR number.
    pub fn ivor(self) -> usize {
        match self {
            Interrupt::CriticalInput => 0,
            Interrupt::MachineCheck => 1,
            Interrupt::DataStorage { .. } => 2,
            Interrupt::InstStorage { .. } => 3,
            Interrupt::External => 4,
            Interrupt::Alignment { .. } => 5,
            Interrupt::Program { .. } => 6,
            Interrupt::FpUnavailable => 7,
            Interrupt::SystemCall => 8,
            Interrupt::Decrementer => 10,
            Interrupt::FixedInterval => 11,
            Interrupt::Watchdog => 12,
            Interrupt::DataTlb { .. } => 13,
            Interrupt::InstTlb { .. } => 14,
            Interrupt::Debug => 15,
            Interrupt::PerfMon => 35,
            Interrupt::Doorbell => 36,
            Interrupt::CritDoorbell => 37,
        }
    }

    /// The interrupt's class.
    pub fn class(self) -> Class {
        match self {
            Interrupt::CriticalInput | Interrupt::Watchdog | Interrupt::CritDoorbell => Class::Critical,
            Interrupt::Debug => Class::Debug,
            Interrupt::MachineCheck => Class::MachineCheck,
            _ => Class::Base,
        }
    }

    /// Short name for `-d int` logs.
    pub fn name(self) -> &'static str {
        match self {
            Interrupt::CriticalInput => "critical input",
            Interrupt::MachineCheck => "machine check",
            Interrupt::DataStorage { .. } => "data storage",
            Interrupt::InstStorage { .. } => "instruction storage",
            Interrupt::External => "external input",
            Interrupt::Alignment { .. } => "alignment",
            Interrupt::Program { .. } => "program",
            Interrupt::FpUnavailable => "fp unavailable",
            Interrupt::SystemCall => "system call",
            Interrupt::Decrementer => "decrementer",
            Interrupt::FixedInterval => "fixed-interval timer",
            Interrupt::Watchdog => "watchdog",
            Interrupt::DataTlb { .. } => "data TLB error",
            Interrupt::InstTlb { .. } => "instruction TLB error",
            Interrupt::Debug => "debug",
            Interrupt::PerfMon => "performance monitor",
            Interrupt::Doorbell => "doorbell",
            Interrupt::CritDoorbell => "critical doorbell",
        }
    }
}

impl PpcCpu {
    /// Takes interrupt `intr`; `srr0` is the address the handler returns to.
    pub fn deliver(&mut self, intr: Interrupt, srr0: u32) {
        let class = intr.class();
        let old_msr = self.regs.msr;
        let i = class.srr_index() as usize;
        self.regs.srr[i] = srr0;
        self.regs.srr[i + 1] = old_msr;
        match intr {
            Interrupt::DataStorage { dear, esr } | Interrupt::Alignment { dear, esr } | Interrupt::DataTlb { dear, esr } => {
                self.regs.dear = dear;
                self.regs.esr = esr;
            }
            Interrupt::InstStorage { esr } | Interrupt::Program { esr } => self.regs.esr = esr,
            Interrupt::InstTlb { dear } => {
                self.regs.dear = dear;
                self.regs.esr = 0;
            }
            _ => {}
        }
        self.set_msr(old_msr & msr::ME);
        let vector = (self.spr.ivpr & 0xffff_0000) | (self.spr.ivor[intr.ivor()] & 0xfff0);
        tracing::debug!(target: "int", "{} at {srr0:#010x} msr={old_msr:#010x} -> {vector:#010x} {intr:x?}", intr.name());
        self.set_pc(vector);
        self.halted = false;
        self.regs.reserve_addr = regs::NO_RESERVATION;
    }
}
