//! The reserved-bit sweep: every decoder pattern's encoding with one fixed bit flipped, where no
//! pattern decodes the result, run alone as a one-instruction case. The e500mc rejects such
//! words (an invalid form); qemu-ppc should too, and ferrite must trap exactly as qemu-ppc
//! does, except in the primary opcodes where QEMU is known to run some encodings the e500mc
//! rejects (4, 31, 60: see docs/testing.md). What qemu-ppc did is committed in
//! `tests/difftest/reserved_sweep.txt` (`difftest --sweep-reserved --bless`).

use super::gen::{self, Case, Profile};
use super::Trap;
use std::path::PathBuf;

/// A swept word: the word, the pattern it came from, the flipped bit (0 = most significant).
#[derive(Clone, Copy, Debug)]
pub struct Swept {
    /// The instruction word.
    pub word: u32,
    /// The pattern whose encoding it is, but for one bit.
    pub pattern: &'static str,
    /// That bit (0 = most significant, as in the Power ISA).
    pub bit: u32,
}

/// The swept words, in table order, without repeats.
pub fn words() -> Vec<Swept> {
    let mut out: Vec<Swept> = Vec::new();
    for p in ferrite_ppc::decode::PATTERNS {
        for b in (0..32).filter(|b| p.mask >> b & 1 == 1) {
            let word = p.value ^ (1 << b);
            if ferrite_ppc::decode::mnemonic(word).is_none() && !out.iter().any(|s| s.word == word) {
                out.push(Swept { word, pattern: p.name, bit: 31 - b });
            }
        }
    }
    out
}

/// Whether QEMU is known to run some rejected encodings of `word`'s primary opcode.
pub fn known_lenient(word: u32) -> bool {
    matches!(word >> 26, 4 | 31 | 60)
}

/// The one-instruction case of swept word `i` (its state from case `i` of `seed`).
pub fn case(seed: u64, i: usize, word: u32) -> Case {
    Case { body: vec![word], profile: Profile::E500mc, ..gen::case(seed, i as u64) }
}

/// The committed results.
pub fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("difftest/reserved_sweep.txt")
}

/// Writes qemu-ppc's traps, one line per word: `0x7c100146 Privileged`.
pub fn write_golden(words: &[Swept], traps: &[Trap]) -> std::io::Result<()> {
    let mut text = String::from("# difftest --sweep-reserved --bless: qemu-ppc's trap for each swept word\n");
    for (s, t) in words.iter().zip(traps) {
        text += &format!("{:#010x} {t:?}\n", s.word);
    }
    std::fs::write(golden_path(), text)
}

/// The committed results: word and the trap's name.
pub fn read_golden() -> std::io::Result<Vec<(u32, String)>> {
    let text = std::fs::read_to_string(golden_path())?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (w, t) = l.split_once(' ')?;
            Some((u32::from_str_radix(w.trim_start_matches("0x"), 16).ok()?, t.to_string()))
        })
        .collect())
}
