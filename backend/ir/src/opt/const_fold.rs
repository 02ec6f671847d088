//! Constant folding: pure operations whose operands are all constants become constants, using
//! the same evaluation functions as the interpreter; a branch on a constant becomes a jump.

use crate::block::Block;
use crate::eval;
use crate::opcodes::{FloatCC, IntCC, Opcode, Sig};
use crate::Type;

/// Runs the pass.
pub fn run(block: &mut Block) {
    for bb in 0..block.bbs.len() {
        for idx in 0..block.bbs[bb].insts.len() {
            let ii = block.bbs[bb].insts[idx] as usize;
            let inst = block.insts[ii];
            let c = |k: usize| block.as_const(inst.args[k]);
            let folded = match inst.op.sig() {
                Sig::Unary => c(0).map(|a| eval::unary(inst.op, inst.ty, a)),
                Sig::Binary => match (c(0), c(1)) {
                    (Some(a), Some(b)) => Some(eval::binary(inst.op, inst.ty, a, b)),
                    _ => None,
                },
                Sig::Ternary => match (c(0), c(1), c(2)) {
                    (Some(a), Some(b), Some(x)) => Some(eval::ternary(inst.op, inst.ty, a, b, x)),
                    _ => None,
                },
                Sig::ICmp => match (c(0), c(1)) {
                    (Some(a), Some(b)) => IntCC::from_imm(inst.imm).map(|cc| eval::icmp(cc, block.ty(inst.args[0]), a, b)),
                    _ => None,
                },
                Sig::FCmp => match (c(0), c(1)) {
                    (Some(a), Some(b)) => FloatCC::from_imm(inst.imm).map(|cc| eval::fcmp(cc, block.ty(inst.args[0]), a, b)),
                    _ => None,
                },
                Sig::Carry => match (c(0), c(1), c(2)) {
                    (Some(a), Some(b), Some(x)) => Some(eval::carry(inst.op, block.ty(inst.args[0]), a, b, x)),
                    _ => None,
                },
                Sig::Convert => c(0).map(|a| eval::convert(inst.op, block.ty(inst.args[0]), inst.ty, a)),
                Sig::Select => c(0).and_then(|k| block.as_const(if k & 1 != 0 { inst.args[1] } else { inst.args[2] })),
                _ => None,
            };
            if let Some(v) = folded {
                let i = &mut block.insts[ii];
                i.op = Opcode::Const;
                i.imm = v & i.ty.mask();
                i.args = [crate::Value::NONE; 4];
                continue;
            }
            if inst.op == Opcode::Branch {
                if let Some(k) = c(0) {
                    let target = if k & 1 != 0 { inst.imm & 0xffff_ffff } else { inst.imm >> 32 };
                    let i = &mut block.insts[ii];
                    i.op = Opcode::Jump;
                    i.imm = target;
                    i.args = [crate::Value::NONE; 4];
                    i.ty = Type::Void;
                }
            }
        }
    }
}
