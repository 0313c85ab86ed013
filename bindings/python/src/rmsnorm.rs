//! `czip.rmsnorm` (spec §5): RMSNorm of an int8 vector (`czip::model::layers`).

use numpy::PyArray1;
use pyo3::prelude::*;

use crate::convert::{int_of, vec_of};
use crate::errors::input;
use czip::model::layers::{inv_rms_from_mean_sq, rmsnorm};

/// Longest vector the layers take: the i32 sums of spec §5 are exact below 2^17 elements.
pub const MAX_WIDTH: usize = 131_071;

/// RMSNorm of spec §5: `ms = ⌊Σx²/D⌋ + eps`, `s = isqrt32(ms·65536)`,
/// `inv = clamp(udiv_rne(2^23, s), 1, 32768)`, `y = clamp_i8(sra_rne(x·w·inv, 15))`.
/// `x`, `weight`: int8 [D]; returns int8 [D]. `eps_scaled` must be 1 (spec §3).
#[pyfunction]
#[pyo3(signature = (x, weight, eps_scaled=1))]
pub fn rmsnorm_i8<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, weight: &Bound<'py, PyAny>, eps_scaled: i64) -> PyResult<Bound<'py, PyArray1<i8>>> {
    if eps_scaled != 1 {
        return Err(input(format!("eps_scaled = {eps_scaled}: the spec's eps is 1 (§3)")));
    }
    let (x, w): (Vec<i8>, Vec<i8>) = (vec_of(x, "x")?, vec_of(weight, "weight")?);
    if x.len() != w.len() || x.is_empty() || x.len() > MAX_WIDTH {
        return Err(input(format!("x ({}) and weight ({}) must have the same length, 1..={MAX_WIDTH}", x.len(), w.len())));
    }
    let mut y = vec![0i8; x.len()];
    rmsnorm(&x, &w, &mut y);
    Ok(PyArray1::from_vec(py, y))
}

/// `inv` of spec §5 from `⌊Σx²/D⌋` (the spec §11 point: 9482 gives 336,
/// where a round-half-up division gives 337).
#[pyfunction]
pub fn compute_inv_rms_q15_from_mean_sq(mean_sq: i128) -> PyResult<i32> {
    Ok(inv_rms_from_mean_sq(int_of(mean_sq, "mean_sq")?))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(rmsnorm_i8, m)?)?;
    m.add_function(wrap_pyfunction!(compute_inv_rms_q15_from_mean_sq, m)?)?;
    Ok(())
}
