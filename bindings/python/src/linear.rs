//! `czip.linear` (spec §5): int8 × int8 → int32 matrix-vector products
//! (`czip::model::layers::linear`).

use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;

use crate::convert::{int_array, matrix_of};
use crate::errors::input;
use crate::rmsnorm::MAX_WIDTH;

/// `y[o] = Σ_i x[i]·weight[o][i]` exactly (spec §5). `x`: int8 [in] or
/// [batch, in]; `weight`: int8 [out, in]; returns int32 [out] or [batch, out].
/// The spec's layers have no bias: `bias` must be None.
#[pyfunction]
#[pyo3(signature = (x, weight, bias=None))]
pub fn linear_i8_to_i32<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, weight: &Bound<'py, PyAny>, bias: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    if bias.is_some_and(|b| !b.is_none()) {
        return Err(input("bias: the spec's linear layers have none (pass None)"));
    }
    let (w, n_out, n_in): (Vec<i8>, _, _) = matrix_of(weight, "weight")?;
    let (xs, shape) = int_array(x, "x")?;
    let (batch, width) = match shape[..] {
        [n] => (None, n),
        [b, n] => (Some(b), n),
        _ => return Err(input(format!("x: expected [in] or [batch, in], got shape {shape:?}"))),
    };
    if width != n_in || n_in == 0 || n_in > MAX_WIDTH {
        return Err(input(format!("x has {width} features, weight [{n_out}, {n_in}] (1..={MAX_WIDTH} features)")));
    }
    let xs: Vec<i8> = xs.into_iter().enumerate().map(|(i, v)| i8::try_from(v).map_err(|_| input(format!("x[{i}] = {v} does not fit i8")))).collect::<PyResult<_>>()?;
    let rows = batch.unwrap_or(1);
    let y = py.detach(move || {
        let mut y = vec![0i32; rows * n_out];
        for (xr, yr) in xs.chunks_exact(n_in).zip(y.chunks_exact_mut(n_out.max(1))) {
            czip::model::layers::linear(xr, &w, yr);
        }
        y
    });
    let a = PyArray1::from_vec(py, y);
    Ok(match batch {
        None => a.into_any(),
        Some(b) => a.reshape([b, n_out])?.into_any(),
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(linear_i8_to_i32, m)?)
}
