//! The summary a run prints: verdict, the suite table with a distinct-case
//! totals row, why the verdict is not PASS, what did not run (grouped by
//! reason, with counts), and the first failures root cause first.

use std::fmt::Write as _;

use super::{Report, Verdict};

/// Failures shown on the terminal; the reports list them all.
const FAILURES_SHOWN: usize = 10;
/// Reasons for cases that did not run shown on the terminal.
const REASONS_SHOWN: usize = 8;

pub(super) fn render(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "implementation {} — verdict {}", r.implementation, r.verdict.as_upper());
    if !r.causes.is_empty() {
        let _ = writeln!(s, "failures by cause:");
        for c in &r.causes {
            let _ = writeln!(s, "  {:>6} {}", c.cases, c.label);
        }
    }
    let _ = writeln!(s, "{:<16} {:>6} {:>6} {:>6} {:>11} {:>8} {:>9}", "suite", "cases", "pass", "fail", "unsupported", "skipped", "agreement");
    for x in &r.suites {
        let _ = writeln!(
            s,
            "{:<16} {:>6} {:>6} {:>6} {:>11} {:>8} {:>8.2}%",
            x.name, x.total, x.pass, x.fail, x.unsupported, x.skipped, 100.0 * x.agreement
        );
    }
    let t = &r.totals;
    if r.suites.len() > 1 {
        let _ = writeln!(s, "{:<16} {:>6} {:>6} {:>6} {:>11} {:>8}", "distinct cases", t.cases, t.pass, t.fail, t.unsupported, t.skipped);
    }
    if r.verdict != Verdict::Pass {
        for reason in &r.verdict_reasons {
            let _ = writeln!(s, "{}: {reason}", r.verdict.as_upper());
        }
    }
    if !r.not_run.is_empty() {
        let _ = writeln!(s, "not run: {} unsupported, {} skipped (cannot run here), by reason:", t.unsupported, t.skipped);
        for g in r.not_run.iter().take(REASONS_SHOWN) {
            let _ = writeln!(s, "  {:>6} {:<11} {}", g.cases, g.status.word(), g.reason);
        }
        if r.not_run.len() > REASONS_SHOWN {
            let _ = writeln!(s, "  … and {} more reasons (see report.md)", r.not_run.len() - REASONS_SHOWN);
        }
    }
    if !r.not_answered.is_empty() {
        let fields: Vec<String> = r.not_answered.iter().map(|n| format!("{} {}", n.field, n.cases)).collect();
        let _ = writeln!(s, "not answered (diagnostic fields, not failures): {}", fields.join(", "));
    }
    for f in r.failures.iter().take(FAILURES_SHOWN) {
        let _ = writeln!(s, "FAIL {} ({}, {}): {} [{}]", f.case.id, f.case.op, f.case.spec, f.case.message, f.cause.label());
    }
    if r.failures.len() > FAILURES_SHOWN {
        let _ = writeln!(s, "… and {} more failures (root cause first; see the report)", r.failures.len() - FAILURES_SHOWN);
    }
    s
}
