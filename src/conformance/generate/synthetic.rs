//! Small synthetic `czip-model-v1` files, made from a seed, that exercise
//! what the published models never do: several layers, 2 / 4 / 8 heads, sink
//! keys, other mult/shift values (including shift ≤ 0), a different RoPE θ,
//! missing optional tensors and metadata, other softmax constants, and a
//! small vocabulary with its own tokenizer (all 256 bytes, a few merges,
//! `<|bos|>` / `<|eos|>`), compressed with zstd or brotli.
//!
//! The safetensors file is written by [`crate::safetensors_write`]. Every model must load with
//! [`Model::from_bytes`](crate::Model::from_bytes); its stored tables equal
//! the §2 formulas, except in `syn_d`, whose tables are deliberately off the
//! formulas in a few entries (spec §2: the engine must use the stored copy,
//! and a conformance check reports every entry that differs) and whose
//! attention scores are so large that the attention exp underflows to 1.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map};

use super::rng::Rng;
use crate::conformance::case::sha256_hex;
use crate::container::OuterCodec;
use crate::safetensors_write::{self, TensorData, Tensors};
use crate::tables::{exp2_table, rope_tables};

/// The split regex of the published tokenizer (spec §4), reused as is.
pub const PAT_STR: &str = r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s";

/// Merges in rank order; each is the concatenation of two earlier tokens.
const MERGES: &[&str] = &[
    " t", "he", "in", "er", " a", "th", "on", "an", "re", " the", "nd", "at", "en", "ou", "ed", "ing", " s", " w", "is",
    "it", "or", "es", " o", " b", "ll", " c", " f", "ar", "le", " m", " h", " and", " of", "as", " p", "al", " d", "ro",
    "ve", " in", " to", "ha", "ic", "ion", "ent", " I", " re", "ly", "st", "om", " be",
];

/// How one synthetic model is built.
struct Recipe {
    name: &'static str,
    seed: u64,
    n_merges: usize,
    n_layers: usize,
    n_heads: usize,
    d_ff: usize,
    rope_rows: usize,
    theta_q16: u32,
    codec: OuterCodec,
    /// Per layer: does it have a sink key?
    sinks: &'static [bool],
    /// Per layer: shifts of (qkv, out, up, down). A shift ≤ 0 gets sparse ±1
    /// weights and a small mult, so that the exact product stays meaningful.
    shifts: &'static [[i8; 4]],
    /// `context_length` / `context_length_log2` metadata present?
    context_meta: bool,
    /// `softmax.coef_q24` / `softmax.target_total` tensors, if present.
    softmax: Option<(u32, u32)>,
    /// Range of `attn.score_mult`.
    score_mult: (i64, i64),
    /// Store exp2 / RoPE tables that differ from the formulas in a few entries.
    off_formula_tables: bool,
}

const RECIPES: &[Recipe] = &[
    Recipe {
        name: "syn_a",
        seed: 0x5e_ed_a0,
        n_merges: 30,
        n_layers: 3,
        n_heads: 2,
        d_ff: 128,
        rope_rows: 128,
        theta_q16: 655_360_000,
        codec: OuterCodec::Zstd,
        sinks: &[false, true, true],
        shifts: &[[12, 16, 20, 15], [16, 10, 14, 0], [24, 28, 22, 19]],
        context_meta: true,
        softmax: Some((37_819, 1_073_739_776)),
        score_mult: (20_000, 300_000),
        off_formula_tables: false,
    },
    Recipe {
        name: "syn_b",
        seed: 0x5e_ed_b0,
        n_merges: 42,
        n_layers: 2,
        n_heads: 4,
        d_ff: 64,
        rope_rows: 64,
        theta_q16: 655_360_000,
        codec: OuterCodec::Brotli,
        sinks: &[true, false],
        shifts: &[[17, -3, 20, 16], [13, 21, 11, 24]],
        context_meta: false,
        softmax: None,
        score_mult: (20_000, 300_000),
        off_formula_tables: false,
    },
    Recipe {
        name: "syn_c",
        seed: 0x5e_ed_c0,
        n_merges: 6,
        n_layers: 1,
        n_heads: 8,
        d_ff: 64,
        rope_rows: 256,
        theta_q16: 3_276_800_000,
        codec: OuterCodec::Zstd,
        sinks: &[true],
        shifts: &[[20, 20, 20, 20]],
        context_meta: true,
        softmax: Some((45_000, 1 << 30)),
        score_mult: (20_000, 300_000),
        off_formula_tables: false,
    },
    // Stored tables off the formulas; score_mult ~10^7..10^8 (|score| stays
    // below 2^30, so every score difference fits i32): score gaps beyond
    // 352 000 make the attention exp return 1 (ip ≥ 31).
    Recipe {
        name: "syn_d",
        seed: 0x5e_ed_d0,
        n_merges: 10,
        n_layers: 1,
        n_heads: 1,
        d_ff: 64,
        rope_rows: 64,
        theta_q16: 655_360_000,
        codec: OuterCodec::Brotli,
        sinks: &[false],
        shifts: &[[20, 20, 20, 20]],
        context_meta: true,
        softmax: None,
        score_mult: (20_000_000, 100_000_000),
        off_formula_tables: true,
    },
];

/// A generated model, as written to `vectors/models/NAME.czm`.
#[derive(Debug, Clone)]
pub struct SyntheticModel {
    pub name: String,
    pub file: String,
    pub sha256: String,
    pub bytes: usize,
    pub seed: u64,
    pub vocab: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    pub d_ff: usize,
    pub rope_rows: usize,
    pub theta_q16: u32,
    pub codec: &'static str,
    pub sink_layers: Vec<usize>,
    pub requant: Vec<[(i32, i8); 4]>,
    pub softmax: Option<(u32, u32)>,
    pub context_meta: bool,
    /// Stored table entries that differ from the §2 formulas (0 but in `syn_d`).
    pub table_mismatches: usize,
}

impl SyntheticModel {
    /// `synthetic/NAME`, as cases name it.
    pub fn model_ref(&self) -> String {
        format!("synthetic/{}", self.name)
    }
    /// Features a case on this model requires (besides the op's own).
    pub fn requires(&self) -> Vec<&'static str> {
        let mut r = vec!["synthetic"];
        if self.n_layers > 1 {
            r.push("multi_layer");
        }
        if !self.sink_layers.is_empty() {
            r.push("sink_key");
        }
        r
    }
    /// Levels usable with this model (K = 2^(level+5) ≤ RoPE rows).
    pub fn levels(&self) -> Vec<u8> {
        (1..=5u8).filter(|l| (1usize << (l + 5)) <= self.rope_rows).collect()
    }
    pub fn description(&self) -> String {
        let rq: Vec<String> = self
            .requant
            .iter()
            .map(|l| format!("[{}]", l.iter().map(|(m, s)| format!("{m}>>{s}")).collect::<Vec<_>>().join(" ")))
            .collect();
        format!(
            "V={} D={} heads={} layers={} d_ff={} rope_rows={} theta_q16={} tokenizer={} sinks={:?} requant(qkv,out,up,down)={} softmax={} context_length={}{} ({} bytes)",
            self.vocab,
            64 * self.n_heads,
            self.n_heads,
            self.n_layers,
            self.d_ff,
            self.rope_rows,
            self.theta_q16,
            self.codec,
            self.sink_layers,
            rq.join(""),
            match self.softmax {
                Some((c, t)) => format!("coef {c} total {t}"),
                None => "absent (defaults)".into(),
            },
            if self.context_meta { "present" } else { "absent" },
            if self.table_mismatches > 0 { format!(" tables: {} entries off the formulas", self.table_mismatches) } else { String::new() },
            self.bytes
        )
    }
}

/// The tokenizer JSON: 256 single bytes (id = byte), `n_merges` merges, then
/// `<|bos|>` and `<|eos|>`.
fn tokenizer_json(name: &str, n_merges: usize) -> Result<(Vec<u8>, usize), String> {
    let mut ranks = Map::new();
    let mut known: Vec<Vec<u8>> = Vec::new();
    for b in 0..=255u8 {
        ranks.insert(char::from(b).to_string(), json!(b));
        known.push(vec![b]);
    }
    for (i, m) in MERGES.iter().take(n_merges).enumerate() {
        let bytes = m.as_bytes().to_vec();
        let buildable = (1..bytes.len()).any(|k| known.contains(&bytes[..k].to_vec()) && known.contains(&bytes[k..].to_vec()));
        if !buildable {
            return Err(format!("synthetic tokenizer: merge {m:?} is not two earlier tokens"));
        }
        ranks.insert(bytes.iter().map(|&b| char::from(b)).collect(), json!(256 + i));
        known.push(bytes);
    }
    let v = 256 + n_merges + 2;
    let j = json!({
        "name": format!("czip-synthetic-{name}"),
        "pat_str": PAT_STR,
        "mergeable_ranks": ranks,
        "special_tokens": {"<|bos|>": v - 2, "<|eos|>": v - 1},
        "explicit_n_vocab": v,
    });
    Ok((serde_json::to_vec(&j).map_err(|e| e.to_string())?, v))
}

/// Uniform i8 weights in ±amp.
fn dense(r: &mut Rng, n: usize, amp: i8) -> Vec<i8> {
    r.i8_vec(n, -amp, amp)
}

/// `nnz` entries of ±1 per row, the rest 0.
fn sparse(r: &mut Rng, rows: usize, cols: usize, nnz: usize) -> Vec<i8> {
    let mut w = vec![0i8; rows * cols];
    for row in 0..rows {
        for _ in 0..nnz {
            let c = r.below(cols as u64) as usize;
            w[row * cols + c] = if r.bool() { 1 } else { -1 };
        }
    }
    w
}

/// mult for a dense layer: output rms ≈ `target` for inputs of rms `in_rms`
/// over `n_in` columns of uniform ±amp weights, at the given shift.
fn mult_for(shift: i8, in_rms: f64, n_in: usize, amp: i8, target: f64) -> i32 {
    let w_rms = amp as f64 / 3f64.sqrt();
    let ratio = target / (in_rms * w_rms * (n_in as f64).sqrt());
    ((ratio * 2f64.powi(shift as i32)).round() as i32).max(1)
}

fn build(rc: &Recipe) -> Result<(Vec<u8>, SyntheticModel), String> {
    let mut r = Rng::new(rc.seed);
    let (tok_json, v) = tokenizer_json(rc.name, rc.n_merges)?;
    let tok_data = crate::container::compress(rc.codec, &tok_json).map_err(|e| e.to_string())?;
    let d = 64 * rc.n_heads;
    let f = rc.d_ff;
    let mut t = Tensors::new();
    let mut put = |name: String, shape: Vec<usize>, data: TensorData| {
        t.insert(name, (shape, data));
    };
    put("embed.weight".into(), vec![v, d], TensorData::I8(dense(&mut r, v * d, 90)));
    put("norm.weight".into(), vec![d], TensorData::I8(r.i8_vec(d, 60, 127)));
    put("head.weight".into(), vec![v, d], TensorData::I8(dense(&mut r, v * d, 127)));
    put("head.mult".into(), vec![], TensorData::I32(vec![819]));
    put("head.shift".into(), vec![], TensorData::I8(vec![20]));
    let mut requant = Vec::new();
    for n in 0..rc.n_layers {
        let p = |s: &str| format!("layers.{n}.{s}");
        let norm_rms = 90.0; // normed inputs: |w| ≈ 40..127
        for nm in ["attn_norm", "post_attn_norm", "ffn_norm", "post_ffn_norm"] {
            let w: Vec<i8> = (0..d).map(|_| if r.below(10) == 0 { -(r.range(40, 127) as i8) } else { r.range(40, 127) as i8 }).collect();
            put(p(&format!("{nm}.weight")), vec![d], TensorData::I8(w));
        }
        let sh = rc.shifts[n];
        // (name, rows, cols, input rms, shift)
        let mats = [("attn.qkv", d + 128, d, norm_rms, sh[0]), ("attn.out", d, d, 30.0, sh[1]), ("ffn.up", 2 * f, d, norm_rms, sh[2]), ("ffn.down", d, f, 9.0, sh[3])];
        let mut rq = [(0i32, 0i8); 4];
        for (k, (name, rows, cols, in_rms, shift)) in mats.into_iter().enumerate() {
            let (w, mult) = if shift <= 0 {
                let nnz = if in_rms < 20.0 { 4 } else { 2 };
                (sparse(&mut r, rows, cols, nnz), if in_rms < 20.0 { 2 } else { 1 })
            } else {
                (dense(&mut r, rows * cols, 127), mult_for(shift, in_rms, cols, 127, 55.0))
            };
            put(p(&format!("{name}.weight")), vec![rows, cols], TensorData::I8(w));
            put(p(&format!("{name}.mult")), vec![], TensorData::I32(vec![mult]));
            put(p(&format!("{name}.shift")), vec![], TensorData::I8(vec![shift]));
            rq[k] = (mult, shift);
        }
        requant.push(rq);
        let sm: Vec<i32> = (0..rc.n_heads).map(|_| r.range(rc.score_mult.0, rc.score_mult.1) as i32).collect();
        put(p("attn.score_mult"), vec![rc.n_heads], TensorData::I32(sm));
        put(p("attn.score_shift"), vec![], TensorData::I8(vec![15]));
        if rc.sinks[n] {
            put(p("attn.sink_key"), vec![64], TensorData::I8(dense(&mut r, 64, 100)));
        }
    }
    let mut exp2 = exp2_table();
    let (mut cos, mut sin) = rope_tables(rc.rope_rows, rc.theta_q16);
    if rc.off_formula_tables {
        // exp2: every 16th entry from 5 on one lower (still decreasing);
        // RoPE: pairs 0, 5 and 31 of every 7th row from 1 on turned a little.
        for e in exp2.iter_mut().skip(5).step_by(16) {
            *e -= 1;
        }
        for p in (1..rc.rope_rows).step_by(7) {
            for i in [0usize, 5, 31] {
                cos[p * 32 + i] = cos[p * 32 + i].saturating_sub(300);
                sin[p * 32 + i] = sin[p * 32 + i].saturating_add(300);
            }
        }
    }
    let table_mismatches = crate::tables::check_tables(&exp2, &cos, &sin, rc.theta_q16).len();
    put("lut.exp2".into(), vec![256], TensorData::U16(exp2.to_vec()));
    put("lut.rope_cos".into(), vec![rc.rope_rows, 32], TensorData::I16(cos));
    put("lut.rope_sin".into(), vec![rc.rope_rows, 32], TensorData::I16(sin));
    if let Some((coef, total)) = rc.softmax {
        put("softmax.coef_q24".into(), vec![], TensorData::U32(vec![coef]));
        put("softmax.target_total".into(), vec![], TensorData::U32(vec![total]));
    }
    put("tokenizer.data".into(), vec![tok_data.len()], TensorData::U8(tok_data));

    let mut md = BTreeMap::new();
    let mut m = |k: &str, v: String| {
        md.insert(k.to_string(), v);
    };
    m("format", "czip-model-v1".into());
    m("vocab_size", v.to_string());
    m("n_layers", rc.n_layers.to_string());
    m("n_heads", rc.n_heads.to_string());
    m("n_kv_heads", "1".into());
    m("d_model", d.to_string());
    m("d_ff", f.to_string());
    m("head_dim", "64".into());
    m("max_seq_len", "8192".into());
    m("rope_theta_q16", rc.theta_q16.to_string());
    m("tokenizer_codec", rc.codec.name().to_string());
    if rc.context_meta {
        m("context_length", rc.rope_rows.to_string());
        m("context_length_log2", rc.rope_rows.ilog2().to_string());
    }
    let bytes = safetensors_write::encode(&md, &t)?;
    let info = SyntheticModel {
        name: rc.name.to_string(),
        file: format!("models/{}.czm", rc.name),
        sha256: sha256_hex(&bytes),
        bytes: bytes.len(),
        seed: rc.seed,
        vocab: v,
        n_layers: rc.n_layers,
        n_heads: rc.n_heads,
        d_ff: f,
        rope_rows: rc.rope_rows,
        theta_q16: rc.theta_q16,
        codec: rc.codec.name(),
        sink_layers: rc.sinks.iter().enumerate().filter(|(_, &s)| s).map(|(i, _)| i).collect(),
        requant,
        softmax: rc.softmax,
        context_meta: rc.context_meta,
        table_mismatches,
    };
    Ok((bytes, info))
}

/// Builds every synthetic model, checks that it loads, writes it to `dir`.
pub fn write_models(dir: &Path, progress: &mut dyn FnMut(&str)) -> Result<Vec<SyntheticModel>, String> {
    let mut out = Vec::new();
    for rc in RECIPES {
        let (bytes, info) = build(rc)?;
        crate::Model::from_bytes(bytes.clone()).map_err(|e| format!("synthetic model {} does not load: {e}", rc.name))?;
        super::write(&dir.join(format!("{}.czm", rc.name)), &bytes)?;
        progress(&format!("synthetic {}: {}", rc.name, info.description()));
        out.push(info);
    }
    Ok(out)
}
