//! The generator's only source of randomness: SplitMix64 (Steele, Lea,
//! Flood 2014), written out so that the corpus does not depend on any crate's
//! version. Every group of cases seeds its own generator with a fixed
//! constant, so adding cases to one group never changes another.

/// SplitMix64: a 64-bit state advanced by the golden-ratio increment and
/// finalised with the MurmurHash3-style mixer.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n` (n > 0), by rejection (no modulo bias).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below(0)");
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(lo <= hi);
        let span = (hi as i128 - lo as i128 + 1) as u128;
        if span > u64::MAX as u128 {
            return self.next_u64() as i64;
        }
        (lo as i128 + self.below(span as u64) as i128) as i64
    }

    pub fn i8_in(&mut self, lo: i8, hi: i8) -> i8 {
        self.range(lo.into(), hi.into()) as i8
    }

    pub fn i32(&mut self) -> i32 {
        self.next_u32() as i32
    }

    pub fn bool(&mut self) -> bool {
        self.next_u64() >> 63 == 1
    }

    /// A magnitude of uniform bit length below `lengths` (then uniform bits):
    /// `0` or `next_u64() >> (64 − bits)` for `bits` uniform in `0..lengths`.
    fn any_scale_magnitude(&mut self, lengths: u64) -> u64 {
        let bits = self.below(lengths) as u32;
        if bits == 0 {
            0
        } else {
            self.next_u64() >> (64 - bits)
        }
    }

    /// A value of random magnitude: uniform bit length, then uniform bits,
    /// random sign — so small, medium and huge values all appear.
    pub fn i64_any_scale(&mut self) -> i64 {
        let mag = self.any_scale_magnitude(64) as i64;
        self.with_random_sign(mag)
    }

    /// [`Rng::i64_any_scale`] for i32 (bit lengths 0..=31, so `±mag` fits).
    pub fn i32_any_scale(&mut self) -> i32 {
        let mag = self.any_scale_magnitude(32) as i64;
        self.with_random_sign(mag) as i32
    }

    fn with_random_sign(&mut self, mag: i64) -> i64 {
        if self.bool() {
            mag.wrapping_neg()
        } else {
            mag
        }
    }

    /// A u32 of uniform bit length 0..=32, then uniform bits.
    pub fn u32_any_scale(&mut self) -> u32 {
        self.any_scale_magnitude(33) as u32
    }

    pub fn i8_vec(&mut self, n: usize, lo: i8, hi: i8) -> Vec<i8> {
        (0..n).map(|_| self.i8_in(lo, hi)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // First outputs for seed 0 (published with the algorithm).
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let mut r = Rng::new(7);
        for _ in 0..1000 {
            let x = r.range(-3, 5);
            assert!((-3..=5).contains(&x));
        }
        assert!((0..1000).map(|_| r.range(i64::MIN, i64::MAX)).any(|x| x < 0));
    }
}
