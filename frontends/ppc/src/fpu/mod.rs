//! The classic PowerPC FPU: exact instruction semantics and FPSCR rules (QEMU 7.2 compatible).
