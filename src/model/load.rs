//! Loading and validating a `czip-model-v1` file (spec §4).
//!
//! Every check turns into a [`ModelError`] that names the tensor or metadata
//! key and what was expected. Nothing here panics on any input. The model's
//! chunk-length capacity is the row count of its RoPE tables, never
//! `max_seq_len` (spec §4, §11).
//!
//! Input reaches every line of this module, so it must not panic: the
//! clippy lints below (`unwrap`, `expect`, indexing, `panic!`) are denied
//! outside tests, and `cargo clippy` fails on any that comes back.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use super::{Config, LayerParams, Model, Requant, Span, Storage};
use crate::container::OuterCodec;
use crate::tokenizer::Tokenizer;

/// Width of every attention head and of the single K/V head.
pub const HEAD_DIM: usize = 64;
/// RoPE pairs per head (`HEAD_DIM / 2`): the columns of `lut.rope_cos` /
/// `lut.rope_sin` (spec §2).
pub const ROPE_PAIRS: usize = HEAD_DIM / 2;
/// Largest decompressed tokenizer JSON accepted (the published ones are ~20 KB).
const MAX_TOKENIZER_JSON: usize = 64 << 20;
/// Largest linear input width for which Σ i8·i8 provably fits i32:
/// 128·128·n < 2^31.
const MAX_LINEAR_IN: usize = (1 << 31) / (128 * 128) - 1;

/// Why a model file was refused.
#[derive(Debug)]
pub enum ModelError {
    Io { path: String, err: std::io::Error },
    /// The safetensors container itself is malformed (header, offsets, size).
    Container(String),
    DuplicateKey { key: String, scope: &'static str },
    MissingMetadata(&'static str),
    BadMetadata { key: &'static str, value: String, expected: String },
    MissingTensor(String),
    WrongDtype { tensor: String, found: String, expected: &'static str },
    WrongShape { tensor: String, found: Vec<usize>, expected: String },
    BadValue { tensor: String, found: String, expected: String },
    Unsupported(String),
    Tokenizer(String),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Io { path, err } => write!(f, "cannot read model {path}: {err}"),
            ModelError::Container(m) => write!(f, "model file is not a valid safetensors file: {m}"),
            ModelError::DuplicateKey { key, scope } => {
                write!(f, "model header: duplicate {scope} key {key:?}")
            }
            ModelError::MissingMetadata(k) => write!(f, "model metadata: missing key {k:?}"),
            ModelError::BadMetadata { key, value, expected } => {
                write!(f, "model metadata: {key} = {value:?}, expected {expected}")
            }
            ModelError::MissingTensor(t) => write!(f, "model: missing tensor {t}"),
            ModelError::WrongDtype { tensor, found, expected } => {
                write!(f, "model tensor {tensor}: dtype {found}, expected {expected}")
            }
            ModelError::WrongShape { tensor, found, expected } => {
                write!(f, "model tensor {tensor}: shape {found:?}, expected {expected}")
            }
            ModelError::BadValue { tensor, found, expected } => {
                write!(f, "model tensor {tensor}: value {found}, expected {expected}")
            }
            ModelError::Unsupported(m) => write!(f, "model: unsupported architecture: {m}"),
            ModelError::Tokenizer(m) => write!(f, "model tokenizer: {m}"),
        }
    }
}

impl std::error::Error for ModelError {}

impl Model {
    /// Memory-maps and validates a model file.
    pub fn open(path: &Path) -> Result<Model, ModelError> {
        let io = |err| ModelError::Io { path: path.display().to_string(), err };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the map is read-only; like every mmap-based reader we assume
        // the file is not truncated or rewritten while the model is in use.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Model::from_storage(Storage::Mapped(map))
    }

    /// Validates a model held in memory (generated models, fuzzing).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Model, ModelError> {
        Model::from_storage(Storage::Owned(bytes))
    }

    fn from_storage(storage: Storage) -> Result<Model, ModelError> {
        let bytes = storage.bytes();
        check_header_keys_unique(bytes)?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| ModelError::Container(e.to_string()))?;
        let (_, meta) =
            SafeTensors::read_metadata(bytes).map_err(|e| ModelError::Container(e.to_string()))?;
        let meta_map: HashMap<String, String> =
            meta.metadata().iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
        let md = Meta(&meta_map);
        let base = bytes.as_ptr() as usize;
        let t = Tensors { st: &st, base };

        if md.str("format")? != "czip-model-v1" {
            return Err(md.bad("format", "czip-model-v1"));
        }
        let vocab_size = md.usize("vocab_size")?;
        let n_layers = md.usize("n_layers")?;
        let n_heads = md.usize("n_heads")?;
        let n_kv_heads = md.usize("n_kv_heads")?;
        let d_model = md.usize("d_model")?;
        let d_ff = md.usize("d_ff")?;
        let head_dim = md.usize("head_dim")?;
        let rope_theta_q16 = md.u32("rope_theta_q16")?;
        let max_seq_len = md.opt_u64("max_seq_len")?;
        let tokenizer_codec: OuterCodec =
            md.str("tokenizer_codec")?.parse().map_err(|_| md.bad("tokenizer_codec", "zstd or brotli"))?;

        if head_dim != HEAD_DIM {
            return Err(md.bad("head_dim", "64"));
        }
        if n_kv_heads != 1 {
            return Err(md.bad("n_kv_heads", "1 (multi-query attention)"));
        }
        if n_heads == 0 || d_model != HEAD_DIM * n_heads {
            return Err(md.bad("d_model", &format!("64 · n_heads = {}", HEAD_DIM.saturating_mul(n_heads))));
        }
        if n_layers == 0 || n_layers > 64 {
            return Err(md.bad("n_layers", "1..=64"));
        }
        if !(2..=1 << 20).contains(&vocab_size) {
            return Err(md.bad("vocab_size", "2..=1048576"));
        }
        if d_model > MAX_LINEAR_IN {
            return Err(md.bad("d_model", &format!("at most {MAX_LINEAR_IN}")));
        }
        if d_ff == 0 || d_ff > MAX_LINEAR_IN {
            return Err(md.bad("d_ff", &format!("1..={MAX_LINEAR_IN}")));
        }
        let (v, d, f) = (vocab_size, d_model, d_ff);

        // Tables first: the capacity comes from the RoPE rows.
        let exp2_v = t.get("lut.exp2", Dtype::U16, &[256])?;
        let mut exp2 = [0u16; 256];
        for (e, c) in exp2.iter_mut().zip(exp2_v.data().chunks_exact(2)) {
            *e = u16::from_le_bytes(le_array(c));
        }
        let cos_v = t.get_2d_any_rows("lut.rope_cos", Dtype::I16, 32)?;
        let rope_rows = cos_v.shape().first().copied().unwrap_or(0);
        let sin_v = t.get("lut.rope_sin", Dtype::I16, &[rope_rows, 32])?;
        if rope_rows < 64 {
            return Err(ModelError::WrongShape {
                tensor: "lut.rope_cos".into(),
                found: cos_v.shape().to_vec(),
                expected: "[L, 32] with L >= 64 (the smallest chunk length)".into(),
            });
        }
        let max_chunk_log2 = (rope_rows.ilog2() as u8).min(12);
        if let Some(cl) = md.opt_u64("context_length")? {
            if cl != rope_rows as u64 {
                return Err(md.bad("context_length", &format!("{rope_rows} (the RoPE table rows)")));
            }
        }
        if let Some(cl2) = md.opt_u64("context_length_log2")? {
            if cl2 != u64::from(rope_rows.ilog2()) || !rope_rows.is_power_of_two() {
                return Err(md.bad("context_length_log2", &format!("log2 of the RoPE table rows ({rope_rows})")));
            }
        }
        let rope_cos = le_i16s(cos_v.data());
        let rope_sin = le_i16s(sin_v.data());

        let embed = t.span("embed.weight", Dtype::I8, &[v, d])?;
        let norm = t.span("norm.weight", Dtype::I8, &[d])?;
        let head = t.span("head.weight", Dtype::I8, &[v, d])?;
        let mut layers = Vec::with_capacity(n_layers);
        for n in 0..n_layers {
            let p = |s: &str| format!("layers.{n}.{s}");
            let score_shift = t.scalar_i8(&p("attn.score_shift"))?;
            if score_shift != 15 {
                return Err(ModelError::BadValue {
                    tensor: p("attn.score_shift"),
                    found: score_shift.to_string(),
                    expected: "15".into(),
                });
            }
            let score_mult = t.get(&p("attn.score_mult"), Dtype::I32, &[n_heads])?;
            let sink_key = match t.st.tensor(&p("attn.sink_key")) {
                Err(_) => None,
                Ok(_) => {
                    let sk = t.get(&p("attn.sink_key"), Dtype::I8, &[HEAD_DIM])?;
                    let mut k = [0i8; HEAD_DIM];
                    for (o, &b) in k.iter_mut().zip(sk.data()) {
                        *o = b as i8;
                    }
                    Some(k)
                }
            };
            layers.push(LayerParams {
                attn_norm: t.span(&p("attn_norm.weight"), Dtype::I8, &[d])?,
                post_attn_norm: t.span(&p("post_attn_norm.weight"), Dtype::I8, &[d])?,
                ffn_norm: t.span(&p("ffn_norm.weight"), Dtype::I8, &[d])?,
                post_ffn_norm: t.span(&p("post_ffn_norm.weight"), Dtype::I8, &[d])?,
                qkv: t.span(&p("attn.qkv.weight"), Dtype::I8, &[d + 2 * HEAD_DIM, d])?,
                qkv_rq: t.requant(&p("attn.qkv"))?,
                out: t.span(&p("attn.out.weight"), Dtype::I8, &[d, d])?,
                out_rq: t.requant(&p("attn.out"))?,
                score_mult: le_i32s(score_mult.data()),
                sink_key,
                up: t.span(&p("ffn.up.weight"), Dtype::I8, &[2 * f, d])?,
                up_rq: t.requant(&p("ffn.up"))?,
                down: t.span(&p("ffn.down.weight"), Dtype::I8, &[d, f])?,
                down_rq: t.requant(&p("ffn.down"))?,
            });
        }
        for name in st.names() {
            if let Some(rest) = name.strip_prefix("layers.") {
                let idx = rest.split('.').next().and_then(|s| s.parse::<usize>().ok());
                if idx.is_none_or(|i| i >= n_layers) {
                    return Err(ModelError::Unsupported(format!(
                        "tensor {name} does not belong to any of the {n_layers} layers"
                    )));
                }
            }
        }

        let coef_q24 = t.opt_scalar_u32("softmax.coef_q24")?.unwrap_or(crate::freq_table::DEFAULT_COEF_Q24);
        let target_total = t.opt_scalar_u32("softmax.target_total")?.unwrap_or_else(|| crate::freq_table::default_target_total(v));
        if target_total as u64 <= v as u64 || target_total > 1 << 30 {
            return Err(ModelError::BadValue {
                tensor: "softmax.target_total".into(),
                found: target_total.to_string(),
                expected: format!("V < T <= 2^30 (V = {v}) so every symbol keeps a non-empty interval"),
            });
        }

        let tok_v = t.get_1d_any("tokenizer.data", Dtype::U8)?;
        let json = crate::container::decompress_capped(tokenizer_codec, tok_v.data(), MAX_TOKENIZER_JSON)
            .map_err(|e| ModelError::Tokenizer(format!("cannot decompress tokenizer.data: {e}")))?;
        let tokenizer = Tokenizer::from_json(&json).map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        if tokenizer.vocab_size() != v {
            return Err(ModelError::Tokenizer(format!(
                "tokenizer has {} ids, model vocab_size is {v}",
                tokenizer.vocab_size()
            )));
        }
        let bos = tokenizer
            .special_token("<|bos|>")
            .ok_or_else(|| ModelError::Tokenizer("no <|bos|> special token".into()))?;

        let config = Config {
            vocab_size: v,
            n_layers,
            n_heads,
            d_model: d,
            d_ff: f,
            rope_rows,
            max_chunk_log2,
            rope_theta_q16,
            bos,
            max_seq_len,
        };
        let content_hash = md5_prefix_u32(bytes);
        let file_len = bytes.len() as u64;
        drop(st);
        Ok(Model {
            storage,
            config,
            embed,
            layers,
            norm,
            head,
            exp2,
            rope_cos,
            rope_sin,
            coef_q24,
            target_total,
            tokenizer,
            content_hash,
            file_len,
            packed: Default::default(),
        })
    }
}

// ---------------------------------------------------------------------------
// Model identity: which published model a file's `model_id_hash` names.

/// A published model: its name, the content hash of its file, and the path
/// hash upstream wrote for it (`models/<name>` as typed).
struct KnownModel {
    name: &'static str,
    content_hash: u32,
    upstream_path_hash: u32,
}

/// MD5 prefixes of `../shared/models/*.czm` (content) and of the strings
/// `models/v001_eng.czm` / `models/v000_eng.czm` (upstream's path hash).
const KNOWN_MODELS: [KnownModel; 2] = [
    KnownModel { name: "v001_eng.czm", content_hash: 0x1040_81d3, upstream_path_hash: 0x271b_f17f },
    KnownModel { name: "v000_eng.czm", content_hash: 0x436c_6d6a, upstream_path_hash: 0x875b_46ff },
];

/// What a stored `model_id_hash` says about the model in hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelMatch {
    /// The hash is this model's content hash, or the upstream path hash of a
    /// published model whose content hash is this model's.
    Same,
    /// The hash names a published model other than this one.
    OtherKnown(&'static str),
    /// The hash is neither this model's nor a published model's.
    Unknown,
}

/// Classifies `stored` (a file's `model_id_hash`) against a model whose
/// content hash is `content_hash`.
pub fn classify(stored: u32, content_hash: u32) -> ModelMatch {
    if stored == content_hash {
        return ModelMatch::Same;
    }
    match KNOWN_MODELS.iter().find(|k| k.content_hash == stored || k.upstream_path_hash == stored) {
        Some(k) if k.content_hash == content_hash => ModelMatch::Same,
        Some(k) => ModelMatch::OtherKnown(k.name),
        None => ModelMatch::Unknown,
    }
}

/// The published model a stored `model_id_hash` names (its content hash or
/// upstream's path hash), by file name.
pub fn published_model_named_by(stored: u32) -> Option<&'static str> {
    KNOWN_MODELS.iter().find(|k| k.content_hash == stored || k.upstream_path_hash == stored).map(|k| k.name)
}

/// The `model_id_hash` upstream wrote for the published model file `name`
/// (`v001_eng.czm`, `v000_eng.czm`): its path hash.
pub fn upstream_model_id_hash(name: &str) -> Option<u32> {
    KNOWN_MODELS.iter().find(|k| k.name == name).map(|k| k.upstream_path_hash)
}

/// The name of a published model from its content hash, if it is one.
pub fn known_model_name(content_hash: u32) -> Option<&'static str> {
    KNOWN_MODELS.iter().find(|k| k.content_hash == content_hash).map(|k| k.name)
}

/// First 8 hex digits of an MD5, as a u32 (the `model_id_hash` construction).
pub fn md5_prefix_u32(data: &[u8]) -> u32 {
    use md5::{Digest, Md5};
    let d = Md5::digest(data);
    u32::from_be_bytes(le_array(&d))
}

/// The first `N` bytes of `b`, zero-filled if `b` is shorter. Every caller
/// passes a slice whose length safetensors has already checked against the
/// dtype and shape (a scalar's data, a `chunks_exact` piece), so the fill
/// never happens; it only keeps this path free of indexing.
fn le_array<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for (o, x) in out.iter_mut().zip(b) {
        *o = *x;
    }
    out
}

fn le_i16s(b: &[u8]) -> Vec<i16> {
    b.chunks_exact(2).map(|c| i16::from_le_bytes(le_array(c))).collect()
}

fn le_i32s(b: &[u8]) -> Vec<i32> {
    b.chunks_exact(4).map(|c| i32::from_le_bytes(le_array(c))).collect()
}

/// String metadata with typed accessors that name the key on error.
struct Meta<'a>(&'a HashMap<String, String>);

impl Meta<'_> {
    fn str(&self, key: &'static str) -> Result<&str, ModelError> {
        self.0.get(key).map(String::as_str).ok_or(ModelError::MissingMetadata(key))
    }
    fn bad(&self, key: &'static str, expected: &str) -> ModelError {
        ModelError::BadMetadata {
            key,
            value: self.0.get(key).cloned().unwrap_or_default(),
            expected: expected.to_string(),
        }
    }
    fn opt_u64(&self, key: &'static str) -> Result<Option<u64>, ModelError> {
        match self.0.get(key) {
            None => Ok(None),
            Some(s) => s.trim().parse().map(Some).map_err(|_| self.bad(key, "an unsigned integer")),
        }
    }
    fn usize(&self, key: &'static str) -> Result<usize, ModelError> {
        let v = self.str(key)?;
        v.trim().parse().map_err(|_| self.bad(key, "an unsigned integer"))
    }
    fn u32(&self, key: &'static str) -> Result<u32, ModelError> {
        let v = self.str(key)?;
        v.trim().parse().map_err(|_| self.bad(key, "an unsigned 32-bit integer"))
    }
}

/// Tensor lookup with dtype/shape checks.
struct Tensors<'a, 'd> {
    st: &'a SafeTensors<'d>,
    base: usize,
}

fn dtype_name(d: Dtype) -> &'static str {
    match d {
        Dtype::I8 => "I8",
        Dtype::U8 => "U8",
        Dtype::I16 => "I16",
        Dtype::U16 => "U16",
        Dtype::I32 => "I32",
        Dtype::U32 => "U32",
        _ => "other",
    }
}

impl<'d> Tensors<'_, 'd> {
    fn view(&self, name: &str, dtype: Dtype) -> Result<TensorView<'d>, ModelError> {
        let v = self.st.tensor(name).map_err(|_| ModelError::MissingTensor(name.to_string()))?;
        if v.dtype() != dtype {
            return Err(ModelError::WrongDtype {
                tensor: name.to_string(),
                found: v.dtype().to_string(),
                expected: dtype_name(dtype),
            });
        }
        Ok(v)
    }
    fn get(&self, name: &str, dtype: Dtype, shape: &[usize]) -> Result<TensorView<'d>, ModelError> {
        let v = self.view(name, dtype)?;
        if v.shape() != shape {
            return Err(ModelError::WrongShape {
                tensor: name.to_string(),
                found: v.shape().to_vec(),
                expected: format!("{shape:?}"),
            });
        }
        Ok(v)
    }
    fn get_2d_any_rows(&self, name: &str, dtype: Dtype, cols: usize) -> Result<TensorView<'d>, ModelError> {
        let v = self.view(name, dtype)?;
        if v.shape().len() != 2 || v.shape().get(1) != Some(&cols) {
            return Err(ModelError::WrongShape {
                tensor: name.to_string(),
                found: v.shape().to_vec(),
                expected: format!("[L, {cols}]"),
            });
        }
        Ok(v)
    }
    fn get_1d_any(&self, name: &str, dtype: Dtype) -> Result<TensorView<'d>, ModelError> {
        let v = self.view(name, dtype)?;
        if v.shape().len() != 1 {
            return Err(ModelError::WrongShape {
                tensor: name.to_string(),
                found: v.shape().to_vec(),
                expected: "[n]".into(),
            });
        }
        Ok(v)
    }
    fn span(&self, name: &str, dtype: Dtype, shape: &[usize]) -> Result<Span, ModelError> {
        let v = self.get(name, dtype, shape)?;
        let data = v.data();
        Ok(Span { start: data.as_ptr() as usize - self.base, len: data.len() })
    }
    /// A scalar: shape `[]` (also accepted: `[1]`).
    fn scalar(&self, name: &str, dtype: Dtype) -> Result<TensorView<'d>, ModelError> {
        let v = self.view(name, dtype)?;
        if !(v.shape().is_empty() || v.shape() == [1]) {
            return Err(ModelError::WrongShape {
                tensor: name.to_string(),
                found: v.shape().to_vec(),
                expected: "[] (a scalar)".into(),
            });
        }
        Ok(v)
    }
    fn scalar_i8(&self, name: &str) -> Result<i8, ModelError> {
        Ok(i8::from_le_bytes(le_array(self.scalar(name, Dtype::I8)?.data())))
    }
    fn scalar_i32(&self, name: &str) -> Result<i32, ModelError> {
        let d = self.scalar(name, Dtype::I32)?.data();
        Ok(i32::from_le_bytes(le_array(d)))
    }
    fn opt_scalar_u32(&self, name: &str) -> Result<Option<u32>, ModelError> {
        if self.st.tensor(name).is_err() {
            return Ok(None);
        }
        let d = self.scalar(name, Dtype::U32)?.data();
        Ok(Some(u32::from_le_bytes(le_array(d))))
    }
    fn requant(&self, prefix: &str) -> Result<Requant, ModelError> {
        let mult = self.scalar_i32(&format!("{prefix}.mult"))?;
        let shift = i32::from(self.scalar_i8(&format!("{prefix}.shift"))?);
        Ok(Requant { mult, shift })
    }
}

/// Rejects duplicate tensor names and duplicate `__metadata__` keys: the JSON
/// parser inside `safetensors` silently keeps the last one.
fn check_header_keys_unique(bytes: &[u8]) -> Result<(), ModelError> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    use std::collections::HashSet;

    let Some(len8) = bytes.get(..8) else {
        return Err(ModelError::Container("file shorter than the 8-byte header length".into()));
    };
    let n = u64::from_le_bytes(len8.try_into().unwrap_or([0; 8]));
    let end = usize::try_from(n).ok().and_then(|n| n.checked_add(8));
    let Some(header) = end.and_then(|e| bytes.get(8..e)) else {
        return Err(ModelError::Container(format!(
            "header length {n} exceeds the file ({} bytes)",
            bytes.len()
        )));
    };

    struct UniqueMap {
        scope: &'static str,
        /// Recurse into `__metadata__` (top level only).
        nested: bool,
    }
    struct Dup(ModelError);
    impl<'de> Visitor<'de> for UniqueMap {
        type Value = Result<(), Dup>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut seen = HashSet::new();
            // The first duplicate found; the map is still read to its end, so
            // that the JSON parser sees a complete object (returning early
            // would surface as a misleading syntax error instead).
            let mut first: Option<Dup> = None;
            while let Some(key) = map.next_key::<String>()? {
                if self.nested && key == "__metadata__" {
                    let inner = map.next_value_seed(UniqueSeed)?;
                    if let (Err(d), None) = (inner, &first) {
                        first = Some(d);
                    }
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
                if !seen.insert(key.clone()) && first.is_none() {
                    first = Some(Dup(ModelError::DuplicateKey { key, scope: self.scope }));
                }
            }
            Ok(first.map_or(Ok(()), Err))
        }
    }
    struct UniqueSeed;
    impl<'de> serde::de::DeserializeSeed<'de> for UniqueSeed {
        type Value = Result<(), Dup>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(UniqueMap { scope: "__metadata__", nested: false })
        }
    }
    let mut de = serde_json::Deserializer::from_slice(header);
    match de.deserialize_map(UniqueMap { scope: "tensor", nested: true }) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(Dup(e))) => Err(e),
        Err(e) => Err(ModelError::Container(format!("header JSON: {e}"))),
    }
}
