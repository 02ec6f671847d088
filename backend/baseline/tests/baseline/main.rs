//! Tests of the baseline compiler against the reference interpreter, on the random IR blocks
//! the JIT's tests generate (the generator and machines are shared with them).

// The JIT tests' machinery: not every helper is used here.
#![allow(dead_code)]

#[path = "../../../jit/tests/jit/common.rs"]
mod common;
#[path = "../../../jit/tests/jit/gen.rs"]
mod gen;

mod differential;
mod expansions;
