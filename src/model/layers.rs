//! Per-vector layer operations of spec §5. Each writes into a caller-owned
//! output slice, so the forward pass allocates nothing per token.

use super::attention::OutputClamp;
use super::variant::{dot_i8_fp16, DivRounding, LinearSum, Variant};
use super::{Requant, HEAD_DIM, ROPE_PAIRS};
use crate::numerics::{isqrt32_restoring, sra_rne_tte_s32};

/// Requantize, spec §5: `shift <= 0`: `clamp(x·mult, -127, 127)` (exact
/// product, no shift); otherwise
/// `clamp(sra_rne_tte_s64_to_s32(x·mult, shift), -127, 127)`.
/// Widths: `x·mult` is exact in i64 (|i32·i32| < 2^62).
pub fn requantize(x: &[i32], rq: Requant, out: &mut [i8]) {
    requantize_with(Variant::NORMATIVE, x, rq, out)
}

/// [`requantize`] with the shift's rounding and the clamp of `variant` (a
/// fault's); [`requantize`] passes the spec's as a constant.
#[inline(always)]
pub fn requantize_with(variant: Variant, x: &[i32], rq: Requant, out: &mut [i8]) {
    debug_assert_eq!(x.len(), out.len());
    let mult = i64::from(rq.mult);
    if rq.shift <= 0 {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = variant.clamp.apply_i64(i64::from(v) * mult);
        }
    } else {
        let sh = rq.shift as u32;
        for (o, &v) in out.iter_mut().zip(x) {
            *o = variant.clamp.apply(variant.shift.sra_s64_to_s32(i64::from(v) * mult, sh));
        }
    }
}

/// Exact dot product of two i8 vectors.
/// Width: each product is at most 2^14 in magnitude; the model loader bounds
/// every input width below 2^17, so the i32 sum cannot overflow and the
/// wrapping add is exact (it keeps the loop vectorisable in builds with
/// overflow checks on, such as the test profile).
#[inline(always)]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc: i32 = 0;
    for (&x, &y) in a.iter().zip(b) {
        acc = acc.wrapping_add(i32::from(x) * i32::from(y));
    }
    acc
}

/// Linear, spec §5: `y[o] = Σ_i x[i]·W[o][i]` with W row-major [out, in].
///
/// The body is one portable loop ([`linear_portable`]); on x86-64 CPUs with
/// AVX2 the same source is compiled a second time with AVX2 enabled and
/// chosen at run time. Both compute the exact integer sums, so they agree
/// bit for bit (tested against each other).
pub fn linear(x: &[i8], w: &[i8], out: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { linear_avx2(x, w, out) };
    }
    linear_portable(x, w, out)
}

/// [`linear`] with the accumulation of `variant` (a fault's):
/// [`LinearSum::Exact`] is [`linear`].
pub fn linear_with(variant: Variant, x: &[i8], w: &[i8], out: &mut [i32]) {
    match variant.linear {
        LinearSum::Exact => linear(x, w, out),
        LinearSum::Fp16 => {
            debug_assert_eq!(w.len(), x.len() * out.len());
            for (o, row) in out.iter_mut().zip(w.chunks_exact(x.len().max(1))) {
                *o = dot_i8_fp16(x, row);
            }
        }
    }
}

/// The reference loop of [`linear`], compiled for the baseline target.
pub fn linear_portable(x: &[i8], w: &[i8], out: &mut [i32]) {
    linear_body(x, w, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn linear_avx2(x: &[i8], w: &[i8], out: &mut [i32]) {
    linear_body(x, w, out)
}

#[inline(always)]
fn linear_body(x: &[i8], w: &[i8], out: &mut [i32]) {
    let n_in = x.len();
    debug_assert_eq!(w.len(), n_in * out.len());
    for (o, row) in out.iter_mut().zip(w.chunks_exact(n_in)) {
        *o = dot_i8(x, row);
    }
}

/// RMSNorm of spec §5 for an already clamped i8 vector `x` with weight `w`:
/// `ss = Σ x²` (u32: D·128² < 2^32 for the loader's D bound),
/// `ms = max(⌊ss/D⌋ + 1, 1)`, `s = isqrt32_restoring(ms·65536)`
/// (`ms <= 16385`, so `ms·65536 < 2^31`),
/// `inv = clamp(udiv_rne_tte_u32(2^23, s), 1, 32768)`,
/// `y = clamp_i8(sra_rne_tte_s32(x·w·inv, 15))` (`|x·w·inv| <= 2^29`).
pub fn rmsnorm(x: &[i8], w: &[i8], out: &mut [i8]) {
    rmsnorm_with(Variant::NORMATIVE, x, w, out)
}

/// [`rmsnorm`] with the inverse's division, the final shift's rounding and
/// the clamp of `variant` (a fault's).
#[inline(always)]
pub fn rmsnorm_with(variant: Variant, x: &[i8], w: &[i8], out: &mut [i8]) {
    debug_assert!(x.len() == w.len() && x.len() == out.len());
    let inv = inv_rms_from_mean_sq_with(variant.rms_division, mean_square(x));
    for ((o, &xi), &wi) in out.iter_mut().zip(x).zip(w) {
        *o = variant.clamp.apply(variant.shift.sra_s32(i32::from(xi) * i32::from(wi) * inv, 15));
    }
}

/// `⌊Σx²/D⌋` of [`rmsnorm`], kept below `u32::MAX` (the `+ 1` cannot wrap).
fn mean_square(x: &[i8]) -> u32 {
    let ss: u64 = x.iter().map(|&v| (i64::from(v) * i64::from(v)) as u64).sum();
    (ss / x.len().max(1) as u64).min(u64::from(u32::MAX - 1)) as u32
}

/// The inverse RMS (Q15) of [`rmsnorm`]; exposed for vectors and traces.
pub fn rms_inverse(x: &[i8]) -> i32 {
    inv_rms_from_mean_sq(mean_square(x))
}

/// `inv` of spec §5 from `⌊Σx²/D⌋`. The spec §11 point: for a mean square of
/// 9482, `ms = 9483`, `s = 24929` and the ties-to-even quotient is 336, where
/// a round-half-up division gives 337.
#[inline(always)]
pub fn inv_rms_from_mean_sq(mean_sq: u32) -> i32 {
    inv_rms_from_mean_sq_with(DivRounding::TiesToEven, mean_sq)
}

/// [`inv_rms_from_mean_sq`] with the division `division`.
#[inline(always)]
pub fn inv_rms_from_mean_sq_with(division: DivRounding, mean_sq: u32) -> i32 {
    let ms = mean_sq.saturating_add(1).max(1);
    let s = isqrt32_restoring(ms.saturating_mul(65536));
    division.udiv(8_388_608, s).clamp(1, 32768) as i32
}

/// ReGLU, spec §5: `y = clamp_i8(sra_rne_tte_s32(max(g,0)·u, 7))`.
pub fn reglu(gate: &[i8], up: &[i8], out: &mut [i8]) {
    reglu_with(OutputClamp::Normative, gate, up, out)
}

/// [`reglu`] with the clamp `clamp` (a fault's).
#[inline(always)]
pub fn reglu_with(clamp: OutputClamp, gate: &[i8], up: &[i8], out: &mut [i8]) {
    debug_assert!(gate.len() == up.len() && up.len() == out.len());
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        *o = clamp.apply(sra_rne_tte_s32(i32::from(g).max(0) * i32::from(u), 7));
    }
}

/// RoPE of a 64-vector at one position, spec §5 (rotate-half: element i pairs
/// with i + 32). `cos`/`sin` are that position's 32-entry table rows.
/// `a = x_i·c − x_{i+32}·s`, `b = x_i·s + x_{i+32}·c` (|a|,|b| <= 2^23, i32).
/// K: `clamp_i8(sra(a, 15))`. Q (`is_query`): `clamp_i8(sra(sra(a, 15), 1))`,
/// two separate roundings (the extra `NET_Q_SHIFT` of spec §3).
pub fn rope(x: &[i8], cos: &[i16], sin: &[i16], is_query: bool, out: &mut [i8]) {
    rope_with(OutputClamp::Normative, x, cos, sin, is_query, out)
}

/// [`rope`] with the clamp `clamp` (a fault's).
#[inline(always)]
pub fn rope_with(clamp: OutputClamp, x: &[i8], cos: &[i16], sin: &[i16], is_query: bool, out: &mut [i8]) {
    debug_assert!(x.len() == HEAD_DIM && out.len() == HEAD_DIM && cos.len() == ROPE_PAIRS && sin.len() == ROPE_PAIRS);
    let extra = u32::from(is_query);
    for i in 0..ROPE_PAIRS {
        let (x0, x1) = (i32::from(x[i]), i32::from(x[i + ROPE_PAIRS]));
        let (c, s) = (i32::from(cos[i]), i32::from(sin[i]));
        let a = x0 * c - x1 * s;
        let b = x0 * s + x1 * c;
        out[i] = clamp.apply(sra_rne_tte_s32(sra_rne_tte_s32(a, 15), extra));
        out[i + ROPE_PAIRS] = clamp.apply(sra_rne_tte_s32(sra_rne_tte_s32(b, 15), extra));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_inverse_at_the_python_divergence() {
        // spec §11: ⌊Σx²/D⌋ = 9482 → ms = 9483, s = 24929, 8388608/24929 = 336.49…
        assert_eq!(isqrt32_restoring(9483 * 65536), 24929);
        assert_eq!(inv_rms_from_mean_sq(9482), 336);
        assert_eq!(inv_rms_from_mean_sq(0), 32768);
    }

    #[test]
    fn requantize_branches() {
        let mut out = [0i8; 3];
        requantize(&[1, -2, 100], Requant { mult: 3, shift: 0 }, &mut out);
        assert_eq!(out, [3, -6, 127]);
        requantize(&[1, -3, 5], Requant { mult: 1, shift: 1 }, &mut out);
        assert_eq!(out, [0, -2, 2]);
        requantize(&[i32::MIN, i32::MAX, 0], Requant { mult: i32::MIN, shift: -5 }, &mut out);
        assert_eq!(out, [127, -127, 0]);
    }
}
