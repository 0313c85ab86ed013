//! The arithmetic of the reference forward pass as a parameter: the spec's
//! ([`Variant::NORMATIVE`]) or one deliberate departure that public or GPU
//! implementations are known to make. The faults of
//! `czip-conformance serve --fault` and `dump --fault`
//! (`conformance::faults`) are values of this type passed into the one
//! reference ([`ForwardState::step_variant`](super::ForwardState::step_variant)
//! and the layer functions' `_with` forms); they are never copies of it.
//!
//! The production path (`BatchForward`) does not take a variant. The
//! normative layer functions pass [`Variant::NORMATIVE`]'s parts as
//! constants into `#[inline(always)]` bodies, so the choice folds away.

use super::attention::{AttentionVariant, OutputClamp};
use crate::numerics::{sra_rne_tte_s32, sra_rne_tte_s64_to_s32, udiv_rne_tte_u32};

/// How the rounding shifts of requantize and RMSNorm round a tie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShiftRounding {
    /// `sra_rne_tte_*` of spec §1: ties to even on the magnitude.
    #[default]
    TiesToEven,
    /// Ties away from zero on the magnitude, `(|v| + 2^(sh−1)) >> sh`: the
    /// `x + (1 << (sh−1)) >> sh` of many GPU requantize epilogues.
    HalfAwayFromZero,
}

impl ShiftRounding {
    /// `v / 2^sh` rounded by this rule (`sh = 0` returns `v`).
    #[inline(always)]
    pub fn sra_s32(self, v: i32, sh: u32) -> i32 {
        match self {
            ShiftRounding::TiesToEven => sra_rne_tte_s32(v, sh),
            ShiftRounding::HalfAwayFromZero => half_away_shr(i64::from(v), sh),
        }
    }

    /// `v / 2^sh` rounded by this rule, saturated to i32 (`sh = 0` only saturates).
    #[inline(always)]
    pub fn sra_s64_to_s32(self, v: i64, sh: u32) -> i32 {
        match self {
            ShiftRounding::TiesToEven => sra_rne_tte_s64_to_s32(v, sh),
            ShiftRounding::HalfAwayFromZero => half_away_shr(v, sh),
        }
    }
}

/// `|v| / 2^sh` rounded half up, sign put back, saturated to i32.
/// Widths: the magnitude is u64 and `sh <= 63` keeps `+ 2^(sh−1)` in u128.
fn half_away_shr(v: i64, sh: u32) -> i32 {
    let q = if sh == 0 {
        u128::from(v.unsigned_abs())
    } else if sh >= 64 {
        0
    } else {
        (u128::from(v.unsigned_abs()) + (1u128 << (sh - 1))) >> sh
    };
    let q = q as i128;
    (if v < 0 { -q } else { q }).clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i32
}

/// How RMSNorm's inverse RMS `udiv(2^23, s)` rounds (spec §5, §11 row 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DivRounding {
    /// `udiv_rne_tte_u32`: nearest, ties to even.
    #[default]
    TiesToEven,
    /// The public Python's `⌊(n + ⌈d/2⌉) / d⌋` ([`udiv_round_up`]).
    HalfUp,
}

impl DivRounding {
    #[inline(always)]
    pub fn udiv(self, n: u32, d: u32) -> u32 {
        match self {
            DivRounding::TiesToEven => udiv_rne_tte_u32(n, d),
            DivRounding::HalfUp => udiv_round_up(n, d),
        }
    }
}

/// `n / d` rounded the public Python way, `⌊(n + ⌈d/2⌉) / d⌋`: up at
/// `r = (d−1)/2` for odd `d` (including d = 1, where it adds one; saturating
/// at u32::MAX), otherwise as ties to even. `d = 0` gives 0.
pub fn udiv_round_up(n: u32, d: u32) -> u32 {
    if d == 0 {
        return 0;
    }
    let (q, r) = (n / d, n % d);
    let (twice_r, d64) = (2 * u64::from(r), u64::from(d));
    if twice_r > d64 || (d % 2 == 1 && twice_r + 1 == d64) || (twice_r == d64 && q % 2 == 1) {
        q.saturating_add(1)
    } else {
        q
    }
}

/// How Linear's `Σ x[i]·W[o][i]` is accumulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinearSum {
    /// Exact integers (spec §5).
    #[default]
    Exact,
    /// A running sum kept in IEEE half precision, as a GEMM with a 16-bit
    /// compute type: after each term, in input order, the sum is rounded to
    /// the nearest `f16` (ties to even) and overflows to ±∞ past 65504; ±∞
    /// is read back saturated to `i32::MIN`/`i32::MAX`. (f32 and TF32 GEMMs
    /// are exact here: int8 products summed over ≤ 1024 terms stay below 2^24.)
    Fp16,
}

/// The f16 running sum of [`LinearSum::Fp16`]: every value it takes is an
/// integer (f16 holds every integer up to 2048, and above that only
/// integers), so the state is an exact i32 or an infinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F16Sum {
    Finite(i32),
    Inf { negative: bool },
}

/// Largest finite f16.
const F16_MAX: i64 = 65504;

impl F16Sum {
    /// `round_f16(self + t)` for an exact integer term `t` (|t| ≤ 2^14).
    fn add(self, t: i32) -> F16Sum {
        let F16Sum::Finite(s) = self else { return self };
        let v = i64::from(s) + i64::from(t);
        let mag = v.unsigned_abs();
        // f16 has 11 significant bits: spacing 2^(e−10) in the binade [2^e, 2^(e+1)).
        let e = 63 - mag.max(1).leading_zeros();
        let rounded = if e <= 10 {
            v
        } else {
            // Ties to even on the significand = sra_rne_tte on the magnitude (spec §1's rule).
            i64::from(sra_rne_tte_s64_to_s32(v, e - 10)) << (e - 10)
        };
        if rounded.abs() > F16_MAX {
            F16Sum::Inf { negative: v < 0 }
        } else {
            F16Sum::Finite(rounded as i32)
        }
    }

    fn to_i32(self) -> i32 {
        match self {
            F16Sum::Finite(s) => s,
            F16Sum::Inf { negative: true } => i32::MIN,
            F16Sum::Inf { negative: false } => i32::MAX,
        }
    }
}

/// One output of Linear with an f16 running sum ([`LinearSum::Fp16`]).
pub fn dot_i8_fp16(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).fold(F16Sum::Finite(0), |s, (&x, &y)| s.add(i32::from(x) * i32::from(y))).to_i32()
}

/// The arithmetic of one forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Variant {
    /// The attention head's accumulator and output clamp (spec §5, §11 rows 2–3).
    pub attention: AttentionVariant,
    /// The rounding shifts of requantize and of RMSNorm's `x·w·inv >> 15`.
    pub shift: ShiftRounding,
    /// Every clamp to i8 outside the attention head: requantize, RMSNorm,
    /// ReGLU, RoPE of K and the residual's clamp before each norm.
    pub clamp: OutputClamp,
    /// RMSNorm's inverse-RMS division.
    pub rms_division: DivRounding,
    /// Linear's accumulation.
    pub linear: LinearSum,
}

impl Variant {
    /// Spec §5–§6 as written.
    pub const NORMATIVE: Variant = Variant {
        attention: AttentionVariant::NORMATIVE,
        shift: ShiftRounding::TiesToEven,
        clamp: OutputClamp::Normative,
        rms_division: DivRounding::TiesToEven,
        linear: LinearSum::Exact,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_away_rounds_ties_away_from_zero() {
        let r = ShiftRounding::HalfAwayFromZero;
        assert_eq!([r.sra_s32(5, 1), r.sra_s32(-5, 1), r.sra_s32(7, 1), r.sra_s32(-7, 1)], [3, -3, 4, -4]);
        assert_eq!([r.sra_s32(4, 1), r.sra_s32(6, 2), r.sra_s32(3, 0)], [2, 2, 3]);
        assert_eq!(r.sra_s64_to_s32(i64::MIN, 1), i32::MIN);
        assert_eq!(r.sra_s64_to_s32(i64::MAX, 63), 1);
        let t = ShiftRounding::TiesToEven;
        assert_eq!([t.sra_s32(5, 1), t.sra_s32(-5, 1), t.sra_s32(7, 1)], [2, -2, 4]);
    }

    #[test]
    fn udiv_round_up_is_python_rounding() {
        assert_eq!(udiv_round_up(1_000_000, 3), 333_334);
        assert_eq!(udiv_rne_tte_u32(1_000_000, 3), 333_333);
        assert_eq!(udiv_round_up(8_388_608, 24929), 337);
        assert_eq!(udiv_round_up(7, 0), 0);
        assert_eq!(udiv_round_up(u32::MAX, 1), u32::MAX);
    }

    #[test]
    fn the_f16_sum_rounds_to_even_and_overflows() {
        // 2048 + 1 = 2049 is a tie between 2048 and 2050: even significand → 2048.
        assert_eq!(dot_i8_fp16(&[64, 1], &[32, 1]), 2048);
        // 2048 + 3 = 2051 → 2052 (tie, 1026 is odd → up to 1026·2).
        assert_eq!(dot_i8_fp16(&[64, 3], &[32, 1]), 2052);
        // Exact below 2048.
        assert_eq!(dot_i8_fp16(&[100, -7, 3], &[20, 11, 1]), 2000 - 77 + 3);
        // 127·127 = 16129 → 16128 (spacing 8 in [8192, 16384), 16129 = 2016·8 + 1).
        assert_eq!(dot_i8_fp16(&[127], &[127]), 16128);
        // Five of them overflow: 80640 > 65504 → +∞ → i32::MAX; and stays there.
        assert_eq!(dot_i8_fp16(&[127; 6], &[127, 127, 127, 127, 127, -127]), i32::MAX);
        assert_eq!(dot_i8_fp16(&[-127; 5], &[127; 5]), i32::MIN);
        // 65504 + 15 rounds back to 65504 (spacing 32); + 16 is a tie that rounds to 65536: +∞.
        assert_eq!(F16Sum::Finite(65504).add(15), F16Sum::Finite(65504));
        assert_eq!(F16Sum::Finite(65504).add(16), F16Sum::Inf { negative: false });
    }
}
