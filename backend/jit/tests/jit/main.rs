//! Tests of the JIT against the reference interpreter on the IR test guest.

mod codegen;
mod common;
mod differential;
mod edge_cases;
mod gen;
mod groups;
mod linking;
mod perf;
mod regions;
