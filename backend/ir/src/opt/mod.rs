//! IR passes. Each pass is one file with `pub fn run(&mut Block)`; [`optimize`] lists the
//! pipeline, and the verifier runs after it in debug builds and tests.

use crate::block::{Block, Value};

pub mod const_fold;
pub mod dce;
pub mod dead_set_reg;
pub mod reassociate;
pub mod reg_forward;
pub mod simplify;

/// The standard pipeline, in order.
pub fn optimize(block: &mut Block) {
    run(block, true);
}

/// The cheap passes only: for code that runs in the interpreter and the baseline compiler,
/// where `simplify` cost more translation time (a tenth of a boot's) than it saved.
pub fn optimize_quick(block: &mut Block) {
    run(block, false);
}

fn run(block: &mut Block, simplify: bool) {
    reg_forward::run(block);
    const_fold::run(block);
    if simplify {
        simplify::run(block);
    }
    dead_set_reg::run(block);
    if simplify {
        // After dead writes are gone: a dead write of a partial result would hold its chain.
        reassociate::run(block);
    }
    dce::run(block);
    #[cfg(debug_assertions)]
    if let Err(e) = crate::verify(block) {
        panic!("pass pipeline broke the IR: {e}\n{}", crate::print_block(block));
    }
}

/// How many operands of the block's instructions name each value.
pub(crate) fn use_counts(block: &Block) -> Vec<u32> {
    let mut uses = vec![0u32; block.insts.len()];
    for bb in &block.bbs {
        for &ii in &bb.insts {
            for a in block.insts[ii as usize].args.iter().filter(|a| a.is_some()) {
                uses[a.index()] += 1;
            }
        }
    }
    uses
}

/// Replaces every use of a value by `subst[value]` (identity where unchanged).
pub(crate) fn apply_subst(block: &mut Block, subst: &[Value]) {
    for inst in block.insts.iter_mut() {
        for a in inst.args.iter_mut() {
            if a.is_some() {
                *a = subst[a.index()];
            }
        }
    }
}
