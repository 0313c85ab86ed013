//! The C++ adapter kit (`adapters/cpp/`), once built (`.ci/run` builds it
//! before the tests; elsewhere the tests skip with the command that builds
//! it): its example adapter passes every `core` case of the six primitives
//! it answers and is unsupported for the rest; its dump writer writes a
//! safetensors file the Rust `safetensors` crate reads back exactly.

use crate::common;

use std::path::PathBuf;
use std::process::Command;

use common::repo;
use czip::conformance::suite::{load_cases, load_suites};
use serde_json::Value;

const RUNNER: &str = env!("CARGO_BIN_EXE_czip-conformance");
const BUILD: &str = "cmake -S adapters/cpp -B adapters/cpp/build && cmake --build adapters/cpp/build";

/// The ops the example answers.
const PRIMITIVES: &[&str] = &["sra_rne_tte_s32", "udiv_rne_tte_u32", "div_rne_tte_s32", "clamp_i8", "isqrt32", "argmax"];

/// `adapters/cpp/build/NAME`, or `None` (with a message) outside CI when not built.
fn built(name: &str) -> Option<PathBuf> {
    let p = repo("adapters/cpp/build").join(name);
    if p.is_file() {
        return Some(p);
    }
    let msg = format!("{} not built (run `{BUILD}`)", p.display());
    assert!(std::env::var_os("CI").is_none(), "{msg}; CI builds it in .ci/run before the tests");
    eprintln!("SKIPPED: {msg}");
    None
}

#[test]
fn the_example_adapter_passes_the_primitives_of_core_and_nothing_else_runs() {
    if built("czip-cpp-example").is_none() {
        return;
    }
    let cases = load_cases(&repo("vectors")).unwrap();
    let suites = load_suites(&repo("suites"), &cases).unwrap();
    let core = suites.iter().find(|s| s.name == "core").unwrap();
    let expected_pass = core.cases.iter().filter(|&&i| PRIMITIVES.contains(&cases[i].op.as_str())).count();
    assert_eq!(expected_pass, 2682);
    let dir = common::scratch("cpp-kit-core");
    let out = Command::new(RUNNER)
        .current_dir(repo(""))
        .args(["run", "--impl", "cpp-example", "--suite", "core", "--allow-partial", "--report", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = common::stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", common::stderr(&out));
    assert!(stdout.starts_with("implementation cpp-example — verdict PARTIAL\n"), "{stdout}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let t = &report["totals"];
    assert_eq!((t["pass"].as_u64(), t["fail"].as_u64(), t["skipped"].as_u64()), (Some(expected_pass as u64), Some(0), Some(0)), "{t}");
    assert_eq!(t["unsupported"].as_u64(), Some((core.cases.len() - expected_pass) as u64), "{t}");
}

#[test]
fn the_dump_writer_writes_safetensors_the_rust_reader_reads() {
    let Some(exe) = built("czip-cpp-dump-example") else { return };
    let dir = common::scratch("cpp-kit-dump");
    let path = dir.join("d.safetensors");
    let out = Command::new(exe).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let bytes = std::fs::read(&path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    assert_eq!((8 + header_len) % 8, 0, "the header is padded to 8 bytes");
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let m = meta.metadata().as_ref().unwrap();
    let get = |k: &str| m.get(k).map(String::as_str);
    assert_eq!(
        (get("format"), get("model_hash"), get("chunk_log2"), get("producer")),
        (Some("czip-dump-1"), Some("0123abcd"), Some("6"), Some("czip-cpp-dump-example 1.0.0"))
    );
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let t = |name: &str| {
        let v = st.tensor(name).unwrap();
        (format!("{:?}", v.dtype()), v.shape().to_vec(), v.data().to_vec())
    };
    let le32 = |xs: &[i32]| xs.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    assert_eq!(t("tokens"), ("I32".into(), vec![3], le32(&[5, 7, 9])));
    assert_eq!(t("positions"), ("I32".into(), vec![2], le32(&[0, 2])));
    assert_eq!(t("layer0.qkv"), ("I8".into(), vec![2, 3], [-127i8, 0, 1, 127, -1, 2].iter().map(|&x| x as u8).collect()));
    assert_eq!(t("layer0.resid_attn"), ("I32".into(), vec![2, 1], le32(&[-70000, 70000])));
    assert_eq!(t("logits"), ("I32".into(), vec![2, 2], le32(&[1, -2, 3, -4])));
    let cum: Vec<u8> = [1u32, 3, u32::MAX, 7].iter().flat_map(|x| x.to_le_bytes()).collect();
    assert_eq!(t("cum"), ("U32".into(), vec![2, 2], cum));
}
