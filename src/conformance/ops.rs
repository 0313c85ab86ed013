//! The operation catalogue, answered by the built-in engine. This is what
//! `czip-conformance run --impl rust` calls in process and what
//! `czip-conformance serve` answers over the adapter protocol; every op and
//! its arguments are in the [op table](super::op_table) (and, generated from
//! it, in `vectors/README.md`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::case::{array, as_array, as_int, hex, int, unhex, Dtype};
use super::op_table::{check_args, Op};
use super::shared_coding::SharedCoding;
use crate::coder::{Decoder, Encoder};
use crate::container::{OuterCodec, ReadLimits};
use crate::freq_table::build_cumfreqs_with;
use crate::model::attention::{attend_head, attend_head_variant, AttentionVariant, KvCache};
use crate::model::kernels::exps::Exp2Lut;
use crate::model::layers::{linear_with, reglu_with, requantize_with, rmsnorm_with, rope_with};
use crate::model::forward::walk_chunk;
use crate::model::{Kernel, Requant, StageValues, Variant};
use crate::numerics as n;
use crate::pipeline::{
    compress_staged, decompress_staged, level_to_chunk_log2, ChunkCoder, CompressOptions, DecompressOptions, Engine,
};
use crate::tables::{check_tables, exp2_table, rope_tables};
use crate::Model;

/// How an implementation answered one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Result(Value),
    Error(String),
    Unsupported(String),
    /// The implementation itself failed (crashed, hung, spoke garbage): a
    /// failure whatever the case expects, even a case that must be refused.
    Broken(String),
}

impl Outcome {
    /// A failure of the run itself (the command was not found, crashed, was
    /// killed, or the runner could not prepare its input), worded as such.
    pub fn run_error(why: impl std::fmt::Display) -> Outcome {
        Outcome::Broken(format!("run error: {why}"))
    }
}

/// Where models and texts named by cases are found (loaded models are
/// cached), and the matrix kernel the engine answers with.
pub struct Context {
    pub models_dir: PathBuf,
    pub vectors_dir: PathBuf,
    pub corpus_dir: PathBuf,
    kernel: Kernel,
    models: Mutex<HashMap<String, Arc<Model>>>,
    /// The engine's work shared by file cases: coded chunks by (model, text
    /// SHA-256, k), with the model steps of equal chunk prefixes computed
    /// once ([`SharedCoding`]), and decoded tokens by (model, inner payload
    /// SHA-256). All are pure functions of their keys; every case still
    /// runs its own container writing or reading, outer codec and checks.
    shared: SharedCoding,
    decoded: Memo<(String, String), Vec<Vec<u32>>>,
}

/// A thread-safe map from a key to a shared, computed-once value.
type Memo<K, V> = Mutex<HashMap<K, Arc<V>>>;

/// Every feature the built-in engine supports: the op table's, the context
/// features and the declared-only ones (a test checks it against the table).
pub const ALL_FEATURES: &[&str] =
    &["core", "layers", "model_ops", "trace", "coder_ops", "chunk_ops", "file_ops", "levels", "sink_key", "multi_layer", "synthetic"];

impl Context {
    /// A context answering with the fastest kernel ([`Kernel::best`]).
    pub fn new(models_dir: PathBuf, vectors_dir: PathBuf, corpus_dir: PathBuf) -> Self {
        Context {
            models_dir,
            vectors_dir,
            corpus_dir,
            kernel: Kernel::best(),
            models: Mutex::new(HashMap::new()),
            shared: SharedCoding::default(),
            decoded: Mutex::new(HashMap::new()),
        }
    }

    /// This context answering with `kernel` (answers are identical for every
    /// kernel). Panics if this CPU cannot run it ([`Kernel::available`]).
    pub fn with_kernel(self, kernel: Kernel) -> Self {
        assert!(kernel.is_available(), "kernel {} is not supported by this CPU", kernel.name());
        Context { kernel, ..self }
    }

    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// The pipeline with this context's kernel, on the caller's pool.
    fn engine(&self) -> Engine {
        Engine::default().with_kernel(self.kernel)
    }

    /// Tells the context that a `compress` request with `args` will come
    /// (the runner calls it for every compress case before a run): the
    /// first compression of a text then codes every length planned for it,
    /// shorter chunks from longer ones ([`SharedCoding::plan`]). Arguments
    /// that would be refused plan nothing.
    pub fn plan_compress(&self, args: &Value) {
        if let Ok(CompressRequest { model, m, text, opts }) = compress_args(self, args) {
            let k = opts.chunk_log2.unwrap_or(m.config().max_chunk_log2);
            self.shared.plan(model, &super::case::sha256_hex(&text), k);
        }
    }

    /// Records a `chunk_encode` request of the run, so that a chunk decode
    /// of its bytes is served by the shared coding (see
    /// [`SharedCoding::plan_chunk`]). Arguments it cannot read are ignored
    /// (the case itself reports them).
    pub fn plan_chunk(&self, args: &Value) {
        if let (Ok(model), Ok(tokens)) = (str_arg(args, "model"), vec_arg::<u32>(args, "tokens")) {
            self.shared.plan_chunk(model, tokens);
        }
    }

    /// `v000` / `v001` (published, from the models dir) or
    /// `synthetic/NAME` (from `vectors/models/NAME.czm`).
    pub fn model_path(&self, name: &str) -> Result<PathBuf, String> {
        match name {
            "v000" | "v001" => Ok(self.models_dir.join(format!("{name}_eng.czm"))),
            s => match s.strip_prefix("synthetic/") {
                Some(n) if !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    Ok(self.vectors_dir.join("models").join(format!("{n}.czm")))
                }
                _ => Err(format!("unknown model {name:?} (expected v000, v001 or synthetic/NAME)")),
            },
        }
    }

    /// Loads (once) and returns a model; safe to call from many threads.
    pub fn model(&self, name: &str) -> Result<Arc<Model>, String> {
        let mut cache = self.models.lock().map_err(|_| "model cache poisoned")?;
        if let Some(m) = cache.get(name) {
            return Ok(m.clone());
        }
        let path = self.model_path(name)?;
        if !path.exists() {
            let hint = if name.starts_with("synthetic/") {
                "the synthetic models are in the golden corpus: pass --vectors DIR"
            } else {
                "pass --models-dir DIR or set CZIP_MODELS_DIR to the directory of the published models"
            };
            return Err(format!("model {name} not found at {} ({hint})", path.display()));
        }
        let m = Arc::new(Model::open(&path).map_err(|e| e.to_string())?);
        cache.insert(name.to_string(), m.clone());
        Ok(m)
    }

    /// `make()` once per key (concurrent misses may both compute; the
    /// results are equal). Errors are not kept. A poisoned map is still
    /// sound (values are inserted whole), so it is used as is.
    fn memo<K: std::hash::Hash + Eq + Clone, V, E>(
        map: &Memo<K, V>,
        key: K,
        make: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        let lock = || map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(v) = lock().get(&key) {
            return Ok(v.clone());
        }
        let v = Arc::new(make()?);
        lock().insert(key, v.clone());
        Ok(v)
    }

    /// Bytes of a text argument: `{"hex": …}` or `{"corpus": NAME, "sha256": …}`.
    pub fn text(&self, v: &Value) -> Result<Vec<u8>, String> {
        if let Some(h) = v.get("hex").and_then(Value::as_str) {
            return unhex(h).ok_or_else(|| "text.hex: not hex".to_string());
        }
        let name = v.get("corpus").and_then(Value::as_str).ok_or("text: expected {hex} or {corpus}")?;
        if name.contains('/') || name.contains("..") {
            return Err(format!("text.corpus: {name:?} must be a bare file name"));
        }
        let path = self.corpus_dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| format!("cannot read corpus text {}: {e}", path.display()))?;
        if let Some(want) = v.get("sha256").and_then(Value::as_str) {
            let got = super::case::sha256_hex(&bytes);
            if got != want {
                return Err(format!("corpus text {name} has SHA-256 {got}, the case expects {want}: not the same corpus"));
            }
        }
        Ok(bytes)
    }
}

type OpResult = Result<Value, String>;

fn arg<'a>(args: &'a Value, key: &str) -> Result<&'a Value, String> {
    args.get(key).ok_or_else(|| format!("missing argument {key:?}"))
}

/// A string argument (the table has checked kinds; this names the argument anyway).
fn str_arg<'a>(args: &'a Value, key: &str) -> Result<&'a str, String> {
    arg(args, key)?.as_str().ok_or_else(|| format!("argument {key:?}: expected a string"))
}

/// A hex argument's bytes.
fn hex_arg(args: &Value, key: &str) -> Result<Vec<u8>, String> {
    unhex(str_arg(args, key)?).ok_or_else(|| format!("argument {key:?}: not hex"))
}

fn int_arg<T: TryFrom<i128>>(args: &Value, key: &str) -> Result<T, String> {
    let v = as_int(arg(args, key)?).ok_or_else(|| format!("argument {key:?}: expected an integer"))?;
    T::try_from(v).map_err(|_| format!("argument {key:?}: {v} out of range"))
}

fn vec_arg<T: TryFrom<i64>>(args: &Value, key: &str) -> Result<Vec<T>, String> {
    let xs = as_array(arg(args, key)?).ok_or_else(|| format!("argument {key:?}: expected an integer array"))?;
    xs.into_iter().map(|x| T::try_from(x).map_err(|_| format!("argument {key:?}: element {x} out of range"))).collect()
}

fn vals<T: Copy + Into<i64>>(xs: &[T]) -> Vec<i64> {
    xs.iter().map(|&x| x.into()).collect()
}

fn result(v: impl Into<i128>) -> OpResult {
    Ok(json!({ "result": int(v) }))
}

/// Answers one request with the built-in engine.
pub fn reference(ctx: &Context, op: &str, args: &Value) -> Outcome {
    match Op::from_name(op) {
        Some(op) => reference_op(ctx, op, args),
        None => Outcome::Unsupported(format!("unknown op {op:?}")),
    }
}

/// Answers one request for a known op, its arguments checked against the table first.
pub fn reference_op(ctx: &Context, op: Op, args: &Value) -> Outcome {
    reference_op_with(ctx, op, args, Variant::NORMATIVE)
}

/// [`reference_op`] with the forward pass's arithmetic `variant` (a fault's,
/// `conformance::faults`): it reaches the layer ops it parametrises
/// (requantize, linear, rmsnorm, reglu, rope, attention) and the model ops; every other op
/// answers normatively.
pub fn reference_op_with(ctx: &Context, op: Op, args: &Value, variant: Variant) -> Outcome {
    match check_args(op, args).and_then(|()| dispatch(ctx, op, args, variant)) {
        Ok(v) => Outcome::Result(v),
        Err(e) => Outcome::Error(e),
    }
}

fn dispatch(ctx: &Context, op: Op, a: &Value, variant: Variant) -> OpResult {
    match op {
        // §1 primitives
        Op::SraRneTteS32 => result(n::sra_rne_tte_s32(int_arg(a, "v")?, shift(a, 31)?)),
        Op::SraRneTteS64ToS32 => result(n::sra_rne_tte_s64_to_s32(int_arg(a, "v")?, shift(a, 63)?)),
        Op::UdivRneTteU32 => result(n::udiv_rne_tte_u32(int_arg(a, "n")?, int_arg(a, "d")?)),
        Op::DivRneTteS32 => {
            let (num, d): (i32, i32) = (int_arg(a, "n")?, int_arg(a, "d")?);
            if num == i32::MIN && d == -1 {
                return Err("div_rne_tte_s32(i32::MIN, -1) is outside the spec's domain".into());
            }
            result(n::div_rne_tte_s32(num, d))
        }
        Op::DivRneTteS64ToS32 => result(n::div_rne_tte_s64_to_s32(int_arg(a, "n")?, int_arg(a, "d")?)),
        Op::Isqrt32 => result(n::isqrt32_restoring(int_arg(a, "x")?)),
        Op::ClampI8 => result(n::clamp_i8(int_arg(a, "x")?)),
        Op::Argmax => {
            let xs: Vec<i32> = vec_arg(a, "xs")?;
            result(n::argmax(&xs).ok_or("argmax of an empty array")? as i64)
        }
        // §2 tables
        Op::Exp2Table => Ok(json!({ "table": array(&vals(&exp2_table()), Dtype::I32) })),
        Op::RopeTable => {
            let rows: usize = int_arg(a, "rows")?;
            if rows > 1 << 16 {
                return Err("rope_table: at most 65536 rows".into());
            }
            let (c, s) = rope_tables(rows, int_arg(a, "theta_q16")?);
            Ok(json!({ "cos": array(&vals(&c), Dtype::I16), "sin": array(&vals(&s), Dtype::I16) }))
        }
        Op::ModelTables => {
            let m = ctx.model(str_arg(a, "model")?)?;
            let bad = check_tables(m.exp2(), m.rope_cos(), m.rope_sin(), m.config().rope_theta_q16);
            Ok(json!({
                "exp2": array(&vals(m.exp2()), Dtype::I32),
                "rope_rows": m.config().rope_rows,
                "rope_cos": super::case::array_digest(&vals(m.rope_cos()), Dtype::I32),
                "rope_sin": super::case::array_digest(&vals(m.rope_sin()), Dtype::I32),
                "formula_mismatches": bad.len(),
            }))
        }
        // §6 exp
        Op::ExpQ16 => result(n::exp_q16(int_arg(a, "d")?, int_arg(a, "coef_q24")?, &exp2_table())),
        // §5 layers
        Op::Requantize => {
            let x: Vec<i32> = vec_arg(a, "x")?;
            let mut y = vec![0i8; x.len()];
            requantize_with(variant, &x, Requant { mult: int_arg(a, "mult")?, shift: int_arg(a, "shift")? }, &mut y);
            Ok(json!({ "y": array(&vals(&y), Dtype::I8) }))
        }
        Op::Linear => {
            let (x, w): (Vec<i8>, Vec<i8>) = (vec_arg(a, "x")?, vec_arg(a, "w")?);
            let n_out: usize = int_arg(a, "n_out")?;
            if x.is_empty() || w.len() != x.len() * n_out || x.len() > 131_071 {
                return Err(format!("linear: w has {} elements, expected n_out·len(x) = {}", w.len(), x.len() * n_out));
            }
            let mut y = vec![0i32; n_out];
            linear_with(variant, &x, &w, &mut y);
            Ok(json!({ "y": array(&vals(&y), Dtype::I32) }))
        }
        Op::Rmsnorm => {
            let (x, w): (Vec<i8>, Vec<i8>) = (vec_arg(a, "x")?, vec_arg(a, "w")?);
            if x.len() != w.len() || x.is_empty() || x.len() > 131_071 {
                return Err("rmsnorm: x and w must have the same non-zero length".into());
            }
            let mut y = vec![0i8; x.len()];
            rmsnorm_with(variant, &x, &w, &mut y);
            Ok(json!({ "y": array(&vals(&y), Dtype::I8) }))
        }
        Op::Reglu => {
            let (g, u): (Vec<i8>, Vec<i8>) = (vec_arg(a, "gate")?, vec_arg(a, "up")?);
            if g.len() != u.len() {
                return Err("reglu: gate and up must have the same length".into());
            }
            let mut y = vec![0i8; g.len()];
            reglu_with(variant.clamp, &g, &u, &mut y);
            Ok(json!({ "y": array(&vals(&y), Dtype::I8) }))
        }
        Op::Rope => {
            let x: Vec<i8> = vec_arg(a, "x")?;
            let (c, s): (Vec<i16>, Vec<i16>) = (vec_arg(a, "cos")?, vec_arg(a, "sin")?);
            if x.len() != 64 || c.len() != 32 || s.len() != 32 {
                return Err("rope: x has 64 elements, cos and sin 32".into());
            }
            let mut y = [0i8; 64];
            rope_with(variant.clamp, &x, &c, &s, arg(a, "query")?.as_bool().ok_or("argument \"query\": expected a boolean")?, &mut y);
            Ok(json!({ "y": array(&vals(&y), Dtype::I8) }))
        }
        Op::Attention => attention(a, variant.attention),
        // §6 frequency table
        Op::FreqTable => {
            let logits: Vec<i32> = vec_arg(a, "logits")?;
            let mut cum = vec![0u32; logits.len()];
            build_cumfreqs_with(ctx.kernel, &logits, int_arg(a, "coef_q24")?, int_arg(a, "total")?, &Exp2Lut::new(&exp2_table()), &mut cum)
                .map_err(|e| e.to_string())?;
            Ok(json!({ "cum": array(&vals(&cum), Dtype::U32) }))
        }
        // model steps
        Op::ModelLogits => model_logits(ctx, a, variant),
        Op::ModelTrace => model_trace(ctx, a, variant),
        Op::Tokenize => {
            let m = ctx.model(str_arg(a, "model")?)?;
            let text = ctx.text(arg(a, "text")?)?;
            let s = std::str::from_utf8(&text).map_err(|_| "text is not UTF-8")?;
            let toks = m.tokenizer().encode(s).map_err(|e| e.to_string())?;
            Ok(json!({ "tokens": array(&vals(&toks), Dtype::U32) }))
        }
        // §7 coder
        Op::CoderEncode => coder_encode(a),
        Op::CoderDecode => coder_decode(a),
        Op::ChunkEncode => {
            let model = str_arg(a, "model")?;
            let m = ctx.model(model)?;
            let toks: Vec<u32> = vec_arg(a, "tokens")?;
            check_chunk_len(&m, toks.len())?;
            // = ChunkCoder::encode, its model work shared (SharedCoding)
            let bytes = ctx.shared.encode_chunk(ctx.kernel, (model, &m), &toks, || {
                ChunkCoder::with_kernel(&m, toks.len().max(1), ctx.kernel).encode(&toks).map_err(|(p, e)| format!("token position {p}: {e}"))
            })?;
            Ok(json!({ "bytes_hex": hex(&bytes) }))
        }
        Op::ChunkDecode => {
            let model = str_arg(a, "model")?;
            let m = ctx.model(model)?;
            let bytes = hex_arg(a, "bytes_hex")?;
            let count: usize = int_arg(a, "n")?;
            check_chunk_len(&m, count)?;
            // = ChunkCoder::decode, its model work shared (SharedCoding)
            let toks = ctx.shared.decode_chunk(ctx.kernel, (model, &m), &bytes, count, || {
                let mut toks = Vec::with_capacity(count);
                // Position `count` is the re-encoding check of the whole chunk, not a token.
                ChunkCoder::with_kernel(&m, count.max(1), ctx.kernel).decode(&bytes, count, &mut toks).map_err(|(p, e)| {
                    if p < count {
                        format!("token position {p}: {e}")
                    } else {
                        format!("the chunk as a whole: {e}")
                    }
                })?;
                Ok(toks)
            })?;
            Ok(json!({ "tokens": array(&vals(&toks), Dtype::U32) }))
        }
        // §8–§9 files
        Op::Compress => {
            let CompressRequest { model, m, text, opts } = compress_args(ctx, a)?;
            // = pipeline::compress, its coding stage shared (SharedCoding)
            let text_sha = super::case::sha256_hex(&text);
            let file = compress_staged(&m, &opts, |k| {
                ctx.shared.encode(ctx.kernel, (model, &m), (&text, &text_sha), k, || ctx.engine().encode_chunks(&m, &text, Some(k), None))
            })
            .map_err(|e| e.to_string())?;
            Ok(json!({ "file_hex": hex(&file) }))
        }
        Op::Decompress => {
            let model = str_arg(a, "model")?;
            let m = ctx.model(model)?;
            let file = hex_arg(a, "file_hex")?;
            // Spec §9 literally: the vectors' expectations are the spec's, and
            // the spec says a reader must not reject on model_id_hash (the
            // engine's default refusal of another published model's hash is
            // a policy on top of it; see src/pipeline/model_check.rs).
            // = pipeline::decompress_with, its decoding stage shared by equal
            // payloads and with the compressions (SharedCoding)
            let text = decompress_staged(&m, &file, &DecompressOptions::SPEC_LITERAL, |f| {
                Context::memo(&ctx.decoded, (model.to_string(), super::case::sha256_hex(&f.payload)), || {
                    ctx.shared.decode(model, &m, f, || ctx.engine().decode_file(&m, f, None))
                })
            })
            .map_err(|e| e.to_string())?;
            Ok(json!({ "text_hex": hex(&text) }))
        }
    }
}

/// A `compress` request's arguments, read.
struct CompressRequest<'a> {
    model: &'a str,
    m: Arc<Model>,
    text: Vec<u8>,
    opts: CompressOptions,
}

/// Reads a `compress` request's arguments.
fn compress_args<'a>(ctx: &Context, a: &'a Value) -> Result<CompressRequest<'a>, String> {
    let model = str_arg(a, "model")?;
    let m = ctx.model(model)?;
    let text = ctx.text(arg(a, "text")?)?;
    let level = match arg(a, "level")? {
        Value::Null => None,
        l => Some(as_int(l).and_then(|l| u8::try_from(l).ok()).and_then(level_to_chunk_log2).ok_or("argument \"level\": expected 1..5 or null")?),
    };
    let codec: OuterCodec = str_arg(a, "codec")?.parse().map_err(|e| format!("argument \"codec\": {e}"))?;
    let model_id_hash = match a.get("model_id_hash") {
        None | Some(Value::Null) => None,
        Some(h) => Some(h.as_str().and_then(|h| u32::from_str_radix(h, 16).ok()).ok_or("argument \"model_id_hash\": expected 8 hex digits")?),
    };
    Ok(CompressRequest { model, m, text, opts: CompressOptions { chunk_log2: level, codec, model_id_hash } })
}

fn shift(a: &Value, max: u32) -> Result<u32, String> {
    let sh: u32 = int_arg(a, "sh")?;
    if sh > max {
        return Err(format!("sh = {sh} is outside the spec's domain 0..={max}"));
    }
    Ok(sh)
}

fn check_chunk_len(m: &Model, len: usize) -> Result<(), String> {
    if len > m.config().rope_rows {
        return Err(format!("{len} tokens exceed the model's chunk capacity {}", m.config().rope_rows));
    }
    Ok(())
}

/// Per-step cumulative tables: `tables` (one per step) or `cum` (the same for every step).
fn tables_arg(a: &Value, steps: usize) -> Result<Vec<Vec<u32>>, String> {
    if let Some(t) = a.get("tables").and_then(Value::as_array) {
        let t: Vec<Vec<u32>> = t
            .iter()
            .map(|x| as_array(x).ok_or("tables: expected arrays")?.into_iter().map(|v| u32::try_from(v).map_err(|_| "tables: u32 values")).collect())
            .collect::<Result<_, &str>>()?;
        if t.len() != steps {
            return Err(format!("tables: {} tables for {steps} steps", t.len()));
        }
        return Ok(t);
    }
    let cum: Vec<u32> = vec_arg(a, "cum")?;
    Ok(vec![cum])
}

fn coder_encode(a: &Value) -> OpResult {
    let symbols: Vec<usize> = vec_arg(a, "symbols")?;
    let tables = tables_arg(a, symbols.len())?;
    let mut enc = Encoder::new();
    for (i, &s) in symbols.iter().enumerate() {
        let t = if tables.len() == 1 { &tables[0] } else { &tables[i] };
        enc.encode(t, s).map_err(|e| format!("symbol {i}: {e}"))?;
    }
    let pending = enc.pending();
    let max_pending = enc.max_pending();
    Ok(json!({ "bytes_hex": hex(&enc.finish()), "pending_at_finish": pending, "max_pending": max_pending }))
}

fn coder_decode(a: &Value) -> OpResult {
    let count: usize = int_arg(a, "n")?;
    let bytes = hex_arg(a, "bytes_hex")?;
    let tables = tables_arg(a, count)?;
    let mut dec = Decoder::new(&bytes);
    let mut out = Vec::with_capacity(count.min(1 << 20));
    for i in 0..count {
        let t = if tables.len() == 1 { &tables[0] } else { &tables[i] };
        out.push(dec.decode(t).map_err(|e| format!("symbol {i}: {e}"))? as i64);
    }
    Ok(json!({ "symbols": array(&out, Dtype::U32) }))
}

/// One attention run (spec §5): a KV cache kept across `steps`, each step a
/// full QKV vector (n_heads·64 + 128); `repeat` appends `count` copies of one
/// more step. RoPE rows come from the formula with `rope_theta_q16` (equal to
/// both published models' stored tables). `output`: "all" steps or "last".
/// Each head is [`attend_head`], or [`attend_head_variant`] with `variant`
/// (a fault's) when it is not the normative one.
pub fn attention(a: &Value, variant: AttentionVariant) -> OpResult {
    let n_heads: usize = int_arg(a, "n_heads")?;
    if n_heads == 0 || n_heads > 64 {
        return Err("n_heads: 1..=64".into());
    }
    let mult: Vec<i32> = vec_arg(a, "score_mult")?;
    if mult.len() != n_heads {
        return Err("score_mult: one per head".into());
    }
    let sink: Option<[i8; 64]> = match a.get("sink_key") {
        None | Some(Value::Null) => None,
        Some(_) => Some(vec_arg::<i8>(a, "sink_key")?.try_into().map_err(|_| "sink_key: 64 elements")?),
    };
    let d = 64 * n_heads;
    let mut steps: Vec<Vec<i8>> = Vec::new();
    for s in arg(a, "steps")?.as_array().ok_or("steps: expected an array")? {
        let row = as_array(s).ok_or("steps: integer arrays")?;
        steps.push(row.into_iter().map(|x| i8::try_from(x).map_err(|_| "steps: i8 values")).collect::<Result<_, _>>()?);
    }
    let repeat = match a.get("repeat") {
        Some(r) => Some((vec_arg::<i8>(r, "qkv")?, int_arg::<usize>(r, "count")?)),
        None => None,
    };
    let total = steps.len() + repeat.as_ref().map_or(0, |r| r.1);
    if total == 0 || total > 4096 || steps.iter().chain(repeat.iter().map(|r| &r.0)).any(|s| s.len() != d + 128) {
        return Err(format!("steps: 1..=4096 QKV vectors of {} elements", d + 128));
    }
    let (cos, sin) = rope_tables(total, int_arg(a, "rope_theta_q16")?);
    let e = exp2_table();
    let last_only = match str_arg(a, "output")? {
        "all" => false,
        "last" => true,
        o => return Err(format!("argument \"output\": {o:?} (expected \"all\" or \"last\")")),
    };
    let mut cache = KvCache::new(total);
    let mut outs = Vec::new();
    let mut y = vec![0i8; d];
    for (p, qkv) in steps.iter().chain(std::iter::repeat_n(repeat.as_ref().map(|r| &r.0), repeat.as_ref().map_or(0, |r| r.1)).flatten()).enumerate() {
        let mut k_rot = [0i8; 64];
        rope_with(variant.clamp, &qkv[d..d + 64], &cos[p * 32..p * 32 + 32], &sin[p * 32..p * 32 + 32], false, &mut k_rot);
        cache.push(&k_rot, &qkv[d + 64..]);
        for h in 0..n_heads {
            let (q, out) = (&qkv[h * 64..h * 64 + 64], &mut y[h * 64..h * 64 + 64]);
            if variant == AttentionVariant::NORMATIVE {
                attend_head(q, p, &cache, &cos, &sin, mult[h], sink.as_ref(), &e, out);
            } else {
                attend_head_variant(variant, q, p, &cache, &cos, &sin, mult[h], sink.as_ref(), &e, out);
            }
        }
        if !last_only || p + 1 == total {
            outs.push(array(&vals(&y), Dtype::I8));
        }
    }
    Ok(json!({ "out": outs }))
}

fn model_and_tokens(ctx: &Context, a: &Value) -> Result<(Arc<Model>, Vec<u32>), String> {
    let m = ctx.model(str_arg(a, "model")?)?;
    let toks: Vec<u32> = vec_arg(a, "tokens")?;
    check_chunk_len(&m, toks.len())?;
    Ok((m, toks))
}

/// Logits and cumulative tables at the listed positions of one chunk:
/// position i is fed `i == 0 ? BOS : tokens[i−1]`.
fn model_logits(ctx: &Context, a: &Value, variant: Variant) -> OpResult {
    let (m, toks) = model_and_tokens(ctx, a)?;
    let positions: Vec<usize> = vec_arg(a, "positions")?;
    let last = positions.iter().copied().max().ok_or("positions: at least one")?;
    if last > toks.len() {
        return Err("positions: beyond the tokens".into());
    }
    // The normative logits by the engine's prefill (the same logits as the
    // step walk, many positions per pass); anything it does not answer —
    // a variant, any failure — by the step walk, which gives the
    // reference's errors.
    if variant == Variant::NORMATIVE {
        let mut coder = ChunkCoder::with_kernel(&m, last + 1, ctx.kernel);
        if let Ok(answer) = logits_answer(ctx, &m, &positions, |at| coder.each_logits(&toks, last, at)) {
            return Ok(answer);
        }
    }
    logits_answer(ctx, &m, &positions, |at| walk_chunk(variant, &m, &toks, last, false, |p, logits, _| at(p, logits)))
}

/// The answer of `model_logits`: the logits and cumulative table at each
/// listed position, from `walk`, which calls its argument with the logits
/// of every position in order.
fn logits_answer(
    ctx: &Context,
    m: &Model,
    positions: &[usize],
    walk: impl FnOnce(&mut dyn FnMut(usize, &[i32]) -> Result<(), String>) -> Result<(), String>,
) -> OpResult {
    let mut cum = vec![0u32; m.config().vocab_size];
    let (mut out_l, mut out_c) = (Vec::new(), Vec::new());
    walk(&mut |p, logits| {
        if positions.contains(&p) {
            build_cumfreqs_with(ctx.kernel, logits, m.coef_q24(), m.target_total(), &m.packed().exp2, &mut cum).map_err(|e| e.to_string())?;
            out_l.push(array(&vals(logits), Dtype::I32));
            out_c.push(array(&vals(&cum), Dtype::U32));
        }
        Ok(())
    })?;
    Ok(json!({ "logits": out_l, "cum": out_c }))
}

/// Every layer's intermediates at one position (for localising a divergence).
fn model_trace(ctx: &Context, a: &Value, variant: Variant) -> OpResult {
    let (m, toks) = model_and_tokens(ctx, a)?;
    let pos: usize = int_arg(a, "position")?;
    if pos > toks.len() {
        return Err("position: beyond the tokens".into());
    }
    let (mut trace, mut logits) = (Vec::new(), Vec::new());
    walk_chunk(variant, &m, &toks, pos, true, |p, l, t| {
        if p == pos {
            trace = t.to_vec();
            logits = l.to_vec();
        }
        Ok(())
    })?;
    let layers: Vec<Value> = trace
        .iter()
        .map(|t| {
            let stage = |v| match v {
                StageValues::I8(x) => array(&vals(x), Dtype::I8),
                StageValues::I32(x) => array(&vals(x), Dtype::I32),
            };
            Value::Object(t.stages().into_iter().map(|(k, v)| (k.to_string(), stage(v))).collect())
        })
        .collect();
    Ok(json!({ "layers": layers, "logits": array(&vals(&logits), Dtype::I32) }))
}

/// The limits the reader applies for a model (used by reject cases).
pub fn read_limits(m: &Model) -> ReadLimits {
    ReadLimits { model_capacity_tokens: Some(m.config().rope_rows) }
}
