//! Differential testing: random blocks run on the interpreter and on the JIT from identical
//! CPU and RAM state must leave identical registers, RAM, exit, PC and instruction counts.

use super::common::{machine, outcome, ram_difference, run_interp, run_jit, Coverage};
use super::gen::{self, Config, Rng};
use ferrite_ir::Opcode;
use ferrite_jit::{CompileOptions, Jit, JitConfig};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

/// Runs `count` random blocks from `first_seed` on both engines; panics on the first
/// difference with the block and both outcomes.
fn differential(jit: &mut Jit, first_seed: u64, count: u64, cfg: Config) {
    let mut coverage = Coverage::default();
    for seed in first_seed..first_seed + count {
        let block = gen::block(seed, cfg);
        let mut rng = Rng(seed ^ 0x5555_5555_5555_5555);
        let regs = [rng.interesting(), rng.interesting(), rng.interesting(), rng.interesting(), rng.interesting()];
        let mut a = machine(regs, seed);
        let mut b = machine(regs, seed);
        let ea = run_interp(&block, &mut a);
        let opts = CompileOptions { count_insns: false, mode_key: 0, optimize: false };
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
        // Keep the arena from filling up over thousands of blocks.
        if jit.used_bytes() > 32 << 20 {
            jit.reset();
        }
    }
    if count >= 500 {
        coverage.check();
    }
}

const SMALL: Config = Config { max_ops: 12, max_bbs: 4, nan_pairs: false };
const LARGE: Config = Config { max_ops: 60, max_bbs: 6, nan_pairs: false };

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
