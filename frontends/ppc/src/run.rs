//! The e500mc as the run loop sees it: translation entry, exception delivery for block exits,
//! and interrupt polling between blocks.

use crate::cpu::{msr, PpcCpu, IRQ_CRITICAL, IRQ_CRIT_DOORBELL, IRQ_DOORBELL, IRQ_EXTERNAL, IRQ_MCHECK};
use crate::excp::{esr, Interrupt};
use crate::raise;
use crate::translate::{translate_block, MAX_BLOCK_INSNS};
use ferrite_ir::{Block, GuestCpu, GuestDesc};
use ferrite_softmmu::{CpuHeader, EXIT_REQ_STOP};

/// What stopped a CPU that reports exceptions instead of taking them (test harnesses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped {
    /// The exception.
    pub intr: Interrupt,
    /// PC of the instruction that caused it.
    pub pc: u32,
}

impl PpcCpu {
    /// Takes `intr` at `pc` (the address SRR0 gets), or reports it when the CPU is set to stop
    /// on exceptions.
    fn take(&mut self, intr: Interrupt, srr0: u32, pc: u32) {
        if self.stop_on_exception {
            self.stopped = Some(Stopped { intr, pc });
            self.set_pc(pc);
            self.hdr.request_exit(EXIT_REQ_STOP);
            return;
        }
        self.deliver(intr, srr0);
    }

    /// The highest-priority interrupt that is pending and enabled, in QEMU's order: machine
    /// check, external, critical, watchdog, critical doorbell, FIT, decrementer, doorbell.
    /// (QEMU gates the watchdog and the critical doorbell on MSR[EE].)
    fn enabled_interrupt(&mut self) -> Option<Interrupt> {
        self.next_interrupt(true)
    }

    /// As [`Self::enabled_interrupt`]; `take`: consume the edge-like input (doorbell) found.
    fn next_interrupt(&mut self, take: bool) -> Option<Interrupt> {
        let m = self.regs.msr;
        let ee = m & msr::EE != 0;
        if self.irq_level(IRQ_MCHECK) && m & msr::ME != 0 {
            return Some(Interrupt::MachineCheck);
        }
        if self.irq_level(IRQ_EXTERNAL) && ee {
            return Some(Interrupt::External);
        }
        if self.irq_level(IRQ_CRITICAL) && m & msr::CE != 0 {
            return Some(Interrupt::CriticalInput);
        }
        if !ee {
            return None;
        }
        let (wdt, fit, dec) = self.timer_status();
        if wdt {
            return Some(Interrupt::Watchdog);
        }
        if self.level(IRQ_CRIT_DOORBELL, take) {
            return Some(Interrupt::CritDoorbell);
        }
        if fit {
            return Some(Interrupt::FixedInterval);
        }
        if dec {
            return Some(Interrupt::Decrementer);
        }
        if self.level(IRQ_DOORBELL, take) {
            return Some(Interrupt::Doorbell);
        }
        None
    }

    /// Whether input `bit` is set, consuming it with `take` (see [`Self::take_level`]).
    fn level(&mut self, bit: u32, take: bool) -> bool {
        if take {
            self.take_level(bit)
        } else {
            self.irq_level(bit)
        }
    }

    /// Clears an edge-like input (doorbells are consumed when delivered); returns whether it
    /// was set.
    fn take_level(&mut self, bit: u32) -> bool {
        use std::sync::atomic::Ordering;
        // A plain load first: this runs after every block, and the bit is almost never set.
        self.irq.levels.load(Ordering::Acquire) & bit != 0 && self.irq.levels.fetch_and(!bit, Ordering::AcqRel) & bit != 0
    }
}

impl GuestCpu for PpcCpu {
    fn env(&mut self) -> *mut CpuHeader {
        &mut self.hdr
    }

    fn desc(&self) -> &'static GuestDesc {
        &crate::DESC
    }

    fn mode_key(&self) -> u64 {
        self.mode().0
    }

    fn code_mmu_idx(&self) -> usize {
        self.mode().code_mmu_idx()
    }

    fn translate(&self, vpc: u64, code: &[u8]) -> Block {
        let block = translate_block(self.mode(), vpc, code, MAX_BLOCK_INSNS, self.side_exits);
        if tracing::enabled!(target: "in_asm", tracing::Level::TRACE) {
            let mut text = format!("IN: {vpc:#010x}\n");
            for (i, w) in code.chunks_exact(4).take(block.n_insns as usize).enumerate() {
                let w = u32::from_be_bytes(w.try_into().expect("4 bytes"));
                let name = crate::decode::mnemonic(w).map_or_else(|| "(illegal)".to_string(), |m| m.to_ascii_lowercase());
                text += &format!("{:#010x}:  {w:08x}  {name}\n", vpc + 4 * i as u64);
            }
            tracing::trace!(target: "in_asm", "{text}");
        }
        block
    }

    fn on_raise(&mut self, pc: u64, code: u64, aux: u64) {
        let pc = pc as u32;
        match code {
            raise::PROGRAM => self.take(Interrupt::Program { esr: aux as u32 }, pc, pc),
            raise::FP_UNAVAILABLE => self.take(Interrupt::FpUnavailable, pc, pc),
            raise::SYSCALL => self.take(Interrupt::SystemCall, pc.wrapping_add(4), pc),
            raise::ALIGNMENT => {
                let st = if aux & raise::ALIGNMENT_STORE != 0 { esr::ST } else { 0 };
                self.take(Interrupt::Alignment { dear: aux as u32, esr: st }, pc, pc)
            }
            _ => unreachable!("unknown PowerPC raise code {code}"),
        }
    }

    fn on_fault(&mut self, pc: u64) {
        self.hdr.pending_exit = 0;
        let Some(intr) = self.pending.take() else {
            tracing::error!(target: "guest_errors", "fault exit at {pc:#x} without a recorded exception");
            return;
        };
        self.take(intr, pc as u32, pc as u32);
    }

    fn on_halt(&mut self, pc: u64) {
        self.hdr.pc = pc;
        self.halted = true;
    }

    fn poll_interrupts(&mut self) -> bool {
        if let Some(intr) = self.enabled_interrupt() {
            if intr == Interrupt::External {
                self.acknowledge_external();
            }
            let pc = self.pc();
            self.deliver(intr, pc);
        }
        !self.halted
    }

    fn halted(&self) -> bool {
        self.halted
    }
}

/// `irq_check() -> i32`: 1 if an interrupt is pending and enabled (it would be taken before the
/// next instruction), else 0; nothing is consumed. Blocks call it after enabling MSR[EE].
pub(crate) unsafe extern "C" fn helper_irq_check(env: *mut CpuHeader, _: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: called from PowerPC generated code.
    let cpu = unsafe { crate::helpers::cpu(env) };
    cpu.next_interrupt(false).is_some() as u64
}
