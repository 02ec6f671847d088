//! Predicated runs: a conditional branch that only skips a few register-only instructions
//! (`if (a[c + 1] > a[c]) c++;`) becomes a condition instead of a branch.
//!
//! The skipped instructions are translated in line, and every register they write takes
//! `select(skip, old value, new value)`: the host runs a compare and conditional moves, with
//! nothing to mispredict. A data-dependent branch like heapsort's choice of the larger child
//! is taken half the time at random, and a host misprediction costs more than the handful of
//! operations the run executes for nothing when it is skipped. The instructions' meaning stays
//! in their translators: only [`Translator::set`] knows about the predicate.
//!
//! Only instructions whose translation is plain arithmetic on registers may be skipped this
//! way (no memory access, helper call, exit or control flow). [`predicable`] admits them by
//! encoding, and the block loop checks the IR each one produced; if a translation breaks the
//! rule anyway, the block is translated again without predication.
//!
//! Deterministic mode does not predicate: its blocks charge their whole length to the
//! instruction budget up front, which must not count instructions a branch skips.

use super::Translator;
use ferrite_ir::opcodes::PURE;
use ferrite_ir::{BbId, Opcode, Value};

/// Most instructions one branch may skip by predication.
pub const MAX_PREDICATED: u32 = 4;

/// A run of instructions translated under a condition.
#[derive(Clone, Copy)]
pub struct Predicate {
    /// `i8`: 1 when the run is skipped (the branch over it is taken).
    pub skip: Value,
    /// PC after the run, where the branch goes.
    pub until: u32,
    /// The basic block the run must stay in.
    pub bb: BbId,
}

/// Whether the instruction word is register-only arithmetic that [`Translator`] may
/// predicate: integer arithmetic, logic, rotates, shifts, compares and isel. Divisions are
/// not (they are slow, and their result for a zero divisor is a special case).
pub fn predicable(insn: u32) -> bool {
    match insn >> 26 {
        // mulli, subfic, cmpli, cmpi, addic, addic., addi, addis
        7 | 8 | 10..=15 => true,
        // rlwimi, rlwinm, rlwnm, ori, oris, xori, xoris, andi., andis.
        20 | 21 | 23..=29 => true,
        31 => {
            let x10 = (insn >> 1) & 0x3ff;
            let x9 = x10 & 0x1ff;
            // isel (A-form)
            (insn >> 1) & 0x1f == 15
                // cmp, cmpl, slw, cntlzw, and, andc, nor, eqv, xor, orc, or, nand, srw, sraw,
                // srawi, extsh, extsb
                || matches!(x10, 0 | 32 | 24 | 26 | 28 | 60 | 124 | 284 | 316 | 412 | 444 | 476 | 536 | 792 | 824 | 922 | 954)
                // XO-form, either OE: subfc, addc, mulhwu, subf, mulhw, neg, subfe, adde,
                // subfze, addze, subfme, addme, mullw, add
                || matches!(x9, 8 | 10 | 11 | 40 | 75 | 104 | 136 | 138 | 200 | 202 | 232 | 234 | 235 | 266)
        }
        _ => false,
    }
}

impl Translator<'_> {
    /// Starts a predicated run if a conditional branch from the current instruction to `target`,
    /// taken when `taken` (`i8`) is 1, skips only instructions [`predicable`] admits.
    pub(super) fn try_predicate(&mut self, target: u32, taken: Value) -> bool {
        if !self.predication || !self.early_exits || self.predicate.is_some() || target <= self.pc {
            return false;
        }
        let skipped = (target - self.pc) / 4 - 1;
        let first = (self.pc - self.b.block().vpc as u32) as usize + 4;
        let end = first + 4 * skipped as usize;
        let room = self
            .max_insns
            .saturating_sub(self.b.block().n_insns as usize);
        if skipped == 0
            || skipped > MAX_PREDICATED
            || end > self.code.len()
            || skipped as usize >= room
        {
            return false;
        }
        let all = self.code[first..end]
            .chunks_exact(4)
            .all(|w| predicable(u32::from_be_bytes(w.try_into().expect("4 bytes"))));
        if all {
            self.predicate = Some(Predicate {
                skip: taken,
                until: target,
                bb: self.b.current_bb(),
            });
        }
        all
    }

    /// Whether the instruction translated from arena index `from` kept to what a predicated
    /// run allows: it continued in the run's basic block and emitted only pure operations,
    /// register writes and its marker.
    pub(super) fn kept_predicate(&self, p: Predicate, from: usize) -> bool {
        self.b.current_bb() == p.bb
            && !self.b.is_terminated()
            && self.b.block().insts[from..].iter().all(|i| {
                let arith = i.op.flags() & PURE != 0
                    && !matches!(
                        i.op,
                        Opcode::DivU | Opcode::DivS | Opcode::RemU | Opcode::RemS
                    );
                arith || matches!(i.op, Opcode::SetReg | Opcode::InsnStart)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::predicable;
    use crate::translate::{translate_block, Mode, MAX_BLOCK_INSNS};
    use ferrite_ir::interp::direct_exit_targets;
    use ferrite_ir::Opcode;

    fn code(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    /// 0x1000: cmplw r8,r7; ble 0x1014; mr r3,r10; mr r7,r8; addi r5,r5,1; b 0x2000
    const HAMMOCK: [u32; 6] = [
        0x7c08_3840,
        0x4081_0010,
        0x7d43_5378,
        0x7d07_4378,
        0x38a5_0001,
        0x4800_0fec,
    ];

    /// Whether any basic block of `b` has an `op` instruction.
    fn has_op(b: &ferrite_ir::Block, op: Opcode) -> bool {
        b.bbs.iter().flat_map(|bb| &bb.insts).any(|&i| b.insts[i as usize].op == op)
    }

    fn has_branch(words: &[u32], max_insns: usize, side_exits: u32) -> bool {
        has_op(&translate_block(Mode::new(0, 0), 0x1000, &code(words), max_insns, side_exits), Opcode::Branch)
    }

    #[test]
    fn a_branch_over_register_arithmetic_becomes_selects() {
        let b = translate_block(Mode::new(0, 0), 0x1000, &code(&HAMMOCK), MAX_BLOCK_INSNS, 4);
        assert_eq!(b.bbs.len(), 1, "one basic block, no branch");
        assert_eq!(direct_exit_targets(&b), vec![0x2000]);
        assert_eq!(b.n_insns, 6);
        let selects = b.bbs[0]
            .insts
            .iter()
            .filter(|&&i| b.insts[i as usize].op == Opcode::Select)
            .count();
        assert!(selects >= 2, "r3 and r7 are written under the condition");
    }

    #[test]
    fn a_run_whose_instruction_does_not_translate_to_arithmetic_falls_back_to_a_branch() {
        // mulhwu with OE = 1: its XO field passes `predicable`, but the form is invalid.
        let invalid = 0x7c63_2416;
        assert!(predicable(invalid));
        let alone = translate_block(Mode::new(0, 0), 0x1000, &code(&[invalid]), MAX_BLOCK_INSNS, 4);
        assert!(has_op(&alone, Opcode::Raise), "the premise: the word raises a program interrupt");
        // cmplw r8,r7; ble 0x100c; <invalid>; b 0x2000
        let b = translate_block(Mode::new(0, 0), 0x1000, &code(&[0x7c08_3840, 0x4081_0008, invalid, 0x4800_0ff4]), MAX_BLOCK_INSNS, 4);
        assert!(has_op(&b, Opcode::Branch), "translated again with a side exit");
        assert!(has_op(&b, Opcode::Raise), "the raise stays on the fall-through path");
        assert_eq!(direct_exit_targets(&b), vec![0x100c]);
    }

    #[test]
    fn any_word_under_a_branch_translates_to_valid_ir() {
        // Words that `predicable` admits (valid or not) and random ones, alone and in pairs,
        // under a branch that skips them: each block must pass the verifier, predicated or not.
        let mut x = 0x9e37_79b9u32;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let mut predicated = 0;
        for _ in 0..20_000 {
            let mut w = [next(), next()];
            for v in &mut w {
                // Half the time a word with a predicable primary opcode (31 or 7..=29).
                if *v & 1 == 0 {
                    *v = (*v & 0x03ff_ffff) | ([31u32, 14, 21, 24, 28, 10, 7][(*v >> 27) as usize % 7] << 26);
                }
            }
            let b = translate_block(Mode::new(0, 0), 0x1000, &code(&[0x7c08_3840, 0x4081_000c, w[0], w[1], 0x4800_0ff0]), MAX_BLOCK_INSNS, 4);
            if let Err(e) = ferrite_ir::verify(&b) {
                panic!("{:08x} {:08x}: {e}", w[0], w[1]);
            }
            predicated += usize::from(b.bbs.len() == 1);
        }
        assert!(predicated > 1000, "many of them are predicated ({predicated})");
    }

    #[test]
    fn predication_needs_register_only_code_room_and_a_non_deterministic_block() {
        assert!(!has_branch(&HAMMOCK, MAX_BLOCK_INSNS, 4));
        // A load in the run.
        let mut load = HAMMOCK;
        load[3] = 0x80e8_0000;
        assert!(has_branch(&load, MAX_BLOCK_INSNS, 4));
        // Deterministic mode (no side exits) charges whole blocks: no predication.
        assert!(has_branch(&HAMMOCK, MAX_BLOCK_INSNS, 0));
        // The block may not grow past its limit, or its code (a breakpoint cuts the code).
        assert!(has_branch(&HAMMOCK, 3, 4));
        assert!(has_branch(&HAMMOCK[..4], MAX_BLOCK_INSNS, 4));
        // Longer than MAX_PREDICATED.
        let long = [
            0x7c08_3840,
            0x4081_0018,
            0x6000_0000,
            0x6000_0000,
            0x6000_0000,
            0x6000_0000,
            0x6000_0000,
            0x4800_0fe4,
        ];
        assert!(has_branch(&long, MAX_BLOCK_INSNS, 4));
    }

    #[test]
    fn register_arithmetic_is_predicable_and_the_rest_is_not() {
        for (word, what) in [
            (0x7d43_5378u32, "mr r3,r10"),
            (0x3863_0001, "addi r3,r3,1"),
            (0x7c63_2214, "add r3,r3,r4"),
            (0x5463_103a, "slwi r3,r3,2"),
            (0x7c03_2000, "cmpw r3,r4"),
            (0x7c63_205e, "isel r3,r3,r4,1"),
            (0x7c63_2614, "addo r3,r3,r4"),
        ] {
            assert!(predicable(word), "{what}");
        }
        for (word, what) in [
            (0x8063_0000u32, "lwz r3,0(r3)"),
            (0x9063_0000, "stw r3,0(r3)"),
            (0x7c63_23d6, "divw r3,r3,r4"),
            (0x4800_0008, "b .+8"),
            (0x4182_0008, "beq .+8"),
            (0x7c08_02a6, "mflr r0"),
            (0x7c60_0124, "mtmsr r3"),
            (0xfc20_1028, "fsub f1,f0,f2"),
        ] {
            assert!(!predicable(word), "{what}");
        }
    }
}
