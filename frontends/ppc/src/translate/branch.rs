//! Power ISA Book I chapter 2: branch instructions (b, bc, bclr, bcctr).

use super::{Flow, TResult, TransError, Translator};
use crate::cpu::regs;
use ferrite_ir::{IntCC, Type, Value};

/// Where a conditional branch goes.
#[derive(Clone, Copy)]
pub enum BranchTarget {
    /// A known address (b, bc).
    Imm(u32),
    /// LR (bclr).
    Lr,
    /// CTR (bcctr).
    Ctr,
}

/// BO: do not test the condition.
const BO_NO_COND: u32 = 0x10;
/// BO: the value the condition bit must have.
const BO_COND_TRUE: u32 = 0x08;
/// BO: do not decrement CTR.
const BO_NO_CTR: u32 = 0x04;
/// BO: branch when the decremented CTR is zero (else non-zero).
const BO_CTR_ZERO: u32 = 0x02;

impl Translator<'_> {
    /// b / ba / bl / bla.
    pub fn branch_imm(&mut self, li: i32, aa: bool, lk: bool) -> TResult {
        let target = if aa { li as u32 } else { self.pc.wrapping_add(li as u32) };
        if lk {
            let next = self.c32(self.next_pc());
            self.set(regs::LR, next);
        }
        self.b.exit_direct(target as u64);
        Ok(Flow::EndBlock)
    }

    /// bc, bclr, bcctr: decrement and test CTR and/or test a CR bit, then branch.
    pub fn branch_cond(&mut self, bo: u32, bi: u32, target: BranchTarget, lk: bool) -> TResult {
        if matches!(target, BranchTarget::Ctr) && bo & BO_NO_CTR == 0 {
            return Err(TransError::Illegal);
        }
        // The dynamic target is read before LK updates LR, and carried to the taken path.
        let dyn_target = match target {
            BranchTarget::Imm(_) => None,
            BranchTarget::Lr | BranchTarget::Ctr => {
                let r = if matches!(target, BranchTarget::Lr) { regs::LR } else { regs::CTR };
                let v = self.get(r);
                let v = self.b.and_imm(v, !3u32 as u64);
                let l = self.b.new_local(Type::I32);
                self.b.set_local(l, v);
                Some(l)
            }
        };
        if lk {
            let next = self.c32(self.next_pc());
            self.set(regs::LR, next);
        }
        let mut cond: Option<Value> = None;
        if bo & BO_NO_CTR == 0 {
            let ctr = self.get(regs::CTR);
            let ctr = self.b.add_imm(ctr, u32::MAX as u64);
            self.set(regs::CTR, ctr);
            let cc = if bo & BO_CTR_ZERO != 0 { IntCC::Eq } else { IntCC::Ne };
            cond = Some(self.b.icmp_imm(cc, ctr, 0));
        }
        if bo & BO_NO_COND == 0 {
            let bit = self.cr_bit(bi);
            let want = (bo & BO_COND_TRUE != 0) as u64;
            let ok = self.b.icmp_imm(IntCC::Eq, bit, want);
            cond = Some(match cond {
                Some(c) => self.b.and(c, ok),
                None => ok,
            });
        }
        if let (BranchTarget::Imm(t), Some(c), false) = (target, cond, lk) {
            if self.try_predicate(t, c) {
                return Ok(Flow::Continue);
            }
        }
        let next = self.next_pc() as u64;
        let taken = self.b.create_bb();
        let mut flow = Flow::EndBlock;
        match cond {
            Some(c) => {
                let not_taken = self.b.create_bb();
                self.b.branch(c, taken, not_taken);
                // Taken path first, then either continue on the fall-through path (a side
                // exit) or end there.
                self.b.switch_to(taken);
                self.branch_exit(target, dyn_target);
                self.b.switch_to(not_taken);
                // A branch back to the block's start closes a loop whose exit is the
                // fall-through: the code after the loop would share the loop's function (and
                // compete for its host registers) to run once per loop, so end there.
                let closes_loop = matches!(target, BranchTarget::Imm(t) if u64::from(t) == self.b.block().vpc);
                if self.side_exits_left > 0 && !closes_loop {
                    self.side_exits_left -= 1;
                    flow = Flow::Continue;
                } else {
                    self.b.exit_direct(next);
                }
                return Ok(flow);
            }
            None => self.b.jump(taken),
        }
        self.b.switch_to(taken);
        self.branch_exit(target, dyn_target);
        Ok(flow)
    }

    /// Leaves the block for a branch's target.
    fn branch_exit(&mut self, target: BranchTarget, dyn_target: Option<ferrite_ir::Local>) {
        match (target, dyn_target) {
            (BranchTarget::Imm(t), _) => self.b.exit_direct(t as u64),
            (_, Some(l)) => {
                let t = self.b.get_local(l);
                let t = self.b.zext(Type::I64, t);
                self.b.exit_dynamic(t);
            }
            _ => unreachable!("dynamic targets always have a local"),
        }
    }

    /// The target of a B-form conditional branch.
    pub fn bc_target(&self, bd: i32, aa: bool) -> BranchTarget {
        BranchTarget::Imm(if aa { bd as u32 } else { self.pc.wrapping_add(bd as u32) })
    }
}

#[cfg(test)]
mod tests {
    use crate::translate::{translate_block, Mode, MAX_BLOCK_INSNS};
    use ferrite_ir::interp::direct_exit_targets;

    fn code(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn a_branch_back_to_the_block_start_ends_the_block_but_a_forward_one_does_not() {
        let mode = Mode::new(0, 0);
        // 0x1000: addi r3,r3,1; bdnz 0x1000; addi r4,r4,1; b 0x2000
        let looped = translate_block(mode, 0x1000, &code(&[0x3863_0001, 0x4200_fffc, 0x3884_0001, 0x4800_0ff4]), MAX_BLOCK_INSNS, 4);
        assert_eq!(direct_exit_targets(&looped), vec![0x1000, 0x1008], "the loop's exit ends the block");
        assert_eq!(looped.n_insns, 2);
        // 0x1000: addi r3,r3,1; bdnz 0x100c; stw r4,0(r1); b 0x2000: the fall-through goes on
        // (a store can not be predicated)
        let forward = translate_block(mode, 0x1000, &code(&[0x3863_0001, 0x4200_0008, 0x9081_0000, 0x4800_0ff4]), MAX_BLOCK_INSNS, 4);
        assert_eq!(direct_exit_targets(&forward), vec![0x100c, 0x2000]);
        assert_eq!(forward.n_insns, 4);
    }
}
