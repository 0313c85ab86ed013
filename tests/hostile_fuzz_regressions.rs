//! Replays the fuzz seed corpus (`fuzz/seeds/<target>/`) and every saved
//! crash (`fuzz/regressions/<target>/`) through the same checks the fuzz
//! targets run (`fuzz/harness.rs`), in an ordinary `cargo test`, on stable.
//! A regression file is a fuzz input that once panicked; it must now pass.
//!
//! `cargo test --release --test hostile_fuzz_regressions -- --ignored write_seed_corpus`
//! regenerates the seed corpus (small files made with this engine and the
//! published models; no model or golden file is copied).

mod common;

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

use czip::container::OuterCodec;
use czip::pipeline::{compress, CompressOptions};

const TARGETS: [&str; 5] = ["container", "model_load", "decompress", "tokenizer", "coder_roundtrip"];

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn needs_models(target: &str) -> bool {
    matches!(target, "decompress" | "tokenizer")
}

fn run(target: &str, data: &[u8]) {
    match target {
        "container" => harness::container(data),
        "model_load" => harness::model_load(data),
        "decompress" => harness::decompress(data),
        "tokenizer" => harness::tokenizer(data),
        "coder_roundtrip" => harness::coder_roundtrip(data),
        _ => unreachable!("unknown target {target}"),
    }
}

fn replay(kind: &str) -> usize {
    let have_models = common::models_dir().is_some();
    let mut n = 0;
    for target in TARGETS {
        if needs_models(target) && !have_models {
            continue;
        }
        for path in files_in(&fuzz_dir().join(kind).join(target)) {
            let data = std::fs::read(&path).unwrap();
            let r = std::panic::catch_unwind(|| run(target, &data));
            assert!(r.is_ok(), "{target}: {} panics", path.display());
            n += 1;
        }
    }
    n
}

#[test]
fn seed_corpus_replays() {
    let n = replay("seeds");
    eprintln!("{n} seed inputs replayed");
    assert!(n >= TARGETS.len(), "seed corpus missing under fuzz/seeds");
}

#[test]
fn regressions_replay() {
    let n = replay("regressions");
    eprintln!("{n} regression inputs replayed");
}

#[test]
fn tiny_model_is_valid_and_usable() {
    let bytes = harness::tiny_model_bytes();
    let m = czip::Model::from_bytes(bytes.clone()).unwrap_or_else(|e| panic!("tiny model: {e}"));
    assert_eq!(m.config().vocab_size, 259);
    assert_eq!(m.config().rope_rows, 64);
    harness::exercise_model(&m);
    // It compresses and decompresses text like a real model.
    let text = "hello there, the hedge <|bos|> héllo\n".repeat(5);
    let z = compress(&m, text.as_bytes(), &CompressOptions::default(), None).unwrap();
    assert_eq!(czip::pipeline::decompress(&m, &z, None).unwrap(), text.as_bytes());
}

/// Regenerates `fuzz/seeds/`. Not part of the normal run.
#[test]
#[ignore]
fn write_seed_corpus() {
    let Some(models) = common::models_dir() else { return };
    let seeds = fuzz_dir().join("seeds");
    let put = |target: &str, name: &str, data: &[u8]| {
        let d = seeds.join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), data).unwrap();
    };
    let texts: [(&str, &str); 5] = [
        ("empty", ""),
        ("a", "a"),
        ("hello", "Hello, world!\n"),
        ("special", "x<|bos|>y<|eos|>\r\n"),
        (
            "para",
            "It was the best of times, it was the worst of times, it was the age of wisdom, \
             it was the age of foolishness, it was the epoch of belief.\n",
        ),
    ];
    for (mname, levels) in [("v000_eng.czm", &[None][..]), ("v001_eng.czm", &[Some(6u8), Some(7)][..])] {
        let m = czip::Model::open(&models.join(mname)).unwrap();
        for (tname, text) in texts {
            for &k in levels {
                for codec in [OuterCodec::Brotli, OuterCodec::Zstd] {
                    let opts = CompressOptions { chunk_log2: k, codec, model_id_hash: None };
                    let z = compress(&m, text.as_bytes(), &opts, None).unwrap();
                    let name = format!("{}_{}_k{}_{codec}.czip", &mname[..4], tname, k.unwrap_or(6));
                    put("container", &name, &z);
                    put("decompress", &name, &z);
                }
            }
        }
    }
    for (tname, text) in texts {
        put("tokenizer", &format!("{tname}.txt"), text.as_bytes());
    }
    put("tokenizer", "mixed.txt", "日本語 Ünïcödé 🎉 tabs\t\tand  spaces   \n\n\r\n123456 '' ll 've".as_bytes());
    put("model_load", "tiny.czm", &harness::tiny_model_bytes());
    put("model_load", "not_json.czm", b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":1}        ");
    put("coder_roundtrip", "zeros", &[0u8; 16]);
    put("coder_roundtrip", "flat", &[7, 0, 0, 0, 0x40, 40, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    put("coder_roundtrip", "ff", &[0xffu8; 64]);
}
