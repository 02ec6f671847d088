//! Regions: guest blocks merged with `ferrite_ir::region::merge` run as one function, with
//! the same results as the interpreter, precise state at faults inside any member, and
//! loops through members that another thread can stop.

use super::common::{machine, outcome, ram_difference, run_interp, run_jit, FAULT_BASE};
use ferrite_ir::region::merge;
use ferrite_ir::testing::DESC;
use ferrite_ir::{Block, Builder, Exit, IntCC, Reg, Type};
use ferrite_jit::{CompileOptions, Jit};
use ferrite_softmmu::{CpuHeader, Endian, MemOp, EXIT_REQ_EXTERNAL};
use std::sync::atomic::Ordering;

const A: u64 = 0x1000;
const B: u64 = 0x1100;
const DONE: u64 = 0x9000;

/// A: r0 += 1; leave for DONE once r0 reaches `limit`, else go to B.
fn block_a(limit: u64) -> Block {
    let mut blk = Block::new(&DESC, A);
    let mut b = Builder::new(&mut blk);
    let (out, on) = (b.create_bb(), b.create_bb());
    b.insn_start(A);
    let x = b.get_reg(Reg(0));
    let x = b.add_imm(x, 1);
    b.set_reg(Reg(0), x);
    b.insn_start(A + 4);
    let c = b.icmp_imm(IntCC::Eq, x, limit);
    b.branch(c, out, on);
    b.switch_to(out);
    b.exit_direct(DONE);
    b.switch_to(on);
    b.exit_direct(B);
    blk
}

/// B: r1 += load64(r2); r2 += 8; back to A.
fn block_b() -> Block {
    let mut blk = Block::new(&DESC, B);
    let mut b = Builder::new(&mut blk);
    b.insn_start(B);
    let p = b.get_reg(Reg(2));
    let v = b.load(Type::I64, MemOp::new(3, false, Endian::Big, 0), p);
    let s = b.get_reg(Reg(1));
    let s = b.add(s, v);
    b.set_reg(Reg(1), s);
    b.insn_start(B + 4);
    let p = b.add_imm(p, 8);
    b.set_reg(Reg(2), p);
    b.exit_direct(A);
    blk
}

fn compare(region: &Block, regs: [u64; 5]) -> Exit {
    let mut jit = Jit::new(1 << 20).unwrap();
    let (mut mi, mut mj) = (machine(regs, 7), machine(regs, 7));
    let ei = run_interp(region, &mut mi);
    let ej = run_jit(&mut jit, region, &mut mj, &CompileOptions::default());
    // Completed-instruction counts are exact only without regions (deterministic mode).
    let (mut oi, mut oj) = (outcome(&mi, ei), outcome(&mj, ej));
    (oi.exit_insns, oj.exit_insns) = (0, 0);
    assert_eq!(oi, oj);
    assert_eq!(ram_difference(&mi, &mj), None);
    ej
}

#[test]
fn a_region_loops_through_its_members_like_the_interpreter() {
    let region = merge(&[block_a(40), block_b()]);
    assert_eq!(region.insts.iter().filter(|i| i.op == ferrite_ir::Opcode::Chain).count(), 2);
    let exit = compare(&region, [0, 0, 0x10000, 0, 0]);
    assert_eq!(exit, Exit::Direct { pc: DONE, index: u32::MAX });
}

#[test]
fn a_fault_in_a_later_member_leaves_precise_state() {
    let region = merge(&[block_a(1000), block_b()]);
    // The tenth load of B reaches the faulting region.
    let exit = compare(&region, [0, 0, FAULT_BASE - 8 * 9, 0, 0]);
    assert_eq!(exit, Exit::Fault { pc: B });
}

#[test]
fn regions_are_refused_in_deterministic_mode() {
    let region = merge(&[block_a(40), block_b()]);
    let err = Jit::new(1 << 20).unwrap().compile(&region, &CompileOptions { count_insns: true, mode_key: 0, optimize: false, ..CompileOptions::default() });
    assert!(matches!(err, Err(ferrite_jit::JitError::Unsupported(_))), "{err:?}");
}

/// A block at `pc` that adds register `src` to register `dst` and goes to `next`.
fn adder(pc: u64, dst: u16, src: u16, next: u64) -> Block {
    let mut blk = Block::new(&DESC, pc);
    let mut b = Builder::new(&mut blk);
    b.insn_start(pc);
    let x = b.get_reg(Reg(dst));
    let y = b.get_reg(Reg(src));
    let s = b.add(x, y);
    b.set_reg(Reg(dst), s);
    b.exit_direct(next);
    blk
}

#[test]
fn a_region_that_loops_forever_stops_on_an_exit_request() {
    // Also optimised: the request check must not be merged with the prologue's or hoisted.
    for optimize in [false, true] {
        loop_until_requested(optimize);
    }
}

fn loop_until_requested(optimize: bool) {
    // A: r0 += r3 (= 1), B: r1 += r0; no exit but the chains.
    let region = merge(&[adder(A, 0, 3, B), adder(B, 1, 0, A)]);
    let mut jit = Jit::new(1 << 20).unwrap();
    let mut m = machine([0, 0, 0, 1, 0], 7);
    let hdr = m.env() as usize;
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        // SAFETY: the CPU outlives the thread (joined below); exit_request is atomic.
        unsafe { (*(hdr as *const CpuHeader)).request_exit(EXIT_REQ_EXTERNAL) };
    });
    let exit = run_jit(&mut jit, &region, &mut m, &CompileOptions { optimize, ..CompileOptions::default() });
    stopper.join().unwrap();
    let n = m.cpu.r[0];
    assert!(n > 1000, "only {n} iterations");
    // Registers are stored at the point the loop left: B has run n or n - 1 times.
    let expect = match exit {
        Exit::Request { pc: A } => n * (n + 1) / 2,
        Exit::Request { pc: B } => (n - 1) * n / 2,
        e => panic!("{e:?}"),
    };
    assert_eq!(m.cpu.r[1], expect);
    assert_eq!(m.cpu.hdr.pc, exit.pc());
    assert_eq!(m.cpu.hdr.exit_request.load(Ordering::Relaxed), EXIT_REQ_EXTERNAL, "the block does not clear requests");
}
