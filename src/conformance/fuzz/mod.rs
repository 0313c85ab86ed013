//! Differential fuzzing (`czip-conformance fuzz`): cases the fixed corpus
//! does not hold, drawn with a bias toward each op's edges, sent through the
//! runner like any case, compared with the reference; each disagreement is
//! shrunk to a minimal case in the `vectors/` format.
//!
//! | module | what |
//! |---|---|
//! | this one | the loop: which ops, the budget, determinism, grouping, shrinking each new disagreement |
//! | [`generators`] | edge-biased arguments per op, from the corpus generator's building blocks |
//! | [`shrink`] | the greedy shrinker and its order of moves |
//! | [`report`] | `report.json`, `report.md`, `junit.xml`, the terminal summary |
//!
//! **Determinism.** Case `i` of seed `S` is drawn by a generator seeded with
//! [`case_seed`]`(S, i)` for the op `ops[i mod len(ops)]`: it depends on
//! nothing else (not on the budget, the batch, the thread count or the time),
//! so `--cases N` always tries the same cases, and a `--seconds` run that
//! tried N cases is reproduced by `--cases N`. Expectations are the built-in
//! reference's answers to the very arguments sent.
//!
//! **Grouping.** A failure is put under (op, cause) — the cause read by
//! [`classify`] from the facts of the failure, as in `run`'s reports. The
//! first failure of a group is shrunk, at once (so the time to a shrunk case
//! is measured); later failures of the group are counted as explained by it.
//! The minimal case is then localised (file and model ops, as `run` does),
//! and its cause is read again with what localisation found.

pub mod generators;
pub mod report;
pub mod shrink;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use super::case::Case;
use super::causes::{classify, of_findings, Cause};
use super::compare::{judge, CaseResult, Status};
use super::generate::rng::Rng;
use super::implementation::Implementation;
use super::localize::{localise_findings, localises};
use super::op_table::{self, Op, OPS};
use super::ops::{reference_op, Context, Outcome};
use super::runner::{run_watched, Tick};
use generators::{draw, Limits};
use shrink::ShrinkStats;

/// How long a fuzz run goes on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    /// Exactly this many cases (deterministic).
    Cases(usize),
    /// Until this much wall time has passed (checked between batches).
    Seconds(f64),
}

/// What to fuzz and how.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    /// Ops asked for (`--op`); empty: every op the implementation declares.
    pub ops: Vec<Op>,
    pub budget: Budget,
    pub seed: u64,
    /// Tokens per case for model, chunk and file ops.
    pub max_tokens: usize,
    /// Queries of the implementation allowed to shrink one disagreement.
    pub shrink_budget: usize,
}

/// The seed of case `index` of a run seeded `seed` (SplitMix64 of both).
pub fn case_seed(seed: u64, index: usize) -> u64 {
    Rng::new(seed ^ (index as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93)).next_u64()
}

/// The ops a run fuzzes — those asked for (or all) whose features the
/// implementation declares — and those it leaves out, with why.
pub fn select_ops(features: &BTreeSet<String>, asked: &[Op]) -> (Vec<Op>, Vec<(Op, String)>) {
    let mut ops = Vec::new();
    let mut left = Vec::new();
    for s in OPS.iter().filter(|s| asked.is_empty() || asked.contains(&s.op)) {
        let missing: Vec<&str> = s.features.iter().copied().filter(|f| !features.contains(*f)).collect();
        if missing.is_empty() {
            ops.push(s.op);
        } else {
            left.push((s.op, format!("implementation does not declare {}", missing.join(", "))));
        }
    }
    (ops, left)
}

/// The expectation of a request: the reference's answer (every field; files
/// by their scored digests, as the corpus stores them) or `{"error": true}`
/// when the reference refuses it.
pub fn expectation(ctx: &Context, op: Op, args: &Value) -> Value {
    match reference_op(ctx, op, args) {
        Outcome::Result(v) => match op {
            Op::Compress => {
                let file = v["file_hex"].as_str().unwrap_or("");
                let payload = super::case::unhex(file)
                    .and_then(|b| crate::container::read_file(&b, &crate::container::ReadLimits::default()).ok())
                    .map(|f| super::case::sha256_hex(&f.payload))
                    .unwrap_or_default();
                serde_json::json!({"outer_header_hex": file.get(..32).unwrap_or(file), "payload_sha256": payload})
            }
            Op::Decompress => {
                let text = super::case::unhex(v["text_hex"].as_str().unwrap_or("")).unwrap_or_default();
                serde_json::json!({"text_sha256": super::case::sha256_hex(&text)})
            }
            _ => v,
        },
        _ => serde_json::json!({"error": true}),
    }
}

/// A case of `op` on `args`, its expectation from the reference, `spec` and
/// `requires` from the op table (as the corpus generator makes them).
pub fn make_case(ctx: &Context, id: String, op: Op, args: Value, context: &[&str], tags: Vec<String>) -> Case {
    let expect = expectation(ctx, op, &args);
    let reject = expect.get("error") == Some(&Value::Bool(true));
    let mut tags = tags;
    tags.sort();
    tags.dedup();
    Case {
        id,
        op: op.name().to_string(),
        spec: op_table::spec_section(op, reject).to_string(),
        // Context features come from `CONTEXT_FEATURES` only (generators).
        requires: op_table::requires(op, context).unwrap_or_default(),
        tags,
        args,
        expect,
    }
}

/// Case `index` of a run over `ops` seeded `seed`.
pub fn case_at(ctx: &Context, ops: &[Op], seed: u64, index: usize, lim: &Limits) -> Case {
    let op = ops[index % ops.len()];
    let mut r = Rng::new(case_seed(seed, index));
    let d = draw(op, &mut r, lim, ctx);
    let mut tags: Vec<String> = vec!["fuzz".into(), format!("fuzz-seed:{seed}"), format!("fuzz-case:{index}")];
    tags.extend(d.tags.iter().map(|t| t.to_string()));
    make_case(ctx, format!("fuzz.{op}.s{seed}.c{index}"), op, d.args, &d.context, tags)
}

/// Cases tried of one op, and how they went.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct OpStats {
    pub op: String,
    pub tried: usize,
    pub pass: usize,
    pub fail: usize,
    /// Unsupported (a context feature) or skipped (model absent).
    pub not_run: usize,
    /// Sum of the cases' wall times (µs).
    pub time_us: u64,
}

/// One distinct disagreement: an (op, cause) group, its first case and the
/// minimal case it shrank to.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Disagreement {
    pub op: String,
    /// The group's cause (read from the first failure, before localisation).
    pub cause: Cause,
    pub cause_label: &'static str,
    /// The minimal case's cause, with what localising it found (may name a
    /// §11 row the group's cause could not).
    pub minimal_cause: Cause,
    /// Failures the group explains (the first one included).
    pub raw_failures: usize,
    /// Index of the first failure (reproduce with `--seed S --cases index+1`).
    pub first_index: usize,
    pub first: Case,
    pub first_message: String,
    pub minimal: Case,
    pub minimal_message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub localisation: Vec<String>,
    pub shrink: ShrinkStats,
    /// Seconds from the start to the first failure and to the end of its shrinking.
    pub timings: Timings,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Timings {
    pub found_s: f64,
    pub shrunk_s: f64,
}

/// What a fuzz run found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FuzzRun {
    pub implementation: String,
    /// How `--impl` named it (for the command that reproduces the run).
    pub impl_arg: String,
    pub features: Vec<String>,
    pub seed: u64,
    pub max_tokens: usize,
    pub shrink_budget: usize,
    /// Cases tried (`--cases` of this count reproduces the run).
    pub cases: usize,
    pub ops: Vec<OpStats>,
    /// The ops `--op` named (empty: all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ops_asked: Vec<String>,
    /// Ops asked for that the implementation does not declare.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ops_left_out: Vec<(String, String)>,
    pub disagreements: Vec<Disagreement>,
    /// Why the run stopped early (the implementation kept dying).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    pub elapsed_s: f64,
}

impl FuzzRun {
    pub fn passed(&self) -> bool {
        self.disagreements.is_empty() && self.stopped.is_none()
    }
}

/// Where a run is (for the progress line).
pub struct Progress<'a> {
    pub done: usize,
    /// The case count, or `None` for a time budget.
    pub total: Option<usize>,
    pub op: &'a str,
    pub failed: usize,
    pub elapsed: Duration,
    /// `Some(what)` while a disagreement is being shrunk.
    pub shrinking: Option<&'a str>,
}

/// Runs the fuzzer: `ops` already selected ([`select_ops`], non-empty).
pub fn fuzz(imp: &mut dyn Implementation, ctx: &Context, ops: &[Op], opts: &FuzzOptions, watch: &(dyn Fn(&Progress) + Sync)) -> FuzzRun {
    let started = Instant::now();
    let features = imp.features().clone();
    let lim = Limits { max_tokens: opts.max_tokens, features: &features };
    let batch = if imp.as_builtin().is_some() { 64 } else { 4 };
    let mut stats: BTreeMap<usize, OpStats> = BTreeMap::new();
    let mut groups: HashMap<(String, Cause), usize> = HashMap::new();
    let mut found: Vec<Disagreement> = Vec::new();
    let mut failed = 0usize;
    let mut done = 0usize;
    let mut stopped = None;
    loop {
        let n = match opts.budget {
            Budget::Cases(total) => batch.min(total - done),
            Budget::Seconds(s) if started.elapsed().as_secs_f64() < s => batch,
            Budget::Seconds(_) => 0,
        };
        if n == 0 {
            break;
        }
        let cases: Vec<Case> = (done..done + n).into_par_iter().map(|i| case_at(ctx, ops, opts.seed, i, &lim)).collect();
        let base = done;
        let run = run_watched(imp, ctx, &cases, &|t: &Tick| {
            watch(&Progress { done: base + t.done, total: total_of(opts.budget), op: &cases[t.index].op, failed: failed + t.failed, elapsed: started.elapsed(), shrinking: None })
        });
        for (k, (case, r)) in cases.iter().zip(&run.results).enumerate() {
            let i = base + k;
            let s = stats.entry(ops.iter().position(|o| o.name() == case.op).unwrap_or(0)).or_insert_with(|| OpStats { op: case.op.clone(), ..Default::default() });
            s.tried += 1;
            s.time_us += r.time_us.unwrap_or(0);
            match r.status {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::Unsupported | Status::Skipped => s.not_run += 1,
            }
            if r.status != Status::Fail || r.message.starts_with("not run:") {
                continue;
            }
            failed += 1;
            let cause = classify(ctx, case, r, &[]);
            let key = (case.op.clone(), cause);
            if let Some(&g) = groups.get(&key) {
                found[g].raw_failures += 1;
                continue;
            }
            let found_s = started.elapsed().as_secs_f64();
            watch(&Progress { done: i + 1, total: total_of(opts.budget), op: &case.op, failed, elapsed: started.elapsed(), shrinking: Some(cause.label()) });
            let mut d = shrink_one(imp, ctx, case, r, cause, opts);
            d.first_index = i;
            d.timings = Timings { found_s: round_ms(found_s), shrunk_s: round_ms(started.elapsed().as_secs_f64()) };
            groups.insert(key, found.len());
            found.push(d);
        }
        done += n;
        if run.stopped.is_some() {
            stopped = run.stopped;
            break;
        }
    }
    let (_, left) = select_ops(&features, &opts.ops);
    FuzzRun {
        implementation: imp.name().to_string(),
        impl_arg: imp.name().to_string(),
        features: features.into_iter().collect(),
        seed: opts.seed,
        max_tokens: opts.max_tokens,
        shrink_budget: opts.shrink_budget,
        cases: done,
        ops: stats.into_values().collect(),
        ops_asked: opts.ops.iter().map(|o| o.name().to_string()).collect(),
        ops_left_out: left.into_iter().map(|(o, why)| (o.name().to_string(), why)).collect(),
        disagreements: found,
        stopped,
        elapsed_s: round_ms(started.elapsed().as_secs_f64()),
    }
}

fn total_of(b: Budget) -> Option<usize> {
    match b {
        Budget::Cases(n) => Some(n),
        Budget::Seconds(_) => None,
    }
}

fn round_ms(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}

/// Whether `result` of `case` is the same disagreement: a failure with the
/// same cause, not a death of the implementation.
fn same_disagreement(ctx: &Context, case: &Case, result: &CaseResult, cause: Cause) -> bool {
    result.status == Status::Fail && !result.message.starts_with("implementation failure:") && classify(ctx, case, result, &[]) == cause
}

/// Shrinks the failure `result` of `case` (cause `cause`), then localises the
/// minimal case and names its cause again with what was found.
fn shrink_one(imp: &mut dyn Implementation, ctx: &Context, case: &Case, result: &CaseResult, cause: Cause, opts: &FuzzOptions) -> Disagreement {
    let op = Op::from_name(&case.op).unwrap_or(Op::Exp2Table);
    let must_refuse = case.expect.get("error").is_some();
    let context: Vec<&str> = case.requires.iter().map(String::as_str).filter(|f| op_table::CONTEXT_FEATURES.contains(f)).collect();
    let remake = |args: &Value| make_case(ctx, case.id.clone(), op, args.clone(), &context, case.tags.clone());
    let _ = imp.take_death(); // the run's deaths are counted by the runner
    let mut last: Option<(Case, CaseResult)> = None;
    let (min_args, stats) = shrink::shrink(op, &case.args, opts.shrink_budget, &mut |args| {
        let cand = remake(args);
        if cand.expect.get("error").is_some() != must_refuse || cand.requires.iter().any(|f| !imp.features().contains(f)) {
            return None; // the reference answers another way now: not the same question
        }
        let answer = imp.call(&cand.op, &cand.args);
        // A death while shrinking: does not reproduce.
        let died = imp.take_death().is_some() || matches!(answer, Outcome::Broken(_));
        let r = judge(&cand, &answer);
        let yes = !died && same_disagreement(ctx, &cand, &r, cause);
        if yes {
            last = Some((cand, r));
        }
        Some(yes)
    });
    let (mut minimal, min_result) = match last.filter(|(c, _)| c.args == min_args) {
        Some(x) => x,
        None => (case.clone(), result.clone()),
    };
    // Localise the minimal case (file and model ops), as `run` does.
    let mut localisation = Vec::new();
    let mut minimal_cause = cause;
    if localises(&minimal) {
        let answer = match (minimal.op.as_str(), imp.call(&minimal.op, &minimal.args)) {
            ("compress", Outcome::Result(v)) => Some(v),
            _ => None,
        };
        let (findings, _) = localise_findings(imp, ctx, &minimal, &min_result, answer.as_ref());
        let _ = imp.take_death();
        localisation = super::localize::finding::render(&findings);
        minimal_cause = of_findings(&findings).unwrap_or_else(|| classify(ctx, &minimal, &min_result, &findings));
    }
    minimal.id = format!("fuzz.{}.{}.s{}.c{}", minimal.op, snake(cause), opts.seed, index_of(case));
    minimal.tags.push(format!("cause:{}", snake(minimal_cause)));
    minimal.tags.sort();
    Disagreement {
        op: case.op.clone(),
        cause,
        cause_label: cause.label(),
        minimal_cause,
        raw_failures: 1,
        first_index: 0,
        first: case.clone(),
        first_message: result.message.clone(),
        minimal,
        minimal_message: min_result.message,
        localisation,
        shrink: stats,
        timings: Timings::default(),
    }
}

/// The `fuzz-case:` tag's index.
fn index_of(case: &Case) -> String {
    case.tags.iter().find_map(|t| t.strip_prefix("fuzz-case:")).unwrap_or("0").to_string()
}

/// A cause's serialised name (`udiv_rounds_up`).
pub fn snake(c: Cause) -> String {
    serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The minimal cases of a run as a `vectors/`-style corpus: `cases/fuzz.jsonl`
/// with its `cases/manifest.json`, and `suites/fuzz.json` naming them, so
/// `czip-conformance run --vectors DIR/cases --suites-dir DIR/suites` runs
/// them (synthetic models are not used by the fuzzer).
pub fn write_cases(dir: &std::path::Path, run: &FuzzRun) -> Result<(), String> {
    let cases: Vec<Case> = run.disagreements.iter().map(|d| d.minimal.clone()).collect();
    let text = super::case::to_jsonl(&cases);
    let mut m = Map::new();
    m.insert(
        "files".into(),
        serde_json::json!([{"path": "fuzz.jsonl", "cases": cases.len(), "sha256": super::case::sha256_hex(text.as_bytes())}]),
    );
    let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    let suite = serde_json::json!({
        "name": "fuzz",
        "required": true,
        "description": format!("minimal cases of czip-conformance fuzz --seed {} against {}", run.seed, run.implementation),
        "files": ["fuzz.jsonl"],
        "count": ids.len(),
        "cases": ids,
    });
    let w = |p: std::path::PathBuf, s: String| super::generate::write(&p, s.as_bytes());
    w(dir.join("cases/fuzz.jsonl"), text)?;
    w(dir.join("cases/manifest.json"), pretty(&Value::Object(m)))?;
    w(dir.join("suites/fuzz.json"), pretty(&suite))
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}
