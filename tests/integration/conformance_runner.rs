//! The runner on the committed corpus: every case passes through
//! `czip-conformance serve` (a real external process), and deliberately
//! broken implementations are caught at the right op and element.

use crate::common;

use common::repo;

use std::time::Duration;

use czip::conformance::case::Case;
use czip::conformance::compare::{CaseResult, Status};
use czip::conformance::implementation::ProcessAdapter;
use czip::conformance::ops::Context;
use czip::conformance::runner::run_cases;
use czip::conformance::suite::load_cases;

const SERVE: &str = env!("CARGO_BIN_EXE_czip-conformance");

fn setup() -> Option<(Context, Vec<Case>)> {
    let models = common::models_dir()?;
    let golden = common::golden_dir()?;
    let ctx = Context::new(models, repo("vectors"), golden.join("corpus"));
    let cases = load_cases(&repo("vectors")).expect("the committed corpus loads");
    Some((ctx, cases))
}

fn serve(fault: Option<&str>, ctx: &Context) -> ProcessAdapter {
    let mut argv = vec![SERVE.to_string(), "serve".to_string()];
    if let Some(f) = fault {
        argv.extend(["--fault".to_string(), f.to_string()]);
    }
    ProcessAdapter::spawn(&argv, &[], Duration::from_secs(300), ctx).expect("serve starts")
}

fn by_status(results: &[CaseResult], s: Status) -> Vec<&CaseResult> {
    results.iter().filter(|r| r.status == s).collect()
}

/// The whole corpus through a real external process passes. (The built-in
/// engine in process passes it too: `tests/integration/generate_corpus.rs`, which
/// replays it with the generation's context.)
#[test]
fn serve_passes_every_case() {
    let Some((ctx, cases)) = setup() else { return };
    let mut ext = serve(None, &ctx);
    let results = run_cases(&mut ext, &ctx, &cases, &|_, _| {});
    let failed: Vec<_> = results.iter().filter(|r| r.status != Status::Pass).map(|r| format!("{} {:?}: {}", r.id, r.status, r.message)).collect();
    assert!(failed.is_empty(), "serve does not pass {} cases: {:#?}", failed.len(), &failed[..failed.len().min(10)]);
    assert_eq!(results.len(), cases.len());
    eprintln!("{} cases pass through serve", cases.len());
}

/// Runs the cases of the ops the §11 faults touch (primitives, RMSNorm, attention) against a faulty serve.
fn faulty_run(fault: &str) -> Option<Vec<CaseResult>> {
    faulty_run_of(fault, &["udiv_rne_tte_u32", "clamp_i8", "rmsnorm", "attention"])
}

/// Runs every case of `ops` against `serve --fault FAULT`.
fn faulty_run_of(fault: &str, ops: &[&str]) -> Option<Vec<CaseResult>> {
    let (ctx, cases) = setup()?;
    let subset: Vec<Case> = cases.into_iter().filter(|c| ops.contains(&c.op.as_str())).collect();
    let mut ext = serve(Some(fault), &ctx);
    Some(run_cases(&mut ext, &ctx, &subset, &|_, _| {}))
}

#[test]
fn udiv_rounding_fault_is_caught_at_the_rmsnorm_element() {
    let Some(results) = faulty_run("udiv-round-up") else { return };
    let failed = by_status(&results, Status::Fail);
    assert!(failed.iter().any(|r| r.op == "udiv_rne_tte_u32" && r.divergence.as_ref().is_some_and(|d| d.path == "result")), "udiv case caught");
    let rms = failed.iter().find(|r| r.op == "rmsnorm" && r.tags.iter().any(|t| t == "divergence:udiv_round_half_up")).expect("the 9482 RMSNorm case fails");
    let d = rms.divergence.as_ref().expect("element-level divergence");
    assert!(d.path.starts_with("y[") && d.index.is_some(), "{d:?}");
    assert!(failed.iter().all(|r| matches!(r.op.as_str(), "udiv_rne_tte_u32" | "rmsnorm")), "only the faulty ops fail");
}

#[test]
fn clamp_fault_is_caught_in_clamp_and_attention() {
    let Some(results) = faulty_run("clamp-128") else { return };
    let failed = by_status(&results, Status::Fail);
    assert!(failed.iter().any(|r| r.op == "clamp_i8"), "clamp_i8(-128) caught");
    let att = failed.iter().find(|r| r.op == "attention").expect("an attention case rounding to −127.5 fails");
    let d = att.divergence.as_ref().expect("element-level divergence");
    assert_eq!(d.actual.first().and_then(|v| v.as_i64()), Some(-128), "{d:?}");
    // RMSNorm clamps with clamp_i8 too (the fault is −128..127 everywhere).
    assert!(failed.iter().all(|r| matches!(r.op.as_str(), "clamp_i8" | "attention" | "rmsnorm")));
}

#[test]
fn wrapping_accumulator_fault_is_caught_in_long_attention() {
    let Some(results) = faulty_run("wrap-accumulator") else { return };
    let failed = by_status(&results, Status::Fail);
    assert!(!failed.is_empty(), "the long-context attention case must fail");
    assert!(failed.iter().all(|r| r.op == "attention"), "only attention fails");
    assert!(failed.iter().any(|r| r.tags.iter().any(|t| t == "divergence:i32_accumulator")));
}

#[test]
fn round_half_up_fault_is_caught_in_requantize_and_rmsnorm() {
    let ops = ["sra_rne_tte_s32", "sra_rne_tte_s64_to_s32", "requantize", "rmsnorm", "linear", "model_logits"];
    let Some(results) = faulty_run_of("round-half-up", &ops) else { return };
    let failed = by_status(&results, Status::Fail);
    for op in ["requantize", "rmsnorm"] {
        let r = failed.iter().find(|r| r.op == op).unwrap_or_else(|| panic!("a {op} case with a tie fails"));
        assert!(r.divergence.as_ref().is_some_and(|d| d.path.starts_with("y[") && d.index.is_some()), "{op}: {:?}", r.divergence);
    }
    // The primitives keep the spec's rounding; Linear has no shift; the model ops use the faulty layers.
    assert!(failed.iter().all(|r| matches!(r.op.as_str(), "requantize" | "rmsnorm" | "model_logits")), "{:?}", failed.iter().map(|r| &r.op).collect::<Vec<_>>());
}

#[test]
fn fp16_accumulate_fault_is_caught_in_linear() {
    let Some(results) = faulty_run_of("fp16-accumulate", &["linear", "requantize", "rmsnorm", "model_trace"]) else { return };
    let failed = by_status(&results, Status::Fail);
    let lin = failed.iter().find(|r| r.op == "linear").expect("a linear case whose sum passes 2048 fails");
    assert!(lin.divergence.as_ref().is_some_and(|d| d.path.starts_with("y[")), "{:?}", lin.divergence);
    assert!(failed.iter().all(|r| matches!(r.op.as_str(), "linear" | "model_trace")), "{:?}", failed.iter().map(|r| &r.op).collect::<Vec<_>>());
}
