//! The block cache: translated blocks keyed by (guest physical PC, guest virtual PC, CPU mode),
//! indexed by physical page for invalidation, with the links between compiled blocks.

use ferrite_ir::interp::Program;
use ferrite_ir::Block;
use ferrite_baseline::BaselineCode;
use ferrite_jit::Compiled;
use ferrite_softmmu::{CpuHeader, PAGE_MASK};
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

/// Index of a block in the cache.
pub type TbId = u32;

/// How a block runs.
#[derive(Clone, Copy, Debug)]
pub enum Code {
    /// In the interpreter.
    Interp,
    /// Queued for the compile thread.
    Queued,
    /// Compiled.
    Compiled(Compiled),
    /// The JIT could not compile it; it stays interpreted.
    Failed,
}

/// One translated block.
pub struct Tb {
    /// Guest virtual PC.
    pub vpc: u64,
    /// Guest physical PC.
    pub ppc: u64,
    /// CPU mode key.
    pub key: u64,
    /// Guest instructions in the block.
    pub n_insns: u32,
    /// Targets of its direct exits (for picking regions without translating again).
    pub direct_exits: Box<[u64]>,
    /// Physical bytes `[start, end)` of guest code its translations hold: the block's own
    /// instructions, widened by the other blocks compiled into it (a region). A write there
    /// drops the block.
    pub code_span: (u64, u64),
    /// The IR flattened for the interpreter.
    pub prog: Program,
    /// Unique number (ids are reused; serials are not).
    pub serial: u64,
    /// Times the interpreter ran it.
    pub runs: u32,
    /// Its baseline code (tier 1), until Cranelift's replaces it.
    pub baseline: Option<BaselineCode>,
    /// The baseline counter's value when the run count last restarted (an eviction from
    /// the compile queue).
    pub baseline_base: u32,
    /// How it runs.
    pub code: Code,
    /// While queued: interpreted runs since, shared with the compile job.
    pub heat: Option<Arc<AtomicU32>>,
    /// Link slots of other blocks that jump here.
    incoming: Vec<u64>,
    /// This block's linked slots and their targets.
    outgoing: Vec<(u64, TbId)>,
}

impl Tb {
    /// A fresh, interpreted block.
    /// The IR is not kept: most blocks are never compiled, and the few that get hot are
    /// translated again for the compiler.
    pub fn new(vpc: u64, ppc: u64, key: u64, ir: &Block, serial: u64) -> Tb {
        Tb {
            vpc,
            ppc,
            key,
            prog: Program::new(ir),
            n_insns: ir.n_insns,
            direct_exits: ferrite_ir::interp::direct_exit_targets(ir).into_boxed_slice(),
            code_span: (ppc, ppc + 4 * u64::from(ir.n_insns.max(1))),
            serial,
            runs: 0,
            baseline: None,
            baseline_base: 0,
            code: Code::Interp,
            heat: None,
            incoming: Vec::new(),
            outgoing: Vec::new(),
        }
    }

    /// Entry point of its code (Cranelift's, else the baseline's), if it has any.
    pub fn entry(&self) -> Option<u64> {
        match (self.code, self.baseline) {
            (Code::Compiled(c), _) => Some(c.entry),
            (_, Some(b)) => Some(b.code.entry),
            _ => None,
        }
    }

    /// Runs since it was translated (or last sent back from the compile queue), interpreted
    /// or as baseline code.
    pub fn total_runs(&self) -> u32 {
        let own = self.baseline.map_or(0, |b| b.counter.runs().wrapping_sub(self.baseline_base));
        self.runs.saturating_add(own)
    }
}

pub use ferrite_softmmu::jump_cache_index;

/// The headers of the CPUs that run this cache's blocks (empty: only the one each call is
/// given). Jump caches name blocks and soft TLBs protect their code, so what changes a block
/// changes every CPU's.
#[derive(Default)]
pub struct Cpus(Vec<*mut CpuHeader>);

// SAFETY: the headers are only touched by the thread that runs the CPUs, between blocks (see
// `Engine::attach_cpus`).
unsafe impl Send for Cpus {}

impl Cpus {
    /// The CPUs with these headers.
    pub fn new(cpus: &[*mut CpuHeader]) -> Cpus {
        Cpus(cpus.to_vec())
    }

    /// Calls `f` on `env` and on every other attached CPU.
    pub fn each(&self, env: &mut CpuHeader, mut f: impl FnMut(&mut CpuHeader)) {
        let own = env as *mut CpuHeader;
        f(env);
        for &p in self.0.iter().filter(|&&p| p != own) {
            // SAFETY: attached headers outlive the cache's use of them and no block runs now.
            f(unsafe { &mut *p });
        }
    }
}

/// `env`'s jump-cache entry for block `id` (at `vpc`), if it holds that block.
fn jump_cache_entry(env: &mut CpuHeader, id: TbId, vpc: u64) -> Option<&mut ferrite_softmmu::JumpCacheEntry> {
    let jc = &mut env.jump_cache[jump_cache_index(vpc)];
    (jc.block == id as u64 && jc.vpc == vpc).then_some(jc)
}

fn write_slot(slot: u64, value: u64) {
    // SAFETY: slot addresses come from `Compiled::slots` of live code; they are 8-byte aligned
    // u64s that generated code reads.
    unsafe { (*(slot as *const AtomicU64)).store(value, Ordering::Release) };
}

/// All translated blocks.
#[derive(Default)]
pub struct BlockCache {
    tbs: Vec<Option<Tb>>,
    free: Vec<TbId>,
    map: FxHashMap<(u64, u64, u64), TbId>,
    pages: FxHashMap<u64, Vec<TbId>>,
    slot_owner: FxHashMap<u64, TbId>,
    /// Incremented by every full flush; compile results of older generations are stale.
    pub generation: u64,
    /// Every CPU running these blocks.
    pub cpus: Cpus,
}

impl BlockCache {
    /// An empty cache.
    pub fn new() -> BlockCache {
        BlockCache::default()
    }

    /// The block for these keys, if translated.
    pub fn find(&self, ppc: u64, vpc: u64, key: u64) -> Option<TbId> {
        self.map.get(&(ppc, vpc, key)).copied()
    }

    /// The block with id `id`, if it still exists.
    pub fn get(&self, id: TbId) -> Option<&Tb> {
        self.tbs.get(id as usize).and_then(|t| t.as_ref())
    }

    /// Mutable access to a block.
    pub fn get_mut(&mut self, id: TbId) -> Option<&mut Tb> {
        self.tbs.get_mut(id as usize).and_then(|t| t.as_mut())
    }

    /// Adds a block.
    pub fn insert(&mut self, tb: Tb) -> TbId {
        let key = (tb.ppc, tb.vpc, tb.key);
        let page = tb.ppc & PAGE_MASK;
        let id = match self.free.pop() {
            Some(id) => {
                self.tbs[id as usize] = Some(tb);
                id
            }
            None => {
                self.tbs.push(Some(tb));
                self.tbs.len() as TbId - 1
            }
        };
        self.map.insert(key, id);
        self.pages.entry(page).or_default().push(id);
        id
    }

    /// Number of live blocks.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Records Cranelift's code for a block and the owner of its link slots. Baseline code it
    /// had is retired: the links into it and the CPUs' jump-cache entries move to the new code,
    /// its own links are forgotten.
    pub fn set_compiled(&mut self, id: TbId, c: Compiled, env: &mut CpuHeader) {
        let Some(tb) = self.get_mut(id) else { return };
        tb.code = Code::Compiled(c);
        tb.heat = None;
        tb.prog.release();
        if let Some(old) = tb.baseline.take() {
            for &slot in &tb.incoming {
                write_slot(slot, c.entry);
            }
            let outgoing = std::mem::take(&mut tb.outgoing);
            let vpc = tb.vpc;
            for (slot, target) in outgoing {
                if let Some(t) = self.get_mut(target) {
                    t.incoming.retain(|&s| s != slot);
                }
            }
            self.forget_slots(old.code);
            self.cpus.each(env, |env| {
                if let Some(jc) = jump_cache_entry(env, id, vpc) {
                    jc.code = c.entry;
                }
            });
        }
        self.own_slots(id, c);
    }

    /// Records baseline code for a block (it must have none) and the owner of its link slots.
    pub fn set_baseline(&mut self, id: TbId, b: BaselineCode) {
        let Some(tb) = self.get_mut(id) else { return };
        debug_assert!(tb.baseline.is_none() && tb.entry().is_none());
        tb.baseline = Some(b);
        tb.prog.release();
        self.own_slots(id, b.code);
    }

    fn own_slots(&mut self, id: TbId, c: Compiled) {
        for i in 0..c.n_slots as u64 {
            self.slot_owner.insert(c.slots + 8 * i, id);
        }
    }

    fn forget_slots(&mut self, c: Compiled) {
        for i in 0..c.n_slots as u64 {
            self.slot_owner.remove(&(c.slots + 8 * i));
        }
    }

    /// The block owning link slot `slot`.
    pub fn slot_owner(&self, slot: u64) -> Option<TbId> {
        self.slot_owner.get(&slot).copied()
    }

    /// Points link slot `slot` of block `from` at compiled block `to`.
    pub fn link(&mut self, from: TbId, slot: u64, to: TbId) -> bool {
        let Some(entry) = self.get(to).and_then(|t| t.entry()) else { return false };
        if self.get(from).is_none() {
            return false;
        }
        write_slot(slot, entry);
        self.get_mut(to).expect("checked").incoming.push(slot);
        self.get_mut(from).expect("checked").outgoing.push((slot, to));
        true
    }

    /// Drops one block: unlinks everything that jumps to it or that it jumps to, and clears
    /// the CPUs' jump-cache entries for it.
    pub fn remove(&mut self, id: TbId, env: &mut CpuHeader) {
        let Some(tb) = self.tbs.get_mut(id as usize).and_then(|t| t.take()) else { return };
        self.map.remove(&(tb.ppc, tb.vpc, tb.key));
        if let Some(list) = self.pages.get_mut(&(tb.ppc & PAGE_MASK)) {
            list.retain(|&x| x != id);
        }
        for &slot in &tb.incoming {
            write_slot(slot, 0);
            if let Some(src) = self.slot_owner.get(&slot).copied() {
                if let Some(s) = self.get_mut(src) {
                    s.outgoing.retain(|&(sl, _)| sl != slot);
                }
            }
        }
        for &(slot, target) in &tb.outgoing {
            write_slot(slot, 0);
            if let Some(t) = self.get_mut(target) {
                t.incoming.retain(|&s| s != slot);
            }
        }
        if let Code::Compiled(c) = tb.code {
            self.forget_slots(c);
        }
        if let Some(b) = tb.baseline {
            self.forget_slots(b.code);
        }
        self.cpus.each(env, |env| {
            if jump_cache_entry(env, id, tb.vpc).is_some() {
                env.drop_jump_cache_entry(jump_cache_index(tb.vpc));
            }
        });
        self.free.push(id);
    }

    /// Drops every block on physical page `page`. Returns how many.
    pub fn invalidate_page(&mut self, page: u64, env: &mut CpuHeader) -> usize {
        let ids = self.pages.remove(&(page & PAGE_MASK)).unwrap_or_default();
        for &id in &ids {
            self.remove(id, env);
        }
        ids.len()
    }

    /// Drops the blocks whose guest code overlaps the `len` bytes at physical `addr` (within
    /// one page). Returns how many went and whether the page still has blocks.
    pub fn invalidate_range(&mut self, addr: u64, len: u64, env: &mut CpuHeader) -> (usize, bool) {
        let page = addr & PAGE_MASK;
        let Some(ids) = self.pages.get(&page) else { return (0, false) };
        let hit: Vec<TbId> = ids
            .iter()
            .copied()
            .filter(|&id| {
                self.get(id).is_some_and(|t| {
                    let (start, end) = t.code_span;
                    start < addr + len && addr < end
                })
            })
            .collect();
        for &id in &hit {
            self.remove(id, env);
        }
        let left = self.pages.get(&page).is_some_and(|l| !l.is_empty());
        if !left {
            self.pages.remove(&page);
        }
        (hit.len(), left)
    }

    /// The code-line bitmap (`ferrite_softmmu::code_line_mask`) of the translations left on
    /// physical page `page`.
    pub fn code_lines(&self, page: u64) -> u64 {
        let ids = self.pages.get(&(page & PAGE_MASK)).map_or(&[][..], |v| &v[..]);
        // (A region's span covers its members, which are on its page.)
        ids.iter().filter_map(|&id| self.get(id)).fold(0, |m, t| {
            let (start, end) = t.code_span;
            m | ferrite_softmmu::code_line_mask(start, end - start)
        })
    }

    /// Drops everything.
    pub fn clear(&mut self, env: &mut CpuHeader) {
        self.tbs.clear();
        self.free.clear();
        self.map.clear();
        self.pages.clear();
        self.slot_owner.clear();
        self.generation += 1;
        self.cpus.each(env, |env| env.flush_jump_cache());
    }
}
