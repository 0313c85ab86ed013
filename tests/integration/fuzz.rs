//! `czip-conformance fuzz`: every fault of `serve --fault` is found and
//! shrunk to a case of the faulty op; `serve` without a fault gives no
//! disagreement; the minimal cases are valid input to `run`; a seed and a
//! case count give the same report; the report's form (snapshot).
//!
//! Runs use `--cases` (never `--seconds`) and op subsets, to stay short.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use czip::conformance::faults::{self, Fault};
use czip::conformance::fuzz::{fuzz, report, select_ops, Budget, FuzzOptions};
use czip::conformance::implementation::Implementation;
use czip::conformance::op_table::Op;
use czip::conformance::ops::{Context, Outcome, ALL_FEATURES};
use serde_json::Value;

const RUNNER: &str = env!("CARGO_BIN_EXE_czip-conformance");

/// A manifest that starts `serve` (with `--fault F` when given) in `dir`.
fn serve_manifest(dir: &Path, fault: Option<&str>) -> PathBuf {
    let mut cmd = vec![format!("{RUNNER:?}"), "\"serve\"".to_string()];
    if let Some(f) = fault {
        cmd.extend(["\"--fault\"".to_string(), format!("{f:?}")]);
    }
    let p = dir.join("serve.toml");
    std::fs::write(&p, format!("name = \"serve\"\ncommand = [{}]\n", cmd.join(", "))).unwrap();
    p
}

/// `fuzz --impl MANIFEST --op OPS --cases N --out DIR/out`: exit code and report.json.
fn fuzz_cli(dir: &Path, manifest: &Path, ops: &str, cases: usize, seed: u64) -> (i32, Value) {
    let out = dir.join("out");
    let o = Command::new(RUNNER)
        .args(["fuzz", "--impl"])
        .arg(manifest)
        .args(["--op", ops, "--cases", &cases.to_string(), "--seed", &seed.to_string(), "--out"])
        .arg(&out)
        .current_dir(common::repo(""))
        .output()
        .unwrap();
    let report = std::fs::read_to_string(out.join("report.json")).unwrap_or_else(|e| panic!("no report ({e}): {}", common::stderr(&o)));
    (o.status.code().unwrap_or(-1), serde_json::from_str(&report).unwrap())
}

/// The minimal case of the disagreement of `op` (its arguments), checking it is there.
fn minimal<'a>(report: &'a Value, op: &str) -> &'a Value {
    let ds = report["disagreements"].as_array().unwrap();
    let d = ds.iter().find(|d| d["op"] == op).unwrap_or_else(|| panic!("no disagreement of {op}: {report:#}"));
    &d["minimal"]["args"]
}

/// A fault, the ops fuzzed, the case count, the op its minimal case must
/// name, and a check of that minimal case's arguments.
type FaultRun<'a> = (&'a str, &'a str, usize, &'a str, &'a dyn Fn(&Value));

#[test]
fn every_fault_is_found_and_shrunk_to_its_op() {
    let runs: [FaultRun; 5] = [
        ("udiv-round-up", "udiv_rne_tte_u32", 40, "udiv_rne_tte_u32", &|a| {
            // Both operands < 16: the smallest odd divisor with remainder (d−1)/2.
            assert_eq!(a, &serde_json::json!({"n": 0, "d": 1}));
        }),
        ("clamp-128", "clamp_i8", 40, "clamp_i8", &|a| assert_eq!(a, &serde_json::json!({"x": -128}))),
        ("wrap-accumulator", "attention", 40, "attention", &|a| {
            // One head, one step repeated 259 times: where 65535·127·259 first passes 2^31.
            assert_eq!(a["n_heads"], 1);
            assert_eq!(a["repeat"]["count"], 259);
        }),
        ("round-half-up", "requantize", 40, "requantize", &|a| {
            assert_eq!(a, &serde_json::json!({"x": [1], "mult": 1, "shift": 1}));
        }),
        ("fp16-accumulate", "linear", 40, "linear", &|a| {
            // One product beyond fp16's integers (2048): a single-element Linear.
            assert_eq!(a["n_out"], 1);
            assert_eq!(a["x"].as_array().map(Vec::len), Some(1));
        }),
    ];
    for (fault, ops, cases, op, check) in runs {
        let dir = common::scratch(&format!("fuzz_fault_{fault}"));
        let m = serve_manifest(&dir, Some(fault));
        let (code, report) = fuzz_cli(&dir, &m, ops, cases, 1);
        assert_eq!(code, 1, "{fault}: a disagreement exits 1");
        let a = minimal(&report, op);
        eprintln!("{fault}: {op} {a}");
        check(a);
    }
}

#[test]
fn the_minimal_cases_are_valid_input_to_run() {
    let dir = common::scratch("fuzz_run_minimal");
    let m = serve_manifest(&dir, Some("clamp-128"));
    let (code, report) = fuzz_cli(&dir, &m, "clamp_i8,requantize,rmsnorm,reglu", 80, 3);
    assert_eq!(code, 1);
    let n = report["disagreements"].as_array().unwrap().len();
    assert!(n >= 3, "{report:#}");
    let run = |imp: &Path, report: &Path| {
        let out = dir.join("out");
        let o = Command::new(RUNNER)
            .args(["run", "--impl"])
            .arg(imp)
            .arg("--vectors")
            .arg(out.join("cases"))
            .arg("--suites-dir")
            .arg(out.join("suites"))
            .arg("--report")
            .arg(report)
            .current_dir(common::repo(""))
            .output()
            .unwrap();
        let r: Value = serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap()).unwrap();
        (o.status.code(), r["totals"].clone())
    };
    // The faulty implementation fails every minimal case; serve without the fault passes them.
    let (code, totals) = run(&m, &dir.join("run_faulty"));
    assert_eq!((code, &totals["cases"], &totals["fail"]), (Some(1), &Value::from(n), &Value::from(n)), "{totals}");
    let ok = serve_manifest(&common::scratch("fuzz_run_minimal_ok"), None);
    let (code, totals) = run(&ok, &dir.join("run_ok"));
    assert_eq!((code, &totals["pass"]), (Some(0), &Value::from(n)), "{totals}");
}

#[test]
fn serve_without_a_fault_gives_no_disagreement() {
    if common::models_dir().is_none() || common::golden_dir().is_none() {
        return;
    }
    let dir = common::scratch("fuzz_serve_clean");
    let m = serve_manifest(&dir, None);
    let all: Vec<&str> = czip::conformance::op_table::OPS.iter().map(|s| s.name).collect();
    let (code, report) = fuzz_cli(&dir, &m, &all.join(","), 280, 7);
    assert_eq!(report["disagreements"], serde_json::json!([]), "{report:#}");
    assert_eq!(code, 0);
    assert_eq!(report["cases"], 280);
    assert_eq!(report["ops"].as_array().map(Vec::len), Some(all.len()), "every op was tried");
}

#[test]
fn a_seed_and_a_case_count_give_the_same_report() {
    let reports: Vec<Value> = (0..2)
        .map(|i| {
            let dir = common::scratch(&format!("fuzz_determinism_{i}"));
            let m = serve_manifest(&dir, Some("udiv-round-up"));
            let (_, mut r) = fuzz_cli(&dir, &m, "udiv_rne_tte_u32,div_rne_tte_s32,rmsnorm,clamp_i8", 60, 11);
            report::strip_timings(&mut r);
            // The manifest's path (in the reproducing command) is the only other difference.
            r.as_object_mut().map(|o| o.remove("impl_arg"));
            r
        })
        .collect();
    assert_eq!(reports[0], reports[1]);
    assert!(!reports[0]["disagreements"].as_array().unwrap().is_empty());
}

/// The engine with a fault, in process (for the snapshot: no process, no timings).
struct Faulty {
    ctx: Context,
    fault: Fault,
    features: BTreeSet<String>,
}

impl Implementation for Faulty {
    fn name(&self) -> &str {
        self.fault.name()
    }
    fn features(&self) -> &BTreeSet<String> {
        &self.features
    }
    fn call(&mut self, op: &str, args: &Value) -> Outcome {
        match Op::from_name(op) {
            Some(o) => faults::call(self.fault, &self.ctx, o, args),
            None => Outcome::Unsupported(op.into()),
        }
    }
}

#[test]
fn report_snapshot() {
    let ctx = || Context::new(common::repo("../shared/models"), common::repo("vectors"), common::repo("../shared/golden/corpus"));
    let mut imp = Faulty { ctx: ctx(), fault: Fault::UdivRoundUp, features: ALL_FEATURES.iter().map(|s| s.to_string()).collect() };
    let asked = [Op::UdivRneTteU32, Op::DivRneTteS32, Op::ClampI8];
    let (ops, _) = select_ops(imp.features(), &asked);
    let opts = FuzzOptions { ops: asked.to_vec(), budget: Budget::Cases(60), seed: 1, max_tokens: 64, shrink_budget: 100 };
    let run = fuzz(&mut imp, &ctx(), &ops, &opts, &|_| {});
    insta::assert_snapshot!("fuzz_report_md", report::markdown(&run, None, false));
    insta::assert_snapshot!("fuzz_junit", {
        let mut r = run.clone();
        r.elapsed_s = 0.0;
        r.ops.iter_mut().for_each(|o| o.time_us = 0);
        report::junit(&r)
    });
}
