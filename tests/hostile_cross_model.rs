//! Cross-model decoding: every normative v000 golden file decoded with v001,
//! and every normative v001 golden file decoded with v000, must fail with a
//! clear message — never return text. v001 files at levels 2–5 fail at the
//! header (K > 64, v000's capacity); the others are decoded in full and must
//! fail on length, UTF-8 or a chunk, with a message naming the model the
//! file was written with.
//!
//! Decoding is a function of the payload, and the brotli and zstd files of a
//! text carry the same payload: every file is read (and its payload hashed),
//! but each distinct payload is decoded once.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::process::Command;
use std::sync::Mutex;

use czip::container::{read_file, ReadLimits};
use czip::error::Error;
use czip::model::load::{classify, ModelMatch};
use czip::Model;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

fn kind(e: &Error) -> &'static str {
    match e {
        Error::Container(_) => "container (header)",
        Error::Chunk { .. } => "chunk",
        Error::DecodedLengthMismatch { .. } => "decoded length",
        Error::DecodedNotUtf8 { .. } => "decoded UTF-8",
        _ => "other",
    }
}

/// Payloads with at most this many tokens are decoded in the default run
/// (the 18 shortest texts of each set, ~5k tokens per direction); the
/// others (up to 16k tokens each, ~110k tokens per direction: minutes on two
/// cores) only in the `--ignored` exhaustive run.
const DEFAULT_DECODE_TOKENS: u64 = 1100;

#[test]
fn every_golden_file_fails_cleanly_with_the_other_model() {
    cross_model(DEFAULT_DECODE_TOKENS);
}

/// Decodes every payload, however long (`cargo test --release --test
/// hostile_cross_model -- --ignored`).
#[test]
#[ignore]
fn every_golden_file_fails_cleanly_with_the_other_model_exhaustive() {
    cross_model(u64::MAX);
}

fn cross_model(decode_tokens: u64) {
    let (Some(golden), Some(models)) = (common::golden_dir(), common::models_dir()) else { return };
    let t0 = std::time::Instant::now();
    let v000 = Model::open(&models.join("v000_eng.czm")).unwrap();
    let v001 = Model::open(&models.join("v001_eng.czm")).unwrap();
    let entries: Vec<serde_json::Value> = common::read_jsonl(&golden.join("manifest.jsonl"))
        .into_iter()
        .filter(|e| e["normative"] == true)
        .filter(|e| {
            let p = e["path"].as_str().unwrap();
            p.starts_with("files/v000/") || p.starts_with("files/v001/")
        })
        .collect();
    // (path, decoding model, the model it was written with, file bytes, corpus text path)
    let mut jobs: Vec<(String, &Model, &'static str, Vec<u8>, String)> = Vec::new();
    for e in &entries {
        let path = e["path"].as_str().unwrap().to_string();
        let bytes = std::fs::read(golden.join(&path)).unwrap();
        let (other, written_with) =
            if path.starts_with("files/v000/") { (&v001, "v000_eng.czm") } else { (&v000, "v001_eng.czm") };
        jobs.push((path, other, written_with, bytes, e["text"].as_str().unwrap().to_string()));
    }
    let n000 = jobs.iter().filter(|j| j.2 == "v000_eng.czm").count();
    assert_eq!((n000, jobs.len() - n000), (64, 320), "golden set changed");

    // Every file's model_id_hash names the model it was written with, and
    // that is not the decoding model: the hint (and the proposed wrong-model
    // check, see the report of issue 5) has what it needs for all 384 files.
    for (path, model, written_with, bytes, _) in &jobs {
        let f = read_file(bytes, &ReadLimits::default()).unwrap();
        assert_eq!(
            classify(f.inner.model_id_hash, model.content_hash()),
            ModelMatch::OtherKnown(written_with),
            "{path}"
        );
    }

    // Header stage for every file; payloads to decode, deduplicated.
    let mut tally: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut to_decode: HashMap<(String, &str), usize> = HashMap::new();
    let mut skipped = 0;
    for (i, (path, model, written_with, bytes, _)) in jobs.iter().enumerate() {
        let limits = ReadLimits { model_capacity_tokens: Some(model.config().rope_rows) };
        match read_file(bytes, &limits) {
            Err(e) => {
                // Same result through the pipeline, with a message.
                let err = czip::pipeline::decompress(model, bytes, None).expect_err(path);
                assert!(matches!(err, Error::Container(_)), "{path}: {err}");
                let msg = err.to_string();
                assert!(msg.contains("context_length_log2") && msg.contains("capacity"), "{path}: {msg}");
                assert_eq!(err.to_string(), e.to_string());
                *tally.entry((*written_with, "container (header)")).or_default() += 1;
            }
            Ok(f) if f.total_tokens() > decode_tokens => skipped += 1,
            Ok(f) => {
                let sha: String = Sha256::digest(&f.payload).iter().map(|b| format!("{b:02x}")).collect();
                to_decode.entry((sha, *written_with)).or_insert(i);
            }
        }
    }
    let decoded = Mutex::new(Vec::new());
    let mut work: Vec<usize> = to_decode.values().copied().collect();
    work.sort_unstable();
    work.par_iter().for_each(|&i| {
        let (path, model, written_with, bytes, text_path) = &jobs[i];
        let t = std::time::Instant::now();
        let outcome = match czip::pipeline::decompress(model, bytes, None) {
            Ok(text) => {
                let right = std::fs::read(golden.join(text_path)).unwrap();
                if text == right { "KNOWN GAP: success, right text" } else { "KNOWN GAP: success, WRONG text" }
            }
            Err(err) => {
                let msg = err.to_string();
                assert!(
                    msg.contains(&format!("written with {written_with}")),
                    "{path}: the message does not name {written_with}: {msg}"
                );
                kind(&err)
            }
        };
        decoded.lock().unwrap().push((path.clone(), *written_with, outcome, t.elapsed()));
    });
    let decoded = decoded.into_inner().unwrap();
    for (_, w, k, _) in &decoded {
        *tally.entry((w, k)).or_default() += 1;
    }
    let gaps: Vec<&str> =
        decoded.iter().filter(|d| d.2.starts_with("KNOWN GAP")).map(|d| d.0.as_str()).collect();
    let slowest = decoded.iter().max_by_key(|d| d.3).map(|d| format!("{} ({:?})", d.0, d.3));
    println!(
        "{} files ({n000} v000 decoded with v001, {} v001 decoded with v000); {} distinct payloads decoded, \
         {skipped} files not decoded (over {decode_tokens} tokens); slowest decode {slowest:?}; total {:?}",
        jobs.len(),
        jobs.len() - n000,
        decoded.len(),
        t0.elapsed()
    );
    println!("outcomes (written with, result): {tally:#?}");
    println!("succeeded with the wrong model: {gaps:#?}");
    // KNOWN GAP (spec §9 vs issue 5): the texts of one token or none (empty,
    // "a", "\n", "<|eos|>") are, byte for byte, valid encodings of a
    // one-token text under *both* models (the decoder re-encodes and
    // re-tokenizes what it decodes, and both checks hold). Only
    // `model_id_hash` tells them apart, and spec §9 says readers must not
    // reject on it. Only those may succeed; everything longer must fail.
    for g in &gaps {
        assert!(
            ["edge_empty.txt", "edge_1byte.txt", "edge_1newline.txt", "edge_only_eos.txt"].iter().any(|t| g.contains(t)),
            "{g} decoded with the wrong model"
        );
    }
}

#[test]
fn cli_reports_the_wrong_model_and_exits_1() {
    let (Some(golden), Some(models)) = (common::golden_dir(), common::models_dir()) else { return };
    for (file, model, needle) in [
        ("files/v001/L1/zstd/edge_tok65.txt.czip", "v000_eng.czm", "written with v001_eng.czm"),
        ("files/v000/L1/brotli/edge_tok65.txt.czip", "v001_eng.czm", "written with v000_eng.czm"),
        ("files/v001/L3/brotli/edge_tok65.txt.czip", "v000_eng.czm", "capacity 64"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_czip"))
            .args(["decompress", "-m"])
            .arg(models.join(model))
            .arg("-i")
            .arg(golden.join(file))
            .args(["-o", "-"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{file} with {model}: {stderr}");
        assert!(out.stdout.is_empty());
        assert!(stderr.starts_with("czip: ") && stderr.contains(needle), "{file} with {model}: {stderr}");
        println!("{file} with {model}: {}", stderr.trim_end());
    }
}
