//! Compilation regions: several translated guest blocks merged into one IR block.
//!
//! A hot block and the blocks its direct exits lead to (a loop body, the two arms of an `if`)
//! are merged so that the exits between them become `chain`s, plain jumps inside one
//! compiled function: guest registers stay in host registers across them and no prologue,
//! link slot or register store runs in between. The engine picks the members; this module
//! only rewrites the IR.

use crate::{BasicBlock, Block, Opcode, Value};

/// Merges `members` into one block entered at member 0's entry. Every direct exit of a member
/// to the PC of a member (itself included) becomes `chain` to that member's entry; the other
/// exits stay. All members must come from one guest description.
pub fn merge(members: &[Block]) -> Block {
    let first = members.first().expect("a region has an entry block");
    // Where each member's instructions, basic blocks and locals start in the merged block.
    let mut inst_base = Vec::with_capacity(members.len());
    let mut bb_base = Vec::with_capacity(members.len());
    let mut local_base = Vec::with_capacity(members.len());
    let (mut ni, mut nb, mut nl) = (0u32, 0u32, 0u32);
    for m in members {
        inst_base.push(ni);
        bb_base.push(nb);
        local_base.push(nl);
        ni += m.insts.len() as u32;
        nb += m.bbs.len() as u32;
        nl += m.locals.len() as u32;
    }
    // A member's entry can be chained to if it starts with an instruction marker (the PC a
    // requested exit leaves for); the first member with a PC wins.
    let entry_of = |pc: u64| {
        members.iter().position(|m| m.vpc == pc && m.bb_start_pc(0).is_some()).map(|k| bb_base[k] as u64)
    };

    let mut out = Block::new(first.desc, first.vpc);
    out.insts.reserve(ni as usize);
    out.bbs.clear();
    for (k, m) in members.iter().enumerate() {
        let (ib, bb, lb) = (inst_base[k], bb_base[k] as u64, local_base[k] as u64);
        for inst in &m.insts {
            let mut i = *inst;
            for a in &mut i.args {
                if a.is_some() {
                    *a = Value(a.0 + ib);
                }
            }
            match i.op {
                Opcode::Jump | Opcode::Chain => i.imm += bb,
                Opcode::Branch => i.imm = ((i.imm & 0xffff_ffff) + bb) | (((i.imm >> 32) + bb) << 32),
                Opcode::GetLocal | Opcode::SetLocal => i.imm += lb,
                Opcode::ExitDirect => {
                    if let Some(target) = entry_of(i.imm) {
                        i.op = Opcode::Chain;
                        i.imm = target;
                    }
                }
                _ => {}
            }
            out.insts.push(i);
        }
        out.bbs.extend(m.bbs.iter().map(|b| BasicBlock { insts: b.insts.iter().map(|&x| x + ib).collect(), cold: b.cold }));
        out.locals.extend_from_slice(&m.locals);
        out.n_insns += m.n_insns;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::Interpreter;
    use crate::testing::{TestMachine, DESC};
    use crate::{verify, Builder, Exit, IntCC, Reg, Type};

    /// A block at `pc`: r0 += 1; if r0 == limit exit to `done` else exit to `next`.
    fn counter(pc: u64, limit: u64, next: u64, done: u64) -> Block {
        let mut blk = Block::new(&DESC, pc);
        let mut b = Builder::new(&mut blk);
        let (out, back) = (b.create_bb(), b.create_bb());
        b.insn_start(pc);
        let x = b.get_reg(Reg(0));
        let one = b.iconst(Type::I64, 1);
        let y = b.add(x, one);
        b.set_reg(Reg(0), y);
        let c = b.icmp_imm(IntCC::Eq, y, limit);
        b.branch(c, out, back);
        b.switch_to(out);
        b.exit_direct(done);
        b.switch_to(back);
        b.exit_direct(next);
        blk
    }

    #[test]
    fn exits_to_members_become_chains_and_the_rest_stay() {
        let a = counter(0x100, 10, 0x200, 0x900);
        let b = counter(0x200, 20, 0x100, 0x904);
        let m = merge(&[a.clone(), b.clone()]);
        verify(&m).unwrap();
        assert_eq!(m.vpc, 0x100);
        assert_eq!(m.n_insns, 2);
        assert_eq!(m.insts.len(), a.insts.len() + b.insts.len());
        let chains: Vec<u64> = m.insts.iter().filter(|i| i.op == Opcode::Chain).map(|i| i.imm).collect();
        // a's back exit chains to b's entry (bb 3), b's to a's (bb 0).
        assert_eq!(chains, vec![a.bbs.len() as u64, 0]);
        let exits: Vec<u64> = m.insts.iter().filter(|i| i.op == Opcode::ExitDirect).map(|i| i.imm).collect();
        assert_eq!(exits, vec![0x900, 0x904]);
    }

    #[test]
    fn a_block_merged_alone_loops_to_itself() {
        let a = counter(0x100, 10, 0x100, 0x900);
        let m = merge(&[a]);
        verify(&m).unwrap();
        let chain = m.insts.iter().find(|i| i.op == Opcode::Chain).expect("the back edge chains");
        assert_eq!(chain.imm, 0);
    }

    #[test]
    fn the_merged_block_runs_like_the_chain_of_its_members() {
        // r0 counts up through a -> b -> a ... until a sees 7 or b sees 20.
        let a = counter(0x100, 7, 0x200, 0x900);
        let b = counter(0x200, 20, 0x100, 0x904);
        let m = merge(&[a, b]);
        let mut tm = TestMachine::new();
        // SAFETY: a verified block of the test guest on its machine.
        let exit = unsafe { Interpreter::new().run(&m, tm.env()) };
        assert_eq!(exit, Exit::Direct { pc: 0x900, index: u32::MAX });
        assert_eq!(tm.cpu.r[0], 7);
    }

    #[test]
    fn a_pending_exit_request_leaves_at_the_chained_block() {
        let a = counter(0x100, 1000, 0x200, 0x900);
        let b = counter(0x200, 1000, 0x100, 0x904);
        let m = merge(&[a, b]);
        let mut tm = TestMachine::new();
        tm.cpu.hdr.exit_request.store(1, std::sync::atomic::Ordering::Release);
        // SAFETY: as above.
        let exit = unsafe { Interpreter::new().run(&m, tm.env()) };
        assert_eq!(exit, Exit::Request { pc: 0x200 });
        assert_eq!(tm.cpu.r[0], 1, "a ran once, b not at all");
        assert_eq!(tm.cpu.hdr.pc, 0x200);
    }
}
