//! The PowerPC decoder, generated at build time from `decode/ppc32.decode` by
//! ferrite-decodetree (set `FERRITE_DECODE_DUMP=dir` to see the generated source).

#![allow(missing_docs, clippy::all)]

/// Branch displacements are stored in words.
fn times_4(x: i32) -> i32 {
    x.wrapping_shl(2)
}

include!(concat!(env!("OUT_DIR"), "/ppc32_decode.rs"));

#[cfg(test)]
mod tests {
    use super::mnemonic;

    /// Words with reserved bits set that qemu-ppc 7.2 executes, found by live differential runs
    /// against it (`decode/ppc32.decode` says where): ferrite follows QEMU.
    #[test]
    fn words_qemu_accepts_despite_reserved_bits_decode() {
        for (word, name) in [(0xfe10_110d, "MTFSFI"), (0x4c00_284e, "RFDI"), (0xfe20_c48f, "MFFS")] {
            assert_eq!(mnemonic(word), Some(name), "{word:#010x}");
        }
        // Reserved bits QEMU does check stay invalid.
        assert_eq!(mnemonic(0xfe10_110d | 1 << (31 - 10)), None);
    }
}
