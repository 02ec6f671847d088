//! The IR builder frontends use to emit a block.
//!
//! Methods for the regular signature classes (`add`, `shl`, `zext`, `fma`, ...) are generated
//! from the opcode table in `opcodes.rs`; the rest are written here.

use crate::block::{BbId, Block, Inst, Local, Reg, Value};
use crate::opcodes::{FloatCC, IntCC, Opcode};
use crate::Type;
use ferrite_softmmu::MemOp;

/// Appends instructions to a [`Block`], one basic block at a time.
pub struct Builder<'a> {
    block: &'a mut Block,
    cur: BbId,
}

impl<'a> Builder<'a> {
    /// A builder positioned at the end of the entry basic block.
    pub fn new(block: &'a mut Block) -> Builder<'a> {
        Builder { block, cur: BbId(0) }
    }

    /// The block being built.
    pub fn block(&self) -> &Block {
        self.block
    }

    /// Appends a raw instruction to the current basic block.
    pub fn push(&mut self, op: Opcode, ty: Type, args: [Value; 4], imm: u64) -> Value {
        let v = Value(self.block.insts.len() as u32);
        self.block.insts.push(Inst { op, ty, args, imm });
        self.block.bbs[self.cur.0 as usize].insts.push(v.0);
        v
    }

    fn push1(&mut self, op: Opcode, ty: Type, a: Value, imm: u64) -> Value {
        self.push(op, ty, [a, Value::NONE, Value::NONE, Value::NONE], imm)
    }

    /// Type of a value.
    pub fn ty(&self, v: Value) -> Type {
        self.block.ty(v)
    }

    /// Creates a new, empty basic block (not yet current).
    pub fn create_bb(&mut self) -> BbId {
        self.block.bbs.push(Default::default());
        BbId(self.block.bbs.len() as u32 - 1)
    }

    /// Creates a new basic block for a rarely taken path (a fallback), which compilers lay out
    /// away from the hot code.
    pub fn create_cold_bb(&mut self) -> BbId {
        let bb = self.create_bb();
        self.block.bbs[bb.0 as usize].cold = true;
        bb
    }

    /// Makes `bb` the block new instructions go to.
    pub fn switch_to(&mut self, bb: BbId) {
        self.cur = bb;
    }

    /// The current basic block.
    pub fn current_bb(&self) -> BbId {
        self.cur
    }

    /// Whether the current basic block already ends with a terminator.
    pub fn is_terminated(&self) -> bool {
        self.block.bbs[self.cur.0 as usize]
            .insts
            .last()
            .is_some_and(|&i| self.block.insts[i as usize].op.flags() & crate::opcodes::TERMINATOR != 0)
    }

    /// Declares a block-local variable.
    pub fn new_local(&mut self, ty: Type) -> Local {
        self.block.locals.push(ty);
        Local(self.block.locals.len() as u32 - 1)
    }

    // ---- values ----

    /// An integer (or float-bits) constant of type `ty`.
    pub fn iconst(&mut self, ty: Type, imm: u64) -> Value {
        self.push(Opcode::Const, ty, [Value::NONE; 4], imm & ty.mask())
    }

    /// An `f64` constant.
    pub fn f64const(&mut self, x: f64) -> Value {
        self.iconst(Type::F64, x.to_bits())
    }

    /// An `f32` constant.
    pub fn f32const(&mut self, x: f32) -> Value {
        self.iconst(Type::F32, x.to_bits() as u64)
    }

    /// Reads guest register `r`.
    pub fn get_reg(&mut self, r: Reg) -> Value {
        let ty = self.block.desc.regs[r.0 as usize].ty;
        self.push(Opcode::GetReg, ty, [Value::NONE; 4], r.0 as u64)
    }

    /// Writes guest register `r`.
    pub fn set_reg(&mut self, r: Reg, v: Value) {
        let ty = self.ty(v);
        self.push1(Opcode::SetReg, ty, v, r.0 as u64);
    }

    /// Reads local `l`.
    pub fn get_local(&mut self, l: Local) -> Value {
        let ty = self.block.locals[l.0 as usize];
        self.push(Opcode::GetLocal, ty, [Value::NONE; 4], l.0 as u64)
    }

    /// Writes local `l`.
    pub fn set_local(&mut self, l: Local, v: Value) {
        let ty = self.ty(v);
        self.push1(Opcode::SetLocal, ty, v, l.0 as u64);
    }

    // ---- comparisons and selection ----

    /// Integer comparison; result `i8` 0/1.
    pub fn icmp(&mut self, cc: IntCC, a: Value, b: Value) -> Value {
        self.push(Opcode::Icmp, Type::I8, [a, b, Value::NONE, Value::NONE], cc as u64)
    }

    /// Integer comparison with a constant.
    pub fn icmp_imm(&mut self, cc: IntCC, a: Value, imm: u64) -> Value {
        let t = self.ty(a);
        let b = self.iconst(t, imm);
        self.icmp(cc, a, b)
    }

    /// Float comparison; result `i8` 0/1.
    pub fn fcmp(&mut self, cc: FloatCC, a: Value, b: Value) -> Value {
        self.push(Opcode::Fcmp, Type::I8, [a, b, Value::NONE, Value::NONE], cc as u64)
    }

    /// `c ? a : b`.
    pub fn select(&mut self, c: Value, a: Value, b: Value) -> Value {
        let t = self.ty(a);
        self.push(Opcode::Select, t, [c, a, b, Value::NONE], 0)
    }

    // ---- immediate forms ----

    /// `op(a, const)` for a binary opcode.
    pub fn binop_imm(&mut self, op: Opcode, a: Value, imm: u64) -> Value {
        let t = self.ty(a);
        let b = self.iconst(t, imm);
        self.push(op, t, [a, b, Value::NONE, Value::NONE], 0)
    }

    /// `a + imm`.
    pub fn add_imm(&mut self, a: Value, imm: u64) -> Value {
        self.binop_imm(Opcode::Add, a, imm)
    }

    /// `a & imm`.
    pub fn and_imm(&mut self, a: Value, imm: u64) -> Value {
        self.binop_imm(Opcode::And, a, imm)
    }

    /// `a | imm`.
    pub fn or_imm(&mut self, a: Value, imm: u64) -> Value {
        self.binop_imm(Opcode::Or, a, imm)
    }

    /// `a ^ imm`.
    pub fn xor_imm(&mut self, a: Value, imm: u64) -> Value {
        self.binop_imm(Opcode::Xor, a, imm)
    }

    /// `a << imm`.
    pub fn shl_imm(&mut self, a: Value, imm: u64) -> Value {
        self.binop_imm(Opcode::Shl, a, imm)
    }

    /// Logical `a >> imm`.
    pub fn shru_imm(&mut self, a: Value, imm: u64) -> Value {
        self.binop_imm(Opcode::ShrU, a, imm)
    }

    /// Arithmetic `a >> imm`.
    pub fn shrs_imm(&mut self, a: Value, imm: u64) -> Value {
        self.binop_imm(Opcode::ShrS, a, imm)
    }

    /// Rotate left by a constant.
    pub fn rotl_imm(&mut self, a: Value, imm: u64) -> Value {
        self.binop_imm(Opcode::Rotl, a, imm)
    }

    // ---- memory, helpers, markers ----

    /// Loads a value of type `ty` with access `op` from virtual address `addr` (`i64`).
    pub fn load(&mut self, ty: Type, op: MemOp, addr: Value) -> Value {
        self.push1(Opcode::Load, ty, addr, op.0 as u64)
    }

    /// Stores `val` with access `op` at virtual address `addr` (`i64`).
    pub fn store(&mut self, op: MemOp, addr: Value, val: Value) {
        let ty = self.ty(val);
        self.push(Opcode::Store, ty, [addr, val, Value::NONE, Value::NONE], op.0 as u64);
    }

    /// Calls helper `helper` of the guest description with `args`.
    pub fn call(&mut self, helper: usize, args: &[Value]) -> Value {
        let ret = self.block.desc.helpers[helper].ret;
        let mut a = [Value::NONE; 4];
        a[..args.len()].copy_from_slice(args);
        self.push(Opcode::Call, ret, a, helper as u64)
    }

    /// Marks the start of the guest instruction at `pc`.
    pub fn insn_start(&mut self, pc: u64) {
        self.block.n_insns += 1;
        self.push(Opcode::InsnStart, Type::Void, [Value::NONE; 4], pc);
    }

    // ---- terminators ----

    /// Goes to `bb`.
    pub fn jump(&mut self, bb: BbId) {
        self.push(Opcode::Jump, Type::Void, [Value::NONE; 4], bb.0 as u64);
    }

    /// Goes to `bb`, the entry of a merged guest block, unless an exit is requested.
    pub fn chain(&mut self, bb: BbId) {
        self.push(Opcode::Chain, Type::Void, [Value::NONE; 4], bb.0 as u64);
    }

    /// Goes to `then` if `c` is non-zero, else to `els`.
    pub fn branch(&mut self, c: Value, then: BbId, els: BbId) {
        self.push1(Opcode::Branch, Type::Void, c, then.0 as u64 | ((els.0 as u64) << 32));
    }

    /// Leaves for `pc` (linkable).
    pub fn exit_direct(&mut self, pc: u64) {
        self.push(Opcode::ExitDirect, Type::Void, [Value::NONE; 4], pc);
    }

    /// Leaves for the PC in `pc` (`i64`).
    pub fn exit_dynamic(&mut self, pc: Value) {
        self.push1(Opcode::ExitDynamic, Type::Void, pc, 0);
    }

    /// Leaves for `pc` through the run loop (CPU mode may have changed).
    pub fn exit_sync(&mut self, pc: u64) {
        self.push(Opcode::ExitSync, Type::Void, [Value::NONE; 4], pc);
    }

    /// Leaves for the PC in `pc` through the run loop.
    pub fn exit_sync_dynamic(&mut self, pc: Value) {
        self.push1(Opcode::ExitSyncDynamic, Type::Void, pc, 0);
    }

    /// Raises guest exception `code` with detail `aux` (`i64`) at the current instruction.
    pub fn raise(&mut self, code: u64, aux: Value) {
        self.push1(Opcode::Raise, Type::Void, aux, code);
    }

    /// Halts until an interrupt, then resumes at `pc`.
    pub fn halt(&mut self, pc: u64) {
        self.push(Opcode::Halt, Type::Void, [Value::NONE; 4], pc);
    }

    /// A shorthand for `icmp` + `select` patterns: `a == b ? x : y`.
    pub fn select_eq(&mut self, a: Value, b: Value, x: Value, y: Value) -> Value {
        let c = self.icmp(IntCC::Eq, a, b);
        self.select(c, x, y)
    }
}
