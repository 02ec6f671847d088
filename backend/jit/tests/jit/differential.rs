//! Differential testing: random blocks run on the interpreter and on the JIT from identical
//! CPU and RAM state must leave identical registers, RAM, exit, PC and instruction counts.

use super::common::{machine, outcome, ram_difference, run_interp, run_jit, Coverage};
use super::gen::{self, Config, Rng};
use ferrite_ir::Opcode;
use ferrite_jit::{CompileOptions, Jit, JitConfig};
use ferrite_softmmu::MemOp;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

/// Runs `count` random blocks from `first_seed` on both engines; panics on the first
/// difference with the block and both outcomes.
fn differential(jit: &mut Jit, first_seed: u64, count: u64, cfg: Config) {
    differential_with(jit, first_seed, count, cfg, 0)
}

/// [`differential`], the JIT's machine reaching RAM through fastmem for the accesses of the
/// MMU modes in `fastmem_modes` (bit `m` for mode `m`).
fn differential_with(jit: &mut Jit, first_seed: u64, count: u64, cfg: Config, fastmem_modes: u8) {
    let fastmem = fastmem_modes != 0;
    let mut coverage = Coverage::default();
    let mut fastmem_stats = ferrite_softmmu::fastmem::FastmemStats::default();
    for seed in first_seed..first_seed + count {
        let block = gen::block(seed, cfg);
        let mut rng = Rng(seed ^ 0x5555_5555_5555_5555);
        let regs = [rng.interesting(), rng.interesting(), rng.interesting(), rng.interesting(), rng.interesting()];
        let mut a = machine(regs, seed);
        let mut b = machine(regs, seed);
        if fastmem {
            b.cpu.hdr.tlb.fastmem.enable(fastmem_modes, 0).expect("fastmem on this host");
        }
        let ea = run_interp(&block, &mut a);
        let opts = CompileOptions { count_insns: false, mode_key: 0, optimize: false, fastmem_modes, phys_pc: 0 };
        let eb = run_jit(jit, &block, &mut b, &opts);
        let (mut oa, mut ob) = (outcome(&a, ea), outcome(&b, eb));
        if block.insts.iter().any(|i| i.op == Opcode::Chain) {
            // Completed-instruction counts are exact only without regions (deterministic mode).
            (oa.exit_insns, ob.exit_insns) = (0, 0);
        }
        let ram = ram_difference(&a, &b);
        if oa != ob || ram.is_some() {
            panic!(
                "seed {seed}: interpreter and JIT differ\n{}\ninterpreter: {oa:#x?}\njit:         {ob:#x?}\nfirst RAM difference (addr, interp, jit): {ram:x?}\n{}",
                ferrite_ir::print_block(&block),
                jit.disassemble(&block, &opts).unwrap_or_default()
            );
        }
        coverage.note(&block, &oa.exit);
        let st = b.cpu.hdr.tlb.fastmem.stats();
        let modes_used = block.insts.iter().filter(|i| matches!(i.op, Opcode::Load | Opcode::Store)).fold(0u8, |m, i| m | 1 << MemOp(i.imm as u32).mmu_idx());
        if modes_used & fastmem_modes == 0 {
            assert_eq!(st.faults, 0, "seed {seed}: accesses of modes outside {fastmem_modes:#b} went through fastmem");
        }
        fastmem_stats.faults += st.faults;
        fastmem_stats.maps += st.maps;
        fastmem_stats.demotions += st.demotions;
        // Keep the arena from filling up over thousands of blocks.
        if jit.used_bytes() > 32 << 20 {
            jit.reset();
        }
    }
    if count >= 500 {
        coverage.check();
    }
    if fastmem && count >= 100 {
        // Faults that mapped RAM and faults on pages it cannot map must both have happened.
        assert!(fastmem_stats.maps > 0 && fastmem_stats.demotions > 0, "fastmem not exercised: {fastmem_stats:?}");
    }
}

const SMALL: Config = Config { max_ops: 12, max_bbs: 4, nan_pairs: false, addr32: false };
const LARGE: Config = Config { max_ops: 60, max_bbs: 6, nan_pairs: false, addr32: false };

#[test]
fn random_small_blocks_match_the_interpreter() {
    let mut jit = Jit::with_config(64 << 20, &JitConfig { verify: true, ..JitConfig::default() }).unwrap();
    let seed = env_u64("FERRITE_JIT_SEED").unwrap_or(1);
    let n = env_u64("FERRITE_JIT_BLOCKS").unwrap_or(3000);
    differential(&mut jit, seed, n, SMALL);
}

#[test]
fn random_large_blocks_match_the_interpreter() {
    let mut jit = Jit::new(64 << 20).unwrap();
    let seed = env_u64("FERRITE_JIT_SEED").unwrap_or(1_000_000);
    let n = env_u64("FERRITE_JIT_BLOCKS").map_or(600, |n| n / 5);
    differential(&mut jit, seed, n, LARGE);
}

#[test]
fn random_blocks_match_with_cranelift_optimizations_and_without_fma() {
    // opt_level=speed rewrites the code (e-graph, alias analysis); no FMA means libcalls.
    let config = JitConfig { optimize: true, verify: true, isa_flags: vec![("has_fma".into(), "false".into())], ..JitConfig::default() };
    let mut jit = Jit::with_config(64 << 20, &config).unwrap();
    differential(&mut jit, 2_000_000, 500, SMALL);
}

#[test]
fn random_blocks_match_the_interpreter_through_fastmem() {
    // 32-bit addresses, so every access is a fastmem access: first touches fault and map,
    // byte-swapped, code and unassigned pages are never mapped, guest faults leave precise
    // state through the slow path.
    let mut jit = Jit::with_config(64 << 20, &JitConfig { verify: true, ..JitConfig::default() }).unwrap();
    let seed = env_u64("FERRITE_JIT_SEED").unwrap_or(3_000_000);
    let n = env_u64("FERRITE_JIT_BLOCKS").unwrap_or(3000);
    differential_with(&mut jit, seed, n / 2, Config { addr32: true, ..SMALL }, u8::MAX);
    differential_with(&mut jit, seed + n, n / 10, Config { addr32: true, ..LARGE }, u8::MAX);
}

#[test]
fn random_blocks_match_with_fastmem_for_one_mode_only() {
    // Most accesses are mode 0's, through the soft TLB here; mode 1's go through fastmem,
    // often in the same block (which then shares no soft-TLB checks between accesses).
    let mut jit = Jit::with_config(64 << 20, &JitConfig { verify: true, ..JitConfig::default() }).unwrap();
    let seed = env_u64("FERRITE_JIT_SEED").unwrap_or(4_000_000);
    let n = env_u64("FERRITE_JIT_BLOCKS").unwrap_or(3000);
    differential_with(&mut jit, seed, n / 2, Config { addr32: true, ..SMALL }, 0b10);
}
