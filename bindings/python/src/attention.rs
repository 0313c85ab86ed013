//! `czip.attention` (spec §5): RoPE, the KV cache and one attention head
//! (`czip::model::layers::rope`, `czip::model::attention::{KvCache, attend_head}`).

use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;

use crate::convert::{int_array, matrix_of, vec_of};
use crate::errors::input;
use crate::lut::exp_table_arg;
use czip::model::attention::{attend_head, KvCache};
use czip::model::HEAD_DIM;
use czip::tables::{rope_tables, ROPE_PAIRS};

/// θ of both published models, as `rope_theta_q16`.
const THETA_Q16: u32 = 10_000 << 16;

/// The cached keys (already rotated) and values of one attention layer,
/// positions 0..seq_len, room for `max_seq_len`.
#[pyclass(module = "czip")]
pub struct KVCache {
    pub inner: KvCache,
}

#[pymethods]
impl KVCache {
    #[new]
    #[pyo3(signature = (max_seq_len=1024, head_dim=64))]
    fn new(max_seq_len: usize, head_dim: usize) -> PyResult<Self> {
        if head_dim != HEAD_DIM {
            return Err(input(format!("head_dim = {head_dim}: the spec's heads have 64 dimensions")));
        }
        if max_seq_len > 1 << 16 {
            return Err(input(format!("max_seq_len = {max_seq_len}: at most 65536")));
        }
        Ok(KVCache { inner: KvCache::new(max_seq_len) })
    }
    /// `KVCache(max_seq_len, head_dim)`, the seed package's spelling.
    #[classmethod]
    #[pyo3(signature = (max_seq_len=1024, head_dim=64))]
    fn create(_cls: &Bound<'_, pyo3::types::PyType>, max_seq_len: usize, head_dim: usize) -> PyResult<Self> {
        KVCache::new(max_seq_len, head_dim)
    }
    #[getter]
    fn seq_len(&self) -> usize {
        self.inner.len()
    }
    #[getter]
    fn max_seq_len(&self) -> usize {
        self.inner.capacity()
    }
    /// Appends keys (already rotated) and values: int8 [64] or [n, 64] each.
    fn append(&mut self, k: &Bound<'_, PyAny>, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let (ks, kshape) = int_array(k, "k")?;
        let (vs, vshape) = int_array(v, "v")?;
        if kshape != vshape || kshape.last() != Some(&HEAD_DIM) || kshape.len() > 2 {
            return Err(input(format!("k {kshape:?} and v {vshape:?}: expected the same shape, [64] or [n, 64]")));
        }
        let ks: Vec<i8> = ks.into_iter().map(|x| i8::try_from(x).map_err(|_| input(format!("k: {x} does not fit i8")))).collect::<PyResult<_>>()?;
        let vs: Vec<i8> = vs.into_iter().map(|x| i8::try_from(x).map_err(|_| input(format!("v: {x} does not fit i8")))).collect::<PyResult<_>>()?;
        if self.inner.len() + ks.len() / HEAD_DIM > self.inner.capacity() {
            return Err(input(format!("cache overflow: {} + {} positions, room for {}", self.inner.len(), ks.len() / HEAD_DIM, self.inner.capacity())));
        }
        for (kr, vr) in ks.chunks_exact(HEAD_DIM).zip(vs.chunks_exact(HEAD_DIM)) {
            self.inner.push(kr, vr);
        }
        Ok(())
    }
    /// The keys, int8 [max_seq_len, 64] (zero beyond seq_len).
    #[getter]
    fn k_cache<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.rows(py, |t| self.inner.key(t))
    }
    /// The values, int8 [max_seq_len, 64] (zero beyond seq_len).
    #[getter]
    fn v_cache<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.rows(py, |t| self.inner.value(t))
    }
    fn __repr__(&self) -> String {
        format!("<czip.KVCache {}/{} positions>", self.inner.len(), self.inner.capacity())
    }
}

impl KVCache {
    fn rows<'py, 'a>(&'a self, py: Python<'py>, row: impl Fn(usize) -> &'a [i8]) -> PyResult<Bound<'py, PyAny>> {
        let cap = self.inner.capacity();
        let mut out = vec![0i8; cap * HEAD_DIM];
        for t in 0..self.inner.len() {
            out[t * HEAD_DIM..(t + 1) * HEAD_DIM].copy_from_slice(row(t));
        }
        Ok(PyArray1::from_vec(py, out).reshape([cap, HEAD_DIM])?.into_any())
    }
}

/// RoPE tables covering position `pos`: the given int16 [L, 32] pair, or the
/// spec's formula with θ = 10000 for positions 0..=pos.
fn rope_args(pos: usize, cos: Option<&Bound<'_, PyAny>>, sin: Option<&Bound<'_, PyAny>>) -> PyResult<(Vec<i16>, Vec<i16>)> {
    match (cos.filter(|c| !c.is_none()), sin.filter(|s| !s.is_none())) {
        (None, None) => {
            if pos >= 1 << 16 {
                return Err(input(format!("pos = {pos}: at most 65535")));
            }
            Ok(rope_tables(pos + 1, THETA_Q16))
        }
        (Some(c), Some(s)) => {
            let (c, rows, cc): (Vec<i16>, _, _) = matrix_of(c, "rope_cos")?;
            let (s, srows, sc): (Vec<i16>, _, _) = matrix_of(s, "rope_sin")?;
            if cc != ROPE_PAIRS || sc != ROPE_PAIRS || rows != srows {
                return Err(input("rope_cos and rope_sin: expected two int16 [L, 32] tables"));
            }
            if pos >= rows {
                return Err(input(format!("pos = {pos} is beyond the {rows} rows of the RoPE tables")));
            }
            Ok((c, s))
        }
        _ => Err(input("rope_cos and rope_sin: give both or neither")),
    }
}

fn head_vec(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<i8>> {
    let v: Vec<i8> = vec_of(obj, what)?;
    if v.len() != HEAD_DIM {
        return Err(input(format!("{what}: expected 64 int8 values, got {}", v.len())));
    }
    Ok(v)
}

fn rope_one<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, pos: usize, cos: Option<&Bound<'py, PyAny>>, sin: Option<&Bound<'py, PyAny>>, query: bool) -> PyResult<Bound<'py, PyArray1<i8>>> {
    let x = head_vec(x, "x")?;
    let (c, s) = rope_args(pos, cos, sin)?;
    let row = pos * ROPE_PAIRS..(pos + 1) * ROPE_PAIRS;
    let mut y = vec![0i8; HEAD_DIM];
    czip::model::layers::rope(&x, &c[row.clone()], &s[row], query, &mut y);
    Ok(PyArray1::from_vec(py, y))
}

/// RoPE of a key at `pos` (spec §5, rotate-half): int8 [64] → int8 [64].
#[pyfunction]
#[pyo3(signature = (x, pos, rope_cos=None, rope_sin=None))]
pub fn apply_rope_i8<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, pos: usize, rope_cos: Option<&Bound<'py, PyAny>>, rope_sin: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyArray1<i8>>> {
    rope_one(py, x, pos, rope_cos, rope_sin, false)
}

/// RoPE of a query at `pos` (spec §5: the extra NET_Q_SHIFT, two roundings).
#[pyfunction]
#[pyo3(signature = (q, pos, rope_cos=None, rope_sin=None))]
pub fn apply_rope_q_i8<'py>(py: Python<'py>, q: &Bound<'py, PyAny>, pos: usize, rope_cos: Option<&Bound<'py, PyAny>>, rope_sin: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyArray1<i8>>> {
    rope_one(py, q, pos, rope_cos, rope_sin, true)
}

/// One attention head at position `pos` (spec §5, MQA: one K/V head): the
/// key `k` is rotated for `pos` and appended with `v` to `kv_cache` (which
/// must then hold exactly positions 0..pos−1; without a cache the head
/// attends to this one position), and the query `q` (unrotated) attends over
/// the cache with score multiplier `score_mul_q15` and optional `sink_key`.
/// `q`, `k`, `v`, `sink_key`: int8 [64]; tables default to the spec's
/// (exp2, RoPE with θ = 10000). Returns int8 [64].
#[pyfunction]
#[pyo3(signature = (q, k, v, pos, kv_cache=None, exp2_lut=None, rope_cos=None, rope_sin=None, score_mul_q15=32768, sink_key=None))]
#[allow(clippy::too_many_arguments)]
pub fn gqa_attention_mqa_i8<'py>(
    py: Python<'py>,
    q: &Bound<'py, PyAny>,
    k: &Bound<'py, PyAny>,
    v: &Bound<'py, PyAny>,
    pos: usize,
    kv_cache: Option<Bound<'py, KVCache>>,
    exp2_lut: Option<&Bound<'py, PyAny>>,
    rope_cos: Option<&Bound<'py, PyAny>>,
    rope_sin: Option<&Bound<'py, PyAny>>,
    score_mul_q15: i32,
    sink_key: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArray1<i8>>> {
    let (q, k, v) = (head_vec(q, "q")?, head_vec(k, "k")?, head_vec(v, "v")?);
    let sink: Option<[i8; HEAD_DIM]> = match sink_key.filter(|s| !s.is_none()) {
        None => None,
        Some(s) => Some(head_vec(s, "sink_key")?.try_into().map_err(|_| input("sink_key: 64 values"))?),
    };
    let exp2 = exp_table_arg(exp2_lut, "exp2_lut")?;
    let (cos, sin) = rope_args(pos, rope_cos, rope_sin)?;
    let row = pos * ROPE_PAIRS..(pos + 1) * ROPE_PAIRS;
    let mut k_rot = [0i8; HEAD_DIM];
    czip::model::layers::rope(&k, &cos[row.clone()], &sin[row], false, &mut k_rot);
    let mut out = vec![0i8; HEAD_DIM];
    let mut attend = |cache: &mut KvCache| -> PyResult<()> {
        if !cache.push(&k_rot, &v) {
            return Err(input(format!("kv_cache is full ({} positions)", cache.capacity())));
        }
        attend_head(&q, pos, cache, &cos, &sin, score_mul_q15, sink.as_ref(), &exp2, &mut out);
        Ok(())
    };
    match kv_cache {
        Some(c) => {
            let mut c = c.try_borrow_mut()?;
            if c.inner.len() != pos {
                return Err(input(format!("pos = {pos}, but kv_cache holds {} positions (positions come in order 0, 1, 2, …)", c.inner.len())));
            }
            attend(&mut c.inner)?;
        }
        None => attend(&mut KvCache::new(1))?,
    }
    Ok(PyArray1::from_vec(py, out))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<KVCache>()?;
    m.add_function(wrap_pyfunction!(apply_rope_i8, m)?)?;
    m.add_function(wrap_pyfunction!(apply_rope_q_i8, m)?)?;
    m.add_function(wrap_pyfunction!(gqa_attention_mqa_i8, m)?)?;
    m.add_function(wrap_pyfunction!(exp_q16_from_attn_diff, m)?)?;
    Ok(())
}

/// The attention exp of spec §6, `exp(diff; ATTN_COEF_Q24)` in Q16 (`diff` = score − max ≤ 0).
#[pyfunction]
#[pyo3(signature = (diff, exp_lut=None))]
pub fn exp_q16_from_attn_diff(diff: i128, exp_lut: Option<&Bound<'_, PyAny>>) -> PyResult<u32> {
    Ok(czip::numerics::exp_q16(crate::convert::int_of(diff, "diff")?, czip::numerics::ATTN_COEF_Q24, &exp_table_arg(exp_lut, "exp_lut")?))
}
