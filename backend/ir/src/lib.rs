//! ferrite's guest-neutral IR: opcode table, builder, printer, verifier, passes and the reference interpreter
