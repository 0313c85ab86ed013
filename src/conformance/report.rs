//! Reports: JSON (machines), Markdown (people: summary matrix first, then
//! failures), JUnit XML (CI systems). Reports hold no timestamps or timings,
//! so the same run gives the same bytes.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::compare::{CaseResult, Status};

/// Counts for one suite.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SuiteSummary {
    pub name: String,
    pub required: bool,
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub unsupported: usize,
    pub skipped: usize,
    /// pass / (pass + fail): the bit-exact agreement rate over the cases that ran.
    pub agreement: f64,
}

/// A failed case with where it departs and, when known, why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Failure {
    pub suites: Vec<String>,
    #[serde(flatten)]
    pub case: CaseResult,
    /// Localisation down the stack, outermost first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub localisation: Vec<String>,
    /// The spec §11 point this failure matches, when it matches one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_divergence: Option<String>,
}

/// One row of the compression-ratio table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RatioRow {
    pub text: String,
    pub setting: String,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub tokens: u64,
    pub bits_per_token: f64,
    pub brotli_11: u64,
    pub zstd_19: u64,
    pub gzip_9: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub report_format: u32,
    pub implementation: String,
    pub features: Vec<String>,
    /// "pass" when every required case passed.
    pub verdict: String,
    pub suites: Vec<SuiteSummary>,
    pub failures: Vec<Failure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unsupported: Vec<CaseResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ratios: Vec<RatioRow>,
    /// Free-form findings (used by `score`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
}

/// The known divergences of spec §11, by tag name.
pub fn known_divergence(tag: &str) -> Option<&'static str> {
    Some(match tag {
        "udiv_round_half_up" => "spec §11 row 1: udiv_rne_tte_u32 rounds up when d is odd and r = (d−1)/2 (public Python); normative is nearest, ties to even (RMSNorm with ⌊Σx²/D⌋ = 9482 gives an inverse RMS one larger)",
        "clamp_minus_128" => "spec §11 row 2/4: clamp to −128..127 (public Python attention output, older clamp_i8); normative is −127..127",
        "i32_accumulator" => "spec §11 row 3: the attention accumulator wraps at 2^31 (latest public Rust); normative is exact",
        "capacity_from_metadata" => "spec §11 row 5: model capacity taken from metadata instead of the RoPE table rows",
        "no_levels" => "spec §11 row 6: compression levels not supported (64-token chunks only)",
        "udiv_large_divisor" => "spec §11 row 7: udiv with d > 2^31 drops a bit of the doubled remainder",
        "header_not_validated" => "spec §11 row 9: outer header fields beyond magic/codec not validated",
        _ => return None,
    })
}

impl Report {
    /// Builds a report from per-case results and the suites each case belongs to.
    pub fn build(implementation: &str, features: Vec<String>, suites: &[(String, bool, Vec<usize>)], results: &[CaseResult]) -> Report {
        let mut summaries = Vec::new();
        let mut verdict_ok = true;
        for (name, required, idx) in suites {
            let mut s = SuiteSummary { name: name.clone(), required: *required, total: idx.len(), ..Default::default() };
            for &i in idx {
                match results[i].status {
                    Status::Pass => s.pass += 1,
                    Status::Fail => s.fail += 1,
                    Status::Unsupported => s.unsupported += 1,
                    Status::Skipped => s.skipped += 1,
                }
            }
            let ran = s.pass + s.fail;
            s.agreement = if ran == 0 { 0.0 } else { s.pass as f64 / ran as f64 };
            if *required && (s.fail > 0 || s.skipped > 0) {
                verdict_ok = false;
            }
            summaries.push(s);
        }
        let suites_of = |i: usize| -> Vec<String> {
            suites.iter().filter(|(_, _, idx)| idx.contains(&i)).map(|(n, _, _)| n.clone()).collect()
        };
        let failures = results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.status == Status::Fail)
            .map(|(i, r)| Failure {
                suites: suites_of(i),
                known_divergence: r
                    .tags
                    .iter()
                    .filter_map(|t| t.strip_prefix("divergence:"))
                    .find_map(known_divergence)
                    .map(String::from),
                case: r.clone(),
                localisation: Vec::new(),
            })
            .collect();
        let unsupported = results.iter().filter(|r| r.status == Status::Unsupported).cloned().collect();
        Report {
            report_format: 1,
            implementation: implementation.to_string(),
            features,
            verdict: if verdict_ok { "pass" } else { "fail" }.into(),
            suites: summaries,
            failures,
            unsupported,
            ratios: Vec::new(),
            findings: Vec::new(),
        }
    }

    pub fn passed(&self) -> bool {
        self.verdict == "pass"
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Conformance report: {}\n", self.implementation);
        let _ = writeln!(s, "Verdict: **{}** (every required suite must pass without failures or skips).\n", self.verdict.to_uppercase());
        if !self.features.is_empty() {
            let _ = writeln!(s, "Declared features: {}.\n", self.features.join(", "));
        }
        if !self.suites.is_empty() {
            let _ = writeln!(s, "| suite | required | cases | pass | fail | unsupported | skipped | bit-exact agreement |");
            let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|");
            for x in &self.suites {
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
            s.push('\n');
        }
        if !self.findings.is_empty() {
            let _ = writeln!(s, "## Findings\n");
            for f in &self.findings {
                let _ = writeln!(s, "- {f}");
            }
            s.push('\n');
        }
        if !self.ratios.is_empty() {
            let _ = writeln!(s, "## Compression ratio\n");
            let _ = writeln!(s, "| text | setting | bytes in | bytes out | ratio | tokens | bits/token | brotli-11 | zstd-19 | gzip-9 |");
            let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            for r in &self.ratios {
                let ratio = if r.bytes_in == 0 { 0.0 } else { r.bytes_out as f64 / r.bytes_in as f64 };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {:.4} | {} | {:.3} | {} | {} | {} |",
                    r.text, r.setting, r.bytes_in, r.bytes_out, ratio, r.tokens, r.bits_per_token, r.brotli_11, r.zstd_19, r.gzip_9
                );
            }
            s.push('\n');
        }
        let _ = writeln!(s, "## Failures ({})\n", self.failures.len());
        for f in &self.failures {
            let c = &f.case;
            let _ = writeln!(s, "### `{}`\n", c.id);
            let _ = writeln!(s, "- op `{}`, spec {}, suites {}", c.op, c.spec, f.suites.join(", "));
            let _ = writeln!(s, "- {}", c.message);
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
        if !self.unsupported.is_empty() {
            let _ = writeln!(s, "## Unsupported ({})\n", self.unsupported.len());
            let mut by_reason: std::collections::BTreeMap<&str, usize> = Default::default();
            for u in &self.unsupported {
                *by_reason.entry(u.message.as_str()).or_default() += 1;
            }
            for (reason, n) in by_reason {
                let _ = writeln!(s, "- {n} cases: {reason}");
            }
        }
        s
    }

    /// JUnit XML: one `<testsuite>` per suite, one `<testcase>` per case.
    pub fn to_junit(&self, results: &[CaseResult], suites: &[(String, bool, Vec<usize>)]) -> String {
        let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let (tests, failures): (usize, usize) = self.suites.iter().fold((0, 0), |(t, f), x| (t + x.total, f + x.fail));
        let _ = writeln!(s, "<testsuites name=\"czip-conformance {}\" tests=\"{tests}\" failures=\"{failures}\">", xml(&self.implementation));
        for (name, _, idx) in suites {
            let sum = self.suites.iter().find(|x| &x.name == name);
            let (f, sk) = sum.map_or((0, 0), |x| (x.fail, x.unsupported + x.skipped));
            let _ = writeln!(s, "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" skipped=\"{sk}\">", xml(name), idx.len());
            for &i in idx {
                let r = &results[i];
                let _ = write!(s, "    <testcase classname=\"{}\" name=\"{}\"", xml(name), xml(&r.id));
                match r.status {
                    Status::Pass => s.push_str("/>\n"),
                    Status::Fail => {
                        let _ = writeln!(s, "><failure message=\"{}\"/></testcase>", xml(&r.message));
                    }
                    Status::Unsupported | Status::Skipped => {
                        let _ = writeln!(s, "><skipped message=\"{}\"/></testcase>", xml(&r.message));
                    }
                }
            }
            s.push_str("  </testsuite>\n");
        }
        s.push_str("</testsuites>\n");
        s
    }

    /// Writes `report.json`, `report.md` and `junit.xml` into `dir`.
    pub fn write(&self, dir: &Path, results: &[CaseResult], suites: &[(String, bool, Vec<usize>)]) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let w = |name: &str, text: String| {
            std::fs::write(dir.join(name), text).map_err(|e| format!("cannot write {}: {e}", dir.join(name).display()))
        };
        w("report.json", self.to_json())?;
        w("report.md", self.to_markdown())?;
        w("junit.xml", self.to_junit(results, suites))
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
