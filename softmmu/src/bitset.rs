//! Bitsets of table entries (soft TLB, jump cache): which entries were filled, so that a flush
//! touches only those.

/// Calls `f` with the index of every set bit of `bits`, clearing them.
#[inline]
pub(crate) fn drain_bits(bits: &mut [u64], mut f: impl FnMut(usize)) {
    for (w, word) in bits.iter_mut().enumerate() {
        let mut b = std::mem::take(word);
        while b != 0 {
            f(w * 64 + b.trailing_zeros() as usize);
            b &= b - 1;
        }
    }
}

/// Calls `f` with the index of every set bit of `bits`.
#[inline]
pub(crate) fn each_bit(bits: &[u64], mut f: impl FnMut(usize)) {
    for (w, word) in bits.iter().enumerate() {
        let mut b = *word;
        while b != 0 {
            f(w * 64 + b.trailing_zeros() as usize);
            b &= b - 1;
        }
    }
}
