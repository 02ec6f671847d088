//! ferrite's JIT: IR to host code through Cranelift
