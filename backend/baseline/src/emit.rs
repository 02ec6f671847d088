//! Host code for one interpreter [`Program`], op by op.
//!
//! The code does what the interpreter's loop does for the same ops, without the dispatch:
//! every value lives in its slot of a stack frame laid out like the interpreter's value
//! array (constants are folded into the instructions instead), guest registers are read from
//! and written to the CPU structure at once, so that state is precise at every exit by
//! construction. Memory accesses inline the soft-TLB lookup as the Cranelift backend does;
//! the slow paths, fault exits and exit requests are emitted after the hot code. The pure
//! ops have their expansions in [`int`] and [`float`]; those without one call
//! [`ferrite_ir::interp::eval_generic`] on the frame, so their meaning still lives in one
//! place.
//!
//! Frame (`rsp`-relative): instructions started in earlier basic blocks, the PC of the last
//! of them, the value slots, the IR locals. `rbx` holds the CPU header throughout.

mod float;
mod int;

use crate::asm::{mem, mem_idx, Alu, Asm, Cc, Label, Mem, Shift, R, R8, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP, W};
use crate::host::Host;
use crate::plan::{is_generic, refill, Plan, NO_SLOT};
use crate::thunks::Thunks;
use ferrite_ir::exit::tag;
use ferrite_ir::interp::{eval_generic, Op, Program, Slot};
use ferrite_ir::Opcode;
use ferrite_softmmu::{
    jump_cache_index, CpuHeader, Endian, JumpCacheEntry, MemOp, SoftTlb, TlbEntry, JUMP_CACHE_BUCKET, JUMP_CACHE_ENTRIES, PAGE_BITS,
    PAGE_MASK, TLB_ENTRIES,
};
use std::mem::{offset_of, size_of};

const EXIT_REQUEST: i32 = offset_of!(CpuHeader, exit_request) as i32;
pub(crate) const PENDING_EXIT: i32 = offset_of!(CpuHeader, pending_exit) as i32;
const PC: i32 = offset_of!(CpuHeader, pc) as i32;
const EXIT_INSNS: i32 = offset_of!(CpuHeader, exit_insns) as i32;
const EXIT_SLOT: i32 = offset_of!(CpuHeader, exit_slot) as i32;
const ICOUNT_BUDGET: i32 = offset_of!(CpuHeader, icount_budget) as i32;
const ENTRY_BYTES: usize = size_of::<TlbEntry>();
const _: () = assert!(ENTRY_BYTES == 32, "the TLB index computation assumes 32-byte entries");
const TLB_TABLE: usize = offset_of!(CpuHeader, tlb) + offset_of!(SoftTlb, table);
const JC_BYTES: usize = size_of::<JumpCacheEntry>();
const _: () = assert!(JC_BYTES == 32, "the jump-cache index computation assumes 32-byte entries");
const JUMP_CACHE: i32 = offset_of!(CpuHeader, jump_cache) as i32;
const JC_VPC: i32 = JUMP_CACHE + offset_of!(JumpCacheEntry, vpc) as i32;
const JC_KEY: i32 = JUMP_CACHE + offset_of!(JumpCacheEntry, key) as i32;
const JC_CODE: i32 = JUMP_CACHE + offset_of!(JumpCacheEntry, code) as i32;

/// Frame offsets of the position words.
const STARTED: i32 = 0;
const LAST_PC: i32 = 8;
/// Frame offset of value slot 0.
const SLOTS: i32 = 16;

/// Where the block's data lives: link slots, the run counter, copies of the generic ops.
pub(crate) struct Data {
    /// Address of link slot 0 (one per direct exit, numbered as in `Op::ExitDirect`).
    pub(crate) slots: u64,
    /// Address of the `u32` run counter, followed by the `u32` count at which the block
    /// leaves with a request instead of running (see `crate::Counter`).
    pub(crate) counter: u64,
    /// The CPU mode the block was translated for (jump-cache probes compare it).
    pub(crate) mode_key: u64,
    /// The arena's shared slow-path thunks (see [`crate::thunks`]).
    pub(crate) thunks: Thunks,
    /// Deterministic mode: the block's instructions, charged to the budget at entry (a block
    /// never crosses a page, so the count fits an immediate).
    pub(crate) charge: Option<u32>,
}

/// Buffers reused from one compile to the next (a boot compiles tens of thousands of blocks;
/// allocating these each time cost more than some of the emission).
#[derive(Default)]
pub(crate) struct Scratch {
    targets: Vec<Option<Label>>,
    cold: Vec<Cold>,
    fault_labels: Vec<Option<Label>>,
    /// The frame layout and register use (planned by the caller, before it copies the
    /// generic ops).
    pub(crate) plan: Plan,
    /// Per op: the address of its copy in the block's data, for the ops that call
    /// `eval_generic` (filled by the caller).
    pub(crate) op_copies: Vec<u64>,
    /// The ops that call `eval_generic` (filled by the caller).
    pub(crate) generic: Vec<usize>,
}

/// Cold code emitted after the block's body.
#[derive(Clone, Copy)]
enum Cold {
    /// Memory slow path: call `func` (the softmmu's load or store), check for a fault, go back.
    Slow { at: Label, store: bool, memop: u32, fault: Label, back: Label },
    /// A `chain` found an exit request: leave for the run loop at `pc`.
    Request { at: Label, pc: u64 },
}

/// Emits `p` into `a`. `data` gives the addresses the code refers to, `s.op_copies` those of
/// the generic ops' copies.
pub(crate) fn emit(a: &mut Asm, p: &Program, data: &Data, host: Host, s: &mut Scratch) {
    refill(&mut s.fault_labels, p.sites().len(), None);
    s.cold.clear();
    let mut e = Emitter { a, p, frame: frame_bytes(p, &s.plan), s, host, charge: data.charge, keep_current: false, in_rax: None, left_in_rax: None, next_reads_xmm: false, in_xmm0: None, left_in_xmm0: None };
    e.body(data);
}

/// Bytes the prologue reserves below the saved registers (keeps `rsp` 16-byte aligned).
fn frame_bytes(p: &Program, plan: &Plan) -> i32 {
    let words = 2 + plan.len as usize + p.n_locals();
    (words | 1) as i32 * 8
}

struct Emitter<'a> {
    a: &'a mut Asm,
    p: &'a Program,
    frame: i32,
    /// Buffers: cold code to emit, per site the label of its fault exit once something jumps
    /// there, jump targets' labels.
    s: &'a mut Scratch,
    /// Which ops have an expansion, and NaN operand orders (see [`Host`]).
    host: Host,
    /// Deterministic mode: the instructions charged at entry (see [`Data::charge`]).
    charge: Option<u32>,
    /// The current op's result stays in `rax` (see [`Plan`]).
    keep_current: bool,
    /// The slot the previous op left in `rax`, for the current op.
    in_rax: Option<Slot>,
    /// The slot the current op leaves in `rax`.
    left_in_rax: Option<Slot>,
    /// The next op reads its operands into `xmm` registers (see [`float`]).
    next_reads_xmm: bool,
    /// The slot the previous op left in `xmm0`, for the current op.
    in_xmm0: Option<Slot>,
    /// The slot the current op leaves in `xmm0`.
    left_in_xmm0: Option<Slot>,
}

/// Width of an access of `size` bytes.
fn width(size: u64) -> W {
    match size {
        1 => W::B8,
        2 => W::B16,
        4 => W::B32,
        _ => W::B64,
    }
}

impl Emitter<'_> {
    fn slot(&self, s: Slot) -> Mem {
        let f = self.s.plan.slot_of[s as usize];
        debug_assert!(f != NO_SLOT, "slot {s} has no place in the frame");
        mem(RSP, SLOTS + 8 * f as i32)
    }

    fn local(&self, l: u32) -> Mem {
        mem(RSP, SLOTS + 8 * (self.s.plan.len as i32 + l as i32))
    }

    fn konst(&self, s: Slot) -> Option<u64> {
        self.p.consts().get(s as usize).copied()
    }

    /// Loads slot `s` into `r`.
    fn get(&mut self, r: R, s: Slot) {
        if self.in_rax == Some(s) {
            if r != RAX {
                self.a.mov_rr(r, RAX);
            }
            return;
        }
        match self.konst(s) {
            Some(k) => self.a.mov_imm(r, k),
            None => self.a.load(W::B64, r, self.slot(s)),
        }
    }

    /// Stores the current op's result, in `rax`, to slot `s` (unless the next op takes it
    /// from `rax` and nothing else reads it). Either way the next op finds it in `rax`.
    fn put(&mut self, s: Slot) {
        if !self.keep_current {
            let m = self.slot(s);
            self.a.store(W::B64, m, RAX);
        }
        self.left_in_rax = Some(s);
    }

    /// `r &= m` for a type mask.
    fn mask(&mut self, r: R, m: u64) {
        if m == u64::MAX {
        } else if m == u32::MAX as u64 {
            self.a.mov_rr32(r, r);
        } else if let Ok(k) = i32::try_from(m) {
            self.a.alu_ri(W::B32, Alu::And, r, k);
        } else {
            self.a.mov_imm(RDI, m);
            self.a.alu_rr(W::B64, Alu::And, r, RDI);
        }
    }

    /// Sets `rax` to `word` and leaves through the shared epilogue.
    fn ret(&mut self, word: u64, epilogue: Label) {
        self.a.mov_imm(RAX, word);
        self.a.jmp(epilogue);
    }

    /// Stores `pc` (a constant) as the exit PC.
    fn store_pc(&mut self, pc: u64) {
        self.a.mov_imm(RAX, pc);
        self.a.store(W::B64, mem(RBX, PC), RAX);
    }

    fn body(&mut self, data: &Data) {
        let thunks = data.thunks;
        let ops = self.p.ops();
        refill(&mut self.s.targets, ops.len(), None);
        for op in ops {
            let ts: &[u32] = match op {
                Op::Jump { to, .. } | Op::Chain { to, .. } => &[*to],
                Op::Branch { t, f, .. } => &[*t, *f],
                _ => &[],
            };
            for &t in ts {
                if self.s.targets[t as usize].is_none() {
                    self.s.targets[t as usize] = Some(self.a.new_label());
                }
            }
        }
        let epilogue = self.a.new_label();
        let request = self.a.new_label();
        self.prologue(data, request);
        for (i, op) in ops.iter().enumerate() {
            if let Some(l) = self.s.targets[i] {
                self.a.bind(l);
            }
            // (Reached by a jump, rax holds whatever the jumping path left.)
            self.in_rax = self.left_in_rax.take().filter(|_| self.s.targets[i].is_none());
            self.in_xmm0 = self.left_in_xmm0.take().filter(|_| self.s.targets[i].is_none());
            self.keep_current = self.s.plan.keep[i];
            self.next_reads_xmm = ops.get(i + 1).is_some_and(float::reads_xmm);
            let label = |s: &Scratch, t: u32| s.targets[t as usize].expect("jump targets have labels");
            match *op {
                Op::Jump { to, from } => {
                    self.leave_bb(from);
                    self.a.jmp(label(self.s, to));
                }
                Op::Chain { to, from, pc } => {
                    self.leave_bb(from);
                    self.a.alu_mi(W::B32, Alu::Cmp, mem(RBX, EXIT_REQUEST), 0);
                    let at = self.a.new_label();
                    self.a.jcc(Cc::Ne, at);
                    self.s.cold.push(Cold::Request { at, pc });
                    self.a.jmp(label(self.s, to));
                }
                Op::Branch { c, t, f, from } => {
                    // The condition first: it may be in rax, which leave_bb writes.
                    self.get(RDX, c);
                    self.leave_bb(from);
                    self.a.test_r8_imm(RDX, 1);
                    self.a.jcc(Cc::Ne, label(self.s, t));
                    if f as usize != i + 1 {
                        self.a.jmp(label(self.s, f));
                    }
                }
                Op::ExitDirect { pc, index } => self.exit_direct(data.slots + 8 * index as u64, index as u64, pc, data.mode_key, epilogue),
                Op::ExitDynamic { s } => {
                    self.get(RSI, s);
                    self.jump_cache_probe(None, data.mode_key);
                    self.a.store(W::B64, mem(RBX, PC), RSI);
                    self.ret(tag::DYNAMIC, epilogue);
                }
                Op::ExitSyncDynamic { s } => {
                    self.get(RAX, s);
                    self.a.store(W::B64, mem(RBX, PC), RAX);
                    self.ret(tag::SYNC, epilogue);
                }
                Op::ExitSync { pc } => {
                    self.store_pc(pc);
                    self.ret(tag::SYNC, epilogue);
                }
                Op::Halt { pc } => {
                    self.store_pc(pc);
                    self.ret(tag::HALT, epilogue);
                }
                Op::Raise { code, s, at } => {
                    self.get(RAX, s);
                    self.a.store(W::B64, mem(RBX, EXIT_SLOT), RAX);
                    self.position(at);
                    self.ret(tag::RAISE | code << 8, epilogue);
                }
                _ => self.straight(i, op),
            }
        }
        // Cold code.
        self.a.bind(request);
        self.store_pc(self.p.vpc());
        self.ret(tag::REQUEST, epilogue);
        for k in 0..self.s.cold.len() {
            match self.s.cold[k] {
                Cold::Slow { at, store, memop, fault, back } => {
                    self.a.bind(at);
                    // The address (and a store's value) are still in rsi (rdx), where the
                    // thunks take them.
                    let (arg, thunk) = if store { (RCX, thunks.store) } else { (RDX, thunks.load) };
                    self.a.mov_imm(arg, memop as u64);
                    self.a.call_far(thunk);
                    self.a.jcc(Cc::Ne, fault);
                    self.a.jmp(back);
                }
                Cold::Request { at, pc } => {
                    self.a.bind(at);
                    self.store_pc(pc);
                    self.ret(tag::REQUEST, epilogue);
                }
            }
        }
        // Fault exits: most sites only load their instruction's offset and PC and share the
        // rest.
        let fault_tail = self.a.new_label();
        let mut tail_used = false;
        for at in 0..self.s.fault_labels.len() {
            if let Some(l) = self.s.fault_labels[at] {
                self.a.bind(l);
                let s = self.p.sites()[at];
                if s.k != 0 {
                    self.a.mov_imm(RCX, s.k - 1);
                    self.a.mov_imm(RAX, s.pc);
                    self.a.jmp(fault_tail);
                    tail_used = true;
                } else {
                    self.position(at as u16);
                    self.ret(tag::FAULT, epilogue);
                }
            }
        }
        if tail_used {
            self.a.bind(fault_tail);
            self.store_position();
            self.ret(tag::FAULT, epilogue);
        }
        self.a.bind(epilogue);
        self.teardown();
        self.a.ret();
        self.a.finish();
    }

    /// Frame, entry checks (stop requests, the instruction budget, the run counter), position
    /// words, constants that generic ops read from the frame.
    fn prologue(&mut self, data: &Data, request: Label) {
        self.a.push(RBP);
        self.a.mov_rr(RBP, RSP);
        self.a.push(RBX);
        self.a.mov_rr(RBX, RDI);
        self.a.alu_ri(W::B64, Alu::Sub, RSP, self.frame);
        self.a.alu_mi(W::B32, Alu::Cmp, mem(RBX, EXIT_REQUEST), 0);
        self.a.jcc(Cc::Ne, request);
        if let Some(n) = self.charge {
            // Deterministic mode: a budget too small leaves before anything is charged or
            // counted; the charge is stored once the run counter lets the block run.
            self.a.load(W::B64, RDX, mem(RBX, ICOUNT_BUDGET));
            self.a.alu_ri(W::B64, Alu::Sub, RDX, n as i32);
            self.a.jcc(Cc::L, request);
        }
        self.a.mov_imm(RAX, data.counter);
        self.a.load(W::B32, RCX, mem(RAX, 0));
        self.a.alu_ri(W::B32, Alu::Add, RCX, 1);
        self.a.store(W::B32, mem(RAX, 0), RCX);
        self.a.alu_rm(W::B32, Alu::Cmp, RCX, mem(RAX, 4));
        self.a.jcc(Cc::E, request);
        if self.charge.is_some() {
            self.a.store(W::B64, mem(RBX, ICOUNT_BUDGET), RDX);
        }
        self.a.store_imm64(mem(RSP, STARTED), 0);
        self.store_frame_u64(LAST_PC, self.p.vpc());
        // Locals read before they are set read 0, as in the interpreter and in Cranelift.
        for l in 0..self.p.n_locals() as u32 {
            let m = self.local(l);
            self.a.store_imm64(m, 0);
        }
        for k in 0..self.p.consts().len() {
            if self.s.plan.need[k] {
                self.a.mov_imm(RAX, self.p.consts()[k]);
                let m = self.slot(k as Slot);
                self.a.store(W::B64, m, RAX);
            }
        }
    }

    fn store_frame_u64(&mut self, off: i32, v: u64) {
        match i32::try_from(v as i64) {
            Ok(k) => self.a.store_imm64(mem(RSP, off), k),
            Err(_) => {
                self.a.mov_imm(RAX, v);
                self.a.store(W::B64, mem(RSP, off), RAX);
            }
        }
    }

    /// Leaving basic block `from`: its instruction markers count as passed.
    fn leave_bb(&mut self, from: u32) {
        let (k, last) = self.p.bb_marks()[from as usize];
        if k != 0 {
            self.a.alu_mi(W::B64, Alu::Add, mem(RSP, STARTED), k as i32);
            self.store_frame_u64(LAST_PC, last);
        }
    }

    /// Stores the PC and completed-instruction count of site `at` in the header (for a fault
    /// exit or a raise).
    fn position(&mut self, at: u16) {
        let s = self.p.sites()[at as usize];
        if s.k != 0 {
            self.a.mov_imm(RCX, s.k - 1);
            self.a.mov_imm(RAX, s.pc);
            self.store_position();
        } else {
            self.a.load(W::B64, RCX, mem(RSP, STARTED));
            self.a.load(W::B64, RAX, mem(RSP, LAST_PC));
            self.a.store(W::B64, mem(RBX, PC), RAX);
            // started.saturating_sub(1)
            self.a.lea(RAX, mem(RCX, -1));
            self.a.test_rr(W::B64, RCX, RCX);
            self.a.cmov(Cc::Ne, RCX, RAX);
            self.a.store(W::B64, mem(RBX, EXIT_INSNS), RCX);
            self.give_back_budget();
        }
    }

    /// The position of a site whose instruction started in this basic block: PC `rax`, and
    /// `rcx` instructions completed after those of earlier basic blocks.
    fn store_position(&mut self) {
        self.a.store(W::B64, mem(RBX, PC), RAX);
        self.a.alu_rm(W::B64, Alu::Add, RCX, mem(RSP, STARTED));
        self.a.store(W::B64, mem(RBX, EXIT_INSNS), RCX);
        self.give_back_budget();
    }

    /// Deterministic mode, leaving early with `rcx` instructions completed: the prologue
    /// charged the whole block, so the rest goes back to the budget (as in the interpreter).
    fn give_back_budget(&mut self) {
        if let Some(n) = self.charge {
            self.a.load(W::B64, RAX, mem(RBX, ICOUNT_BUDGET));
            self.a.alu_ri(W::B64, Alu::Add, RAX, n as i32);
            self.a.alu_rr(W::B64, Alu::Sub, RAX, RCX);
            self.a.store(W::B64, mem(RBX, ICOUNT_BUDGET), RAX);
        }
    }

    fn fault_label(&mut self, at: u16) -> Label {
        match self.s.fault_labels[at as usize] {
            Some(l) => l,
            None => {
                let l = self.a.new_label();
                self.s.fault_labels[at as usize] = Some(l);
                l
            }
        }
    }

    /// Direct exit number `index` to `pc` through the link slot at `slot`, or, to another
    /// guest page (never linked: that page's mapping may change), through the jump cache.
    fn exit_direct(&mut self, slot: u64, index: u64, pc: u64, mode_key: u64, epilogue: Label) {
        self.a.mov_imm(RCX, slot);
        if pc & PAGE_MASK == self.p.vpc() & PAGE_MASK {
            self.a.load(W::B64, RAX, mem(RCX, 0));
            self.a.test_rr(W::B64, RAX, RAX);
            let unlinked = self.a.new_label();
            self.a.jcc(Cc::E, unlinked);
            self.tail_jump();
            self.a.bind(unlinked);
        } else {
            self.a.mov_imm(RSI, pc);
            self.jump_cache_probe(Some(pc), mode_key);
        }
        self.store_pc(pc);
        // The run loop links the slot it came through once the target has code.
        self.a.store(W::B64, mem(RBX, EXIT_SLOT), RCX);
        self.ret(tag::DIRECT | index << 8, epilogue);
    }

    /// Tears the frame down and jumps to the block at `rax` (a tail call in Cranelift's
    /// `tail` convention: the CPU header in `rdi`, the caller's return address on top).
    fn tail_jump(&mut self) {
        self.a.mov_rr(RDI, RBX);
        self.teardown();
        self.a.jmp_r(RAX);
    }

    /// Undoes the prologue's frame and saved registers.
    fn teardown(&mut self) {
        self.a.alu_ri(W::B64, Alu::Add, RSP, self.frame);
        self.a.pop(RBX);
        self.a.pop(RBP);
    }

    /// Looks the guest PC in `rsi` up in the jump cache for `mode_key` and tail-calls the
    /// block found; falls through on a miss with `rsi` and `rcx` unchanged. `pc`: the PC, when
    /// it is a constant (the entry's address is then one too).
    fn jump_cache_probe(&mut self, pc: Option<u64>, mode_key: u64) {
        let e = match pc {
            Some(pc) => {
                self.a.mov_imm(RAX, (jump_cache_index(pc) * JC_BYTES) as u64);
                RAX
            }
            None => {
                // ferrite_softmmu::jump_cache_index, scaled to bytes.
                let buckets = (JUMP_CACHE_ENTRIES / JUMP_CACHE_BUCKET) as i32;
                self.a.mov_rr(RAX, RSI);
                self.a.shift_imm(W::B64, Shift::Shr, RAX, PAGE_BITS as u8);
                self.a.mov_rr(RDX, RAX);
                self.a.shift_imm(W::B64, Shift::Shr, RDX, 6);
                self.a.alu_rr(W::B64, Alu::Xor, RAX, RDX);
                self.a.alu_ri(W::B32, Alu::And, RAX, buckets - 1);
                self.a.shift_imm(W::B64, Shift::Shl, RAX, (JUMP_CACHE_BUCKET * JC_BYTES).trailing_zeros() as u8);
                self.a.mov_rr(RDX, RSI);
                self.a.shift_imm(W::B64, Shift::Shl, RDX, (JC_BYTES / 4).trailing_zeros() as u8);
                self.a.alu_ri(W::B32, Alu::And, RDX, ((JUMP_CACHE_BUCKET - 1) * JC_BYTES) as i32);
                self.a.alu_rr(W::B64, Alu::Or, RAX, RDX);
                RAX
            }
        };
        let miss = self.a.new_label();
        self.a.alu_rm(W::B64, Alu::Cmp, RSI, mem_idx(RBX, e, JC_VPC));
        self.a.jcc(Cc::Ne, miss);
        self.a.mov_imm(RDX, mode_key);
        self.a.alu_rm(W::B64, Alu::Cmp, RDX, mem_idx(RBX, e, JC_KEY));
        self.a.jcc(Cc::Ne, miss);
        self.a.load(W::B64, RAX, mem_idx(RBX, e, JC_CODE));
        self.a.test_rr(W::B64, RAX, RAX);
        self.a.jcc(Cc::E, miss);
        self.tail_jump();
        self.a.bind(miss);
    }

    /// Ops that continue with the next one.
    fn straight(&mut self, i: usize, op: &Op) {
        if is_generic(op, &self.host) {
            self.a.mov_imm(RDI, self.s.op_copies[i]);
            self.a.lea(RSI, mem(RSP, SLOTS));
            self.a.mov_imm(RAX, eval_generic as *const () as u64);
            self.a.call_r(RAX);
            return;
        }
        match *op {
            Op::Get8 { d, off } => self.get_reg(W::B8, d, off),
            Op::Get16 { d, off } => self.get_reg(W::B16, d, off),
            Op::Get32 { d, off } => self.get_reg(W::B32, d, off),
            Op::Get64 { d, off } => self.get_reg(W::B64, d, off),
            Op::Set8 { s, off } => self.set_reg(W::B8, s, off),
            Op::Set16 { s, off } => self.set_reg(W::B16, s, off),
            Op::Set32 { s, off } => self.set_reg(W::B32, s, off),
            Op::Set64 { s, off } => self.set_reg(W::B64, s, off),
            Op::GetLocal { d, l } => {
                let m = self.local(l);
                self.a.load(W::B64, RAX, m);
                self.put(d);
            }
            Op::SetLocal { s, l } => {
                self.get(RAX, s);
                let m = self.local(l);
                self.a.store(W::B64, m, RAX);
            }
            Op::Fcmp { .. } | Op::Ternary { .. } | Op::Convert { .. } => self.float_op(op),
            Op::Binary { op: Opcode::FAdd | Opcode::FSub | Opcode::FMul | Opcode::FDiv, .. } => self.float_op(op),
            Op::Unary { op: Opcode::FNeg | Opcode::FAbs | Opcode::FSqrt, .. } => self.float_op(op),
            Op::Load { d, a, memop, m, at } => self.load(d, a, MemOp(memop), m, at),
            Op::Store { a, s, memop, at } => self.store(a, s, MemOp(memop), at),
            Op::Call { d, site, at } => {
                let c = self.p.calls()[site as usize];
                for (k, r) in [RSI, RDX, RCX, R8].into_iter().enumerate() {
                    if k < c.nargs as usize {
                        self.get(r, c.args[k]);
                    } else {
                        self.a.mov_imm(r, 0);
                    }
                }
                self.a.mov_rr(RDI, RBX);
                self.a.mov_imm(RAX, c.func as usize as u64);
                self.a.call_r(RAX);
                if c.may_raise {
                    let fault = self.fault_label(at);
                    self.a.alu_mi(W::B32, Alu::Cmp, mem(RBX, PENDING_EXIT), 0);
                    self.a.jcc(Cc::Ne, fault);
                }
                self.mask(RAX, c.ret_mask);
                self.put(d);
            }
            _ => self.int_op(op),
        }
    }

    fn get_reg(&mut self, w: W, d: Slot, off: u32) {
        self.a.load(w, RAX, mem(RBX, off as i32));
        self.put(d);
    }

    fn set_reg(&mut self, w: W, s: Slot, off: u32) {
        self.get(RAX, s);
        self.a.store(w, mem(RBX, off as i32), RAX);
    }

    /// The soft-TLB check for an access of `op` at the address in `rsi`: on a hit, `rsi`
    /// becomes the host address; on a miss, jump to the returned slow-path label.
    fn tlb_check(&mut self, op: MemOp, store: bool) -> Label {
        let base = (TLB_TABLE + op.mmu_idx() * TLB_ENTRIES * ENTRY_BYTES) as i32;
        let size = op.size();
        if size == 1 {
            self.a.mov_rr(RAX, RSI);
        } else {
            self.a.lea(RAX, mem(RSI, size as i32 - 1));
        }
        self.a.mov_rr(RCX, RSI);
        self.a.shift_imm(W::B64, Shift::Shr, RCX, (PAGE_BITS - ENTRY_BYTES.trailing_zeros()) as u8);
        self.a.alu_ri(W::B32, Alu::And, RCX, ((TLB_ENTRIES - 1) * ENTRY_BYTES) as i32);
        self.a.alu_ri(W::B64, Alu::And, RAX, PAGE_MASK as i64 as i32);
        let field = if store { offset_of!(TlbEntry, addr_write) } else { offset_of!(TlbEntry, addr_read) };
        self.a.alu_rm(W::B64, Alu::Cmp, RAX, mem_idx(RBX, RCX, base + field as i32));
        let slow = self.a.new_label();
        self.a.jcc(Cc::Ne, slow);
        self.a.alu_rm(W::B64, Alu::Add, RSI, mem_idx(RBX, RCX, base + offset_of!(TlbEntry, addend) as i32));
        slow
    }

    fn load(&mut self, d: Slot, a: Slot, op: MemOp, m: u64, at: u16) {
        self.get(RSI, a);
        let slow = self.tlb_check(op, false);
        let size = op.size();
        self.a.load(width(size), RAX, mem(RSI, 0));
        if op.endian() == Endian::Big {
            match size {
                1 => {}
                2 => self.a.shift_imm(W::B16, Shift::Rol, RAX, 8),
                4 => self.a.bswap(W::B32, RAX),
                _ => self.a.bswap(W::B64, RAX),
            }
        }
        if op.signed() && size < 8 {
            self.a.movsx(width(size), RAX, RAX);
        }
        let back = self.a.new_label();
        self.a.bind(back);
        self.mask(RAX, m);
        self.put(d);
        let fault = self.fault_label(at);
        self.s.cold.push(Cold::Slow { at: slow, store: false, memop: op.0, fault, back });
    }

    fn store(&mut self, a: Slot, s: Slot, op: MemOp, at: u16) {
        self.get(RSI, a);
        self.get(RDX, s);
        let slow = self.tlb_check(op, true);
        let size = op.size();
        if op.endian() == Endian::Big {
            match size {
                1 => {}
                2 => self.a.shift_imm(W::B16, Shift::Rol, RDX, 8),
                4 => self.a.bswap(W::B32, RDX),
                _ => self.a.bswap(W::B64, RDX),
            }
        }
        self.a.store(width(size), mem(RSI, 0), RDX);
        let back = self.a.new_label();
        self.a.bind(back);
        let fault = self.fault_label(at);
        self.s.cold.push(Cold::Slow { at: slow, store: true, memop: op.0, fault, back });
    }
}
