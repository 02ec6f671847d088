//! The PowerPC decoder, generated at build time from `decode/ppc32.decode` by
//! ferrite-decodetree (set `FERRITE_DECODE_DUMP=dir` to see the generated source).

#![allow(missing_docs, clippy::all)]

/// Branch displacements are stored in words.
fn times_4(x: i32) -> i32 {
    x.wrapping_shl(2)
}

include!(concat!(env!("OUT_DIR"), "/ppc32_decode.rs"));
