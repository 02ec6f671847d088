//! Leaving the block: every exit stores the possibly dirty registers, then either tail-calls
//! the next block (linked direct exits, jump-cache hits) or returns an exit word
//! (`ferrite_ir::exit`) with the PC in the CPU header.

use super::{hdr, Lower, Pos};
use cranelift_codegen::ir::{self, condcodes::IntCC, types, InstBuilder};
use ferrite_ir::exit::tag;
use ferrite_ir::{Reg, RegSet};
use ferrite_softmmu::{CpuHeader, JumpCacheEntry, JUMP_CACHE_BUCKET, JUMP_CACHE_ENTRIES, PAGE_MASK};
use std::mem::{offset_of, size_of};

const JC_BYTES: usize = size_of::<JumpCacheEntry>();
const _: () = assert!(JC_BYTES == 32, "the hash computation below assumes 32-byte entries");
const JUMP_CACHE: i32 = offset_of!(CpuHeader, jump_cache) as i32;

impl Lower<'_, '_> {
    /// Stores the variables of `set` to the CPU structure.
    pub(super) fn store_regs(&mut self, set: RegSet) {
        if set == RegSet::EMPTY {
            return;
        }
        for (i, r) in self.block.desc.regs.iter().enumerate() {
            if set.contains(Reg(i as u16)) {
                let var = self.regs[i].expect("dirty registers have variables");
                let v = self.b.use_var(var);
                self.b.ins().store(self.env_flags, v, self.env, r.offset as i32);
            }
        }
    }

    fn store_env(&mut self, v: ir::Value, off: i32) {
        self.b.ins().store(self.env_flags, v, self.env, off);
    }

    fn ret(&mut self, word: u64) {
        let w = self.b.ins().iconst(types::I64, word as i64);
        self.b.ins().return_(&[w]);
    }

    /// PC of the current instruction and number of completed instructions.
    fn position(&mut self) -> (ir::Value, ir::Value) {
        match self.pos {
            Pos::Static(p) => {
                let pc = self.b.ins().iconst(types::I64, p.pc as i64);
                let done = self.b.ins().iconst(types::I64, p.done() as i64);
                (pc, done)
            }
            Pos::Dynamic { pc, done, .. } => (self.b.use_var(pc), self.b.use_var(done)),
        }
    }

    /// Stores dirty registers and the PC, returns `word`.
    pub(super) fn leave(&mut self, word: u64, pc: ir::Value) {
        self.store_regs(self.dirty);
        self.store_env(pc, hdr::PC);
        self.ret(word);
    }

    /// A memory access or helper raised a guest exception at the current instruction.
    pub(super) fn fault_exit(&mut self) {
        self.store_regs(self.dirty);
        let (pc, done) = self.position();
        self.store_env(pc, hdr::PC);
        self.store_env(done, hdr::EXIT_INSNS);
        self.give_back_budget(done);
        self.ret(tag::FAULT);
    }

    /// `raise code, aux` at the current instruction.
    pub(super) fn raise(&mut self, code: u64, aux: ir::Value) {
        self.store_regs(self.dirty);
        let (pc, done) = self.position();
        self.store_env(pc, hdr::PC);
        self.store_env(done, hdr::EXIT_INSNS);
        self.store_env(aux, hdr::EXIT_SLOT);
        self.give_back_budget(done);
        self.ret(tag::RAISE | code << 8);
    }

    /// Deterministic mode: the prologue charged the whole block; return the instructions
    /// that did not complete (`done` did), so interpreted and compiled runs count alike.
    fn give_back_budget(&mut self, done: ir::Value) {
        if !self.opts.count_insns {
            return;
        }
        let budget = self.b.ins().load(types::I64, self.env_flags, self.env, hdr::ICOUNT_BUDGET);
        let n = self.b.ins().iconst(types::I64, self.block.n_insns as i64);
        let unrun = self.b.ins().isub(n, done);
        let budget = self.b.ins().iadd(budget, unrun);
        self.store_env(budget, hdr::ICOUNT_BUDGET);
    }

    /// `exit_direct` number `index` to `pc`: through link slot `index` when it is set.
    pub(super) fn exit_direct(&mut self, index: u32, pc: u64) {
        self.store_regs(self.dirty);
        let slot = self.b.ins().iconst(types::I64, (self.slots + 8 * index as u64) as i64);
        let target = self.b.ins().load(types::I64, ir::MemFlagsData::trusted(), slot, 0);
        let (linked, unlinked) = (self.b.create_block(), self.b.create_block());
        self.b.set_cold_block(unlinked);
        self.b.ins().brif(target, linked, &[], unlinked, &[]);
        self.b.switch_to_block(linked);
        self.b.seal_block(linked);
        self.b.ins().return_call_indirect(self.sigs.block, target, &[self.env]);
        self.b.switch_to_block(unlinked);
        self.b.seal_block(unlinked);
        let pcv = self.b.ins().iconst(types::I64, pc as i64);
        if pc & PAGE_MASK != self.block.vpc & PAGE_MASK {
            // Blocks are never linked across pages (the target page's mapping may change), but
            // the jump cache is kept coherent with the TLB: look the target up there first, as
            // an indirect branch does, and only leave when it misses.
            let (miss, code) = self.jump_cache_lookup(pcv);
            self.b.ins().return_call_indirect(self.sigs.block, code, &[self.env]);
            self.b.switch_to_block(miss);
            self.b.seal_block(miss);
        }
        self.store_env(pcv, hdr::PC);
        // The run loop links the slot it came through to the target once that is compiled.
        self.store_env(slot, hdr::EXIT_SLOT);
        self.ret(tag::DIRECT | (index as u64) << 8);
    }

    /// `chain` to `target`, the entry of a merged block starting at guest `pc`: unless an exit
    /// is requested, jump there without leaving the function (registers stay in variables).
    pub(super) fn chain(&mut self, target: ir::Block, pc: u64) {
        let req = self.exit_request();
        let leave = self.b.create_block();
        self.b.set_cold_block(leave);
        let go = self.b.create_block();
        self.b.ins().brif(req, leave, &[], go, &[]);
        self.b.switch_to_block(go);
        self.b.seal_block(go);
        self.b.ins().jump(target, &[]);
        self.b.switch_to_block(leave);
        self.b.seal_block(leave);
        let pcv = self.b.ins().iconst(types::I64, pc as i64);
        self.leave(tag::REQUEST, pcv);
    }

    /// `exit_dynamic pc`: tail-call the jump cache's block for `pc` in this mode, if any.
    pub(super) fn exit_dynamic(&mut self, pc: ir::Value) {
        self.store_regs(self.dirty);
        let (miss, code) = self.jump_cache_lookup(pc);
        self.b.ins().return_call_indirect(self.sigs.block, code, &[self.env]);
        self.b.switch_to_block(miss);
        self.b.seal_block(miss);
        self.store_env(pc, hdr::PC);
        self.ret(tag::DYNAMIC);
    }

    /// Looks `pc` up in the CPU's jump cache for this block's mode. Leaves the builder in the
    /// hit path; returns the (cold) miss block and the target's code address.
    fn jump_cache_lookup(&mut self, pc: ir::Value) -> (ir::Block, ir::Value) {
        // ferrite_softmmu::jump_cache_index, scaled to bytes: a bucket from the page number
        // ((page ^ page >> 6) & (buckets - 1)), the entry from the word offset in the page.
        let page = self.b.ins().ushr_imm_u(pc, 12);
        let page_hi = self.b.ins().ushr_imm_u(pc, 18);
        let mixed = self.b.ins().bxor(page, page_hi);
        let buckets = (JUMP_CACHE_ENTRIES / JUMP_CACHE_BUCKET) as i64;
        let bucket = self.b.ins().band_imm_s(mixed, buckets - 1);
        let bucket_bytes = self.b.ins().ishl_imm_s(bucket, (JUMP_CACHE_BUCKET * JC_BYTES).trailing_zeros() as i64);
        let word = self.b.ins().ishl_imm_s(pc, (JC_BYTES / 4).trailing_zeros() as i64);
        let word_bytes = self.b.ins().band_imm_s(word, ((JUMP_CACHE_BUCKET - 1) * JC_BYTES) as i64);
        let index = self.b.ins().bor(bucket_bytes, word_bytes);
        let e = self.b.ins().iadd(self.env, index);
        let field = |f: usize| JUMP_CACHE + f as i32;
        let vpc = self.b.ins().load(types::I64, self.env_flags, e, field(offset_of!(JumpCacheEntry, vpc)));
        let key = self.b.ins().load(types::I64, self.env_flags, e, field(offset_of!(JumpCacheEntry, key)));
        let same_pc = self.b.ins().icmp(IntCC::Equal, vpc, pc);
        let mode = self.b.ins().iconst(types::I64, self.opts.mode_key as i64);
        let same_key = self.b.ins().icmp(IntCC::Equal, key, mode);
        let both = self.b.ins().band(same_pc, same_key);
        let (check, hit, miss) = (self.b.create_block(), self.b.create_block(), self.b.create_block());
        self.b.set_cold_block(miss);
        self.b.ins().brif(both, check, &[], miss, &[]);
        self.b.switch_to_block(check);
        self.b.seal_block(check);
        let code = self.b.ins().load(types::I64, self.env_flags, e, field(offset_of!(JumpCacheEntry, code)));
        self.b.ins().brif(code, hit, &[], miss, &[]);
        self.b.switch_to_block(hit);
        self.b.seal_block(hit);
        (miss, code)
    }
}
