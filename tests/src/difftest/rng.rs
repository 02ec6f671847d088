//! A tiny seeded generator (SplitMix64): stable forever, so seeds in golden files keep meaning
//! the same sequences.

/// SplitMix64.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `p` percent.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A random element.
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }

    /// A 32-bit value biased toward edge cases.
    pub fn word(&mut self) -> u32 {
        match self.below(10) {
            0 => self.pick(&[0, 1, 0xffff_ffff, 0x8000_0000, 0x7fff_ffff, 0x8000_0001, 0xffff_fffe, 2, 31, 32, 33, 63, 64]),
            1 => self.below(64) as u32,
            2 => (self.below(64) as u32).wrapping_neg(),
            3 => 1u32 << self.below(32),
            4 => 0xffff_u32 << self.below(17),
            _ => self.next() as u32,
        }
    }

    /// A double bit pattern biased toward the values FPUs get wrong.
    pub fn double(&mut self) -> u64 {
        const SPECIAL: &[u64] = &[
            0x0000_0000_0000_0000, 0x8000_0000_0000_0000, 0x7ff0_0000_0000_0000, 0xfff0_0000_0000_0000,
            0x7ff8_0000_0000_0000, 0x7ff4_0000_0000_0001, 0xfff8_0000_0000_1234, 0x7ff0_0000_0000_0123,
            0x0000_0000_0000_0001, 0x800f_ffff_ffff_ffff, 0x0010_0000_0000_0000, 0x001f_ffff_ffff_ffff,
            0x7fef_ffff_ffff_ffff, 0xffef_ffff_ffff_ffff, 0x3ff0_0000_0000_0000, 0xbff0_0000_0000_0000,
            0x3fe0_0000_0000_0000, 0x4000_0000_0000_0000, 0x41e0_0000_0000_0000, 0xc1e0_0000_0020_0000,
            0x3810_0000_0000_0000, 0x3690_0000_0000_0001, 0x47ef_ffff_e000_0000, 0x47ef_ffff_f000_0000,
            0x3ff0_0000_1000_0000, 0x3ff0_0000_3000_0000, 0x3fb9_9999_9999_999a, 0x4330_0000_0000_0000,
        ];
        match self.below(8) {
            0 | 1 => self.pick(SPECIAL),
            2 => {
                // Small integers and halves (conversions, rounding ties).
                let v = self.below(200) as f64 / 2.0 - 50.0;
                v.to_bits()
            }
            3 => {
                // Values near single-precision rounding midpoints.
                let base = (self.next() as u32 as f32 as f64).to_bits();
                base ^ (self.below(1 << 30)) ^ (1 << 28)
            }
            4 => {
                // Random exponent near the extremes.
                let e = self.pick(&[0u64, 1, 2, 0x3ff, 0x7fd, 0x7fe, 0x380, 0x36a, 0x37f, 0x47f]);
                (self.next() & 0x800f_ffff_ffff_ffff) | (e << 52)
            }
            _ => {
                let e = 0x3f0 + self.below(32);
                (self.next() & 0x800f_ffff_ffff_ffff) | (e << 52)
            }
        }
    }
}
