//! The `czip` command line as a user runs it: round trips, thread-count
//! independence, exit codes, and one malformed-input case per spec §9 and §4
//! rule (each must exit non-zero with a message naming the field, never panic).

use crate::common;

use common::{czip, s, stderr};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use czip::container::{compress as outer_compress, read_file, OuterCodec, ReadLimits};

const BIN: &str = env!("CARGO_BIN_EXE_czip");


struct Env {
    v000: PathBuf,
    v001: PathBuf,
    corpus: PathBuf,
}

fn env() -> Option<Env> {
    let (m, g) = (common::models_dir()?, common::golden_dir()?);
    Some(Env { v000: m.join("v000_eng.czm"), v001: m.join("v001_eng.czm"), corpus: g.join("corpus") })
}

/// Exit 1 with a one-line message containing `needle`, and no panic.
fn assert_rejected(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "expected exit 1, got {:?}; stderr: {err}", o.status);
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(err.starts_with("czip: "), "{err}");
    assert!(err.contains(needle), "message should name {needle:?}: {err}");
}

#[test]
fn round_trip_through_files_and_pipes() {
    let Some(e) = env() else { return };
    let d = common::scratch("cli-roundtrip");
    let text = e.corpus.join("snappy_README.md");
    for codec in ["brotli", "zstd"] {
        let packed = d.join(format!("out.{codec}.czip"));
        let back = d.join(format!("back.{codec}.txt"));
        let o = czip(&["compress", "-m", s(&e.v001), "-L", "2", "-c", codec, "-i", s(&text), "-o", s(&packed)]);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = czip(&["decompress", "-m", s(&e.v001), "-i", s(&packed), "-o", s(&back)]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&text).unwrap());
        let o = czip(&["test", "-m", s(&e.v001), s(&packed)]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains(": OK ("));
    }
    // stdin → stdout
    let input = std::fs::read(e.corpus.join("edge_emoji.txt")).unwrap();
    let packed = through_pipes(&["compress", "-m", s(&e.v000), "-i", "-", "-o", "-"], &input);
    assert!(packed.status.success());
    let back = through_pipes(&["decompress", "-m", s(&e.v000), "-i", "-", "-o", "-"], &packed.stdout);
    assert!(back.status.success());
    assert_eq!(back.stdout, input);
}

/// `czip args` with `input` on stdin and stdout captured.
fn through_pipes(args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(BIN).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn output_is_identical_for_1_2_and_4_threads() {
    let Some(e) = env() else { return };
    let d = common::scratch("cli-threads");
    let text = e.corpus.join("lcet10_16k.txt");
    let mut outs = Vec::new();
    for t in ["1", "2", "4"] {
        let out = d.join(format!("t{t}.czip"));
        let o = czip(&["compress", "-m", s(&e.v001), "-L", "1", "--threads", t, "-i", s(&text), "-o", s(&out)]);
        assert!(o.status.success(), "{}", stderr(&o));
        outs.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
    // Decompression too.
    let packed = d.join("t1.czip");
    let mut backs = Vec::new();
    for t in ["1", "2", "4"] {
        let back = d.join(format!("back{t}.txt"));
        let o = czip(&["decompress", "-m", s(&e.v001), "--threads", t, "-i", s(&packed), "-o", s(&back)]);
        assert!(o.status.success(), "{}", stderr(&o));
        backs.push(std::fs::read(&back).unwrap());
    }
    assert!(backs.iter().all(|b| *b == std::fs::read(&text).unwrap()));
}

#[test]
fn usage_errors_exit_2() {
    let o = czip(&["compress", "-L", "9", "-m", "x", "-i", "a", "-o", "b"]);
    assert_eq!(o.status.code(), Some(2));
    let o = czip(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    let o = czip(&["compress", "-m", "x", "-i", "a", "-o", "b", "--model-id-hash", "xyz"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn missing_files_are_clear_errors() {
    let o = czip(&["decompress", "-m", "/nonexistent/model.czm", "-i", "a", "-o", "b"]);
    assert_rejected(&o, "/nonexistent/model.czm");
}

#[test]
fn invalid_utf8_input_is_refused() {
    let Some(e) = env() else { return };
    let d = common::scratch("cli-utf8");
    let o = czip(&["compress", "-m", s(&e.v001), "-i", s(&e.corpus.join("edge_invalid_utf8.bin")), "-o", s(&d.join("x"))]);
    assert_rejected(&o, "not valid UTF-8");
    assert!(!d.join("x").exists(), "no output on failure");
}

// ---- Malformed containers (spec §9) ----------------------------------------

/// A valid v001 file of `text` at level `level`, and its decompressed payload.
fn sample(e: &Env, d: &Path, level: &str, text: &str) -> (Vec<u8>, Vec<u8>) {
    let out = d.join(format!("sample-{level}.czip"));
    let o = czip(&["compress", "-m", s(&e.v001), "-L", level, "-c", "zstd", "-i", s(&e.corpus.join(text)), "-o", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&out).unwrap();
    let payload = read_file(&bytes, &ReadLimits::default()).unwrap().payload;
    (bytes, payload)
}

/// Reassembles a file from an outer header and a (possibly mutated) payload.
fn rebuild(outer: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut f = outer[..16].to_vec();
    f.extend(outer_compress(OuterCodec::Zstd, payload).unwrap());
    f
}

fn decompress_bytes(e: &Env, model: &Path, d: &Path, name: &str, bytes: &[u8]) -> Output {
    let p = d.join(format!("{name}.czip"));
    std::fs::write(&p, bytes).unwrap();
    let _ = e;
    czip(&["decompress", "-m", s(model), "-i", s(&p), "-o", s(&d.join(format!("{name}.out")))])
}

#[test]
fn malformed_containers_are_rejected_naming_the_field() {
    let Some(e) = env() else { return };
    let d = common::scratch("cli-malformed");
    let (file, payload) = sample(&e, &d, "1", "edge_tok129.txt"); // 3 chunks of K = 64
    let reject = |name: &str, bytes: &[u8], needle: &str| {
        let o = decompress_bytes(&e, &e.v001, &d, name, bytes);
        assert_rejected(&o, needle);
        assert!(!d.join(format!("{name}.out")).exists(), "{name}: no output on failure");
    };
    let with_payload = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut p = payload.clone();
        f(&mut p);
        p
    };

    reject("truncated", &file[..10], "file length");
    reject("truncated_stream", &file[..file.len() - 3], "payload");
    let mut bad = file.clone();
    bad[0] = b'X';
    reject("bad_magic", &bad, "magic");
    let mut bad = file.clone();
    bad[7] = 7;
    reject("unknown_codec", &bad, "codec");
    let mut bad = file.clone();
    bad[12] += 2; // header_len
    reject("header_len_mismatch", &bad, "header_len");
    // Chunk table too short: header_len claims more chunks than the payload holds.
    let short = with_payload(&|p| p.truncate(14));
    reject("chunk_table_short", &rebuild(&file, &short), "header_len");
    for (name, k) in [("k5", 5u8), ("k13", 13)] {
        let p = with_payload(&|p| p[11] = k);
        reject(name, &rebuild(&file, &p), "context_length_log2");
    }
    // One above the capacity: K = 128 for v000 (64 rows).
    let o = decompress_bytes(&e, &e.v000, &d, "k_above_capacity", &rebuild(&file, &with_payload(&|p| p[11] = 7)));
    assert_rejected(&o, "context_length_log2");
    let p = with_payload(&|p| p[8..10].copy_from_slice(&0u16.to_le_bytes()));
    reject("last_chunk_tokens_0", &rebuild(&file, &p), "last_chunk_tokens");
    let p = with_payload(&|p| p[8..10].copy_from_slice(&65u16.to_le_bytes()));
    reject("last_chunk_tokens_above_k", &rebuild(&file, &p), "last_chunk_tokens");
    let p = with_payload(&|p| p.push(0));
    reject("trailing_bytes", &rebuild(&file, &p), "trailing");
    let p = with_payload(&|p| {
        p.pop();
    });
    reject("chunk_data_short", &rebuild(&file, &p), "chunk_byte_lens");
    let mut bad = file.clone();
    bad[8] ^= 1; // uncompressed_len off by one
    reject("decoded_length", &bad, "uncompressed_len");
    let mut bad = file.clone();
    bad[6] = 0x80;
    reject("unknown_flags", &bad, "flags");
}

// ---- Malformed models (spec §4) ---------------------------------------------

/// Rewrites a safetensors header with `edit` applied to its JSON, keeping the
/// data section as is.
fn edit_model(src: &Path, edit: impl Fn(&mut serde_json::Map<String, serde_json::Value>)) -> Vec<u8> {
    let bytes = std::fs::read(src).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    edit(&mut header);
    let mut h = serde_json::to_vec(&header).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend_from_slice(&bytes[8 + n..]);
    out
}

#[test]
fn malformed_models_are_rejected_naming_the_tensor() {
    let Some(e) = env() else { return };
    let d = common::scratch("cli-models");
    let (file, _) = sample(&e, &d, "1", "edge_tok63.txt");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("missing_tensor", edit_model(&e.v000, |h| {
            let t = h.remove("norm.weight").unwrap();
            h.insert("norm.weight_renamed".into(), t);
        }), "norm.weight"),
        ("wrong_dtype", edit_model(&e.v000, |h| h["head.weight"]["dtype"] = "U8".into()), "head.weight"),
        ("ill_shaped", edit_model(&e.v000, |h| h["embed.weight"]["shape"] = serde_json::json!([384, 1024])), "embed.weight"),
        ("bad_metadata", edit_model(&e.v000, |h| h["__metadata__"]["head_dim"] = "32".into()), "head_dim"),
        ("truncated", std::fs::read(&e.v000).unwrap()[..100_000].to_vec(), "safetensors"),
        ("empty", Vec::new(), "model"),
    ];
    for (name, bytes, needle) in cases {
        let m = d.join(format!("{name}.czm"));
        std::fs::write(&m, bytes).unwrap();
        let o = decompress_bytes(&e, &m, &d, name, &file);
        assert_rejected(&o, needle);
    }
}

// ---- Snapshots of what a user reads -----------------------------------------

#[test]
fn help_texts() {
    for args in [&["--help"][..], &["compress", "--help"], &["decompress", "--help"], &["test", "--help"], &["inspect", "--help"]] {
        let o = czip(args);
        assert!(o.status.success());
        let name = if args.len() == 1 { "czip" } else { args[0] };
        insta::assert_snapshot!(format!("help_{name}"), String::from_utf8_lossy(&o.stdout));
    }
}

#[test]
fn inspect_of_an_upstream_file() {
    let Some(e) = env() else { return };
    let golden = e.corpus.parent().unwrap().join("files/v001/L2/zstd/edge_tok129.txt.czip");
    let o = czip(&["inspect", s(&golden), "-m", s(&e.v001)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).replace(s(&golden), "<file>");
    insta::assert_snapshot!("inspect_text", text);
    let o = czip(&["inspect", s(&golden), "--json"]);
    let json = String::from_utf8_lossy(&o.stdout).replace(s(&golden), "<file>");
    insta::assert_snapshot!("inspect_json", json);
}
