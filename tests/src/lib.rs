//! ferrite's integration-test support: the differential tester against qemu-ppc, and helpers
//! to run bare-metal guest programs and Linux images.

pub mod difftest;
