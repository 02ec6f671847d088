//! Interpreter speed on a guest-like block (run with `cargo bench -p ferrite-ir`).

use ferrite_ir::interp::{Interpreter, Program};
use ferrite_ir::testing::{TestMachine, DESC};
use ferrite_ir::{opt, Block, Builder, IntCC, Reg, Type};
use ferrite_softmmu::{Endian, MemOp};
use std::time::Instant;

/// `lwz r3,0(r0); addi r0,r0,4; add r1,r1,r3; cmp r0,r2 -> w; bne` repeated `n` times.
fn guest_like(n: usize) -> Block {
    let mut blk = Block::new(&DESC, 0x1000);
    let mut b = Builder::new(&mut blk);
    let be32 = MemOp::new(2, false, Endian::Big, 0);
    let mut pc = 0x1000;
    for _ in 0..n {
        b.insn_start(pc);
        let a = b.get_reg(Reg(0));
        let v = b.load(Type::I32, be32, a);
        let v = b.zext(Type::I64, v);
        b.set_reg(Reg(3), v);
        b.insn_start(pc + 4);
        let a = b.get_reg(Reg(0));
        let a = b.add_imm(a, 4);
        b.set_reg(Reg(0), a);
        b.insn_start(pc + 8);
        let x = b.get_reg(Reg(1));
        let y = b.get_reg(Reg(3));
        let s = b.add(x, y);
        b.set_reg(Reg(1), s);
        b.insn_start(pc + 12);
        let a = b.get_reg(Reg(0));
        let l = b.get_reg(Reg(2));
        let lt = b.icmp(IntCC::Slt, a, l);
        let gt = b.icmp(IntCC::Sgt, a, l);
        let eq = b.icmp(IntCC::Eq, a, l);
        let lt = b.shl_imm(lt, 3);
        let gt = b.shl_imm(gt, 2);
        let eq = b.shl_imm(eq, 1);
        let f = b.or(lt, gt);
        let f = b.or(f, eq);
        let f = b.zext(Type::I32, f);
        b.set_reg(Reg(4), f);
        pc += 16;
    }
    b.exit_direct(pc);
    blk
}

fn main() {
    let mut blk = guest_like(4);
    opt::optimize(&mut blk);
    let mut m = TestMachine::new();
    let mut it = Interpreter::new();
    let prog = Program::new(&blk);
    let iters = 1_000_000;
    let t = Instant::now();
    for _ in 0..iters {
        m.cpu.r[0] = 0x2000;
        // SAFETY: the test machine matches DESC.
        unsafe { it.run_program(&prog, m.env()) };
    }
    let ns = t.elapsed().as_nanos() as f64 / iters as f64;
    println!(
        "interpreter: {:.1} ns/block, {:.2} ns per guest insn ({} insns), {:.2} ns per IR inst ({} live)",
        ns,
        ns / blk.n_insns as f64,
        blk.n_insns,
        ns / blk.live_inst_count() as f64,
        blk.live_inst_count()
    );
}
