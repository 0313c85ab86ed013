//! `czip trace` and the per-token costs behind it (`pipeline::trace`): the
//! bits it reports are the coder's — each chunk's `Σ −log2(f/T)` is within 32
//! bits of 8 × that chunk's coded bytes — the sizes are those `czip compress`
//! writes, a `.czip` input traces the same as its text, and the outputs
//! (text, TSV, JSON) are snapshots.

use crate::common;

use std::path::PathBuf;

use common::{czip, s, stderr, stdout};
use czip::container::{read_file, OuterCodec, ReadLimits};
use czip::pipeline::{level_to_chunk_log2, CompressOptions, DecompressOptions, Engine, TextTrace};
use czip::Model;


struct Env {
    models: PathBuf,
    corpus: PathBuf,
}

fn env() -> Option<Env> {
    let (m, g) = (common::models_dir()?, common::golden_dir()?);
    Some(Env { models: m, corpus: g.join("corpus") })
}

/// Per chunk: `8 × coded bytes − Σ bits` (the coder's overhead over the ideal code length).
fn overheads(t: &TextTrace) -> Vec<f64> {
    (0..t.chunks.len()).map(|c| 8.0 * t.chunk_bytes[c] as f64 - t.chunk_bits(c)).collect()
}

/// What the trace of `text` says, against what compress writes.
fn check_against_compress(model: &Model, text: &[u8], level: Option<u8>) -> TextTrace {
    let opts = CompressOptions { chunk_log2: level.and_then(level_to_chunk_log2), codec: OuterCodec::Brotli, model_id_hash: None };
    let engine = Engine::default();
    let t = engine.trace_text(model, text, &opts).unwrap();
    let file = engine.compress(model, text, &opts, None).unwrap();
    let f = read_file(&file, &ReadLimits::default()).unwrap();
    assert_eq!(t.file_bytes, file.len());
    assert_eq!(t.chunk_bytes, f.chunks().map(<[u8]>::len).collect::<Vec<_>>());
    assert_eq!(t.token_count() as u64, f.total_tokens());
    for (c, costs) in t.chunks.iter().enumerate() {
        assert_eq!(costs.len(), f.tokens_in_chunk(c));
        for (p, cost) in costs.iter().enumerate() {
            assert_eq!((cost.chunk as usize, cost.position as usize), (c, p));
            assert!(cost.freq >= 1 && cost.freq < t.total);
            // The top-5 are in order and hold the coded token whenever its frequency is among them.
            assert!(cost.top.windows(2).all(|w| w[0].1 >= w[1].1));
            if cost.freq > cost.top[4].1 {
                assert!(cost.top.contains(&(cost.token, cost.freq)));
            }
        }
    }
    // A .czip file traces to the same costs, with its own chunk length.
    let again = engine.trace_file(model, &file, &DecompressOptions::default()).unwrap();
    assert_eq!(again, t);
    t
}

/// Σ bits over each chunk is within 32 bits of 8 × that chunk's coded bytes
/// (the finish's bit and padding, at most 8 bits, plus the interval
/// updates' rounding); exact sizes for alice_ch1 under both models.
#[test]
fn bits_account_for_every_coded_byte() {
    let Some(e) = env() else { return };
    let text = std::fs::read(e.corpus.join("alice_ch1.txt")).unwrap();
    let v001 = Model::open(&e.models.join("v001_eng.czm")).unwrap();
    let v000 = Model::open(&e.models.join("v000_eng.czm")).unwrap();
    // (model, level, chunks, coded bytes, file bytes, Σ bits, the least and
    // the largest overhead 8 × bytes − Σ bits of a chunk; to 0.001 bit)
    type Sizes = (usize, usize, usize, f64, f64, f64);
    let cases: [(&Model, Option<u8>, Sizes); 3] = [
        (&v001, Some(1), (82, 4191, 4341, 33324.004, -3.870, 6.991)),
        (&v001, Some(5), (6, 3974, 4018, 31785.624, -2.158, 4.178)),
        (&v000, None, (82, 4031, 4187, 32075.696, -5.682, 7.587)),
    ];
    let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
    let mut got = Vec::new();
    for (model, level, want) in cases {
        let t = check_against_compress(model, &text, level);
        let o = overheads(&t);
        let worst = o.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let least = o.iter().cloned().fold(f64::INFINITY, f64::min);
        let sum: f64 = (0..t.chunks.len()).map(|c| t.chunk_bits(c)).sum();
        eprintln!("level {level:?}: {} chunks, coded {}, file {}, Σ bits {sum:.3}, overhead {least:.3}..{worst:.3}", t.chunks.len(), t.coded_bytes(), t.file_bytes);
        assert!(o.iter().all(|x| x.abs() <= 32.0), "level {level:?}: {o:?}");
        got.push(((t.chunks.len(), t.coded_bytes(), t.file_bytes, r3(sum), r3(least), r3(worst)), want));
    }
    for (g, want) in got {
        assert_eq!(g, want);
    }
}

/// The trace of a short corpus text, as a user sees it.
#[test]
fn text_tsv_and_json_output() {
    let Some(e) = env() else { return };
    let model = e.models.join("v001_eng.czm");
    let text = e.corpus.join("edge_tok129.txt");
    let o = czip(&["trace", "-m", s(&model), "-L", "1", s(&text)]);
    assert!(o.status.success(), "{}", stderr(&o));
    insta::assert_snapshot!("trace_text", stdout(&o));
    let o = czip(&["trace", "-m", s(&model), "-L", "1", "--all", "--tsv", s(&e.corpus.join("edge_control_chars.txt"))]);
    assert!(o.status.success(), "{}", stderr(&o));
    insta::assert_snapshot!("trace_tsv", stdout(&o));
    let o = czip(&["trace", "-m", s(&model), "-L", "1", "--json", s(&text)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // First 10 and every 50th of 129 tokens: 0..=9, 50, 100; then the summary.
    assert_eq!(lines.len(), 13);
    assert_eq!(lines[10]["chunk"], 0);
    assert_eq!(lines[10]["position"], 50);
    assert_eq!(lines[11]["chunk"], 1);
    assert_eq!(lines[11]["position"], 36);
    insta::assert_snapshot!("trace_json_summary", serde_json::to_string_pretty(&lines[12]).unwrap());
}

/// A `.czip` input is traced under the model the file names (here with -m
/// the models directory), with its own chunk length; -L is refused for it.
#[test]
fn a_czip_file_traces_like_its_text() {
    let Some(e) = env() else { return };
    let d = common::scratch("trace-czip");
    let text = e.corpus.join("edge_tok129.txt");
    let packed = d.join("t.czip");
    let v000 = e.models.join("v000_eng.czm");
    let o = czip(&["compress", "-m", s(&v000), "-i", s(&text), "-o", s(&packed)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let from_text = czip(&["trace", "-m", s(&v000), "--all", "--tsv", s(&text)]);
    let from_file = czip(&["trace", "-m", s(&e.models), "--all", "--tsv", s(&packed)]);
    assert!(from_file.status.success(), "{}", stderr(&from_file));
    let body = |o: &std::process::Output| stdout(o).lines().filter(|l| !l.starts_with("# input")).map(String::from).collect::<Vec<_>>();
    assert_eq!(body(&from_text), body(&from_file));
    assert!(stdout(&from_file).contains("# input\tczip file, 226 bytes; 129 tokens in 3 chunks of K = 64 (level 1)"));
    let o = czip(&["trace", "-m", s(&e.models), "-L", "2", s(&packed)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("-L applies to a text"), "{}", stderr(&o));
}

/// `--compare`: a file that departs is localised as `score` does it; one
/// that does not says so.
#[test]
fn compare_names_the_first_departing_token() {
    let Some(e) = env() else { return };
    let d = common::scratch("trace-compare");
    let text = e.corpus.join("alice_ch1.txt");
    let model = e.models.join("v001_eng.czm");
    let ours = d.join("ours.czip");
    let o = czip(&["compress", "-m", s(&model), "-L", "1", "-c", "zstd", "-i", s(&text), "-o", s(&ours)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = czip(&["trace", "-m", s(&model), "--compare", s(&ours), s(&text)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("  every chunk and the inner header are identical to the reference's"), "{}", stdout(&o));
    // One byte changed inside chunk 41: the file re-packed around it.
    let bytes = std::fs::read(&ours).unwrap();
    let f = read_file(&bytes, &ReadLimits::default()).unwrap();
    let mut chunks: Vec<Vec<u8>> = f.chunks().map(<[u8]>::to_vec).collect();
    chunks[41][3] ^= 0x10;
    let bad = d.join("bad.czip");
    std::fs::write(&bad, czip::container::write_file(&f.write_params(), &chunks).unwrap()).unwrap();
    let o = czip(&["trace", "-m", s(&model), "--json", "--compare", s(&bad), s(&text)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let last: serde_json::Value = serde_json::from_str(stdout(&o).lines().last().unwrap()).unwrap();
    let cmp = &last["summary"]["compare"];
    assert_eq!(cmp["chunk"], 41);
    let p = cmp["position"].as_u64().unwrap();
    assert!(cmp["localisation"][0].as_str().unwrap().starts_with(&format!("chunk 41 of 82: decoding it with the reference departs from the text's tokens at token position {p}")), "{cmp}");
    let html = d.join("bad.html");
    let o = czip(&["trace", "-m", s(&model), "--html", s(&html), "--compare", s(&bad), s(&text)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(&format!("\"compare\":{{\"chunk\":41,\"index\":{},\"position\":{p}}}", 41 * 64 + p)), "no departure in the page data");
    assert!(page.contains("chunk 41 of 82: decoding it with the reference departs"));
}

#[test]
fn help() {
    let o = czip(&["trace", "--help"]);
    assert!(o.status.success());
    insta::assert_snapshot!("trace_help", stdout(&o));
}
