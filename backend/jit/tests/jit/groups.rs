//! Accesses at constant offsets from one base share one TLB check (`lower/groups.rs`). These
//! blocks put such groups across every kind of page boundary the test machine has (a
//! byte-swapped page, a code page, a faulting region, a cold page, the 32-bit wrap) and check
//! that the JIT, with and without Cranelift's optimisations, leaves what the interpreter does.

use super::common::{machine, outcome, ram_difference, run_interp, run_jit, BSWAP_PAGE, CODE_PAGE, FAULT_BASE};
use super::gen::GEN_DESC;
use ferrite_ir::{Block, Builder, Reg, Type, Value};
use ferrite_jit::{CompileOptions, Jit};
use ferrite_softmmu::{Endian, MemOp};

/// r0..r2 = loads at `offsets` from the base (r3, or the 32-bit w when `narrow`), then stores
/// of their sum at the same offsets; `store_first` does the stores first.
fn grouped(offsets: &[u64], size_log2: u32, narrow: bool, store_first: bool) -> Block {
    let op = MemOp::new(size_log2, false, Endian::Big, 0);
    let mut blk = Block::new(&GEN_DESC, 0x1000);
    let mut b = Builder::new(&mut blk);
    b.insn_start(0x1000);
    let base = if narrow { b.get_reg(Reg(4)) } else { b.get_reg(Reg(3)) };
    let addr = |b: &mut Builder, k: u64| -> Value {
        if narrow {
            let a = b.add_imm(base, k & 0xffff_ffff);
            b.zext(Type::I64, a)
        } else {
            b.add_imm(base, k)
        }
    };
    let value = b.get_reg(Reg(0));
    let stores = |b: &mut Builder, v: Value| {
        for &k in offsets {
            let a = addr(b, k);
            b.store(op, a, v);
        }
    };
    if store_first {
        stores(&mut b, value);
    }
    let mut sum = value;
    for (i, &k) in offsets.iter().enumerate() {
        let a = addr(&mut b, k);
        let v = b.load(Type::I64, op, a);
        sum = b.add(sum, v);
        if i < 3 {
            b.set_reg(Reg(i as u16), v);
        }
    }
    if !store_first {
        stores(&mut b, sum);
    }
    b.exit_direct(0x1004);
    blk
}

/// Runs `block` on the interpreter and on both JITs (`[plain, optimizing]`) from registers
/// `regs` and RAM pattern `seed`, and asserts the outcomes and RAM agree; `what` names the
/// case. `loops`: the block loops through a chain, whose completed-instruction count is not
/// exact (only deterministic mode, which has no loops in a block, needs it). Returns the
/// number of runs compared.
fn agree(jits: &mut [Jit; 2], block: &Block, regs: [u64; 5], seed: u64, loops: bool, what: &dyn Fn() -> String) -> usize {
    for (jit, optimize) in jits.iter_mut().zip([false, true]) {
        let mut a = machine(regs, seed);
        let mut b = machine(regs, seed);
        let ea = run_interp(block, &mut a);
        let opts = CompileOptions { optimize, ..CompileOptions::default() };
        let eb = run_jit(jit, block, &mut b, &opts);
        let (mut oa, mut ob) = (outcome(&a, ea), outcome(&b, eb));
        if loops {
            (oa.exit_insns, ob.exit_insns) = (0, 0);
        }
        let ram = ram_difference(&a, &b);
        assert!(
            oa == ob && ram.is_none(),
            "{} optimize {optimize}:\ninterpreter {oa:#x?}\njit {ob:#x?}\nRAM {ram:x?}\n{}",
            what(),
            ferrite_ir::print_block(block)
        );
        if jit.used_bytes() > 12 << 20 {
            jit.reset();
        }
    }
    2
}

#[test]
fn grouped_accesses_across_page_boundaries_match_the_interpreter() {
    let mut jits = [Jit::new(16 << 20).unwrap(), Jit::new(16 << 20).unwrap()];
    let boundaries = [0x11000, 0x13000, 0x2f000 + 0x1000, BSWAP_PAGE, CODE_PAGE, FAULT_BASE, 0];
    let shapes: [&[u64]; 4] = [&[0, 8], &[8, 0, 4], &[0, 1, 2, 3], &[u64::MAX - 3, 4, 0]];
    let mut cases = 0;
    for boundary in boundaries {
        for before in 0..24u64 {
            let base = boundary.wrapping_sub(before);
            for (s, shape) in shapes.iter().enumerate() {
                for size_log2 in [0, 2, 3] {
                    for narrow in [false, true] {
                        for store_first in [false, true] {
                            let block = grouped(shape, size_log2, narrow, store_first);
                            let regs = [0x1111_2222_3333_4444, 5, 6, base, base];
                            let what = || format!("base {base:#x} shape {shape:?} size {} narrow {narrow} stores first {store_first}", 1 << size_log2);
                            cases += agree(&mut jits, &block, regs, s as u64, false, &what);
                        }
                    }
                }
            }
        }
    }
    assert!(cases > 10_000);
}

/// A loop (closed by a `chain`) over accesses at `offsets` from r3 plus r1 times the passes
/// left (a negative r1 walks up, into the page boundary after a pass has filled the cache), each in its own basic block so that each gets a page cache (`lower/groups.rs`),
/// kept across passes and forgotten after the `shuffle` helper when `call` (which also
/// changes r1). r2 counts the passes down; r0 accumulates the loads; the sum is stored back at
/// the first offset on every pass.
fn cached_loop(offsets: &[u64], size_log2: u32, call: bool) -> Block {
    let op = MemOp::new(size_log2, false, Endian::Big, 0);
    let mut blk = Block::new(&GEN_DESC, 0x1000);
    let mut b = Builder::new(&mut blk);
    let body = b.create_bb();
    b.insn_start(0x1000);
    b.chain(body);
    b.switch_to(body);
    b.insn_start(0x1004);
    let n = b.get_reg(Reg(2));
    let left = b.add_imm(n, u64::MAX);
    b.set_reg(Reg(2), left);
    let stride = b.get_reg(Reg(1));
    let step = b.mul(left, stride);
    let r3 = b.get_reg(Reg(3));
    let base = b.add(r3, step);
    // Values live in their basic block: base, the sum and the count cross them in locals.
    let (base_l, sum_l, left_l) = (b.new_local(Type::I64), b.new_local(Type::I64), b.new_local(Type::I64));
    b.set_local(base_l, base);
    b.set_local(left_l, left);
    let r0 = b.get_reg(Reg(0));
    b.set_local(sum_l, r0);
    for &k in offsets {
        let next = b.create_bb();
        b.jump(next);
        b.switch_to(next);
        let base = b.get_local(base_l);
        let a = b.add_imm(base, k);
        let v = b.load(Type::I64, op, a);
        let sum = b.get_local(sum_l);
        let sum = b.add(sum, v);
        b.set_local(sum_l, sum);
    }
    let sum = b.get_local(sum_l);
    b.set_reg(Reg(0), sum);
    if call {
        let k = b.iconst(Type::I64, 2);
        b.call(1, &[k]);
    }
    let base = b.get_local(base_l);
    let a = b.add_imm(base, offsets[0]);
    b.store(op, a, sum);
    let (again, done) = (b.create_bb(), b.create_bb());
    let left = b.get_local(left_l);
    let more = b.icmp_imm(ferrite_ir::IntCC::Ne, left, 0);
    b.branch(more, again, done);
    b.switch_to(again);
    b.chain(body);
    b.switch_to(done);
    b.insn_start(0x1008);
    b.exit_direct(0x100c);
    blk
}

#[test]
fn page_caches_in_loops_match_the_interpreter() {
    let mut jits = [Jit::new(16 << 20).unwrap(), Jit::new(16 << 20).unwrap()];
    let boundaries = [0x11000, 0x2f000 + 0x1000, BSWAP_PAGE, CODE_PAGE, FAULT_BASE, 0];
    let shapes: [&[u64]; 3] = [&[0], &[8, 0, 4], &[u64::MAX - 3, 4, 0]];
    let mut cases = 0;
    for boundary in boundaries {
        for before in 0..20u64 {
            let base = boundary.wrapping_sub(before);
            for (s, shape) in shapes.iter().enumerate() {
                for size_log2 in [0, 2, 3] {
                    for (call, stride) in [(false, 0), (false, 8), (false, 8u64.wrapping_neg()), (false, 0x1008), (true, 8)] {
                        let block = cached_loop(shape, size_log2, call);
                        let regs = [0x1111_2222_3333_4444, stride, 5, base, base];
                        let what = || format!("base {base:#x} shape {shape:?} size {} call {call} stride {stride:#x}", 1 << size_log2);
                        cases += agree(&mut jits, &block, regs, s as u64, true, &what);
                    }
                }
            }
        }
    }
    assert!(cases > 2_000);
}
