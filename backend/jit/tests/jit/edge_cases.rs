//! Hand-written checks for behaviour random blocks reach rarely: every integer and float
//! opcode over a table of edge values (against `ferrite_ir::eval`, the IR's definition), with
//! operands both computed at run time and known to Cranelift as constants; and helpers that
//! read, write and raise.

use super::common::{machine, outcome, ram_difference, run_interp, run_jit};
use ferrite_ir::eval;
use ferrite_ir::testing::{TestCpu, TestMachine, DESC, REGS};
use ferrite_ir::{Block, Builder, Exit, GuestDesc, HelperInfo, Opcode, Reg, RegSet, Type, Value};
use ferrite_jit::{CompileOptions, Jit};
use ferrite_softmmu::CpuHeader;

const INTS: [Type; 4] = [Type::I8, Type::I16, Type::I32, Type::I64];

fn int_edges(ty: Type) -> Vec<u64> {
    let bits = ty.bits() as u64;
    let min = 1u64 << (bits - 1);
    [0, 1, 2, 3, 7, bits - 1, bits, bits + 1, min, min - 1, min + 1, u64::MAX, u64::MAX - 1, 0x5a5a_5a5a_5a5a_5a5a]
        .iter()
        .map(|v| v & ty.mask())
        .collect()
}

fn float_edges(ty: Type) -> Vec<u64> {
    let f = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        1.5,
        -2.5,
        1e10,
        -3e9,
        4294967296.0,
        9.3e18,
        1.9e19,
        -9.3e18,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE / 4.0,
        127.9,
        -128.9,
        255.5,
        32767.5,
        65535.9,
    ];
    match ty {
        Type::F32 => f.iter().map(|x| (*x as f32).to_bits() as u64).collect(),
        _ => f.iter().map(|x| x.to_bits()).collect(),
    }
}

/// A block computing `op` on operands taken from r0..r2 (as `tys`), writing the result
/// (as u64 bits) to r3; or with constant operands when `consts` is given.
fn op_block(op: Opcode, result: Type, tys: &[Type], imm: u64, consts: Option<&[u64]>) -> Block {
    let mut blk = Block::new(&DESC, 0);
    let mut b = Builder::new(&mut blk);
    b.insn_start(0);
    let mut args = [Value::NONE; 4];
    for (k, &t) in tys.iter().enumerate() {
        args[k] = match consts {
            Some(c) => b.iconst(t, c[k]),
            None => {
                let r = b.get_reg(Reg(k as u16));
                let i = if t.bits() < 64 { b.trunc(t.int_of_same_width(), r) } else { r };
                if t.is_float() {
                    b.bitcast(t, i)
                } else {
                    i
                }
            }
        };
    }
    let v = b.push(op, result, args, imm);
    let i = if result.is_float() { b.bitcast(result.int_of_same_width(), v) } else { v };
    let w = if result.bits() < 64 { b.zext(Type::I64, i) } else { i };
    b.set_reg(Reg(3), w);
    b.exit_sync(4);
    blk
}

/// Runs `op` on every operand tuple, with register operands (one compiled block) and with
/// constant operands (one block per tuple, for the first `const_limit` tuples).
fn check(jit: &mut Jit, op: Opcode, result: Type, tys: &[Type], imm: u64, tuples: &[Vec<u64>], expect: impl Fn(&[u64]) -> u64, const_limit: usize) {
    let opts = CompileOptions::default();
    let env_block = op_block(op, result, tys, imm, None);
    let code = jit.compile(&env_block, &opts).unwrap();
    let mut m = TestMachine::new();
    for (n, t) in tuples.iter().enumerate() {
        m.cpu.r[..t.len()].copy_from_slice(t);
        super::common::enter(jit, code.entry, code.slots, &mut m, &env_block);
        let want = expect(t);
        assert_eq!(m.cpu.r[3], want, "{op:?}.{result} {t:x?} (register operands)");
        if n < const_limit {
            let blk = op_block(op, result, tys, imm, Some(t));
            let c = jit.compile(&blk, &opts).unwrap();
            super::common::enter(jit, c.entry, c.slots, &mut m, &blk);
            assert_eq!(m.cpu.r[3], want, "{op:?}.{result} {t:x?} (constant operands)");
        }
    }
}

fn pairs(xs: &[u64]) -> Vec<Vec<u64>> {
    xs.iter().flat_map(|&a| xs.iter().map(move |&b| vec![a, b])).collect()
}

#[test]
fn integer_opcodes_match_eval_on_edge_values() {
    let mut jit = Jit::new(16 << 20).unwrap();
    let binary = [
        Opcode::Add,
        Opcode::Sub,
        Opcode::Mul,
        Opcode::MulHiU,
        Opcode::MulHiS,
        Opcode::DivU,
        Opcode::DivS,
        Opcode::RemU,
        Opcode::RemS,
        Opcode::And,
        Opcode::Or,
        Opcode::Xor,
        Opcode::Shl,
        Opcode::ShrU,
        Opcode::ShrS,
        Opcode::Rotl,
        Opcode::Rotr,
    ];
    for ty in INTS {
        let ps = pairs(&int_edges(ty));
        for op in binary {
            check(&mut jit, op, ty, &[ty, ty], 0, &ps, |t| eval::binary(op, ty, t[0], t[1]), 40);
        }
        let singles: Vec<Vec<u64>> = int_edges(ty).into_iter().map(|v| vec![v]).collect();
        for op in [Opcode::Neg, Opcode::Not, Opcode::Clz, Opcode::Ctz, Opcode::Popcnt, Opcode::Bswap] {
            check(&mut jit, op, ty, &[ty], 0, &singles, |t| eval::unary(op, ty, t[0]), 100);
        }
        for (k, cc) in ferrite_ir::IntCC::ALL.iter().enumerate() {
            check(&mut jit, Opcode::Icmp, Type::I8, &[ty, ty], k as u64, &ps, |t| eval::icmp(*cc, ty, t[0], t[1]), 10);
        }
        let triples: Vec<Vec<u64>> = ps.iter().flat_map(|p| [0u64, 1, 3].map(|c| vec![p[0], p[1], c])).collect();
        for op in [Opcode::AddCarry, Opcode::AddOverflow] {
            check(&mut jit, op, Type::I8, &[ty, ty, Type::I8], 0, &triples, |t| eval::carry(op, ty, t[0], t[1], t[2]), 60);
        }
    }
}

#[test]
fn float_opcodes_and_conversions_match_eval_on_edge_values() {
    let mut jit = Jit::new(16 << 20).unwrap();
    for ty in [Type::F32, Type::F64] {
        let edges = float_edges(ty);
        // Binary operations on NaN pairs may pick either payload; the table has one NaN.
        let ps = pairs(&edges);
        for op in [Opcode::FAdd, Opcode::FSub, Opcode::FMul, Opcode::FDiv] {
            check(&mut jit, op, ty, &[ty, ty], 0, &ps, |t| eval::binary(op, ty, t[0], t[1]), 30);
        }
        let singles: Vec<Vec<u64>> = edges.iter().map(|&v| vec![v]).collect();
        for op in [Opcode::FSqrt, Opcode::FNeg, Opcode::FAbs] {
            check(&mut jit, op, ty, &[ty], 0, &singles, |t| eval::unary(op, ty, t[0]), 30);
        }
        for (k, cc) in ferrite_ir::FloatCC::ALL.iter().enumerate() {
            check(&mut jit, Opcode::Fcmp, Type::I8, &[ty, ty], k as u64, &ps, |t| eval::fcmp(*cc, ty, t[0], t[1]), 10);
        }
        let finite: Vec<u64> = edges.iter().copied().filter(|&b| if ty == Type::F32 { f32::from_bits(b as u32).is_finite() } else { f64::from_bits(b).is_finite() }).collect();
        let addend = edges[4];
        let triples: Vec<Vec<u64>> = finite.iter().flat_map(|&a| finite.iter().map(move |&b| vec![a, b, addend])).collect();
        check(&mut jit, Opcode::Fma, ty, &[ty, ty, ty], 0, &triples, |t| eval::ternary(Opcode::Fma, ty, t[0], t[1], t[2]), 20);
        for to in INTS {
            for op in [Opcode::FToSI, Opcode::FToUI] {
                check(&mut jit, op, to, &[ty], 0, &singles, |t| eval::convert(op, ty, to, t[0]), 30);
            }
            let ints: Vec<Vec<u64>> = int_edges(to).into_iter().map(|v| vec![v]).collect();
            for op in [Opcode::SIToF, Opcode::UIToF] {
                check(&mut jit, op, ty, &[to], 0, &ints, |t| eval::convert(op, to, ty, t[0]), 30);
            }
        }
    }
    let f64s: Vec<Vec<u64>> = float_edges(Type::F64).into_iter().map(|v| vec![v]).collect();
    check(&mut jit, Opcode::FDemote, Type::F32, &[Type::F64], 0, &f64s, |t| eval::convert(Opcode::FDemote, Type::F64, Type::F32, t[0]), 30);
    let f32s: Vec<Vec<u64>> = float_edges(Type::F32).into_iter().map(|v| vec![v]).collect();
    check(&mut jit, Opcode::FPromote, Type::F64, &[Type::F32], 0, &f32s, |t| eval::convert(Opcode::FPromote, Type::F32, Type::F64, t[0]), 30);
}

#[test]
fn fma_rounds_once() {
    // 0.1 * 10 - 1 is 0 when rounded twice and 2^-54 (5.55e-17) when fused.
    let mut jit = Jit::new(1 << 20).unwrap();
    let t = vec![0.1f64.to_bits(), 10f64.to_bits(), (-1f64).to_bits()];
    check(&mut jit, Opcode::Fma, Type::F64, &[Type::F64; 3], 0, &[t], |_| 2f64.powi(-54).to_bits(), 1);
}

// ---- helpers that read and write registers ----

/// `scale(k)`: r1 = r0 * k + w; returns the old r1 (declared as written only: the JIT also
/// stores dirty registers a helper writes). Raises when k == 0 after writing r1.
unsafe extern "C" fn scale(env: *mut CpuHeader, k: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: only called on TestCpu.
    let cpu = unsafe { &mut *(env as *mut TestCpu) };
    let old = cpu.r[1];
    cpu.r[1] = cpu.r[0].wrapping_mul(k).wrapping_add(cpu.w as u64);
    if k == 0 {
        cpu.hdr.pending_exit = 1;
    }
    old
}

static SYNC_HELPERS: [HelperInfo; 1] = [HelperInfo {
    name: "scale",
    func: scale,
    args: &[Type::I64],
    ret: Type::I64,
    reads: RegSet(0b10001),
    writes: RegSet(0b10),
    may_raise: true,
}];
static SYNC_DESC: GuestDesc = GuestDesc { name: "sync", regs: &REGS, helpers: &SYNC_HELPERS };

/// r0 = a; r1 = b; w = c; insn; r2 = scale(k); r3 = r1 + r2; exit.
fn helper_block(k: u64) -> Block {
    let mut blk = Block::new(&SYNC_DESC, 0x100);
    let mut b = Builder::new(&mut blk);
    b.insn_start(0x100);
    let x = b.get_reg(Reg(2));
    let y = b.add_imm(x, 3);
    b.set_reg(Reg(0), y);
    let z = b.iconst(Type::I64, 1000);
    b.set_reg(Reg(1), z);
    let w = b.iconst(Type::I32, 7);
    b.set_reg(Reg(4), w);
    b.insn_start(0x104);
    let kv = b.iconst(Type::I64, k);
    let old = b.call(0, &[kv]);
    b.set_reg(Reg(2), old);
    let r1 = b.get_reg(Reg(1));
    let s = b.add(r1, old);
    b.set_reg(Reg(3), s);
    b.exit_direct(0x108);
    blk
}

#[test]
fn helpers_see_dirty_registers_and_their_writes_are_reloaded() {
    let mut jit = Jit::new(1 << 20).unwrap();
    for k in [3, 0] {
        let blk = helper_block(k);
        let (mut a, mut b) = (machine([1, 2, 5, 4, 9], 1), machine([1, 2, 5, 4, 9], 1));
        let ea = run_interp(&blk, &mut a);
        let eb = run_jit(&mut jit, &blk, &mut b, &CompileOptions::default());
        assert_eq!(outcome(&a, ea), outcome(&b, eb), "k = {k}");
        assert_eq!(ram_difference(&a, &b), None);
        if k == 3 {
            // r1 = (5 + 3) * 3 + 7, r2 = old r1 (1000, stored before the call), r3 = r1 + r2.
            assert_eq!(b.cpu.r, [8, 31, 1000, 1031]);
        } else {
            assert_eq!(eb, Exit::Fault { pc: 0x104 });
            assert_eq!(b.cpu.hdr.exit_insns, 1);
            assert_eq!(b.cpu.r[1], 7, "the helper's write survives the fault path");
            assert_eq!(b.cpu.r[0], 8);
        }
    }
}
