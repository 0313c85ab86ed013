//! `model/*.jsonl` (tokenize, logits for token histories, per-layer traces)
//! and `chunk/*.jsonl` (the §7 coder on explicit tables, and whole chunks
//! coded with v000, v001 and the synthetic models).

use serde_json::{json, Value};

use super::rng::Rng;
use super::synthetic::SyntheticModel;
use super::{Gen, Suites};
use crate::coder::Encoder;
use crate::conformance::case::{array, as_array, hex, Dtype};

/// The four token sequences of the upstream logits vectors (just token ids).
const SEQUENCES: &[(&str, &[u32])] = &[
    ("s_alice", &[65, 108, 568, 424, 320, 103, 259, 720, 291, 979, 998, 256, 105, 531, 279, 266, 274, 795, 378, 32, 350, 266, 270, 355, 333, 262, 281, 273, 107, 46]),
    ("s_fox", &[460, 683, 890, 281, 721, 110, 280, 111, 120, 662, 367, 920, 715, 262, 300, 97, 122, 121, 289, 429, 46, 32, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 33]),
    ("s_code", &[102, 110, 288, 406, 40, 41, 32, 123, 10, 32, 32, 32, 830, 696, 108, 110, 33, 40, 34, 72, 437, 111, 44, 873, 33, 34, 41, 59, 10, 125, 10]),
    (
        "s_random64",
        &[
            748, 835, 214, 124, 958, 252, 595, 649, 419, 588, 130, 795, 76, 711, 181, 760, 852, 412, 555, 860, 839, 921, 414, 301, 92, 900, 130, 145, 429, 476, 366, 952, 1018, 128, 598,
            562, 851, 904, 917, 155, 724, 395, 417, 781, 474, 971, 498, 796, 221, 420, 671, 148, 912, 766, 37, 149, 740, 241, 772, 152, 931, 46, 552, 888,
        ],
    ),
];

/// Short texts for `tokenize` (written here, not taken from any corpus).
pub const SENTENCES: &[(&str, &str)] = &[
    ("hello", "Hello, world!"),
    ("fox", "The quick brown fox jumps over the lazy dog. 0123456789!"),
    ("code", "fn main() {\n    println!(\"Hello\");\n}\n"),
    ("specials", "<|bos|>text<|eos|> and <|bos |> <|eos|<|bos|>"),
    ("spaces", "  multiple   spaces\t\ttabs\r\n\r\nCRLF \n\n\n end   "),
    ("contractions", "don't I'LL we've THEY'RE she'd you'M"),
    ("unicode", "über café naïve — “quotes” 日本語のテキスト 😀🎉 Ελληνικά"),
    ("empty", ""),
    ("digits", "12345678901234 1.5e10 3,141,592"),
    ("controls", "\u{0}\u{1}\u{7f}\u{1b}[0m"),
    ("repeat", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
];

fn tokens_val(t: &[u32]) -> Value {
    array(&t.iter().map(|&x| x as i64).collect::<Vec<_>>(), Dtype::U32)
}

fn text_hex(s: &str) -> Value {
    json!({"hex": hex(s.as_bytes())})
}

/// Corpus texts (sorted names, with SHA-256), excluding the invalid-UTF-8 one.
pub fn corpus(dir: &std::path::Path) -> Result<Vec<(String, Vec<u8>, String)>, String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list corpus {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for n in names {
        let bytes = std::fs::read(dir.join(&n)).map_err(|e| format!("cannot read {n}: {e}"))?;
        let sha = crate::conformance::case::sha256_hex(&bytes);
        out.push((n, bytes, sha));
    }
    Ok(out)
}

pub fn corpus_ref(name: &str, sha: &str) -> Value {
    json!({"corpus": name, "sha256": sha})
}

struct ModelRef {
    name: String,
    short: String,
    requires: Vec<&'static str>,
    rows: usize,
    vocab: usize,
}

pub fn generate(g: &mut Gen, synthetic: &[SyntheticModel]) -> Result<(), String> {
    let mut models = vec![
        ModelRef { name: "v000".into(), short: "v000".into(), requires: vec![], rows: 64, vocab: 1024 },
        ModelRef { name: "v001".into(), short: "v001".into(), requires: vec![], rows: 1024, vocab: 1024 },
    ];
    for s in synthetic {
        models.push(ModelRef { name: s.model_ref(), short: s.name.clone(), requires: s.requires(), rows: s.rope_rows, vocab: s.vocab });
    }
    let corpus_dir = g.ctx.corpus_dir.clone();
    let corpus = corpus(&corpus_dir)?;
    for m in &models {
        g.say(&format!("model steps: {}", m.name));
        model_group(g, m, &corpus)?;
    }
    g.say("coder");
    g.in_suites(Suites::all(&["core"]));
    coder(g)?;
    Ok(())
}

fn file_for(m: &ModelRef, level: &str) -> String {
    let group = if m.name.starts_with("synthetic/") { format!("synthetic_{}", m.short) } else { m.short.clone() };
    format!("{level}/{group}.jsonl")
}

/// The context features of a case on `m` (the op's own come from the op table).
fn req(m: &ModelRef, levels: bool) -> Vec<&'static str> {
    let mut r: Vec<&'static str> = m.requires.clone();
    if levels {
        r.push("levels");
    }
    r
}

fn tokenize(g: &mut Gen, m: &ModelRef, text: Value) -> Result<Vec<u32>, String> {
    let ans = g.answer("tokenize", &json!({"model": m.name, "text": text}))?;
    let t = as_array(&ans["tokens"]).ok_or("tokenize: no tokens")?;
    Ok(t.into_iter().map(|x| x as u32).collect())
}

/// The published models each have a suite, refusals included; the synthetic
/// ones share the opt-in `synthetic` suite, which holds no refusals.
fn suites_of(m: &ModelRef) -> Suites {
    match m.name.as_str() {
        "v000" => Suites::all(&["model-v000"]),
        "v001" => Suites::all(&["model-v001"]),
        _ => Suites { cases: &["synthetic"], rejects: &[] },
    }
}

fn model_group(g: &mut Gen, m: &ModelRef, corpus: &[(String, Vec<u8>, String)]) -> Result<(), String> {
    g.in_suites(suites_of(m));
    let fm = file_for(m, "model");
    let synthetic = m.name.starts_with("synthetic/");
    // tokenize: short texts, then corpus texts (all for v001 and syn_a, a few elsewhere).
    for (name, s) in SENTENCES {
        let id = format!("model.tokenize.{}.{name}", m.short);
        let tags: &[&str] = if *name == "specials" { &["edge", "special_tokens"] } else { &[] };
        g.case(&fm, &id, "tokenize", json!({"model": m.name, "text": text_hex(s)})).context(&req(m, false)).tags(tags).expect_digests(&[("tokens", None)])?;
    }
    let all_corpus = m.short == "v001" || m.short == "syn_a";
    for (name, bytes, sha) in corpus {
        if std::str::from_utf8(bytes).is_err() {
            let id = format!("model.tokenize.{}.reject.{}", m.short, name.replace('.', "_"));
            g.case(&fm, &id, "tokenize", json!({"model": m.name, "text": corpus_ref(name, sha)})).context(&req(m, false)).tags(&["edge"]).reject()?;
            continue;
        }
        if !all_corpus && !["alice_ch1.txt", "utf8_demo.txt", "edge_special_tokens.txt", "edge_emoji.txt"].contains(&name.as_str()) {
            continue;
        }
        let id = format!("model.tokenize.{}.corpus.{}", m.short, name.replace('.', "_"));
        let keep = if bytes.len() > 3000 { Some(Dtype::U32) } else { None };
        g.case(&fm, &id, "tokenize", json!({"model": m.name, "text": corpus_ref(name, sha)})).context(&req(m, false)).expect_digests(&[("tokens", keep)])?;
    }

    // Logits for token histories.
    let mut seqs: Vec<(String, Vec<u32>)> = Vec::new();
    if synthetic {
        for (name, s) in [("fox", SENTENCES[1].1), ("code", SENTENCES[2].1), ("unicode", SENTENCES[6].1)] {
            seqs.push((format!("s_{name}"), tokenize(g, m, text_hex(s))?));
        }
        let mut r = Rng::new(0x30_0000 + m.vocab as u64);
        seqs.push(("s_random".into(), (0..m.rows.min(100)).map(|_| r.below(m.vocab as u64) as u32).collect()));
    } else {
        for (name, t) in SEQUENCES {
            seqs.push((name.to_string(), t.to_vec()));
        }
    }
    for (name, toks) in &seqs {
        let toks: Vec<u32> = toks.iter().copied().take(m.rows).collect();
        let last = toks.len().min(m.rows - 1);
        let levels = last >= 64;
        let args = json!({"model": m.name, "tokens": tokens_val(&toks), "positions": [0, last]});
        g.case(&fm, &format!("model.logits.{}.{name}.ends", m.short), "model_logits", args).context(&req(m, levels)).expect_digests(&[("logits", None), ("cum", None)])?;
        let all: Vec<usize> = (0..=last).collect();
        let args = json!({"model": m.name, "tokens": tokens_val(&toks), "positions": all});
        g.case(&fm, &format!("model.logits.{}.{name}.all", m.short), "model_logits", args).context(&req(m, levels)).expect_digests(&[("logits", Some(Dtype::I32)), ("cum", Some(Dtype::U32))])?;
    }
    // A full-capacity history from a real text.
    if m.rows > 64 {
        let text = corpus.iter().find(|c| c.0 == "alice_ch1.txt").ok_or("corpus: alice_ch1.txt missing")?;
        let toks: Vec<u32> = tokenize(g, m, corpus_ref(&text.0, &text.2))?.into_iter().take(m.rows).collect();
        let mut pos: Vec<usize> = [0usize, 1, 63, 64, 127, 128, 255, 256, 511, 512, 767, 1000, 1023].into_iter().filter(|&p| p < m.rows).collect();
        pos.push(m.rows - 1);
        pos.dedup();
        let args = json!({"model": m.name, "tokens": tokens_val(&toks), "positions": pos});
        g.case(&fm, &format!("model.logits.{}.alice_first{}", m.short, m.rows), "model_logits", args).context(&req(m, true)).expect_digests(&[("logits", Some(Dtype::I32)), ("cum", Some(Dtype::U32))])?;
        let args = json!({"model": m.name, "tokens": tokens_val(&toks), "positions": [m.rows - 1]});
        g.case(&fm, &format!("model.logits.{}.alice_first{}.last", m.short, m.rows), "model_logits", args).context(&req(m, true)).expect_digests(&[("logits", None), ("cum", None)])?;
    }
    // Traces (localisation).
    let (sname, stoks) = &seqs[0];
    for pos in [0usize, 7] {
        let args = json!({"model": m.name, "tokens": tokens_val(stoks), "position": pos});
        let ans = g.case(&fm, &format!("model.trace.{}.{sname}.p{pos}", m.short), "model_trace", args).context(&req(m, false)).expect(&["layers", "logits"])?;
        if synthetic && pos == 7 {
            let stats = activation_stats(&ans);
            g.say(&format!("  {} at position 7: {stats}", m.name));
        }
    }

    // Chunks: real token chunks of corpus texts, short and random chunks.
    let fc = file_for(m, "chunk");
    let mut chunks: Vec<(String, Vec<u32>, Vec<&str>)> = Vec::new();
    let texts = ["alice_ch1.txt", "lcet10_16k.txt", "utf8_demo.txt", "ginga_ja_12k.txt", "page_16k.html", "uemacs_basic.c", "edge_repeat_a_16k.txt", "edge_repeat_space_4k.txt", "edge_repeat_nl_4k.txt"];
    for t in texts {
        let Some(c) = corpus.iter().find(|c| c.0 == t) else { return Err(format!("corpus: {t} missing")) };
        let toks = tokenize(g, m, corpus_ref(&c.0, &c.2))?;
        let stem = t.split('.').next().unwrap_or(t);
        let repeat = t.starts_with("edge_repeat");
        let mut k = 64;
        while k <= m.rows {
            if !repeat || k == m.rows {
                let take: Vec<u32> = toks.iter().copied().skip(if repeat { 0 } else { k / 2 }).take(k).collect();
                let mut tags = vec![];
                if repeat && k >= 512 {
                    tags.push("divergence:i32_accumulator");
                }
                chunks.push((format!("{stem}.k{k}"), take, tags));
            }
            if m.short == "v000" || (!repeat && k >= 256 && t != "alice_ch1.txt") {
                break;
            }
            k *= 2;
        }
    }
    let mut r = Rng::new(0x31_0000 + m.vocab as u64 + m.rows as u64);
    for n in [1usize, 2, 17, 63] {
        chunks.push((format!("random.n{n}"), (0..n).map(|_| r.below(m.vocab as u64) as u32).collect(), vec!["random"]));
    }
    chunks.push(("random.full".into(), (0..m.rows).map(|_| r.below(m.vocab as u64) as u32).collect(), vec!["random"]));
    chunks.push(("specials".into(), vec![(m.vocab - 2) as u32, (m.vocab - 1) as u32, 0, (m.vocab - 1) as u32], vec!["edge"]));
    for (name, toks, tags) in chunks {
        let levels = toks.len() > 64;
        let id = format!("chunk.encode.{}.{name}", m.short);
        let ans = g.case(&fc, &id, "chunk_encode", json!({"model": m.name, "tokens": tokens_val(&toks)})).context(&req(m, levels)).tags(&tags).expect(&["bytes_hex"])?;
        let id = format!("chunk.decode.{}.{name}", m.short);
        let args = json!({"model": m.name, "bytes_hex": ans["bytes_hex"], "n": toks.len()});
        let dec = g.case(&fc, &id, "chunk_decode", args).context(&req(m, levels)).tags(&tags).expect(&["tokens"])?;
        if as_array(&dec["tokens"]).map(|t| t.iter().map(|&x| x as u32).collect::<Vec<_>>()) != Some(toks.clone()) {
            return Err(format!("{id}: the reference does not decode its own chunk"));
        }
    }
    // A chunk of no tokens is not the empty string: the encoder's finish
    // writes one 1 bit, so the canonical encoding of [] is the byte 80, and
    // the reference refuses "" with n = 0 (its re-encoding check). No file
    // holds a 0-token chunk and the spec is silent; both public
    // implementations decode "" to []. Optional: in `divergences` only.
    if !synthetic {
        g.in_suites(Suites::NONE);
        let args = json!({"model": m.name, "bytes_hex": "", "n": 0});
        g.case(&fc, &format!("chunk.decode.{}.reject.empty_chunk", m.short), "chunk_decode", args).context(&req(m, false)).tags(&["divergence:empty_chunk", "edge", "optional"]).reject()?;
        g.in_suites(suites_of(m));
    }
    // A token id outside the vocabulary must be refused, never looked up
    // (§6: the embedding has V rows; §7: symbols are 0..V−1): fed to the
    // forward pass (logits, and inside a chunk), or only coded (last token).
    let bad = m.vocab as u32;
    let args = json!({"model": m.name, "tokens": tokens_val(&[5, bad, 7]), "positions": [0, 2]});
    g.case(&fm, &format!("model.logits.{}.reject.token_out_of_range", m.short), "model_logits", args).context(&req(m, false)).tags(&["edge"]).reject()?;
    for (kind, toks) in [("token_out_of_range", [5, bad, 7]), ("last_token_out_of_range", [5, 7, bad])] {
        let args = json!({"model": m.name, "tokens": tokens_val(&toks)});
        g.case(&fc, &format!("chunk.encode.{}.reject.{kind}", m.short), "chunk_encode", args).context(&req(m, false)).tags(&["edge"]).reject()?;
    }
    Ok(())
}

/// Fraction of saturated (|x| = 127) and zero entries per intermediate, and the logits' spread.
fn activation_stats(trace: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(layers) = trace["layers"].as_array() {
        for (i, l) in layers.iter().enumerate() {
            let mut s = Vec::new();
            for k in ["qkv", "attn", "attn_proj", "gate_up", "reglu", "down"] {
                let xs = as_array(&l[k]).unwrap_or_default();
                let n = xs.len().max(1) as f64;
                let sat = xs.iter().filter(|x| x.abs() >= 127).count() as f64 / n;
                let zero = xs.iter().filter(|&&x| x == 0).count() as f64 / n;
                s.push(format!("{k} sat {:.0}% zero {:.0}%", sat * 100.0, zero * 100.0));
            }
            parts.push(format!("L{i}: {}", s.join(", ")));
        }
    }
    let l = as_array(&trace["logits"]).unwrap_or_default();
    let (lo, hi) = (l.iter().min().copied().unwrap_or(0), l.iter().max().copied().unwrap_or(0));
    parts.push(format!("logits {lo}..{hi}"));
    parts.join("; ")
}

/// A random cumulative table of `v` symbols (v ≥ 1) summing to `total`
/// (> v): every frequency ≥ 1, the last entry `total` (spec §6, §7).
pub fn random_cum(r: &mut Rng, v: usize, total: u32) -> Vec<u32> {
    let mut cuts: Vec<u32> = (0..v - 1).map(|_| r.range(0, total as i64 - v as i64) as u32).collect();
    cuts.sort();
    cuts.iter().enumerate().map(|(i, &c)| c + i as u32 + 1).chain([total]).collect()
}

fn coder(g: &mut Gen) -> Result<(), String> {
    let f = "chunk/coder.jsonl";
    let mut r = Rng::new(0x32_0000);
    let add = |g: &mut Gen, kind: &str, symbols: &[u32], table: Value, per_step: bool, tags: &[&str]| -> Result<(), String> {
        let key = if per_step { "tables" } else { "cum" };
        let id = g.id(&format!("chunk.coder.{kind}"));
        let args = json!({"symbols": tokens_val(symbols), key: table.clone()});
        let ans = g.case(f, &format!("{id}.encode"), "coder_encode", args).tags(tags).expect(&["bytes_hex", "pending_at_finish", "max_pending"])?;
        let args = json!({"bytes_hex": ans["bytes_hex"], "n": symbols.len(), key: table});
        g.case(f, &format!("{id}.decode"), "coder_decode", args).tags(tags).expect(&["symbols"])?;
        Ok(())
    };
    let cum_val = |c: &[u32]| array(&c.iter().map(|&x| x as i64).collect::<Vec<_>>(), Dtype::U32);
    const T30: u32 = 1 << 30;
    add(g, "empty", &[], cum_val(&[T30 / 2, T30]), false, &["edge"])?;
    add(g, "tiny_total", &[0, 1, 1, 0, 1], cum_val(&[1, 2]), false, &["edge"])?;
    // Uniform halves, random symbols.
    let syms: Vec<u32> = (0..300).map(|_| r.below(2) as u32).collect();
    add(g, "halves", &syms, cum_val(&[T30 / 2, T30]), false, &["random"])?;
    // Long underflow runs: a middle symbol straddling the midpoint, repeated.
    let third = [T30 / 3, 2 * (T30 / 3), T30];
    add(g, "underflow", &vec![1; 400], cum_val(&third), false, &["edge", "underflow"])?;
    let mut s = vec![1u32; 300];
    s.push(0);
    s.extend(vec![1; 50]);
    s.push(2);
    add(g, "underflow", &s, cum_val(&third), false, &["edge", "underflow"])?;
    // Near-half 2-symbol tables: pick, at each step, the symbol that keeps the most pending bits.
    for (i, split) in [T30 / 2 + 1, T30 / 2 - 1, T30 / 2 + 12345, (T30 / 2) + (T30 / 64)].into_iter().enumerate() {
        let cum = [split, T30];
        // The coder of src/coder on copies (expectations still come from the reference ops).
        let mut enc = Encoder::new();
        let mut syms = Vec::new();
        for _ in 0..600 {
            let mut best: Option<(usize, Encoder)> = None;
            for s in 0..2usize {
                let mut e2 = enc.clone();
                e2.encode(&cum, s).map_err(|e| e.to_string())?;
                if best.as_ref().is_none_or(|(_, b)| e2.pending() > b.pending()) {
                    best = Some((s, e2));
                }
            }
            let (s, e2) = best.ok_or("no symbol")?;
            syms.push(s as u32);
            enc = e2;
        }
        let _ = i;
        add(g, "underflow_near_half", &syms, cum_val(&cum), false, &["edge", "underflow"])?;
    }
    // Extreme narrowing: a symbol of frequency 1 in 2^30, repeatedly.
    add(g, "narrow", &[0; 40], cum_val(&[1, T30]), false, &["edge"])?;
    add(g, "narrow", &[2; 40], cum_val(&[T30 / 2, T30 - 1, T30]), false, &["edge"])?;
    // Per-step random tables.
    for n in [5usize, 64, 300] {
        let v = [3usize, 17, 1024][n % 3];
        let mut tables = Vec::new();
        let mut syms = Vec::new();
        for _ in 0..n {
            let total = [T30, 1_073_739_776, 1000, (v as u32) + 1][r.below(4) as usize].max(v as u32 + 1);
            tables.push(cum_val(&random_cum(&mut r, v, total)));
            syms.push(r.below(v as u64) as u32);
        }
        add(g, "per_step", &syms, Value::Array(tables), true, &["random"])?;
    }
    // Skewed real-looking table: one symbol with most of the mass.
    let mut cum = Vec::new();
    let mut acc = 0u32;
    for j in 0..1024u32 {
        acc += if j == 7 { T30 - 1023 } else { 1 };
        cum.push(acc);
    }
    let syms: Vec<u32> = (0..500).map(|_| if r.below(20) == 0 { r.below(1024) as u32 } else { 7 }).collect();
    add(g, "skewed", &syms, cum_val(&cum), false, &["random"])?;

    // Tables and symbols that cannot be coded: every implementation must
    // refuse them (§6 gives every symbol a frequency ≥ 1 and C_{V−1} = T; §7
    // codes the symbols 0..V−1 of a non-decreasing table).
    let rej = |g: &mut Gen, kind: &str, op: &str, args: Value| -> Result<(), String> {
        let id = g.id(&format!("chunk.coder.reject.{kind}"));
        g.case(f, &id, op, args).tags(&["edge"]).reject().map(|_| ())
    };
    rej(g, "symbol_out_of_range", "coder_encode", json!({"symbols": [0, 2], "cum": [T30 / 2, T30]}))?;
    rej(g, "empty_table", "coder_encode", json!({"symbols": [0], "cum": []}))?;
    rej(g, "zero_total", "coder_encode", json!({"symbols": [0], "cum": [0, 0]}))?;
    rej(g, "zero_total", "coder_decode", json!({"bytes_hex": "00", "n": 1, "cum": [0, 0]}))?;
    rej(g, "zero_frequency", "coder_encode", json!({"symbols": [1], "cum": [5, 5, 10]}))?;
    rej(g, "not_cumulative", "coder_encode", json!({"symbols": [1], "cum": [7, 5, 10]}))?;
    rej(g, "not_cumulative", "coder_encode", json!({"symbols": [1], "cum": [5, 12, 10]}))?;
    // value = ⌊((0xb4000000 + 1)·10 − 1) / 2^32⌋ = 7 lands on C_1 = 20 > T.
    rej(g, "not_cumulative", "coder_decode", json!({"bytes_hex": "b4000000", "n": 1, "cum": [5, 20, 10]}))?;
    Ok(())
}
