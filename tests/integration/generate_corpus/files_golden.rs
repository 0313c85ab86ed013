//! File level against upstream (`../shared/golden/files`, `manifest.jsonl`):
//! every normative file decompresses to its corpus text; compressing every
//! corpus text with the same model, level, codec and `model_id_hash` gives
//! the same outer header and the same decompressed payload (byte 11: 0 ≡ 6);
//! the non-normative files (defective upstream revisions) are *not*
//! reproduced.
//!
//! The engine answers through the reference ops (`compress`, `decompress`
//! = `pipeline::compress` / `pipeline::decompress_with` with their coding
//! stages shared, `conformance::shared_coding`) with the generation's
//! context ([`super::generated`]): the `files` suite codes every golden
//! (model, level, text, `model_id_hash`) (a test below checks it), so its
//! coded chunks serve the compressions here, and the replay's decoded
//! payloads the decompressions of the payloads upstream and we agree on
//! byte for byte. Every file still gets its own container writing or
//! reading, outer codec and comparison. (The engine's own decoder,
//! `pipeline::decompress`, decodes golden files in `tests/integration/hostile_bitflip.rs`.)

use std::collections::{BTreeMap, BTreeSet, HashMap};

use czip::conformance::case::{hex, sha256_hex, unhex};
use czip::conformance::ops::{reference, Context, Outcome};
use czip::container::{payloads_equivalent, read_file, ReadLimits};
use czip::error::Error;
use czip::pipeline::{compress, CompressOptions};
use czip::Model;
use rayon::prelude::*;
use serde_json::{json, Value};

use super::common;

struct Golden {
    dir: std::path::PathBuf,
    entries: Vec<Value>,
}

fn golden() -> Option<Golden> {
    let dir = common::golden_dir()?;
    let entries = common::read_jsonl(&dir.join("manifest.jsonl"));
    Some(Golden { dir, entries })
}

/// `v000` / `v001` for a manifest model file name.
fn model_name(e: &Value) -> &str {
    e["model"].as_str().unwrap().trim_end_matches("_eng.czm")
}

fn level_of(e: &Value) -> Value {
    // v000 files are 64-token chunks written before levels existed: compress
    // them with the model's full capacity (no level), which is 64 for v000.
    if e["model"] == "v000_eng.czm" {
        Value::Null
    } else {
        e["level"].clone()
    }
}

fn answer(ctx: &Context, op: &str, args: &Value) -> Value {
    match reference(ctx, op, args) {
        Outcome::Result(v) => v,
        other => panic!("{op} {args}: {other:?}"),
    }
}

#[test]
fn normative_files_decompress_to_their_text() {
    let (Some(g), Some(gen)) = (golden(), super::generated()) else { return };
    let ctx = gen.ctx();
    // Decoding is a function of the payload: each distinct payload is
    // decoded once, in parallel (most are one chunk: one core each).
    let mut payloads: BTreeMap<String, (&str, Vec<u8>)> = BTreeMap::new();
    let mut n = 0;
    for e in g.entries.iter().filter(|e| e["normative"] == true) {
        let model = ctx.model(model_name(e)).expect("model loads");
        let bytes = std::fs::read(g.dir.join(e["path"].as_str().unwrap())).unwrap();
        let limits = ReadLimits { model_capacity_tokens: Some(model.config().rope_rows) };
        let f = read_file(&bytes, &limits).unwrap_or_else(|err| panic!("{}: {err}", e["path"]));
        assert_eq!(sha256_hex(&f.payload), e["payload_sha256"].as_str().unwrap(), "{}", e["path"]);
        payloads.entry(format!("{}:{}", e["model"], e["payload_sha256"])).or_insert((model_name(e), bytes));
        n += 1;
    }
    let decoded: HashMap<&String, Vec<u8>> = payloads
        .par_iter()
        .map(|(key, (model, bytes))| {
            let out = answer(ctx, "decompress", &json!({"model": model, "file_hex": hex(bytes)}));
            (key, unhex(out["text_hex"].as_str().unwrap()).unwrap())
        })
        .collect();
    for e in g.entries.iter().filter(|e| e["normative"] == true) {
        let text = std::fs::read(g.dir.join(e["text"].as_str().unwrap())).unwrap();
        let out = &decoded[&format!("{}:{}", e["model"], e["payload_sha256"])];
        assert!(out == &text, "{} does not decode to {}", e["path"], e["text"]);
    }
    eprintln!("{n} normative files decode to their corpus text ({} distinct payloads decoded)", decoded.len());
    assert_eq!(n, 32 * 12 + 20);
}

/// The engine's own decoder (`pipeline::decompress`: lockstep groups of
/// chunks, not the reference ops' shared decoding) on one long text at every
/// chunk length: 7,593 tokens of `lcet10_16k.txt` in 119 chunks of 64 down
/// to 8 of 1,024 (v001 L1–L5), and in 64-token chunks with v000.
#[test]
fn the_engines_own_decoder_reads_a_long_golden_text_at_every_length() {
    let (Some(g), Some(gen)) = (golden(), super::generated()) else { return };
    let ctx = gen.ctx();
    let files: Vec<&Value> = g
        .entries
        .iter()
        .filter(|e| e["normative"] == true && e["text"] == "corpus/lcet10_16k.txt" && e["codec"] == "brotli")
        .collect();
    let read: Vec<(String, usize)> = files
        .par_iter()
        .map(|e| {
            let model = ctx.model(model_name(e)).expect("model loads");
            let bytes = std::fs::read(g.dir.join(e["path"].as_str().unwrap())).unwrap();
            let text = czip::pipeline::decompress(&model, &bytes, None).unwrap_or_else(|err| panic!("{}: {err}", e["path"]));
            assert!(text == std::fs::read(g.dir.join("corpus/lcet10_16k.txt")).unwrap(), "{}", e["path"]);
            let chunks = read_file(&bytes, &ReadLimits::default()).unwrap().chunk_count();
            (e["path"].as_str().unwrap().to_string(), chunks)
        })
        .collect();
    let mut chunks: Vec<usize> = read.iter().map(|r| r.1).collect();
    chunks.sort_unstable();
    assert_eq!(chunks, [8, 15, 30, 60, 119, 119], "{read:?}");
}

/// The compress cases of the committed `files` suite by (model, level,
/// codec, text, model_id_hash): their engine work is what the tests here reuse.
fn files_suite_compressions() -> BTreeSet<(String, Option<u64>, String, String, String)> {
    let mut m = BTreeSet::new();
    for model in ["v000", "v001"] {
        for c in common::read_jsonl(&common::repo(&format!("vectors/file/{model}.jsonl"))).into_iter().filter(|c| c["op"] == "compress") {
            let a = &c["args"];
            if let (Some(text), Some(hash)) = (a["text"]["corpus"].as_str(), a["model_id_hash"].as_str()) {
                let key = (model.to_string(), a["level"].as_u64(), a["codec"].as_str().unwrap().to_string(), text.to_string(), hash.to_string());
                m.insert(key);
            }
        }
    }
    m
}

/// The compressions below are the `files` suite's (so they cost no coding):
/// every golden file has a compress case with its model, level, codec, text
/// and `model_id_hash`.
#[test]
fn the_files_suite_compresses_every_golden_text() {
    let Some(g) = golden() else { return };
    let suite = files_suite_compressions();
    for e in &g.entries {
        let text = e["text"].as_str().unwrap().trim_start_matches("corpus/");
        let key = (model_name(e).to_string(), level_of(e).as_u64(), e["codec"].as_str().unwrap().to_string(), text.to_string(), e["model_id_hash"].as_str().unwrap().to_string());
        assert!(suite.contains(&key), "{}: no files-suite compress case {key:?}", e["path"]);
    }
}

#[test]
fn compress_reproduces_normative_payloads_and_not_defective_ones() {
    let (Some(g), Some(gen)) = (golden(), super::generated()) else { return };
    let ctx = gen.ctx();
    // Each entry compressed in parallel with its own model, level, codec and
    // model_id_hash (the coded chunks come from the generation), then checked in order.
    let ours: Vec<Vec<u8>> = g
        .entries
        .par_iter()
        .map(|e| {
            let text_path = e["text"].as_str().unwrap();
            let text = std::fs::read(g.dir.join(text_path)).unwrap();
            let name = text_path.trim_start_matches("corpus/");
            let args = json!({"model": model_name(e), "text": {"corpus": name, "sha256": sha256_hex(&text)}, "level": level_of(e),
                              "codec": e["codec"], "model_id_hash": e["model_id_hash"]});
            unhex(answer(ctx, "compress", &args)["file_hex"].as_str().unwrap()).unwrap()
        })
        .collect();
    let (mut normative, mut not_reproduced, mut identical) = (0, 0, BTreeMap::<String, (usize, usize)>::new());
    for (e, ours) in g.entries.iter().zip(&ours) {
        let path = e["path"].as_str().unwrap();
        let theirs = std::fs::read(g.dir.join(path)).unwrap();
        let their_payload = read_file(&theirs, &ReadLimits::default()).unwrap().payload;
        let our_payload = read_file(ours, &ReadLimits::default()).unwrap().payload;
        let same = payloads_equivalent(&our_payload, &their_payload);
        if e["normative"] == true {
            assert_eq!(ours[..16], theirs[..16], "{path}: outer header");
            assert!(same, "{path}: payload differs from upstream");
            normative += 1;
            let c = identical.entry(format!("{}/{}", path.split('/').nth(1).unwrap(), e["codec"])).or_default();
            c.1 += 1;
            if *ours == theirs {
                c.0 += 1;
            }
        } else {
            assert!(!same, "{path}: a defective upstream payload was reproduced ({})", e["notes"]);
            not_reproduced += 1;
        }
    }
    eprintln!("{normative} normative files: outer header and payload reproduced");
    eprintln!("{not_reproduced} non-normative files: payload correctly differs");
    for (set, (same, of)) in &identical {
        eprintln!("  {set}: {same} of {of} whole files byte-identical");
    }
    assert_eq!(normative, 32 * 12 + 20);
    assert_eq!(not_reproduced, 15);
}

#[test]
fn invalid_utf8_text_is_refused() {
    let (Some(g), Some(models)) = (golden(), common::models_dir()) else { return };
    let text = std::fs::read(g.dir.join("corpus/edge_invalid_utf8.bin")).unwrap();
    let model = Model::open(&models.join("v001_eng.czm")).expect("model loads");
    let err = compress(&model, &text, &CompressOptions::default(), None).unwrap_err();
    assert!(matches!(err, Error::InputNotUtf8 { .. }), "{err}");
    assert!(err.to_string().contains("not valid UTF-8"));
}
