//! Edge-biased arguments for every op of the catalogue.
//!
//! Each draw mixes, per value, the corpus generator's edge lists
//! (`generate::primitives`, `generate::layers`: the same constants the
//! fixed corpus iterates over), the structural edges of the op (rounding ties
//! at every shift, ±2^k±1, i32/i64 extremes, zero divisors, all-equal and
//! all-distinct logits, scores that reach a new maximum late, long repeated
//! sequences for the attention accumulator, texts that mix scripts, emoji,
//! control characters, specials and whitespace runs) and values of random
//! scale ([`Rng::i32_any_scale`] and friends). A draw is a pure function of
//! the generator's state (and, for the ops whose inputs are the reference's
//! own outputs — `coder_decode`, `chunk_decode`, `decompress` — of the
//! reference's answers), so a case is reproduced by its seed.
//!
//! The inputs stay inside the domain where implementations must agree
//! (divisors ≤ 2^31 for `udiv`, never `i32::MIN / −1`, shifts in range): a
//! disagreement is then a bug or a §11 row, never a question of domain.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::conformance::case::{array, as_array, hex, unhex, Dtype};
use crate::conformance::generate::layers::{
    qkv_len, with_sum_squares, EXP_COEFS, EXP_EDGES, FREQ_TOTAL, REGLU_PAIRS, REQUANTIZE_EDGE_X, REQUANTIZE_PARAMS,
};
use crate::conformance::generate::models::{random_cum, SENTENCES};
use crate::conformance::generate::primitives::{
    shift_ties, CLAMP_EDGES, DIV32_EDGES, DIV64_DIVISORS, DIV64_NUMERATORS, ISQRT_EDGES, ISQRT_ROOTS, SRA32_EDGES, SRA64_EDGES, UDIV_DIVISORS,
    UDIV_NUMERATORS, UDIV_ODD_DIVISORS, UDIV_TIE_DIVISORS,
};
use crate::conformance::generate::rng::Rng;
use crate::conformance::generate::tables::THETA_Q16;
use crate::conformance::op_table::Op;
use crate::conformance::ops::{reference_op, Context, Outcome};
use crate::container::{read_file, OuterCodec, ReadLimits};
use crate::tables::rope_tables;

/// What a draw may use.
pub struct Limits<'a> {
    /// Tokens per case for model, chunk and file ops (texts are cut to this
    /// many bytes: a token covers at least one byte).
    pub max_tokens: usize,
    /// The implementation's features: a draw needs only those (no level
    /// above 1 without `levels`, no sink key without `sink_key`).
    pub features: &'a BTreeSet<String>,
}

impl Limits<'_> {
    fn has(&self, f: &str) -> bool {
        self.features.contains(f)
    }
}

/// One drawn request: its arguments and the context features it needs
/// (`op_table::CONTEXT_FEATURES`), and tags saying which edge it aims at.
pub struct Drawn {
    pub args: Value,
    pub context: Vec<&'static str>,
    pub tags: Vec<&'static str>,
}

fn drawn(args: Value) -> Drawn {
    Drawn { args, context: Vec::new(), tags: Vec::new() }
}

/// The published models: name and token capacity (rope rows). Both have a
/// vocabulary of 1024 with `<|bos|>` = 1022 and `<|eos|>` = 1023.
const MODELS: [(&str, usize); 2] = [("v000", 64), ("v001", 1024)];
const VOCAB: u32 = 1024;

/// Draws the arguments of one `op` request.
pub fn draw(op: Op, r: &mut Rng, lim: &Limits, ctx: &Context) -> Drawn {
    match op {
        Op::SraRneTteS32 => {
            let sh = r.below(32) as u32;
            let v = match r.below(4) {
                0 => pick_i128(r, &shift_ties(sh, i32::MIN.into(), i32::MAX.into())).map(|t| t + r.range(-1, 1) as i128),
                1 => Some(if r.below(9) == 0 { i32::MIN.into() } else { pick(r, &SRA32_EDGES).into() }),
                2 => Some(pow2_pm(r, 31)),
                _ => None,
            };
            let v = v.and_then(|v| i32::try_from(v).ok()).unwrap_or_else(|| r.i32_any_scale());
            drawn(json!({"v": v, "sh": sh}))
        }
        Op::SraRneTteS64ToS32 => {
            let sh = r.below(64) as u32;
            let v = match r.below(5) {
                0 => pick_i128(r, &shift_ties(sh, i64::MIN.into(), i64::MAX.into())).map(|t| t + r.range(-1, 1) as i128),
                1 => Some(pick(r, &SRA64_EDGES).into()),
                2 => Some(pow2_pm(r, 63)),
                // Just inside / outside the i32 range after the shift (saturation).
                3 if sh < 62 => Some(((pick(r, &[i32::MAX, i32::MIN]) as i128) + r.range(-1, 1) as i128) << sh),
                _ => None,
            };
            let v = v.and_then(|v| i64::try_from(v).ok()).unwrap_or_else(|| r.i64_any_scale());
            drawn(json!({"v": crate::conformance::case::int(v), "sh": sh}))
        }
        Op::UdivRneTteU32 => {
            let (n, d) = udiv_pair(r);
            drawn(json!({"n": n, "d": d}))
        }
        Op::DivRneTteS32 => {
            let (n, d) = loop {
                let (n, d) = match r.below(3) {
                    0 => (pick(r, &DIV32_EDGES), pick(r, &DIV32_EDGES)),
                    1 => {
                        let (n, d) = udiv_pair(r);
                        let n = (n >> r.below(2)) as i64;
                        let d = (d.min(i32::MAX as u32)) as i64;
                        ((n * sign(r)) as i32, (d * sign(r)) as i32)
                    }
                    _ => (r.i32_any_scale(), r.i32_any_scale()),
                };
                if !(n == i32::MIN && d == -1) {
                    break (n, d); // i32::MIN / −1 is outside the spec's domain
                }
            };
            drawn(json!({"n": n, "d": d}))
        }
        Op::DivRneTteS64ToS32 => {
            let (n, d): (i64, u64) = match r.below(3) {
                0 => (pick(r, &DIV64_NUMERATORS), pick(r, &DIV64_DIVISORS)),
                1 => {
                    let d = pick(r, &[3u64, 5, 65535, 65536, 131070, 196605, 2, 7]);
                    let q = r.range(0, 1 << 20);
                    let rem = if r.bool() { (d as i64 - 1) / 2 } else { d as i64 / 2 };
                    ((q * d as i64 + rem) * sign(r), d)
                }
                _ => (r.i64_any_scale(), r.i64_any_scale().unsigned_abs()),
            };
            drawn(json!({"n": crate::conformance::case::int(n), "d": crate::conformance::case::int(d)}))
        }
        Op::Isqrt32 => {
            let x = match r.below(3) {
                0 => pick(r, &ISQRT_EDGES) as i64,
                1 => {
                    let k = if r.bool() { pick(r, &ISQRT_ROOTS) as i64 } else { r.range(0, 65535) };
                    (k * k + r.range(-1, 1)).clamp(0, u32::MAX as i64)
                }
                _ => r.u32_any_scale() as i64,
            };
            drawn(json!({"x": x}))
        }
        Op::ClampI8 => {
            let x = match r.below(3) {
                0 => pick(r, &CLAMP_EDGES),
                1 => pick(r, &[-128i32, 127, -127, 128, -129]) + r.range(-2, 2) as i32,
                _ => r.i32_any_scale() >> r.below(24),
            };
            drawn(json!({"x": x}))
        }
        Op::Argmax => {
            let n = pick(r, &[1usize, 2, 3, 5, 17, 258, 1024]);
            let mut xs: Vec<i32> = match r.below(4) {
                0 => vec![pick(r, &[0, i32::MIN, i32::MAX, -1]); n],
                1 => (0..n).map(|_| pick(r, &[i32::MIN, i32::MAX, 0, -1, 1])).collect(),
                _ => (0..n).map(|_| r.i32_any_scale() >> r.below(20)).collect(),
            };
            if r.bool() {
                plant_max(r, &mut xs);
            }
            drawn(json!({"xs": a32(&xs)}))
        }
        Op::Exp2Table => drawn(json!({})),
        Op::RopeTable => {
            let rows = if r.bool() { pick(r, &[0usize, 1, 2, 63, 64, 65, 1023, 1024]) } else { r.below(1100) as usize };
            let theta = match r.below(3) {
                0 => THETA_Q16,
                1 => pick(r, &[65_536u32, 3_276_800_000, 1, u32::MAX]),
                _ => r.u32_any_scale(),
            };
            drawn(json!({"rows": rows, "theta_q16": theta}))
        }
        Op::ModelTables => drawn(json!({"model": MODELS[r.below(2) as usize].0})),
        Op::ExpQ16 => {
            let coef = if r.below(4) == 0 { r.u32_any_scale() >> r.below(8) } else { pick(r, &EXP_COEFS) };
            let d = match r.below(4) {
                0 => pick(r, &EXP_EDGES),
                1 => {
                    // Where t = (n·coef + 2^23) >> 24 steps, and where ip = t >> 8 reaches 31.
                    let c = i64::from(coef.max(1));
                    let t = if r.bool() { pick(r, &[1i64, 255, 256, 257, 511, 512, 2047, 4096, 7935, 31 << 8]) } else { r.range(1, 8000) };
                    let n = ((t << 24) - (1 << 23) + c - 1) / c + r.range(-1, 0);
                    -(n.clamp(0, i32::MAX as i64) as i32)
                }
                2 => -(r.range(0, if coef > 100_000 { 12_000 } else { 120_000 }) as i32),
                _ => r.i32_any_scale(),
            };
            drawn(json!({"d": d, "coef_q24": coef}))
        }
        Op::Requantize => requantize(r),
        Op::Linear => {
            let n_in = if r.below(4) == 0 { pick(r, &[384usize, 1024]) } else { r.range(1, 64) as usize };
            let n_out = r.range(1, 8) as usize;
            let x = i8_vector(r, n_in);
            let w = i8_vector(r, n_in * n_out);
            drawn(json!({"x": a8(&x), "w": a8(&w), "n_out": n_out}))
        }
        Op::Rmsnorm => rmsnorm(r),
        Op::Reglu => {
            let n = if r.below(4) == 0 { pick(r, &[64usize, 1024]) } else { r.range(0, 32) as usize };
            let (gate, up): (Vec<i8>, Vec<i8>) = (0..n)
                .map(|_| if r.bool() { pick(r, &REGLU_PAIRS) } else { (r.i8_in(-128, 127), r.i8_in(-128, 127)) })
                .unzip();
            drawn(json!({"gate": a8(&gate), "up": a8(&up)}))
        }
        Op::Rope => {
            let (cos, sin) = rope_tables(1024, THETA_Q16);
            let p = if r.bool() { pick(r, &[0usize, 1, 2, 63, 64, 511, 1023]) } else { r.below(1024) as usize };
            let (mut c, mut s) = (cos[p * 32..p * 32 + 32].to_vec(), sin[p * 32..p * 32 + 32].to_vec());
            if r.below(8) == 0 {
                // Rows no formula gives: the extremes of i16.
                for v in c.iter_mut().chain(s.iter_mut()) {
                    if r.below(3) == 0 {
                        *v = pick(r, &[i16::MIN, i16::MAX, 16384, -16384]);
                    }
                }
            }
            let x = match r.below(3) {
                0 => vec![pick(r, &[127i8, -128, -127, 1, -1]); 64],
                _ => i8_vector(r, 64),
            };
            drawn(json!({"x": a8(&x), "cos": a16(&c), "sin": a16(&s), "query": r.bool()}))
        }
        Op::Attention => attention(r, lim),
        Op::FreqTable => freq_table(r),
        Op::Tokenize => {
            let (model, _) = MODELS[r.below(2) as usize];
            let (text, tags) = text(r, lim.max_tokens);
            Drawn { args: json!({"model": model, "text": {"hex": hex(&text)}}), context: Vec::new(), tags }
        }
        Op::ModelLogits | Op::ModelTrace | Op::ChunkEncode | Op::ChunkDecode => model_op(op, r, lim, ctx),
        Op::CoderEncode | Op::CoderDecode => coder(op, r, ctx),
        Op::Compress | Op::Decompress => file_op(op, r, lim, ctx),
    }
}

fn pick<T: Copy>(r: &mut Rng, xs: &[T]) -> T {
    xs[r.below(xs.len() as u64) as usize]
}

fn pick_i128(r: &mut Rng, xs: &[i128]) -> Option<i128> {
    (!xs.is_empty()).then(|| pick(r, xs))
}

fn sign(r: &mut Rng) -> i64 {
    if r.bool() {
        -1
    } else {
        1
    }
}

/// ±(2^k + δ) with k < `bits` and δ ∈ {−1, 0, 1}.
fn pow2_pm(r: &mut Rng, bits: u64) -> i128 {
    let k = r.below(bits);
    (((1i128 << k) + r.range(-1, 1) as i128) * sign(r) as i128).max(-(1i128 << bits))
}

fn a8(xs: &[i8]) -> Value {
    array(&xs.iter().map(|&x| x as i64).collect::<Vec<_>>(), Dtype::I8)
}
fn a16(xs: &[i16]) -> Value {
    array(&xs.iter().map(|&x| x as i64).collect::<Vec<_>>(), Dtype::I16)
}
fn a32(xs: &[i32]) -> Value {
    array(&xs.iter().map(|&x| x as i64).collect::<Vec<_>>(), Dtype::I32)
}
fn au32(xs: &[u32]) -> Value {
    array(&xs.iter().map(|&x| x as i64).collect::<Vec<_>>(), Dtype::U32)
}

/// The maximum planted two to four times (ties go to the smallest index).
fn plant_max(r: &mut Rng, xs: &mut [i32]) {
    let Some(&m) = xs.iter().max() else { return };
    for _ in 0..2 + r.below(3) {
        let at = r.below(xs.len() as u64) as usize;
        xs[at] = m;
    }
}

/// An i8 vector: all one extreme, alternating extremes, small, or uniform.
fn i8_vector(r: &mut Rng, n: usize) -> Vec<i8> {
    match r.below(5) {
        0 => vec![pick(r, &[-128i8, 127, -127]); n],
        1 => (0..n).map(|i| if i % 2 == 0 { 127 } else { -128 }).collect(),
        2 => r.i8_vec(n, -3, 3),
        _ => r.i8_vec(n, -128, 127),
    }
}

/// A `udiv` pair: odd divisors with remainder (d−1)/2 (§11 row 1), exact
/// ties, zero divisors, the edge lists, random scale. Divisors stay ≤ 2^31.
fn udiv_pair(r: &mut Rng) -> (u32, u32) {
    let small = |r: &mut Rng| r.below(17) as u32;
    match r.below(6) {
        0 => (pick(r, &UDIV_NUMERATORS), pick(r, &UDIV_DIVISORS)),
        1 => {
            let d = if r.bool() { pick(r, &UDIV_ODD_DIVISORS) } else { (r.u32_any_scale().min(1 << 31) | 1).max(1) };
            let q = if r.bool() { small(r) as u64 } else { r.u32_any_scale() as u64 };
            let n = (q * d as u64 + (d as u64 - 1) / 2).min(u32::MAX as u64);
            (n as u32, d)
        }
        2 => {
            let d = pick(r, &UDIV_TIE_DIVISORS);
            let q = small(r) as u64;
            ((q * d as u64 + d as u64 / 2).min(u32::MAX as u64) as u32, d)
        }
        3 => (small(r), small(r)),
        4 => (r.u32_any_scale(), 0),
        _ => (r.u32_any_scale(), r.u32_any_scale().min(1 << 31)),
    }
}

fn requantize(r: &mut Rng) -> Drawn {
    let (mult, shift) = match r.below(3) {
        0 => pick(r, &REQUANTIZE_PARAMS),
        1 => (1, r.range(1, 31) as i32),
        _ => (r.i32_any_scale() >> r.below(20), r.range(-7, 40) as i32),
    };
    let n = if r.below(6) == 0 { pick(r, &[384usize, 1024, 2048]) } else { r.range(1, 16) as usize };
    let ties = if shift > 0 { shift_ties(shift as u32, i32::MIN.into(), i32::MAX.into()) } else { Vec::new() };
    let x: Vec<i32> = (0..n)
        .map(|_| match r.below(4) {
            0 if !ties.is_empty() && mult == 1 => pick(r, &ties) as i32,
            1 => pick(r, &REQUANTIZE_EDGE_X),
            2 => pow2_pm(r, 31).clamp(i32::MIN.into(), i32::MAX.into()) as i32,
            _ => r.i32_any_scale() >> r.below(16),
        })
        .collect();
    drawn(json!({"x": a32(&x), "mult": mult, "shift": shift}))
}

/// Mean squares ⌊Σx²/D⌋ at which round-half-up division changes RMSNorm's
/// inverse (§11 row 1), found once.
fn rms_witness_means() -> &'static [u64] {
    static MEANS: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    MEANS.get_or_init(|| (0..=16129u64).filter(|&m| crate::conformance::witness::rms_inverse_differs(m)).collect())
}

fn rmsnorm(r: &mut Rng) -> Drawn {
    let d = if r.bool() { pick(r, &[64usize, 128, 256, 384, 512]) } else { r.range(1, 40) as usize };
    let mut tags = Vec::new();
    let witness = r.below(3) == 0;
    let x = match witness.then(|| pick(r, rms_witness_means())).and_then(|m| with_sum_squares(r, d, m * d as u64, m * d as u64 + d as u64 - 1)) {
        Some(x) => {
            tags.push("rms_witness");
            x
        }
        None => {
            let amp = pick(r, &[127i8, 40, 8, 2]);
            if r.below(6) == 0 {
                vec![pick(r, &[0i8, 127, -127, -128]); d]
            } else {
                r.i8_vec(d, -amp, amp)
            }
        }
    };
    let w = i8_vector(r, d);
    Drawn { args: json!({"x": a8(&x), "w": a8(&w)}), context: Vec::new(), tags }
}

fn attention(r: &mut Rng, lim: &Limits) -> Drawn {
    let n_heads = if r.bool() { pick(r, &[1usize, 6]) } else { r.range(1, 8) as usize };
    let len = qkv_len(n_heads);
    let d = 64 * n_heads;
    let mult: Vec<i32> = (0..n_heads)
        .map(|_| match r.below(3) {
            0 => pick(r, &[4096, i32::MAX, -30000, 20000, 1, 0]),
            _ => r.range(500, 40000) as i32,
        })
        .collect();
    let mut tags = Vec::new();
    let mut args = json!({"n_heads": n_heads, "score_mult": mult, "sink_key": null, "rope_theta_q16": THETA_Q16, "output": "all"});
    let steps: Vec<Vec<i8>> = match r.below(5) {
        // Equal scores (q = 0) over extreme values: −127.5 ties, the −128 clamp.
        0 => {
            tags.push("equal_scores");
            (0..r.range(1, 6))
                .map(|_| {
                    let mut s = vec![0i8; len];
                    let v = pick(r, &[-128i8, -127, 127, 0]);
                    s[d + 64..].fill(v);
                    s
                })
                .collect()
        }
        // A long run of one step: the accumulator passes 2^31 at 259 steps.
        1 => {
            tags.push("long_repeat");
            let mut s = vec![0i8; len];
            s[d + 64..].fill(pick(r, &[127i8, -127, -128]));
            if r.bool() {
                let k = r.i8_vec(64, -3, 3);
                s[d..d + 64].copy_from_slice(&k);
            }
            let count = r.range(250, 420) as usize;
            args["repeat"] = json!({"qkv": a8(&s), "count": count});
            args["output"] = json!("last");
            vec![s]
        }
        // A new maximum late: q and k in one direction, k growing step by step.
        2 => {
            tags.push("late_maximum");
            let n = r.range(2, 16) as usize;
            (0..n)
                .map(|t| {
                    let mut s = r.i8_vec(len, -127, 127);
                    for h in 0..n_heads {
                        for i in 0..64 {
                            s[h * 64 + i] = if i % 32 >= 24 { 100 } else { 0 };
                        }
                    }
                    for i in 0..64 {
                        s[d + i] = if i % 32 >= 24 { (10 + 10 * t).min(127) as i8 } else { 0 };
                    }
                    s
                })
                .collect()
        }
        _ => {
            let amp = pick(r, &[127i8, 60, 20]);
            (0..r.range(1, 40)).map(|_| r.i8_vec(len, -amp, amp)).collect()
        }
    };
    args["steps"] = Value::Array(steps.iter().map(|s| a8(s)).collect());
    let mut context = Vec::new();
    if lim.has("sink_key") && r.below(4) == 0 {
        let sink = match r.below(3) {
            0 => vec![pick(r, &[127i8, -127, 0]); 64],
            _ => r.i8_vec(64, -127, 127),
        };
        args["sink_key"] = a8(&sink);
        context.push("sink_key");
    }
    Drawn { args, context, tags }
}

fn freq_table(r: &mut Rng) -> Drawn {
    let v = pick(r, &[1usize, 2, 3, 17, 256, 300, 1024]);
    let mut tags = Vec::new();
    let mut logits: Vec<i32> = match r.below(6) {
        0 => {
            tags.push("all_equal");
            vec![pick(r, &[0, -123456, i32::MIN, i32::MAX]); v]
        }
        1 => {
            tags.push("dominant");
            let mut l = vec![r.range(-50_000, 0) as i32; v];
            let at = r.below(v as u64) as usize;
            l[at] = pick(r, &[50_000, 1_000_000, i32::MAX]);
            l
        }
        2 => {
            tags.push("extreme");
            (0..v).map(|_| pick(r, &[i32::MIN, i32::MIN + 1, i32::MAX, 0, -1, 1])).collect()
        }
        3 => {
            tags.push("all_distinct");
            let step = r.range(1, 5000) as i32;
            (0..v as i32).map(|i| i.saturating_mul(step)).collect()
        }
        _ => {
            let spread = pick(r, &[300i64, 3000, 30_000, 300_000, 3_000_000]);
            (0..v).map(|_| r.range(-spread, spread) as i32).collect()
        }
    };
    if r.below(3) == 0 {
        plant_max(r, &mut logits);
    }
    let coef = match r.below(4) {
        0 => pick(r, &[1000u32, 17_000, 0, 1]),
        1 => r.u32_any_scale() >> r.below(12),
        _ => pick(r, &EXP_COEFS),
    };
    let total = match r.below(4) {
        0 => (v as u32 + 1 + r.below(5) as u32).max(2),
        1 => pick(r, &[1u32 << 30, 1000.max(v as u32 + 1)]),
        _ => FREQ_TOTAL,
    };
    Drawn { args: json!({"logits": a32(&logits), "coef_q24": coef, "total": total}), context: Vec::new(), tags }
}

/// Text fragments of many scripts and shapes (besides the corpus
/// generator's [`SENTENCES`]).
const PIECES: &[&str] = &[
    "日本語のテキスト", "Ελληνικά", "Привет, мир", "مرحبا بالعالم", "שלום", "हिन्दी", "한국어", "ไทย",
    "😀🎉", "👍🏽", "👨‍👩‍👧", "🇫🇷", "e\u{301}", "\u{200b}", "\u{feff}", "\u{fffd}",
    "<|bos|>", "<|eos|>", "<|bos", "|>", "<|", "'s", "'LL", "don't",
    "\r\n", "\r", "\n\n\n", "\t", "\u{0}", "\u{1b}[0m", "\u{7f}", "\u{85}",
    "0123456789", "3.14159", "1,000,000", "    ", "a", "The", " the", "!!!",
];

/// A text from 1 to 8 pieces: fragments of the corpus generator's sentences
/// (cut at character boundaries), pieces of other scripts, specials, control
/// characters, runs of one character; rarely invalid UTF-8. Cut to `max` bytes.
fn text(r: &mut Rng, max: usize) -> (Vec<u8>, Vec<&'static str>) {
    let mut t = String::new();
    let mut tags = Vec::new();
    for _ in 0..r.range(1, 8) {
        match r.below(4) {
            0 => {
                let (_, s) = pick(r, SENTENCES);
                let chars: Vec<char> = s.chars().collect();
                if !chars.is_empty() {
                    let a = r.below(chars.len() as u64) as usize;
                    let b = a + r.below((chars.len() - a) as u64 + 1) as usize;
                    t.extend(&chars[a..b]);
                }
            }
            1 => {
                tags.push("run");
                let c = pick(r, &[" ", "\n", "\t", "a", "\r\n", "é", "😀", "0"]);
                t.push_str(&c.repeat(r.range(2, 300) as usize));
            }
            _ => t.push_str(pick(r, PIECES)),
        }
    }
    let mut bytes = t.into_bytes();
    if r.below(25) == 0 {
        tags.push("invalid_utf8");
        let at = r.below(bytes.len() as u64 + 1) as usize;
        let bad: &[u8] = pick(r, &[&[0xff][..], &[0xc0, 0x80], &[0xed, 0xa0, 0x80], &[0x80], &[0xe2, 0x82]]);
        bytes.splice(at..at, bad.iter().copied());
    }
    let mut cut = bytes.len().min(max);
    while cut > 0 && cut < bytes.len() && std::str::from_utf8(&bytes[..cut]).is_err() && std::str::from_utf8(&bytes).is_ok() {
        cut -= 1; // on a character boundary (an invalid text is cut anywhere)
    }
    bytes.truncate(cut);
    (bytes, tags)
}

/// Tokens for one chunk of `model`: a tokenized text, uniform ids, one id
/// repeated or a short period repeated (long-context accumulators), the
/// specials; rarely one id outside the vocabulary (must be refused).
fn tokens(r: &mut Rng, model: &str, n: usize, ctx: &Context) -> Vec<u32> {
    let mut t: Vec<u32> = match r.below(5) {
        0 => {
            let (text, _) = text(r, 4 * n.max(1));
            let args = json!({"model": model, "text": {"hex": hex(&text)}});
            match reference_op(ctx, Op::Tokenize, &args) {
                Outcome::Result(v) => as_array(&v["tokens"]).unwrap_or_default().into_iter().map(|x| x as u32).take(n).collect(),
                _ => Vec::new(),
            }
        }
        1 => vec![r.below(u64::from(VOCAB)) as u32; n],
        2 => {
            let period: Vec<u32> = (0..r.range(2, 5)).map(|_| r.below(u64::from(VOCAB)) as u32).collect();
            (0..n).map(|i| period[i % period.len()]).collect()
        }
        _ => (0..n).map(|_| r.below(u64::from(VOCAB)) as u32).collect(),
    };
    while t.len() < n {
        t.push(r.below(u64::from(VOCAB)) as u32);
    }
    if r.below(6) == 0 && !t.is_empty() {
        for _ in 0..r.range(1, 3) {
            let at = r.below(t.len() as u64) as usize;
            t[at] = pick(r, &[VOCAB - 2, VOCAB - 1, 0]);
        }
    }
    if r.below(40) == 0 && !t.is_empty() {
        let at = r.below(t.len() as u64) as usize;
        t[at] = VOCAB + r.below(3) as u32;
    }
    t
}

/// A chunk length up to `cap`, biased to the powers of two and their neighbours.
fn chunk_len(r: &mut Rng, cap: usize) -> usize {
    let n = if r.bool() { pick(r, &[1usize, 2, 63, 64, 65, 127, 128, 255, 256, 511, 512, 1023, 1024]) } else { r.range(0, cap as i64) as usize };
    n.min(cap)
}

fn model_op(op: Op, r: &mut Rng, lim: &Limits, ctx: &Context) -> Drawn {
    let (model, rows) = MODELS[r.below(2) as usize];
    // Without `levels`, chunks of at most 64 tokens (the one chunk length then).
    let cap = rows.min(lim.max_tokens).min(if lim.has("levels") { usize::MAX } else { 64 });
    let n = chunk_len(r, cap);
    let toks = tokens(r, model, n, ctx);
    let mut context = Vec::new();
    let args = match op {
        Op::ModelLogits | Op::ModelTrace => {
            let last = n.min(rows - 1).min(cap.saturating_sub(1));
            if last >= 64 {
                context.push("levels");
            }
            if op == Op::ModelTrace {
                json!({"model": model, "tokens": au32(&toks), "position": r.range(0, last as i64)})
            } else {
                let mut positions: Vec<usize> = match r.below(3) {
                    0 => vec![last],
                    1 => vec![0, last],
                    _ => (0..r.range(1, 6)).map(|_| r.range(0, last as i64) as usize).collect(),
                };
                positions.sort_unstable();
                positions.dedup();
                json!({"model": model, "tokens": au32(&toks), "positions": positions})
            }
        }
        _ => {
            if n > 64 {
                context.push("levels");
            }
            if op == Op::ChunkEncode {
                json!({"model": model, "tokens": au32(&toks)})
            } else {
                let bytes = match reference_op(ctx, Op::ChunkEncode, &json!({"model": model, "tokens": au32(&toks)})) {
                    Outcome::Result(v) => v["bytes_hex"].as_str().unwrap_or("").to_string(),
                    _ => String::new(),
                };
                let mut b = unhex(&bytes).unwrap_or_default();
                mutate(r, &mut b, 8);
                json!({"model": model, "bytes_hex": hex(&b), "n": n})
            }
        }
    };
    Drawn { args, context, tags: Vec::new() }
}

/// Rarely (1 in `odds`), one byte flipped, dropped or appended.
fn mutate(r: &mut Rng, b: &mut Vec<u8>, odds: u64) {
    if r.below(odds) != 0 {
        return;
    }
    match (r.below(3), b.is_empty()) {
        (0, false) => {
            let at = r.below(b.len() as u64) as usize;
            b[at] ^= 1 << r.below(8);
        }
        (1, false) => {
            b.pop();
        }
        _ => b.push(r.below(256) as u8),
    }
}

fn coder(op: Op, r: &mut Rng, ctx: &Context) -> Drawn {
    const T30: u32 = 1 << 30;
    let v = pick(r, &[2usize, 3, 17, 1024]);
    let n = if r.bool() { r.range(0, 40) as usize } else { r.range(40, 600) as usize };
    let per_step = r.below(4) == 0;
    let table = |r: &mut Rng| match r.below(4) {
        // Near-half two-symbol tables keep the coder in underflow.
        0 => vec![T30 / 2 + pick(r, &[1u32, 12345, T30 / 64]) - pick(r, &[0u32, 2]), T30],
        _ => {
            let total = pick(r, &[T30, FREQ_TOTAL, 1000, v as u32 + 1]).max(v as u32 + 1);
            random_cum(r, v, total)
        }
    };
    let tables: Vec<Vec<u32>> = if per_step { (0..n).map(|_| table(r)).collect() } else { vec![table(r)] };
    let symbols: Vec<u32> = (0..n)
        .map(|i| {
            let len = tables[if per_step { i } else { 0 }].len() as u64;
            match r.below(10) {
                0 => pick(r, &[0, len as u32 - 1]),
                1 => 1.min(len as u32 - 1),
                _ => r.below(len) as u32,
            }
        })
        .collect();
    let mut symbols = symbols;
    if r.below(30) == 0 && !symbols.is_empty() {
        symbols[0] = tables[0].len() as u32; // out of range: must be refused
    }
    let mut args = if per_step {
        json!({"symbols": au32(&symbols), "tables": tables.iter().map(|t| au32(t)).collect::<Vec<_>>()})
    } else {
        json!({"symbols": au32(&symbols), "cum": au32(&tables[0])})
    };
    if op == Op::CoderDecode {
        let bytes = match reference_op(ctx, Op::CoderEncode, &args) {
            Outcome::Result(v) => unhex(v["bytes_hex"].as_str().unwrap_or("")).unwrap_or_default(),
            _ => (0..r.range(0, 8)).map(|_| r.below(256) as u8).collect(),
        };
        let mut b = bytes;
        mutate(r, &mut b, 6);
        if let Some(o) = args.as_object_mut() {
            o.remove("symbols");
            o.insert("bytes_hex".into(), json!(hex(&b)));
            o.insert("n".into(), json!(n));
        }
    }
    drawn(args)
}

fn file_op(op: Op, r: &mut Rng, lim: &Limits, ctx: &Context) -> Drawn {
    let (model, rows) = MODELS[r.below(2) as usize];
    let (text, mut tags) = text(r, lim.max_tokens);
    let mut context = Vec::new();
    // Levels 2..5 need `levels`; v000 has only its capacity (64 tokens).
    let level: Option<u8> = match (model, lim.has("levels"), r.below(3)) {
        ("v001", true, 0 | 1) => Some(r.range(1, 5) as u8),
        (_, _, 0) => Some(1),
        _ => None,
    };
    if level.is_some_and(|l| l > 1) || (level.is_none() && rows > 64 && lim.has("levels")) {
        context.push("levels");
    }
    if level.is_none() && rows > 64 && !lim.has("levels") {
        // capacity = 1024 tokens for v001: a level the implementation lacks
        return file_op(op, r, lim, ctx);
    }
    let codec = pick(r, &["brotli", "zstd"]);
    // Always given, as in the corpus: the field is informational (§9), and an
    // implementation that cannot choose it (the Python package hashes the
    // model path) is compared with it masked to the value asked for.
    let published = crate::model::load::upstream_model_id_hash(&format!("{model}_eng.czm")).map_or("00000000".to_string(), |h| format!("{h:08x}"));
    let hash = if r.bool() { published } else { pick(r, &["00000000", "deadbeef"]).to_string() };
    let args = json!({"model": model, "text": {"hex": hex(&text)}, "level": level, "codec": codec, "model_id_hash": hash});
    if op == Op::Compress {
        return Drawn { args, context, tags };
    }
    let file = match reference_op(ctx, Op::Compress, &args) {
        Outcome::Result(v) => unhex(v["file_hex"].as_str().unwrap_or("")).unwrap_or_default(),
        _ => Vec::new(),
    };
    let file = if r.below(5) == 0 && !file.is_empty() {
        tags.push("mutated");
        mutate_file(r, file)
    } else {
        file
    };
    Drawn { args: json!({"model": model, "file_hex": hex(&file)}), context, tags }
}

/// A byte of the outer header, or of the inner payload (re-compressed with
/// the file's codec), flipped.
fn mutate_file(r: &mut Rng, mut file: Vec<u8>) -> Vec<u8> {
    let parsed = read_file(&file, &ReadLimits { model_capacity_tokens: None });
    match (r.bool(), parsed) {
        (true, Ok(f)) if !f.payload.is_empty() => {
            let mut p = f.payload.clone();
            let at = if r.bool() { r.below(p.len().min(32) as u64) } else { r.below(p.len() as u64) } as usize;
            p[at] ^= 1 << r.below(8);
            let codec = if file[7] == OuterCodec::Zstd.id() { OuterCodec::Zstd } else { OuterCodec::Brotli };
            let mut out = file[..16.min(file.len())].to_vec();
            out.extend(crate::container::compress(codec, &p).unwrap_or_default());
            out
        }
        _ => {
            let at = r.below(file.len().min(16) as u64) as usize;
            file[at] ^= 1 << r.below(8);
            file
        }
    }
}
