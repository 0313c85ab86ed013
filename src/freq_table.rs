//! The frequency table of spec §6: integer softmax of the logits, scaled to
//! the total T, as inclusive cumulative frequencies for the coder (§7).

use crate::numerics::{argmax, exp_q16};

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

/// Builds the inclusive cumulative table `cum` (spec §6) from `logits`:
/// `M = max ℓ`, `a = argmax ℓ` (smallest index on ties), `e_j = exp(ℓ_j − M)`,
/// `Σe` (u64), `R = T − V`, `f_j = 1 + ⌊e_j·R / Σe⌋`, `f_a += T − Σf`,
/// `C_j = f_0 + … + f_j`, so `C_{V−1} = T`.
///
/// Widths: `ℓ_j − M` is a wrapping i32 subtraction, as upstream computes it
/// (see [`exp_q16`]; exact for every spread below 2^31, which real logits are);
/// `e_j <= 65535`, `Σe <= V·65535 < 2^37`, `e_j·R < 2^16·2^32` (u64);
/// `Σf <= V + R = T`, so the correction is never negative and every prefix
/// sum fits u32.
pub fn build_cumfreqs(
    logits: &[i32],
    coef_q24: u32,
    total: u32,
    exp2: &[u16; 256],
    cum: &mut [u32],
) -> Result<(), FreqTableError> {
    let v = logits.len();
    let a = argmax(logits).ok_or(FreqTableError::EmptyLogits)?;
    if cum.len() != v {
        return Err(FreqTableError::OutputLength { got: cum.len(), expected: v });
    }
    if u64::from(total) <= v as u64 {
        return Err(FreqTableError::TotalTooSmall { total, vocab: v });
    }
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
