//! `report.md`: for people. Verdict and why first, then the summary matrix,
//! what did not run and why, then failures root cause first.

use std::fmt::Write as _;

use super::{Report, Verdict};

pub(super) fn render(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Conformance report: {}\n", r.implementation);
    if let Some(p) = &r.provenance {
        let _ = writeln!(s, "{}\n", p.lines().join("  \n"));
    }
    let _ = writeln!(
        s,
        "Verdict: **{}** (every case of every required suite must run and pass; a required suite with no pass fails).\n",
        r.verdict.as_upper()
    );
    if r.verdict != Verdict::Pass {
        for reason in &r.verdict_reasons {
            let _ = writeln!(s, "- {reason}");
        }
        s.push('\n');
    }
    if !r.causes.is_empty() {
        let _ = writeln!(s, "| cause of failures | cases |");
        let _ = writeln!(s, "|---|---:|");
        for c in &r.causes {
            let _ = writeln!(s, "| {} | {} |", c.label, c.cases);
        }
        s.push('\n');
    }
    if !r.features.is_empty() {
        let _ = writeln!(s, "Declared features: {}.\n", r.features.join(", "));
    }
    if !r.suites.is_empty() {
        let _ = writeln!(s, "| suite | required | cases | pass | fail | unsupported | skipped | bit-exact agreement |");
        let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|");
        for x in &r.suites {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {:.2}% |",
                x.name,
                if x.required { "yes" } else { "no" },
                x.total,
                x.pass,
                x.fail,
                x.unsupported,
                x.skipped,
                100.0 * x.agreement
            );
        }
        let t = &r.totals;
        let _ = writeln!(s, "| **distinct cases** | | {} | {} | {} | {} | {} | |", t.cases, t.pass, t.fail, t.unsupported, t.skipped);
        let _ = writeln!(s, "\nCounting: {}.\n", r.counting);
    }
    if !r.not_run.is_empty() {
        let _ = writeln!(s, "## Not run ({} unsupported, {} skipped)\n", r.totals.unsupported, r.totals.skipped);
        for g in &r.not_run {
            let _ = writeln!(s, "- {} {} ({}): {}", g.cases, g.status.word(), g.suites.join(", "), escape(&g.reason));
        }
        s.push('\n');
    }
    if !r.not_answered.is_empty() {
        let _ = writeln!(s, "## Not answered (diagnostic fields: not failures)\n");
        for n in &r.not_answered {
            let _ = writeln!(s, "- `{}`: {} cases", n.field, n.cases);
        }
        s.push('\n');
    }
    if !r.findings.is_empty() {
        let _ = writeln!(s, "## Findings\n");
        for f in &r.findings {
            let _ = writeln!(s, "- {f}");
        }
        s.push('\n');
    }
    if !r.ratios.is_empty() {
        let _ = writeln!(s, "## Compression ratio\n");
        let _ = writeln!(s, "| text | setting | bytes in | bytes out | ratio | tokens | bits/token | brotli-11 | zstd-22 | gzip-9 |");
        let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for x in &r.ratios {
            let ratio = if x.bytes_in == 0 { 0.0 } else { x.bytes_out as f64 / x.bytes_in as f64 };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {:.4} | {} | {:.3} | {} | {} | {} |",
                x.text, x.setting, x.bytes_in, x.bytes_out, ratio, x.tokens, x.bits_per_token, x.brotli_11, x.zstd_22, x.gzip_9
            );
        }
        s.push('\n');
    }
    let _ = writeln!(s, "## Failures ({}), root cause first\n", r.failures.len());
    for f in &r.failures {
        let c = &f.case;
        let _ = writeln!(s, "### `{}`\n", c.id);
        let _ = writeln!(s, "- op `{}`, spec {}, suites {}", c.op, c.spec, f.suites.join(", "));
        let _ = writeln!(s, "- {}", c.message);
        let _ = writeln!(s, "- cause: {}", f.cause.label());
        if let Some(d) = &c.divergence {
            let _ = writeln!(s, "- first divergence at `{}`", d.path);
        }
        for l in &f.localisation {
            let _ = writeln!(s, "- {l}");
        }
        if let Some(k) = &f.known_divergence {
            let _ = writeln!(s, "- known divergence: {k}");
        }
        s.push('\n');
    }
    s
}

/// A reason on one Markdown list line.
fn escape(s: &str) -> String {
    s.replace('\n', " ")
}
