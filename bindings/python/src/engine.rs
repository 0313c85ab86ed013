//! The engine: `Model` (load, published, tokenize, logits, trace),
//! `compress`, `decompress` and `verify_file` — each a call of the engine's
//! own function (`czip::Model`, `czip::pipeline`, `czip::model::forward::walk_chunk`,
//! `czip::conformance::score::verify_file`), run with the GIL released.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::convert::{bytes_of, file_bytes, json_to_py, vec_of};
use crate::errors::{from_engine, input, ModelError};
use czip::container::OuterCodec;
use czip::model::forward::walk_chunk;
use czip::model::load::known_model_name;
use czip::model::{LayerTrace, StageValues, Variant};
use czip::pipeline::{level_to_chunk_log2, CompressOptions};

/// Where `Model.published` looks: `$CZIP_MODELS_DIR`, else `../shared/models`
/// relative to the current directory (the CLI's and the tests' default).
pub fn models_dir() -> PathBuf {
    std::env::var_os("CZIP_MODELS_DIR").map_or_else(|| PathBuf::from("../shared/models"), PathBuf::from)
}

/// A loaded CZIP model (`czip-model-v1`, spec §4), validated on load.
#[pyclass(module = "czip", frozen)]
pub struct Model {
    pub inner: Arc<czip::Model>,
    /// `v000` / `v001` for the published models (by content), else the file stem.
    pub name: String,
    pub path: PathBuf,
}

impl Model {
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<Model> {
        let p = path.clone();
        let m = py.detach(move || czip::Model::open(&p)).map_err(|e| ModelError::new_err(format!("{}: {e}", path.display())))?;
        let name = match known_model_name(m.content_hash()) {
            Some(file) => file.trim_end_matches("_eng.czm").to_string(),
            None => path.file_stem().map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned()),
        };
        Ok(Model { inner: Arc::new(m), name, path })
    }

    /// Tokens of one chunk, checked against the model's capacity.
    fn chunk_tokens(&self, tokens: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
        let toks: Vec<u32> = vec_of(tokens, "tokens")?;
        let cap = self.inner.config().rope_rows;
        if toks.len() > cap {
            return Err(input(format!("tokens: {} tokens exceed the model's chunk capacity {cap} (one chunk at a time)", toks.len())));
        }
        Ok(toks)
    }
}

#[pymethods]
impl Model {
    /// Loads and validates the model file at `path`.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Model> {
        Model::open(py, path)
    }

    /// A published model, `"v000"` or `"v001"`, from `$CZIP_MODELS_DIR`
    /// (default `../shared/models` relative to the current directory).
    #[staticmethod]
    fn published(py: Python<'_>, name: &str) -> PyResult<Model> {
        if !matches!(name, "v000" | "v001") {
            return Err(input(format!("published model {name:?}: expected \"v000\" or \"v001\"")));
        }
        let dir = models_dir();
        let path = dir.join(format!("{name}_eng.czm"));
        if !path.exists() {
            let how = if std::env::var_os("CZIP_MODELS_DIR").is_some() {
                "$CZIP_MODELS_DIR".to_string()
            } else {
                format!("the default ../shared/models relative to the current directory {}", std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default())
            };
            return Err(ModelError::new_err(format!(
                "model {name} not found at {} ({how}; set CZIP_MODELS_DIR to the directory of the published models)",
                path.display()
            )));
        }
        Model::open(py, path)
    }

    #[getter]
    fn name(&self) -> &str {
        &self.name
    }
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }
    #[getter]
    fn vocab_size(&self) -> usize {
        self.inner.config().vocab_size
    }
    #[getter]
    fn n_layers(&self) -> usize {
        self.inner.config().n_layers
    }
    #[getter]
    fn n_heads(&self) -> usize {
        self.inner.config().n_heads
    }
    #[getter]
    fn d_model(&self) -> usize {
        self.inner.config().d_model
    }
    #[getter]
    fn d_ff(&self) -> usize {
        self.inner.config().d_ff
    }
    /// The longest chunk this model codes (its RoPE table rows, spec §4).
    #[getter]
    fn capacity(&self) -> usize {
        self.inner.config().rope_rows
    }
    #[getter]
    fn bos(&self) -> u32 {
        self.inner.config().bos
    }
    /// First 32 bits of the MD5 of the file (what `compress` writes as `model_id_hash`).
    #[getter]
    fn content_hash(&self) -> u32 {
        self.inner.content_hash()
    }
    #[getter]
    fn coef_q24(&self) -> u32 {
        self.inner.coef_q24()
    }
    #[getter]
    fn target_total(&self) -> u32 {
        self.inner.target_total()
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!("<czip.Model {} V={} layers={} heads={} capacity={} ({})>", self.name, c.vocab_size, c.n_layers, c.n_heads, c.rope_rows, self.path.display())
    }

    /// Token ids of `text` (`str`, or UTF-8 `bytes`) with the model's
    /// embedded tokenizer (spec §4): a uint32 array.
    fn tokenize<'py>(&self, py: Python<'py>, text: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let bytes = bytes_of(text, "text")?;
        let m = self.inner.clone();
        let toks = py.detach(move || {
            let s = std::str::from_utf8(&bytes).map_err(|e| format!("text is not UTF-8 (valid up to byte {})", e.valid_up_to()))?;
            m.tokenizer().encode(s).map_err(|e| e.to_string())
        });
        Ok(PyArray1::from_vec(py, toks.map_err(input)?))
    }

    /// The bytes of `tokens` (the tokenizer's decoding).
    fn detokenize<'py>(&self, py: Python<'py>, tokens: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let toks: Vec<u32> = vec_of(tokens, "tokens")?;
        let mut out = Vec::new();
        self.inner.tokenizer().decode_into(&toks, &mut out).map_err(|e| input(e.to_string()))?;
        Ok(PyBytes::new(py, &out))
    }

    /// Logits of one chunk `tokens` at `positions` (default: every position
    /// 0..len(tokens)−1, the ones that code each token): an int32 array
    /// [len(positions), V]. Position i is fed BOS when i = 0, else
    /// tokens[i−1] (spec §8); a position may be len(tokens) (the next token).
    #[pyo3(signature = (tokens, positions=None))]
    fn logits<'py>(&self, py: Python<'py>, tokens: &Bound<'py, PyAny>, positions: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let toks = self.chunk_tokens(tokens)?;
        let positions: Vec<usize> = match positions {
            Some(p) => vec_of(p, "positions")?,
            None => (0..toks.len()).collect(),
        };
        if let Some(&p) = positions.iter().find(|&&p| p > toks.len()) {
            return Err(input(format!("positions: {p} is beyond the tokens (at most len(tokens) = {})", toks.len())));
        }
        let v = self.inner.config().vocab_size;
        let m = self.inner.clone();
        let rows = positions.len();
        let flat = py
            .detach(move || {
                let mut out = vec![0i32; rows * v];
                let last = positions.iter().copied().max();
                if let Some(last) = last {
                    walk_chunk(Variant::NORMATIVE, &m, &toks, last, false, |p, logits, _| {
                        for (i, _) in positions.iter().enumerate().filter(|(_, &q)| q == p) {
                            out[i * v..(i + 1) * v].copy_from_slice(logits);
                        }
                        Ok(())
                    })?;
                }
                Ok::<_, String>(out)
            })
            .map_err(input)?;
        Ok(PyArray1::from_vec(py, flat).reshape([rows, v])?.into_any())
    }

    /// Every layer's intermediates at `position` of the chunk `tokens` (the
    /// `model_trace` op): `{"layers": [{stage: array}, …], "logits": int32[V]}`,
    /// stages in `LayerTrace.STAGES` order (int8, the residuals int32).
    fn trace<'py>(&self, py: Python<'py>, tokens: &Bound<'py, PyAny>, position: usize) -> PyResult<Bound<'py, PyDict>> {
        let toks = self.chunk_tokens(tokens)?;
        if position > toks.len() {
            return Err(input(format!("position {position} is beyond the tokens (at most len(tokens) = {})", toks.len())));
        }
        let m = self.inner.clone();
        let (layers, logits) = py
            .detach(move || {
                let (mut layers, mut last) = (Vec::new(), Vec::new());
                walk_chunk(Variant::NORMATIVE, &m, &toks, position, true, |p, logits, trace| {
                    if p == position {
                        layers = trace.to_vec();
                        last = logits.to_vec();
                    }
                    Ok(())
                })?;
                Ok::<_, String>((layers, last))
            })
            .map_err(input)?;
        let out = PyDict::new(py);
        let list = pyo3::types::PyList::empty(py);
        for t in &layers {
            list.append(stages_dict(py, t)?)?;
        }
        out.set_item("layers", list)?;
        out.set_item("logits", PyArray1::from_vec(py, logits))?;
        Ok(out)
    }

    /// The frequency table of `logits` with this model's exp table,
    /// `coef_q24` and `target_total` (spec §6): `(cumfreqs, total)`,
    /// cumfreqs uint32 [V+1] with a leading 0 (as `build_cumfreqs`).
    fn get_cumfreqs<'py>(&self, py: Python<'py>, logits: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyArray1<u32>>, u32)> {
        let l: Vec<i32> = vec_of(logits, "logits")?;
        crate::softmax_cdf::cumfreqs_with_leading_zero(py, &l, self.inner.coef_q24(), self.inner.target_total(), self.inner.exp2())
    }
}

fn stages_dict<'py>(py: Python<'py>, t: &LayerTrace) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (name, v) in t.stages() {
        match v {
            StageValues::I8(x) => d.set_item(name, PyArray1::from_slice(py, x))?,
            StageValues::I32(x) => d.set_item(name, PyArray1::from_slice(py, x))?,
        }
    }
    Ok(d)
}

/// Compresses `text` (`str`, or UTF-8 `bytes`) into a CZIPv1 file (spec §8–§9).
/// `level` 1..5 codes chunks of 64·2^(level−1) tokens; `None` the model's
/// capacity. `codec`: `"brotli"` or `"zstd"`. The bytes equal `czip compress`'s.
#[pyfunction]
#[pyo3(signature = (text, model, level=None, codec="brotli"))]
pub fn compress<'py>(py: Python<'py>, text: &Bound<'py, PyAny>, model: PyRef<'py, Model>, level: Option<u8>, codec: &str) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = bytes_of(text, "text")?;
    let chunk_log2 = match level {
        None => None,
        Some(l) => Some(level_to_chunk_log2(l).ok_or_else(|| input(format!("level {l}: expected 1..5 or None (the model's capacity)")))?),
    };
    let codec: OuterCodec = codec.parse().map_err(|e| input(format!("codec: {e}")))?;
    let m = model.inner.clone();
    let opts = CompressOptions { chunk_log2, codec, model_id_hash: None };
    let out = py.detach(move || czip::pipeline::compress(&m, &bytes, &opts, None)).map_err(from_engine)?;
    Ok(PyBytes::new(py, &out))
}

/// Decompresses a CZIPv1 file (`bytes`) back to the text's bytes (spec §9),
/// with every check of `czip decompress` (a file written for the other
/// published model is refused: `ModelError`).
#[pyfunction]
pub fn decompress<'py>(py: Python<'py>, data: &Bound<'py, PyAny>, model: PyRef<'py, Model>) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = bytes_of(data, "data")?;
    let m = model.inner.clone();
    let out = py.detach(move || czip::pipeline::decompress(&m, &bytes, None)).map_err(from_engine)?;
    Ok(PyBytes::new(py, &out))
}

/// `czip-conformance score`'s verdict on one file: `path_or_bytes` is the
/// `.czip` file (a path, or its bytes), `text` the text it should hold
/// (`str`/`bytes`, or a path; `None`: the text the reference decodes from
/// it). Returns a dict: `status` (pass/fail), `agreement`, `message`,
/// `first_divergence`, `localisation`, `known_cause`, `cause`, `ratio` (the
/// ratio-table row), `next_step`, `finding`, and `case` / `failure` as the
/// report's entries. `name` (keyword) names the file when bytes are given
/// (default: the path's name without `.czip`, else `"<bytes>"`).
#[pyfunction]
#[pyo3(signature = (path_or_bytes, model, text=None, *, name=None))]
pub fn verify_file<'py>(
    py: Python<'py>,
    path_or_bytes: &Bound<'py, PyAny>,
    model: PyRef<'py, Model>,
    text: Option<&Bound<'py, PyAny>>,
    name: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let (bytes, file_name) = file_bytes(path_or_bytes, "path_or_bytes")?;
    let text_name = name.or_else(|| file_name.map(|n| n.trim_end_matches(".czip").to_string())).unwrap_or_else(|| "<bytes>".into());
    let (text, text_path): (Option<Vec<u8>>, Option<PathBuf>) = match text {
        None => (None, None),
        Some(t) if t.is_instance(&py.import("os")?.getattr("PathLike")?)? => {
            let p: PathBuf = t.extract()?;
            let b = std::fs::read(&p).map_err(|e| input(format!("text: cannot read {}: {e}", p.display())))?;
            (Some(b), Some(p))
        }
        Some(t) => (Some(bytes_of(t, "text")?), None),
    };
    let (m, model_name) = (model.inner.clone(), model.name.clone());
    let v = py.detach(move || {
        let started = std::time::Instant::now();
        let mut v = czip::conformance::score::verify_file(&text_name, &bytes, text.as_deref(), text_path.as_deref().map(Path::new), |_| Ok((model_name, m)));
        v.result.set_elapsed(started);
        v.to_json()
    });
    json_to_py(py, &v)
}
