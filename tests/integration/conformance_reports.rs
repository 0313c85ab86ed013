//! Verdicts and reports (issue 17): a PASS is a fact. A run that checked
//! nothing fails; unsupported required cases fail unless `--allow-partial`
//! (then PARTIAL, never PASS); skip reasons are on the terminal and in the
//! reports; every rendering counts the same way; root causes come first; the
//! report header says which tool, corpus and models, and junit has times.

use crate::common;

use common::{repo, stdout};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use czip::conformance::compare::{CaseResult, Status};
use czip::conformance::implementation::Builtin;
use czip::conformance::ops::Context;
use czip::conformance::report::{strip_timings, Report, Verdict, VerdictPolicy};
use czip::conformance::runner::run_cases;
use czip::conformance::suite::{load_cases, load_suites};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_czip-conformance");

/// `czip-conformance ARGS` from the repository, with the shared models and corpus.
fn conformance(args: &[&str], models: &Path, corpus: &Path) -> Output {
    Command::new(BIN)
        .current_dir(repo(""))
        .args(args)
        .arg("--models-dir")
        .arg(models)
        .arg("--corpus")
        .arg(corpus)
        .output()
        .unwrap()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// A manifest whose command is our own `serve`, optionally with a fault.
fn serve_manifest(dir: &Path, fault: Option<&str>) -> PathBuf {
    let mut argv = format!("{BIN:?}, \"serve\"");
    if let Some(f) = fault {
        argv += &format!(", \"--fault\", {f:?}");
    }
    let p = dir.join("serve.toml");
    std::fs::write(&p, format!("name = \"serve\"\ncommand = [{argv}]\n")).unwrap();
    p
}

#[test]
fn a_run_that_checked_nothing_fails() {
    // The finding: a manifest on `--suite core` where every case is
    // unsupported gave `0 passed, 0 failed, 7576 skipped`, verdict PASS, exit 0.
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let dir = common::scratch("conformance-reports-nothing");
    let m = dir.join("files-only.toml");
    std::fs::write(&m, "name = \"files-only\"\n[templates]\ncompress = \"true\"\ndecompress = \"true\"\nfeatures = [\"file_ops\"]\n").unwrap();
    for extra in [&[][..], &["--allow-partial"][..]] {
        let mut args = vec!["run", "--impl", m.to_str().unwrap(), "--suite", "core"];
        args.extend_from_slice(extra);
        let o = conformance(&args, &models, &golden.join("corpus"));
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(out.starts_with("implementation files-only — verdict FAIL\n"), "{out}");
        assert!(out.contains("FAIL: nothing was checked: all 7577 cases were unsupported or skipped\n"), "{out}");
        assert!(out.contains("FAIL: core: no case passed (a required suite must pass at least one)\n"), "{out}");
        assert!(out.contains("    5290 unsupported implementation does not declare core\n"), "{out}");
        assert!(out.ends_with("0 passed, 0 failed, 7577 skipped\n"), "{out}");
    }
}

#[test]
fn unsupported_required_cases_fail_unless_partial_is_allowed() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let ctx = Context::new(models.clone(), repo("vectors"), golden.join("corpus"));
    let cases = load_cases(&repo("vectors")).unwrap();
    let suites = load_suites(&repo("suites"), &cases).unwrap();
    let core = suites.iter().find(|s| s.name == "core").unwrap();
    let picked: Vec<_> = core.cases.iter().map(|&i| cases[i].clone()).collect();
    let mut imp = Builtin::with_features(Context::new(models, repo("vectors"), golden.join("corpus")), ["core".to_string()].into());
    let results = run_cases(&mut imp, &ctx, &picked, &|_, _| {});
    let rows = vec![("core".to_string(), true, (0..results.len()).collect::<Vec<_>>())];
    let mut report = Report::build("restricted", vec!["core".into()], &rows, &results);
    assert_eq!(report.verdict, Verdict::Fail);
    assert_eq!(report.verdict_reasons, ["core: 2287 of 7577 cases unsupported (--allow-partial accepts that as PARTIAL)"]);
    assert!(!report.passed());
    report.decide(VerdictPolicy { allow_partial: true });
    assert_eq!(report.verdict, Verdict::Partial);
    assert!(report.passed(), "PARTIAL exits 0");
    assert!(report.to_terminal().starts_with("implementation restricted — verdict PARTIAL\n"));
    assert!(report.to_markdown().contains("Verdict: **PARTIAL**"));
    assert_eq!(report.closing_line(), "5290 passed, 0 failed, 2287 skipped");
    // A failure still fails a partial run.
    let mut failed = results.clone();
    failed[0].status = Status::Fail;
    let mut r = Report::build("restricted", vec![], &rows, &failed);
    r.decide(VerdictPolicy { allow_partial: true });
    assert_eq!(r.verdict, Verdict::Fail);
}

#[test]
fn skip_reasons_are_on_the_terminal_and_in_every_report() {
    // The finding: skipped cases said why only in junit.xml.
    let Some(golden) = common::golden_dir() else { return };
    let empty = common::scratch("conformance-reports-nomodels");
    let out_dir = empty.join("report");
    let o = conformance(&["run", "--impl", "rust", "--suite", "model-v000", "--report", out_dir.to_str().unwrap()], &empty, &golden.join("corpus"));
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let reason = format!("model v000 not found at {}", empty.join("v000_eng.czm").display());
    assert!(out.contains("FAIL: model-v000: 60 of 60 cases could not run here (skipped)\n"), "{out}");
    assert!(out.contains("not run: 0 unsupported, 60 skipped (cannot run here), by reason:\n"), "{out}");
    assert!(out.contains(&format!("      60 skipped     {reason}")), "{out}");
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(md.contains(&format!("## Not run (0 unsupported, 60 skipped)\n\n- 60 skipped (model-v000): {reason}\n")), "{md}");
    let json = read_json(&out_dir.join("report.json"));
    assert_eq!(json["not_run"][0]["reason"], reason.as_str());
    assert_eq!(json["not_run"][0]["cases"], 60);
    assert_eq!(json["not_run"][0]["status"], "skipped");
    assert_eq!(json["skipped"].as_array().unwrap().len(), 60);
}

#[test]
fn counts_agree_across_renderings_and_root_causes_come_first() {
    // The findings: the summary counted cases of two suites once while the
    // table counted them twice; junit said 132 failures where the terminal
    // said 84; `primitive.udiv…` was listed after `layer.rmsnorm…`.
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let dir = common::scratch("conformance-reports-counts");
    let m = serve_manifest(&dir, Some("udiv-round-up"));
    let rep = dir.join("report");
    let o = conformance(&["run", "--impl", m.to_str().unwrap(), "--suite", "core", "--suite", "divergences", "--report", rep.to_str().unwrap()], &models, &golden.join("corpus"));
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let json = read_json(&rep.join("report.json"));
    let totals = &json["totals"];
    let fail = totals["fail"].as_u64().unwrap();
    let closing = out.lines().last().unwrap();
    assert_eq!(closing, format!("{} passed, {fail} failed, {} skipped", totals["pass"], totals["unsupported"].as_u64().unwrap() + totals["skipped"].as_u64().unwrap()));
    assert_eq!(json["failures"].as_array().unwrap().len() as u64, fail, "one failure entry per distinct case");
    let junit = std::fs::read_to_string(rep.join("junit.xml")).unwrap();
    let top = junit.lines().nth(1).unwrap();
    assert!(top.contains(&format!(" tests=\"{}\" failures=\"{fail}\" ", totals["cases"])), "{top}");
    let md = std::fs::read_to_string(rep.join("report.md")).unwrap();
    assert!(md.contains(&format!("| **distinct cases** | | {} | {} | {fail} |", totals["cases"], totals["pass"])), "{md}");
    assert!(md.contains("Counting: a suite row counts every case the suite lists"), "{md}");
    let n = |k: &str| totals[k].as_u64().unwrap();
    assert!(out.contains(&format!("distinct cases   {:>6} {:>6} {fail:>6}", n("cases"), n("pass"))), "{out}");
    // Suite rows count membership: their failures add up to more than the distinct count.
    let row_fails: u64 = json["suites"].as_array().unwrap().iter().map(|s| s["fail"].as_u64().unwrap()).sum();
    assert!(row_fails > fail, "the divergences view repeats core's failures ({row_fails} vs {fail})");
    // Root cause first: every primitive failure before any layer failure.
    let ids: Vec<&str> = json["failures"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert!(ids[0].starts_with("primitive.udiv_rne_tte_u32."), "{ids:?}");
    let last_primitive = ids.iter().rposition(|i| i.starts_with("primitive.")).unwrap();
    let first_layer = ids.iter().position(|i| i.starts_with("layer.")).unwrap();
    assert!(last_primitive < first_layer, "{ids:?}");
    assert!(out.lines().find(|l| l.starts_with("FAIL ")).unwrap().starts_with("FAIL primitive.udiv_rne_tte_u32."), "{out}");
}

#[test]
fn reports_say_which_tool_corpus_and_models_and_carry_times() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let dir = common::scratch("conformance-reports-provenance");
    let rep = dir.join("report");
    let o = Command::new(BIN)
        .current_dir(repo(""))
        .env("SOURCE_DATE_EPOCH", "1796169599")
        .args(["run", "--impl", "rust", "--suite", "model-v000", "--report", rep.to_str().unwrap(), "--models-dir"])
        .arg(&models)
        .arg("--corpus")
        .arg(golden.join("corpus"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let json = read_json(&rep.join("report.json"));
    let p = &json["provenance"];
    assert_eq!(p["tool"], format!("czip-conformance {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(p["date"], "2026-12-01T23:59:59Z");
    assert_eq!(p["vectors_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(p["corpus_sha256"].as_str().unwrap().len(), 64);
    let v000 = std::fs::read(models.join("v000_eng.czm")).unwrap();
    assert_eq!(p["models"]["v000"], czip::conformance::case::sha256_hex(&v000));
    assert!(p["elapsed_s"].is_number());
    assert_eq!(json["report_format"], 2);
    let md = std::fs::read_to_string(rep.join("report.md")).unwrap();
    assert!(md.contains(" · 2026-12-01T23:59:59Z · "), "{md}");
    assert!(md.contains(&format!("model v000 sha256 {}", czip::conformance::case::sha256_hex(&v000))), "{md}");
    let junit = std::fs::read_to_string(rep.join("junit.xml")).unwrap();
    let case_lines: Vec<&str> = junit.lines().filter(|l| l.contains("<testcase ")).collect();
    assert_eq!(case_lines.len(), 60);
    assert!(case_lines.iter().all(|l| l.contains(" time=\"")), "{junit}");
    // Two runs differ only in what strip_timings removes (and the clock).
    let o2 = conformance(&["run", "--impl", "rust", "--suite", "model-v000", "--report", dir.join("again").to_str().unwrap()], &models, &golden.join("corpus"));
    assert_eq!(o2.status.code(), Some(0));
    let (mut a, mut b) = (json.clone(), read_json(&dir.join("again/report.json")));
    strip_timings(&mut a);
    strip_timings(&mut b);
    assert_eq!(a, b);
}

#[test]
fn terminal_summary_of_a_faulty_engine() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let dir = common::scratch("conformance-reports-snapshot");
    let m = serve_manifest(&dir, Some("clamp-128"));
    let o = conformance(&["run", "--impl", m.to_str().unwrap(), "--suite", "core", "--suite", "reject"], &models, &golden.join("corpus"));
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("terminal_clamp_fault", stdout(&o));
}

/// Results of a report keep the order of their cases; times are measured.
#[test]
fn every_case_result_has_a_time() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let ctx = Context::new(models.clone(), repo("vectors"), golden.join("corpus"));
    let cases: Vec<_> = load_cases(&repo("vectors")).unwrap().into_iter().filter(|c| c.op == "isqrt32").collect();
    let mut imp = Builtin::new(Context::new(models, repo("vectors"), golden.join("corpus")));
    let results: Vec<CaseResult> = run_cases(&mut imp, &ctx, &cases, &|_, _| {});
    assert_eq!(results.len(), 147);
    assert!(results.iter().all(|r| r.time_us.is_some() && r.status == Status::Pass));
    assert_eq!(results.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), cases.iter().map(|c| c.id.as_str()).collect::<Vec<_>>());
    // report.json carries the time of every case, passed ones included;
    // strip_timings removes them with the rest.
    let all: Vec<usize> = (0..results.len()).collect();
    let report = Report::build("rust", Vec::new(), &[("core".to_string(), true, all)], &results);
    let mut json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    let times = json["time_us"].as_object().unwrap();
    assert_eq!(times.len(), 147);
    assert!(cases.iter().all(|c| times[&c.id].is_u64()));
    strip_timings(&mut json);
    assert!(json.get("time_us").is_none());
}
