//! PowerPC e500mc frontend: CPU state, decoder, IR translator, helpers, Book E MMU, exceptions.

pub mod fpu;
pub mod mmu;
