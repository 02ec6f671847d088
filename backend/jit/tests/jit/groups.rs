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

#[test]
fn grouped_accesses_across_page_boundaries_match_the_interpreter() {
    let mut plain = Jit::new(16 << 20).unwrap();
    let mut optimizing = Jit::new(16 << 20).unwrap();
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
                            for (jit, optimize) in [(&mut plain, false), (&mut optimizing, true)] {
                                let mut a = machine(regs, s as u64);
                                let mut b = machine(regs, s as u64);
                                let ea = run_interp(&block, &mut a);
                                let opts = CompileOptions { optimize, ..CompileOptions::default() };
                                let eb = run_jit(jit, &block, &mut b, &opts);
                                let (oa, ob) = (outcome(&a, ea), outcome(&b, eb));
                                let ram = ram_difference(&a, &b);
                                assert!(
                                    oa == ob && ram.is_none(),
                                    "base {base:#x} shape {shape:?} size {} narrow {narrow} stores first {store_first} optimize {optimize}:\ninterpreter {oa:#x?}\njit {ob:#x?}\nRAM {ram:x?}\n{}",
                                    1 << size_log2,
                                    ferrite_ir::print_block(&block)
                                );
                                cases += 1;
                                if jit.used_bytes() > 12 << 20 {
                                    jit.reset();
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(cases > 10_000);
}
