//! Compile-time and run-time measurements (`cargo test -p ferrite-jit --test jit perf --
//! --ignored --nocapture`; build with `--release` for representative numbers).

use super::common::{enter, machine};
use super::gen::{self, Config};
use ferrite_ir::interp::Interpreter;
use ferrite_ir::testing::DESC;
use ferrite_ir::{Block, Builder, Reg, Type};
use ferrite_jit::{CompileOptions, Jit, JitConfig};
use ferrite_softmmu::{Endian, MemOp};
use std::time::Instant;

/// A guest-like loop body of `n` "instructions": load a word, mix it into registers, store
/// it back one word further, and jump to itself.
fn compute_loop(n: u64) -> Block {
    let be32 = MemOp::new(2, false, Endian::Big, 0);
    let mut blk = Block::new(&DESC, 0x100);
    let mut b = Builder::new(&mut blk);
    for i in 0..n {
        b.insn_start(0x100 + 4 * i);
        let base = b.get_reg(Reg(0));
        let off = b.and_imm(base, 0xffc);
        let ea = b.add_imm(off, 0x10000);
        let v = b.load(Type::I32, be32, ea);
        let x = b.zext(Type::I64, v);
        let r1 = b.get_reg(Reg(1));
        let m = b.mul(r1, x);
        let s = b.rotl_imm(m, 13);
        let t = b.xor(s, base);
        b.set_reg(Reg(1), t);
        let y = b.trunc(Type::I32, t);
        let ea4 = b.add_imm(ea, 4);
        b.store(be32, ea4, y);
        let nb = b.add_imm(base, 4);
        b.set_reg(Reg(0), nb);
    }
    b.exit_direct(0x100);
    blk
}

/// Register-only arithmetic: `n` instructions of multiply/rotate/xor/compare-select.
fn alu_loop(n: u64) -> Block {
    let mut blk = Block::new(&DESC, 0x100);
    let mut b = Builder::new(&mut blk);
    for i in 0..n {
        b.insn_start(0x100 + 4 * i);
        let x = b.get_reg(Reg((i % 3) as u16));
        let y = b.get_reg(Reg(((i + 1) % 3) as u16));
        let m = b.mul(x, y);
        let r = b.rotl_imm(m, 7);
        let t = b.xor(r, x);
        let c = b.icmp(ferrite_ir::IntCC::Ult, t, y);
        let k = b.add_imm(t, i);
        let s = b.select(c, k, t);
        b.set_reg(Reg(((i + 2) % 3) as u16), s);
    }
    b.exit_direct(0x100);
    blk
}

/// Runs `blk` linked to itself for `iters` iterations; returns ns per guest instruction.
fn run_linked(jit: &mut Jit, blk: &Block, iters: i64) -> f64 {
    let c = jit.compile(blk, &CompileOptions { count_insns: true, mode_key: 0, optimize: false, ..CompileOptions::default() }).unwrap();
    // SAFETY: the slot is the block's own link slot.
    unsafe { *(c.slots as *mut u64) = c.entry };
    let mut best = f64::MAX;
    for _ in 0..3 {
        let mut m = machine([3, 1, 5, 0, 0], 7);
        m.cpu.hdr.icount_budget = blk.n_insns as i64 * iters;
        let t = Instant::now();
        enter(jit, c.entry, c.slots, &mut m, blk);
        best = best.min(t.elapsed().as_secs_f64() * 1e9 / (blk.n_insns as i64 * iters) as f64);
    }
    best
}

#[test]
#[ignore]
fn perf_compile_time_and_code_speed() {
    for optimize in [true, false] {
        let mut jit = Jit::with_config(256 << 20, &JitConfig { optimize, ..JitConfig::default() }).unwrap();
        let opts = CompileOptions::default();
        let cfg = Config { max_ops: 30, max_bbs: 3, nan_pairs: false, addr32: false };
        let blocks: Vec<Block> = (0..400).map(|s| gen::block(s, cfg)).chain((1..=40).map(compute_loop)).collect();
        let insts: usize = blocks.iter().map(|b| b.live_inst_count()).sum();
        let guest: Vec<Block> = (0..200).map(|_| compute_loop(10)).collect();
        let t = Instant::now();
        for b in &guest {
            jit.compile(b, &opts).unwrap();
        }
        println!(
            "  guest-like 10-instruction blocks ({} IR insts, 20 memory accesses): {:.1} us/block",
            guest[0].live_inst_count(),
            t.elapsed().as_secs_f64() * 1e6 / guest.len() as f64
        );
        let t = Instant::now();
        let mut code = 0usize;
        for b in &blocks {
            code += jit.compile(b, &opts).unwrap().code_size as usize;
        }
        let dt = t.elapsed();
        println!(
            "opt_level={}: {} blocks, {} IR insts: {:.1} us/block, {:.2} us/IR inst, {:.1} code bytes/IR inst",
            if optimize { "speed" } else { "none" },
            blocks.len(),
            insts,
            dt.as_secs_f64() * 1e6 / blocks.len() as f64,
            dt.as_secs_f64() * 1e6 / insts as f64,
            code as f64 / insts as f64
        );

        println!("  memory loop: {:.2} ns per guest instruction", run_linked(&mut jit, &compute_loop(10), 300_000));
        println!("  ALU loop:    {:.2} ns per guest instruction", run_linked(&mut jit, &alu_loop(10), 300_000));
        // Run time: a 10-instruction loop block linked to itself, 1M iterations.
        let blk = compute_loop(10);
        let c = jit.compile(&blk, &opts).unwrap();
        // SAFETY: the slot is the block's own link slot.
        unsafe { *(c.slots as *mut u64) = c.entry };
        let run_opts = CompileOptions { count_insns: true, mode_key: 0, optimize: false, ..CompileOptions::default() };
        let c = jit.compile(&blk, &run_opts).unwrap();
        // SAFETY: as above.
        unsafe { *(c.slots as *mut u64) = c.entry };
        let mut m = machine([0, 1, 0, 0, 0], 7);
        let iters = 1_000_000i64;
        m.cpu.hdr.icount_budget = 10 * iters;
        let t = Instant::now();
        enter(&jit, c.entry, c.slots, &mut m, &blk);
        let dt = t.elapsed();
        m.cpu.hdr.icount_budget = 10 * iters;
        let t = Instant::now();
        enter(&jit, c.entry, c.slots, &mut m, &blk);
        let dt = dt.min(t.elapsed());
        if std::env::var_os("FERRITE_DUMP").is_some() {
            println!("{}", jit.disassemble(&compute_loop(2), &opts).unwrap());
        }
        println!("  linked loop: {:.2} ns per guest instruction ({:.1} ns per block)", dt.as_secs_f64() * 1e9 / (10 * iters) as f64, dt.as_secs_f64() * 1e9 / iters as f64);
    }
    let blk = compute_loop(10);
    let mut m = machine([0, 1, 0, 0, 0], 7);
    let mut interp = Interpreter::new();
    let t = Instant::now();
    for _ in 0..100_000 {
        // SAFETY: the machine matches the test guest.
        unsafe { interp.run(&blk, m.env()) };
    }
    println!("interpreter: {:.2} ns per guest instruction", t.elapsed().as_secs_f64() * 1e9 / 1e6);
}
