//! The checks behind every fuzz target, in one file shared by the cargo-fuzz
//! targets (`fuzz/fuzz_targets/*.rs`, `#[path]`-included) and by the
//! ordinary test that replays the seed corpus and every saved crash
//! (`tests/hostile_fuzz_regressions.rs`). A target fails only by panicking;
//! every function here must return normally for any input.
//!
//! | target | input | what must hold |
//! |---|---|---|
//! | `container` | any bytes as a `.czip` | no panic; whatever is accepted is self-consistent, within the payload cap and the per-chunk byte bound, and writes back to the same payload |
//! | `model_load` | any bytes as a `.czm` | no panic; a model that loads can run a forward step and tokenize |
//! | `decompress` | any bytes as a `.czip`, both real models | no panic; success means exactly `uncompressed_len` bytes of UTF-8; the default reader refuses exactly the files whose `model_id_hash` names the other published model |
//! | `tokenizer` | any UTF-8 | encode → decode is the identity, ids < V |
//! | `coder_roundtrip` | bytes read as random frequency tables and symbols | decode(encode(s)) = s, chunk bytes ≤ 4·n + 1 |
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use czip::coder::{Decoder, Encoder};
use czip::container::{encode_payload, payloads_equivalent, read_file, ReadLimits};
use czip::model::ForwardState;
use czip::Model;

/// Inputs whose header claims more tokens than this are not decoded by the
/// `decompress` target: decoding costs one forward step per token (a few
/// thousand per second), and a tiny file may honestly claim millions of
/// tokens. Everything before the decode still runs on them.
pub const DECODE_TOKEN_LIMIT: u64 = 2048;

/// The published models, from `CZIP_MODELS_DIR` or `../shared/models` beside
/// the checkout (looked for relative to both crates).
pub fn real_models() -> &'static [Model] {
    static MODELS: OnceLock<Vec<Model>> = OnceLock::new();
    MODELS.get_or_init(|| {
        let dir = std::env::var_os("CZIP_MODELS_DIR")
            .map(PathBuf::from)
            .into_iter()
            .chain(
                ["../shared/models", "../../shared/models"]
                    .iter()
                    .map(|r| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(r)),
            )
            .find(|d| d.join("v001_eng.czm").is_file())
            .unwrap_or_else(|| panic!("models not found: set CZIP_MODELS_DIR"));
        ["v000_eng.czm", "v001_eng.czm"]
            .iter()
            .map(|n| Model::open(&dir.join(n)).unwrap_or_else(|e| panic!("{n}: {e}")))
            .collect()
    })
}

// ---------------------------------------------------------------------------
// container

pub fn container(data: &[u8]) {
    let mut accepted_with: Option<czip::container::CzipFile> = None;
    for cap in [None, Some(64), Some(1024)] {
        let limits = ReadLimits { model_capacity_tokens: cap };
        let Ok(f) = read_file(data, &limits) else { continue };
        let k = f.chunk_tokens();
        if let Some(c) = cap {
            assert!(k <= c, "K {k} accepted above capacity {c}");
        }
        if let Some(prev) = &accepted_with {
            assert_eq!(prev, &f, "a capacity limit changed what was read");
            continue;
        }
        assert_eq!(u64::from(f.outer.header_len), f.inner.header_len());
        assert_eq!(f.chunk_count(), f.inner.chunk_count as usize);
        assert!(f.total_tokens() <= u64::from(f.outer.uncompressed_len));
        assert!(f.payload.len() as u64 <= f.outer.payload_cap(), "payload above the cap");
        let mut sum = 0usize;
        for (i, c) in f.chunks().enumerate() {
            let n = f.tokens_in_chunk(i) as u64;
            assert!(n >= 1 && n <= k as u64);
            assert!(!c.is_empty() && c.len() as u64 <= 4 * n + 1, "chunk {i}: {} bytes for {n} tokens", c.len());
            sum += c.len();
        }
        assert_eq!(sum, f.chunk_data.len());
        // What was accepted re-encodes to the same payload. (Not re-written
        // through the outer codec here: zstd level 22 and brotli q11 cost tens
        // of milliseconds per call, which would make this target crawl; the
        // container's proptests cover write → read.)
        let params = f.write_params();
        let chunks: Vec<Vec<u8>> = f.chunks().map(<[u8]>::to_vec).collect();
        let payload = encode_payload(&params, &chunks).expect("accepted file re-encodes");
        assert!(payloads_equivalent(&payload, &f.payload));
        assert_eq!(payload, f.payload);
        accepted_with = Some(f);
    }
}

// ---------------------------------------------------------------------------
// model_load

pub fn model_load(data: &[u8]) {
    let Ok(m) = Model::from_bytes(data.to_vec()) else { return };
    exercise_model(&m);
}

/// A loaded model must be usable: a few forward steps and a round trip of
/// the tokenizer, none of which may panic.
pub fn exercise_model(m: &Model) {
    let cfg = m.config().clone();
    assert!(cfg.rope_rows >= 64);
    assert!(m.target_total() as usize > cfg.vocab_size && m.target_total() <= 1 << 30);
    let mut st = ForwardState::new(m, 64);
    let mut logits = vec![0i32; cfg.vocab_size];
    let mut cum = vec![0u32; cfg.vocab_size];
    let mut prev = cfg.bos;
    let mut enc = Encoder::new();
    for i in 0..3u32 {
        if st.step(m, prev, &mut logits).is_err() {
            return;
        }
        if czip::freq_table::build_cumfreqs(&logits, m.coef_q24(), m.target_total(), m.exp2(), &mut cum).is_err() {
            return;
        }
        let sym = (i as usize * 7) % cfg.vocab_size;
        enc.encode(&cum, sym).expect("a loaded model's table codes every symbol");
        prev = sym as u32;
    }
    let _ = enc.finish();
    let text = "hello <|bos|> w\u{f6}rld\n";
    if let Ok(ids) = m.tokenizer().encode(text) {
        let mut out = Vec::new();
        m.tokenizer().decode_into(&ids, &mut out).expect("encoded ids decode");
        assert_eq!(out, text.as_bytes());
    }
}

// ---------------------------------------------------------------------------
// decompress

pub fn decompress(data: &[u8]) {
    for m in real_models() {
        decompress_with(m, data);
    }
}

pub fn decompress_with(model: &Model, data: &[u8]) {
    let limits = ReadLimits { model_capacity_tokens: Some(model.config().rope_rows) };
    let Ok(f) = read_file(data, &limits) else {
        assert!(czip::pipeline::decompress(model, data, None).is_err());
        return;
    };
    if f.total_tokens() > DECODE_TOKEN_LIMIT {
        return;
    }
    // The spec-literal reader decodes whatever model_id_hash says, so the
    // whole decoder is exercised even on inputs that name the other model.
    let spec = czip::pipeline::decompress_with(model, data, &czip::pipeline::DecompressOptions::SPEC_LITERAL, None);
    if let Ok(text) = &spec {
        assert_eq!(text.len() as u64, u64::from(f.outer.uncompressed_len));
        assert!(std::str::from_utf8(text).is_ok());
    }
    // The default reader refuses (before decoding) exactly the files that
    // name another published model, and otherwise agrees.
    let named_other = matches!(
        czip::model::load::classify(f.inner.model_id_hash, model.content_hash()),
        czip::model::load::ModelMatch::OtherKnown(_)
    );
    if named_other {
        let strict = czip::pipeline::decompress(model, data, None);
        assert!(matches!(strict, Err(czip::Error::WrongModel { .. })), "{strict:?}");
    }
}

// ---------------------------------------------------------------------------
// tokenizer

pub fn tokenizer(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for m in real_models() {
        tokenizer_with(m, text);
    }
}

pub fn tokenizer_with(model: &Model, text: &str) {
    let t = model.tokenizer();
    let ids = t.encode(text).expect("published pattern never fails on short text");
    assert!(ids.len() <= text.len(), "more tokens than bytes");
    assert!(ids.iter().all(|&id| (id as usize) < t.vocab_size()));
    let mut out = Vec::new();
    t.decode_into(&ids, &mut out).expect("ids in range decode");
    assert_eq!(out, text.as_bytes());
}

// ---------------------------------------------------------------------------
// coder_roundtrip

/// Little reader over the fuzz input; zeros once exhausted.
struct Bytes<'a>(&'a [u8]);
impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
}

/// Random chunks: V, a total T ≤ 2^30 and, per symbol, a table with every
/// frequency ≥ 1 (shaped by the input: flat, one dominant symbol, or raw
/// weights) and the symbol. Encoding then decoding must give the symbols
/// back, and the chunk must fit the container's bound of 4·n + 1 bytes.
pub fn coder_roundtrip(data: &[u8]) {
    let mut b = Bytes(data);
    let vocab = 2 + usize::from(b.u8()) % 300;
    let total_raw = b.u32() & ((1 << 30) - 1);
    let total = (total_raw.max(vocab as u32)).min(1 << 30);
    let n = 1 + usize::from(b.u8()) % 64;
    let mut tables = Vec::with_capacity(n);
    let mut symbols = Vec::with_capacity(n);
    for _ in 0..n {
        let shape = b.u8();
        let mut freq = vec![1u64; vocab];
        let spare = u64::from(total) - vocab as u64;
        match shape % 3 {
            0 => {
                // One symbol takes (nearly) everything: the extreme tables of a confident model.
                let j = usize::from(b.u8()) % vocab;
                freq[j] += spare;
            }
            1 => {
                let each = spare / vocab as u64;
                for f in freq.iter_mut() {
                    *f += each;
                }
                freq[0] += spare - each * vocab as u64;
            }
            _ => {
                let w: Vec<u64> = (0..vocab).map(|_| u64::from(b.u8())).collect();
                let sum: u64 = w.iter().sum::<u64>().max(1);
                let mut used = 0;
                for (f, wi) in freq.iter_mut().zip(&w) {
                    let add = spare * wi / sum;
                    *f += add;
                    used += add;
                }
                freq[vocab - 1] += spare - used;
            }
        }
        let mut cum = Vec::with_capacity(vocab);
        let mut acc = 0u64;
        for f in &freq {
            acc += f;
            cum.push(acc as u32);
        }
        assert_eq!(acc, u64::from(total));
        // Symbols mostly of smallest frequency, the worst case for the byte bound.
        let pick = b.u8();
        let sym = if pick & 1 == 0 {
            freq.iter().enumerate().min_by_key(|(_, f)| **f).map_or(0, |(i, _)| i)
        } else {
            usize::from(pick >> 1) % vocab
        };
        tables.push(cum);
        symbols.push(sym);
    }
    let mut enc = Encoder::new();
    for (cum, &s) in tables.iter().zip(&symbols) {
        enc.encode(cum, s).expect("T <= 2^30 and f >= 1 always code");
    }
    let bytes = enc.finish();
    assert!(
        bytes.len() as u64 <= 4 * n as u64 + 1,
        "{} bytes for {n} symbols breaks the 4n+1 bound",
        bytes.len()
    );
    let mut dec = Decoder::new(&bytes);
    for (i, (cum, &s)) in tables.iter().zip(&symbols).enumerate() {
        assert_eq!(dec.decode(cum).expect("valid table decodes"), s, "symbol {i}");
    }
}

// ---------------------------------------------------------------------------
// A tiny, valid `czip-model-v1` built from scratch (seed for `model_load`,
// and the base that `tests/integration/hostile_model.rs` edits into malformed models).

/// One tensor of a hand-built safetensors file.
pub struct RawTensor {
    pub name: String,
    pub dtype: &'static str,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl RawTensor {
    pub fn new(name: &str, dtype: &'static str, shape: &[usize], data: Vec<u8>) -> Self {
        RawTensor { name: name.to_string(), dtype, shape: shape.to_vec(), data }
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The JSON header text of a safetensors file (keys in the order given,
/// duplicates kept: this writer exists to build bad files too).
pub fn safetensors_header(tensors: &[RawTensor], metadata: &[(&str, String)]) -> String {
    let mut parts = Vec::new();
    let meta: Vec<String> = metadata.iter().map(|(k, v)| format!("{}:{}", json_str(k), json_str(v))).collect();
    parts.push(format!("\"__metadata__\":{{{}}}", meta.join(",")));
    let mut at = 0usize;
    for t in tensors {
        let shape: Vec<String> = t.shape.iter().map(usize::to_string).collect();
        parts.push(format!(
            "{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
            json_str(&t.name),
            t.dtype,
            shape.join(","),
            at,
            at + t.data.len()
        ));
        at += t.data.len();
    }
    format!("{{{}}}", parts.join(","))
}

/// 8-byte header length, the header, the tensors' bytes in order.
pub fn safetensors_bytes(header: &str, tensors: &[RawTensor]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    for t in tensors {
        out.extend_from_slice(&t.data);
    }
    out
}

/// The published split pattern (spec §4).
pub const PAT_STR: &str = r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s";

/// Tokenizer JSON: 256 single bytes, one merge (`"he"`), `<|bos|>`, `<|eos|>`: V = 259.
pub fn tiny_tokenizer_json() -> String {
    let mut ranks: Vec<String> = (0u32..256)
        .map(|b| format!("{}:{b}", json_str(&char::from_u32(b).map(String::from).unwrap_or_default())))
        .collect();
    ranks.push("\"he\":256".to_string());
    format!(
        "{{\"name\":\"tiny\",\"pat_str\":{},\"mergeable_ranks\":{{{}}},\"special_tokens\":{{\"<|bos|>\":257,\"<|eos|>\":258}},\"explicit_n_vocab\":259}}",
        json_str(PAT_STR),
        ranks.join(",")
    )
}

/// Tensors and metadata of a tiny valid model: V = 259, D = 64 (one head),
/// F = 16, one layer, 64 RoPE rows, pseudo-random weights.
pub fn tiny_model_parts() -> (Vec<RawTensor>, Vec<(&'static str, String)>) {
    const V: usize = 259;
    const D: usize = 64;
    const F: usize = 16;
    const L: usize = 64;
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut rand_i8 = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let v = ((seed >> 33) % 255) as i32 - 127; // -127..=127
                v as i8 as u8
            })
            .collect()
    };
    let i32s = |v: i32| v.to_le_bytes().to_vec();
    let theta_q16 = 10000u32 * 65536;
    let (cos, sin) = czip::tables::rope_tables(L, theta_q16);
    let i16s = |v: &[i16]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let exp2: Vec<u8> = czip::tables::exp2_table().iter().flat_map(|x| x.to_le_bytes()).collect();
    let tok = czip::container::compress(czip::container::OuterCodec::Zstd, tiny_tokenizer_json().as_bytes())
        .expect("zstd compresses");
    let mut t = vec![
        RawTensor::new("embed.weight", "I8", &[V, D], rand_i8(V * D)),
        RawTensor::new("layers.0.attn_norm.weight", "I8", &[D], rand_i8(D)),
        RawTensor::new("layers.0.post_attn_norm.weight", "I8", &[D], rand_i8(D)),
        RawTensor::new("layers.0.ffn_norm.weight", "I8", &[D], rand_i8(D)),
        RawTensor::new("layers.0.post_ffn_norm.weight", "I8", &[D], rand_i8(D)),
        RawTensor::new("layers.0.attn.qkv.weight", "I8", &[D + 128, D], rand_i8((D + 128) * D)),
        RawTensor::new("layers.0.attn.qkv.mult", "I32", &[], i32s(819)),
        RawTensor::new("layers.0.attn.qkv.shift", "I8", &[], vec![14]),
        RawTensor::new("layers.0.attn.out.weight", "I8", &[D, D], rand_i8(D * D)),
        RawTensor::new("layers.0.attn.out.mult", "I32", &[], i32s(819)),
        RawTensor::new("layers.0.attn.out.shift", "I8", &[], vec![14]),
        RawTensor::new("layers.0.attn.score_mult", "I32", &[1], i32s(16384)),
        RawTensor::new("layers.0.attn.score_shift", "I8", &[], vec![15]),
        RawTensor::new("layers.0.attn.sink_key", "I8", &[64], rand_i8(64)),
        RawTensor::new("layers.0.ffn.up.weight", "I8", &[2 * F, D], rand_i8(2 * F * D)),
        RawTensor::new("layers.0.ffn.up.mult", "I32", &[], i32s(819)),
        RawTensor::new("layers.0.ffn.up.shift", "I8", &[], vec![14]),
        RawTensor::new("layers.0.ffn.down.weight", "I8", &[D, F], rand_i8(D * F)),
        RawTensor::new("layers.0.ffn.down.mult", "I32", &[], i32s(819)),
        RawTensor::new("layers.0.ffn.down.shift", "I8", &[], vec![14]),
        RawTensor::new("norm.weight", "I8", &[D], rand_i8(D)),
        RawTensor::new("head.weight", "I8", &[V, D], rand_i8(V * D)),
        RawTensor::new("lut.exp2", "U16", &[256], exp2),
        RawTensor::new("lut.rope_cos", "I16", &[L, 32], i16s(&cos)),
        RawTensor::new("lut.rope_sin", "I16", &[L, 32], i16s(&sin)),
        RawTensor::new("softmax.coef_q24", "U32", &[], 37819u32.to_le_bytes().to_vec()),
        RawTensor::new("softmax.target_total", "U32", &[], ((1u32 << 30) - 2048).to_le_bytes().to_vec()),
    ];
    let n = tok.len();
    t.push(RawTensor::new("tokenizer.data", "U8", &[n], tok));
    let meta = vec![
        ("format", "czip-model-v1".to_string()),
        ("vocab_size", V.to_string()),
        ("n_layers", "1".to_string()),
        ("n_heads", "1".to_string()),
        ("n_kv_heads", "1".to_string()),
        ("d_model", D.to_string()),
        ("d_ff", F.to_string()),
        ("head_dim", "64".to_string()),
        ("max_seq_len", "8192".to_string()),
        ("rope_theta_q16", theta_q16.to_string()),
        ("tokenizer_codec", "zstd".to_string()),
        ("context_length", L.to_string()),
        ("context_length_log2", "6".to_string()),
    ];
    (t, meta)
}

/// The tiny model's file bytes (about 60 KB).
pub fn tiny_model_bytes() -> Vec<u8> {
    let (t, meta) = tiny_model_parts();
    safetensors_bytes(&safetensors_header(&t, &meta), &t)
}
