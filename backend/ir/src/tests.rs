//! Tests of the builder, verifier, printer, passes and interpreter on the test guest.

use crate::testing::{TestMachine, DESC};
use crate::{interp::Interpreter, opt, print_block, verify, Block, Builder, Exit, IntCC, Reg, Type};
use ferrite_softmmu::{Endian, MemOp};

const R0: Reg = Reg(0);
const R1: Reg = Reg(1);
const R2: Reg = Reg(2);
const W: Reg = Reg(4);

fn run(block: &Block, m: &mut TestMachine) -> Exit {
    verify(block).unwrap();
    // SAFETY: the test machine's CPU matches DESC.
    unsafe { Interpreter::new().run(block, m.env()) }
}

#[test]
fn arithmetic_registers_and_exit() {
    let mut blk = Block::new(&DESC, 0x1000);
    let mut b = Builder::new(&mut blk);
    b.insn_start(0x1000);
    let x = b.get_reg(R0);
    let y = b.add_imm(x, 5);
    b.set_reg(R1, y);
    let t = b.trunc(Type::I32, y);
    let s = b.shl_imm(t, 31);
    b.set_reg(W, s);
    b.exit_direct(0x1004);
    let mut m = TestMachine::new();
    m.cpu.r[0] = 10;
    let e = run(&blk, &mut m);
    assert_eq!(e, Exit::Direct { pc: 0x1004, index: u32::MAX });
    assert_eq!(m.cpu.r[1], 15);
    assert_eq!(m.cpu.w, 0x8000_0000);
    assert_eq!(m.cpu.hdr.pc, 0x1004);
}

#[test]
fn values_live_across_a_void_helper_call_survive_it() {
    let mut blk = Block::new(&DESC, 0x1000);
    let mut b = Builder::new(&mut blk);
    b.insn_start(0x1000);
    let x = b.get_reg(R0);
    b.call(crate::testing::BUMP, &[]);
    b.set_reg(R1, x);
    b.exit_direct(0x1004);
    let mut m = TestMachine::new();
    m.cpu.r[0] = 1234;
    run(&blk, &mut m);
    assert_eq!(m.cpu.helper_calls, 1);
    assert_eq!(m.cpu.r[1], 1234);
}

#[test]
fn branches_and_locals_carry_values_across_basic_blocks() {
    let mut blk = Block::new(&DESC, 0);
    let mut b = Builder::new(&mut blk);
    let l = b.new_local(Type::I64);
    let then = b.create_bb();
    let els = b.create_bb();
    let join = b.create_bb();
    b.insn_start(0);
    let x = b.get_reg(R0);
    let c = b.icmp_imm(IntCC::Slt, x, 0);
    b.branch(c, then, els);
    b.switch_to(then);
    let k = b.iconst(Type::I64, 111);
    b.set_local(l, k);
    b.jump(join);
    b.switch_to(els);
    let k = b.iconst(Type::I64, 222);
    b.set_local(l, k);
    b.jump(join);
    b.switch_to(join);
    let v = b.get_local(l);
    b.set_reg(R1, v);
    let pc = b.iconst(Type::I64, 0x40);
    b.exit_dynamic(pc);
    let mut m = TestMachine::new();
    m.cpu.r[0] = (-3i64) as u64;
    assert_eq!(run(&blk, &mut m), Exit::Dynamic { pc: 0x40 });
    assert_eq!(m.cpu.r[1], 111);
    m.cpu.r[0] = 3;
    run(&blk, &mut m);
    assert_eq!(m.cpu.r[1], 222);
}

#[test]
fn memory_faults_leave_precise_state() {
    let mut blk = Block::new(&DESC, 0x100);
    let mut b = Builder::new(&mut blk);
    let be32 = MemOp::new(2, false, Endian::Big, 0);
    b.insn_start(0x100);
    let a = b.get_reg(R0);
    let v = b.iconst(Type::I32, 0xcafe_f00d);
    b.store(be32, a, v);
    b.insn_start(0x104);
    let one = b.iconst(Type::I64, 1);
    b.set_reg(R2, one);
    b.insn_start(0x108);
    let bad = b.get_reg(R1);
    let x = b.load(Type::I32, be32, bad);
    let x = b.zext(Type::I64, x);
    b.set_reg(R3, x);
    b.exit_direct(0x10c);
    const R3: Reg = Reg(3);
    let mut m = TestMachine::new();
    m.cpu.r[0] = 0x2000;
    m.cpu.r[1] = 0xdead_0000;
    assert_eq!(run(&blk, &mut m), Exit::Fault { pc: 0x108 });
    assert_eq!(m.cpu.r[2], 1, "writes before the fault happened");
    assert_eq!(m.cpu.r[3], 0, "the faulting instruction did not complete");
    assert_eq!(m.cpu.hdr.exit_insns, 2);
    let mut word = [0u8; 4];
    m.space.read_ram(0x2000, &mut word).unwrap();
    assert_eq!(word, [0xca, 0xfe, 0xf0, 0x0d]);
    m.cpu.hdr.pending_exit = 0;
    m.cpu.r[1] = 0x2000;
    assert_eq!(run(&blk, &mut m), Exit::Direct { pc: 0x10c, index: u32::MAX });
    assert_eq!(m.cpu.r[3], 0xcafe_f00d);
}

#[test]
fn helpers_run_and_may_raise() {
    let mut blk = Block::new(&DESC, 0);
    let mut b = Builder::new(&mut blk);
    b.insn_start(0);
    let a = b.get_reg(R0);
    let k = b.iconst(Type::I64, 2);
    let r = b.call(0, &[a, k, k]);
    b.set_reg(R1, r);
    let aux = b.iconst(Type::I64, 9);
    b.raise(77, aux);
    let mut m = TestMachine::new();
    m.cpu.r[0] = 1;
    assert_eq!(run(&blk, &mut m), Exit::Raise { pc: 0, code: 77, aux: 9 });
    assert_eq!(m.cpu.r[1], 5);
    m.cpu.r[0] = 0xdead;
    assert_eq!(run(&blk, &mut m), Exit::Fault { pc: 0 });
}

#[test]
fn verifier_rejects_broken_blocks() {
    let mut blk = Block::new(&DESC, 0);
    let mut b = Builder::new(&mut blk);
    let x = b.get_reg(R0);
    let y = b.iconst(Type::I32, 1);
    b.add(x, y);
    b.exit_direct(0);
    assert!(verify(&blk).unwrap_err().msg.contains("operand"));

    let mut blk = Block::new(&DESC, 0);
    let mut b = Builder::new(&mut blk);
    let other = b.create_bb();
    let x = b.get_reg(R0);
    b.jump(other);
    b.switch_to(other);
    b.set_reg(R1, x);
    b.exit_direct(0);
    assert!(verify(&blk).unwrap_err().msg.contains("not defined earlier"));

    let mut blk = Block::new(&DESC, 0);
    let mut b = Builder::new(&mut blk);
    b.get_reg(R0);
    assert!(verify(&blk).unwrap_err().msg.contains("missing terminator"));
}

#[test]
fn passes_forward_fold_and_drop_dead_writes() {
    let mut blk = Block::new(&DESC, 0);
    let mut b = Builder::new(&mut blk);
    b.insn_start(0);
    let x = b.get_reg(R0);
    let two = b.iconst(Type::I64, 2);
    let three = b.iconst(Type::I64, 3);
    let five = b.add(two, three);
    let y = b.add(x, five);
    b.set_reg(R1, y);
    b.insn_start(4);
    let again = b.get_reg(R1);
    let z = b.mul(again, two);
    b.set_reg(R1, z);
    b.exit_direct(8);
    let before = print_block(&blk);
    opt::optimize(&mut blk);
    let after = print_block(&blk);
    assert_eq!(after.matches("set_reg").count(), 1, "first write to r1 is dead:\n{after}");
    assert_eq!(after.matches("get_reg").count(), 1, "r1 is forwarded:\n{after}");
    assert!(after.contains("const.i64 0x5"), "2+3 folded:\n{before}\n{after}");
    let mut m = TestMachine::new();
    m.cpu.r[0] = 1;
    run(&blk, &mut m);
    assert_eq!(m.cpu.r[1], 12);
}

#[test]
fn printer_shows_names() {
    let mut blk = Block::new(&DESC, 0x10);
    let mut b = Builder::new(&mut blk);
    b.insn_start(0x10);
    let x = b.get_reg(W);
    let k = b.iconst(Type::I32, 7);
    let s = b.sub(x, k);
    b.set_reg(W, s);
    b.exit_direct(0x14);
    let text = print_block(&blk);
    assert_eq!(
        text,
        "block 0x10 insns=1\nbb0:\n  insn_start 0x10\n  v1 = get_reg.i32 w\n  v2 = const.i32 0x7\n  v3 = sub.i32 v1, v2\n  set_reg.i32 w, v3\n  exit_direct 0x14\n"
    );
}

#[test]
fn docs_name_every_opcode() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/ir.md")).unwrap();
    for op in crate::Opcode::ALL {
        assert!(doc.contains(&format!("`{}`", op.name())), "docs/ir.md does not describe `{}`", op.name());
    }
}
