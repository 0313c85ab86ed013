//! `compare-dumps`: the reference's dump against an implementation's, tensor
//! by tensor in pipeline order, then position, then element. The result
//! becomes a [`Report`] (one suite per compared chunk, one case per tensor),
//! so it is rendered like every other report: terminal, `report.md`,
//! `report.json`, `junit.xml`.

use serde_json::json;

use super::{Dump, Tensor};
use crate::conformance::compare::{CaseResult, Divergence, Status};
use crate::conformance::report::{Report, VerdictPolicy};
use crate::conformance::score::SuiteRows;
use crate::conformance::witness;
use crate::Model;

/// Where one tensor first differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub position: usize,
    pub element: usize,
    pub expected: i64,
    pub actual: i64,
    /// Differing elements in that position's row, and the row's width.
    pub row_differences: usize,
    pub width: usize,
    /// Positions of the tensor with at least one differing element, of those compared.
    pub positions_differing: usize,
    /// The spec §11 point the reference's witness shows at that position and tensor (a tag).
    pub cause: Option<(&'static str, String)>,
}

/// How one of the reference's tensors compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Identical,
    Differs(Difference),
    /// IMPL's dump does not hold it (listed, not failed).
    NotDumped,
}

/// One chunk's comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// Names the chunk in reports (the REF file's stem).
    pub label: String,
    pub ref_producer: String,
    pub impl_producer: String,
    pub model_hash: String,
    pub tokens: usize,
    /// Positions present in both dumps (the ones compared).
    pub positions: Vec<usize>,
    /// Every tensor of REF, in pipeline order.
    pub tensors: Vec<(String, Outcome)>,
    /// IMPL's tensors that REF does not hold, and its unknown names (ignored).
    pub ignored: Vec<String>,
}

impl Comparison {
    /// The first difference in pipeline order.
    pub fn first(&self) -> Option<(&str, &Difference)> {
        self.tensors.iter().find_map(|(n, o)| match o {
            Outcome::Differs(d) => Some((n.as_str(), d)),
            _ => None,
        })
    }

    /// Whether every tensor present in both is identical.
    pub fn identical(&self) -> bool {
        self.first().is_none()
    }
}

/// Where two token lists first differ, for the message.
fn first_token_difference(a: &[u32], b: &[u32]) -> String {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(p) => format!("position {p}: REF {}, IMPL {}", a[p], b[p]),
        None => format!("REF has {} tokens, IMPL {}", a.len(), b.len()),
    }
}

/// Compares two dumps of the same chunk. Refuses (naming the tensor or
/// metadata key) dumps of different tokens or models, and a tensor whose
/// rows are not as wide as REF's.
pub fn compare(label: &str, r: &Dump, i: &Dump) -> Result<Comparison, String> {
    if r.tokens != i.tokens {
        return Err(format!("tensor tokens: IMPL's chunk is not REF's ({})", first_token_difference(&r.tokens, &i.tokens)));
    }
    if !r.meta("model_hash").eq_ignore_ascii_case(i.meta("model_hash")) {
        return Err(format!("metadata model_hash: REF {:?}, IMPL {:?}: dumps of different models", r.meta("model_hash"), i.meta("model_hash")));
    }
    // Positions in both, with their rows in each.
    let common: Vec<(usize, usize, usize)> =
        r.positions.iter().enumerate().filter_map(|(rr, &p)| i.row_of(p).map(|ir| (p, rr, ir))).collect();
    if common.is_empty() && !i.tensors.is_empty() {
        return Err(format!("tensor positions: IMPL dumps none of REF's positions ({}..={})", r.positions[0], r.positions[r.positions.len() - 1]));
    }
    let mut tensors = Vec::new();
    for (name, rt) in r.in_pipeline_order() {
        let outcome = match i.tensors.get(name) {
            None => Outcome::NotDumped,
            Some(it) if it.width != rt.width => {
                return Err(format!("tensor {name}: shape [{}, {}], expected [{}, {}] (rows as wide as REF's)", i.positions.len(), it.width, i.positions.len(), rt.width));
            }
            Some(it) => match difference(rt, it, &common) {
                Some(d) => Outcome::Differs(d),
                None => Outcome::Identical,
            },
        };
        tensors.push((name.to_string(), outcome));
    }
    let mut ignored: Vec<String> = i.tensors.keys().filter(|k| !r.tensors.contains_key(*k)).cloned().collect();
    ignored.extend(i.extra.iter().cloned());
    Ok(Comparison {
        label: label.to_string(),
        ref_producer: r.meta("producer").to_string(),
        impl_producer: i.meta("producer").to_string(),
        model_hash: r.meta("model_hash").to_string(),
        tokens: r.tokens.len(),
        positions: common.iter().map(|c| c.0).collect(),
        tensors,
        ignored,
    })
}

fn difference(r: &Tensor, i: &Tensor, common: &[(usize, usize, usize)]) -> Option<Difference> {
    let mut first: Option<Difference> = None;
    let mut positions_differing = 0;
    for &(p, rr, ir) in common {
        let (a, b) = (r.row(rr), i.row(ir));
        let diffs = a.iter().zip(b).filter(|(x, y)| x != y).count();
        if diffs == 0 {
            continue;
        }
        positions_differing += 1;
        if first.is_none() {
            let e = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0);
            first = Some(Difference {
                position: p,
                element: e,
                expected: a[e],
                actual: b[e],
                row_differences: diffs,
                width: r.width,
                positions_differing: 0,
                cause: None,
            });
        }
    }
    first.map(|d| Difference { positions_differing, ..d })
}

/// Adds the spec §11 cause to each differing tensor where the reference's
/// witness scan ([`witness::scan`]) of the chunk shows a known departure at
/// that tensor and position.
pub fn add_causes(c: &mut Comparison, model: &Model, tokens: &[u32]) {
    let upto = c.tensors.iter().filter_map(|(_, o)| if let Outcome::Differs(d) = o { Some(d.position) } else { None }).max();
    let Some(upto) = upto else { return };
    let witnesses = witness::scan(model, tokens, upto);
    for (name, o) in &mut c.tensors {
        if let Outcome::Differs(d) = o {
            d.cause = witnesses.iter().find(|w| w.position == d.position && &w.tensor == name).map(|w| (w.tag, w.what.clone()));
        }
    }
}

/// A difference in one line: where, both values, how much of the row and
/// of the tensor (`positions` compared).
pub fn describe(d: &Difference, positions: usize) -> String {
    format!(
        "position {}, element {}: REF {}, IMPL {}; {} of {} elements of the row differ; {} of {positions} positions differ",
        d.position, d.element, d.expected, d.actual, d.row_differences, d.width, d.positions_differing
    )
}

/// The report of one or more chunks' comparisons: a suite per chunk, a case
/// per REF tensor (pass: identical, fail: differs, unsupported: not dumped
/// by IMPL). The verdict accepts tensors not dumped (PARTIAL), never a
/// difference.
pub fn to_report(impl_name: &str, comparisons: &[Comparison]) -> (Report, Vec<CaseResult>, SuiteRows) {
    let mut results = Vec::new();
    let mut suites = Vec::new();
    for c in comparisons {
        let mut idx = Vec::new();
        for (name, o) in &c.tensors {
            let id = if comparisons.len() == 1 { name.clone() } else { format!("{}/{name}", c.label) };
            let (status, divergence, message, tags) = match o {
                Outcome::Identical => (Status::Pass, None, String::new(), Vec::new()),
                Outcome::NotDumped => (Status::Unsupported, None, "not in IMPL's dump".to_string(), Vec::new()),
                Outcome::Differs(d) => (
                    Status::Fail,
                    Some(Divergence {
                        path: format!("{name}[{}][{}]", d.position, d.element),
                        index: Some(d.element),
                        expected: vec![json!(d.expected)],
                        actual: vec![json!(d.actual)],
                    }),
                    describe(d, c.positions.len()),
                    d.cause.iter().map(|(t, _)| format!("divergence:{t}")).collect(),
                ),
            };
            idx.push(results.len());
            results.push(CaseResult { id, op: "dump".into(), spec: "§6".into(), status, divergence, message, tags, time_us: None, not_answered: Vec::new() });
        }
        suites.push((c.label.clone(), true, idx));
    }
    let mut report = Report::build(impl_name, Vec::new(), &suites, &results);
    report.decide(VerdictPolicy { allow_partial: true });
    // A difference the reference's witness explains has that §11 row as its cause.
    report.assign_causes(|f| {
        let tags = f.case.tags.iter().filter_map(|t| t.strip_prefix("divergence:"));
        tags.filter_map(crate::conformance::causes::Cause::of_witness).next().unwrap_or(crate::conformance::causes::Cause::Unexplained)
    });
    // The reference's witness, under each failure it explains.
    for f in &mut report.failures {
        let (label, name) = f.case.id.split_once('/').unwrap_or(("", &f.case.id));
        let c = comparisons.iter().find(|c| comparisons.len() == 1 || c.label == label);
        if let Some((_, Outcome::Differs(d))) = c.and_then(|c| c.tensors.iter().find(|(n, _)| n == name)) {
            if let Some((_, what)) = &d.cause {
                f.localisation.push(format!("reference witness at position {}: {what}", d.position));
            }
        }
    }
    for c in comparisons {
        let prefix = if comparisons.len() == 1 { String::new() } else { format!("{}: ", c.label) };
        match c.first() {
            Some((name, d)) => {
                let mut line = format!("{prefix}first difference: {name}: {}", describe(d, c.positions.len()));
                if let Some((tag, what)) = &d.cause {
                    line += &format!("; cause: {} ({what})", crate::conformance::report::known_divergence(tag).unwrap_or(tag));
                }
                report.findings.push(line);
            }
            None => report.findings.push(format!("{prefix}every tensor present in both dumps is identical ({} positions compared)", c.positions.len())),
        }
        let missing: Vec<&str> = c.tensors.iter().filter(|(_, o)| *o == Outcome::NotDumped).map(|(n, _)| n.as_str()).collect();
        if !missing.is_empty() {
            report.findings.push(format!("{prefix}not dumped by IMPL (not compared): {}", missing.join(", ")));
        }
        if !c.ignored.is_empty() {
            report.findings.push(format!("{prefix}ignored (not in REF or not a {} tensor): {}", super::FORMAT, c.ignored.join(", ")));
        }
    }
    (report, results, suites)
}
