//! Lowering of one IR block to one Cranelift function `tail fn(env) -> exit word`.
//!
//! Guest registers live in Cranelift variables for the whole block: loaded at entry (see
//! [`crate::analysis`] for which), stored back at every exit, and synchronised with the CPU
//! structure around helper calls. IR values map to SSA values within their basic block;
//! IR locals are variables too. Memory accesses inline the soft-TLB lookup ([`memory`]),
//! exits and fault paths are in [`exits`], pure opcodes in [`arith`].

mod arith;
mod exits;
mod groups;
mod memory;

use crate::analysis::{self, Facts, Position};
use crate::stubs::{self, Stubs};
use crate::{CompileOptions, JitError};
use cranelift_codegen::ir::{
    self, types, AliasRegion, AliasRegionData, Function, InstBuilder, MemFlagsData, SigRef,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_codegen::entity::packed_option::ReservedValue;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use ferrite_ir::{Block, FloatCC, IntCC, Opcode, Reg, RegSet, Type};
use ferrite_softmmu::fastmem::Fastmem;
use ferrite_softmmu::{CpuHeader, MemOp, SoftTlb, NB_MMU_MODES};
use std::mem::offset_of;

/// Offsets into the CPU header that generated code uses.
mod hdr {
    use super::*;
    pub(super) const EXIT_REQUEST: i32 = offset_of!(CpuHeader, exit_request) as i32;
    pub(super) const PENDING_EXIT: i32 = offset_of!(CpuHeader, pending_exit) as i32;
    pub(super) const ICOUNT_BUDGET: i32 = offset_of!(CpuHeader, icount_budget) as i32;
    pub(super) const PC: i32 = offset_of!(CpuHeader, pc) as i32;
    pub(super) const EXIT_INSNS: i32 = offset_of!(CpuHeader, exit_insns) as i32;
    pub(super) const EXIT_SLOT: i32 = offset_of!(CpuHeader, exit_slot) as i32;
    pub(super) const SLOW_ADDR: i32 = offset_of!(CpuHeader, slow_addr) as i32;
    pub(super) const SLOW_VALUE: i32 = offset_of!(CpuHeader, slow_value) as i32;
    pub(super) const SLOW_MEMOP: i32 = offset_of!(CpuHeader, slow_memop) as i32;
    const FASTMEM: usize = offset_of!(CpuHeader, tlb) + offset_of!(SoftTlb, fastmem);
    pub(super) const FASTMEM_BASE: i32 = (FASTMEM + offset_of!(Fastmem, base)) as i32;
    pub(super) const FASTMEM_FAULT: i64 = (FASTMEM + offset_of!(Fastmem, fault)) as i64;
    pub(super) const FASTMEM_SITE: i32 = (FASTMEM + offset_of!(Fastmem, site)) as i32;
}

/// Where the position (PC, completed instructions) of the current point comes from.
#[derive(Clone, Copy)]
enum Pos {
    /// Known at compile time (the usual case).
    Static(Position),
    /// Tracked at run time because the IR loops across `insn_start`.
    Dynamic { pc: Variable, started: Variable, done: Variable },
}

/// Signatures of everything generated code calls.
struct Sigs {
    /// Another compiled block (tail calls).
    block: SigRef,
    /// A frontend helper.
    helper: SigRef,
    /// The load and store shims (see [`crate::stubs`]).
    shim: SigRef,
}

/// The state of lowering one block.
pub(crate) struct Lower<'a, 'f> {
    b: FunctionBuilder<'f>,
    block: &'a Block,
    opts: &'a CompileOptions,
    facts: Facts,
    env: ir::Value,
    sigs: Sigs,
    /// Per guest register: its variable, if the block touches it.
    regs: Vec<Option<Variable>>,
    locals: Vec<Variable>,
    /// IR value -> Cranelift value (valid within the IR value's basic block).
    vals: Vec<ir::Value>,
    /// IR value -> a Cranelift value with the same bits in the other register file (an `f64`
    /// for an `i64` and the reverse), when one exists: bitcasts between them then cost
    /// nothing.
    twins: Vec<Option<ir::Value>>,
    /// IR basic block -> Cranelift block (reachable ones only).
    bbs: Vec<Option<ir::Block>>,
    /// Address of link slot 0.
    slots: u64,
    /// Slow-path shims.
    stubs: Stubs,
    /// Per instruction: number of `exit_direct` before it in arena order (its slot index).
    exit_index: Vec<u32>,
    /// The IR basic block being lowered.
    cur_bb: usize,
    /// Registers possibly dirty at the current point.
    dirty: RegSet,
    pos: Pos,
    /// Per instruction: its role in a group of memory accesses sharing a TLB check.
    groups: Vec<Option<groups::Role>>,
    /// Per access group: the variable holding its TLB addend (0: check each access).
    group_vars: Vec<Variable>,
    /// Per page cache (see [`groups`]): the page it holds and that page's addend.
    site_vars: Vec<(Variable, Variable)>,
    /// Memory flags: CPU structure fields, guest RAM.
    env_flags: MemFlagsData,
    ram_flags: MemFlagsData,
    /// Fastmem accesses: they may fault (and the handler lets them complete), so Cranelift
    /// must keep them where they are.
    fastmem_flags: MemFlagsData,
}

/// The Cranelift type of an IR type.
pub(crate) fn clif_type(t: Type) -> types::Type {
    match t {
        Type::I8 => types::I8,
        Type::I16 => types::I16,
        Type::I32 => types::I32,
        Type::I64 => types::I64,
        Type::F32 => types::F32,
        Type::F64 => types::F64,
        Type::Void => types::INVALID,
    }
}

/// Checks what the verifier does not: things the JIT relies on for memory safety, and that a
/// region (`chain`) is not compiled for deterministic mode, whose budget needs exact
/// instruction counts at every exit.
fn check_supported(block: &Block, opts: &CompileOptions) -> Result<(), JitError> {
    if opts.count_insns && block.insts.iter().any(|i| i.op == Opcode::Chain) {
        return Err(JitError::Unsupported("regions in deterministic mode".into()));
    }
    for inst in &block.insts {
        if matches!(inst.op, Opcode::Load | Opcode::Store) && MemOp(inst.imm as u32).mmu_idx() >= NB_MMU_MODES {
            return Err(JitError::Unsupported(format!("MMU index {} out of range", MemOp(inst.imm as u32).mmu_idx())));
        }
    }
    if block.desc.helpers.iter().any(|h| h.args.len() > 4) {
        return Err(JitError::Unsupported("helper with more than 4 operands".into()));
    }
    Ok(())
}

/// Number of link slots (direct exits) of `block`.
pub(crate) fn slot_count(block: &Block) -> u32 {
    block.insts.iter().filter(|i| i.op == Opcode::ExitDirect).count() as u32
}

/// Builds the function of `block` into `func` (cleared by the caller). `slots` is the address
/// of the block's link slots.
pub(crate) fn lower_block(
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    config: TargetFrontendConfig,
    block: &Block,
    opts: &CompileOptions,
    slots: u64,
    stubs: &Stubs,
) -> Result<(), JitError> {
    ferrite_ir::verify(block).map_err(|e| JitError::Unsupported(e.to_string()))?;
    check_supported(block, opts)?;
    func.signature = stubs::block_signature();
    let mut b = FunctionBuilder::new(func, fctx);
    let env_region = b.func.dfg.alias_regions.insert(AliasRegionData { user_id: 0, description: "cpu".into() });
    let ram_region = b.func.dfg.alias_regions.insert(AliasRegionData { user_id: 1, description: "guest ram".into() });
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let env = b.block_params(entry)[0];
    let sigs = Sigs {
        block: b.import_signature(stubs::block_signature()),
        helper: b.import_signature(stubs::sig(CallConv::SystemV, &[types::I64; 5], Some(types::I64))),
        shim: b.import_signature(stubs::shim_signature()),
    };
    let facts = analysis::analyze(block);
    let mut regs = vec![None; block.desc.regs.len()];
    for (i, r) in block.desc.regs.iter().enumerate() {
        if facts.written.contains(Reg(i as u16)) {
            regs[i] = Some(b.declare_var(var_type(&facts, i, r.ty)));
        }
    }
    let locals = block.locals.iter().map(|&t| b.declare_var(clif_type(t))).collect();
    let pos = match &facts.positions {
        Some(_) => Pos::Static(Position { pc: block.vpc, started: 0 }),
        None => Pos::Dynamic {
            pc: b.declare_var(types::I64),
            started: b.declare_var(types::I64),
            done: b.declare_var(types::I64),
        },
    };
    // Fastmem accesses need no shared checks or page caches (and a group must not start with
    // an access that skips the check).
    let fastmem = block.insts.iter().any(|i| matches!(i.op, Opcode::Load | Opcode::Store) && uses_fastmem(opts, MemOp(i.imm as u32)));
    let (groups, n_groups, n_sites) = if fastmem { (vec![None; block.insts.len()], 0, 0) } else { groups::assign(block, &facts.reachable) };
    let group_vars = (0..n_groups).map(|_| b.declare_var(types::I64)).collect();
    let site_vars = (0..n_sites).map(|_| (b.declare_var(types::I64), b.declare_var(types::I64))).collect();
    let mut exit_index = Vec::with_capacity(block.insts.len());
    let mut n = 0;
    for inst in &block.insts {
        exit_index.push(n);
        n += (inst.op == Opcode::ExitDirect) as u32;
    }
    let mut l = Lower {
        b,
        block,
        opts,
        env,
        sigs,
        regs,
        locals,
        vals: vec![ir::Value::reserved_value(); block.insts.len()],
        twins: vec![None; block.insts.len()],
        bbs: Vec::new(),
        slots,
        stubs: *stubs,
        exit_index,
        groups,
        group_vars,
        site_vars,
        cur_bb: 0,
        dirty: RegSet::EMPTY,
        pos,
        env_flags: flags_in(env_region),
        ram_flags: MemFlagsData::new().with_notrap().with_alias_region(Some(ram_region)),
        fastmem_flags: MemFlagsData::new().with_alias_region(Some(ram_region)),
        facts,
    };
    l.prologue();
    for bb in 0..block.bbs.len() {
        if l.facts.reachable[bb] {
            l.lower_bb(bb)?;
        }
    }
    l.b.seal_all_blocks();
    l.b.finalize(config);
    Ok(())
}

/// Whether an access `op` of code compiled with `opts` goes through fastmem (when its address
/// fits in 32 bits).
fn uses_fastmem(opts: &CompileOptions, op: MemOp) -> bool {
    u32::from(opts.fastmem_modes) & (1 << op.mmu_idx()) != 0
}

/// The Cranelift type of register `i`'s variable: `f64` for an `i64` register the block uses
/// as a double.
fn var_type(facts: &Facts, i: usize, ty: Type) -> types::Type {
    if facts.float_regs.contains(Reg(i as u16)) {
        types::F64
    } else {
        clif_type(ty)
    }
}

fn flags_in(region: AliasRegion) -> MemFlagsData {
    MemFlagsData::trusted().with_alias_region(Some(region))
}

impl Lower<'_, '_> {
    /// Block entry: exit request and instruction budget checks, register loads.
    fn prologue(&mut self) {
        self.bbs = (0..self.block.bbs.len()).map(|bb| self.facts.reachable[bb].then(|| self.b.create_block())).collect();
        let request = self.b.create_block();
        self.b.set_cold_block(request);
        let go = self.b.create_block();
        let req = self.exit_request();
        self.b.ins().brif(req, request, &[], go, &[]);
        self.b.switch_to_block(go);
        self.b.seal_block(go);
        if self.opts.count_insns {
            let budget = self.b.ins().load(types::I64, self.env_flags, self.env, hdr::ICOUNT_BUDGET);
            let left = self.b.ins().iadd_imm_s(budget, -(self.block.n_insns as i64));
            let neg = self.b.ins().icmp_imm_s(ir::condcodes::IntCC::SignedLessThan, left, 0);
            let run = self.b.create_block();
            self.b.ins().brif(neg, request, &[], run, &[]);
            self.b.switch_to_block(run);
            self.b.seal_block(run);
            self.b.ins().store(self.env_flags, left, self.env, hdr::ICOUNT_BUDGET);
        }
        for (i, r) in self.block.desc.regs.iter().enumerate() {
            if self.facts.entry_loads.contains(Reg(i as u16)) {
                let v = self.b.ins().load(var_type(&self.facts, i, r.ty), self.env_flags, self.env, r.offset as i32);
                let var = self.regs[i].expect("loaded registers have variables");
                self.b.def_var(var, v);
            }
        }
        self.forget_pages();
        self.jump_to_start();
        self.b.switch_to_block(request);
        self.b.seal_block(request);
        let vpc = self.b.ins().iconst(types::I64, self.block.vpc as i64);
        self.b.ins().store(self.env_flags, vpc, self.env, hdr::PC);
        let tag = self.b.ins().iconst(types::I64, ferrite_ir::exit::tag::REQUEST as i64);
        self.b.ins().return_(&[tag]);
    }

    /// Loads `exit_request`, which other threads set while this code runs: an atomic load,
    /// so that an optimising compile neither merges it with an earlier load nor hoists it
    /// out of a loop (a loop through `chain`s would then never see a request).
    fn exit_request(&mut self) -> ir::Value {
        let addr = self.b.ins().iadd_imm_s(self.env, i64::from(hdr::EXIT_REQUEST));
        self.b.ins().atomic_load(types::I32, ir::MemFlagsData::trusted(), addr)
    }

    /// Empties the page caches (at entry, and after a helper call, which may have changed
    /// the guest's translations).
    fn forget_pages(&mut self) {
        for k in 0..self.site_vars.len() {
            // No masked address equals it.
            let none = self.b.ins().iconst(types::I64, -1);
            self.b.def_var(self.site_vars[k].0, none);
            let zero = self.b.ins().iconst(types::I64, 0);
            self.b.def_var(self.site_vars[k].1, zero);
        }
    }

    /// Starts the block's first instruction: position variables at the entry, jump to the
    /// entry basic block.
    fn jump_to_start(&mut self) {
        if let Pos::Dynamic { pc, started, done } = self.pos {
            let vpc = self.b.ins().iconst(types::I64, self.block.vpc as i64);
            let zero = self.b.ins().iconst(types::I64, 0);
            self.b.def_var(pc, vpc);
            self.b.def_var(started, zero);
            self.b.def_var(done, zero);
        }
        let bb0 = self.bbs[0].expect("entry is reachable");
        self.b.ins().jump(bb0, &[]);
    }

    fn lower_bb(&mut self, bb: usize) -> Result<(), JitError> {
        let cb = self.bbs[bb].expect("reachable");
        if self.block.bbs[bb].cold {
            self.b.set_cold_block(cb);
        }
        self.b.switch_to_block(cb);
        self.cur_bb = bb;
        self.dirty = self.facts.dirty_in[bb];
        if let (Pos::Static(_), Some(p)) = (self.pos, &self.facts.positions) {
            self.pos = Pos::Static(p[bb]);
        }
        for &ii in &self.block.bbs[bb].insts {
            self.lower_inst(ii as usize)?;
        }
        Ok(())
    }

    /// Reads register `r` as IR value `ii`: its variable, or, for a register the block never
    /// writes or has not written yet on any path here, a load from the CPU structure. A float
    /// register's `f64` becomes the value's twin.
    fn get_reg(&mut self, ii: usize, r: usize) -> ir::Value {
        let info = &self.block.desc.regs[r];
        let v = match self.regs[r] {
            // The structure holds the entry value until an exit or helper call stores the
            // variable, which only happens after a write.
            Some(_) if self.facts.entry_value_reads[ii] => {
                self.b.ins().load(var_type(&self.facts, r, info.ty), self.env_flags, self.env, info.offset as i32)
            }
            Some(var) => self.b.use_var(var),
            // Never written here: the CPU structure holds its value. Unless a helper of the
            // block writes it, that value is constant for the whole function, so the load
            // may be merged with others and hoisted out of loops.
            None => {
                let flags = if self.facts.helper_writes.contains(Reg(r as u16)) {
                    self.env_flags
                } else {
                    self.env_flags.with_readonly().with_can_move()
                };
                self.b.ins().load(var_type(&self.facts, r, info.ty), flags, self.env, info.offset as i32)
            }
        };
        if self.facts.float_regs.contains(Reg(r as u16)) {
            self.twins[ii] = Some(v);
            self.b.ins().bitcast(types::I64, MemFlagsData::new(), v)
        } else {
            v
        }
    }

    /// IR value `x` bitcast to `ty` as IR value `ii`: `x`'s twin when it has one, else a host
    /// bitcast, whose operand becomes the result's twin.
    fn bitcast(&mut self, ii: usize, ty: Type, x: ferrite_ir::Value) -> ir::Value {
        let t = clif_type(ty);
        if let Some(tw) = self.twins[x.index()] {
            if self.b.func.dfg.value_type(tw) == t {
                return tw;
            }
        }
        let v = self.arg(x);
        self.twins[ii] = Some(v);
        self.b.ins().bitcast(t, MemFlagsData::new(), v)
    }

    fn arg(&self, v: ferrite_ir::Value) -> ir::Value {
        self.vals[v.index()]
    }

    fn reg_var(&self, r: u64) -> Variable {
        self.regs[r as usize].expect("written registers have variables")
    }

    /// Whether IR value `v` is known to be 0 or 1 (so its bit 0 need not be masked out).
    fn is_bool(&self, v: ferrite_ir::Value) -> bool {
        let i = self.block.inst(v);
        matches!(i.op, Opcode::Icmp | Opcode::Fcmp | Opcode::AddCarry | Opcode::AddOverflow)
            || (i.op == Opcode::Const && i.imm <= 1)
    }

    /// Bit 0 of an `i8` condition, as the interpreter tests it.
    fn cond(&mut self, v: ferrite_ir::Value) -> ir::Value {
        let c = self.arg(v);
        if self.is_bool(v) {
            c
        } else {
            self.b.ins().band_imm_s(c, 1)
        }
    }

    fn lower_inst(&mut self, ii: usize) -> Result<(), JitError> {
        let inst = self.block.insts[ii];
        let a = inst.args;
        let ty = inst.ty;
        let r = match inst.op {
            Opcode::Const => Some(arith::constant(&mut self.b, ty, inst.imm)),
            Opcode::GetReg => Some(self.get_reg(ii, inst.imm as usize)),
            Opcode::SetReg => {
                let v = match (self.twins[a[0].index()], self.facts.float_regs.contains(Reg(inst.imm as u16))) {
                    (Some(f), true) => f,
                    (None, true) => {
                        let x = self.arg(a[0]);
                        self.b.ins().bitcast(types::F64, MemFlagsData::new(), x)
                    }
                    (_, false) => self.arg(a[0]),
                };
                self.b.def_var(self.reg_var(inst.imm), v);
                self.dirty = self.dirty.with(Reg(inst.imm as u16));
                None
            }
            Opcode::GetLocal => Some(self.b.use_var(self.locals[inst.imm as usize])),
            Opcode::SetLocal => {
                let v = self.arg(a[0]);
                self.b.def_var(self.locals[inst.imm as usize], v);
                None
            }
            Opcode::Add
            | Opcode::Sub
            | Opcode::Mul
            | Opcode::MulHiU
            | Opcode::MulHiS
            | Opcode::DivU
            | Opcode::DivS
            | Opcode::RemU
            | Opcode::RemS
            | Opcode::And
            | Opcode::Or
            | Opcode::Xor
            | Opcode::Shl
            | Opcode::ShrU
            | Opcode::ShrS
            | Opcode::Rotl
            | Opcode::Rotr
            | Opcode::FAdd
            | Opcode::FSub
            | Opcode::FMul
            | Opcode::FDiv => {
                let (x, y) = (self.arg(a[0]), self.arg(a[1]));
                Some(arith::binary(&mut self.b, inst.op, ty, x, y))
            }
            Opcode::Neg
            | Opcode::Not
            | Opcode::Clz
            | Opcode::Ctz
            | Opcode::Popcnt
            | Opcode::Bswap
            | Opcode::FSqrt
            | Opcode::FNeg
            | Opcode::FAbs => {
                let x = self.arg(a[0]);
                Some(arith::unary(&mut self.b, inst.op, ty, x))
            }
            Opcode::Fma => {
                let (x, y, z) = (self.arg(a[0]), self.arg(a[1]), self.arg(a[2]));
                Some(self.b.ins().fma(x, y, z))
            }
            Opcode::Icmp => {
                let cc = IntCC::from_imm(inst.imm).expect("verified");
                let (x, y) = (self.arg(a[0]), self.arg(a[1]));
                Some(self.b.ins().icmp(arith::int_cc(cc), x, y))
            }
            Opcode::Fcmp => {
                let cc = FloatCC::from_imm(inst.imm).expect("verified");
                let (x, y) = (self.arg(a[0]), self.arg(a[1]));
                Some(self.b.ins().fcmp(arith::float_cc(cc), x, y))
            }
            Opcode::Select => {
                let c = self.cond(a[0]);
                let (x, y) = (self.arg(a[1]), self.arg(a[2]));
                Some(self.b.ins().select(c, x, y))
            }
            Opcode::AddCarry | Opcode::AddOverflow => {
                let from = self.block.ty(a[0]);
                let (x, y) = (self.arg(a[0]), self.arg(a[1]));
                let cin = match self.block.as_const(a[2]) {
                    Some(k) => arith::CarryIn::Const(k & 1 != 0),
                    None => arith::CarryIn::Value(self.cond(a[2])),
                };
                Some(arith::carry(&mut self.b, inst.op, from, x, y, cin))
            }
            Opcode::Bitcast => Some(self.bitcast(ii, ty, a[0])),
            Opcode::Zext
            | Opcode::Sext
            | Opcode::Trunc
            | Opcode::FPromote
            | Opcode::FDemote
            | Opcode::FToSI
            | Opcode::FToUI
            | Opcode::SIToF
            | Opcode::UIToF => {
                let (from, x) = (self.block.ty(a[0]), self.arg(a[0]));
                Some(arith::convert(&mut self.b, inst.op, from, ty, x))
            }
            Opcode::Load => Some(self.load(ii, ty, MemOp(inst.imm as u32), a[0])),
            Opcode::Store => {
                let vty = self.block.ty(a[1]);
                let v = self.arg(a[1]);
                self.store(ii, vty, MemOp(inst.imm as u32), a[0], v);
                None
            }
            Opcode::Call => self.call(ii, inst.imm as usize, &a),
            Opcode::InsnStart => {
                self.insn_start(inst.imm);
                None
            }
            Opcode::Nop => None,
            Opcode::Jump => {
                let target = self.bbs[inst.imm as usize].expect("successors are reachable");
                self.b.ins().jump(target, &[]);
                None
            }
            Opcode::Chain => {
                let target = self.bbs[inst.imm as usize].expect("successors are reachable");
                let pc = self.block.bb_start_pc(inst.imm as usize).expect("verified: chain targets start an instruction");
                if self.facts.chain_checks[self.cur_bb] {
                    self.chain(target, pc);
                } else {
                    self.b.ins().jump(target, &[]);
                }
                None
            }
            Opcode::Branch => {
                let c = self.cond(a[0]);
                let t = self.bbs[(inst.imm & 0xffff_ffff) as usize].expect("successors are reachable");
                let e = self.bbs[(inst.imm >> 32) as usize].expect("successors are reachable");
                self.b.ins().brif(c, t, &[], e, &[]);
                None
            }
            Opcode::ExitDirect => {
                self.exit_direct(self.exit_index[ii], inst.imm);
                None
            }
            Opcode::ExitDynamic => {
                self.exit_dynamic(self.arg(a[0]));
                None
            }
            Opcode::ExitSync => {
                let pc = self.b.ins().iconst(types::I64, inst.imm as i64);
                self.leave(ferrite_ir::exit::tag::SYNC, pc);
                None
            }
            Opcode::ExitSyncDynamic => {
                self.leave(ferrite_ir::exit::tag::SYNC, self.arg(a[0]));
                None
            }
            Opcode::Raise => {
                self.raise(inst.imm, self.arg(a[0]));
                None
            }
            Opcode::Halt => {
                let pc = self.b.ins().iconst(types::I64, inst.imm as i64);
                self.leave(ferrite_ir::exit::tag::HALT, pc);
                None
            }
        };
        if let Some(v) = r {
            self.vals[ii] = v;
        }
        Ok(())
    }

    fn insn_start(&mut self, pc: u64) {
        match self.pos {
            Pos::Static(p) => self.pos = Pos::Static(Position { pc, started: p.started + 1 }),
            Pos::Dynamic { pc: pcv, started, done } => {
                let s = self.b.use_var(started);
                self.b.def_var(done, s);
                let s1 = self.b.ins().iadd_imm_s(s, 1);
                self.b.def_var(started, s1);
                let k = self.b.ins().iconst(types::I64, pc as i64);
                self.b.def_var(pcv, k);
            }
        }
    }
}
