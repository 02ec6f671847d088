//! Register forwarding: within a basic block, a `get_reg` of a register whose value is already
//! known (read or written earlier in the block) uses that value instead of re-reading it.
//! Helper calls that write registers forget them.

use super::apply_subst;
use crate::block::{Block, Value};
use crate::opcodes::Opcode;

/// Runs the pass.
pub fn run(block: &mut Block) {
    let mut subst: Vec<Value> = (0..block.insts.len() as u32).map(Value).collect();
    let nregs = block.desc.regs.len();
    let mut known: Vec<Value> = vec![Value::NONE; nregs];
    let mut changed = false;
    for bb in 0..block.bbs.len() {
        known.iter_mut().for_each(|k| *k = Value::NONE);
        for idx in 0..block.bbs[bb].insts.len() {
            let ii = block.bbs[bb].insts[idx] as usize;
            let inst = block.insts[ii];
            match inst.op {
                Opcode::GetReg => {
                    let r = inst.imm as usize;
                    if known[r].is_some() {
                        subst[ii] = known[r];
                        block.insts[ii].op = Opcode::Nop;
                        block.insts[ii].ty = crate::Type::Void;
                        changed = true;
                    } else {
                        known[r] = Value(ii as u32);
                    }
                }
                Opcode::SetReg => known[inst.imm as usize] = subst[inst.args[0].index()],
                Opcode::Call => {
                    let w = block.desc.helpers[inst.imm as usize].writes;
                    for (r, k) in known.iter_mut().enumerate() {
                        if r < 128 && w.0 & (1u128 << r) != 0 {
                            *k = Value::NONE;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if changed {
        apply_subst(block, &subst);
    }
}
