//! A whole run, from selected cases to the finished report: run the cases
//! (watched), build the report, decide the verdict, localise failures,
//! name every failure's cause, record the provenance. What
//! `czip-conformance run` and the Python binding's `czip.run` both call.

use super::localising::localise_failures;
use super::{run_watched, Tick};
use crate::conformance::case::Case;
use crate::conformance::causes::{classify, Cause};
use crate::conformance::compare::CaseResult;
use crate::conformance::implementation::Implementation;
use crate::conformance::ops::Context;
use crate::conformance::report::{Provenance, Report, VerdictPolicy};
use crate::conformance::score::SuiteRows;

/// What a finished run hands back: the report, the case results and the
/// suite rows (what `Report::write` needs for junit.xml).
pub struct Finished {
    pub report: Report,
    pub results: Vec<CaseResult>,
    pub suites: SuiteRows,
}

/// Runs `cases` (the selection's, in corpus order; `suites` its rows) on
/// `imp` and finishes the report. `watch` sees every case as it ends;
/// `localising(i, n)` each failure as it is localised (at most
/// `max_localize` of them, 0 = all). The stop reason, when the
/// implementation kept dying, is `report.stopped`.
#[allow(clippy::too_many_arguments)]
pub fn run_to_report(
    imp: &mut dyn Implementation,
    ctx: &Context,
    cases: &[Case],
    suites: SuiteRows,
    policy: VerdictPolicy,
    max_localize: usize,
    watch: &(dyn Fn(&Tick) + Sync),
    localising: &dyn Fn(usize, usize),
) -> Finished {
    let started = std::time::Instant::now();
    let run = run_watched(imp, ctx, cases, watch);
    let results = run.results;
    let mut report = Report::build(imp.name(), imp.features().iter().cloned().collect(), &suites, &results);
    report.stopped = run.stopped.clone();
    report.decide(policy);
    // Localise failures down the stack (this asks the implementation again),
    // then name every failure's cause.
    let findings = localise_failures(imp, ctx, cases, &mut report, max_localize, run.stopped.is_some(), localising);
    let by_id: std::collections::HashMap<&str, &Case> = cases.iter().map(|c| (c.id.as_str(), c)).collect();
    report.assign_causes(|f| match by_id.get(f.case.id.as_str()) {
        Some(case) => classify(ctx, case, &f.case, findings.get(&f.case.id).map_or(&[][..], Vec::as_slice)),
        None => Cause::Unexplained,
    });
    report.provenance = Some(Provenance::collect(ctx, true, started.elapsed()));
    Finished { report, results, suites }
}
