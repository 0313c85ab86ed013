//! The frequency table of spec §6: integer softmax of the logits, scaled to
//! the total T, as inclusive cumulative frequencies for the coder (§7).

use crate::model::kernels::elementwise::{multiversion, ExpNarrow};
use crate::model::kernels::exps::{exps_sub, Exp2Lut};
use crate::model::Kernel;
use crate::numerics::{argmax, exp_q16};

/// `coef_q24` of a model without tensor `softmax.coef_q24` (spec §3):
/// `rne(0.1·log2(e)/64·2^24)` = 37819 (both published models store it).
pub const DEFAULT_COEF_Q24: u32 = 37_819;

/// `target_total` of a model without tensor `softmax.target_total` (spec §3):
/// `2^30 − V − 1024` (saturating at 0 for a vocabulary no model has).
pub fn default_target_total(vocab: usize) -> u32 {
    (1u32 << 30).saturating_sub(u32::try_from(vocab).unwrap_or(u32::MAX).saturating_add(1024))
}

/// Why a frequency table cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FreqTableError {
    EmptyLogits,
    /// `T` must exceed `V` (every symbol gets at least frequency 1).
    TotalTooSmall { total: u32, vocab: usize },
    OutputLength { got: usize, expected: usize },
}

impl std::fmt::Display for FreqTableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FreqTableError::EmptyLogits => write!(f, "frequency table: no logits"),
            FreqTableError::TotalTooSmall { total, vocab } => {
                write!(f, "frequency table: total {total} must exceed the vocabulary size {vocab}")
            }
            FreqTableError::OutputLength { got, expected } => {
                write!(f, "frequency table: output has {got} entries, expected {expected}")
            }
        }
    }
}
impl std::error::Error for FreqTableError {}

/// Checks the inputs of both builders; returns `(V, argmax)`.
fn validate(logits: &[i32], total: u32, cum: &[u32]) -> Result<(usize, usize), FreqTableError> {
    let a = argmax(logits).ok_or(FreqTableError::EmptyLogits)?;
    validate_sizes(logits.len(), total, cum)?;
    Ok((logits.len(), a))
}

/// The size checks of both builders (after the empty-logits one).
fn validate_sizes(v: usize, total: u32, cum: &[u32]) -> Result<(), FreqTableError> {
    if cum.len() != v {
        return Err(FreqTableError::OutputLength { got: cum.len(), expected: v });
    }
    if u64::from(total) <= v as u64 {
        return Err(FreqTableError::TotalTooSmall { total, vocab: v });
    }
    Ok(())
}

/// The spec-shaped form of [`build_cumfreqs`], kept as the reference the
/// fast one is tested against. Builds the inclusive cumulative table `cum`
/// (spec §6) from `logits`:
/// `M = max ℓ`, `a = argmax ℓ` (smallest index on ties), `e_j = exp(ℓ_j − M)`,
/// `Σe` (u64), `R = T − V`, `f_j = 1 + ⌊e_j·R / Σe⌋`, `f_a += T − Σf`,
/// `C_j = f_0 + … + f_j`, so `C_{V−1} = T`.
///
/// Widths: `ℓ_j − M` is a wrapping i32 subtraction, as upstream computes it
/// (see [`exp_q16`]; exact for every spread below 2^31, which real logits are);
/// `e_j <= 65535`, `Σe <= V·65535 < 2^37`, `e_j·R < 2^16·2^32` (u64);
/// `Σf <= V + R = T`, so the correction is never negative and every prefix
/// sum fits u32.
pub fn build_cumfreqs_reference(
    logits: &[i32],
    coef_q24: u32,
    total: u32,
    exp2: &[u16; 256],
    cum: &mut [u32],
) -> Result<(), FreqTableError> {
    let (v, a) = validate(logits, total, cum)?;
    let m = logits[a];
    // First pass: e_j into cum (as scratch) and Σe.
    let mut sum_e: u64 = 0;
    for (c, &l) in cum.iter_mut().zip(logits) {
        let e = exp_q16(l.wrapping_sub(m), coef_q24, exp2);
        *c = e;
        sum_e += u64::from(e);
    }
    // Second pass: f_j = 1 + ⌊e_j·R/Σe⌋ (Σe >= e_a = 65535 > 0).
    let r = u64::from(total) - v as u64;
    let mut sum_f: u64 = 0;
    for c in cum.iter_mut() {
        let f = 1 + u64::from(*c) * r / sum_e;
        *c = f as u32;
        sum_f += f;
    }
    cum[a] += (u64::from(total) - sum_f) as u32;
    // Inclusive prefix sums.
    let mut run: u32 = 0;
    for c in cum.iter_mut() {
        run += *c;
        *c = run;
    }
    Ok(())
}

/// Builds the inclusive cumulative table `cum` (spec §6) from `logits`; the
/// same integers as [`build_cumfreqs_reference`] (tested against it), with
/// the fastest kernel ([`Kernel::best`]). The fast paths call
/// [`build_cumfreqs_with`] with their kernel and the model's prepared table.
pub fn build_cumfreqs(
    logits: &[i32],
    coef_q24: u32,
    total: u32,
    exp2: &[u16; 256],
    cum: &mut [u32],
) -> Result<(), FreqTableError> {
    build_cumfreqs_with(Kernel::best(), logits, coef_q24, total, &Exp2Lut::new(exp2), cum)
}

/// [`build_cumfreqs`] with the exps of `kernel` ([`exps_sub`]) over a
/// prepared table ([`PackedModel::exp2`](crate::model::PackedModel)).
pub fn build_cumfreqs_with(
    kernel: Kernel,
    logits: &[i32],
    coef_q24: u32,
    total: u32,
    exp2: &Exp2Lut,
    cum: &mut [u32],
) -> Result<(), FreqTableError> {
    build_freqs(kernel, logits, coef_q24, total, exp2, cum)?;
    let mut run: u32 = 0;
    for c in cum.iter_mut() {
        run = run.wrapping_add(*c); // prefix sums of Σf = T: no wrap
        *c = run;
    }
    Ok(())
}

/// The frequencies `f_j` of spec §6 (the argmax's correction included, so
/// `Σ f = T`), before the prefix sums; returns the argmax. The per-entry
/// work is in branch-free, vectorisable loops:
///
/// * `e_j = exp(ℓ_j − M)` in 32-bit lanes ([`ExpNarrow`], [`exps_sub`] with
///   `kernel`) when `coef_q24` allows it (the published models' does), else
///   [`exp_q16`] itself, the one definition the fast forms are tested against;
/// * `⌊e_j·R / Σe⌋` through f64: `e_j·R < 2^48` and `Σe < 2^37` are exact
///   f64 values, the correctly rounded quotient is within one of the floor,
///   and the exact integer remainder corrects it (so no 64-bit division).
///   When `V > 2^21` the reference runs.
pub fn build_freqs(
    kernel: Kernel,
    logits: &[i32],
    coef_q24: u32,
    total: u32,
    exp2: &Exp2Lut,
    freq: &mut [u32],
) -> Result<usize, FreqTableError> {
    let v = logits.len();
    let a = argmax_fast(logits).ok_or(FreqTableError::EmptyLogits)?;
    validate_sizes(v, total, freq)?;
    // Σe <= V·65535 < 2^37 (V <= 2^20 by the loader; 2^21 checked here).
    if v > 1 << 21 {
        build_cumfreqs_reference(logits, coef_q24, total, &exp2.narrow, freq)?;
        for j in (1..v).rev() {
            freq[j] -= freq[j - 1];
        }
        return Ok(a);
    }
    let m = logits[a];
    let sum_e = match ExpNarrow::new(coef_q24) {
        Some(p) => exps_sub(kernel, logits, m, &p, exp2, freq),
        None => {
            let mut sum_e = 0u64;
            exps(logits, m, coef_q24, &exp2.narrow, freq, &mut sum_e);
            sum_e
        }
    };
    let r = u64::from(total) - v as u64;
    let mut sum_f = 0u64;
    scaled_freqs(freq, r as u32, sum_e, &mut sum_f);
    freq[a] += (u64::from(total) - sum_f) as u32;
    Ok(a)
}

/// The coding interval `[C[j−1], C[j])` of symbol `j` from the frequencies
/// of [`build_freqs`] (`Σ f = T < 2^32`, so every partial sum fits u32).
pub fn symbol_interval(freq: &[u32], j: usize) -> (u32, u32) {
    let mut low = 0;
    sum_u32(&freq[..j], &mut low);
    (low, low + freq[j])
}

multiversion! {
    /// `out = Σ x` (wrapping; exact for the partial sums of a table of total < 2^32).
    pub fn sum_u32(x: &[u32], out: &mut u32) {
        *out = x.iter().fold(0u32, |s, &v| s.wrapping_add(v));
    }
}

/// [`argmax`] (smallest index among equal maxima) with a vectorised maximum.
fn argmax_fast(xs: &[i32]) -> Option<usize> {
    let mut m = i32::MIN;
    max_i32(xs, &mut m);
    xs.iter().position(|&x| x == m)
}

multiversion! {
    /// `out = max(out, max x)`.
    pub fn max_i32(x: &[i32], out: &mut i32) {
        *out = x.iter().fold(*out, |m, &v| m.max(v));
    }
}

multiversion! {
    /// `out_j = exp(ℓ_j − M; coef)` (wrapping i32 difference): [`exp_q16`]
    /// itself, for the coefficients [`ExpNarrow`] does not take, and
    /// `sum = Σ out`.
    pub fn exps(logits: &[i32], m: i32, coef_q24: u32, exp2: &[u16; 256], out: &mut [u32], sum: &mut u64) {
        let mut s = 0u64;
        for (o, &l) in out.iter_mut().zip(logits) {
            let e = exp_q16(l.wrapping_sub(m), coef_q24, exp2);
            *o = e;
            s = s.wrapping_add(u64::from(e));
        }
        *sum = s;
    }
}

multiversion! {
    /// `f_j = 1 + ⌊e_j·r / sum_e⌋` in place and `sum_f = Σ f` (`e_j <= 65535`,
    /// `r < 2^32 − 1`, `1 <= sum_e < 2^37`; see [`build_freqs`] for exactness).
    ///
    /// Every step is an f64 operation on exact integers, so the loop
    /// vectorises on AVX2 (which has no 64-bit integer multiply): `n = e·r
    /// < 2^48` and `Σe` are exact; `q`, the nearest integer to `n·fl(1/Σe)`
    /// (the magic-number rounding of `round_small_f64`, ties to even), is
    /// within one of `⌊n/Σe⌋`; `q·Σe` is an integer within `Σe` of n, below
    /// 2^49, so exact, and so is the remainder `n − q·Σe`; the corrected
    /// `f = q + 1 <= r + 1 < 2^32` is read from the low bits of `f + 2^52`.
    /// `Σf` is summed in u64 (at most `2^32·V`).
    pub fn scaled_freqs(cum: &mut [u32], r: u32, sum_e: u64, sum_f: &mut u64) {
        const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5·2^52
        const LOW_BITS: f64 = 4_503_599_627_370_496.0; // 2^52
        let d = sum_e as f64;
        let inv = 1.0 / d;
        let rf = f64::from(r);
        let mut s = 0u64;
        for c in cum.iter_mut() {
            // e_j <= 65535: exact as i32 (a signed conversion vectorises).
            let n = f64::from(*c as i32) * rf;
            let q = (n * inv + ROUND) - ROUND;
            let rem = n - q * d;
            let q = if rem >= d {
                q + 1.0
            } else if rem < 0.0 {
                q - 1.0
            } else {
                q
            };
            *c = (q + 1.0 + LOW_BITS).to_bits() as u32;
            s = s.wrapping_add(u64::from(*c));
        }
        *sum_f = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::exp2_table;

    #[test]
    fn all_equal_logits_spread_evenly_with_remainder_on_index_zero() {
        let e = exp2_table();
        let mut cum = [0u32; 4];
        build_cumfreqs(&[5, 5, 5, 5], 37819, 1003, &e, &mut cum).unwrap();
        // R = 999, Σe = 4·65535, f = 1 + 249 = 250 each, Σf = 1000, f_0 += 3.
        assert_eq!(cum, [253, 503, 753, 1003]);
    }

    #[test]
    fn rejects_bad_inputs() {
        let e = exp2_table();
        let mut cum = [0u32; 2];
        assert_eq!(build_cumfreqs(&[], 1, 10, &e, &mut []), Err(FreqTableError::EmptyLogits));
        assert_eq!(
            build_cumfreqs(&[1, 2], 1, 2, &e, &mut cum),
            Err(FreqTableError::TotalTooSmall { total: 2, vocab: 2 })
        );
    }
}
