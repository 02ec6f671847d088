//! The reference interpreter: executes an IR block directly against a CPU.
//!
//! It is tier 0 of execution (cold code runs here before it is worth compiling) and the oracle
//! the JIT is tested against. Registers are read from and written to the CPU structure
//! immediately, so guest state is precise at every exit by construction.

use crate::block::{Block, RegInfo};
use crate::eval;
use crate::exit::Exit;
use crate::opcodes::{FloatCC, IntCC, Opcode};
use ferrite_softmmu::{slow_path, CpuHeader, MemOp};

/// Scratch state reused across blocks.
#[derive(Default, Debug)]
pub struct Interpreter {
    vals: Vec<u64>,
    locals: Vec<u64>,
}

/// Reads a register field of the CPU structure.
///
/// # Safety
/// `env` must point to a CPU structure the register table describes.
#[inline]
pub unsafe fn read_reg(env: *mut CpuHeader, r: &RegInfo) -> u64 {
    // SAFETY: the frontend's register table gives in-bounds, aligned offsets.
    unsafe {
        let p = (env as *mut u8).add(r.offset as usize);
        match r.ty.bytes() {
            1 => *p as u64,
            2 => *(p as *const u16) as u64,
            4 => *(p as *const u32) as u64,
            _ => *(p as *const u64),
        }
    }
}

/// Writes a register field of the CPU structure.
///
/// # Safety
/// `env` must point to a CPU structure the register table describes.
#[inline]
pub unsafe fn write_reg(env: *mut CpuHeader, r: &RegInfo, v: u64) {
    // SAFETY: the frontend's register table gives in-bounds, aligned offsets.
    unsafe {
        let p = (env as *mut u8).add(r.offset as usize);
        match r.ty.bytes() {
            1 => *p = v as u8,
            2 => *(p as *mut u16) = v as u16,
            4 => *(p as *mut u32) = v as u32,
            _ => *(p as *mut u64) = v,
        }
    }
}

impl Interpreter {
    /// A fresh interpreter.
    pub fn new() -> Interpreter {
        Interpreter::default()
    }

    /// Runs `block` on the CPU at `env` until it leaves. Stores the exit PC, completed
    /// instruction count and raise detail in the header, as generated code does.
    ///
    /// # Safety
    /// `env` must point to a live CPU of the architecture `block.desc` describes, and `block`
    /// must have passed the verifier.
    pub unsafe fn run(&mut self, block: &Block, env: *mut CpuHeader) -> Exit {
        // SAFETY: forwarded contract.
        let exit = unsafe { self.run_inner(block, env) };
        // SAFETY: env is live.
        unsafe {
            (*env).pc = exit.pc();
            if let Exit::Raise { aux, .. } = exit {
                (*env).exit_slot = aux;
            }
        }
        exit
    }

    unsafe fn run_inner(&mut self, block: &Block, env: *mut CpuHeader) -> Exit {
        self.vals.clear();
        self.vals.resize(block.insts.len(), 0);
        self.locals.clear();
        self.locals.resize(block.locals.len(), 0);
        let regs = block.desc.regs;
        let mut pc = block.vpc;
        let mut started: u64 = 0;
        let mut bb = 0usize;
        let vals = &mut self.vals;
        let locals = &mut self.locals;
        macro_rules! v {
            ($i:expr) => {
                vals[$i.index()]
            };
        }
        // A guest exception raised by a memory access or helper: leave at this instruction.
        macro_rules! check_fault {
            () => {
                // SAFETY: env is live.
                if unsafe { (*env).pending_exit } != 0 {
                    // SAFETY: env is live.
                    unsafe { (*env).exit_insns = started.saturating_sub(1) };
                    return Exit::Fault { pc };
                }
            };
        }
        loop {
            for &ii in &block.bbs[bb].insts {
                let inst = &block.insts[ii as usize];
                let a = inst.args;
                let r: u64 = match inst.op {
                    Opcode::Const => inst.imm,
                    Opcode::GetReg => {
                        // SAFETY: verified register index; env is live.
                        unsafe { read_reg(env, &regs[inst.imm as usize]) }
                    }
                    Opcode::SetReg => {
                        // SAFETY: verified register index; env is live.
                        unsafe { write_reg(env, &regs[inst.imm as usize], v!(a[0])) };
                        0
                    }
                    Opcode::GetLocal => locals[inst.imm as usize],
                    Opcode::SetLocal => {
                        locals[inst.imm as usize] = v!(a[0]);
                        0
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
                    | Opcode::FDiv => eval::binary(inst.op, inst.ty, v!(a[0]), v!(a[1])),
                    Opcode::Neg
                    | Opcode::Not
                    | Opcode::Clz
                    | Opcode::Ctz
                    | Opcode::Popcnt
                    | Opcode::Bswap
                    | Opcode::FSqrt
                    | Opcode::FNeg
                    | Opcode::FAbs => eval::unary(inst.op, inst.ty, v!(a[0])),
                    Opcode::Fma => eval::ternary(inst.op, inst.ty, v!(a[0]), v!(a[1]), v!(a[2])),
                    Opcode::Icmp => {
                        let cc = IntCC::from_imm(inst.imm).expect("verified");
                        eval::icmp(cc, block.ty(a[0]), v!(a[0]), v!(a[1]))
                    }
                    Opcode::Fcmp => {
                        let cc = FloatCC::from_imm(inst.imm).expect("verified");
                        eval::fcmp(cc, block.ty(a[0]), v!(a[0]), v!(a[1]))
                    }
                    Opcode::Select => {
                        if v!(a[0]) & 1 != 0 {
                            v!(a[1])
                        } else {
                            v!(a[2])
                        }
                    }
                    Opcode::AddCarry | Opcode::AddOverflow => {
                        eval::carry(inst.op, block.ty(a[0]), v!(a[0]), v!(a[1]), v!(a[2]))
                    }
                    Opcode::Zext
                    | Opcode::Sext
                    | Opcode::Trunc
                    | Opcode::Bitcast
                    | Opcode::FPromote
                    | Opcode::FDemote
                    | Opcode::FToSI
                    | Opcode::FToUI
                    | Opcode::SIToF
                    | Opcode::UIToF => eval::convert(inst.op, block.ty(a[0]), inst.ty, v!(a[0])),
                    Opcode::Load => {
                        // SAFETY: env is live.
                        let x = unsafe { slow_path::load_fast(env, v!(a[0]), MemOp(inst.imm as u32)) };
                        check_fault!();
                        x & inst.ty.mask()
                    }
                    Opcode::Store => {
                        // SAFETY: env is live.
                        unsafe { slow_path::store_fast(env, v!(a[0]), v!(a[1]), MemOp(inst.imm as u32)) };
                        check_fault!();
                        0
                    }
                    Opcode::Call => {
                        let h = &block.desc.helpers[inst.imm as usize];
                        let arg = |k: usize| if a[k].is_some() { v!(a[k]) } else { 0 };
                        // SAFETY: the helper's contract is the uniform helper signature.
                        let x = unsafe { (h.func)(env, arg(0), arg(1), arg(2), arg(3)) };
                        if h.may_raise {
                            check_fault!();
                        }
                        x & h.ret.mask()
                    }
                    Opcode::InsnStart => {
                        pc = inst.imm;
                        started += 1;
                        0
                    }
                    Opcode::Nop => 0,
                    Opcode::Jump => {
                        bb = inst.imm as usize;
                        break;
                    }
                    Opcode::Branch => {
                        bb = if v!(a[0]) & 1 != 0 { inst.imm & 0xffff_ffff } else { inst.imm >> 32 } as usize;
                        break;
                    }
                    // The link-slot index only matters to compiled code; see `direct_exit_index`.
                    Opcode::ExitDirect => return Exit::Direct { pc: inst.imm, index: u32::MAX },
                    Opcode::ExitDynamic => return Exit::Dynamic { pc: v!(a[0]) },
                    Opcode::ExitSync => return Exit::Sync { pc: inst.imm },
                    Opcode::ExitSyncDynamic => return Exit::Sync { pc: v!(a[0]) },
                    Opcode::Raise => {
                        // SAFETY: env is live.
                        unsafe { (*env).exit_insns = started.saturating_sub(1) };
                        return Exit::Raise { pc, code: inst.imm, aux: v!(a[0]) };
                    }
                    Opcode::Halt => return Exit::Halt { pc: inst.imm },
                };
                vals[ii as usize] = r;
            }
        }
    }
}

/// The index of direct exit `inst` among the block's direct exits, in instruction order (the
/// JIT numbers link slots the same way).
pub fn direct_exit_index(block: &Block, inst: u32) -> u32 {
    block.insts[..inst as usize].iter().filter(|i| i.op == Opcode::ExitDirect).count() as u32
}

/// Direct exit targets of a block in link-slot order.
pub fn direct_exit_targets(block: &Block) -> Vec<u64> {
    block.insts.iter().filter(|i| i.op == Opcode::ExitDirect).map(|i| i.imm).collect()
}
