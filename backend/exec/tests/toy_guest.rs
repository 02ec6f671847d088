//! End-to-end tests of the engine with a toy guest ISA over the IR's test CPU: translation,
//! block caching, tiering to the JIT, linking, self-modifying code and faults.

use ferrite_exec::{Engine, EngineConfig, Stop};
use ferrite_ir::testing::{TestMachine, DESC};
use ferrite_ir::{Block, Builder, GuestCpu, GuestDesc, IntCC, Reg, Type};
use ferrite_softmmu::{CpuHeader, Endian, MemOp};

/// Toy instruction encodings: `op | rd << 8 | imm16 << 16`, little-endian words.
fn insn(op: u32, rd: u32, imm: i16) -> u32 {
    op | (rd << 8) | ((imm as u16 as u32) << 16)
}
const ADDI: u32 = 1;
const BNEZ: u32 = 2; // relative branch in words
const LOAD: u32 = 3; // rd = mem64[r(imm)]
const STORE: u32 = 4; // mem32[r(imm)] = rd
const HALT: u32 = 5;
const JR: u32 = 6; // pc = r(rd)
const RAISE: u32 = 7;

struct Toy {
    m: TestMachine,
    halted: bool,
    faults: Vec<u64>,
    raises: Vec<u64>,
}

impl GuestCpu for Toy {
    fn env(&mut self) -> *mut CpuHeader {
        self.m.env()
    }
    fn desc(&self) -> &'static GuestDesc {
        &DESC
    }
    fn mode_key(&self) -> u64 {
        0
    }
    fn code_mmu_idx(&self) -> usize {
        0
    }
    fn translate(&self, vpc: u64, code: &[u8]) -> Block {
        let mut blk = Block::new(&DESC, vpc);
        let mut b = Builder::new(&mut blk);
        let mut pc = vpc;
        for w in code.chunks_exact(4).take(32) {
            let w = u32::from_le_bytes(w.try_into().unwrap());
            let (op, rd, imm) = (w & 0xff, Reg(((w >> 8) & 3) as u16), (w >> 16) as u16 as i16);
            b.insn_start(pc);
            match op {
                ADDI => {
                    let x = b.get_reg(rd);
                    let y = b.add_imm(x, imm as i64 as u64);
                    b.set_reg(rd, y);
                }
                BNEZ => {
                    let x = b.get_reg(rd);
                    let c = b.icmp_imm(IntCC::Ne, x, 0);
                    let (t, f) = (b.create_bb(), b.create_bb());
                    b.branch(c, t, f);
                    b.switch_to(t);
                    b.exit_direct(pc.wrapping_add((imm as i64 * 4) as u64));
                    b.switch_to(f);
                    b.exit_direct(pc + 4);
                    return blk;
                }
                LOAD => {
                    let a = b.get_reg(Reg(imm as u16 & 3));
                    let v = b.load(Type::I64, MemOp::new(3, false, Endian::Little, 0), a);
                    b.set_reg(rd, v);
                }
                STORE => {
                    let a = b.get_reg(Reg(imm as u16 & 3));
                    let v = b.get_reg(rd);
                    let v = b.trunc(Type::I32, v);
                    b.store(MemOp::new(2, false, Endian::Little, 0), a, v);
                }
                HALT => {
                    b.halt(pc + 4);
                    return blk;
                }
                JR => {
                    let a = b.get_reg(rd);
                    b.exit_dynamic(a);
                    return blk;
                }
                RAISE => {
                    let k = b.iconst(Type::I64, imm as u64);
                    b.raise(9, k);
                    return blk;
                }
                _ => panic!("bad toy insn {w:#x}"),
            }
            pc += 4;
        }
        b.exit_direct(pc);
        blk
    }
    fn on_raise(&mut self, pc: u64, code: u64, aux: u64) {
        assert_eq!(code, 9);
        self.raises.push(aux);
        self.m.cpu.hdr.pc = pc + 4;
    }
    fn on_fault(&mut self, pc: u64) {
        self.m.cpu.hdr.pending_exit = 0;
        self.faults.push(pc);
        self.m.cpu.hdr.pc = pc + 4;
    }
    fn on_halt(&mut self, pc: u64) {
        self.m.cpu.hdr.pc = pc;
        self.halted = true;
    }
    fn poll_interrupts(&mut self) -> bool {
        !self.halted
    }

    fn halted(&self) -> bool {
        self.halted
    }
}

fn toy(program: &[u32]) -> Toy {
    let m = TestMachine::new();
    let bytes: Vec<u8> = program.iter().flat_map(|w| w.to_le_bytes()).collect();
    m.space.write_ram(0x1000, &bytes).unwrap();
    let mut t = Toy { m, halted: false, faults: vec![], raises: vec![] };
    t.m.cpu.hdr.pc = 0x1000;
    t
}

fn engine(jit: bool) -> Engine {
    Engine::new(EngineConfig { jit, jit_threshold: 2, sync_compile: true, arena_bytes: 16 << 20, ..Default::default() }).unwrap()
}

fn counting_loop() -> Vec<u32> {
    vec![
        insn(ADDI, 1, 1000), // r1 = 1000
        insn(ADDI, 0, 3),    // loop: r0 += 3
        insn(ADDI, 1, -1),   //       r1 -= 1
        insn(BNEZ, 1, -2),   //       while r1 != 0
        insn(HALT, 0, 0),
    ]
}

#[test]
fn loop_runs_interpreted_and_compiled_with_the_same_result() {
    for jit in [false, true] {
        let mut t = toy(&counting_loop());
        let mut e = engine(jit);
        assert_eq!(e.run(&mut t), Stop::Halted);
        assert_eq!(t.m.cpu.r[0], 3000, "jit={jit}");
        assert_eq!(t.m.cpu.r[1], 0);
        assert_eq!(t.m.cpu.hdr.pc, 0x1014);
        if jit {
            assert!(e.stats.compiled_blocks >= 1, "{}", e.stats.report());
            // The loop branches to its own block's start, so it goes round inside the compiled
            // function: one entry, no return to the run loop per iteration.
            assert!(e.stats.jit_entries < 20, "looping in generated code, not re-entered: {}", e.stats.report());
        } else {
            assert_eq!(e.stats.compiled_blocks, 0);
        }
    }
}

#[test]
fn a_loop_of_two_blocks_runs_as_one_compiled_region() {
    let prog = [
        insn(ADDI, 1, 1000), // 0x1000: r1 = 1000
        insn(ADDI, 0, 3),    // 0x1004: A: r0 += 3
        insn(BNEZ, 3, 2),    // 0x1008:    r3 != 0 (always) -> B
        insn(HALT, 0, 0),    // 0x100c
        insn(ADDI, 1, -1),   // 0x1010: B: r1 -= 1
        insn(BNEZ, 1, -4),   // 0x1014:    while r1 != 0 -> A
        insn(HALT, 0, 0),    // 0x1018
    ];
    for jit in [false, true] {
        let mut t = toy(&prog);
        t.m.cpu.r[3] = 1;
        let mut e = engine(jit);
        assert_eq!(e.run(&mut t), Stop::Halted);
        assert_eq!((t.m.cpu.r[0], t.m.cpu.r[1], t.m.cpu.hdr.pc), (3000, 0, 0x101c), "jit={jit}");
        if jit {
            assert!(e.stats.region_members >= 1, "{}", e.stats.report());
            // A and B chain inside one function instead of through the run loop or links.
            assert!(e.stats.jit_entries < 20, "{}", e.stats.report());
        }
    }
}

#[test]
fn writing_code_drops_its_translation() {
    // Run a block that adds 1, then patch it to add 5 from guest code, then jump back to it.
    let prog = [
        insn(ADDI, 0, 1),      // 0x1000: r0 += 1
        insn(BNEZ, 3, 2),      // 0x1004: second time round (r3 != 0) skip to the halt
        insn(BNEZ, 2, 2),      // 0x1008: r2 != 0 -> go patch (0x1010)
        insn(HALT, 0, 0),      // 0x100c
        insn(STORE, 1, 2),     // 0x1010: mem32[r2] = r1  (the new instruction)
        insn(ADDI, 3, 1),      // 0x1014: r3 = 1
        insn(JR, 2, 0),        // 0x1018: jump to r2 (0x1000)
    ];
    for jit in [false, true] {
        let mut t = toy(&prog);
        t.m.cpu.r[1] = insn(ADDI, 0, 5) as u64;
        t.m.cpu.r[2] = 0x1000;
        let mut e = engine(jit);
        // Warm the first block up so it is compiled before it is overwritten.
        for _ in 0..3 {
            t.m.cpu.hdr.pc = 0x1000;
            t.m.cpu.r[0] = 0;
            t.m.cpu.r[3] = 1;
            t.halted = false;
            e.run(&mut t);
        }
        t.m.cpu.hdr.pc = 0x1000;
        t.m.cpu.r[0] = 0;
        t.m.cpu.r[3] = 0;
        t.halted = false;
        assert_eq!(e.run(&mut t), Stop::Halted);
        assert_eq!(t.m.cpu.r[0], 6, "old code added 1, the patched code 5 (jit={jit}): {}", e.stats.report());
        assert!(e.stats.invalidated_blocks >= 1);
    }
}

#[test]
fn faults_and_raises_reach_the_guest_with_precise_pcs() {
    let prog = [
        insn(ADDI, 0, 1),
        insn(LOAD, 1, 2), // r2 = 0xdead_0000: faults at 0x1004
        insn(ADDI, 0, 1),
        insn(RAISE, 0, 42), // at 0x100c
        insn(HALT, 0, 0),
    ];
    for jit in [false, true] {
        let mut e = engine(jit);
        for _ in 0..3 {
            let mut t = toy(&prog);
            t.m.cpu.r[2] = 0xdead_0000;
            assert_eq!(e.run(&mut t), Stop::Halted);
            assert_eq!(t.faults, vec![0x1004]);
            assert_eq!(t.raises, vec![42]);
            assert_eq!(t.m.cpu.r[0], 2);
        }
    }
}

#[test]
fn exit_requests_stop_a_chained_loop() {
    let prog = [insn(ADDI, 0, 1), insn(BNEZ, 0, -1)]; // loops "forever"
    let mut t = toy(&prog);
    let mut e = engine(true);
    let env = t.m.env() as usize;
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        // SAFETY: the CPU outlives the thread (joined below); exit_request is atomic.
        unsafe { (*(env as *mut CpuHeader)).request_exit(ferrite_softmmu::EXIT_REQ_EXTERNAL) };
    });
    assert_eq!(e.run(&mut t), Stop::Request(ferrite_softmmu::EXIT_REQ_EXTERNAL));
    stopper.join().unwrap();
    assert!(t.m.cpu.r[0] > 1000, "ran for a while: {}", t.m.cpu.r[0]);
}

#[test]
fn with_the_compiler_idle_straight_line_code_is_compiled_early_and_loops_wait() {
    let cfg = EngineConfig { jit: true, jit_threshold: 64, sync_compile: true, arena_bytes: 16 << 20, ..Default::default() };
    // A block that jumps through a register to another that branches back: no block leads
    // back to itself through direct exits, so neither is a loop the JIT could compile whole.
    let mut prog = vec![
        insn(ADDI, 1, 10), // 0x1000: r1 = 10
        insn(ADDI, 0, 1),  // 0x1004: r0 += 1
        insn(JR, 2, 0),    // 0x1008: to r2 (0x1040)
    ];
    prog.resize(16, insn(HALT, 0, 0));
    prog.extend([
        insn(ADDI, 1, -1), // 0x1040: r1 -= 1
        insn(BNEZ, 1, -16), // 0x1044: while r1 != 0 -> 0x1004
        insn(HALT, 0, 0),
    ]);
    let mut t = toy(&prog);
    t.m.cpu.r[2] = 0x1040;
    let mut e = Engine::new(cfg.clone()).unwrap();
    assert_eq!(e.run(&mut t), Stop::Halted);
    assert_eq!(t.m.cpu.r[0], 10);
    assert!(e.stats.compiled_blocks >= 1, "ten runs, well under the threshold, were enough: {}", e.stats.report());

    // The same number of runs of a loop: it waits for the full threshold (and its region).
    let mut t = toy(&[insn(ADDI, 1, 10), insn(ADDI, 0, 3), insn(ADDI, 1, -1), insn(BNEZ, 1, -2), insn(HALT, 0, 0)]);
    let mut e = Engine::new(cfg).unwrap();
    assert_eq!(e.run(&mut t), Stop::Halted);
    assert_eq!(t.m.cpu.r[0], 30);
    assert_eq!(e.stats.compiled_blocks, 0, "{}", e.stats.report());
}

#[test]
fn warm_blocks_run_as_baseline_code_until_cranelift_code_replaces_them() {
    // (Early compiles while the compile thread is idle start at 1000 / 16 runs.)
    let cfg = EngineConfig { jit: true, jit_threshold: 1000, baseline_runs: 2, sync_compile: true, arena_bytes: 16 << 20, ..Default::default() };
    // A loop of two blocks (the second jumps back through a register, so no region forms):
    // 30 iterations make it warm, not hot.
    let looped = |n: i16| {
        let mut prog = vec![
            insn(ADDI, 1, n),  // 0x1000: r1 = n
            insn(ADDI, 0, 1),  // 0x1004: r0 += 1
            insn(JR, 2, 0),    // 0x1008: to r2 (0x1040)
        ];
        prog.resize(16, insn(HALT, 0, 0));
        prog.extend([insn(ADDI, 1, -1), insn(BNEZ, 1, -16), insn(HALT, 0, 0)]);
        let mut t = toy(&prog);
        t.m.cpu.r[2] = 0x1040;
        t
    };
    let mut t = looped(30);
    let mut e = Engine::new(cfg.clone()).unwrap();
    assert_eq!(e.run(&mut t), Stop::Halted);
    assert_eq!(t.m.cpu.r[0], 30);
    assert!(e.stats.baseline_blocks >= 2, "{}", e.stats.report());
    assert_eq!(e.stats.compiled_blocks, 0, "{}", e.stats.report());
    assert!(e.stats.interp_runs <= 6, "each block is interpreted at most twice: {}", e.stats.report());

    // 5000 iterations: the blocks get hot and Cranelift's code takes over, links included.
    let mut t = looped(5000);
    let mut e = Engine::new(cfg).unwrap();
    assert_eq!(e.run(&mut t), Stop::Halted);
    assert_eq!(t.m.cpu.r[0], 5000);
    assert!(e.stats.compiled_blocks >= 2, "{}", e.stats.report());
    assert!(e.stats.jit_entries < 200, "the loop ran chained, not from the run loop: {}", e.stats.report());
}

#[test]
fn code_compiled_in_the_background_takes_over_a_loop_chained_in_baseline_code() {
    // A self-loop runs as baseline code linked to itself, so it never comes back to the run
    // loop by itself; when Cranelift's code for it is ready, the compile thread makes it.
    let cfg = EngineConfig { jit: true, jit_threshold: 100, baseline_runs: 2, arena_bytes: 16 << 20, ..Default::default() };
    let mut t = toy(&[insn(ADDI, 0, 1), insn(ADDI, 1, -1), insn(BNEZ, 1, -2), insn(HALT, 0, 0)]);
    t.m.cpu.r[1] = 20_000_000;
    let mut e = Engine::new(cfg).unwrap();
    let start = std::time::Instant::now();
    assert_eq!(e.run(&mut t), Stop::Halted);
    assert_eq!(t.m.cpu.r[0], 20_000_000);
    assert!(e.stats.requests[4] >= 1, "the compile thread asked for its code to be installed: {}", e.stats.report());
    assert!(e.stats.compiled_blocks >= 1, "{}", e.stats.report());
    eprintln!("20M iterations in {:?}", start.elapsed());
}

#[test]
fn stores_next_to_code_do_not_leave_the_block_and_stores_into_its_lines_do() {
    // A loop storing r0 to r3's address 20 times.
    let looped = [insn(ADDI, 1, 20), insn(STORE, 0, 3), insn(ADDI, 1, -1), insn(BNEZ, 1, -2), insn(HALT, 0, 0)];
    for jit in [false, true] {
        // Far from the code's lines, on its page: no exit, nothing dropped.
        let mut t = toy(&looped);
        t.m.cpu.r[3] = 0x1800;
        let mut e = engine(jit);
        assert_eq!(e.run(&mut t), Stop::Halted);
        assert_eq!(e.stats.requests[2], 0, "no code-write exits: {}", e.stats.report());
        assert_eq!(e.stats.invalidated_blocks, 0, "{}", e.stats.report());

        // Onto the HALT at 0x1010 (rewriting it with itself), in the loop's line: each store
        // leaves the block, the HALT block is dropped, and the loop still ends right.
        let mut t = toy(&looped);
        t.m.cpu.r[3] = 0x1010;
        t.m.cpu.r[0] = insn(HALT, 0, 0) as u64;
        let mut e = engine(jit);
        assert_eq!(e.run(&mut t), Stop::Halted);
        assert_eq!(t.m.cpu.r[1], 0);
        assert!(e.stats.requests[2] >= 1, "{}", e.stats.report());
        assert!(e.stats.invalidated_blocks >= 1, "{}", e.stats.report());
    }
}

#[test]
fn a_full_code_arena_is_flushed_and_the_guest_goes_on() {
    // 300 one-instruction blocks (each ends with a taken branch to the next), run 3 times:
    // their baseline code does not fit a 64 KiB arena.
    const N: usize = 300;
    let mut prog = vec![insn(ADDI, 2, 3)];
    for _ in 0..N {
        prog.extend([insn(ADDI, 0, 1), insn(BNEZ, 2, 1)]);
    }
    prog.extend([insn(ADDI, 2, -1), insn(BNEZ, 2, -(2 * N as i16) - 1), insn(HALT, 0, 0)]);
    let mut t = toy(&prog);
    let cfg = EngineConfig { jit: true, jit_threshold: 1000, baseline_runs: 2, sync_compile: true, arena_bytes: 64 << 10, ..Default::default() };
    let mut e = Engine::new(cfg).unwrap();
    assert_eq!(e.run(&mut t), Stop::Halted);
    assert_eq!(t.m.cpu.r[0], 3 * N as u64);
    assert!(e.stats.flushes >= 1, "{}", e.stats.report());
    assert!(e.stats.baseline_blocks as usize * 300 > 64 << 10, "more code than the arena holds: {}", e.stats.report());
}

/// Deterministic mode with the interpreter only, tier 1 only (Cranelift never), and all tiers.
fn counting_engines() -> [(&'static str, EngineConfig); 3] {
    let cfg = EngineConfig { count_insns: true, sync_compile: true, arena_bytes: 16 << 20, ..Default::default() };
    [
        ("interpreter", EngineConfig { jit: false, ..cfg.clone() }),
        ("tier 1", EngineConfig { jit_threshold: u32::MAX, baseline_runs: 2, ..cfg.clone() }),
        ("all tiers", EngineConfig { jit_threshold: 100, baseline_runs: 2, ..cfg }),
    ]
}

#[test]
fn deterministic_runs_stop_at_the_same_instruction_in_every_tier() {
    // 4 instructions into the loop's block, then 500 iterations of 3, then one more: the
    // budget ends after the `r0 += 3` of iteration 502, in the middle of a block.
    for (name, cfg) in counting_engines() {
        let mut t = toy(&counting_loop());
        let mut e = Engine::new(cfg).unwrap();
        t.m.cpu.hdr.icount_budget = 4 + 3 * 500 + 1;
        assert_eq!(e.run(&mut t), Stop::Budget, "{name}");
        assert_eq!((t.m.cpu.hdr.pc, t.m.cpu.r[0], t.m.cpu.r[1], t.m.cpu.hdr.icount_budget), (0x1008, 3 * 502, 499, 0), "{name}: {}", e.stats.report());
        match name {
            "interpreter" => assert_eq!(e.stats.baseline_blocks + e.stats.compiled_blocks, 0),
            "tier 1" => {
                assert!(e.stats.baseline_blocks >= 1 && e.stats.compiled_blocks == 0, "{name}: {}", e.stats.report());
                assert!(e.stats.interp_runs <= 4, "the loop ran as baseline code: {}", e.stats.report());
            }
            _ => assert!(e.stats.compiled_blocks >= 1, "{name}: {}", e.stats.report()),
        }
        // The rest: 499 iterations less the instruction already run, then the halt.
        t.m.cpu.hdr.icount_budget = 1 << 20;
        assert_eq!(e.run(&mut t), Stop::Halted, "{name}");
        assert_eq!((t.m.cpu.hdr.pc, t.m.cpu.r[0], t.m.cpu.r[1]), (0x1014, 3000, 0), "{name}");
        assert_eq!((1 << 20) - t.m.cpu.hdr.icount_budget, 3 * 499 - 1 + 1, "{name}: instructions run");
    }
}

#[test]
fn deterministic_runs_charge_faulting_and_raising_blocks_for_completed_instructions_only() {
    let prog = [
        insn(ADDI, 0, 1),
        insn(LOAD, 1, 2), // faults at 0x1004: 1 instruction completed
        insn(ADDI, 0, 1),
        insn(RAISE, 0, 42), // at 0x100c: 1 completed
        insn(HALT, 0, 0),   // 1
    ];
    for (name, cfg) in counting_engines() {
        let mut e = Engine::new(cfg).unwrap();
        for run in 0..5 {
            let mut t = toy(&prog);
            t.m.cpu.r[2] = 0xdead_0000;
            t.m.cpu.hdr.icount_budget = 100;
            assert_eq!(e.run(&mut t), Stop::Halted, "{name}");
            assert_eq!((t.faults.as_slice(), t.raises.as_slice(), t.m.cpu.r[0]), (&[0x1004][..], &[42][..], 2), "{name}");
            assert_eq!(t.m.cpu.hdr.icount_budget, 97, "{name}, run {run}: {}", e.stats.report());
        }
        if name == "tier 1" {
            assert!(e.stats.baseline_blocks >= 3, "{}", e.stats.report());
        }
    }
}
