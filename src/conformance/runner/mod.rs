//! Running cases against an implementation, and surviving it.
//!
//! | module | what |
//! |---|---|
//! | this one | running cases in order; the stop rule for an implementation that keeps dying |
//! | [`progress`] | the progress line a run redraws on a terminal (text and time left) |
//! | [`localising`] | localising failures after the run, within a budget |
//! | [`whole_run`] | a whole run to its finished report (the CLI's `run`, the Python `czip.run`) |
//!
//! An adapter that dies on a case (times out, exits, prints junk) fails that
//! case with the reason and is restarted for the next (see
//! [`ProcessAdapter`](super::implementation::ProcessAdapter)). After
//! [`DEATHS_TO_STOP`] deaths on consecutive cases the run stops: every case
//! left that would have been sent is skipped as "not run", with the reason,
//! and [`Run::stopped`] says why (the report's verdict is then FAIL).

pub mod localising;
pub mod progress;
pub mod whole_run;

use rayon::prelude::*;
use serde_json::Value;

use super::case::Case;
use super::compare::{judge, CaseResult, Status};
use super::implementation::Implementation;
use super::ops::{reference, Context};

/// Deaths of the implementation on consecutive cases that stop a run.
pub const DEATHS_TO_STOP: usize = 3;

/// What a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// One result per case, in the order of the cases.
    pub results: Vec<CaseResult>,
    /// Why the run stopped early, if it did:
    /// `the implementation died on 3 consecutive cases (…)`.
    pub stopped: Option<String>,
}

/// Where a run is, after each case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Cases finished (of any status), `total` at the end.
    pub done: usize,
    pub total: usize,
    /// Cases failed so far.
    pub failed: usize,
    /// Index (in the cases run) of the case just finished.
    pub index: usize,
}

/// Why a case cannot be run here at all (its model file is absent), if so.
fn missing_model(ctx: &Context, case: &Case) -> Option<String> {
    let name = case.args.get("model").and_then(Value::as_str)?;
    match ctx.model_path(name) {
        Ok(p) if p.exists() => None,
        Ok(p) => Some(format!("model {name} not found at {}", p.display())),
        Err(e) => Some(e),
    }
}

fn unsupported_feature(imp: &dyn Implementation, case: &Case) -> Option<String> {
    let missing: Vec<&str> =
        case.requires.iter().filter(|f| !imp.features().contains(*f)).map(String::as_str).collect();
    (!missing.is_empty()).then(|| format!("implementation does not declare {}", missing.join(", ")))
}

/// A result for a case that is not sent to the implementation.
fn not_sent(case: &Case, status: Status, message: String) -> CaseResult {
    CaseResult {
        id: case.id.clone(),
        op: case.op.clone(),
        spec: case.spec.clone(),
        status,
        divergence: None,
        message,
        tags: case.tags.clone(),
        time_us: None,
        not_answered: Vec::new(),
    }
}

fn pre_check(imp: &dyn Implementation, ctx: &Context, case: &Case) -> Option<CaseResult> {
    if let Some(m) = missing_model(ctx, case) {
        return Some(not_sent(case, Status::Skipped, m));
    }
    unsupported_feature(imp, case).map(|u| not_sent(case, Status::Unsupported, u))
}

/// Runs one case and records its wall time.
fn timed(run: impl FnOnce() -> CaseResult) -> CaseResult {
    let started = std::time::Instant::now();
    let mut r = run();
    r.set_elapsed(started);
    r
}

/// Counts the implementation's deaths on consecutive cases.
#[derive(Default)]
struct Survival {
    deaths_in_a_row: usize,
    stopped: Option<String>,
}

impl Survival {
    /// Sends `case` (or, once stopped, marks it not run).
    fn run(&mut self, imp: &mut dyn Implementation, case: &Case) -> CaseResult {
        if let Some(why) = &self.stopped {
            return not_sent(case, Status::Skipped, format!("not run: {why}"));
        }
        let r = judge(case, &imp.call(&case.op, &case.args));
        match imp.take_death() {
            Some(why) => {
                self.deaths_in_a_row += 1;
                if self.deaths_in_a_row >= DEATHS_TO_STOP {
                    self.stopped = Some(format!("the implementation died on {DEATHS_TO_STOP} consecutive cases ({why})"));
                }
            }
            None => self.deaths_in_a_row = 0,
        }
        r
    }
}

/// Runs `cases` in order: one result per case, in the same order. The
/// built-in engine runs cases in parallel (results do not depend on the
/// thread count); other implementations get one request at a time, under
/// the stop rule (module doc). Cases whose model is absent are skipped and
/// cases needing undeclared features are unsupported, without a request.
/// `watch` is called after every case.
pub fn run_watched(imp: &mut dyn Implementation, ctx: &Context, cases: &[Case], watch: &(dyn Fn(&Tick) + Sync)) -> Run {
    let total = cases.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let failed = std::sync::atomic::AtomicUsize::new(0);
    let tick = |index: usize, r: &CaseResult| {
        use std::sync::atomic::Ordering::Relaxed;
        let failed = failed.fetch_add(usize::from(r.status == Status::Fail), Relaxed) + usize::from(r.status == Status::Fail);
        watch(&Tick { done: done.fetch_add(1, Relaxed) + 1, total, failed, index });
    };
    if let Some(b) = imp.as_builtin() {
        for c in cases {
            match c.op.as_str() {
                "compress" => b.ctx.plan_compress(&c.args),
                "chunk_encode" => b.ctx.plan_chunk(&c.args),
                _ => {}
            }
        }
        let results = cases
            .par_iter()
            .enumerate()
            .map(|(i, c)| {
                let r = timed(|| pre_check(b, ctx, c).unwrap_or_else(|| judge(c, &reference(&b.ctx, &c.op, &c.args))));
                tick(i, &r);
                r
            })
            .collect();
        return Run { results, stopped: None };
    }
    let mut survival = Survival::default();
    let mut results = Vec::with_capacity(total);
    for (i, c) in cases.iter().enumerate() {
        let r = timed(|| match pre_check(imp, ctx, c) {
            Some(r) => r,
            None => survival.run(imp, c),
        });
        tick(i, &r);
        results.push(r);
    }
    Run { results, stopped: survival.stopped }
}

/// [`run_watched`] for callers that need only the results (a stopped run
/// shows in them as cases skipped with `not run: …`) and `progress(done, total)`.
pub fn run_cases(
    imp: &mut dyn Implementation,
    ctx: &Context,
    cases: &[Case],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<CaseResult> {
    run_watched(imp, ctx, cases, &|t| progress(t.done, t.total)).results
}
