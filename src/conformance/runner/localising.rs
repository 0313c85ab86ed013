//! Localising the failures of a run down the stack ([`crate::conformance::localize`]),
//! within a budget. Localising asks the implementation again — a failed
//! `compress` case for its file once more, then logits and traces at the
//! first differing position — which costs minutes per case for a slow
//! implementation; `run --max-localize N` bounds how many cases pay it.

use std::collections::HashMap;

use serde_json::Value;

use crate::conformance::case::Case;
use crate::conformance::implementation::Implementation;
use crate::conformance::localize::{finding, localise_findings, localises, Finding};
use crate::conformance::ops::{Context, Outcome};
use crate::conformance::report::Report;

/// Localises the failures of `report` that can be localised — a case that
/// [`localises`] (files and model steps; a refusal case has nothing to
/// localise) — root cause first, the first `max` of them (`0`: all), and
/// returns what was found per case id (for [`crate::conformance::causes`]). The others get one line that
/// says why not: the budget, a run that stopped (the implementation kept
/// dying), or a death while localising an earlier failure.
/// `progress(i, n)` is called before the `i`-th (from 1) of `n` localisations.
pub fn localise_failures(
    imp: &mut dyn Implementation,
    ctx: &Context,
    cases: &[Case],
    report: &mut Report,
    max: usize,
    stopped: bool,
    progress: &dyn Fn(usize, usize),
) -> HashMap<String, Vec<Finding>> {
    let _ = imp.take_death(); // deaths of the run are the runner's, counted already
    let by_id: HashMap<&str, &Case> = cases.iter().map(|c| (c.id.as_str(), c)).collect();
    let wanted: Vec<usize> = (0..report.failures.len())
        .filter(|&i| by_id.get(report.failures[i].case.id.as_str()).is_some_and(|c| localises(c)))
        .collect();
    let mut findings = HashMap::new();
    let n = if max == 0 { wanted.len() } else { wanted.len().min(max) };
    let mut died: Option<String> = None;
    for (k, &i) in wanted.iter().enumerate() {
        let f = &mut report.failures[i];
        let skip = if stopped {
            Some("not localised (the run stopped)".to_string())
        } else if let Some(why) = &died {
            Some(format!("not localised (the implementation died localising an earlier failure: {why})"))
        } else if k >= n {
            Some(format!("not localised (--max-localize {max})"))
        } else {
            None
        };
        if let Some(line) = skip {
            f.localisation = vec![line];
            continue;
        }
        let Some(&case) = by_id.get(f.case.id.as_str()) else { continue };
        progress(k + 1, n);
        let answer = match case.op.as_str() {
            "compress" => match imp.call(&case.op, &case.args) {
                Outcome::Result(v) => Some(v),
                _ => None,
            },
            _ => None::<Value>,
        };
        let (found, known) = localise_findings(imp, ctx, case, &f.case, answer.as_ref());
        f.localisation = finding::render(&found);
        if f.known_divergence.is_none() {
            f.known_divergence = known;
        }
        findings.insert(f.case.id.clone(), found);
        if let Some(why) = imp.take_death() {
            f.localisation.push(format!("localisation stopped: the implementation died ({why})"));
            died = Some(why);
        }
    }
    findings
}
