//! `czip.lut` (spec §2): the exp2 and RoPE tables from their formulas
//! (`czip::tables`), and the upstream helper `exp_q16_from_neg_fixed`.

use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;

use crate::convert::{int_of, vec_of};
use crate::errors::input;
use czip::tables::{exp2_table, rope_tables, ROPE_PAIRS};

/// The exp2 table of spec §2: `E[i] = clamp(rne(2^(−i/256)·65536), 1, 65535)`,
/// 256 entries, Q16. (A model's stored table, which the engine uses, equals it
/// for both published models.)
#[pyclass(module = "czip", frozen)]
pub struct Exp2LutQ16 {
    pub table: [u16; 256],
}

#[pymethods]
impl Exp2LutQ16 {
    #[new]
    fn new() -> Self {
        Exp2LutQ16 { table: exp2_table() }
    }
    /// The 256 entries as a list of ints.
    #[getter]
    fn table(&self) -> Vec<u16> {
        self.table.to_vec()
    }
    /// The 256 entries as a uint16 array.
    fn as_array<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u16>> {
        PyArray1::from_slice(py, &self.table)
    }
    fn __len__(&self) -> usize {
        256
    }
    fn __getitem__(&self, idx: isize) -> PyResult<u16> {
        let i = if idx < 0 { idx + 256 } else { idx };
        usize::try_from(i).ok().and_then(|i| self.table.get(i).copied()).ok_or_else(|| pyo3::exceptions::PyIndexError::new_err(format!("index {idx} out of 0..256")))
    }
    fn __repr__(&self) -> String {
        "<czip.Exp2LutQ16 (spec §2, 256 entries)>".into()
    }
}

/// `θ` as the Q16 integer the spec's formula takes (`rope_theta_q16`).
fn theta_q16(base: f64) -> PyResult<u32> {
    let q = base * 65536.0;
    if q.fract() != 0.0 || !(1.0..=f64::from(u32::MAX)).contains(&q) {
        return Err(input(format!("base = {base}: the spec's θ is rope_theta_q16/65536 with rope_theta_q16 a u32; {base}·65536 is not one")));
    }
    Ok(q as u32)
}

/// The RoPE tables of spec §2 (Q1.15) for positions 0..max_seq_len:
/// `cos_table`, `sin_table`, int16 [max_seq_len, 32]. `head_dim` is 64 (the
/// spec's head size); `base` is θ (10000 in both published models).
#[pyclass(module = "czip", frozen)]
pub struct RopeLut {
    pub rows: usize,
    pub cos: Vec<i16>,
    pub sin: Vec<i16>,
}

#[pymethods]
impl RopeLut {
    #[new]
    #[pyo3(signature = (max_seq_len=64, head_dim=64, base=10000.0))]
    fn new(py: Python<'_>, max_seq_len: usize, head_dim: usize, base: f64) -> PyResult<Self> {
        if head_dim != 2 * ROPE_PAIRS {
            return Err(input(format!("head_dim = {head_dim}: the spec's heads have 64 dimensions")));
        }
        if max_seq_len > 1 << 16 {
            return Err(input(format!("max_seq_len = {max_seq_len}: at most 65536 rows")));
        }
        let q = theta_q16(base)?;
        let (cos, sin) = py.detach(move || rope_tables(max_seq_len, q));
        Ok(RopeLut { rows: max_seq_len, cos, sin })
    }
    #[getter]
    fn cos_table<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(PyArray1::from_slice(py, &self.cos).reshape([self.rows, ROPE_PAIRS])?.into_any())
    }
    #[getter]
    fn sin_table<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(PyArray1::from_slice(py, &self.sin).reshape([self.rows, ROPE_PAIRS])?.into_any())
    }
    fn get_cos(&self, pos: usize, idx: usize) -> PyResult<i16> {
        self.at(&self.cos, pos, idx)
    }
    fn get_sin(&self, pos: usize, idx: usize) -> PyResult<i16> {
        self.at(&self.sin, pos, idx)
    }
    fn __repr__(&self) -> String {
        format!("<czip.RopeLut {} positions × 32 pairs (spec §2)>", self.rows)
    }
}

impl RopeLut {
    fn at(&self, t: &[i16], pos: usize, idx: usize) -> PyResult<i16> {
        if pos >= self.rows || idx >= ROPE_PAIRS {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!("({pos}, {idx}) outside {} × 32", self.rows)));
        }
        Ok(t[pos * ROPE_PAIRS + idx])
    }
}

/// A 256-entry exp table argument: `None` (the spec's), an `Exp2LutQ16`, or
/// any 256 integers in u16.
pub fn exp_table_arg(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<[u16; 256]> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(exp2_table());
    };
    if let Ok(t) = obj.cast::<Exp2LutQ16>() {
        return Ok(t.get().table);
    }
    let v: Vec<u16> = vec_of(obj, what)?;
    v.try_into().map_err(|v: Vec<u16>| input(format!("{what}: expected 256 entries, got {}", v.len())))
}

/// Upstream helper (not used by the model): `t <= 0` gives 65535, else
/// `E[t & 255] >> (t >> 8)` (`czip::numerics::exp_q16_from_neg_fixed`).
#[pyfunction]
#[pyo3(signature = (neg_x_q8, exp_lut=None))]
pub fn exp_q16_from_neg_fixed(neg_x_q8: i128, exp_lut: Option<&Bound<'_, PyAny>>) -> PyResult<u32> {
    Ok(czip::numerics::exp_q16_from_neg_fixed(int_of(neg_x_q8, "neg_x_q8")?, &exp_table_arg(exp_lut, "exp_lut")?))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Exp2LutQ16>()?;
    m.add_class::<RopeLut>()?;
    m.add_function(wrap_pyfunction!(exp_q16_from_neg_fixed, m)?)?;
    Ok(())
}
