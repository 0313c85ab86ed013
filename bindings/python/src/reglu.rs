//! `czip.reglu` (spec §5): ReGLU of two int8 vectors (`czip::model::layers::reglu`).

use numpy::PyArray1;
use pyo3::prelude::*;

use crate::convert::vec_of;
use crate::errors::input;

/// `y = clamp_i8(sra_rne_tte_s32(max(gate, 0)·value, 7))` (spec §5);
/// `gate`, `value`: int8 [F]; returns int8 [F].
#[pyfunction]
pub fn reglu_i8<'py>(py: Python<'py>, gate: &Bound<'py, PyAny>, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray1<i8>>> {
    let (g, u): (Vec<i8>, Vec<i8>) = (vec_of(gate, "gate")?, vec_of(value, "value")?);
    if g.len() != u.len() {
        return Err(input(format!("gate ({}) and value ({}) must have the same length", g.len(), u.len())));
    }
    let mut y = vec![0i8; g.len()];
    czip::model::layers::reglu(&g, &u, &mut y);
    Ok(PyArray1::from_vec(py, y))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(reglu_i8, m)?)
}
