//! Reports: JSON (machines), Markdown (people: verdict and summary matrix
//! first, then failures root cause first), JUnit XML (CI systems), and the
//! terminal summary. All four come from one [`Report`] and count the same
//! way ([`COUNTING_RULE`]).
//!
//! | module | what |
//! |---|---|
//! | this one | the report's data, the verdict rule, the counting rule |
//! | [`provenance`] | who produced the report, from which corpus and models, when |
//! | `markdown`, `junit`, `terminal` | the three renderings for people and CI |
//!
//! Everything but [`Provenance::date`], [`Provenance::elapsed_s`] and the
//! per-case `time_us` is a function of the run's inputs; [`strip_timings`]
//! removes those three so two reports of the same run compare equal.

mod junit;
mod markdown;
pub mod provenance;
mod terminal;

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::causes::{tally, Cause, CauseCount};
use super::compare::{CaseResult, Status};
pub use provenance::Provenance;

/// The one rule every rendering follows, printed in each of them.
pub const COUNTING_RULE: &str = "a suite row counts every case the suite lists, so a case listed by two suites \
(`divergences` is a view over the others) is in both rows; totals count each distinct case once";

/// The outcome of a run as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every case of every required suite ran and passed.
    Pass,
    /// Nothing failed, but required cases were unsupported and the run was
    /// told to accept that (`--allow-partial`). Exit status 0; never "PASS".
    Partial,
    Fail,
}

impl Verdict {
    pub fn as_upper(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Partial => "PARTIAL",
            Verdict::Fail => "FAIL",
        }
    }
}

/// How strict the verdict is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerdictPolicy {
    /// Unsupported cases in required suites give PARTIAL instead of FAIL.
    pub allow_partial: bool,
}

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

/// Counts over distinct cases (see [`COUNTING_RULE`]).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    pub cases: usize,
    pub pass: usize,
    pub fail: usize,
    pub unsupported: usize,
    pub skipped: usize,
}

impl Totals {
    fn add(&mut self, s: Status) {
        self.cases += 1;
        match s {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Unsupported => self.unsupported += 1,
            Status::Skipped => self.skipped += 1,
        }
    }
}

/// Cases that did not run, grouped by their reason.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NotRun {
    /// `unsupported` (the implementation cannot do it) or `skipped` (it cannot run here).
    pub status: Status,
    pub reason: String,
    pub cases: usize,
    /// The suites those cases belong to.
    pub suites: Vec<String>,
}

/// A failed case with where it departs and, when known, why.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Failure {
    pub suites: Vec<String>,
    #[serde(flatten)]
    pub case: CaseResult,
    /// Localisation down the stack, outermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub localisation: Vec<String>,
    /// The spec §11 point this failure matches, when it matches one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_divergence: Option<String>,
    /// Why it failed ([`super::causes`]); `unexplained` until
    /// [`Report::assign_causes`] has read the facts.
    pub cause: Cause,
}

/// A diagnostic answer field (`op_table`) that cases expected and the
/// implementation did not answer: not a failure, counted per field.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NotAnswered {
    /// `op.field`, e.g. `coder_encode.max_pending`.
    pub field: String,
    pub cases: usize,
}

/// One row of the compression-ratio table.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct RatioRow {
    pub text: String,
    pub setting: String,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub tokens: u64,
    pub bits_per_token: f64,
    pub brotli_11: u64,
    pub zstd_22: u64,
    pub gzip_9: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub report_format: u32,
    pub implementation: String,
    pub features: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    pub verdict: Verdict,
    /// Why the verdict is not PASS (one line each); empty for PASS.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verdict_reasons: Vec<String>,
    /// Why the run stopped before its end, if it did (the implementation
    /// kept dying): always a reason for FAIL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Failures by cause (see [`super::causes`]), in the cause table's order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<CauseCount>,
    pub counting: &'static str,
    pub totals: Totals,
    /// Diagnostic fields left unanswered, per field (distinct cases).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_answered: Vec<NotAnswered>,
    pub suites: Vec<SuiteSummary>,
    /// Failed cases, root cause first: primitives, tables, layers, coder,
    /// model, chunks, files (see [`stack_level`]); corpus order within a level.
    pub failures: Vec<Failure>,
    /// Unsupported and skipped cases grouped by reason, largest group first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<NotRun>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unsupported: Vec<CaseResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<CaseResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ratios: Vec<RatioRow>,
    /// Free-form findings (used by `score`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
    /// Commands for the user's next step, printed on the terminal only (they
    /// hold paths of this machine): `score`'s `dump` command for the chunk
    /// where a file departs.
    #[serde(skip)]
    pub next_steps: Vec<String>,
    /// Wall time of every case the report counts, by id (µs; the sending and
    /// judging of one request). Named like the per-case `time_us` fields, so
    /// [`strip_timings`] removes it too.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub time_us: std::collections::BTreeMap<String, u64>,
    /// A shard's part of a split run (`score --shard I/N`): its files'
    /// verdicts, which `merge-reports` turns back into the whole run's report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<super::shard::ShardRecord>,
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

/// Where an op sits in the stack, bottom first: a failure lower down is the
/// likelier root cause of failures above it, so reports list it first.
/// 0 primitives (§1), 1 tables (§2), 2 layers and the exp / frequency table
/// (§5–§6), 3 the coder (§7), 4 model ops (§4, §6), 5 chunks (§8), 6 files
/// (§8–§9, and `score`'s `file`); unknown ops last.
pub fn stack_level(op: &str) -> u8 {
    match op {
        "sra_rne_tte_s32" | "sra_rne_tte_s64_to_s32" | "udiv_rne_tte_u32" | "div_rne_tte_s32" | "div_rne_tte_s64_to_s32" | "isqrt32"
        | "clamp_i8" | "argmax" => 0,
        "exp2_table" | "rope_table" | "model_tables" => 1,
        "rope" | "rmsnorm" | "linear" | "requantize" | "reglu" | "attention" | "exp_q16" | "freq_table" => 2,
        "coder_encode" | "coder_decode" => 3,
        "tokenize" | "model_logits" | "model_trace" => 4,
        "chunk_encode" | "chunk_decode" => 5,
        "compress" | "decompress" | "file" => 6,
        _ => 7,
    }
}

impl Report {
    /// Builds a report from per-case results and the suites each case
    /// belongs to, with the strict verdict (see [`Report::decide`]).
    pub fn build(implementation: &str, features: Vec<String>, suites: &[(String, bool, Vec<usize>)], results: &[CaseResult]) -> Report {
        // Each result's suites, by name (one pass over the suite lists).
        let mut member_of: Vec<Vec<String>> = vec![Vec::new(); results.len()];
        let mut summaries = Vec::new();
        for (name, required, idx) in suites {
            let mut t = Totals::default();
            for &i in idx {
                t.add(results[i].status);
                member_of[i].push(name.clone());
            }
            let ran = t.pass + t.fail;
            summaries.push(SuiteSummary {
                name: name.clone(),
                required: *required,
                total: t.cases,
                pass: t.pass,
                fail: t.fail,
                unsupported: t.unsupported,
                skipped: t.skipped,
                agreement: if ran == 0 { 0.0 } else { t.pass as f64 / ran as f64 },
            });
        }
        let suites_of = |i: usize| member_of[i].clone();
        let mut totals = Totals::default();
        for (r, m) in results.iter().zip(&member_of) {
            if !m.is_empty() {
                totals.add(r.status);
            }
        }
        let mut failures: Vec<Failure> = results
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
                cause: Cause::Unexplained,
            })
            .collect();
        failures.sort_by_key(|f| stack_level(&f.case.op)); // stable: corpus order within a level
        let mut groups: std::collections::BTreeMap<(Status, &str), (usize, std::collections::BTreeSet<String>)> = Default::default();
        for (i, r) in results.iter().enumerate() {
            if matches!(r.status, Status::Unsupported | Status::Skipped) {
                let g = groups.entry((r.status, r.message.as_str())).or_default();
                g.0 += 1;
                g.1.extend(suites_of(i));
            }
        }
        let mut not_run: Vec<NotRun> = groups
            .into_iter()
            .map(|((status, reason), (cases, suites))| NotRun { status, reason: reason.to_string(), cases, suites: suites.into_iter().collect() })
            .collect();
        not_run.sort_by_key(|g| std::cmp::Reverse(g.cases)); // stable: status, then reason, within equal counts
        let mut unanswered: std::collections::BTreeMap<String, usize> = Default::default();
        for (r, m) in results.iter().zip(&member_of) {
            for f in r.not_answered.iter().filter(|_| !m.is_empty()) {
                *unanswered.entry(format!("{}.{f}", r.op)).or_default() += 1;
            }
        }
        let not_answered = unanswered.into_iter().map(|(field, cases)| NotAnswered { field, cases }).collect();
        let of = |s: Status| results.iter().filter(|r| r.status == s).cloned().collect::<Vec<_>>();
        let time_us = results.iter().zip(&member_of).filter(|(_, m)| !m.is_empty()).filter_map(|(r, _)| Some((r.id.clone(), r.time_us?))).collect();
        let mut report = Report {
            report_format: 2,
            implementation: implementation.to_string(),
            features,
            provenance: None,
            verdict: Verdict::Fail,
            verdict_reasons: Vec::new(),
            stopped: None,
            causes: Vec::new(),
            counting: COUNTING_RULE,
            totals,
            not_answered,
            suites: summaries,
            failures,
            not_run,
            unsupported: of(Status::Unsupported),
            skipped: of(Status::Skipped),
            ratios: Vec::new(),
            findings: Vec::new(),
            next_steps: Vec::new(),
            time_us,
            shard: None,
        };
        report.decide(VerdictPolicy::default());
        report.assign_causes(|f| f.cause);
        report
    }

    /// Sets each failure's cause and the cause table.
    pub fn assign_causes(&mut self, mut cause_of: impl FnMut(&Failure) -> Cause) {
        for f in &mut self.failures {
            f.cause = cause_of(f);
        }
        self.causes = tally(self.failures.iter().map(|f| f.cause));
    }

    /// Sets the verdict from the suite counts. FAIL when: the run stopped
    /// early ([`Report::stopped`]); nothing ran at all
    /// (every case unsupported or skipped); a required suite has a failure,
    /// a skipped case, or no pass; a required suite has unsupported cases
    /// (PARTIAL instead when `policy.allow_partial`). PASS otherwise.
    pub fn decide(&mut self, policy: VerdictPolicy) {
        let mut fail = Vec::new();
        let mut partial = Vec::new();
        if let Some(why) = &self.stopped {
            fail.push(format!("the run stopped: {why}"));
        }
        if self.totals.pass + self.totals.fail == 0 {
            fail.push(format!(
                "nothing was checked: all {} cases were unsupported or skipped",
                self.totals.cases
            ));
        }
        for s in self.suites.iter().filter(|s| s.required) {
            if s.fail > 0 {
                fail.push(format!("{}: {} of {} cases failed", s.name, s.fail, s.total));
            }
            if s.skipped > 0 {
                fail.push(format!("{}: {} of {} cases could not run here (skipped)", s.name, s.skipped, s.total));
            }
            if s.pass == 0 && s.total > 0 {
                fail.push(format!("{}: no case passed (a required suite must pass at least one)", s.name));
            } else if s.unsupported > 0 {
                let line = format!("{}: {} of {} cases unsupported", s.name, s.unsupported, s.total);
                if policy.allow_partial {
                    partial.push(line);
                } else {
                    fail.push(format!("{line} (--allow-partial accepts that as PARTIAL)"));
                }
            }
        }
        (self.verdict, self.verdict_reasons) = if !fail.is_empty() {
            (Verdict::Fail, fail)
        } else if !partial.is_empty() {
            (Verdict::Partial, partial)
        } else {
            (Verdict::Pass, Vec::new())
        };
    }

    /// True unless the verdict is FAIL (PARTIAL exits 0: it was asked for).
    pub fn passed(&self) -> bool {
        self.verdict != Verdict::Fail
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    pub fn to_markdown(&self) -> String {
        markdown::render(self)
    }

    /// JUnit XML: one `<testsuite>` per suite, one `<testcase>` per case it lists.
    pub fn to_junit(&self, results: &[CaseResult], suites: &[(String, bool, Vec<usize>)]) -> String {
        junit::render(self, results, suites)
    }

    /// What the terminal shows: verdict, suite table, reasons, first failures.
    pub fn to_terminal(&self) -> String {
        terminal::render(self)
    }

    /// `N passed, N failed, N skipped` over distinct cases: the plain closing
    /// line CI systems read ("skipped" = unsupported + not runnable here; the
    /// line before it says how many of each).
    pub fn closing_line(&self) -> String {
        let t = &self.totals;
        format!("{} passed, {} failed, {} skipped", t.pass, t.fail, t.unsupported + t.skipped)
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

/// Removes what differs between two runs of the same inputs from a parsed
/// `report.json`: `provenance.date`, `provenance.elapsed_s` and every
/// `time_us`.
pub fn strip_timings(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("time_us");
            if let Some(Value::Object(p)) = m.get_mut("provenance") {
                p.remove("date");
                p.remove("elapsed_s");
            }
            m.values_mut().for_each(strip_timings);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_timings),
        _ => {}
    }
}

/// Seconds from microseconds, for the renderings.
fn seconds(us: Option<u64>) -> f64 {
    us.unwrap_or(0) as f64 / 1e6
}
