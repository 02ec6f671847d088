//! ferrite's execution engine: block cache, tiering between interpreter and JIT, the vCPU run loop
