//! Guest memory accesses and helper calls.
//!
//! A load or store inlines the soft-TLB lookup (see `ferrite_softmmu::SoftTlb`): index the
//! entry of the accessed page, compare its tag with the page of the access's *last* byte
//! (flag bits, invalid entries and page-crossing accesses all fail the compare), and on a hit
//! access host memory at `vaddr + addend`. A miss calls the `extern "C"` slow path in a cold
//! block and leaves through a fault path if it set `pending_exit`.

use super::arith::{from_u64, to_u64};
use super::groups::{self, Role};
use super::{clif_type, hdr, Lower};
use cranelift_codegen::ir::{self, condcodes::IntCC, types, InstBuilder};
use ferrite_ir::{Opcode, RegSet, Type};
use ferrite_softmmu::{CpuHeader, Endian, MemOp, SoftTlb, TlbEntry, PAGE_BITS, PAGE_MASK, TLB_ENTRIES};
use std::mem::{offset_of, size_of};

const ENTRY_BYTES: usize = size_of::<TlbEntry>();
const _: () = assert!(ENTRY_BYTES == 32, "the index computation below assumes 32-byte entries");
/// Offset of mode 0's table from the CPU header.
const TLB_TABLE: usize = offset_of!(CpuHeader, tlb) + offset_of!(SoftTlb, table);

/// The integer type of an access of `size` bytes.
fn access_type(size: u64) -> types::Type {
    match size {
        1 => types::I8,
        2 => types::I16,
        4 => types::I32,
        _ => types::I64,
    }
}

impl Lower<'_, '_> {
    /// Looks the page of `addr` up in the TLB of `op`'s mode. Branches to `hit` or `miss`;
    /// returns the entry's address and the offset of its first field, for the hit path.
    /// `base_offset` is `addr` as base + constant, when the IR computed it that way.
    fn tlb_lookup(
        &mut self,
        op: MemOp,
        addr: ir::Value,
        base_offset: Option<(ir::Value, i64)>,
        store: bool,
        hit: ir::Block,
        miss: ir::Block,
    ) -> (ir::Value, i32) {
        let last = match (op.size(), base_offset) {
            (1, _) => addr,
            // Fold the address's own displacement: one lea instead of two adds.
            (n, Some((b, off))) => self.b.ins().iadd_imm_s(b, off.wrapping_add(n as i64 - 1)),
            (n, None) => self.b.ins().iadd_imm_s(addr, n as i64 - 1),
        };
        self.tlb_check(op.mmu_idx(), addr, last, store, hit, miss)
    }

    /// Branches to `hit` if the TLB entry of `first`'s page (in MMU mode `mmu_idx`) holds the
    /// page of `last` with read (or write, if `store`) permission, else to `miss`. Returns
    /// the entry's address and the offset of its first field.
    fn tlb_check(&mut self, mmu_idx: usize, first: ir::Value, last: ir::Value, store: bool, hit: ir::Block, miss: ir::Block) -> (ir::Value, i32) {
        let base = (TLB_TABLE + mmu_idx * TLB_ENTRIES * ENTRY_BYTES) as i32;
        // ((first >> PAGE_BITS) & (TLB_ENTRIES - 1)) * 32, in two instructions.
        let shifted = self.b.ins().ushr_imm_s(first, (PAGE_BITS - ENTRY_BYTES.trailing_zeros()) as i64);
        let index = self.b.ins().band_imm_s(shifted, ((TLB_ENTRIES - 1) * ENTRY_BYTES) as i64);
        let entry = self.b.ins().iadd(self.env, index);
        let field = if store { offset_of!(TlbEntry, addr_write) } else { offset_of!(TlbEntry, addr_read) };
        let tag = self.b.ins().load(types::I64, self.env_flags, entry, base + field as i32);
        let page = self.b.ins().band_imm_s(last, PAGE_MASK as i64);
        let eq = self.b.ins().icmp(IntCC::Equal, tag, page);
        self.b.ins().brif(eq, hit, &[], miss, &[]);
        (entry, base)
    }

    /// The guest address `base + offset` as the IR computes it (in `base`'s type, then
    /// zero-extended).
    fn based_addr(&mut self, base: ferrite_ir::Value, offset: i64) -> ir::Value {
        let b = self.arg(base);
        let a = self.b.ins().iadd_imm_s(b, offset);
        if self.block.ty(base) == Type::I64 {
            a
        } else {
            self.b.ins().uextend(types::I64, a)
        }
    }

    /// Starts an access of group role `role` at IR address `ir_addr`: branches to `hit` when
    /// the group's check holds, to `full` (the access's own lookup) otherwise. Returns the
    /// access's host address, valid in `hit`.
    fn group_check(&mut self, role: Role, op: MemOp, ir_addr: ferrite_ir::Value, store: bool, hit: ir::Block, full: ir::Block) -> ir::Value {
        // The access's offset from the base its group shares.
        let offset = || groups::based(self.block, ir_addr).offset;
        match role {
            Role::First { group, base, lo, hi } => {
                let var = self.group_vars[group];
                let none = self.b.ins().iconst(types::I64, 0);
                self.b.def_var(var, none);
                let first = self.based_addr(base, lo);
                let last = self.based_addr(base, hi);
                let (entry, tbase) = self.tlb_check(op.mmu_idx(), first, last, store, hit, full);
                self.b.switch_to_block(hit);
                self.b.seal_block(hit);
                let addend = self.addend(entry, tbase);
                let host_first = self.b.ins().iadd(first, addend);
                self.b.def_var(var, host_first);
                self.b.ins().iadd_imm_s(host_first, offset() - lo)
            }
            Role::Member { group, lo } => {
                let host_first = self.b.use_var(self.group_vars[group]);
                self.b.ins().brif(host_first, hit, &[], full, &[]);
                self.b.switch_to_block(hit);
                self.b.seal_block(hit);
                self.b.ins().iadd_imm_s(host_first, offset() - lo)
            }
            Role::Cached { site } => {
                let addr = self.arg(ir_addr);
                // A miss refills the cache in the access's own lookup (see `own_lookup`).
                let (page_var, addend_var) = self.site_vars[site];
                let kept_page = self.b.use_var(page_var);
                let kept = self.b.use_var(addend_var);
                // The kept page has no low bits: an unaligned access never matches, and takes
                // the lookup (an aligned one cannot leave the page).
                let page_and_misalignment = self.b.ins().band_imm_s(addr, PAGE_MASK as i64 | (op.size() as i64 - 1));
                let same = self.b.ins().icmp(IntCC::Equal, page_and_misalignment, kept_page);
                self.b.ins().brif(same, hit, &[], full, &[]);
                self.b.switch_to_block(hit);
                self.b.seal_block(hit);
                self.b.ins().iadd(addr, kept)
            }
        }
    }

    /// `v` as a Cranelift base value plus a constant, if the IR computed it as `add x, const`.
    fn base_offset(&self, v: ferrite_ir::Value) -> Option<(ir::Value, i64)> {
        let i = self.block.inst(v);
        let k = (i.op == Opcode::Add).then(|| self.block.as_const(i.args[1])).flatten()?;
        Some((self.arg(i.args[0]), k as i64))
    }

    /// The addend of a TLB hit: the host address is `addr + addend`.
    fn addend(&mut self, entry: ir::Value, base: i32) -> ir::Value {
        self.b.ins().load(types::I64, self.env_flags, entry, base + offset_of!(TlbEntry, addend) as i32)
    }

    /// A guest load of IR type `ty` (instruction `ii`).
    pub(super) fn load(&mut self, ii: usize, ty: Type, op: MemOp, ir_addr: ferrite_ir::Value) -> ir::Value {
        // Both paths meet with the raw access-sized value; extending once after the join keeps
        // the hot path free of extra moves. A byte is the exception: the host's byte load
        // extends it for free, which an extension after the join would repeat.
        let aty = access_type(op.size());
        let jty = if op.size() == 1 && ty.is_int() && ty.bytes() > 1 { clif_type(ty) } else { aty };
        let join = self.b.create_block();
        let raw = self.b.append_block_param(join, jty);
        if let Some((addr, host)) = self.fastmem_addr(op, ir_addr) {
            let v = self.load_host(op, jty, host, self.fastmem_flags);
            self.fastmem_check(join, &[v.into()]);
            self.load_slow(op, jty, addr, join);
        } else if let Some(role) = self.groups[ii] {
            let (hit, full) = (self.b.create_block(), self.b.create_block());
            if !matches!(role, Role::Cached { .. }) {
                self.b.set_cold_block(full);
            }
            let host = self.group_check(role, op, ir_addr, false, hit, full);
            let v = self.load_host(op, jty, host, self.ram_flags);
            self.b.ins().jump(join, &[v.into()]);
            self.b.switch_to_block(full);
            self.b.seal_block(full);
            self.load_full(op, jty, ir_addr, join, self.groups[ii]);
        } else {
            self.load_full(op, jty, ir_addr, join, None);
        }

        self.b.switch_to_block(join);
        self.b.seal_block(join);
        if ty.is_float() {
            self.b.ins().bitcast(clif_type(ty), ir::MemFlagsData::new(), raw)
        } else if ty.bytes() as u64 > op.size() && jty == aty {
            self.extend(op, clif_type(ty), raw)
        } else {
            raw
        }
    }

    /// `raw`, an access-sized value, extended to `ty` as access `op` asks.
    fn extend(&mut self, op: MemOp, ty: types::Type, raw: ir::Value) -> ir::Value {
        if op.signed() {
            self.b.ins().sextend(ty, raw)
        } else {
            self.b.ins().uextend(ty, raw)
        }
    }

    /// The value at host address `host`, in guest byte order, as type `ty`: the access's
    /// size, or wider for a byte (extended by the load itself).
    fn load_host(&mut self, op: MemOp, ty: types::Type, host: ir::Value, flags: ir::MemFlagsData) -> ir::Value {
        if op.size() == 1 && ty != types::I8 {
            return if op.signed() {
                self.b.ins().sload8(ty, flags, host, 0)
            } else {
                self.b.ins().uload8(ty, flags, host, 0)
            };
        }
        let v = self.b.ins().load(ty, flags, host, 0);
        if op.endian() == Endian::Big && op.size() > 1 {
            self.b.ins().bswap(v)
        } else {
            v
        }
    }

    /// An access's own TLB lookup: leaves the builder in the (new) hit block and returns the
    /// guest address, the host address for the hit and the (cold, unsealed) miss block.
    /// `role`: the access's role, if it has one. The hit block of a group's fallback is off
    /// the hot path too; a hit of an access with a page cache refills the cache.
    fn own_lookup(&mut self, op: MemOp, ir_addr: ferrite_ir::Value, store: bool, role: Option<Role>) -> (ir::Value, ir::Value, ir::Block) {
        let (addr, based) = (self.arg(ir_addr), self.base_offset(ir_addr));
        let (fast, slow) = (self.b.create_block(), self.b.create_block());
        self.b.set_cold_block(slow);
        if matches!(role, Some(Role::First { .. } | Role::Member { .. })) {
            self.b.set_cold_block(fast);
        }
        let (entry, base) = self.tlb_lookup(op, addr, based, store, fast, slow);
        self.b.switch_to_block(fast);
        self.b.seal_block(fast);
        let addend = self.addend(entry, base);
        if let Some(Role::Cached { site }) = role {
            let (page_var, addend_var) = self.site_vars[site];
            let page = self.b.ins().band_imm_s(addr, PAGE_MASK as i64);
            self.b.def_var(page_var, page);
            self.b.def_var(addend_var, addend);
        }
        (addr, self.b.ins().iadd(addr, addend), slow)
    }

    /// A load through its own TLB lookup (fast path) or the slow path; both jump to `join`
    /// with the value as type `ty` (see [`Self::load_host`]). `role`: as for
    /// [`Self::own_lookup`].
    fn load_full(&mut self, op: MemOp, ty: types::Type, ir_addr: ferrite_ir::Value, join: ir::Block, role: Option<Role>) {
        let (addr, host, slow) = self.own_lookup(op, ir_addr, false, role);
        let v = self.load_host(op, ty, host, self.ram_flags);
        self.b.ins().jump(join, &[v.into()]);

        self.b.switch_to_block(slow);
        self.b.seal_block(slow);
        self.load_slow(op, ty, addr, join);
    }

    /// The slow path of a load (the builder is in its block): the value goes to `join` as
    /// type `ty`.
    fn load_slow(&mut self, op: MemOp, ty: types::Type, addr: ir::Value, join: ir::Block) {
        self.call_shim(self.stubs.load, op, addr);
        self.check_fault(true);
        let aty = access_type(op.size());
        let mut v = self.b.ins().load(aty, self.env_flags, self.env, hdr::SLOW_VALUE);
        if aty != ty {
            v = self.extend(op, ty, v);
        }
        self.b.ins().jump(join, &[v.into()]);
    }

    /// For a fastmem access (see `ferrite_softmmu::fastmem`) at IR address `ir_addr`: the
    /// guest address and the host address in the CPU's reservation, or `None` when the access
    /// goes through the soft TLB (fastmem off for this block, or an address that may not fit
    /// in 32 bits).
    fn fastmem_addr(&mut self, op: MemOp, ir_addr: ferrite_ir::Value) -> Option<(ir::Value, ir::Value)> {
        let i = self.block.inst(ir_addr);
        if !super::uses_fastmem(self.opts, op) || i.op != Opcode::Zext || self.block.ty(i.args[0]) != Type::I32 {
            return None;
        }
        let addr = self.arg(ir_addr);
        // Fixed for the CPU's lifetime: loaded once, hoisted out of loops.
        let at = hdr::FASTMEM_BASE + 8 * op.mmu_idx() as i32;
        let base = self.b.ins().load(types::I64, self.env_flags.with_readonly().with_can_move(), self.env, at);
        Some((addr, self.b.ins().iadd(base, addr)))
    }

    /// After a fastmem access: goes on to `join` (with `args`) unless the access faulted, else
    /// leaves the builder in a new cold block that must redo the access through the slow path.
    fn fastmem_check(&mut self, join: ir::Block, args: &[ir::BlockArg]) {
        // An atomic load: Cranelift neither merges it with the previous access's check nor
        // moves it, and the fault handler writes the field behind the code's back.
        let p = self.b.ins().iadd_imm_s(self.env, hdr::FASTMEM_FAULT);
        let fault = self.b.ins().atomic_load(types::I32, self.env_flags, p);
        let redo = self.b.create_block();
        self.b.set_cold_block(redo);
        self.b.ins().brif(fault, redo, &[], join, args);
        self.b.switch_to_block(redo);
        self.b.seal_block(redo);
        let site = self.b.ins().iconst(types::I64, self.opts.phys_pc as i64);
        self.b.ins().store(self.env_flags, site, self.env, hdr::FASTMEM_SITE);
    }

    /// A guest store of `val` (IR type `ty`; instruction `ii`).
    pub(super) fn store(&mut self, ii: usize, ty: Type, op: MemOp, ir_addr: ferrite_ir::Value, val: ir::Value) {
        let join = self.b.create_block();
        if let Some((addr, host)) = self.fastmem_addr(op, ir_addr) {
            self.store_host(ty, op, val, host, self.fastmem_flags);
            self.fastmem_check(join, &[]);
            self.store_slow(ty, op, addr, val, join);
        } else if let Some(role) = self.groups[ii] {
            let (hit, full) = (self.b.create_block(), self.b.create_block());
            if !matches!(role, Role::Cached { .. }) {
                self.b.set_cold_block(full);
            }
            let host = self.group_check(role, op, ir_addr, true, hit, full);
            self.store_host(ty, op, val, host, self.ram_flags);
            self.b.ins().jump(join, &[]);
            self.b.switch_to_block(full);
            self.b.seal_block(full);
            self.store_full(ty, op, ir_addr, val, join, self.groups[ii]);
        } else {
            self.store_full(ty, op, ir_addr, val, join, None);
        }
        self.b.switch_to_block(join);
        self.b.seal_block(join);
    }

    /// Writes `val` to host address `host` in guest byte order.
    fn store_host(&mut self, ty: Type, op: MemOp, val: ir::Value, host: ir::Value, flags: ir::MemFlagsData) {
        let big = op.endian() == Endian::Big && op.size() > 1;
        let mut v = val;
        if ty.is_float() && big {
            v = self.b.ins().bitcast(clif_type(ty.int_of_same_width()), ir::MemFlagsData::new(), v);
        } else if ty.is_int() && (ty.bytes() as u64) > op.size() {
            v = self.b.ins().ireduce(access_type(op.size()), v);
        }
        if big {
            v = self.b.ins().bswap(v);
        }
        self.b.ins().store(flags, v, host, 0);
    }

    /// A store through its own TLB lookup (fast path) or the slow path; both jump to `join`.
    /// `role`: as for [`Self::own_lookup`].
    fn store_full(&mut self, ty: Type, op: MemOp, ir_addr: ferrite_ir::Value, val: ir::Value, join: ir::Block, role: Option<Role>) {
        let (addr, host, slow) = self.own_lookup(op, ir_addr, true, role);
        self.store_host(ty, op, val, host, self.ram_flags);
        self.b.ins().jump(join, &[]);

        self.b.switch_to_block(slow);
        self.b.seal_block(slow);
        self.store_slow(ty, op, addr, val, join);
    }

    /// The slow path of a store of `val` (the builder is in its block); goes on to `join`.
    fn store_slow(&mut self, ty: Type, op: MemOp, addr: ir::Value, val: ir::Value, join: ir::Block) {
        let wide = to_u64(&mut self.b, ty, val);
        self.b.ins().store(self.env_flags, wide, self.env, hdr::SLOW_VALUE);
        self.call_shim(self.stubs.store, op, addr);
        self.check_fault(true);
        self.b.ins().jump(join, &[]);
    }

    /// Calls the load or store shim for access `op` at `addr`, its operands in the header.
    fn call_shim(&mut self, shim: usize, op: MemOp, addr: ir::Value) {
        self.b.ins().store(self.env_flags, addr, self.env, hdr::SLOW_ADDR);
        let m = self.b.ins().iconst(types::I32, op.0 as i64);
        self.b.ins().store(self.env_flags, m, self.env, hdr::SLOW_MEMOP);
        let f = self.b.ins().iconst(types::I64, shim as i64);
        self.b.ins().call_indirect(self.sigs.shim, f, &[self.env]);
    }

    /// Calls helper `h` (instruction `ii`) with the operands in `args`; returns its result, if
    /// it has one.
    pub(super) fn call(&mut self, ii: usize, h: usize, args: &[ferrite_ir::Value; 4]) -> Option<ir::Value> {
        let info = &self.block.desc.helpers[h];
        // The helper works on the CPU structure: bring what it reads up to date, and what it
        // writes too, so that a helper updating part of a register cannot lose our value.
        let sync = RegSet(self.dirty.0 & (info.reads.0 | info.writes.0));
        self.store_regs(sync);
        let mut ops = [self.env; 5];
        for k in 0..4 {
            ops[k + 1] = if args[k].is_some() {
                let ty = self.block.ty(args[k]);
                let v = self.arg(args[k]);
                to_u64(&mut self.b, ty, v)
            } else {
                self.b.ins().iconst(types::I64, 0)
            };
        }
        let f = self.b.ins().iconst(types::I64, info.func as usize as i64);
        let call = self.b.ins().call_indirect(self.sigs.helper, f, &ops);
        let ret = self.b.inst_results(call)[0];
        self.forget_pages();
        // Registers it wrote are fresh in memory; stored ones are clean.
        self.dirty = RegSet(self.dirty.0 & !(info.reads.0 | info.writes.0));
        if info.may_raise {
            self.check_fault(false);
        }
        let needed = self.read_before_leaving(ii).unwrap_or(RegSet::ALL);
        for (i, r) in self.block.desc.regs.iter().enumerate() {
            if info.writes.contains(ferrite_ir::Reg(i as u16)) && needed.contains(ferrite_ir::Reg(i as u16)) {
                if let Some(var) = self.regs[i] {
                    let v = self.b.ins().load(super::var_type(&self.facts, i, r.ty), self.env_flags, self.env, r.offset as i32);
                    self.b.def_var(var, v);
                }
            }
        }
        (info.ret != Type::Void).then(|| from_u64(&mut self.b, info.ret, ret))
    }

    /// The registers read after instruction `ii` of the current basic block, if the block
    /// leaves the guest block at its end (an exit stores only dirty registers, and a helper's
    /// writes are clean): the only registers worth reloading after a helper there. `None`
    /// when control goes on to other basic blocks.
    fn read_before_leaving(&self, ii: usize) -> Option<RegSet> {
        let insts = &self.block.bbs[self.cur_bb].insts;
        let last = self.block.insts[*insts.last()? as usize].op;
        if last.flags() & ferrite_ir::opcodes::LEAVES == 0 {
            return None;
        }
        let at = insts.iter().position(|&i| i as usize == ii)?;
        let mut read = RegSet::EMPTY;
        for &i in &insts[at + 1..] {
            let inst = &self.block.insts[i as usize];
            if inst.op == Opcode::GetReg {
                read = read.with(ferrite_ir::Reg(inst.imm as u16));
            }
        }
        Some(read)
    }

    /// After a slow path or raising helper: leave through a fault path if `pending_exit` is
    /// set, else continue in a new block (cold when `cold`).
    fn check_fault(&mut self, cold: bool) {
        let pending = self.b.ins().load(types::I32, self.env_flags, self.env, hdr::PENDING_EXIT);
        let (fault, cont) = (self.b.create_block(), self.b.create_block());
        self.b.set_cold_block(fault);
        if cold {
            self.b.set_cold_block(cont);
        }
        self.b.ins().brif(pending, fault, &[], cont, &[]);
        self.b.switch_to_block(fault);
        self.b.seal_block(fault);
        self.fault_exit();
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
    }
}
