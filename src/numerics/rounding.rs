//! Rounding shifts, rounding divisions and the integer square root (spec §1).
//!
//! All rounding here is *round half to even on the magnitude*: the magnitude
//! `|v|` is rounded, then the sign is put back, so rounding is symmetric about
//! zero (`-5 >> 1 → -2`, `-7 >> 1 → -4`). Magnitudes are taken as unsigned
//! (`|i32::MIN| = 2^31`, `|i64::MIN| = 2^63`), so no width overflows.

use std::cmp::Ordering;

/// Rounds `a / 2^sh` to nearest, ties to even, for `sh >= 1`.
///
/// Widths: `a` is u64, `q <= a >> 1 < 2^63`, so `q + 1` cannot overflow.
/// For `sh >= 64` the exact value `a / 2^sh` is below 1 and is at most one
/// half (which rounds to the even 0), so the result is 0.
#[inline]
fn rne_shr_u64(a: u64, sh: u32) -> u64 {
    debug_assert!(sh >= 1);
    if sh >= 64 {
        return 0;
    }
    let q = a >> sh;
    let r = a & ((1u64 << sh) - 1);
    ties_to_even(q, r.cmp(&(1u64 << (sh - 1))))
}

/// Rounds `n / d` to nearest, ties to even, for `d >= 1`.
///
/// Widths: the doubled remainder is compared in u128, so the rule is exact for
/// every u64 divisor (spec §11: upstream Rust overflows here for d > 2^31;
/// the exact value is normative). `q + 1 <= ceil(n / d) <= n` when `d >= 2`.
#[inline]
fn rne_div_u64(n: u64, d: u64) -> u64 {
    debug_assert!(d >= 1);
    let q = n / d;
    let r = n - q * d;
    ties_to_even(q, (2 * (r as u128)).cmp(&(d as u128)))
}

/// The tie rule of spec §1, shared by the shift and the division: the
/// truncated quotient `q` of a magnitude, given how its remainder compares
/// with half the divisor (`vs_half`), moves up above the half, stays below
/// it, and at the half goes to the even neighbour. Callers guarantee
/// `q < u64::MAX` (each states why).
#[inline(always)]
fn ties_to_even(q: u64, vs_half: Ordering) -> u64 {
    match vs_half {
        Ordering::Greater => q + 1,
        Ordering::Equal => q + (q & 1),
        Ordering::Less => q,
    }
}

/// Puts a sign back on a magnitude and saturates to i32.
#[inline]
fn signed_saturating(magnitude: u64, negative: bool) -> i32 {
    let m = magnitude as i128;
    let v = if negative { -m } else { m };
    v.clamp(i32::MIN as i128, i32::MAX as i128) as i32
}

/// `sra_rne_tte_s32(v, sh)`, spec §1: `v / 2^sh` rounded half to even on the
/// magnitude. Spec domain `0 <= sh <= 31`; for larger `sh` the exact
/// extension is returned (always 0). `sh = 0` returns `v`.
///
/// The result always fits: `|v| <= 2^31` and `sh >= 1` give `|q| <= 2^30`.
#[inline]
pub fn sra_rne_tte_s32(v: i32, sh: u32) -> i32 {
    if sh == 0 {
        return v;
    }
    let q = rne_shr_u64(u64::from(v.unsigned_abs()), sh);
    signed_saturating(q, v < 0)
}

/// `sra_rne_tte_s64_to_s32(v, sh)`, spec §1: the same rule as
/// [`sra_rne_tte_s32`] in 64 bits, then saturation to `[i32::MIN, i32::MAX]`.
/// `sh = 0` only saturates. Spec domain `0 <= sh <= 63`; beyond it the exact
/// extension (0).
#[inline]
pub fn sra_rne_tte_s64_to_s32(v: i64, sh: u32) -> i32 {
    if sh == 0 {
        return v.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    }
    let q = rne_shr_u64(v.unsigned_abs(), sh);
    signed_saturating(q, v < 0)
}

/// `udiv_rne_tte_u32(n, d)`, spec §1: `n / d` to nearest, ties to even;
/// `d = 0` gives 0. Exact for every u32 divisor (the spec requires agreement
/// only for `d <= 2^31`; see §11). The result fits u32 (see `rne_div_u64`).
#[inline]
pub fn udiv_rne_tte_u32(n: u32, d: u32) -> u32 {
    if d == 0 {
        return 0;
    }
    rne_div_u64(u64::from(n), u64::from(d)) as u32
}

/// `div_rne_tte_s32(n, d)`, spec §1: magnitudes divided with the udiv rule,
/// sign = sign(n) xor sign(d); `d = 0` gives 0. The one quotient that does not
/// fit, `i32::MIN / -1` (outside the spec's domain), saturates to `i32::MAX`.
#[inline]
pub fn div_rne_tte_s32(n: i32, d: i32) -> i32 {
    if d == 0 {
        return 0;
    }
    let q = rne_div_u64(u64::from(n.unsigned_abs()), u64::from(d.unsigned_abs()));
    signed_saturating(q, (n < 0) != (d < 0))
}

/// `div_rne_tte_s64_to_s32(n, d)`, spec §1: magnitude rule as above, sign of
/// `n`, saturated to i32; `d = 0` gives 0.
#[inline]
pub fn div_rne_tte_s64_to_s32(n: i64, d: u64) -> i32 {
    if d == 0 {
        return 0;
    }
    let q = rne_div_u64(n.unsigned_abs(), d);
    signed_saturating(q, n < 0)
}

/// `isqrt32_restoring(x)`, spec §1: `⌊√x⌋` by the digit-by-digit restoring
/// method (two result bits per iteration, 16 iterations). Widths: every
/// intermediate stays below 2^32.
pub fn isqrt32_restoring(x: u32) -> u32 {
    let mut rem = x;
    let mut root: u32 = 0;
    let mut bit: u32 = 1 << 30;
    while bit > rem {
        bit >>= 2;
    }
    while bit != 0 {
        if rem >= root + bit {
            rem -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_symmetric_about_zero() {
        assert_eq!(sra_rne_tte_s32(-5, 1), -2);
        assert_eq!(sra_rne_tte_s32(-7, 1), -4);
        assert_eq!(sra_rne_tte_s32(i32::MIN, 31), -1);
        assert_eq!(sra_rne_tte_s32(i32::MIN, 1), -(1 << 30));
        assert_eq!(sra_rne_tte_s64_to_s32(i64::MIN, 0), i32::MIN);
        assert_eq!(sra_rne_tte_s64_to_s32(i64::MIN, 63), -1);
        assert_eq!(sra_rne_tte_s64_to_s32(i64::MAX, 63), 1);
        assert_eq!(sra_rne_tte_s64_to_s32(i64::MAX, 1), i32::MAX);
        assert_eq!(sra_rne_tte_s32(i32::MAX, 40), 0);
    }

    #[test]
    fn divisions() {
        assert_eq!(udiv_rne_tte_u32(5, 0), 0);
        assert_eq!(udiv_rne_tte_u32(u32::MAX, 2), 1 << 31);
        assert_eq!(udiv_rne_tte_u32(u32::MAX, u32::MAX), 1);
        assert_eq!(udiv_rne_tte_u32(3_000_000_000, 4_000_000_000), 1);
        assert_eq!(div_rne_tte_s32(-7, 2), -4);
        assert_eq!(div_rne_tte_s32(7, -2), -4);
        assert_eq!(div_rne_tte_s32(-5, -2), 2);
        assert_eq!(div_rne_tte_s32(i32::MIN, -1), i32::MAX);
        assert_eq!(div_rne_tte_s64_to_s32(i64::MIN, 1), i32::MIN);
        assert_eq!(div_rne_tte_s64_to_s32(-3, 2), -2);
        assert_eq!(div_rne_tte_s64_to_s32(i64::MAX, u64::MAX), 0);
    }

    #[test]
    fn isqrt_exhaustive_near_squares() {
        for r in (0u32..=65535).step_by(97).chain([65535]) {
            let sq = r * r;
            assert_eq!(isqrt32_restoring(sq), r);
            if sq > 0 {
                assert_eq!(isqrt32_restoring(sq - 1), r - 1);
            }
        }
        assert_eq!(isqrt32_restoring(u32::MAX), 65535);
    }
}
