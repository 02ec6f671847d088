//! IR blocks: instructions, values, basic blocks, and the guest description they refer to.

use crate::{Opcode, Type};
use ferrite_softmmu::CpuHeader;

/// An SSA value: the result of the instruction with this index in [`Block::insts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(pub u32);

impl Value {
    /// Marks an unused operand slot.
    pub const NONE: Value = Value(u32::MAX);
    /// Index into the instruction arena.
    pub fn index(self) -> usize {
        self.0 as usize
    }
    /// Whether this is a real operand.
    pub fn is_some(self) -> bool {
        self != Value::NONE
    }
}

/// Index of a guest register in the frontend's [`GuestDesc::regs`] table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reg(pub u16);

/// Index of a basic block within a [`Block`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BbId(pub u32);

/// Index of a block-local variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Local(pub u32);

/// One IR instruction. Its result, if any, is the value with its own index.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Inst {
    /// What it does.
    pub op: Opcode,
    /// Result type; for `set_reg`, `store` and `set_local`, the type of the stored value.
    pub ty: Type,
    /// Operands (`Value::NONE` when unused).
    pub args: [Value; 4],
    /// Immediate operand (constant bits, register, `MemOp`, condition, helper, PC, targets).
    pub imm: u64,
}

/// A straight-line sequence of instructions ending with one terminator.
#[derive(Clone, Debug, Default)]
pub struct BasicBlock {
    /// Instruction indices into [`Block::insts`], in execution order.
    pub insts: Vec<u32>,
    /// Rarely run (a fallback path): compilers may lay it out of line.
    pub cold: bool,
}

/// A set of guest registers (by index; frontends have at most 128 IR registers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RegSet(pub u128);

impl RegSet {
    /// No registers.
    pub const EMPTY: RegSet = RegSet(0);
    /// Every register.
    pub const ALL: RegSet = RegSet(u128::MAX);
    /// Whether `r` is in the set.
    pub const fn contains(self, r: Reg) -> bool {
        (r.0 as u32) < 128 && self.0 & (1u128 << r.0) != 0
    }
    /// The set with `r` added.
    pub const fn with(self, r: Reg) -> RegSet {
        RegSet(self.0 | (1u128 << r.0))
    }
    /// Union.
    pub const fn union(self, o: RegSet) -> RegSet {
        RegSet(self.0 | o.0)
    }
    /// A set of consecutive registers `first..first+n`.
    pub const fn range(first: u16, n: u16) -> RegSet {
        let ones = if n >= 128 { u128::MAX } else { (1u128 << n) - 1 };
        RegSet(ones << first)
    }
}

/// A guest register as generated code sees it.
#[derive(Clone, Copy, Debug)]
pub struct RegInfo {
    /// Name for the printer and the debugger.
    pub name: &'static str,
    /// Byte offset from the start of the CPU structure (the `CpuHeader`).
    pub offset: u32,
    /// IR type (its size is the size of the field).
    pub ty: Type,
}

/// Uniform signature of helpers: the CPU, up to four operands (floats as bits), one result.
pub type HelperFn = unsafe extern "C" fn(env: *mut CpuHeader, a0: u64, a1: u64, a2: u64, a3: u64) -> u64;

/// A frontend helper function and what it may do to the CPU.
#[derive(Clone, Copy, Debug)]
pub struct HelperInfo {
    /// Name for the printer.
    pub name: &'static str,
    /// The function.
    pub func: HelperFn,
    /// Operand types (at most four).
    pub args: &'static [Type],
    /// Result type (`Void` for none).
    pub ret: Type,
    /// Guest registers it reads from the CPU structure (they must be up to date in memory).
    pub reads: RegSet,
    /// Guest registers it writes (cached copies must be reloaded).
    pub writes: RegSet,
    /// Whether it may raise a guest exception (sets `pending_exit`).
    pub may_raise: bool,
}

/// What generated code and the interpreter need to know about a guest architecture.
#[derive(Debug)]
pub struct GuestDesc {
    /// Architecture name.
    pub name: &'static str,
    /// The register table.
    pub regs: &'static [RegInfo],
    /// The helper table.
    pub helpers: &'static [HelperInfo],
}

impl GuestDesc {
    /// Looks a register up by name.
    pub fn reg_by_name(&self, name: &str) -> Option<Reg> {
        self.regs.iter().position(|r| r.name == name).map(|i| Reg(i as u16))
    }
    /// Looks a helper up by name.
    pub fn helper_by_name(&self, name: &str) -> Option<usize> {
        self.helpers.iter().position(|h| h.name == name)
    }
}

/// IR instructions reserved for a new block (a guest block of ~10 instructions needs ~100).
const TYPICAL_INSTS: usize = 160;

/// Spare buffers kept per thread for new blocks.
const SPARES: usize = 4;

thread_local! {
    /// Instruction buffers of dropped blocks (arena, entry basic block), emptied.
    static SPARE: std::cell::RefCell<Vec<(Vec<Inst>, Vec<u32>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Drop for Block {
    fn drop(&mut self) {
        let mut insts = std::mem::take(&mut self.insts);
        let Some(mut entry) = self.bbs.first_mut().map(|b| std::mem::take(&mut b.insts)) else { return };
        if insts.capacity() < TYPICAL_INSTS || entry.capacity() < TYPICAL_INSTS || insts.capacity() > 16 * TYPICAL_INSTS {
            return;
        }
        insts.clear();
        entry.clear();
        // (try_with: a block may be dropped while the thread's locals are being destroyed.)
        let _ = SPARE.try_with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < SPARES {
                s.push((insts, entry));
            }
        });
    }
}

/// One translation unit: the IR of one guest block, entered at `bbs[0]`.
#[derive(Clone, Debug)]
pub struct Block {
    /// The guest architecture.
    pub desc: &'static GuestDesc,
    /// Guest virtual PC of the first instruction.
    pub vpc: u64,
    /// Number of guest instructions.
    pub n_insns: u32,
    /// Instruction arena (values are indices into it).
    pub insts: Vec<Inst>,
    /// Basic blocks; the first is the entry.
    pub bbs: Vec<BasicBlock>,
    /// Types of the block-local variables.
    pub locals: Vec<Type>,
}

impl Block {
    /// An empty block for `desc` starting at `vpc`.
    pub fn new(desc: &'static GuestDesc, vpc: u64) -> Block {
        // Room for a typical translation up front, from the buffers of a block dropped on
        // this thread if there is one: growing from empty, or allocating and freeing a few
        // KiB, on every one of the tens of thousands of blocks a boot translates showed up as
        // a tenth of the run loop's time in malloc.
        let spare = SPARE.try_with(|s| s.borrow_mut().pop()).ok().flatten();
        let (insts, entry) = spare.unwrap_or_else(|| (Vec::with_capacity(TYPICAL_INSTS), Vec::with_capacity(TYPICAL_INSTS)));
        Block { desc, vpc, n_insns: 0, insts, bbs: vec![BasicBlock { insts: entry, cold: false }], locals: Vec::new() }
    }

    /// The instruction defining `v`.
    pub fn inst(&self, v: Value) -> &Inst {
        &self.insts[v.index()]
    }

    /// The type of `v`.
    pub fn ty(&self, v: Value) -> Type {
        self.insts[v.index()].ty
    }

    /// The constant bits of `v`, if it is a constant.
    pub fn as_const(&self, v: Value) -> Option<u64> {
        let i = self.inst(v);
        (i.op == Opcode::Const).then_some(i.imm)
    }

    /// The PC of the guest instruction basic block `bb` starts, if its first instruction is
    /// `insn_start` (what a `chain` to it requires: a requested exit leaves for that PC).
    pub fn bb_start_pc(&self, bb: usize) -> Option<u64> {
        let first = *self.bbs[bb].insts.first()?;
        let inst = &self.insts[first as usize];
        (inst.op == Opcode::InsnStart).then_some(inst.imm)
    }

    /// Number of instructions that are not `nop` (a size measure for tests and logs).
    pub fn live_inst_count(&self) -> usize {
        self.bbs.iter().flat_map(|b| b.insts.iter()).filter(|&&i| self.insts[i as usize].op != Opcode::Nop).count()
    }
}
