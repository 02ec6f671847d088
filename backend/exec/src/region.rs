//! Which blocks a hot block is compiled with: its region (see `ferrite_ir::region`).
//!
//! The region is the hot block plus the loops through it: the blocks its direct exits lead
//! to, and theirs, that lead back to it, as long as they are on the same guest page (the rule
//! for linking, so one physical page holds all of them), warm but not yet compiled, and the
//! region stays small. A loop body of several blocks then runs as one function. Blocks that
//! do not lead back (the code after a loop, straight-line kernel code) are left out: they
//! would add compile time for a transition that runs once. A member keeps its own cache
//! entry (entered from elsewhere, it runs its own translation); the hot block's entry covers
//! the members' code, so a write to any of it drops the region.

use crate::cache::{Code, Tb, TbId};
use crate::engine::Engine;
use ferrite_ir::{Block, GuestCpu};
use ferrite_softmmu::{CpuHeader, PAGE_MASK, PAGE_SIZE};

/// At most this many blocks looked at for a region (the hot block included).
const MAX_CANDIDATES: usize = 8;
/// At most this many guest instructions in a region (compile time grows with it).
const MAX_INSNS: u32 = 192;

impl Engine {
    /// Translates block `id` and the members of its region, merged into one IR block, and
    /// widens the block's code span over the members. The region is picked from what the
    /// cache knows (exit targets, run counts); only its members are translated again.
    /// `threshold`: the runs after which the hot block was queued.
    pub(crate) fn build_region(&mut self, cpu: &mut dyn GuestCpu, env: *mut CpuHeader, id: TbId, threshold: u32) -> Block {
        let mut span = self.cache.get(id).expect("the hot block exists").code_span;
        let mut members = Vec::new();
        for (pc, phys) in self.region_of(id, threshold) {
            let m = self.build_ir(cpu, env, pc, phys, PAGE_SIZE, true);
            span = (span.0.min(phys), span.1.max(phys + 4 * u64::from(m.n_insns.max(1))));
            members.push(m);
        }
        self.stats.region_members += members.len() as u64 - 1;
        self.cache.get_mut(id).expect("the hot block exists").code_span = span;
        ferrite_ir::region::merge(&members)
    }

    /// Whether block `id` is on a loop (of blocks that have run at least a quarter of
    /// `threshold` times): a region would have more than the block itself, or it jumps to itself.
    pub(crate) fn on_loop(&self, id: TbId, threshold: u32) -> bool {
        let tb = self.cache.get(id).expect("the block exists");
        tb.direct_exits.contains(&tb.vpc) || self.region_of(id, threshold).len() > 1
    }

    /// The (PC, physical PC) of block `id` (first) and of the members of its region.
    fn region_of(&self, id: TbId, threshold: u32) -> Vec<(u64, u64)> {
        let tb = self.cache.get(id).expect("the hot block exists");
        let (vpc, ppc, key) = (tb.vpc, tb.ppc, tb.key);
        // Candidates (PC, physical PC, exit targets): warm blocks reachable through direct
        // exits on this page.
        let mut cands: Vec<(u64, u64, &[u64])> = vec![(vpc, ppc, &tb.direct_exits)];
        let mut insns = tb.n_insns;
        let mut next = 0;
        while next < cands.len() && cands.len() < MAX_CANDIDATES {
            let targets = cands[next].2;
            next += 1;
            for pc in targets.iter().copied() {
                if cands.len() == MAX_CANDIDATES {
                    break;
                }
                if pc & PAGE_MASK != vpc & PAGE_MASK || cands.iter().any(|c| c.0 == pc) {
                    continue;
                }
                let phys = (ppc & PAGE_MASK) | (pc & !PAGE_MASK);
                let Some(t) = self.warm(phys, pc, key, threshold) else { continue };
                if insns + t.n_insns > MAX_INSNS {
                    continue;
                }
                insns += t.n_insns;
                cands.push((pc, phys, &t.direct_exits));
            }
        }
        // Members: the candidates from which the hot block can be reached again.
        let mut on_loop = vec![false; cands.len()];
        on_loop[0] = true;
        let mut grew = true;
        while grew {
            grew = false;
            for k in 1..cands.len() {
                if !on_loop[k] && cands[k].2.iter().any(|&t| cands.iter().zip(&on_loop).any(|(c, &l)| l && c.0 == t)) {
                    on_loop[k] = true;
                    grew = true;
                }
            }
        }
        cands.into_iter().zip(on_loop).filter(|(_, m)| *m).map(|((pc, phys, _), _)| (pc, phys)).collect()
    }

    /// The block at these keys if it has run often enough to be worth compiling along (a
    /// quarter of the hot block's `threshold`), and
    /// not so often that it got hot before this block: a block compiled already is usually an
    /// inner loop, which runs best in its own function (the outer loop's values would compete
    /// for its host registers), reached through a link.
    fn warm(&self, phys: u64, pc: u64, key: u64, threshold: u32) -> Option<&Tb> {
        let tb = self.cache.find(phys, pc, key).and_then(|t| self.cache.get(t))?;
        (matches!(tb.code, Code::Interp) && tb.total_runs().saturating_mul(4) >= threshold).then_some(tb)
    }
}
