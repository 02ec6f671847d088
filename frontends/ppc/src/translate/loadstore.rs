//! Power ISA Book I chapter 3.3: fixed-point loads and stores (all sizes, algebraic, update,
//! indexed, byte-reversed, multiple, string) and lwarx/stwcx.

use super::{Flow, TResult, TransError, Translator};
use crate::cpu::regs::{self, crf};
use crate::{helpers, raise};
use ferrite_ir::{IntCC, Type, Value};

/// How an instruction forms its effective address.
#[derive(Clone, Copy, Debug)]
pub enum Ea {
    /// D-form: (RA|0) + d.
    D(u32, i32),
    /// X-form: (RA|0) + RB.
    X(u32, u32),
}

impl Ea {
    fn ra(self) -> u32 {
        match self {
            Ea::D(ra, _) | Ea::X(ra, _) => ra,
        }
    }
}

impl Translator<'_> {
    /// The effective address (`i32`); update forms use RA even when it is 0.
    pub fn ea(&mut self, ea: Ea, update: bool) -> Value {
        let base = if update { self.gpr(ea.ra()) } else { self.gpr_or_zero(ea.ra()) };
        match ea {
            Ea::D(_, d) => {
                if d == 0 {
                    base
                } else {
                    self.b.add_imm(base, d as u32 as u64)
                }
            }
            Ea::X(_, rb) => {
                let b = self.gpr(rb);
                self.b.add(base, b)
            }
        }
    }

    /// Integer loads: lbz, lhz, lha, lwz and their u/x/ux forms.
    pub fn load_int(&mut self, rt: u32, ea: Ea, size_log2: u32, signed: bool, update: bool) -> TResult {
        if update && (ea.ra() == 0 || ea.ra() == rt) {
            return Err(TransError::Illegal);
        }
        let addr32 = self.ea(ea, update);
        let addr = self.addr(addr32);
        let v = self.b.load(Type::I32, self.memop(size_log2, signed), addr);
        self.set_gpr(rt, v);
        if update {
            self.set_gpr(ea.ra(), addr32);
        }
        Ok(Flow::Continue)
    }

    /// Integer stores: stb, sth, stw and their u/x/ux forms.
    pub fn store_int(&mut self, rs: u32, ea: Ea, size_log2: u32, update: bool) -> TResult {
        if update && ea.ra() == 0 {
            return Err(TransError::Illegal);
        }
        let addr32 = self.ea(ea, update);
        let addr = self.addr(addr32);
        let v = self.gpr(rs);
        let v = match size_log2 {
            0 => self.b.trunc(Type::I8, v),
            1 => self.b.trunc(Type::I16, v),
            _ => v,
        };
        self.b.store(self.memop(size_log2, false), addr, v);
        if update {
            self.set_gpr(ea.ra(), addr32);
        }
        Ok(Flow::Continue)
    }

    /// lhbrx / lwbrx: byte-reversed loads.
    pub fn load_reversed(&mut self, rt: u32, ra: u32, rb: u32, size_log2: u32) -> TResult {
        let a = self.ea(Ea::X(ra, rb), false);
        let a = self.addr(a);
        let v = self.b.load(Type::I32, self.memop_le(size_log2), a);
        self.set_gpr(rt, v);
        Ok(Flow::Continue)
    }

    /// sthbrx / stwbrx: byte-reversed stores.
    pub fn store_reversed(&mut self, rs: u32, ra: u32, rb: u32, size_log2: u32) -> TResult {
        let a = self.ea(Ea::X(ra, rb), false);
        let a = self.addr(a);
        let v = self.gpr(rs);
        let v = if size_log2 == 1 { self.b.trunc(Type::I16, v) } else { v };
        self.b.store(self.memop_le(size_log2), a, v);
        Ok(Flow::Continue)
    }

    /// lmw: load RT..R31 from consecutive words (the address is computed once, as in QEMU).
    pub fn lmw(&mut self, rt: u32, ra: u32, d: i32) -> TResult {
        let base = self.ea(Ea::D(ra, d), false);
        for (i, r) in (rt..32).enumerate() {
            let a = self.b.add_imm(base, 4 * i as u64);
            let a = self.addr(a);
            let v = self.b.load(Type::I32, self.memop(2, false), a);
            self.set_gpr(r, v);
        }
        Ok(Flow::Continue)
    }

    /// stmw: store RS..R31 to consecutive words.
    pub fn stmw(&mut self, rs: u32, ra: u32, d: i32) -> TResult {
        let base = self.ea(Ea::D(ra, d), false);
        for (i, r) in (rs..32).enumerate() {
            let a = self.b.add_imm(base, 4 * i as u64);
            let a = self.addr(a);
            let v = self.gpr(r);
            self.b.store(self.memop(2, false), a, v);
        }
        Ok(Flow::Continue)
    }

    /// lswi / stswi: string moves with an immediate byte count (0 means 32), unrolled.
    pub fn string_imm(&mut self, rt: u32, ra: u32, nb: u32, load: bool) -> TResult {
        let n = if nb == 0 { 32 } else { nb };
        let nregs = n.div_ceil(4);
        if load && reg_in_range(rt, nregs, ra) {
            return Err(TransError::Illegal);
        }
        let base = self.gpr_or_zero(ra);
        let mut reg = rt;
        let mut acc: Option<Value> = None;
        for i in 0..n {
            let a = self.b.add_imm(base, i as u64);
            let a = self.addr(a);
            let shift = 24 - 8 * (i % 4);
            if load {
                let byte = self.b.load(Type::I32, self.memop(0, false), a);
                let byte = self.b.shl_imm(byte, shift as u64);
                acc = Some(match acc {
                    Some(x) => self.b.or(x, byte),
                    None => byte,
                });
                if i % 4 == 3 || i + 1 == n {
                    self.set_gpr(reg, acc.take().expect("accumulated"));
                    reg = (reg + 1) % 32;
                }
            } else {
                let v = self.gpr(reg);
                let v = self.b.shru_imm(v, shift as u64);
                let v = self.b.trunc(Type::I8, v);
                self.b.store(self.memop(0, false), a, v);
                if i % 4 == 3 {
                    reg = (reg + 1) % 32;
                }
            }
        }
        Ok(Flow::Continue)
    }

    /// lswx / stswx: string moves of XER[BC] bytes, through a helper.
    pub fn string_indexed(&mut self, rt: u32, ra: u32, rb: u32, load: bool) -> TResult {
        let a = self.ea(Ea::X(ra, rb), false);
        let regs_packed = self.c32(rt | (ra << 8) | (rb << 16) | (self.mode.data_mmu_idx() << 24));
        let h = if load { helpers::LSWX } else { helpers::STSWX };
        self.b.call(h, &[a, regs_packed]);
        Ok(Flow::Continue)
    }

    /// Raises an alignment interrupt unless `ea` is a multiple of `align`; continues in a new
    /// basic block where it is.
    pub fn check_align(&mut self, ea: Value, align: u32) {
        let low = self.b.and_imm(ea, (align - 1) as u64);
        let bad = self.b.icmp_imm(IntCC::Ne, low, 0);
        // Values do not cross basic blocks: the fault path reads the EA back from a local.
        let saved = self.b.new_local(self.b.ty(ea));
        self.b.set_local(saved, ea);
        let fault = self.b.create_bb();
        let ok = self.b.create_bb();
        self.b.branch(bad, fault, ok);
        self.b.switch_to(fault);
        let ea = self.b.get_local(saved);
        let ea64 = self.b.zext(Type::I64, ea);
        // Alignment interrupts carry the address; store or load is told by the exception code.
        self.b.raise(raise::ALIGNMENT, ea64);
        self.b.switch_to(ok);
    }

    /// lwarx: load and reserve (word aligned).
    pub fn lwarx(&mut self, rt: u32, ra: u32, rb: u32) -> TResult {
        let a32 = self.ea(Ea::X(ra, rb), false);
        // The alignment check needs the EA again after the branch: recompute it there.
        self.check_align(a32, 4);
        let a32 = self.ea(Ea::X(ra, rb), false);
        let a = self.addr(a32);
        let v = self.b.load(Type::I32, self.memop(2, false), a);
        self.set(regs::RESERVE_ADDR, a32);
        self.set(regs::RESERVE_VAL, v);
        self.set_gpr(rt, v);
        Ok(Flow::Continue)
    }

    /// stwcx.: store if the reservation is for this address and memory still holds the reserved
    /// value (QEMU's cmpxchg model); CR0 = 0b00 EQ SO; the reservation is always lost.
    pub fn stwcx(&mut self, rs: u32, ra: u32, rb: u32) -> TResult {
        let result = self.b.new_local(Type::I8);
        let a32 = self.ea(Ea::X(ra, rb), false);
        let res = self.get(regs::RESERVE_ADDR);
        let matches = self.b.icmp(IntCC::Eq, a32, res);
        let try_bb = self.b.create_bb();
        let fail_bb = self.b.create_bb();
        let store_bb = self.b.create_bb();
        let join = self.b.create_bb();
        self.b.branch(matches, try_bb, fail_bb);

        self.b.switch_to(fail_bb);
        let zero = self.c8(0);
        self.b.set_local(result, zero);
        self.b.jump(join);

        self.b.switch_to(try_bb);
        let a32 = self.ea(Ea::X(ra, rb), false);
        let a = self.addr(a32);
        let cur = self.b.load(Type::I32, self.memop(2, false), a);
        let want = self.get(regs::RESERVE_VAL);
        let same = self.b.icmp(IntCC::Eq, cur, want);
        self.b.set_local(result, same);
        self.b.branch(same, store_bb, join);

        self.b.switch_to(store_bb);
        let a32 = self.ea(Ea::X(ra, rb), false);
        let a = self.addr(a32);
        let v = self.gpr(rs);
        self.b.store(self.memop(2, false), a, v);
        self.b.jump(join);

        self.b.switch_to(join);
        let ok = self.b.get_local(result);
        let eq = self.b.shl_imm(ok, 1);
        let so = self.get(regs::SO);
        let cr0 = self.b.or(eq, so);
        self.set(crf(0), cr0);
        let none = self.c32(regs::NO_RESERVATION);
        self.set(regs::RESERVE_ADDR, none);
        Ok(Flow::Continue)
    }

    /// dcbz: zero the 64-byte cache block containing the EA.
    pub fn dcbz(&mut self, ra: u32, rb: u32) -> TResult {
        let a = self.ea(Ea::X(ra, rb), false);
        let a = self.b.and_imm(a, !63u32 as u64);
        let a = self.addr(a);
        let zero = self.b.iconst(Type::I64, 0);
        for i in 0..8 {
            let p = self.b.add_imm(a, 8 * i);
            self.b.store(self.memop(3, false), p, zero);
        }
        Ok(Flow::Continue)
    }

    /// dcbf, dcbst, icbi (and dcbi with `as_store`): no cache to manage, but the MMU checks the
    /// address like a load (a store for dcbi), so TLB misses and storage interrupts happen as
    /// on hardware (and in QEMU).
    pub fn cache_probe(&mut self, ra: u32, rb: u32, as_store: bool) -> TResult {
        let a = self.ea(Ea::X(ra, rb), false);
        let a = self.addr(a);
        let v = self.b.load(Type::I8, self.memop(0, false), a);
        if as_store {
            self.b.store(self.memop(0, false), a, v);
        }
        Ok(Flow::Continue)
    }
}

/// Whether register `r` is among the `n` registers starting at `start` (wrapping after r31).
pub fn reg_in_range(start: u32, n: u32, r: u32) -> bool {
    (0..n).any(|i| (start + i) % 32 == r)
}
