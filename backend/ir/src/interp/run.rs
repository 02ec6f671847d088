//! The interpreter's run loop over a [`Program`].

use super::program::{Op, Program};
use crate::eval;
use crate::exit::Exit;
use crate::Block;
use ferrite_softmmu::{slow_path, CpuHeader, MemOp};
use std::sync::atomic::Ordering;

/// Scratch state reused across runs.
#[derive(Default, Debug)]
pub struct Interpreter {
    vals: Vec<u64>,
    locals: Vec<u64>,
}

impl Interpreter {
    /// A fresh interpreter.
    pub fn new() -> Interpreter {
        Interpreter::default()
    }

    /// Flattens and runs `block` once (tests and one-off runs; the engine keeps the
    /// [`Program`] and calls [`Interpreter::run_program`]).
    ///
    /// # Safety
    /// As for [`Interpreter::run_program`]; `block` must have passed the verifier.
    pub unsafe fn run(&mut self, block: &Block, env: *mut CpuHeader) -> Exit {
        let p = Program::new(block);
        // SAFETY: forwarded contract.
        unsafe { self.run_program(&p, env) }
    }

    /// Runs `p` on the CPU at `env` until it leaves. Stores the exit PC, completed
    /// instruction count and raise detail in the header, as generated code does.
    ///
    /// # Safety
    /// `env` must point to a live CPU of the architecture the program was translated for.
    pub unsafe fn run_program(&mut self, p: &Program, env: *mut CpuHeader) -> Exit {
        if self.vals.len() < p.n_slots {
            self.vals.resize(p.n_slots, 0);
        }
        if self.locals.len() < p.n_locals {
            self.locals.resize(p.n_locals, 0);
        }
        // SAFETY: forwarded contract; the buffers are large enough for the program.
        let exit = unsafe { run_loop(p, env, &mut self.vals, &mut self.locals) };
        // SAFETY: env is live.
        unsafe {
            (*env).pc = exit.pc();
            if let Exit::Raise { aux, .. } = exit {
                (*env).exit_slot = aux;
            }
        }
        exit
    }

    /// Runs `p` as [`Interpreter::run_program`] does, in deterministic mode: its instructions
    /// are charged to `icount_budget` at entry, and given back when the budget is too small
    /// (the block then leaves at once with a request exit at its PC, having run nothing) or
    /// for the instructions that did not complete when it leaves at a fault or raise. Code
    /// compiled by either compiler keeps the same account, so all tiers count alike.
    ///
    /// # Safety
    /// As for [`Interpreter::run_program`].
    pub unsafe fn run_counted(&mut self, p: &Program, env: *mut CpuHeader) -> Exit {
        let n = i64::from(p.n_insns);
        // SAFETY (all uses of env): forwarded contract; env is live.
        unsafe {
            if (*env).icount_budget < n {
                (*env).pc = p.vpc;
                return Exit::Request { pc: p.vpc };
            }
            (*env).icount_budget -= n;
            let exit = self.run_program(p, env);
            if let Exit::Fault { .. } | Exit::Raise { .. } = exit {
                (*env).icount_budget += n - (*env).exit_insns as i64;
            }
            exit
        }
    }
}

/// Evaluates a pure op whose meaning lives in [`eval`] (comparisons, conversions, and the
/// arithmetic without its own op variant) on the value array `vals`; other ops are ignored.
/// The baseline compiler calls this for the ops it does not expand inline.
///
/// # Safety
/// `op` must come from a [`Program`] and `vals` hold that program's slots.
pub unsafe extern "C" fn eval_generic(op: *const Op, vals: *mut u64) {
    // SAFETY: forwarded contract.
    unsafe { generic(&*op, vals) }
}

/// See [`eval_generic`].
#[inline(always)]
unsafe fn generic(op: &Op, v: *mut u64) {
    // SAFETY: slot indices come from `Program::new` and are in range of `v`.
    unsafe {
        let r = |s: u32| *v.add(s as usize);
        let (d, x) = match *op {
            Op::Icmp { d, a, b, cc, ty } => (d, eval::icmp(cc, ty, r(a), r(b))),
            Op::Unary { d, a, op, ty } => (d, eval::unary(op, ty, r(a))),
            Op::Binary { d, a, b, op, ty } => (d, eval::binary(op, ty, r(a), r(b))),
            Op::Ternary { d, a, b, c, op, ty } => (d, eval::ternary(op, ty, r(a), r(b), r(c))),
            Op::Carry { d, a, b, c, op, ty } => (d, eval::carry(op, ty, r(a), r(b), r(c))),
            Op::Convert { d, a, op, from, to } => (d, eval::convert(op, from, to, r(a))),
            Op::Fcmp { d, a, b, cc, ty } => (d, eval::fcmp(cc, ty, r(a), r(b))),
            _ => return,
        };
        *v.add(d as usize) = x;
    }
}

/// The loop. Slot, local and op indices were assigned by `Program::new` from a verified block,
/// so they are in range; every basic block ends in a terminator, so `i` stays in range.
unsafe fn run_loop(p: &Program, env: *mut CpuHeader, vals: &mut [u64], locals: &mut [u64]) -> Exit {
    let base = env as *mut u8;
    let ops = p.ops.as_ptr();
    vals[..p.consts.len()].copy_from_slice(&p.consts);
    let v = vals.as_mut_ptr();
    // The current instruction's PC and the instruction markers passed in earlier basic blocks.
    let mut pc = p.vpc;
    let mut started: u64 = 0;
    let mut i = 0usize;
    // SAFETY (whole function): see the function comment for index validity; register offsets
    // come from the frontend's register table and are in bounds and aligned.
    unsafe {
        macro_rules! r {
            ($s:expr) => {
                *v.add($s as usize)
            };
        }
        macro_rules! w {
            ($s:expr, $x:expr) => {
                *v.add($s as usize) = $x
            };
        }
        // The PC and completed-instruction count at the op with site `at`.
        macro_rules! site {
            ($at:expr) => {{
                let s = *p.sites.get_unchecked($at as usize);
                if s.k != 0 {
                    (s.pc, started + s.k - 1)
                } else {
                    (pc, started.saturating_sub(1))
                }
            }};
        }
        // Leaves if the op at site `at` made a guest exception pending.
        macro_rules! fault_check {
            ($at:expr) => {
                if (*env).pending_exit != 0 {
                    let (fpc, done) = site!($at);
                    (*env).exit_insns = done;
                    return Exit::Fault { pc: fpc };
                }
            };
        }
        // Leaving basic block `from`: its instruction markers count as passed.
        macro_rules! leave {
            ($from:expr) => {{
                let (k, last) = *p.bb_marks.get_unchecked($from as usize);
                if k != 0 {
                    started += k;
                    pc = last;
                }
            }};
        }
        loop {
            let op = *ops.add(i);
            i += 1;
            match op {
                Op::Get8 { d, off } => w!(d, *base.add(off as usize) as u64),
                Op::Get16 { d, off } => w!(d, *(base.add(off as usize) as *const u16) as u64),
                Op::Get32 { d, off } => w!(d, *(base.add(off as usize) as *const u32) as u64),
                Op::Get64 { d, off } => w!(d, *(base.add(off as usize) as *const u64)),
                Op::Set8 { s, off } => *base.add(off as usize) = r!(s) as u8,
                Op::Set16 { s, off } => *(base.add(off as usize) as *mut u16) = r!(s) as u16,
                Op::Set32 { s, off } => *(base.add(off as usize) as *mut u32) = r!(s) as u32,
                Op::Set64 { s, off } => *(base.add(off as usize) as *mut u64) = r!(s),
                Op::GetLocal { d, l } => w!(d, *locals.get_unchecked(l as usize)),
                Op::SetLocal { s, l } => *locals.get_unchecked_mut(l as usize) = r!(s),
                Op::Add { d, a, b, m } => w!(d, r!(a).wrapping_add(r!(b)) & m),
                Op::Sub { d, a, b, m } => w!(d, r!(a).wrapping_sub(r!(b)) & m),
                Op::Mul { d, a, b, m } => w!(d, r!(a).wrapping_mul(r!(b)) & m),
                Op::And { d, a, b } => w!(d, r!(a) & r!(b)),
                Op::Or { d, a, b } => w!(d, r!(a) | r!(b)),
                Op::Xor { d, a, b } => w!(d, r!(a) ^ r!(b)),
                Op::Shl { d, a, b, m } => w!(d, (r!(a) << (r!(b) & (m.count_ones() as u64 - 1))) & m),
                Op::ShrU { d, a, b, bits } => w!(d, r!(a) >> (r!(b) & (bits as u64 - 1))),
                Op::Trunc { d, a, m } => w!(d, r!(a) & m),
                Op::Select { d, c, a, b } => w!(d, if r!(c) & 1 != 0 { r!(a) } else { r!(b) }),
                Op::Icmp { .. }
                | Op::Unary { .. }
                | Op::Binary { .. }
                | Op::Ternary { .. }
                | Op::Carry { .. }
                | Op::Convert { .. }
                | Op::Fcmp { .. } => generic(&op, v),
                Op::Load { d, a, memop, m, at } => {
                    let x = slow_path::load_fast(env, r!(a), MemOp(memop));
                    fault_check!(at);
                    w!(d, x & m);
                }
                Op::Store { a, s, memop, at } => {
                    slow_path::store_fast(env, r!(a), r!(s), MemOp(memop));
                    fault_check!(at);
                }
                Op::Call { d, site, at } => {
                    let c = p.calls.get_unchecked(site as usize);
                    let arg = |k: usize| if k < c.nargs as usize { r!(c.args[k]) } else { 0 };
                    let x = (c.func)(env, arg(0), arg(1), arg(2), arg(3));
                    if c.may_raise {
                        fault_check!(at);
                    }
                    w!(d, x & c.ret_mask);
                }
                Op::Jump { to, from } => {
                    leave!(from);
                    i = to as usize;
                }
                Op::Chain { to, from, pc: target } => {
                    leave!(from);
                    if (*env).exit_request.load(Ordering::Acquire) != 0 {
                        return Exit::Request { pc: target };
                    }
                    i = to as usize;
                }
                Op::Branch { c, t, f, from } => {
                    leave!(from);
                    i = if r!(c) & 1 != 0 { t } else { f } as usize;
                }
                // The link-slot index only matters to compiled code; see `direct_exit_index`.
                Op::ExitDirect { pc, .. } => return Exit::Direct { pc, index: u32::MAX },
                Op::ExitDynamic { s } => return Exit::Dynamic { pc: r!(s) },
                Op::ExitSync { pc } => return Exit::Sync { pc },
                Op::ExitSyncDynamic { s } => return Exit::Sync { pc: r!(s) },
                Op::Raise { code, s, at } => {
                    let (rpc, done) = site!(at);
                    (*env).exit_insns = done;
                    return Exit::Raise { pc: rpc, code, aux: r!(s) };
                }
                Op::Halt { pc } => return Exit::Halt { pc },
            }
        }
    }
}
