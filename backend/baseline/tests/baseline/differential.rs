//! Random blocks run on the interpreter and as baseline code from identical CPU and RAM state
//! must leave identical registers, RAM, exit, PC and instruction counts, and in deterministic
//! mode the same instruction budget; the run counter stops a block at its limit without side
//! effects.

use super::common::{enter, machine, outcome, ram_difference, run_interp, Coverage};
use super::gen::{self, Config, Rng};
use ferrite_baseline::Baseline;
use ferrite_ir::interp::{Interpreter, Program};
use ferrite_ir::{Exit, Opcode};
use ferrite_jit::{Jit, JitError};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

/// Runs `count` random blocks from `first_seed` on both. `counting`: in deterministic mode,
/// from budgets around each block's length (enough, exactly enough, one short).
fn differential(first_seed: u64, count: u64, cfg: Config, counting: bool) {
    let jit = Jit::new(1 << 20).unwrap();
    let mut base = Baseline::new(64 << 20).unwrap();
    let mut coverage = Coverage::default();
    // Deterministic mode: blocks that left early (fault, raise) and that were refused.
    let (mut early, mut refused) = (0, 0);
    for seed in first_seed..first_seed + count {
        // Every other block at a kernel address (PCs that need 64-bit immediates).
        let block = gen::block_at(seed, cfg, if seed % 2 == 0 { 0x1000 } else { 0xc000_1000 });
        let mut rng = Rng(seed ^ 0x5555_5555_5555_5555);
        let regs = [rng.interesting(), rng.interesting(), rng.interesting(), rng.interesting(), rng.interesting()];
        let mut a = machine(regs, seed);
        let mut b = machine(regs, seed);
        let prog = Program::new(&block);
        let code = match base.compile(&prog, 0, u32::MAX, counting) {
            Ok(c) => c.code,
            Err(JitError::Unsupported(_)) if counting && block.insts.iter().any(|i| i.op == Opcode::Chain) => continue,
            Err(e) => panic!("seed {seed}: {e}"),
        };
        let budget = i64::from(block.n_insns) + [0, 0, 1, 1000, -1][rng.below(5) as usize];
        a.cpu.hdr.icount_budget = budget;
        b.cpu.hdr.icount_budget = budget;
        let mut untouched = outcome(&a, Exit::Request { pc: block.vpc });
        untouched.pc = block.vpc;
        let ea = if counting {
            // SAFETY: the test machine's CPU matches the test guest the block is written for.
            unsafe { Interpreter::new().run_counted(&prog, a.env()) }
        } else {
            run_interp(&block, &mut a)
        };
        let eb = enter(&jit, code.entry, code.slots, &mut b, &block);
        let (oa, ob) = (outcome(&a, ea), outcome(&b, eb));
        let ram = ram_difference(&a, &b);
        let budgets = (a.cpu.hdr.icount_budget, b.cpu.hdr.icount_budget);
        if oa != ob || ram.is_some() || budgets.0 != budgets.1 {
            panic!(
                "seed {seed}: interpreter and baseline code differ (counting: {counting}, budget {budget})\n{}\ninterpreter: {oa:#x?}\nbaseline:    {ob:#x?}\nfirst RAM difference (addr, interp, baseline): {ram:x?}\nbudget left (interp, baseline): {budgets:?}",
                ferrite_ir::print_block(&block),
            );
        }
        if !counting {
            assert_eq!(budgets.1, budget, "seed {seed}: the budget is left alone outside deterministic mode");
        } else if budget < i64::from(block.n_insns) {
            assert_eq!((ob, budgets.1), (untouched, budget), "seed {seed}: a budget too small refuses the block, which runs nothing");
            refused += 1;
        } else if let Exit::Fault { .. } | Exit::Raise { .. } = ob.exit {
            assert_eq!(budgets.1, budget - ob.exit_insns as i64, "seed {seed}: only completed instructions are charged");
            early += 1;
        } else if !matches!(ob.exit, Exit::Request { .. }) {
            assert_eq!(budgets.1, budget - i64::from(block.n_insns), "seed {seed}: the whole block is charged");
        }
        coverage.note(&block, &oa.exit);
        if base.used_bytes() > 32 << 20 {
            base.reset();
        }
    }
    if counting {
        assert!(early >= count / 50 && refused >= count / 10, "blocks that left early: {early}, refused: {refused}");
    } else if count >= 500 {
        coverage.check();
    }
}

#[test]
fn random_small_blocks_match_the_interpreter() {
    let seed = env_u64("FERRITE_JIT_SEED").unwrap_or(1);
    let n = env_u64("FERRITE_JIT_BLOCKS").unwrap_or(3000);
    differential(seed, n, Config { max_ops: 12, max_bbs: 4, nan_pairs: false, addr32: false }, false);
}

#[test]
fn random_large_blocks_match_the_interpreter() {
    let seed = env_u64("FERRITE_JIT_SEED").unwrap_or(1_000_000);
    let n = env_u64("FERRITE_JIT_BLOCKS").unwrap_or(3000);
    differential(seed, n, Config { max_ops: 60, max_bbs: 6, nan_pairs: true, addr32: false }, false);
}

#[test]
fn random_blocks_count_instructions_as_the_interpreter_does() {
    let seed = env_u64("FERRITE_JIT_SEED").unwrap_or(2_000_000);
    let n = env_u64("FERRITE_JIT_BLOCKS").unwrap_or(3000);
    differential(seed, n / 2, Config { max_ops: 12, max_bbs: 4, nan_pairs: false, addr32: false }, true);
    differential(seed + n, n / 2, Config { max_ops: 60, max_bbs: 6, nan_pairs: true, addr32: false }, true);
}

#[test]
fn the_run_counter_stops_the_block_at_its_limit() {
    let jit = Jit::new(1 << 20).unwrap();
    let mut base = Baseline::new(1 << 20).unwrap();
    let block = (1..).map(|s| gen::block(s, Config { max_ops: 12, max_bbs: 1, nan_pairs: false, addr32: false })).find(|b| b.insts.iter().any(|i| i.op == Opcode::SetReg)).unwrap();
    let c = base.compile(&Program::new(&block), 0, 3, false).unwrap();
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

#[test]
fn a_budget_too_small_refuses_the_block_before_its_run_is_counted() {
    let jit = Jit::new(1 << 20).unwrap();
    let mut base = Baseline::new(1 << 20).unwrap();
    let block = (1..).map(|s| gen::block(s, Config { max_ops: 12, max_bbs: 1, nan_pairs: false, addr32: false })).find(|b| b.n_insns >= 2 && b.insts.iter().all(|i| i.op != Opcode::Chain)).unwrap();
    let n = i64::from(block.n_insns);
    let c = base.compile(&Program::new(&block), 0, 2, true).unwrap();
    let mut m = machine([1, 2, 3, 4, 5], 7);
    m.cpu.hdr.icount_budget = n - 1;
    assert_eq!(enter(&jit, c.code.entry, c.code.slots, &mut m, &block), Exit::Request { pc: block.vpc });
    assert_eq!((c.counter.runs(), m.cpu.hdr.icount_budget), (0, n - 1), "refused: neither counted nor charged");
    m.cpu.hdr.icount_budget = 2 * n;
    assert_ne!(enter(&jit, c.code.entry, c.code.slots, &mut m, &block), Exit::Request { pc: block.vpc });
    assert_eq!(c.counter.runs(), 1);
    // At the run counter's limit the block leaves without charging the budget.
    let left = m.cpu.hdr.icount_budget;
    assert_eq!(enter(&jit, c.code.entry, c.code.slots, &mut m, &block), Exit::Request { pc: block.vpc });
    assert_eq!((c.counter.runs(), m.cpu.hdr.icount_budget), (2, left));
}
