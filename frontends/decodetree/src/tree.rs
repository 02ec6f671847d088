//! The decision tree: at each node, switch on the bits fixed in every remaining candidate;
//! candidates left without common bits are tried in table order (only allowed inside overlap
//! groups, which the ambiguity check guarantees).

use crate::parse::Table;
use crate::Error;

/// A node of the decision tree.
#[derive(Debug)]
pub enum Node {
    /// `match insn & mask` over the candidates' values.
    Switch {
        /// Bits tested.
        mask: u32,
        /// (value of those bits, subtree).
        cases: Vec<(u32, Node)>,
    },
    /// Patterns to try in order, each with its full mask check.
    Leaf(Vec<usize>),
}

/// Checks that no two patterns outside one overlap group can match the same word, then builds
/// the tree.
pub fn build(t: &Table) -> Result<Node, Error> {
    let p = &t.patterns;
    for i in 0..p.len() {
        for j in i + 1..p.len() {
            let (a, b) = (&p[i], &p[j]);
            let overlap = (a.value ^ b.value) & a.mask & b.mask == 0;
            if overlap && !(a.group.is_some() && a.group == b.group) {
                return Err(Error {
                    line: b.line,
                    message: format!("pattern {} overlaps pattern {} (line {}) outside an overlap group", b.name, a.name, a.line),
                });
            }
        }
    }
    Ok(node(t, (0..p.len()).collect(), 0))
}

fn node(t: &Table, idxs: Vec<usize>, tested: u32) -> Node {
    if idxs.len() <= 1 {
        return Node::Leaf(idxs);
    }
    let common = idxs.iter().fold(u32::MAX, |m, &i| m & t.patterns[i].mask) & !tested;
    if common == 0 {
        return Node::Leaf(idxs);
    }
    let mut cases: Vec<(u32, Vec<usize>)> = Vec::new();
    for &i in &idxs {
        let v = t.patterns[i].value & common;
        match cases.iter_mut().find(|(cv, _)| *cv == v) {
            Some((_, l)) => l.push(i),
            None => cases.push((v, vec![i])),
        }
    }
    cases.sort_by_key(|(v, _)| *v);
    Node::Switch { mask: common, cases: cases.into_iter().map(|(v, l)| (v, node(t, l, tested | common))).collect() }
}
