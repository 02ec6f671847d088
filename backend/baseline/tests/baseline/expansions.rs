//! The float ops, conversions and high multiplies tier 1 expands inline, on edge values (zeros
//! of both signs, subnormals, the extreme finite values, infinities, quiet and signalling NaNs
//! of both signs with payloads, fdemote's halfway and overflow cases; integers at the sign
//! and width boundaries): every combination of operands, each operand a register, a constant
//! or the previous op's result, run as baseline code and on the interpreter, which must leave
//! the same bits.

use super::common::{enter, outcome, Outcome};
use ferrite_baseline::Baseline;
use ferrite_ir::interp::{Interpreter, Program};
use ferrite_ir::testing::{TestMachine, DESC};
use ferrite_ir::{verify, Block, Builder, FloatCC, Opcode, Reg, Type, Value};
use ferrite_jit::{Compiled, Jit};

const F64_EDGES: [u64; 22] = [
    0,                     // +0
    0x8000_0000_0000_0000, // -0
    0x3ff0_0000_0000_0000, // 1
    0xbff8_0000_0000_0000, // -1.5
    0x4008_0000_0000_0000, // 3 (1 / 3 is inexact)
    0x3ff0_0000_0000_0001, // 1 + ulp
    0x0010_0000_0000_0000, // smallest normal
    0x0000_0000_0000_0001, // smallest subnormal
    0x800f_ffff_ffff_ffff, // largest subnormal, negative
    0x7fef_ffff_ffff_ffff, // largest finite
    0xffef_ffff_ffff_ffff, // its negation
    0x7ff0_0000_0000_0000, // +inf
    0xfff0_0000_0000_0000, // -inf
    0x7ff8_0000_0000_0000, // quiet NaN
    0xfff8_0000_0000_0123, // negative quiet NaN with a payload
    0x7ff0_0000_0000_0001, // signalling NaN
    0xfff4_0000_0000_0abc, // negative signalling NaN with a payload
    0x3ff0_0000_1000_0000, // 1 + 2^-24: halfway between two f32 (fdemote rounds to even)
    0x3ff0_0000_3000_0000, // 1 + 3 * 2^-24: halfway, rounds up
    0x47ef_ffff_f000_0000, // halfway between f32::MAX and 2^128: fdemote overflows
    0x37a0_0000_0000_0000, // 2^-133: an f32 subnormal
    0x3690_0000_0000_0000, // 2^-150: fdemote's halfway to zero
];

const F32_EDGES: [u64; 18] = [
    0,           // +0
    0x8000_0000, // -0
    0x3f80_0000, // 1
    0xbfc0_0000, // -1.5
    0x4040_0000, // 3
    0x3f80_0001, // 1 + ulp
    0x0080_0000, // smallest normal
    0x0000_0001, // smallest subnormal
    0x807f_ffff, // largest subnormal, negative
    0x7f7f_ffff, // largest finite
    0xff7f_ffff, // its negation
    0x7f80_0000, // +inf
    0xff80_0000, // -inf
    0x7fc0_0000, // quiet NaN
    0xffc0_0123, // negative quiet NaN with a payload
    0x7f80_0001, // signalling NaN
    0xffa0_0abc, // negative signalling NaN with a payload
    0x4b80_0001, // 2^24 + 2: its sum with 1 is a halfway case
];

const INT_EDGES: [u64; 15] =
    [0, 1, 3, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0000, u64::MAX];

/// One op under test: `op` on `n` operands of type `from`, giving a `to`.
#[derive(Clone, Copy, Debug)]
struct Case {
    op: Opcode,
    from: Type,
    to: Type,
    n: usize,
    imm: u64,
}

impl Case {
    fn edges(&self) -> &'static [u64] {
        match self.from {
            Type::F64 if self.n == 3 => &F64_EDGES[..17],
            Type::F64 => &F64_EDGES,
            Type::F32 => &F32_EDGES,
            _ => &INT_EDGES,
        }
    }
}

/// Every case: the arithmetic, fma, the sign ops and square root, every comparison, both
/// float conversions, the sign extensions and the high multiplies.
fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for ty in [Type::F32, Type::F64] {
        for op in [Opcode::FAdd, Opcode::FSub, Opcode::FMul, Opcode::FDiv] {
            v.push(Case { op, from: ty, to: ty, n: 2, imm: 0 });
        }
        v.push(Case { op: Opcode::Fma, from: ty, to: ty, n: 3, imm: 0 });
        for op in [Opcode::FSqrt, Opcode::FNeg, Opcode::FAbs] {
            v.push(Case { op, from: ty, to: ty, n: 1, imm: 0 });
        }
        for cc in FloatCC::ALL {
            v.push(Case { op: Opcode::Fcmp, from: ty, to: Type::I8, n: 2, imm: cc as u64 });
        }
    }
    v.push(Case { op: Opcode::FPromote, from: Type::F32, to: Type::F64, n: 1, imm: 0 });
    v.push(Case { op: Opcode::FDemote, from: Type::F64, to: Type::F32, n: 1, imm: 0 });
    for (from, to) in [(Type::I8, Type::I16), (Type::I8, Type::I32), (Type::I8, Type::I64), (Type::I16, Type::I32), (Type::I16, Type::I64), (Type::I32, Type::I64)] {
        v.push(Case { op: Opcode::Sext, from, to, n: 1, imm: 0 });
    }
    for ty in [Type::I32, Type::I64] {
        for op in [Opcode::MulHiU, Opcode::MulHiS] {
            v.push(Case { op, from: ty, to: ty, n: 2, imm: 0 });
        }
    }
    v
}

/// `r3 = op(...)` where operand k is `consts[k]` or register k, the registers read in the
/// order `order` (the last one read reaches the op in `rax`).
fn block(c: Case, consts: &[Option<u64>], order: &[usize]) -> Block {
    let mut blk = Block::new(&DESC, 0x1000);
    let mut b = Builder::new(&mut blk);
    b.insn_start(0x1000);
    let mut args = [Value::NONE; 4];
    for &k in order {
        args[k] = match consts[k] {
            Some(v) => b.iconst(c.from, v),
            None => {
                let r = b.get_reg(Reg(k as u16));
                let int = c.from.int_of_same_width();
                let r = if int == Type::I64 { r } else { b.push(Opcode::Trunc, int, [r, Value::NONE, Value::NONE, Value::NONE], 0) };
                if c.from.is_float() {
                    b.bitcast(c.from, r)
                } else {
                    r
                }
            }
        };
    }
    let x = b.push(c.op, c.to, args, c.imm);
    let x = if c.to.is_float() { b.bitcast(c.to.int_of_same_width(), x) } else { x };
    let x = if c.to.bits() == 64 { x } else { b.zext(Type::I64, x) };
    b.set_reg(Reg(3), x);
    b.exit_direct(0x1004);
    verify(&blk).unwrap_or_else(|e| panic!("{c:?}: {e}"));
    blk
}

/// Runs `blk` (as `prog`) from registers `regs` on the interpreter with machine `m[0]` and
/// as the baseline `code` with `m[1]` (the machines are reused: a run sets all they compare).
fn run_both(jit: &Jit, m: [&mut TestMachine; 2], regs: [u64; 4], blk: &Block, prog: &Program, code: Compiled) -> (Outcome, Outcome) {
    let [a, b] = m;
    for m in [&mut *a, &mut *b] {
        m.cpu.r = regs;
        (m.cpu.hdr.pc, m.cpu.hdr.exit_insns) = (0, 0);
    }
    // SAFETY: the block is written for the test guest.
    let ea = unsafe { Interpreter::new().run_program(prog, a.env()) };
    let eb = enter(jit, code.entry, code.slots, b, blk);
    (outcome(a, ea), outcome(b, eb))
}

/// Runs every case with every combination of edge operands, each operand constant or not,
/// on `base` and on the interpreter. Returns how many blocks there were of `fma` and how
/// many ops the code left to `eval_generic`, in those and in the others.
fn run_all(base: &mut Baseline) -> (usize, usize, usize) {
    let jit = Jit::new(1 << 20).unwrap();
    // Two machines for all runs (each has a MiB of RAM).
    let (mut a, mut b) = (TestMachine::new(), TestMachine::new());
    let mut runs = 0;
    let (mut fma_blocks, mut fma_generic, mut generic) = (0, 0, 0);
    for c in cases() {
        let edges = c.edges();
        for mask in 0..1usize << c.n {
            // Constant operands: every tuple of edge values, one block each.
            let n_const = mask.count_ones();
            let order: Vec<usize> = (0..c.n).map(|k| (k + mask) % c.n).collect();
            for ci in 0..edges.len().pow(n_const) {
                let mut consts = vec![None; c.n];
                let mut x = ci;
                for (k, slot) in consts.iter_mut().enumerate() {
                    if mask >> k & 1 != 0 {
                        *slot = Some(edges[x % edges.len()]);
                        x /= edges.len();
                    }
                }
                let blk = block(c, &consts, &order);
                let prog = Program::new(&blk);
                if c.op == Opcode::Fma {
                    fma_blocks += 1;
                    fma_generic += base.generic_ops(&prog);
                } else {
                    generic += base.generic_ops(&prog);
                }
                let code = base.compile(&prog, 0, u32::MAX, false).unwrap().code;
                // Register operands: every tuple of edge values (with junk above an f32 or
                // a narrow integer, which the block's truncation drops).
                let n_reg = c.n - n_const as usize;
                for ri in 0..edges.len().pow(n_reg as u32) {
                    let mut regs = [0u64; 4];
                    let mut x = ri;
                    for k in (0..c.n).filter(|k| consts[*k].is_none()) {
                        regs[k] = edges[x % edges.len()] | if c.from.bits() < 64 { 0x5a5a_0000_0000_0000 } else { 0 };
                        x /= edges.len();
                    }
                    let (oa, ob) = run_both(&jit, [&mut a, &mut b], regs, &blk, &prog, code);
                    assert_eq!(
                        oa.regs[3], ob.regs[3],
                        "{c:?} on registers {regs:x?}, constants {consts:x?}: interpreter {:#x}, baseline {:#x}",
                        oa.regs[3], ob.regs[3]
                    );
                    assert_eq!(oa, ob, "{c:?} on registers {regs:x?}, constants {consts:x?}");
                    runs += 1;
                }
                if base.used_bytes() > 32 << 20 {
                    base.reset();
                }
            }
        }
    }
    assert!(runs > 100_000, "{runs} runs");
    (fma_blocks, fma_generic, generic)
}

#[test]
fn expanded_ops_on_edge_values_match_the_interpreter() {
    let mut base = Baseline::new(64 << 20).unwrap();
    let (fma_blocks, fma_generic, generic) = run_all(&mut base);
    // Every one of these ops has an expansion on x86-64, fma on hosts with FMA3.
    assert_eq!(generic, 0, "ops left to eval_generic");
    let want = if std::is_x86_feature_detected!("fma") { 0 } else { fma_blocks };
    assert_eq!(fma_generic, want, "fma ops left to eval_generic");
}

#[test]
fn fma_without_fma3_goes_through_the_interpreters_code() {
    let mut base = Baseline::new(64 << 20).unwrap().without_inline_fma();
    let c = Case { op: Opcode::Fma, from: Type::F64, to: Type::F64, n: 3, imm: 0 };
    let prog = Program::new(&block(c, &[None, None, None], &[0, 1, 2]));
    assert_eq!(base.generic_ops(&prog), 1);
    let jit = Jit::new(1 << 20).unwrap();
    let code = base.compile(&prog, 0, u32::MAX, false).unwrap().code;
    let blk = block(c, &[None, None, None], &[0, 1, 2]);
    for (a, b, cc) in [(3.0f64, 1.0f64 / 3.0, -1.0f64), (f64::INFINITY, 0.0, f64::NAN), (1e308, 10.0, -f64::INFINITY)] {
        let mut m = TestMachine::new();
        m.cpu.r[..3].copy_from_slice(&[a.to_bits(), b.to_bits(), cc.to_bits()]);
        enter(&jit, code.entry, code.slots, &mut m, &blk);
        assert_eq!(m.cpu.r[3], a.mul_add(b, cc).to_bits(), "fma({a}, {b}, {cc})");
    }
}

/// An operand of a chain step: a register (0 or 1) or an earlier step's result.
#[derive(Clone, Copy, Debug)]
enum Arg {
    Reg(u16),
    Step(usize),
}

/// The operands of an `fma` that takes an earlier step's result in each place.
const FMA_ARGS: [[Arg; 3]; 3] =
    [[Arg::Step(0), Arg::Reg(1), Arg::Reg(0)], [Arg::Reg(0), Arg::Step(0), Arg::Reg(0)], [Arg::Reg(0), Arg::Reg(1), Arg::Step(0)]];

/// A step of a chain: opcode, result type, operands, immediate.
type Step = (Opcode, Type, &'static [Arg], u64);

/// `r3 = ` the last of `steps`, on registers r0 and r1 holding floats of type `ty`.
fn chain_block(ty: Type, steps: &[Step]) -> Block {
    let mut blk = Block::new(&DESC, 0x1000);
    let mut b = Builder::new(&mut blk);
    b.insn_start(0x1000);
    let mut regs = Vec::new();
    for r in 0..2 {
        let x = b.get_reg(Reg(r));
        let x = if ty == Type::F32 { b.push(Opcode::Trunc, Type::I32, [x, Value::NONE, Value::NONE, Value::NONE], 0) } else { x };
        regs.push(b.bitcast(ty, x));
    }
    let mut results: Vec<Value> = Vec::new();
    for &(op, to, args, imm) in steps {
        let mut a = [Value::NONE; 4];
        for (k, arg) in args.iter().enumerate() {
            a[k] = match *arg {
                Arg::Reg(r) => regs[r as usize],
                Arg::Step(s) => results[s],
            };
        }
        results.push(b.push(op, to, a, imm));
    }
    let x = *results.last().unwrap();
    let to = b.ty(x);
    let x = if to.is_float() { b.bitcast(to.int_of_same_width(), x) } else { x };
    let x = if to.bits() == 64 { x } else { b.zext(Type::I64, x) };
    b.set_reg(Reg(3), x);
    b.exit_direct(0x1004);
    verify(&blk).unwrap_or_else(|e| panic!("{steps:?}: {e}"));
    blk
}

#[test]
fn float_chains_match_the_interpreter() {
    // A result that only the next float op reads stays in xmm0 and never reaches rax or the
    // frame; one read twice is stored and also taken from xmm0; fneg takes it from rax.
    use Arg::{Reg as R, Step as S};
    let jit = Jit::new(1 << 20).unwrap();
    let mut base = Baseline::new(16 << 20).unwrap();
    let (mut a, mut b) = (TestMachine::new(), TestMachine::new());
    let arith = [Opcode::FAdd, Opcode::FSub, Opcode::FMul, Opcode::FDiv];
    let mut runs = 0;
    for (ty, edges) in [(Type::F32, &F32_EDGES[..]), (Type::F64, &F64_EDGES[..])] {
        let mut chains: Vec<Vec<Step>> = Vec::new();
        for p in arith {
            for q in arith {
                chains.push(vec![(p, ty, &[R(0), R(1)], 0), (q, ty, &[S(0), R(0)], 0)]);
                chains.push(vec![(p, ty, &[R(0), R(1)], 0), (q, ty, &[R(0), S(0)], 0)]);
            }
            chains.push(vec![(p, ty, &[R(0), R(1)], 0), (Opcode::FMul, ty, &[S(0), S(0)], 0)]);
            chains.push(vec![(p, ty, &[R(0), R(1)], 0), (Opcode::FSqrt, ty, &[S(0)], 0)]);
            chains.push(vec![(p, ty, &[R(0), R(1)], 0), (Opcode::FNeg, ty, &[S(0)], 0)]);
            chains.push(vec![(p, ty, &[R(0), R(1)], 0), (Opcode::Fcmp, Type::I8, &[S(0), R(1)], FloatCC::Lt as u64)]);
            chains.push(vec![(p, ty, &[R(0), R(1)], 0), (Opcode::Fcmp, Type::I8, &[R(1), S(0)], FloatCC::Ne as u64)]);
        }
        for args in &FMA_ARGS {
            chains.push(vec![(Opcode::FSub, ty, &[R(1), R(0)], 0), (Opcode::Fma, ty, args, 0)]);
        }
        if ty == Type::F64 {
            chains.push(vec![(Opcode::FMul, ty, &[R(0), R(1)], 0), (Opcode::FDemote, Type::F32, &[S(0)], 0), (Opcode::FPromote, Type::F64, &[S(1)], 0)]);
            chains.push(vec![(Opcode::FDemote, Type::F32, &[R(0)], 0), (Opcode::FPromote, Type::F64, &[S(0)], 0), (Opcode::Fcmp, Type::I8, &[S(1), R(0)], FloatCC::Eq as u64)]);
        }
        for steps in &chains {
            let blk = chain_block(ty, steps);
            let prog = Program::new(&blk);
            assert_eq!(base.generic_ops(&prog), (steps[1].0 == Opcode::Fma && !std::is_x86_feature_detected!("fma")) as usize);
            let code = base.compile(&prog, 0, u32::MAX, false).unwrap().code;
            for (&x, &y) in edges.iter().flat_map(|x| edges.iter().map(move |y| (x, y))) {
                let (oa, ob) = run_both(&jit, [&mut a, &mut b], [x, y, 0, 0], &blk, &prog, code);
                assert_eq!(oa, ob, "{steps:?} on {x:#x}, {y:#x}");
                runs += 1;
            }
        }
    }
    assert!(runs > 40_000, "{runs} runs");
}
