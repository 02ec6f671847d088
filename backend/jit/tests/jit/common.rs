//! Shared test machinery: machines with identical state, running a block on the interpreter
//! or the JIT, and comparing what each left behind.

use ferrite_ir::interp::{direct_exit_targets, Interpreter};
use ferrite_ir::testing::{TestCpu, TestMachine};
use ferrite_ir::{Block, Exit};
use ferrite_jit::{CompileOptions, Jit};
use ferrite_softmmu::{slow_path, Access, CpuHeader, TlbFill};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// RAM pages the generator uses, each filled with seeded bytes.
pub const DATA_PAGES: [u64; 9] = [0x10000, 0x11000, 0x12000, 0x13000, 0x20000, 0x2f000, 0x30000, 0x3f000, 0x40000];
/// Pages pre-loaded in the TLB of mode 0 (the others take the slow path first).
pub const WARM_PAGES: [u64; 7] = [0x10000, 0x11000, 0x12000, 0x2f000, 0x30000, 0x3f000, 0x40000];
/// A page whose TLB entries carry the byte-swap flag.
pub const BSWAP_PAGE: u64 = 0x30000;
/// A page holding "translated code": stores to it take the slow path and request an exit.
pub const CODE_PAGE: u64 = 0x40000;
/// Accesses to this 64 KiB region fault.
pub const FAULT_BASE: u64 = 0xdead_0000;

/// Identity MMU like the test guest's, plus a byte-swapped page.
unsafe fn fill(_env: *mut CpuHeader, vaddr: u64, _a: Access, _m: usize) -> Result<TlbFill, ()> {
    if vaddr >> 16 == FAULT_BASE >> 16 {
        return Err(());
    }
    Ok(TlbFill { phys: vaddr, prot: 7, page_size: 4096, bswap: vaddr & !0xfff == BSWAP_PAGE, global: true })
}

/// A test machine in a reproducible state: registers and data pages from `seed`.
pub fn machine(regs: [u64; 5], seed: u64) -> TestMachine {
    let mut m = TestMachine::new();
    // SAFETY: the header belongs to the machine's CPU, whose space outlives it.
    unsafe { CpuHeader::init_raw(m.env(), Arc::as_ptr(&m.space), fill) };
    m.cpu.r.copy_from_slice(&regs[..4]);
    m.cpu.w = regs[4] as u32;
    let mut x = seed | 1;
    for page in DATA_PAGES {
        let bytes: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        m.space.write_ram(page, &bytes).unwrap();
    }
    m.space.mark_code_page(CODE_PAGE);
    let env = m.env();
    for page in WARM_PAGES {
        // SAFETY: env is the machine's live CPU.
        unsafe {
            slow_path::probe(env, page, Access::Read, 0).unwrap();
            slow_path::probe(env, page, Access::Write, 0).unwrap();
        }
    }
    m
}

/// Everything a block may change, for comparison.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    pub exit: Exit,
    pub pc: u64,
    pub exit_insns: u64,
    pub exit_slot: u64,
    pub regs: [u64; 4],
    pub w: u32,
    pub helper_calls: u32,
    pub pending_exit: u32,
    pub exit_request: u32,
    pub dirty_code: Vec<(u64, u64)>,
}

pub fn outcome(m: &TestMachine, exit: Exit) -> Outcome {
    let c: &TestCpu = &m.cpu;
    Outcome {
        exit,
        pc: c.hdr.pc,
        exit_insns: c.hdr.exit_insns,
        exit_slot: c.hdr.exit_slot,
        regs: c.r,
        w: c.w,
        helper_calls: c.helper_calls,
        pending_exit: c.hdr.pending_exit,
        exit_request: c.hdr.exit_request.load(Ordering::Relaxed),
        dirty_code: m.space.take_dirty_code(),
    }
}

/// The first differing byte of the data pages, if any.
pub fn ram_difference(a: &TestMachine, b: &TestMachine) -> Option<(u64, u8, u8)> {
    for page in DATA_PAGES {
        let (mut x, mut y) = ([0u8; 4096], [0u8; 4096]);
        a.space.read_ram(page, &mut x).unwrap();
        b.space.read_ram(page, &mut y).unwrap();
        if let Some(i) = (0..4096).find(|&i| x[i] != y[i]) {
            return Some((page + i as u64, x[i], y[i]));
        }
    }
    None
}

/// Runs `block` on the interpreter.
pub fn run_interp(block: &Block, m: &mut TestMachine) -> Exit {
    // SAFETY: the test machine's CPU matches the test guest the block is written for.
    unsafe { Interpreter::new().run(block, m.env()) }
}

/// Compiles and runs `block`. Direct exits are reported with the interpreter's index
/// (`u32::MAX`) after checking the JIT's slot index names the same target.
pub fn run_jit(jit: &mut Jit, block: &Block, m: &mut TestMachine, opts: &CompileOptions) -> Exit {
    let c = jit.compile(block, opts).expect("compile");
    enter(jit, c.entry, c.slots, m, block)
}

/// Runs compiled code at `entry` (whose link slots are at `slots`) and decodes its exit.
/// A direct exit must name its target's slot index and report the slot's address in
/// `exit_slot` (the run loop links through it); that is checked, then `exit_slot` is cleared
/// so outcomes compare equal with the interpreter's.
pub fn enter(jit: &Jit, entry: u64, slots: u64, m: &mut TestMachine, block: &Block) -> Exit {
    let env = m.env();
    // SAFETY: the code was compiled for this guest; env is live.
    let ret = unsafe { (jit.enter_fn())(entry, env) };
    let exit = Exit::decode(ret, m.cpu.hdr.pc, m.cpu.hdr.exit_slot);
    match exit {
        Exit::Direct { pc, index } => {
            assert_eq!(direct_exit_targets(block).get(index as usize), Some(&pc), "link slot index names another exit");
            assert_eq!(m.cpu.hdr.exit_slot, slots + 8 * index as u64, "exit_slot is the slot of the exit taken");
            m.cpu.hdr.exit_slot = 0;
            Exit::Direct { pc, index: u32::MAX }
        }
        e => e,
    }
}

/// What a run of random blocks covered: every opcode, and every exit kind.
#[derive(Default)]
pub struct Coverage {
    ops: std::collections::HashSet<ferrite_ir::Opcode>,
    exits: std::collections::HashSet<std::mem::Discriminant<Exit>>,
}

impl Coverage {
    /// Notes `block` and how it left.
    pub fn note(&mut self, block: &Block, exit: &Exit) {
        self.ops.extend(block.insts.iter().map(|i| i.op));
        self.exits.insert(std::mem::discriminant(exit));
    }

    /// The generator must keep covering the whole IR: every opcode and every exit kind but
    /// `Request` (only a `chain` after a store to the code page makes one; tested separately).
    pub fn check(mut self) {
        let missing: Vec<_> = ferrite_ir::Opcode::ALL.iter().filter(|op| **op != ferrite_ir::Opcode::Nop && !self.ops.contains(*op)).collect();
        assert!(missing.is_empty(), "opcodes never generated: {missing:?}");
        self.exits.remove(&std::mem::discriminant(&Exit::Request { pc: 0 }));
        assert_eq!(self.exits.len(), 6, "some exit kinds never happened");
    }
}
