//! Running cases on ferrite: one machine and engine reused for every case, the CPU in user
//! mode with FP exceptions enabled (as qemu-ppc user mode behaves), stopping at the first
//! exception or at the `sc` the epilogue returns to.

use super::gen::{body_start, Case};
use super::state::{Outcome, Trap, UserState, BLOCK, CODE_BASE, IN_OFF, MEM_SIZE, OUT_OFF, SCRATCH};
use super::Runner;
use ferrite_devices::ManualClock;
use ferrite_exec::{Engine, EngineConfig, Stop};
use ferrite_ppc::cpu::{msr, PpcCpu};
use ferrite_ppc::excp::{esr, Interrupt};
use ferrite_softmmu::{AddressSpace, Ram};
use std::sync::Arc;

/// Where the epilogue returns to: an `sc` that ends the case.
const SENTINEL: u32 = CODE_BASE + 0xf000;
/// Size of the code and scratch regions the harness maps.
const REGION: usize = 0x10000;
/// Instruction budget per case (cases are short; a runaway is a bug).
const BUDGET: i64 = 2_000_000;

/// The execution tier that runs ferrite's side of the cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// The interpreter only.
    Interp,
    /// Every block compiled by the baseline compiler before its first run (Cranelift never).
    Baseline,
    /// Every block compiled by Cranelift before its first run.
    Jit,
}

/// Runs cases on ferrite.
pub struct FerriteRunner {
    space: Arc<AddressSpace>,
    cpu: Box<PpcCpu>,
    engine: Engine,
}

impl FerriteRunner {
    /// A runner whose blocks all run in `tier` (deterministic mode, as the budget bounds runaway
    /// cases; every tier keeps its account).
    pub fn new(tier: Tier) -> anyhow::Result<FerriteRunner> {
        let space = Arc::new(AddressSpace::new());
        space.add_ram("ram", 0, Arc::new(Ram::new(1 << 30)?))?;
        let mut cpu = PpcCpu::new(&space, 0, ManualClock::new(), None);
        if tier == Tier::Jit {
            // Compiled code reaches RAM through fastmem, as the board's kernel code and loops
            // do (these cases run in user mode, outside loops mostly).
            cpu.hdr.tlb.fastmem.enable(u8::MAX, 0).map_err(|e| anyhow::anyhow!("fastmem: {e}"))?;
        }
        let base = EngineConfig { jit: true, sync_compile: true, count_insns: true, arena_bytes: 64 << 20, perf_map: false, ..EngineConfig::default() };
        let cfg = match tier {
            Tier::Interp => EngineConfig { jit: false, ..base },
            // Compiled at the first run (the run loop compiles before it runs a block).
            Tier::Baseline => EngineConfig { jit_threshold: u32::MAX, baseline_runs: 1, ..base },
            Tier::Jit => EngineConfig { jit_threshold: 1, baseline_runs: 0, ..base },
        };
        let engine = Engine::new(cfg)?;
        space.write_ram(SENTINEL as u64, &0x4400_0002u32.to_be_bytes())?;
        Ok(FerriteRunner { space, cpu, engine })
    }

    /// Blocks the JIT refused so far (they ran interpreted).
    pub fn compile_failures(&self) -> u64 {
        self.engine.stats.compile_failures
    }

    /// Block runs in the interpreter so far.
    pub fn interpreted_runs(&self) -> u64 {
        self.engine.stats.interp_runs
    }

    /// Fastmem counters (compiled tier only).
    pub fn fastmem_stats(&self) -> ferrite_softmmu::fastmem::FastmemStats {
        self.cpu.hdr.tlb.fastmem.stats()
    }

    /// Blocks compiled by the baseline compiler so far.
    pub fn baseline_blocks(&self) -> u64 {
        self.engine.stats.baseline_blocks
    }

    /// Runs one case.
    pub fn run_case(&mut self, case: &Case) -> anyhow::Result<Outcome> {
        // Start from zeroed regions, as the harness does under qemu-ppc.
        let zeros = vec![0u8; REGION];
        self.space.write_ram(CODE_BASE as u64, &zeros[..SENTINEL as usize - CODE_BASE as usize])?;
        self.space.write_ram(BLOCK as u64, &zeros[..0x4000])?;
        self.space.write_ram(SCRATCH as u64, &zeros)?;
        let code: Vec<u8> = case.code().iter().flat_map(|w| w.to_be_bytes()).collect();
        self.space.write_ram(CODE_BASE as u64, &code)?;
        self.space.write_ram((BLOCK + IN_OFF) as u64, &case.init.to_block())?;
        self.space.write_ram((BLOCK + OUT_OFF) as u64, &[0u8; 0x200])?;
        self.space.write_ram(SCRATCH as u64, &case.mem)?;
        let cpu = &mut self.cpu;
        cpu.reset();
        // Map what the harness maps under qemu-ppc (1:1, user and supervisor RWX), nothing
        // else, so that a wild access faults on both: the state block, the code, the scratch.
        for (esel, (base, log2_kib)) in [(BLOCK, 4), (CODE_BASE, 6), (SCRATCH, 6)].into_iter().enumerate() {
            cpu.write_spr(624, (1 << 28) | ((esel as u32) << 16));
            cpu.write_spr(625, 0x8000_0000 | (log2_kib << 7));
            cpu.write_spr(626, base);
            cpu.write_spr(627, base | 0x3f);
            cpu.write_spr(944, 0);
            cpu.mmu.tlbwe().map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        cpu.hdr.flush_tlb();
        cpu.set_msr(msr::PR | msr::FP | msr::FE0 | msr::FE1 | msr::ME);
        cpu.set_pc(CODE_BASE);
        cpu.regs.lr = SENTINEL;
        cpu.stop_on_exception = true;
        // Exercise side exits (the generated sequences branch a lot).
        cpu.side_exits = 4;
        cpu.stopped = None;
        cpu.hdr.icount_budget = BUDGET;
        loop {
            match self.engine.run(&mut **cpu) {
                Stop::Request(_) if cpu.stopped.is_some() => break,
                Stop::Request(_) => continue,
                Stop::Budget => anyhow::bail!("case {:#x} ran out of its instruction budget", case.seed),
                Stop::Halted => anyhow::bail!("case {:#x} halted", case.seed),
            }
        }
        let stop = cpu.stopped.take().expect("stopped");
        let mut mem = vec![0u8; MEM_SIZE];
        self.space.read_ram(SCRATCH as u64, &mut mem)?;
        if stop.intr == Interrupt::SystemCall && stop.pc == SENTINEL {
            let mut out = vec![0u8; 0x200];
            self.space.read_ram((BLOCK + OUT_OFF) as u64, &mut out)?;
            return Ok(Outcome { state: UserState::from_block(&out), trap: Trap::None, trap_index: 0, mem });
        }
        let r = &cpu.regs;
        let state = UserState { gpr: r.gpr, fpr: r.fpr, cr: r.cr(), xer: r.xer(), lr: r.lr, ctr: r.ctr, fpscr: r.fpscr };
        let trap = match stop.intr {
            Interrupt::Program { esr: e } if e & esr::PPR != 0 => Trap::Privileged,
            Interrupt::Program { esr: e } if e & esr::PTR != 0 => Trap::Trap,
            Interrupt::Program { esr: e } if e & esr::FP != 0 => Trap::FpEnabled,
            Interrupt::Program { .. } => Trap::Illegal,
            Interrupt::Alignment { .. } => Trap::Alignment,
            Interrupt::DataStorage { .. } | Interrupt::DataTlb { .. } | Interrupt::InstStorage { .. } | Interrupt::InstTlb { .. } => Trap::Segv,
            other => Trap::Other(other.ivor() as u32),
        };
        Ok(Outcome { state, trap, trap_index: stop.pc.wrapping_sub(body_start()) / 4, mem })
    }
}

impl Runner for FerriteRunner {
    fn run_batch(&mut self, cases: &[Case]) -> anyhow::Result<Vec<Outcome>> {
        cases.iter().map(|c| self.run_case(c)).collect()
    }
}
