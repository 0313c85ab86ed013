//! The operation table: every op of the adapter protocol with the feature it
//! needs, the spec section its cases check, its arguments and its answer.
//!
//! Everything that used to repeat the op names comes from here: the
//! dispatch of [`ops::reference`](super::ops::reference) (by [`Op`]), the
//! argument errors ([`check_args`]), the `spec` and `requires` of generated
//! cases, the catalogue of `vectors/README.md` ([`catalogue_markdown`]) and
//! the features the built-in engine declares (checked by a test).

use serde_json::Value;

use super::case::{as_array, as_int};

/// An operation of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    SraRneTteS32,
    SraRneTteS64ToS32,
    UdivRneTteU32,
    DivRneTteS32,
    DivRneTteS64ToS32,
    Isqrt32,
    ClampI8,
    Argmax,
    Exp2Table,
    RopeTable,
    ModelTables,
    ExpQ16,
    Requantize,
    Linear,
    Rmsnorm,
    Reglu,
    Rope,
    Attention,
    FreqTable,
    Tokenize,
    ModelLogits,
    ModelTrace,
    CoderEncode,
    CoderDecode,
    ChunkEncode,
    ChunkDecode,
    Compress,
    Decompress,
}

/// What an argument must be (integers may be decimal strings, integer arrays
/// packed objects: see `vectors/README.md`, "Values").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Int,
    UInt,
    Bool,
    IntArray,
    /// An integer array or null.
    IntArrayOrNull,
    /// An unsigned integer or null.
    UIntOrNull,
    Str,
    /// Lowercase hex bytes.
    Hex,
    /// `v000`, `v001` or `synthetic/NAME`.
    Model,
    /// `{"hex": …}` or `{"corpus": NAME, "sha256": …}`.
    Text,
    /// An array of integer arrays.
    Tables,
    Object,
}

impl ArgKind {
    /// "expected …" in an argument error.
    pub fn expected(self) -> &'static str {
        match self {
            ArgKind::Int => "an integer",
            ArgKind::UInt => "an unsigned integer",
            ArgKind::Bool => "a boolean",
            ArgKind::IntArray => "an integer array",
            ArgKind::IntArrayOrNull => "an integer array or null",
            ArgKind::UIntOrNull => "an unsigned integer or null",
            ArgKind::Str => "a string",
            ArgKind::Hex => "a hex string",
            ArgKind::Model => "a model name (a string)",
            ArgKind::Text => "a text ({\"hex\"} or {\"corpus\", \"sha256\"})",
            ArgKind::Tables => "an array of integer arrays",
            ArgKind::Object => "an object",
        }
    }

    /// Whether `v` has this kind (element ranges are checked by the op).
    pub fn accepts(self, v: &Value) -> bool {
        let uint = |v: &Value| as_int(v).is_some_and(|x| x >= 0);
        let ints = |v: &Value| v.is_array() || (v.is_object() && as_array(v).is_some());
        match self {
            ArgKind::Int => as_int(v).is_some(),
            ArgKind::UInt => uint(v),
            ArgKind::Bool => v.is_boolean(),
            ArgKind::IntArray => ints(v),
            ArgKind::IntArrayOrNull => v.is_null() || ints(v),
            ArgKind::UIntOrNull => v.is_null() || uint(v),
            ArgKind::Str | ArgKind::Hex | ArgKind::Model => v.is_string(),
            ArgKind::Text | ArgKind::Object => v.is_object(),
            ArgKind::Tables => v.as_array().is_some_and(|t| t.iter().all(ints)),
        }
    }
}

/// One argument of an op.
#[derive(Debug, Clone, Copy)]
pub struct ArgSpec {
    pub name: &'static str,
    pub kind: ArgKind,
    pub required: bool,
    /// How the catalogue describes it (after the name, in parentheses; may be empty).
    pub doc: &'static str,
}

/// One field of an op's answer.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    /// What the field holds (JSON kind and element type).
    pub kind: &'static str,
    /// Normative fields are behaviour the spec defines; diagnostic ones are
    /// the reference engine's detail for localisation (other
    /// implementations may be unable to answer them).
    pub normative: bool,
    pub doc: &'static str,
}

/// One operation: everything the corpus, the runner and the adapters need to agree on.
#[derive(Debug, Clone, Copy)]
pub struct OpSpec {
    pub op: Op,
    pub name: &'static str,
    /// The features an implementation must declare to be asked this op
    /// (cases may require more: see [`CONTEXT_FEATURES`]).
    pub features: &'static [&'static str],
    /// The section of `CZIP-v1.md` the op's cases check.
    pub spec_section: &'static str,
    /// The section its refusal cases check, when another one.
    pub reject_section: Option<&'static str>,
    pub args: &'static [ArgSpec],
    pub answer: &'static [FieldSpec],
    /// Appended to the answer in the catalogue (may be empty).
    pub doc: &'static str,
}

/// Features a case requires because of what it runs on, not of its op.
pub const CONTEXT_FEATURES: &[&str] = &["levels", "multi_layer", "sink_key", "synthetic"];

/// Features the built-in engine declares that no case requires (kept so
/// adapters declaring them keep working).
pub const DECLARED_ONLY_FEATURES: &[&str] = &["chunk_ops"];

const fn req(name: &'static str, kind: ArgKind, doc: &'static str) -> ArgSpec {
    ArgSpec { name, kind, required: true, doc }
}

const fn opt(name: &'static str, kind: ArgKind, doc: &'static str) -> ArgSpec {
    ArgSpec { name, kind, required: false, doc }
}

const fn field(name: &'static str, kind: &'static str, doc: &'static str) -> FieldSpec {
    FieldSpec { name, kind, normative: true, doc }
}

const fn diagnostic(name: &'static str, kind: &'static str, doc: &'static str) -> FieldSpec {
    FieldSpec { name, kind, normative: false, doc }
}

const RESULT: &[FieldSpec] = &[field("result", "integer", "")];
const Y: &[FieldSpec] = &[field("y", "integer array", "")];
const CORE: &[&str] = &["core"];
const LAYERS: &[&str] = &["layers"];
const MODEL_OPS: &[&str] = &["model_ops"];
const CODER_OPS: &[&str] = &["coder_ops"];
const FILE_OPS: &[&str] = &["file_ops"];

use ArgKind::*;

macro_rules! op {
    ($op:ident, $name:literal, $features:expr, $section:literal, [$($arg:expr),* $(,)?], $answer:expr, $doc:literal) => {
        OpSpec { op: Op::$op, name: $name, features: $features, spec_section: $section, reject_section: None, args: &[$($arg),*], answer: $answer, doc: $doc }
    };
}

/// The table, in [`Op`] order (and the catalogue's).
pub static OPS: &[OpSpec] = &[
    op!(SraRneTteS32, "sra_rne_tte_s32", CORE, "§1", [req("v", Int, "i32"), req("sh", UInt, "0..31")], RESULT, ""),
    op!(SraRneTteS64ToS32, "sra_rne_tte_s64_to_s32", CORE, "§1", [req("v", Int, "i64"), req("sh", UInt, "0..63")], RESULT, ""),
    op!(UdivRneTteU32, "udiv_rne_tte_u32", CORE, "§1", [req("n", UInt, "u32"), req("d", UInt, "u32")], RESULT, ""),
    op!(DivRneTteS32, "div_rne_tte_s32", CORE, "§1", [req("n", Int, "i32"), req("d", Int, "i32")], RESULT, ""),
    op!(DivRneTteS64ToS32, "div_rne_tte_s64_to_s32", CORE, "§1", [req("n", Int, "i64"), req("d", UInt, "u64")], RESULT, ""),
    op!(Isqrt32, "isqrt32", CORE, "§1", [req("x", UInt, "u32")], RESULT, ""),
    op!(ClampI8, "clamp_i8", CORE, "§1", [req("x", Int, "i32")], RESULT, ""),
    op!(Argmax, "argmax", CORE, "§1", [req("xs", IntArray, "i32[]")], RESULT, ""),
    op!(Exp2Table, "exp2_table", CORE, "§2", [], &[field("table", "integer array", "256")], ""),
    op!(RopeTable, "rope_table", CORE, "§2", [req("rows", UInt, ""), req("theta_q16", UInt, "")],
        &[field("cos", "integer array", ""), field("sin", "integer array", "rows × 32, row-major")], ""),
    op!(ModelTables, "model_tables", CORE, "§2", [req("model", Model, "")],
        &[
            field("exp2", "integer array", ""),
            field("rope_rows", "integer", ""),
            field("rope_cos", "digest", ""),
            field("rope_sin", "digest", "digests of the i16 values widened to i32"),
            field("formula_mismatches", "integer", ""),
        ], ""),
    op!(ExpQ16, "exp_q16", CORE, "§6", [req("d", Int, "i32"), req("coef_q24", UInt, "")], &[field("result", "integer", "with the formula exp2 table")], ""),
    op!(Requantize, "requantize", LAYERS, "§5", [req("x", IntArray, "i32[]"), req("mult", Int, ""), req("shift", Int, "")], &[field("y", "integer array", "i8[]")], ""),
    op!(Linear, "linear", LAYERS, "§5", [req("x", IntArray, "i8[in]"), req("w", IntArray, "i8[out·in], row-major"), req("n_out", UInt, "")],
        &[field("y", "integer array", "i32[out]")], ""),
    op!(Rmsnorm, "rmsnorm", LAYERS, "§5", [req("x", IntArray, "i8[D]"), req("w", IntArray, "i8[D]")], Y, ""),
    op!(Reglu, "reglu", LAYERS, "§5", [req("gate", IntArray, "i8[F]"), req("up", IntArray, "i8[F]")], Y, ""),
    op!(Rope, "rope", LAYERS, "§5",
        [req("x", IntArray, "i8[64]"), req("cos", IntArray, "i16[32], one table row"), req("sin", IntArray, "i16[32], one table row"), req("query", Bool, "bool: the Q variant")],
        Y, ""),
    op!(Attention, "attention", LAYERS, "§5",
        [
            req("n_heads", UInt, ""),
            req("score_mult", IntArray, "i32[n_heads]"),
            opt("sink_key", IntArrayOrNull, "i8[64] or null"),
            req("rope_theta_q16", UInt, ""),
            req("steps", Tables, "QKV vectors, i8[64·n_heads+128]"),
            opt("repeat", Object, "`{qkv, count}`: `count` more copies of one step"),
            req("output", Str, "`\"all\"`/`\"last\"`"),
        ],
        &[field("out", "array of integer arrays", "one i8[64·n_heads] per reported step")],
        "the KV cache persists across steps, position = step index"),
    op!(FreqTable, "freq_table", CORE, "§6", [req("logits", IntArray, "i32[V]"), req("coef_q24", UInt, ""), req("total", UInt, "")],
        &[field("cum", "integer array", "u32[V]")], ""),
    OpSpec {
        op: Op::Tokenize,
        name: "tokenize",
        features: MODEL_OPS,
        spec_section: "§4",
        // A text that must be refused is an input to compress (§8.1: UTF-8).
        reject_section: Some("§8"),
        args: &[req("model", Model, ""), req("text", Text, "")],
        answer: &[field("tokens", "integer array", "")],
        doc: "",
    },
    op!(ModelLogits, "model_logits", MODEL_OPS, "§6", [req("model", Model, ""), req("tokens", IntArray, "one chunk"), req("positions", IntArray, "")],
        &[field("logits", "array of integer arrays", ""), field("cum", "array of integer arrays", "one array per listed position")],
        "position i is fed `i == 0 ? BOS : tokens[i−1]`"),
    op!(ModelTrace, "model_trace", &["model_ops", "trace"], "§6", [req("model", Model, ""), req("tokens", IntArray, ""), req("position", UInt, "")],
        &[
            field("layers", "array of objects", "per layer `attn_in, qkv, attn, attn_proj, resid_attn, ffn_in, gate_up, reglu, down, resid_ffn`"),
            field("logits", "integer array", ""),
        ], ""),
    op!(CoderEncode, "coder_encode", CODER_OPS, "§7",
        [req("symbols", IntArray, ""), opt("cum", IntArray, "one table"), opt("tables", Tables, "one per symbol; `cum` or `tables`")],
        &[
            field("bytes_hex", "hex", ""),
            diagnostic("pending_at_finish", "integer", "pending underflow bits when finishing"),
            diagnostic("max_pending", "integer", "the longest underflow run"),
        ], ""),
    op!(CoderDecode, "coder_decode", CODER_OPS, "§7",
        [req("bytes_hex", Hex, ""), req("n", UInt, ""), opt("cum", IntArray, "one table"), opt("tables", Tables, "one per symbol; `cum` or `tables`")],
        &[field("symbols", "integer array", "")], ""),
    op!(ChunkEncode, "chunk_encode", MODEL_OPS, "§8", [req("model", Model, ""), req("tokens", IntArray, "")], &[field("bytes_hex", "hex", "")], ""),
    op!(ChunkDecode, "chunk_decode", MODEL_OPS, "§8", [req("model", Model, ""), req("bytes_hex", Hex, ""), req("n", UInt, "")],
        &[field("tokens", "integer array", "")], ""),
    op!(Compress, "compress", FILE_OPS, "§8",
        [
            req("model", Model, ""),
            req("text", Text, ""),
            req("level", UIntOrNull, "1..5 or null = capacity"),
            req("codec", Str, "`\"brotli\"`/`\"zstd\"`"),
            opt("model_id_hash", Hex, "8 hex digits; absent = the model's content hash"),
        ],
        &[field("file_hex", "hex", "")],
        "scored on the outer header (`outer_header_hex`, 16 bytes) and the decompressed payload (`payload_sha256`, byte 11: 0 ≡ 6); the outer stream's bytes are not normative"),
    op!(Decompress, "decompress", FILE_OPS, "§9", [req("model", Model, ""), req("file_hex", Hex, "")], &[field("text_hex", "hex", "")],
        "scored as `text_sha256`; reject cases expect `{\"error\": true}`"),
];

impl Op {
    /// The op's table entry.
    pub fn spec(self) -> &'static OpSpec {
        &OPS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The op named `name` (as in a request).
    pub fn from_name(name: &str) -> Option<Op> {
        OPS.iter().find(|s| s.name == name).map(|s| s.op)
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Checks a request's arguments against the table: every required argument
/// is present (not null, unless the kind allows it) and every given one has
/// its kind. `missing argument "model"`, `argument "n": expected an unsigned integer`.
pub fn check_args(op: Op, args: &Value) -> Result<(), String> {
    for a in op.spec().args {
        match args.get(a.name) {
            None => {
                if a.required {
                    return Err(format!("missing argument {:?}", a.name));
                }
            }
            // An optional argument given as null is absent.
            Some(v) if !(a.kind.accepts(v) || (v.is_null() && !a.required)) => {
                return Err(format!("argument {:?}: expected {}", a.name, a.kind.expected()));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Every feature some op needs, in table order, without repeats.
pub fn op_features() -> Vec<&'static str> {
    let mut out: Vec<&str> = Vec::new();
    for f in OPS.iter().flat_map(|s| s.features) {
        if !out.contains(f) {
            out.push(f);
        }
    }
    out
}

/// The `requires` of a case of `op` that also needs `context` features
/// (sorted, without repeats, as the corpus stores it).
pub fn requires(op: Op, context: &[&str]) -> Result<Vec<String>, String> {
    if let Some(bad) = context.iter().find(|f| !CONTEXT_FEATURES.contains(f)) {
        return Err(format!("{op}: {bad:?} is not a context feature ({CONTEXT_FEATURES:?}); the op's own come from the table"));
    }
    let mut v: Vec<String> = op.spec().features.iter().chain(context).map(|s| s.to_string()).collect();
    v.sort();
    v.dedup();
    Ok(v)
}

/// The spec section of a case of `op` (`reject`: a case that must be refused).
pub fn spec_section(op: Op, reject: bool) -> &'static str {
    let s = op.spec();
    match (reject, s.reject_section) {
        (true, Some(r)) => r,
        _ => s.spec_section,
    }
}

/// The markers around the generated catalogue in `vectors/README.md`.
pub const CATALOGUE_BEGIN: &str = "<!-- op-catalogue:begin -->";
pub const CATALOGUE_END: &str = "<!-- op-catalogue:end -->";

/// "`name`", or "`name` (flag, doc)" / "`name` (flag: doc)" in the catalogue.
fn entry(name: &str, flag: Option<&str>, doc: &str, sep: &str) -> String {
    let notes: Vec<&str> = flag.into_iter().chain(Some(doc).filter(|d| !d.is_empty())).collect();
    if notes.is_empty() {
        format!("`{name}`")
    } else {
        format!("`{name}` ({})", notes.join(sep))
    }
}

/// The "Operations" table of `vectors/README.md` (between the markers).
pub fn catalogue_markdown() -> String {
    let mut s = String::from("| op | spec | features | args | answer |\n|---|---|---|---|---|\n");
    for o in OPS {
        let args = if o.args.is_empty() {
            "—".to_string()
        } else {
            let args: Vec<String> = o.args.iter().map(|a| entry(a.name, (!a.required).then_some("optional"), a.doc, ", ")).collect();
            args.join(", ")
        };
        let answer: Vec<String> = o.answer.iter().map(|f| entry(f.name, (!f.normative).then_some("diagnostic"), f.doc, ": ")).collect();
        let mut answer = answer.join(", ");
        if !o.doc.is_empty() {
            answer = format!("{answer} — {}", o.doc);
        }
        let spec = match o.reject_section {
            Some(r) => format!("{} (refusals {r})", o.spec_section),
            None => o.spec_section.to_string(),
        };
        let features = o.features.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ");
        s.push_str(&format!("| `{}` | {spec} | {features} | {args} | {answer} |\n", o.name));
    }
    s.push_str(
        "\nArguments are required unless marked optional; a missing or mistyped one is refused \
         (`missing argument \"model\"`, `argument \"n\": expected an unsigned integer`). Diagnostic \
         answer fields are the reference engine's detail for localising a difference, not behaviour \
         the spec defines (the published Python package does not answer them).\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_table_is_in_op_order_with_unique_names() {
        for (i, s) in OPS.iter().enumerate() {
            assert_eq!(s.op as usize, i, "{}", s.name);
            assert_eq!(Op::from_name(s.name), Some(s.op));
        }
        assert_eq!(Op::from_name("hello"), None);
    }

    #[test]
    fn argument_errors_name_the_argument() {
        assert_eq!(check_args(Op::Tokenize, &json!({"text": {"hex": ""}})), Err("missing argument \"model\"".into()));
        assert_eq!(check_args(Op::ChunkDecode, &json!({"model": "v001", "bytes_hex": "", "n": -1})), Err("argument \"n\": expected an unsigned integer".into()));
        assert_eq!(check_args(Op::Compress, &json!({"model": "v001", "text": {"hex": ""}, "level": null, "codec": "zstd"})), Ok(()));
        assert_eq!(check_args(Op::Attention, &json!({"n_heads": 1, "score_mult": [1], "sink_key": null, "rope_theta_q16": 1, "steps": [], "output": "all"})), Ok(()));
        assert!(check_args(Op::Compress, &json!({"model": "v001", "text": {"hex": ""}, "codec": "zstd"})).unwrap_err().contains("\"level\""));
    }

    #[test]
    fn requires_takes_only_context_features_besides_the_table() {
        assert_eq!(requires(Op::ModelTrace, &["synthetic"]).unwrap(), ["model_ops", "synthetic", "trace"]);
        assert!(requires(Op::Compress, &["file_ops"]).is_err());
    }
}
