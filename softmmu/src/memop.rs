//! The description of one memory access as the IR and the slow path see it.

/// Byte order of an access or a device's registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Most significant byte at the lowest address (PowerPC default).
    Big,
    /// Least significant byte at the lowest address (x86, AArch64 default).
    Little,
}

impl Endian {
    /// The other byte order.
    pub fn flip(self) -> Endian {
        match self {
            Endian::Big => Endian::Little,
            Endian::Little => Endian::Big,
        }
    }
}

/// A memory operation packed in 32 bits: size, signedness, byte order and MMU index.
///
/// Layout: bits 0-1 log2(size), bit 2 sign-extend, bit 3 big-endian, bits 4-7 MMU index.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemOp(pub u32);

impl MemOp {
    /// Builds a memop.
    pub const fn new(size_log2: u32, signed: bool, endian: Endian, mmu_idx: u32) -> MemOp {
        let be = match endian {
            Endian::Big => 1,
            Endian::Little => 0,
        };
        MemOp((size_log2 & 3) | ((signed as u32) << 2) | (be << 3) | ((mmu_idx & 15) << 4))
    }
    /// log2 of the access size in bytes.
    pub const fn size_log2(self) -> u32 {
        self.0 & 3
    }
    /// Access size in bytes (1, 2, 4 or 8).
    pub const fn size(self) -> u64 {
        1 << (self.0 & 3)
    }
    /// Whether a load sign-extends.
    pub const fn signed(self) -> bool {
        self.0 & 4 != 0
    }
    /// Byte order of the access.
    pub const fn endian(self) -> Endian {
        if self.0 & 8 != 0 {
            Endian::Big
        } else {
            Endian::Little
        }
    }
    /// The soft-TLB (MMU mode) index the access uses.
    pub const fn mmu_idx(self) -> usize {
        ((self.0 >> 4) & 15) as usize
    }
    /// The same access in the other byte order.
    pub const fn flip_endian(self) -> MemOp {
        MemOp(self.0 ^ 8)
    }
    /// Sign- or zero-extends a raw value of this access's size to 64 bits.
    pub const fn extend(self, raw: u64) -> u64 {
        let bits = 8 * self.size() as u32;
        if bits == 64 {
            raw
        } else if self.signed() {
            (((raw << (64 - bits)) as i64) >> (64 - bits)) as u64
        } else {
            raw & ((1u64 << bits) - 1)
        }
    }
}

impl std::fmt::Debug for MemOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}{}@{}",
            if self.signed() { "s" } else { "u" },
            8 * self.size(),
            match self.endian() {
                Endian::Big => "be",
                Endian::Little => "le",
            },
            self.mmu_idx()
        )
    }
}

/// Swaps the low `size` bytes of `v` (size 1, 2, 4 or 8).
pub(crate) fn bswap_sized(v: u64, size: u64) -> u64 {
    match size {
        1 => v & 0xff,
        2 => (v as u16).swap_bytes() as u64,
        4 => (v as u32).swap_bytes() as u64,
        _ => v.swap_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memop_fields_round_trip() {
        let m = MemOp::new(2, true, Endian::Big, 5);
        assert_eq!(m.size(), 4);
        assert!(m.signed());
        assert_eq!(m.endian(), Endian::Big);
        assert_eq!(m.mmu_idx(), 5);
        assert_eq!(m.flip_endian().endian(), Endian::Little);
        assert_eq!(m.extend(0x8000_0000), 0xffff_ffff_8000_0000);
        assert_eq!(MemOp::new(1, false, Endian::Little, 0).extend(0x1_8000), 0x8000);
    }
}
