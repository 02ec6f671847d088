//! Dead code elimination: pure instructions whose results are never used become `nop`s.

use crate::block::Block;
use crate::opcodes::{Opcode, PURE};

/// Runs the pass.
pub fn run(block: &mut Block) {
    let mut uses = super::use_counts(block);
    for bb in 0..block.bbs.len() {
        for idx in (0..block.bbs[bb].insts.len()).rev() {
            let ii = block.bbs[bb].insts[idx] as usize;
            let inst = &mut block.insts[ii];
            if inst.op != Opcode::Nop && inst.op.flags() & PURE != 0 && uses[ii] == 0 {
                for a in inst.args.iter().filter(|a| a.is_some()) {
                    uses[a.index()] -= 1;
                }
                inst.op = Opcode::Nop;
                inst.ty = crate::Type::Void;
                inst.args = [crate::Value::NONE; 4];
            }
        }
    }
}
