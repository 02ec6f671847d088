//! Generates the PowerPC decoder from `decode/ppc32.decode` (see ferrite-decodetree).

fn main() {
    ferrite_decodetree::build("decode/ppc32.decode", "ppc32_decode.rs");
}
