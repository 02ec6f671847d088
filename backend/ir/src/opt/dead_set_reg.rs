//! Dead register writes: within a basic block, a `set_reg` that a later `set_reg` of the same
//! register overwrites, with no read and no possible exit in between, is removed. State stays
//! precise: anything that may leave the block (a faulting access, a raising helper) or read the
//! register (a helper) keeps the earlier write.

use crate::block::{Block, RegSet};
use crate::opcodes::{Opcode, MAY_EXIT};

/// Runs the pass.
pub fn run(block: &mut Block) {
    for bb in 0..block.bbs.len() {
        // Registers certainly overwritten later in this basic block before any read or exit.
        let mut killed = RegSet::EMPTY;
        for idx in (0..block.bbs[bb].insts.len()).rev() {
            let ii = block.bbs[bb].insts[idx] as usize;
            let inst = block.insts[ii];
            match inst.op {
                Opcode::SetReg => {
                    let r = crate::Reg(inst.imm as u16);
                    if killed.contains(r) {
                        let i = &mut block.insts[ii];
                        i.op = Opcode::Nop;
                        i.ty = crate::Type::Void;
                        i.args = [crate::Value::NONE; 4];
                    } else {
                        killed = killed.with(r);
                    }
                }
                Opcode::GetReg => killed.0 &= !(1u128 << inst.imm),
                Opcode::Call => {
                    let h = &block.desc.helpers[inst.imm as usize];
                    if h.may_raise {
                        killed = RegSet::EMPTY;
                    } else {
                        killed.0 &= !h.reads.0;
                    }
                }
                _ if inst.op.flags() & MAY_EXIT != 0 => killed = RegSet::EMPTY,
                _ => {}
            }
        }
    }
}
