//! Memory accesses that share one soft-TLB check.
//!
//! Accesses of one basic block at constant offsets from one base value (`lwz 4(r3)`,
//! `lwz 8(r3)`, the stores of a function prologue off `r1`) usually fall in one guest page.
//! The first access of such a group looks the TLB up for the group's whole byte range: it
//! indexes the entry of the range's first byte and compares the tag with the page of its
//! last byte. In a direct-mapped TLB an entry only holds pages of its own index, and the two
//! pages are equal or neighbours (the range is shorter than a page), so a match means the
//! whole range is in that page, mapped with that permission, and that no address of the
//! range wraps around; the host address of the range's first byte is kept in a variable. The
//! group's later accesses add their constant distance from that byte to it (so the host's
//! addressing mode does the add) after a test for 0 (the "no group" value, set when the range
//! check failed; no host address of guest RAM is 0). A failed or cold check falls back to
//! each access's own lookup.
//!
//! A helper call ends all groups (a helper may change the guest's translations). Slow paths
//! of other accesses may refill the TLB, but a refill does not change what a guest page maps
//! to, so a kept addend stays right; only translation changes (helpers) or a return to the run
//! loop do.
//!
//! In a block that loops, an access outside any group gets a one-page cache of its own: two
//! variables, the page it last hit and that page's addend, kept across loop passes, set by
//! each hit of the access's own TLB lookup and forgotten at entry and after every helper call. When the access falls in the same page
//! (and is aligned, so it cannot leave it), it uses the kept addend: the host address then
//! depends on the guest address alone, not on two loads from the TLB, which shortens the
//! dependency chains of loops that walk memory or look values up in tables.

use ferrite_ir::{Block, Opcode, Type, Value};
use ferrite_softmmu::{MemOp, PAGE_SIZE};

/// At most this many bytes between a group's first and last byte (well under a page, so a
/// group's range spans at most two pages).
const MAX_SPAN: i64 = 1024;

/// An access's address as `base + offset`, computed in the base's type and zero-extended to
/// 64 bits when that type is narrower.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Based {
    pub(crate) base: Value,
    pub(crate) offset: i64,
}

/// What one access does in its group.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Role {
    /// The first access: checks the byte range `[base + lo, base + hi]` for the group.
    First { group: usize, base: Value, lo: i64, hi: i64 },
    /// A later access: uses the group's host address when set (`lo`: the group's lowest
    /// offset from the base).
    Member { group: usize, lo: i64 },
    /// An access with page cache number `site` (in a block that loops).
    Cached { site: usize },
}

/// At most this many page caches per block: each keeps two variables live throughout.
const MAX_SITES: usize = 4;

/// Decomposes the `i64` address `addr` into a base and a constant offset.
pub(crate) fn based(block: &Block, addr: Value) -> Based {
    let mut v = addr;
    let i = block.inst(v);
    if i.op == Opcode::Zext && block.ty(i.args[0]) == Type::I32 {
        v = i.args[0];
    }
    let mut offset = 0i64;
    for _ in 0..8 {
        let i = block.inst(v);
        if i.op != Opcode::Add {
            break;
        }
        let (x, k) = match (block.as_const(i.args[0]), block.as_const(i.args[1])) {
            (_, Some(k)) => (i.args[0], k),
            (Some(k), None) => (i.args[1], k),
            _ => break,
        };
        offset = offset.wrapping_add(signed(i.ty, k));
        v = x;
    }
    Based { base: v, offset }
}

fn signed(ty: Type, k: u64) -> i64 {
    let sh = 64 - ty.bits();
    ((k << sh) as i64) >> sh
}

/// Accesses that may share a check: same base value, loads or stores, same MMU mode.
type Key = (Value, bool, usize);
/// The groups being collected: key and member instructions.
type Open = Vec<(Key, Vec<usize>)>;

/// The roles of the accesses of `block` (indexed by instruction; `None`: its own lookup), the
/// number of groups and the number of page caches.
pub(crate) fn assign(block: &Block, reachable: &[bool]) -> (Vec<Option<Role>>, usize, usize) {
    let mut roles = vec![None; block.insts.len()];
    let mut n_groups = 0;
    // Open groups of the current stretch (since the last call).
    let mut open: Open = Vec::new();
    let mut close = |open: &mut Open, roles: &mut Vec<Option<Role>>| {
        for ((base, _, _), members) in open.drain(..) {
            if let Some((lo, hi)) = range(block, &members) {
                roles[members[0]] = Some(Role::First { group: n_groups, base, lo, hi });
                for &m in &members[1..] {
                    roles[m] = Some(Role::Member { group: n_groups, lo });
                }
                n_groups += 1;
            }
        }
    };
    for (bb, _) in reachable.iter().enumerate().filter(|(_, r)| **r) {
        for &ii in &block.bbs[bb].insts {
            let inst = &block.insts[ii as usize];
            match inst.op {
                Opcode::Load | Opcode::Store => {
                    let b = based(block, inst.args[0]);
                    let key = (b.base, inst.op == Opcode::Store, MemOp(inst.imm as u32).mmu_idx());
                    match open.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, members)) => members.push(ii as usize),
                        None => open.push((key, vec![ii as usize])),
                    }
                }
                Opcode::Call => close(&mut open, &mut roles),
                _ => {}
            }
        }
        close(&mut open, &mut roles);
    }
    let sites = cache_sites(block, reachable, &mut roles);
    (roles, n_groups, sites)
}

/// In a block that loops (a `chain` back to itself or an earlier basic block), gives the
/// accesses of the loops' bodies that have no group role a page cache each, up to
/// [`MAX_SITES`]; returns how many.
fn cache_sites(block: &Block, reachable: &[bool], roles: &mut [Option<Role>]) -> usize {
    let in_loop = loop_bodies(block, reachable);
    let mut sites = 0;
    for bb in (0..block.bbs.len()).filter(|&bb| in_loop[bb]) {
        for &ii in &block.bbs[bb].insts {
            let op = block.insts[ii as usize].op;
            if sites < MAX_SITES && matches!(op, Opcode::Load | Opcode::Store) && roles[ii as usize].is_none() {
                roles[ii as usize] = Some(Role::Cached { site: sites });
                sites += 1;
            }
        }
    }
    sites
}

/// Per basic block: whether it is on a loop, i.e. reachable from the target of a `chain`
/// back to an earlier (or the same) basic block, and able to reach that chain.
fn loop_bodies(block: &Block, reachable: &[bool]) -> Vec<bool> {
    let n = block.bbs.len();
    let succs = |bb: usize| -> [Option<usize>; 2] {
        match block.bbs[bb].insts.last().map(|&i| &block.insts[i as usize]) {
            Some(i) if matches!(i.op, Opcode::Jump | Opcode::Chain) => [Some(i.imm as usize), None],
            Some(i) if i.op == Opcode::Branch => [Some((i.imm & 0xffff_ffff) as usize), Some((i.imm >> 32) as usize)],
            _ => [None, None],
        }
    };
    // Forward reachability from `from`.
    let reach = |from: usize| {
        let mut seen = vec![false; n];
        let mut stack = vec![from];
        seen[from] = true;
        while let Some(bb) = stack.pop() {
            for s in succs(bb).into_iter().flatten() {
                if !std::mem::replace(&mut seen[s], true) {
                    stack.push(s);
                }
            }
        }
        seen
    };
    let mut body = vec![false; n];
    for src in (0..n).filter(|&bb| reachable[bb]) {
        let Some(last) = block.bbs[src].insts.last().map(|&i| &block.insts[i as usize]) else { continue };
        if last.op != Opcode::Chain || last.imm as usize > src {
            continue;
        }
        let from_head = reach(last.imm as usize);
        for bb in (0..n).filter(|&bb| from_head[bb]) {
            if reach(bb)[src] {
                body[bb] = true;
            }
        }
    }
    body
}
/// The byte range `[lo, hi]` (offsets from the base) of a group's members, if it is worth a
/// group (two members or more) and short enough.
fn range(block: &Block, members: &[usize]) -> Option<(i64, i64)> {
    if members.len() < 2 {
        return None;
    }
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    for &m in members {
        let inst = &block.insts[m];
        let off = based(block, inst.args[0]).offset;
        lo = lo.min(off);
        hi = hi.max(off + MemOp(inst.imm as u32).size() as i64 - 1);
    }
    (hi - lo < MAX_SPAN.min(PAGE_SIZE as i64)).then_some((lo, hi))
}
