//! The fuzz report, in the three forms `run` writes (`report.json`,
//! `report.md`, `junit.xml`) and the terminal summary. Each distinct
//! disagreement (op + cause) appears once, with its minimal case, the
//! failures it explains, and the shrink it took; then the cases tried per op
//! and per second.
//!
//! Everything but the timings is a function of the run's inputs (seed, case
//! count, implementation); [`strip_timings`] removes them (`elapsed_s`,
//! `time_us`, `timings`, the per-second rates and the provenance's date) so
//! two reports of the same run compare equal.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::FuzzRun;
use crate::conformance::report::Provenance;

/// `report.json`: the run, and the provenance when given.
pub fn to_json(run: &FuzzRun, provenance: Option<&Provenance>) -> Value {
    let mut v = serde_json::to_value(run).unwrap_or(Value::Null);
    if let (Some(p), Some(o)) = (provenance, v.as_object_mut()) {
        o.insert("provenance".into(), serde_json::to_value(p).unwrap_or(Value::Null));
    }
    if let Some(ops) = v.get_mut("ops").and_then(Value::as_array_mut) {
        for o in ops {
            let rate = rate(o["tried"].as_u64().unwrap_or(0), o["time_us"].as_u64().unwrap_or(0));
            o["cases_per_s"] = rate.map_or(Value::Null, Value::from);
        }
    }
    v["cases_per_s"] = rate(run.cases as u64, (run.elapsed_s * 1e6) as u64).map_or(Value::Null, Value::from);
    v
}

/// Cases per second, one decimal (none for no time).
fn rate(n: u64, us: u64) -> Option<f64> {
    (us > 0).then(|| (n as f64 * 1e6 / us as f64 * 10.0).round() / 10.0)
}

fn rate_text(n: u64, us: u64) -> String {
    rate(n, us).map_or("—".into(), |r| format!("{r}"))
}

/// Removes every timing of a `report.json` (see the module documentation).
pub fn strip_timings(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in ["elapsed_s", "time_us", "timings", "cases_per_s", "date"] {
                m.remove(k);
            }
            m.values_mut().for_each(strip_timings);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_timings),
        _ => {}
    }
}

/// The command that reproduces the run.
pub fn reproduce(run: &FuzzRun) -> String {
    let ops = if run.ops_asked.is_empty() { String::new() } else { format!(" --op {}", run.ops_asked.join(",")) };
    format!("czip-conformance fuzz --impl {}{ops} --seed {} --cases {} --max-tokens {}", run.impl_arg, run.seed, run.cases, run.max_tokens)
}

fn verdict(run: &FuzzRun) -> &'static str {
    if run.passed() {
        "PASS"
    } else {
        "FAIL"
    }
}

fn one_line(v: &Value) -> String {
    cut(&v.to_string(), 300)
}

/// `s` cut to `n` characters (with an ellipsis).
fn cut(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// `report.md`.
pub fn markdown(run: &FuzzRun, provenance: Option<&Provenance>, timings: bool) -> String {
    let mut s = format!("# czip-conformance fuzz: {}\n\n", run.implementation);
    let _ = writeln!(s, "**Verdict: {}** — {} distinct disagreement(s) in {} cases (seed {}).\n", verdict(run), run.disagreements.len(), run.cases, run.seed);
    let _ = writeln!(s, "Reproduce: `{}`\n", reproduce(run));
    if let Some(why) = &run.stopped {
        let _ = writeln!(s, "Stopped early: {why}\n");
    }
    if let Some(p) = provenance {
        for l in p.lines() {
            let _ = writeln!(s, "- {l}");
        }
        s.push('\n');
    }
    s.push_str("## Disagreements\n\n");
    if run.disagreements.is_empty() {
        s.push_str("None.\n\n");
    } else {
        s.push_str("| op | cause | minimal case's cause | raw failures | first case | shrink steps / queries |\n|---|---|---|---|---|---|\n");
        for d in &run.disagreements {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | {} | {} / {}{} |",
                d.op,
                d.cause_label,
                d.minimal_cause.label(),
                d.raw_failures,
                d.first_index,
                d.shrink.steps,
                d.shrink.calls,
                if d.shrink.budget_exhausted { " (budget spent)" } else { "" }
            );
        }
        s.push('\n');
        for d in &run.disagreements {
            let _ = writeln!(s, "### `{}` — {}\n", d.op, d.minimal_cause.label());
            let _ = writeln!(s, "- minimal case `{}`: `{}`", d.minimal.id, one_line(&d.minimal.args));
            let _ = writeln!(s, "- {}", cut(&d.minimal_message, 600));
            let _ = writeln!(s, "- expected `{}`", one_line(&d.minimal.expect));
            let _ = writeln!(s, "- first seen as case {} (`{}`): {}", d.first_index, d.first.id, cut(&d.first_message, 300));
            for l in &d.localisation {
                let _ = writeln!(s, "- localisation: {l}");
            }
            if timings {
                let _ = writeln!(s, "- found after {:.1} s, shrunk after {:.1} s", d.timings.found_s, d.timings.shrunk_s);
            }
            s.push('\n');
        }
    }
    s.push_str("## Cases tried\n\n| op | tried | pass | fail | not run | cases/s |\n|---|---|---|---|---|---|\n");
    for o in &run.ops {
        let r = if timings { rate_text(o.tried as u64, o.time_us) } else { "—".into() };
        let _ = writeln!(s, "| `{}` | {} | {} | {} | {} | {r} |", o.op, o.tried, o.pass, o.fail, o.not_run);
    }
    let total = if timings { format!(" in {:.1} s ({} cases/s)", run.elapsed_s, rate_text(run.cases as u64, (run.elapsed_s * 1e6) as u64)) } else { String::new() };
    let _ = writeln!(s, "\n{} cases{total}. Per-op rates are over the cases' own wall time.", run.cases);
    if !run.ops_left_out.is_empty() {
        s.push_str("\nNot fuzzed:\n\n");
        for (op, why) in &run.ops_left_out {
            let _ = writeln!(s, "- `{op}`: {why}");
        }
    }
    s
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace("--", "-&#45;")
}

/// `junit.xml`: one test case per op fuzzed (failed by its disagreements).
pub fn junit(run: &FuzzRun) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let failures = run.ops.iter().filter(|o| run.disagreements.iter().any(|d| d.op == o.op)).count();
    let _ = writeln!(
        s,
        "<testsuites name=\"czip-conformance fuzz {}\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">",
        xml(&run.implementation),
        run.ops.len(),
        run.elapsed_s
    );
    let _ = writeln!(s, "  <testsuite name=\"fuzz seed {}\" tests=\"{}\" failures=\"{failures}\">", run.seed, run.ops.len());
    for o in &run.ops {
        let _ = write!(s, "    <testcase classname=\"fuzz\" name=\"{} ({} cases)\" time=\"{:.3}\"", xml(&o.op), o.tried, o.time_us as f64 / 1e6);
        let ds: Vec<_> = run.disagreements.iter().filter(|d| d.op == o.op).collect();
        if ds.is_empty() {
            s.push_str("/>\n");
            continue;
        }
        s.push_str(">\n");
        for d in ds {
            let msg = format!("{}: {} ({} raw failures)", d.minimal.id, cut(&d.minimal_message, 600), d.raw_failures);
            let _ = writeln!(s, "      <failure type=\"{}\" message=\"{}\"/>", xml(d.minimal_cause.label()), xml(&msg));
        }
        s.push_str("    </testcase>\n");
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

/// The terminal summary.
pub fn terminal(run: &FuzzRun) -> String {
    let mut s = String::new();
    for d in &run.disagreements {
        let _ = writeln!(s, "disagreement {} ({}): {} raw failure(s)", d.op, d.minimal_cause.label(), d.raw_failures);
        let _ = writeln!(s, "  minimal {}: {}", cut(&d.minimal.args.to_string(), 160), cut(&d.minimal_message, 160));
    }
    let per_op: Vec<String> = run.ops.iter().map(|o| format!("{} {}", o.op, o.tried)).collect();
    let _ = writeln!(s, "cases per op: {}", per_op.join(", "));
    let _ = writeln!(
        s,
        "verdict {}: {} distinct disagreement(s) in {} cases, {:.1} s ({} cases/s); reproduce: {}",
        verdict(run),
        run.disagreements.len(),
        run.cases,
        run.elapsed_s,
        rate_text(run.cases as u64, (run.elapsed_s * 1e6) as u64),
        reproduce(run)
    );
    s
}

/// Writes `report.json`, `report.md`, `junit.xml` and the minimal cases
/// ([`super::write_cases`]) to `dir`.
pub fn write(dir: &Path, run: &FuzzRun, provenance: Option<&Provenance>) -> Result<(), String> {
    let w = |name: &str, s: String| crate::conformance::generate::write(&dir.join(name), s.as_bytes());
    w("report.json", serde_json::to_string_pretty(&to_json(run, provenance)).unwrap_or_default() + "\n")?;
    w("report.md", markdown(run, provenance, true))?;
    w("junit.xml", junit(run))?;
    super::write_cases(dir, run)
}
