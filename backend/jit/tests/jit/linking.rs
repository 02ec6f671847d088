//! Block chaining through link slots and the jump cache, and the block prologue (exit
//! requests and the instruction budget).

use super::common::enter;
use ferrite_ir::testing::{TestMachine, DESC};
use ferrite_ir::{Block, Builder, Exit, Reg, Type};
use ferrite_jit::{CompileOptions, Compiled, Jit};
use ferrite_softmmu::{CpuHeader, JumpCacheEntry, EXIT_REQ_EXTERNAL};
use std::sync::atomic::Ordering;

const A: u64 = 0x1000;
const B: u64 = 0x2000;

/// A: r0 += 1, then to B. B: r1 += r0, then to A.
fn ping_pong() -> (Block, Block) {
    let mut a = Block::new(&DESC, A);
    let mut bb = Builder::new(&mut a);
    bb.insn_start(A);
    let x = bb.get_reg(Reg(0));
    let x = bb.add_imm(x, 1);
    bb.set_reg(Reg(0), x);
    bb.exit_direct(B);
    let mut b = Block::new(&DESC, B);
    let mut bb = Builder::new(&mut b);
    bb.insn_start(B);
    let x = bb.get_reg(Reg(0));
    let y = bb.get_reg(Reg(1));
    let s = bb.add(x, y);
    bb.set_reg(Reg(1), s);
    bb.exit_direct(A);
    (a, b)
}

fn link(from: &Compiled, index: u32, to: &Compiled) {
    assert!(index < from.n_slots);
    // SAFETY: the slot lies in the arena, 8-byte aligned, and lives as long as the code.
    unsafe { (*((from.slots + 8 * index as u64) as *const std::sync::atomic::AtomicU64)).store(to.entry, Ordering::Release) };
}

/// Checks the ping-pong invariant: with n increments, r1 = 1 + 2 + ... (n or n - 1).
fn check_sums(m: &TestMachine, exit: Exit) {
    let n = m.cpu.r[0];
    let expect = match exit.pc() {
        A => n * (n + 1) / 2,
        B => (n - 1) * n / 2,
        pc => panic!("left at {pc:#x}"),
    };
    assert_eq!(m.cpu.r[1], expect, "r0 = {n}");
}

#[test]
fn linked_blocks_loop_until_the_instruction_budget_runs_out() {
    let mut jit = Jit::new(1 << 20).unwrap();
    let (a, b) = ping_pong();
    let opts = CompileOptions { count_insns: true, mode_key: 0, optimize: false, ..CompileOptions::default() };
    let (ca, cb) = (jit.compile(&a, &opts).unwrap(), jit.compile(&b, &opts).unwrap());
    link(&ca, 0, &cb);
    link(&cb, 0, &ca);
    let mut m = TestMachine::new();
    // Two million block entries: a host stack frame per block would overflow the stack.
    m.cpu.hdr.icount_budget = 2_000_001;
    let exit = enter(&jit, ca.entry, ca.slots, &mut m, &a);
    assert_eq!(exit, Exit::Request { pc: B });
    assert_eq!(m.cpu.r[0], 1_000_001);
    assert_eq!(m.cpu.hdr.icount_budget, 0, "the refused block gives its budget back");
    check_sums(&m, exit);

    // Unlinked, A leaves through its direct exit.
    link(&ca, 0, &Compiled { entry: 0, slots: 0, n_slots: 0, code_size: 0 });
    m.cpu.hdr.icount_budget = 100;
    let exit = enter(&jit, ca.entry, ca.slots, &mut m, &a);
    assert_eq!(exit, Exit::Direct { pc: B, index: u32::MAX });
    assert_eq!(m.cpu.hdr.icount_budget, 99);
}

#[test]
fn linked_blocks_loop_until_another_thread_requests_an_exit() {
    let mut jit = Jit::new(1 << 20).unwrap();
    let (a, b) = ping_pong();
    let opts = CompileOptions::default();
    let (ca, cb) = (jit.compile(&a, &opts).unwrap(), jit.compile(&b, &opts).unwrap());
    link(&ca, 0, &cb);
    link(&cb, 0, &ca);
    let mut m = TestMachine::new();
    let hdr = m.env() as usize;
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        // SAFETY: the CPU outlives the thread (joined below); exit_request is atomic.
        unsafe { (*(hdr as *const CpuHeader)).request_exit(EXIT_REQ_EXTERNAL) };
    });
    let exit = enter(&jit, ca.entry, ca.slots, &mut m, &a);
    stopper.join().unwrap();
    assert!(matches!(exit, Exit::Request { .. }));
    assert!(m.cpu.r[0] > 1000, "only {} iterations", m.cpu.r[0]);
    check_sums(&m, exit);
    assert_eq!(m.cpu.hdr.exit_request.load(Ordering::Relaxed), EXIT_REQ_EXTERNAL, "the block does not clear requests");
}

#[test]
fn budget_too_small_refuses_the_block_without_side_effects() {
    let mut jit = Jit::new(1 << 20).unwrap();
    let (a, _) = ping_pong();
    let c = jit.compile(&a, &CompileOptions { count_insns: true, mode_key: 0, optimize: false, ..CompileOptions::default() }).unwrap();
    let mut m = TestMachine::new();
    m.cpu.hdr.icount_budget = 0;
    assert_eq!(enter(&jit, c.entry, c.slots, &mut m, &a), Exit::Request { pc: A });
    assert_eq!((m.cpu.r[0], m.cpu.hdr.icount_budget), (0, 0));
    m.cpu.hdr.icount_budget = 1;
    assert_eq!(enter(&jit, c.entry, c.slots, &mut m, &a), Exit::Direct { pc: B, index: u32::MAX });
    assert_eq!((m.cpu.r[0], m.cpu.hdr.icount_budget), (1, 0));
    // Without count_insns the budget is neither checked nor spent.
    let c = jit.compile(&a, &CompileOptions::default()).unwrap();
    m.cpu.hdr.icount_budget = -5;
    assert_eq!(enter(&jit, c.entry, c.slots, &mut m, &a), Exit::Direct { pc: B, index: u32::MAX });
    assert_eq!((m.cpu.r[0], m.cpu.hdr.icount_budget), (2, -5));
}

fn jump_cache_slot(pc: u64) -> usize {
    ferrite_softmmu::jump_cache_index(pc)
}

#[test]
fn dynamic_exits_tail_call_jump_cache_hits_of_the_same_mode() {
    const KEY: u64 = 0x1234_5678_9abc_def0;
    const TARGET: u64 = 0x7000_0124;
    let mut jit = Jit::new(1 << 20).unwrap();
    // C: r1 = 5, leave for the PC in r2.
    let mut c = Block::new(&DESC, 0x3000);
    let mut b = Builder::new(&mut c);
    b.insn_start(0x3000);
    let k = b.iconst(Type::I64, 5);
    b.set_reg(Reg(1), k);
    let t = b.get_reg(Reg(2));
    b.exit_dynamic(t);
    // D: r3 = r1 + 37, halt.
    let mut d = Block::new(&DESC, TARGET);
    let mut b = Builder::new(&mut d);
    b.insn_start(TARGET);
    let x = b.get_reg(Reg(1));
    let x = b.add_imm(x, 37);
    b.set_reg(Reg(3), x);
    b.halt(TARGET + 4);
    let opts = CompileOptions { count_insns: false, mode_key: KEY, optimize: false, ..CompileOptions::default() };
    let (cc, cd) = (jit.compile(&c, &opts).unwrap(), jit.compile(&d, &opts).unwrap());
    let other_mode = jit.compile(&c, &CompileOptions { count_insns: false, mode_key: KEY ^ 1, optimize: false, ..CompileOptions::default() }).unwrap();

    let mut m = TestMachine::new();
    m.cpu.r[2] = TARGET;
    let slot = jump_cache_slot(TARGET);
    m.cpu.hdr.set_jump_cache(slot, JumpCacheEntry { vpc: TARGET, key: KEY, code: cd.entry, block: 0 }, None);
    assert_eq!(enter(&jit, cc.entry, cc.slots, &mut m, &c), Exit::Halt { pc: TARGET + 4 });
    assert_eq!(m.cpu.r[3], 42, "D ran after C's registers were stored");

    // Misses: another mode, another PC in the same entry, an entry without code.
    m.cpu.r[3] = 0;
    assert_eq!(enter(&jit, other_mode.entry, other_mode.slots, &mut m, &c), Exit::Dynamic { pc: TARGET });
    let aliased = (1..).map(|k| TARGET + 4 * k).find(|a| jump_cache_slot(*a) == slot).expect("an aliasing PC");
    m.cpu.r[2] = aliased;
    assert_eq!(jump_cache_slot(aliased), slot);
    assert_eq!(enter(&jit, cc.entry, cc.slots, &mut m, &c), Exit::Dynamic { pc: aliased });
    m.cpu.r[2] = TARGET;
    m.cpu.hdr.jump_cache[slot].code = 0;
    assert_eq!(enter(&jit, cc.entry, cc.slots, &mut m, &c), Exit::Dynamic { pc: TARGET });
    assert_eq!(m.cpu.r[3], 0);
    assert_eq!(m.cpu.hdr.pc, TARGET);
}

#[test]
fn exit_request_is_checked_before_anything_runs() {
    let mut jit = Jit::new(1 << 20).unwrap();
    let (a, _) = ping_pong();
    let c = jit.compile(&a, &CompileOptions::default()).unwrap();
    let mut m = TestMachine::new();
    m.cpu.hdr.request_exit(EXIT_REQ_EXTERNAL);
    assert_eq!(enter(&jit, c.entry, c.slots, &mut m, &a), Exit::Request { pc: A });
    assert_eq!(m.cpu.r[0], 0);
}

#[test]
fn arena_reports_full_and_recovers_after_reset() {
    let mut jit = Jit::new(64 << 10).unwrap();
    let (a, _) = ping_pong();
    let opts = CompileOptions::default();
    let mut n = 0;
    loop {
        match jit.compile(&a, &opts) {
            Ok(c) => {
                assert_eq!(c.entry % 16, 0);
                assert_eq!(c.slots % 8, 0);
                n += 1;
            }
            Err(ferrite_jit::JitError::ArenaFull) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(n < 10_000, "a 64 KiB arena never filled up");
    }
    assert!(n > 10);
    let used = jit.used_bytes();
    assert!(used <= 64 << 10 && used > 60 << 10, "{used}");
    jit.reset();
    assert_eq!(jit.used_bytes(), 0);
    let c = jit.compile(&a, &opts).unwrap();
    // SAFETY: the slot was just handed out.
    assert_eq!(unsafe { *(c.slots as *const u64) }, 0, "slots are zeroed even when memory is reused");
    let mut m = TestMachine::new();
    assert_eq!(enter(&jit, c.entry, c.slots, &mut m, &a), Exit::Direct { pc: B, index: u32::MAX });
}
