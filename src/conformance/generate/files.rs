//! `file/*.jsonl`: every corpus text at every level of each model, both
//! codecs, `compress` and `decompress`; and `file/reject.jsonl`, the inputs
//! that must be refused (invalid UTF-8 to compress, each §9 container rule
//! broken in a small reference file).
//!
//! The inner payload does not depend on the outer codec, so each (model,
//! level, text) is compressed once by the reference (with brotli); the zstd cases are derived from the same payload (outer header
//! byte 7 = 0, the payload compressed with zstd by the engine's writer) and
//! checked by reading the derived file back. The compressions run in
//! parallel (one reference context per worker); the cases are added in a
//! fixed order, so the output does not depend on the thread count.

use std::path::Path;

use serde_json::{json, Value};

use super::models::{corpus, corpus_ref};
use super::synthetic::SyntheticModel;
use super::{Gen, Suites};
use crate::conformance::ops::{reference, Context, Outcome};
use rayon::prelude::*;
use crate::conformance::case::{hex, sha256_hex, unhex};
use crate::container::{read_file, OuterCodec, ReadLimits};
use crate::model::load::upstream_model_id_hash;

const NO_LIMITS: ReadLimits = ReadLimits { model_capacity_tokens: None };

struct Target {
    model: String,
    short: String,
    levels: Vec<Option<u8>>,
    hash: String,
    requires: Vec<&'static str>,
    /// Only texts up to this many bytes.
    max_bytes: usize,
}

/// Upstream's `model_id_hash` of a published model (`v001`, `v000`), as 8 hex
/// digits, from the one table of published models (`model::load`).
fn published_hash(model: &str) -> String {
    let h = upstream_model_id_hash(&format!("{model}_eng.czm")).unwrap_or_else(|| panic!("{model} is a published model"));
    format!("{h:08x}")
}

fn outer_with_codec(file: &[u8], payload: &[u8], codec: OuterCodec) -> Result<Vec<u8>, String> {
    let mut out = file[..16].to_vec();
    out[7] = codec.id();
    out.extend(crate::container::compress(codec, payload).map_err(|e| e.to_string())?);
    Ok(out)
}

pub fn generate(g: &mut Gen, synthetic: &[SyntheticModel], corpus_dir: &Path) -> Result<(), String> {
    let texts = corpus(corpus_dir)?;
    let mut targets = vec![
        Target { model: "v001".into(), short: "v001".into(), levels: (1..=5).map(Some).collect(), hash: published_hash("v001"), requires: vec![], max_bytes: usize::MAX },
        Target { model: "v000".into(), short: "v000".into(), levels: vec![None], hash: published_hash("v000"), requires: vec![], max_bytes: usize::MAX },
    ];
    for s in synthetic {
        let m = g.ctx.model(&s.model_ref())?;
        targets.push(Target {
            model: s.model_ref(),
            short: s.name.clone(),
            levels: s.levels().into_iter().map(Some).collect(),
            hash: format!("{:08x}", m.content_hash()),
            requires: s.requires(),
            max_bytes: if s.name == "syn_a" { usize::MAX } else { 2400 },
        });
    }
    // Compress every (model, level, text) in parallel, in the generator's
    // one reference context (its shared work is kept for a replay; see
    // `generate_all_keeping_context`); cases are then added in a fixed order.
    let mut tasks = Vec::new();
    for (ti, t) in targets.iter().enumerate() {
        for &level in &t.levels {
            for (xi, (_, bytes, _)) in texts.iter().enumerate() {
                if std::str::from_utf8(bytes).is_ok() && bytes.len() <= t.max_bytes {
                    tasks.push((ti, level, xi));
                }
            }
        }
    }
    let started = std::time::Instant::now();
    let ctx = &g.ctx;
    for &(ti, level, xi) in &tasks {
        ctx.plan_compress(&compress_args(&targets[ti], level, &texts[xi]));
    }
    let results: Vec<Compressed> =
        tasks.par_iter().map(|&(ti, level, xi)| compress_one(ctx, &targets[ti], level, &texts[xi])).collect::<Result<_, String>>()?;
    let tokens: usize = results.iter().map(|r| r.tokens).sum();
    let verified = results.iter().filter(|r| r.roundtrip_checked).count();
    g.say(&format!(
        "files: {} compressions, {tokens} tokens in {:.1} s; decompression checked by the reference for {verified} of them (texts up to {ROUNDTRIP_MAX} bytes)",
        results.len(),
        started.elapsed().as_secs_f64()
    ));
    for (&(ti, level, xi), r) in tasks.iter().zip(&results) {
        let t = &targets[ti];
        let file = if t.model.starts_with("synthetic/") { format!("file/synthetic_{}.jsonl", t.short) } else { format!("file/{}.jsonl", t.short) };
        let (name, _, sha) = &texts[xi];
        g.in_suites(Suites { cases: if t.model.starts_with("synthetic/") { &["synthetic"] } else { &["files"] }, rejects: &[] });
        file_cases(g, FileCases { target: t, file: &file, level, text_name: name, text_sha256: sha, compressed: r })?;
    }
    rejects(g, &texts)?;
    Ok(())
}

/// The decompression round trip is checked by the reference during
/// generation for texts up to this many bytes (all of them are also
/// replayed by `tests/integration/generate_corpus.rs`); for longer texts the expected
/// `text_sha256` is that of the original text, which a lossless file must give.
const ROUNDTRIP_MAX: usize = 3000;

/// The reference's `compress` request for a text and target (brotli; the
/// zstd twin is derived from its file).
fn compress_args(t: &Target, level: Option<u8>, (name, _, sha): &(String, Vec<u8>, String)) -> Value {
    json!({"model": t.model, "text": corpus_ref(name, sha), "level": level, "codec": "brotli", "model_id_hash": t.hash})
}

/// One text compressed by the reference, and its zstd twin.
struct Compressed {
    brotli: Vec<u8>,
    zstd: Vec<u8>,
    payload_sha256: String,
    text_sha256: String,
    tokens: usize,
    roundtrip_checked: bool,
}

fn compress_one(ctx: &Context, t: &Target, level: Option<u8>, text: &(String, Vec<u8>, String)) -> Result<Compressed, String> {
    let (name, bytes, _) = text;
    let ans = match reference(ctx, "compress", &compress_args(t, level, text)) {
        Outcome::Result(v) => v,
        other => return Err(format!("compress {name} with {}: {other:?}", t.model)),
    };
    let fbytes = unhex(ans["file_hex"].as_str().unwrap_or("")).ok_or("compress: file_hex")?;
    let parsed = read_file(&fbytes, &NO_LIMITS).map_err(|e| format!("reading the reference's own file: {e}"))?;
    let zfile = outer_with_codec(&fbytes, &parsed.payload, OuterCodec::Zstd)?;
    let zparsed = read_file(&zfile, &NO_LIMITS).map_err(|e| format!("reading the derived zstd file: {e}"))?;
    if zparsed.payload != parsed.payload {
        return Err("derived zstd file has another payload".into());
    }
    let roundtrip_checked = bytes.len() <= ROUNDTRIP_MAX;
    if roundtrip_checked {
        match reference(ctx, "decompress", &json!({"model": t.model, "file_hex": hex(&fbytes)})) {
            Outcome::Result(v) if unhex(v["text_hex"].as_str().unwrap_or("")).as_deref() == Some(&bytes[..]) => {}
            other => return Err(format!("{name} ({}): the reference does not give the text back: {other:?}", t.model)),
        }
    }
    Ok(Compressed {
        brotli: fbytes,
        zstd: zfile,
        payload_sha256: sha256_hex(&parsed.payload),
        text_sha256: sha256_hex(bytes),
        tokens: parsed.total_tokens() as usize,
        roundtrip_checked,
    })
}

/// Compress + decompress cases for one text, both codecs.
/// The compress and decompress cases of one text compressed for one target.
struct FileCases<'a> {
    target: &'a Target,
    /// The case file, `file/<model>.jsonl`.
    file: &'a str,
    /// `None`: the model's capacity (no level).
    level: Option<u8>,
    /// The corpus text's name and SHA-256.
    text_name: &'a str,
    text_sha256: &'a str,
    /// What the reference made of it.
    compressed: &'a Compressed,
}

fn file_cases(g: &mut Gen, c: FileCases) -> Result<(), String> {
    let FileCases { target: t, file, level, text_name: name, text_sha256: sha, compressed: r } = c;
    let lv = level.map_or("capacity".to_string(), |l| format!("L{l}"));
    let stem = name.replace('.', "_");
    let levels_req = level.is_some_and(|l| l > 1);
    let mut requires: Vec<&str> = Vec::new();
    requires.extend(t.requires.iter().copied());
    if levels_req {
        requires.push("levels");
    }
    let mut tags: Vec<&str> = Vec::new();
    if name.starts_with("edge_repeat") && level == Some(5) && t.model == "v001" {
        tags.push("divergence:i32_accumulator");
    }
    if t.model == "v000" {
        tags.push("divergence:capacity_from_rope_rows");
    }
    if name.starts_with("edge_") {
        tags.push("edge");
    }
    let args = json!({"model": t.model, "text": corpus_ref(name, sha), "level": level, "codec": "brotli", "model_id_hash": t.hash});
    for (codec, fb) in [("brotli", &r.brotli), ("zstd", &r.zstd)] {
        let mut a = args.clone();
        a["codec"] = json!(codec);
        let id = format!("file.compress.{}.{lv}.{codec}.{stem}", t.short);
        let expect = json!({"outer_header_hex": hex(&fb[..16]), "payload_sha256": r.payload_sha256});
        g.case(file, &id, "compress", a).context(&requires).tags(&tags).expect_value(expect)?;
        let id = format!("file.decompress.{}.{lv}.{codec}.{stem}", t.short);
        let a = json!({"model": t.model, "file_hex": hex(fb)});
        g.case(file, &id, "decompress", a).context(&requires).tags(&tags).expect_value(json!({"text_sha256": r.text_sha256}))?;
    }
    Ok(())
}

/// A text of our own, long enough for three 64-token chunks.
const SMALL_TEXT: &str = "It was a bright cold day in the conformance lab, and the clocks were striking thirteen. \
Every implementation had to agree, bit for bit, on how to squeeze a paragraph of text into a handful of bytes; \
anything less was a bug report waiting to be written. The coder did not care about meaning, only about the \
frequencies that the little transformer handed it, one token at a time.\n";

fn rejects(g: &mut Gen, texts: &[(String, Vec<u8>, String)]) -> Result<(), String> {
    g.say("rejects");
    let f = "file/reject.jsonl";
    // Only in the `reject` view (and `divergences` for the tagged ones).
    g.in_suites(Suites::NONE);
    // Invalid UTF-8 to compress (§8.1).
    for (name, bytes, sha) in texts {
        if std::str::from_utf8(bytes).is_ok() {
            continue;
        }
        for (m, level) in [("v001", Some(1)), ("v000", None)] {
            let hash = published_hash(m);
            let id = format!("file.reject.compress.{m}.corpus_{}", name.replace('.', "_"));
            let args = json!({"model": m, "text": corpus_ref(name, sha), "level": level, "codec": "brotli", "model_id_hash": hash});
            g.case(f, &id, "compress", args).tags(&["edge"]).reject()?;
        }
    }
    for (kind, h) in [("lone_ff", "41ff42"), ("overlong", "c080"), ("surrogate", "eda080"), ("above_max", "f4908080"), ("truncated", "68656c6c6fe282"), ("lone_continuation", "80")] {
        let id = format!("file.reject.compress.v001.{kind}");
        let args = json!({"model": "v001", "text": {"hex": h}, "level": 1, "codec": "zstd", "model_id_hash": published_hash("v001")});
        g.case(f, &id, "compress", args).tags(&["edge"]).reject()?;
    }
    // A level above the model's capacity (§8.2).
    let small = json!({"hex": hex(SMALL_TEXT.as_bytes())});
    for (m, level) in [("v000", 2), ("synthetic/syn_b", 2), ("synthetic/syn_a", 3)] {
        let id = format!("file.reject.compress.{}.level{level}", m.replace("synthetic/", ""));
        let mut req = vec!["levels"];
        if m.starts_with("synthetic/") {
            req.extend(["synthetic", "multi_layer", "sink_key"]);
        }
        let args = json!({"model": m, "text": small, "level": level, "codec": "brotli", "model_id_hash": "00000000"});
        g.case(f, &id, "compress", args).context(&req).tags(&["edge", "divergence:capacity_from_rope_rows"]).reject()?;
    }

    // Malformed containers, from small reference files.
    let base = |g: &mut Gen, m: &str, level: Option<u8>, codec: &str| -> Result<(Vec<u8>, Vec<u8>), String> {
        let args = json!({"model": m, "text": small, "level": level, "codec": codec, "model_id_hash": published_hash("v001")});
        let ans = g.answer("compress", &args)?;
        let fb = unhex(ans["file_hex"].as_str().unwrap_or("")).ok_or("file_hex")?;
        let payload = read_file(&fb, &NO_LIMITS).map_err(|e| e.to_string())?.payload;
        Ok((fb, payload))
    };
    let (v1b, p1) = base(g, "v001", Some(1), "brotli")?;
    let (v1z, _) = base(g, "v001", Some(1), "zstd")?;
    let (v0b, p0) = base(g, "v000", None, "brotli")?;
    let chunk_count = u32::from_le_bytes(p1[4..8].try_into().unwrap_or([0; 4]));
    if chunk_count < 3 {
        return Err(format!("reject base file has {chunk_count} chunks, expected 3 or more"));
    }
    let mut n = 0usize;
    let mut rej = |g: &mut Gen, kind: &str, model: &str, file: Vec<u8>, tags: &[&str]| -> Result<(), String> {
        let id = format!("file.reject.decompress.{kind}.{n}");
        n += 1;
        let mut req: Vec<&str> = Vec::new();
        if model.starts_with("synthetic/") {
            req.push("synthetic");
        }
        let msg = g.case(f, &id, "decompress", json!({"model": model, "file_hex": hex(&file)})).context(&req).tags(tags).reject()?;
        let _ = msg;
        Ok(())
    };
    // Rebuilds a file from a (mutated) outer header and payload.
    let rebuild = |head: &[u8], payload: &[u8]| -> Result<Vec<u8>, String> {
        let codec = if head[7] == 0 { OuterCodec::Zstd } else { OuterCodec::Brotli };
        let mut out = head[..16].to_vec();
        out.extend(crate::container::compress(codec, payload).map_err(|e| e.to_string())?);
        Ok(out)
    };
    let hv = &["divergence:header_validation"];
    // Truncation.
    rej(g, "truncated", "v001", Vec::new(), &["edge"])?;
    rej(g, "truncated", "v001", v1b[..10].to_vec(), &["edge"])?;
    rej(g, "truncated", "v001", v1b[..16].to_vec(), &["edge"])?;
    rej(g, "truncated", "v001", v1b[..v1b.len() - 3].to_vec(), &["edge"])?;
    rej(g, "truncated", "v001", v1z[..v1z.len() - 3].to_vec(), &["edge"])?;
    // Magic.
    for m in [b"CZIPv2", b"czipv1", b"\0ZIPv1"] {
        let mut x = v1b.clone();
        x[..6].copy_from_slice(m);
        rej(g, "bad_magic", "v001", x, &[])?;
    }
    // Codec id.
    for c in [2u8, 255] {
        let mut x = v1b.clone();
        x[7] = c;
        rej(g, "unknown_codec", "v001", x, &[])?;
    }
    // Codec id that names the other codec (the stream does not decode).
    let mut x = v1b.clone();
    x[7] = 0;
    rej(g, "wrong_codec", "v001", x, &[])?;
    // Flags with unknown bits.
    for fl in [0x04u8, 0x80, 0xfc] {
        let mut x = v1b.clone();
        x[6] = fl;
        rej(g, "flags", "v001", x, hv)?;
    }
    // header_len inconsistent with chunk_count.
    let hl = u32::from_le_bytes(v1b[12..16].try_into().unwrap_or([0; 4]));
    for new in [hl + 2, hl - 2, hl + 1, 10, 0, u32::MAX - 1] {
        let mut x = v1b.clone();
        x[12..16].copy_from_slice(&new.to_le_bytes());
        rej(g, "header_len", "v001", x, hv)?;
    }
    // Chunk table shorter than chunk_count (outer header_len consistent with the count).
    {
        let mut p = p1[..12 + 2].to_vec();
        p[4..8].copy_from_slice(&chunk_count.to_le_bytes());
        rej(g, "chunk_table_short", "v001", rebuild(&v1b, &p)?, hv)?;
        let mut p = p1.clone();
        let more = chunk_count + 1000;
        p[4..8].copy_from_slice(&more.to_le_bytes());
        let mut head = v1b[..16].to_vec();
        head[12..16].copy_from_slice(&(12 + 2 * more).to_le_bytes());
        rej(g, "chunk_table_short", "v001", rebuild(&head, &p)?, hv)?;
    }
    // k out of range, and K above the model's capacity.
    for k in [5u8, 13, 1, 255] {
        let mut p = p1.clone();
        p[11] = k;
        rej(g, "k_range", "v001", rebuild(&v1b, &p)?, hv)?;
    }
    for (model, file, payload, k) in [("v000", &v0b, &p0, 7u8), ("v000", &v0b, &p0, 12), ("v001", &v1b, &p1, 11), ("synthetic/syn_b", &v1b, &p1, 7)] {
        let mut p = payload.clone();
        p[11] = k;
        rej(g, "k_above_capacity", model, rebuild(file, &p)?, &["divergence:header_validation", "divergence:capacity_from_rope_rows"])?;
    }
    // last_chunk_tokens 0 and above K.
    for last in [0u16, 65, u16::MAX] {
        let mut p = p1.clone();
        p[8..10].copy_from_slice(&last.to_le_bytes());
        rej(g, "last_chunk_tokens", "v001", rebuild(&v1b, &p)?, hv)?;
    }
    // Trailing bytes: after the chunks (in the payload), after the outer stream.
    {
        let mut p = p1.clone();
        p.push(0);
        rej(g, "trailing", "v001", rebuild(&v1b, &p)?, hv)?;
        let mut x = v1b.clone();
        x.extend_from_slice(&[0, 1, 2]);
        rej(g, "trailing", "v001", x, hv)?;
        let mut x = v1z.clone();
        x.push(0);
        rej(g, "trailing", "v001", x, hv)?;
    }
    // Chunk data shorter than the table says.
    {
        let p = p1[..p1.len() - 1].to_vec();
        rej(g, "chunk_data_short", "v001", rebuild(&v1b, &p)?, hv)?;
        let mut p = p1.clone();
        let l0 = u16::from_le_bytes([p[12], p[13]]);
        p[12..14].copy_from_slice(&(l0 + 1).to_le_bytes());
        rej(g, "chunk_data_short", "v001", rebuild(&v1b, &p)?, hv)?;
    }
    // uncompressed_len differs from the decoded length.
    let ul = u32::from_le_bytes(v1b[8..12].try_into().unwrap_or([0; 4]));
    for new in [ul + 1, ul - 1, 0, u32::MAX] {
        let mut x = v1b.clone();
        x[8..12].copy_from_slice(&new.to_le_bytes());
        rej(g, "uncompressed_len", "v001", x, hv)?;
    }
    // Decoded bytes that are not UTF-8: one chunk holding a token whose bytes are 0xff.
    {
        let m = g.ctx.model("v001")?;
        let tok = (0..m.config().vocab_size as u32).find(|&t| m.tokenizer().token_bytes(t).is_some_and(|b| std::str::from_utf8(b).is_err()));
        if let Some(tok) = tok {
            let nbytes = m.tokenizer().token_bytes(tok).map_or(0, <[u8]>::len);
            let toks = vec![65u32, tok, 66];
            let ans = g.answer("chunk_encode", &json!({"model": "v001", "tokens": toks}))?;
            let chunk = unhex(ans["bytes_hex"].as_str().unwrap_or("")).ok_or("bytes_hex")?;
            let params = crate::container::WriteParams {
                codec: OuterCodec::Brotli,
                model_id_hash: upstream_model_id_hash("v001_eng.czm").ok_or("v001 is published")?,
                chunk_log2: 6,
                uncompressed_len: (2 + nbytes) as u32,
                last_chunk_tokens: 3,
            };
            let file = crate::container::write_file(&params, &[chunk]).map_err(|e| e.to_string())?;
            rej(g, "decoded_not_utf8", "v001", file, &["edge"])?;
        }
    }
    Ok(())
}
