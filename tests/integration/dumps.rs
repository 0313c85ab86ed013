//! Tensor dumps (`adapters/DUMPS.md`) end to end: `czip-conformance dump`
//! of a chunk, `compare-dumps` against an edited copy and against itself,
//! each deliberate fault caught at the stage it breaks, and the refusals of
//! files that break the format.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use safetensors::tensor::Dtype;
use safetensors::SafeTensors;

use common::{stderr, stdout};
use czip::conformance::dump::read::parse;
use czip::conformance::dump::write::to_safetensors;

const BIN: &str = env!("CARGO_BIN_EXE_czip-conformance");

/// `czip-conformance ARGS` in `dir` with the shared models.
fn cc(dir: &Path, models: &Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(dir).env("CZIP_MODELS_DIR", models).output().expect("czip-conformance runs")
}

fn corpus(golden: &Path, name: &str) -> String {
    golden.join("corpus").join(name).to_str().unwrap().to_string()
}

/// `dump --model v001 --text TEXT --level L --chunk C [--fault F] -o OUT` in `dir`.
fn dump(dir: &Path, models: &Path, text: &str, level: u8, chunk: usize, fault: Option<&str>, out: &str) {
    let (l, c) = (level.to_string(), chunk.to_string());
    let mut args = vec!["dump", "--model", "v001", "--text", text, "--level", &l, "--chunk", &c, "-o", out];
    if let Some(f) = fault {
        args.extend(["--fault", f]);
    }
    let o = cc(dir, models, &args);
    assert_eq!(o.status.code(), Some(0), "dump: {}", stderr(&o));
}

/// The models and golden directories, and a scratch directory.
fn setup(name: &str) -> Option<(PathBuf, PathBuf, PathBuf)> {
    let (models, golden) = (common::models_dir()?, common::golden_dir()?);
    Some((models, golden, common::scratch(&format!("dumps-{name}"))))
}

#[test]
fn one_changed_element_is_named_and_a_dump_matches_itself() {
    let Some((models, golden, dir)) = setup("alice45") else { return };
    let alice = corpus(&golden, "alice_ch1.txt");
    dump(&dir, &models, &alice, 1, 45, None, "ref.safetensors");

    // Against itself: every tensor identical, exit 0.
    let o = cc(&dir, &models, &["compare-dumps", "ref.safetensors", "ref.safetensors"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    insta::assert_snapshot!("compare_dumps_identical", stdout(&o));

    // One element of layer0.gate_up changed at position 31.
    let bytes = std::fs::read(dir.join("ref.safetensors")).unwrap();
    let mut d = parse(&bytes).unwrap();
    let t = d.tensors.get_mut("layer0.gate_up").unwrap();
    let (row, element) = (31, 1234);
    let v = &mut t.values[row * t.width + element];
    let before = *v;
    *v = if *v == 127 { 126 } else { *v + 1 };
    std::fs::write(dir.join("mine.safetensors"), to_safetensors(&d).unwrap()).unwrap();
    let o = cc(&dir, &models, &["compare-dumps", "ref.safetensors", "mine.safetensors", "--report", "report"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(&format!("first difference: layer0.gate_up: position 31, element 1234: REF {before}, IMPL {}; 1 of 2048 elements", before + if before == 127 { -1 } else { 1 })),
        "{out}"
    );
    insta::assert_snapshot!("compare_dumps_one_element", out);
    // The three reports, the failure first in each.
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("report/report.json")).unwrap()).unwrap();
    assert_eq!(json["failures"][0]["id"], "layer0.gate_up");
    assert_eq!(json["failures"][0]["divergence"]["path"], "layer0.gate_up[31][1234]");
    assert_eq!(json["failures"].as_array().unwrap().len(), 1, "later tensors are untouched");
    assert!(std::fs::read_to_string(dir.join("report/report.md")).unwrap().contains("### `layer0.gate_up`"));
    assert!(std::fs::read_to_string(dir.join("report/junit.xml")).unwrap().contains("layer0.gate_up"));

    // A directory of dumps: the one with REF's tokens is compared.
    std::fs::create_dir_all(dir.join("impl")).unwrap();
    dump(&dir, &models, &alice, 1, 44, None, "impl/chunk44.safetensors");
    std::fs::copy(dir.join("mine.safetensors"), dir.join("impl/chunk45.safetensors")).unwrap();
    let o = cc(&dir, &models, &["compare-dumps", "ref.safetensors", "impl"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("first difference: layer0.gate_up: position 31, element 1234"), "{}", stdout(&o));
}

#[test]
fn missing_tensors_and_positions_are_listed_not_failed() {
    let Some((models, golden, dir)) = setup("partial") else { return };
    let alice = corpus(&golden, "alice_ch1.txt");
    dump(&dir, &models, &alice, 1, 45, None, "ref.safetensors");
    let o = cc(&dir, &models, &["dump", "--model", "v001", "--text", &alice, "-L", "1", "--chunk", "45", "--positions", "30..34", "-o", "part.safetensors"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut d = parse(&std::fs::read(dir.join("part.safetensors")).unwrap()).unwrap();
    assert_eq!(d.positions, [30, 31, 32, 33]);
    d.tensors.remove("cum");
    d.tensors.remove("layer0.reglu");
    std::fs::write(dir.join("part.safetensors"), to_safetensors(&d).unwrap()).unwrap();
    let o = cc(&dir, &models, &["compare-dumps", "ref.safetensors", "part.safetensors"]);
    assert_eq!(o.status.code(), Some(0), "identical where present: {}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("verdict PARTIAL"), "{out}");
    assert!(out.contains("4 positions compared"), "{out}");
    assert!(out.contains("not dumped by IMPL (not compared): layer0.reglu, cum"), "{out}");

    // --tokens-file: the chunk's tokens (JSON array) give the same dump as the text.
    std::fs::write(dir.join("tokens.json"), serde_json::to_string(&d.tokens).unwrap()).unwrap();
    let o = cc(&dir, &models, &["dump", "--model", "v001", "--tokens-file", "tokens.json", "-L", "1", "-o", "from-tokens.safetensors"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (a, b) = (parse(&std::fs::read(dir.join("ref.safetensors")).unwrap()).unwrap(), parse(&std::fs::read(dir.join("from-tokens.safetensors")).unwrap()).unwrap());
    assert_eq!(b.meta("chunk_index"), "0");
    assert_eq!((a.tokens, a.tensors), (b.tokens, b.tensors));
}

/// `dump --fault F` against the clean reference: the first differing tensor and position.
fn fault_caught(text: &str, level: u8, chunk: usize, fault: &str) -> Option<String> {
    let (models, golden, dir) = setup(fault)?;
    let t = corpus(&golden, text);
    dump(&dir, &models, &t, level, chunk, None, "ref.safetensors");
    dump(&dir, &models, &t, level, chunk, Some(fault), "fault.safetensors");
    let o = cc(&dir, &models, &["compare-dumps", "ref.safetensors", "fault.safetensors"]);
    assert_eq!(o.status.code(), Some(1), "{fault} must be caught: {}", stdout(&o));
    let out = stdout(&o);
    Some(out.lines().find(|l| l.starts_with("first difference: ")).expect("a first difference").to_string())
}

#[test]
fn fault_udiv_round_up_is_caught_at_the_final_norm_with_its_cause() {
    // alice_ch1 level 1 chunk 45, position 31: the final RMSNorm's ⌊Σx²/D⌋ = 9482 (spec §11 row 1).
    let Some(l) = fault_caught("alice_ch1.txt", 1, 45, "udiv-round-up") else { return };
    assert!(l.starts_with("first difference: logits: position 31, element 0:"), "{l}");
    assert!(l.contains("cause: spec §11 row 1") && l.contains("final norm has ⌊Σx²/D⌋ = 9482"), "{l}");
}

#[test]
fn fault_clamp_128_is_caught_at_the_first_norm() {
    let Some(l) = fault_caught("alice_ch1.txt", 1, 45, "clamp-128") else { return };
    assert!(l.starts_with("first difference: layer0.attn_in: position 0, element 2: REF -127, IMPL -128;"), "{l}");
}

#[test]
fn fault_wrap_accumulator_is_caught_in_long_attention_with_its_cause() {
    // A 1024-token chunk (level 5) of a repetitive text: Σ w·v passes 2^31 from position 875.
    let Some(l) = fault_caught("edge_repeat_a_16k.txt", 5, 0, "wrap-accumulator") else { return };
    assert!(l.starts_with("first difference: layer0.attn: position 875, element 83: REF -105, IMPL 103;"), "{l}");
    assert!(l.contains("cause: spec §11 row 3"), "{l}");
}

#[test]
fn fault_round_half_up_is_caught_at_the_attention_residual() {
    // The first tie: RMSNorm(o, ffn_norm)'s shift at position 30, added into the residual.
    let Some(l) = fault_caught("alice_ch1.txt", 1, 45, "round-half-up") else { return };
    assert!(l.starts_with("first difference: layer0.resid_attn: position 30, element 81: REF -45, IMPL -44;"), "{l}");
    assert!(!l.contains("cause:"), "not a spec §11 point: {l}");
}

#[test]
fn fault_fp16_accumulate_is_caught_at_the_first_linear() {
    let Some(l) = fault_caught("alice_ch1.txt", 1, 45, "fp16-accumulate") else { return };
    assert!(l.starts_with("first difference: layer0.qkv: position 0, element 3: REF 127, IMPL -127;"), "{l}");
}

/// The reference dump's tensors with `name` replaced (or removed, `None`) and
/// the metadata `meta` changed: a safetensors file written by hand (any dtype).
fn rewrite(bytes: &[u8], name: &str, with: Option<(Dtype, Vec<usize>, Vec<u8>)>, meta: Option<(&str, &str)>) -> Vec<u8> {
    let st = SafeTensors::deserialize(bytes).unwrap();
    let (_, m) = SafeTensors::read_metadata(bytes).unwrap();
    let mut md: BTreeMap<String, String> = m.metadata().clone().unwrap().into_iter().collect();
    if let Some((k, v)) = meta {
        md.insert(k.into(), v.into());
    }
    let mut tensors: Vec<(String, String, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .filter(|(n, _)| n != name)
        .map(|(n, v)| (n, format!("{:?}", v.dtype()), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    if let Some((dtype, shape, data)) = with {
        tensors.push((name.to_string(), format!("{dtype:?}"), shape, data));
    }
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!(md));
    let mut data = Vec::new();
    for (n, dtype, shape, d) in tensors {
        header.insert(n, serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [data.len(), data.len() + d.len()]}));
        data.extend(d);
    }
    let mut h = serde_json::to_vec(&header).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend(data);
    out
}

#[test]
fn files_that_break_the_format_are_refused_naming_the_tensor() {
    let Some((models, golden, dir)) = setup("refuse") else { return };
    let alice = corpus(&golden, "alice_ch1.txt");
    let o = cc(&dir, &models, &["dump", "--model", "v001", "--text", &alice, "-L", "1", "--chunk", "45", "--positions", "0..4", "-o", "ref.safetensors"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let bytes = std::fs::read(dir.join("ref.safetensors")).unwrap();
    let d = parse(&bytes).unwrap();
    let qkv = &d.tensors["layer0.qkv"];
    let f32s = |xs: &[f32]| xs.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let as_f32: Vec<f32> = qkv.values.iter().map(|&v| v as f32).collect();

    // A float dtype holding integers is read as those integers.
    let ok = parse(&rewrite(&bytes, "layer0.qkv", Some((Dtype::F32, vec![4, 512], f32s(&as_f32))), None)).unwrap();
    assert_eq!(ok.tensors["layer0.qkv"], *qkv);

    let mut half = as_f32.clone();
    half[7] += 0.5;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (rewrite(&bytes, "layer0.qkv", Some((Dtype::I32, vec![4, 512], qkv.values.iter().flat_map(|&v| (v as i32).to_le_bytes()).collect())), None), "tensor layer0.qkv: dtype I32, expected I8"),
        (rewrite(&bytes, "layer0.qkv", Some((Dtype::I8, vec![3, 512], vec![0; 1536])), None), "tensor layer0.qkv: shape [3, 512], expected [4, width]"),
        (rewrite(&bytes, "layer0.qkv", Some((Dtype::F32, vec![4, 512], f32s(&half))), None), "tensor layer0.qkv: element 7 is"),
        (rewrite(&bytes, "layer0.qkv", Some((Dtype::F32, vec![4, 512], f32s(&[f32::NAN; 2048]))), None), "tensor layer0.qkv: element 0 is NaN"),
        (rewrite(&bytes, "tokens", Some((Dtype::I64, vec![64], vec![0; 512])), None), "tensor tokens: dtype I64, expected I32"),
        (rewrite(&bytes, "", None, Some(("format", "czip-dump-2"))), "metadata format \"czip-dump-2\": unknown format version"),
    ];
    for (i, (b, want)) in cases.iter().enumerate() {
        let e = parse(b).expect_err(want);
        assert!(e.starts_with(want), "{want} / {e}");
        // The command line says the same, exit 1.
        refused(&dir, &models, &format!("bad{i}.safetensors"), b, want);
    }

    // Rows narrower than REF's, and another chunk's tokens.
    let narrow = rewrite(&bytes, "layer0.attn", Some((Dtype::I8, vec![4, 383], vec![0; 4 * 383])), None);
    refused(&dir, &models, "narrow.safetensors", &narrow, "tensor layer0.attn: shape [4, 383], expected [4, 384]");
    let mut other = d.clone();
    other.tokens[5] ^= 1;
    refused(&dir, &models, "other.safetensors", &to_safetensors(&other).unwrap(), "tensor tokens: IMPL's chunk is not REF's (position 5: REF");
}

/// `compare-dumps ref.safetensors NAME` with `bytes` as NAME: refused, exit
/// 1, with `want` on stderr.
fn refused(dir: &Path, models: &Path, name: &str, bytes: &[u8], want: &str) {
    std::fs::write(dir.join(name), bytes).unwrap();
    let o = cc(dir, models, &["compare-dumps", "ref.safetensors", name]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(want), "{}", stderr(&o));
}

#[test]
fn score_prints_the_dump_command_of_the_departing_chunk() {
    let Some((models, golden, dir)) = setup("score") else { return };
    // The public Python's file of alice_ch1 at level 1 departs in chunk 45 (spec §11 row 1).
    let file = golden.join("files/python/L1/brotli/alice_ch1.txt.czip");
    if !file.exists() {
        return;
    }
    let corpus = golden.join("corpus");
    let o = cc(&dir, &models, &["score", "--impl-name", "py", "--files", file.to_str().unwrap(), "--corpus", corpus.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let line = out.lines().find(|l| l.starts_with("next step: alice_ch1.txt: czip-conformance dump ")).unwrap_or_else(|| panic!("{out}"));
    let command = line.trim_start_matches("next step: alice_ch1.txt: czip-conformance ").split(" — ").next().unwrap();
    assert_eq!(
        command,
        format!("dump --model v001 --text {} --level 1 --chunk 45 -o alice_ch1.txt.chunk45.ref.safetensors", corpus.join("alice_ch1.txt").display())
    );
    assert!(line.ends_with("then dump chunk 45 (it departs at token 32) from your build and run czip-conformance compare-dumps on the two"), "{line}");
    // The command runs as printed; the Python rounding (reproduced by the
    // udiv-round-up fault) then shows at the final norm of position 31.
    let args: Vec<&str> = command.split(' ').collect();
    let o = cc(&dir, &models, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut with_fault = args.clone();
    with_fault.splice(with_fault.len() - 1.., ["python.safetensors", "--fault", "udiv-round-up"]);
    assert_eq!(cc(&dir, &models, &with_fault).status.code(), Some(0));
    let o = cc(&dir, &models, &["compare-dumps", "alice_ch1.txt.chunk45.ref.safetensors", "python.safetensors"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("first difference: logits: position 31"), "{}", stdout(&o));
}
