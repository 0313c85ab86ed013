//! Named implementations (`--impl NAME`, `impls/*.toml`, `$CZIP_IMPLS_PATH`):
//! the `impls` listing in a controlled environment, `--impl cuda` without
//! its variable, `impls/cuda.toml` with our own `czip` standing in for a CUDA
//! build (it passes the `files` suite), and a stand-in that writes one wrong
//! byte inside a chunk (the run fails and names the chunk and token).

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::repo;
use serde_json::{json, Value};

const RUNNER: &str = env!("CARGO_BIN_EXE_czip-conformance");
const CZIP: &str = env!("CARGO_BIN_EXE_czip");

/// The runner with none of the variables the shipped manifests read.
fn runner(cwd: &Path) -> Command {
    let mut c = Command::new(RUNNER);
    c.current_dir(cwd).env_remove("CZIP_CUDA_BIN").env_remove("CZIP_CUDA_ADAPTER").env_remove("CZIP_IMPLS_PATH");
    c
}

fn write_exec(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `impls` run in a scratch project: a copy of `impls/` (so the C++ example
/// is not built there), `$CZIP_IMPLS_PATH` = `extra` holding a ready
/// adapter (our `serve`, named through a variable), a program that is not
/// executable, a template whose program is missing, and a `cuda.toml` that
/// `impls/cuda.toml` shadows; `compress_zip` is the adapter's fake package.
#[test]
fn impls_lists_every_implementation_and_what_each_one_lacks() {
    let dir = common::scratch("named-impls-listing");
    std::fs::create_dir_all(dir.join("impls")).unwrap();
    for e in std::fs::read_dir(repo("impls")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join("impls").join(p.file_name().unwrap())).unwrap();
    }
    let extra = dir.join("extra");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(extra.join("serve.toml"), "name = \"served\"\ndescription = \"the built-in engine behind the protocol\"\ncommand = [\"${CZIP_TEST_RUNNER}\", \"serve\"]\n").unwrap();
    write_exec(&extra.join("notexec"), "#!/bin/sh\n", 0o644);
    std::fs::write(extra.join("notexec.toml"), "name = \"n\"\ncommand = [\"./notexec\"]\n").unwrap();
    std::fs::write(extra.join("gone.toml"), "name = \"g\"\n[templates]\ncompress = \"./mycz compress {input} {output}\"\nfeatures = [\"levels\"]\n").unwrap();
    std::fs::write(extra.join("cuda.toml"), "name = \"other\"\ncommand = [\"x\"]\n").unwrap();
    let out = runner(&dir)
        .args(["impls", "--vectors", repo("vectors").to_str().unwrap()])
        .env("CZIP_IMPLS_PATH", "extra")
        .env("CZIP_TEST_RUNNER", RUNNER)
        .env("PYTHONPATH", repo("adapters/python/fake_compress_zip"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    insta::assert_snapshot!("impls_listing", common::stdout(&out));
}

/// Without `$CZIP_CUDA_BIN`, `--impl cuda` is a usage error that names the
/// variable and `czip-conformance impls`.
#[test]
fn run_impl_cuda_without_its_binary_is_a_usage_error() {
    let out = runner(&repo("")).args(["run", "--impl", "cuda", "--suite", "files"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        common::stderr(&out),
        "czip-conformance: --impl cuda: CZIP_CUDA_BIN is not set (impls/cuda.toml needs it); `czip-conformance impls` lists every implementation and what it needs\n"
    );
    let out = runner(&repo("")).args(["run", "--impl", "cuda-adapter"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).starts_with("czip-conformance: --impl cuda-adapter: CZIP_CUDA_ADAPTER is not set"), "{}", common::stderr(&out));
    let out = runner(&repo("")).args(["run", "--impl", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        common::stderr(&out),
        "czip-conformance: --impl nope: no such implementation (rust, python, a manifest path, impls/nope.toml or nope.toml in $CZIP_IMPLS_PATH); `czip-conformance impls` lists the known ones\n"
    );
}

/// A suite directory holding `files` restricted to `ids`.
fn files_subset(dir: &Path, ids: &[Value]) -> PathBuf {
    let suites = dir.join("suites");
    std::fs::create_dir_all(&suites).unwrap();
    std::fs::write(suites.join("files.json"), json!({"name": "files", "description": "subset", "required": true, "cases": ids}).to_string()).unwrap();
    suites
}

/// `--suite files` from `suites`, the data directories, and a report in `dir/report`.
fn data_args(suites: &Path, models: &Path, golden: &Path, dir: &Path) -> Vec<String> {
    let s = |p: &Path| p.display().to_string();
    ["--suite", "files", "--suites-dir", &s(suites), "--models-dir", &s(models), "--corpus", &s(&golden.join("corpus")), "--report", &s(&dir.join("report"))]
        .map(String::from)
        .to_vec()
}

/// `CZIP_CUDA_BIN=target/…/czip run --impl cuda` passes the `files` suite:
/// every 12th (model, level, text) group of it (64 cases, both ops and
/// codecs), as `conformance_templates.rs` does; all 768 by hand (README).
/// The variable is given relative to the directory the runner starts in.
#[test]
fn impls_cuda_with_czip_standing_in_passes_the_files_suite() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let dir = common::scratch("named-impls-cuda");
    let files: Value = serde_json::from_str(&std::fs::read_to_string(repo("suites/files.json")).unwrap()).unwrap();
    let ids: Vec<Value> = files["cases"].as_array().unwrap().iter().enumerate().filter(|(i, _)| (i / 4) % 12 == 0).map(|(_, c)| c.clone()).collect();
    assert_eq!(ids.len(), 64);
    let suites = files_subset(&dir, &ids);
    let bin = Path::new(CZIP).strip_prefix(repo("")).map_or_else(|_| CZIP.to_string(), |p| p.display().to_string());
    let out = runner(&repo("")).env("CZIP_CUDA_BIN", &bin).args(["run", "--impl", "cuda"]).args(data_args(&suites, &models, &golden, &dir)).output().unwrap();
    let stdout = common::stdout(&out);
    assert!(stdout.starts_with("implementation cuda — verdict PASS\n"), "{stdout}{}", common::stderr(&out));
    assert!(stdout.ends_with("64 passed, 0 failed, 0 skipped\n"), "{stdout}");
    assert_eq!(out.status.code(), Some(0));
}

/// A stand-in for a CUDA build: `czip`, except that `compress -c zstd`
/// writes one wrong byte in the middle of the coded chunks (it unpacks the
/// outer zstd stream, flips the low bit of that byte, and packs it again).
const WRONG_BYTE: &str = r#"#!/usr/bin/env python3
import os, struct, subprocess, sys
args = sys.argv[1:]
code = subprocess.call([os.environ["CZIP_REAL"]] + args)
if code != 0 or args[0] != "compress" or args[args.index("-c") + 1] != "zstd":
    sys.exit(code)
out = args[args.index("-o") + 1]
data = open(out, "rb").read()
inner = bytearray(subprocess.run(["zstd", "-d", "-c", "-q"], input=data[16:], capture_output=True, check=True).stdout)
n = struct.unpack_from("<I", inner, 4)[0]
lens = struct.unpack_from("<%dH" % n, inner, 12)
c = n // 2
at = 12 + 2 * n + sum(lens[:c]) + lens[c] // 2
inner[at] ^= 1
packed = subprocess.run(["zstd", "-c", "-q", "-19"], input=bytes(inner), capture_output=True, check=True).stdout
open(out, "wb").write(data[:16] + packed)
"#;

#[test]
fn impls_cuda_with_one_wrong_chunk_byte_fails_at_that_chunk_and_token() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    if Command::new("zstd").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "the zstd command is needed (apt-get install zstd)");
        eprintln!("SKIPPED: the zstd command is not installed");
        return;
    }
    let dir = common::scratch("named-impls-cuda-wrong-byte");
    let stand_in = dir.join("czip-cuda");
    write_exec(&stand_in, WRONG_BYTE, 0o755);
    let ids = [json!("file.compress.v001.L1.zstd.alice_ch1_txt"), json!("file.decompress.v001.L1.zstd.alice_ch1_txt")];
    let suites = files_subset(&dir, &ids);
    let out = runner(&repo("")).env("CZIP_REAL", CZIP).env("CZIP_CUDA_BIN", &stand_in).args(["run", "--impl", "cuda"]).args(data_args(&suites, &models, &golden, &dir)).output().unwrap();
    let stdout = common::stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", common::stderr(&out));
    assert!(stdout.starts_with("implementation cuda — verdict FAIL\n"), "{stdout}");
    assert!(stdout.ends_with("1 passed, 1 failed, 0 skipped\n"), "{stdout}");
    // The report localises it: alice_ch1 at level 1 is 82 chunks of 64
    // tokens, and the stand-in changed a byte in the middle of chunk 41.
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("report/report.json")).unwrap()).unwrap();
    let f = &report["failures"][0];
    assert_eq!(f["id"], json!("file.compress.v001.L1.zstd.alice_ch1_txt"), "{f}");
    let lines: Vec<&str> = f["localisation"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(lines, ["chunk 41 of 82: decoding it with the reference departs from the text's tokens at token position 32"]);
}
