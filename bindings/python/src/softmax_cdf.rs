//! `czip.softmax_cdf` (spec §6): logits → frequency table
//! (`czip::freq_table`), and the exp helpers (`czip::numerics::exp_q16`).

use numpy::PyArray1;
use pyo3::prelude::*;

use crate::convert::{int_of, vec_of};
use crate::errors::input;
use crate::lut::exp_table_arg;
use czip::freq_table::{build_cumfreqs as build, default_target_total, DEFAULT_COEF_Q24};

/// The table of spec §6 as `(cumfreqs, total)`: cumfreqs uint32 [V+1] with a
/// leading 0, so symbol j is `[cumfreqs[j], cumfreqs[j+1])` and
/// `cumfreqs[V] == total`.
pub fn cumfreqs_with_leading_zero<'py>(py: Python<'py>, logits: &[i32], coef_q24: u32, total: u32, exp2: &[u16; 256]) -> PyResult<(Bound<'py, PyArray1<u32>>, u32)> {
    let logits = logits.to_vec();
    let exp2 = *exp2;
    let cum = py
        .detach(move || {
            let mut cum = vec![0u32; logits.len() + 1];
            build(&logits, coef_q24, total, &exp2, &mut cum[1..]).map(|()| cum)
        })
        .map_err(|e| input(e.to_string()))?;
    Ok((PyArray1::from_vec(py, cum), total))
}

/// The frequency table of spec §6 for int32 `logits`: `M = max`, argmax
/// (smallest index on ties), `e_j = exp(ℓ_j − M; coef_q24)`, `R = T − V`,
/// `f_j = 1 + ⌊e_j·R/Σe⌋`, the remainder to the argmax. Returns
/// `(cumfreqs, total)`: cumfreqs uint32 [V+1] **with a leading 0** (symbol j
/// is `[cumfreqs[j], cumfreqs[j+1])`, as the seed's examples index them;
/// `cumfreqs[1:]` is the upstream's inclusive form). Defaults are the
/// published models': the spec's exp2 table, `coef_q24` 37819,
/// `target_total` 2^30 − V − 1024 (the models store 1073739776 for V = 1024).
/// `vocab_size` (default len(logits)) takes the first V logits.
#[pyfunction]
#[pyo3(signature = (logits, vocab_size=None, exp_lut=None, coef_q24=None, target_total=None))]
pub fn build_cumfreqs<'py>(
    py: Python<'py>,
    logits: &Bound<'py, PyAny>,
    vocab_size: Option<usize>,
    exp_lut: Option<&Bound<'py, PyAny>>,
    coef_q24: Option<i128>,
    target_total: Option<i128>,
) -> PyResult<(Bound<'py, PyArray1<u32>>, u32)> {
    let mut l: Vec<i32> = vec_of(logits, "logits")?;
    if let Some(v) = vocab_size {
        if v == 0 || v > l.len() {
            return Err(input(format!("vocab_size = {v}: expected 1..={} (the logits given)", l.len())));
        }
        l.truncate(v);
    }
    if l.is_empty() {
        return Err(input("logits: at least one"));
    }
    let coef = coef_q24.map_or(Ok(DEFAULT_COEF_Q24), |c| int_of(c, "coef_q24"))?;
    let total = target_total.map_or(Ok(default_target_total(l.len())), |t| int_of(t, "target_total"))?;
    cumfreqs_with_leading_zero(py, &l, coef, total, &exp_table_arg(exp_lut, "exp_lut")?)
}

/// `coef_q24` of spec §3: 37819.
#[pyfunction]
pub fn compute_coef_q24() -> u32 {
    DEFAULT_COEF_Q24
}

/// `target_total` of spec §3 for a vocabulary of `vocab_size`: 2^30 − V − 1024.
#[pyfunction]
pub fn compute_target_total(vocab_size: usize) -> u32 {
    default_target_total(vocab_size)
}

/// The vocabulary exp of spec §6, `exp(diff; coef_q24)` in Q16 (`diff` = ℓ − M ≤ 0).
#[pyfunction]
#[pyo3(signature = (diff, exp_lut=None, coef_q24=None))]
pub fn exp_q16_from_diff_acc(diff: i128, exp_lut: Option<&Bound<'_, PyAny>>, coef_q24: Option<i128>) -> PyResult<u32> {
    let coef = coef_q24.map_or(Ok(DEFAULT_COEF_Q24), |c| int_of(c, "coef_q24"))?;
    Ok(czip::numerics::exp_q16(int_of(diff, "diff")?, coef, &exp_table_arg(exp_lut, "exp_lut")?))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(build_cumfreqs, m)?)?;
    m.add_function(wrap_pyfunction!(compute_coef_q24, m)?)?;
    m.add_function(wrap_pyfunction!(compute_target_total, m)?)?;
    m.add_function(wrap_pyfunction!(exp_q16_from_diff_acc, m)?)?;
    Ok(())
}
