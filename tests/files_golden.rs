//! File level against upstream (`../shared/golden/files`, `manifest.jsonl`):
//! every normative file decompresses to its corpus text; compressing every
//! corpus text with the same model, level, codec and `model_id_hash` gives
//! the same outer header and the same decompressed payload (byte 11: 0 ≡ 6);
//! the non-normative files (defective upstream revisions) are *not*
//! reproduced.

mod common;

use std::collections::{BTreeMap, HashMap};

use czip::container::{payloads_equivalent, read_file, write_file, OuterCodec, ReadLimits, WriteParams};
use czip::error::Error;
use czip::pipeline::{compress, decode_tokens, CompressOptions};
use czip::Model;
use rayon::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

struct Golden {
    dir: std::path::PathBuf,
    entries: Vec<Value>,
    models: HashMap<String, Model>,
}

fn golden() -> Option<Golden> {
    let (dir, models_dir) = (common::golden_dir()?, common::models_dir()?);
    let entries = common::read_jsonl(&dir.join("manifest.jsonl"));
    let mut models = HashMap::new();
    for name in ["v000_eng.czm", "v001_eng.czm"] {
        models.insert(name.to_string(), Model::open(&models_dir.join(name)).expect("model loads"));
    }
    Some(Golden { dir, entries, models })
}

fn level_of(e: &Value) -> Option<u8> {
    // v000 files are 64-token chunks written before levels existed: compress
    // them with the model's full capacity (no -L), which is 64 for v000.
    if e["model"] == "v000_eng.czm" {
        None
    } else {
        Some(e["level"].as_u64().unwrap() as u8 + 5)
    }
}

#[test]
fn normative_files_decompress_to_their_text() {
    let Some(g) = golden() else { return };
    // Decoding is a function of the payload: each distinct payload is
    // decoded once, in parallel (most are one chunk: one core each).
    let mut payloads: BTreeMap<String, (&Model, czip::container::CzipFile)> = BTreeMap::new();
    let mut n = 0;
    for e in g.entries.iter().filter(|e| e["normative"] == true) {
        let model = &g.models[e["model"].as_str().unwrap()];
        let bytes = std::fs::read(g.dir.join(e["path"].as_str().unwrap())).unwrap();
        let limits = ReadLimits { model_capacity_tokens: Some(model.config().rope_rows) };
        let f = read_file(&bytes, &limits).unwrap_or_else(|err| panic!("{}: {err}", e["path"]));
        assert_eq!(sha256_hex(&f.payload), e["payload_sha256"].as_str().unwrap(), "{}", e["path"]);
        payloads.entry(format!("{}:{}", e["model"], e["payload_sha256"])).or_insert((model, f));
        n += 1;
    }
    let decoded: HashMap<&String, Vec<u8>> = payloads
        .par_iter()
        .map(|(key, (model, f))| {
            let chunks = decode_tokens(model, f, None).unwrap_or_else(|err| panic!("{key}: {err}"));
            let mut out = Vec::new();
            for c in &chunks {
                model.tokenizer().decode_into(c, &mut out).unwrap();
            }
            (key, out)
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

#[test]
fn compress_reproduces_normative_payloads_and_not_defective_ones() {
    let Some(g) = golden() else { return };
    // Group by (model, chunk length, text): one compression per group serves
    // both codecs (the payload is identical; only the outer stream differs).
    let mut groups: BTreeMap<(String, Option<u8>, String), Vec<&Value>> = BTreeMap::new();
    for e in &g.entries {
        let key = (e["model"].as_str().unwrap().to_string(), level_of(e), e["text"].as_str().unwrap().to_string());
        groups.entry(key).or_default().push(e);
    }
    // Groups are compressed in parallel (most texts are one chunk: one
    // core each), then checked in order.
    let ours: Vec<(Vec<u8>, Vec<u8>)> = groups
        .par_iter()
        .map(|((model_name, k, text_path), entries)| {
            let model = &g.models[model_name];
            let text = std::fs::read(g.dir.join(text_path)).unwrap();
            let hash = u32::from_str_radix(entries[0]["model_id_hash"].as_str().unwrap(), 16).unwrap();
            let opts = CompressOptions { chunk_log2: *k, codec: OuterCodec::Brotli, model_id_hash: Some(hash) };
            let ours_brotli = compress(model, &text, &opts, None).unwrap_or_else(|err| panic!("{text_path}: {err}"));
            let parsed = read_file(&ours_brotli, &ReadLimits::default()).unwrap();
            let chunks: Vec<Vec<u8>> = parsed.chunks().map(<[u8]>::to_vec).collect();
            let params = |codec| WriteParams { codec, ..parsed.write_params() };
            let ours_zstd = write_file(&params(OuterCodec::Zstd), &chunks).unwrap();
            (ours_brotli, ours_zstd)
        })
        .collect();
    let (mut normative, mut not_reproduced, mut identical) = (0, 0, BTreeMap::<String, (usize, usize)>::new());
    for ((_, entries), (ours_brotli, ours_zstd)) in groups.iter().zip(&ours) {
        for e in entries {
            let path = e["path"].as_str().unwrap();
            let theirs = std::fs::read(g.dir.join(path)).unwrap();
            let ours = if e["codec"] == "zstd" { ours_zstd } else { ours_brotli };
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
    let Some(g) = golden() else { return };
    let text = std::fs::read(g.dir.join("corpus/edge_invalid_utf8.bin")).unwrap();
    let model = &g.models["v001_eng.czm"];
    let err = compress(model, &text, &CompressOptions::default(), None).unwrap_err();
    assert!(matches!(err, Error::InputNotUtf8 { .. }), "{err}");
    assert!(err.to_string().contains("not valid UTF-8"));
}
