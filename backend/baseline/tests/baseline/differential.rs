//! Random blocks run on the interpreter and as baseline code from identical CPU and RAM state
//! must leave identical registers, RAM, exit, PC and instruction counts; the run counter
//! stops a block at its limit without side effects.

use super::common::{enter, machine, outcome, ram_difference, run_interp, Coverage};
use super::gen::{self, Config, Rng};
use ferrite_baseline::Baseline;
use ferrite_ir::interp::Program;
use ferrite_ir::{Exit, Opcode};
use ferrite_jit::Jit;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

fn differential(first_seed: u64, count: u64, cfg: Config) {
    let jit = Jit::new(1 << 20).unwrap();
    let mut base = Baseline::new(64 << 20).unwrap();
    let mut coverage = Coverage::default();
    for seed in first_seed..first_seed + count {
        // Every other block at a kernel address (PCs that need 64-bit immediates).
        let block = gen::block_at(seed, cfg, if seed % 2 == 0 { 0x1000 } else { 0xc000_1000 });
        let mut rng = Rng(seed ^ 0x5555_5555_5555_5555);
        let regs = [rng.interesting(), rng.interesting(), rng.interesting(), rng.interesting(), rng.interesting()];
        let mut a = machine(regs, seed);
        let mut b = machine(regs, seed);
        let ea = run_interp(&block, &mut a);
        let code = base.compile(&Program::new(&block), 0, u32::MAX).expect("compile").code;
        let eb = enter(&jit, code.entry, code.slots, &mut b, &block);
        let (oa, ob) = (outcome(&a, ea), outcome(&b, eb));
        let ram = ram_difference(&a, &b);
        if oa != ob || ram.is_some() {
            panic!(
                "seed {seed}: interpreter and baseline code differ\n{}\ninterpreter: {oa:#x?}\nbaseline:    {ob:#x?}\nfirst RAM difference (addr, interp, baseline): {ram:x?}",
                ferrite_ir::print_block(&block),
            );
        }
        coverage.note(&block, &oa.exit);
        if base.used_bytes() > 32 << 20 {
            base.reset();
        }
    }
    if count >= 500 {
        coverage.check();
    }
}

#[test]
fn random_small_blocks_match_the_interpreter() {
    let seed = env_u64("FERRITE_JIT_SEED").unwrap_or(1);
    let n = env_u64("FERRITE_JIT_BLOCKS").unwrap_or(3000);
    differential(seed, n, Config { max_ops: 12, max_bbs: 4, nan_pairs: false });
}

#[test]
fn random_large_blocks_match_the_interpreter() {
    let seed = env_u64("FERRITE_JIT_SEED").unwrap_or(1_000_000);
    let n = env_u64("FERRITE_JIT_BLOCKS").unwrap_or(3000);
    differential(seed, n, Config { max_ops: 60, max_bbs: 6, nan_pairs: true });
}

#[test]
fn the_run_counter_stops_the_block_at_its_limit() {
    let jit = Jit::new(1 << 20).unwrap();
    let mut base = Baseline::new(1 << 20).unwrap();
    let block = (1..).map(|s| gen::block(s, Config { max_ops: 12, max_bbs: 1, nan_pairs: false })).find(|b| b.insts.iter().any(|i| i.op == Opcode::SetReg)).unwrap();
    let c = base.compile(&Program::new(&block), 0, 3).unwrap();
    let regs = [1, 2, 3, 4, 5];
    for run in 1..=4u32 {
        let mut m = machine(regs, 7);
        let mut before = outcome(&m, Exit::Request { pc: block.vpc });
        before.pc = block.vpc;
        let exit = enter(&jit, c.code.entry, c.code.slots, &mut m, &block);
        assert_eq!(c.counter.runs(), run);
        if run == 3 {
            assert_eq!(exit, Exit::Request { pc: block.vpc }, "leaves at the limit");
            assert_eq!(outcome(&m, exit), before, "without running anything");
        } else {
            assert_ne!(exit, Exit::Request { pc: block.vpc }, "run {run} runs");
        }
    }
    c.counter.set_limit(6);
    let mut m = machine(regs, 7);
    enter(&jit, c.code.entry, c.code.slots, &mut m, &block);
    let exit = enter(&jit, c.code.entry, c.code.slots, &mut m, &block);
    assert_eq!(exit, Exit::Request { pc: block.vpc }, "a new limit takes effect");
}
