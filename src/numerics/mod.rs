//! Integer primitives of CZIP v1 (spec §1) and the exp function (spec §6).
//!
//! Every function here is *total*: it returns a defined value for every input
//! of its argument types, never panics and never overflows, in debug and in
//! release. Where the spec restricts the domain (shift counts, divisors), the
//! value outside it is the exact mathematical extension of the same rule and
//! is documented as such; conformance only compares values inside the domain.

mod exp;
mod rounding;

pub use exp::{exp_q16, exp_q16_from_neg_fixed, ATTN_COEF_Q24};
pub use rounding::{
    div_rne_tte_s32, div_rne_tte_s64_to_s32, isqrt32_restoring, sra_rne_tte_s32,
    sra_rne_tte_s64_to_s32, udiv_rne_tte_u32,
};

/// `clamp_i8` of spec §1: `clamp(x, -127, 127)`. The range is symmetric;
/// -128 never appears (spec §11, one clamp everywhere).
#[inline]
pub fn clamp_i8(x: i32) -> i8 {
    x.clamp(-127, 127) as i8
}

/// [`clamp_i8`] for a 64-bit value (used where a product is kept exact).
#[inline]
pub fn clamp_i8_i64(x: i64) -> i8 {
    x.clamp(-127, 127) as i8
}

/// `argmax` of spec §1: the index of the maximum, ties to the *smallest*
/// index. `None` only for an empty slice.
pub fn argmax(xs: &[i32]) -> Option<usize> {
    let mut best: Option<(usize, i32)> = None;
    for (i, &x) in xs.iter().enumerate() {
        match best {
            Some((_, b)) if x <= b => {}
            _ => best = Some((i, x)),
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_is_symmetric() {
        assert_eq!(clamp_i8(-128), -127);
        assert_eq!(clamp_i8(i32::MIN), -127);
        assert_eq!(clamp_i8(i32::MAX), 127);
        assert_eq!(clamp_i8(-5), -5);
        assert_eq!(clamp_i8_i64(i64::MIN), -127);
    }

    #[test]
    fn argmax_ties_to_smallest_index() {
        assert_eq!(argmax(&[]), None);
        assert_eq!(argmax(&[3, 7, 7, 1]), Some(1));
        assert_eq!(argmax(&[i32::MIN, i32::MIN]), Some(0));
        assert_eq!(argmax(&[-1, -2, 0]), Some(2));
    }
}
