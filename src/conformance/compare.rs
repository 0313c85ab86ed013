//! Comparing an implementation's answer with a case's expectation, down to
//! the first differing element.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::case::{as_array, as_int, digest_matches, digest_of, sha256_hex, unhex, Case};
use super::ops::Outcome;
use crate::container::{read_file, ReadLimits};

/// How one case went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// The implementation does not declare a feature the case requires, or answered `unsupported`.
    Unsupported,
    /// Not run (e.g. its model is absent).
    Skipped,
}

impl Status {
    /// The lowercase word reports use (as serialised).
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unsupported => "unsupported",
            Status::Skipped => "skipped",
        }
    }
}

/// Where an answer first departs from the expectation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    /// Path of the differing value: `y[17]`, `out[3][5]`, `payload_sha256`.
    pub path: String,
    /// Flat element index inside the innermost array, when there is one.
    pub index: Option<usize>,
    /// A few expected values from the divergence on.
    pub expected: Vec<Value>,
    /// The same window of the answer.
    pub actual: Vec<Value>,
}

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    pub id: String,
    pub op: String,
    pub spec: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divergence: Option<Divergence>,
    /// One line: why it failed / what was unsupported / the error text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Tags of the case (for matching known divergences).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Diagnostic answer fields (`op_table`: not normative) the case expects
    /// and the answer left out: reported as "not answered", never a failure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_answered: Vec<String>,
    /// Wall time of the case in microseconds (request, answer and judging),
    /// when measured. Not part of the verdict; reports strip it to compare runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_us: Option<u64>,
}

const WINDOW: usize = 4;

impl CaseResult {
    /// Records the wall time since `started` as this case's `time_us`.
    pub fn set_elapsed(&mut self, started: std::time::Instant) {
        self.time_us = Some(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
    }

    fn new(case: &Case, status: Status, message: String, divergence: Option<Divergence>) -> Self {
        CaseResult {
            id: case.id.clone(),
            op: case.op.clone(),
            spec: case.spec.clone(),
            status,
            divergence,
            message,
            tags: case.tags.clone(),
            not_answered: Vec::new(),
            time_us: None,
        }
    }
}

/// Scores one answer against its case.
pub fn judge(case: &Case, outcome: &Outcome) -> CaseResult {
    let must_fail = case.expect.get("error") == Some(&Value::Bool(true));
    match outcome {
        Outcome::Unsupported(why) => CaseResult::new(case, Status::Unsupported, why.clone(), None),
        Outcome::Broken(why) => CaseResult::new(case, Status::Fail, format!("implementation failure: {why}"), None),
        Outcome::Error(msg) if must_fail => CaseResult::new(case, Status::Pass, format!("refused: {msg}"), None),
        Outcome::Error(msg) => CaseResult::new(case, Status::Fail, format!("error: {msg}"), None),
        Outcome::Result(_) if must_fail => {
            CaseResult::new(case, Status::Fail, "accepted an input that must be refused".into(), None)
        }
        Outcome::Result(v) => {
            let (norm, note) = masking(case, v);
            let with_note = |msg: String| match (&note, msg.is_empty()) {
                (None, _) => msg,
                (Some(n), true) => n.clone(),
                (Some(n), false) => format!("{msg}; {n}"),
            };
            let skip = unanswered_diagnostics(&case.op, &case.expect, v);
            let mut r = match first_divergence_skipping(&case.expect, v, norm, &skip) {
                None => CaseResult::new(case, Status::Pass, with_note(String::new()), None),
                Some(d) => {
                    let msg = format!(
                        "{}: expected {} got {}",
                        d.path,
                        Value::Array(d.expected.clone()),
                        Value::Array(d.actual.clone())
                    );
                    CaseResult::new(case, Status::Fail, with_note(msg), Some(d))
                }
            };
            r.not_answered = skip.into_iter().map(String::from).collect();
            r
        }
    }
}

/// The expected fields of `op` that the op table marks diagnostic and the
/// answer does not carry (absent or null): not answered, so not compared.
/// A diagnostic field the answer does carry is compared like any other.
fn unanswered_diagnostics<'a>(op: &str, expect: &'a Value, answer: &Value) -> Vec<&'a str> {
    let Some(spec) = super::op_table::Op::from_name(op).map(|o| o.spec()) else { return Vec::new() };
    let Value::Object(fields) = expect else { return Vec::new() };
    fields
        .keys()
        .filter(|k| spec.answer.iter().any(|f| f.name == k.as_str() && !f.normative))
        .filter(|k| answer.get(k.as_str()).is_none_or(Value::is_null))
        .map(String::as_str)
        .collect()
}

/// The answer field (an object: masked field → reason) by which the runner's
/// own template implementation asks for a field the spec makes informational
/// to be masked, because the implementation had no way to choose it. Only
/// `model_id_hash` (spec §9) can be masked. Answers of an adapter process
/// never carry it (`ProcessAdapter` removes it): an implementation cannot
/// mask its own answers.
pub const MASKED: &str = "masked";

/// How an answer's file is normalised before comparison (a parameter of
/// comparison, not a separate comparison).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Normalise {
    /// Read the inner payload's `model_id_hash` (bytes 0..4) as this value.
    pub model_id_hash: Option<u32>,
}

/// The normalisation an answer asks for (see [`MASKED`]) and the note that
/// says so; the masked hash is read as the one the case asked for.
fn masking(case: &Case, answer: &Value) -> (Normalise, Option<String>) {
    let reason = answer.get(MASKED).and_then(|m| m.get("model_id_hash")).and_then(Value::as_str);
    let wanted = case.args.get("model_id_hash").and_then(Value::as_str).and_then(|h| u32::from_str_radix(h, 16).ok());
    match (reason, wanted) {
        (Some(r), Some(h)) => (Normalise { model_id_hash: Some(h) }, Some(format!("model_id_hash masked ({r})"))),
        _ => (Normalise::default(), None),
    }
}

/// Fields an answer carries from which an expected field is derived.
fn derived(key: &str, answer: &Value, norm: Normalise) -> Option<Value> {
    match key {
        "outer_header_hex" => {
            let h = answer.get("file_hex")?.as_str()?;
            Some(Value::String(h.get(..32).unwrap_or(h).to_string()))
        }
        "payload_sha256" => {
            let file = unhex(answer.get("file_hex")?.as_str()?)?;
            Some(Value::String(match read_file(&file, &ReadLimits::default()) {
                Ok(f) => payload_digest_with(&f.payload, norm),
                Err(e) => format!("<unreadable file: {e}>"),
            }))
        }
        "text_sha256" => Some(Value::String(sha256_hex(&unhex(answer.get("text_hex")?.as_str()?)?))),
        _ => None,
    }
}

/// SHA-256 of an inner payload with byte 11 (`context_length_log2`) read as
/// the chunk exponent: 0 (files from before levels) counts as 6 (spec §9).
pub fn payload_digest(payload: &[u8]) -> String {
    payload_digest_with(payload, Normalise::default())
}

/// [`payload_digest`], with `model_id_hash` read as `norm` says.
pub fn payload_digest_with(payload: &[u8], norm: Normalise) -> String {
    let mut p = payload.to_vec();
    crate::container::normalise_context_log2(&mut p);
    if let (Some(h), Some(field)) = (norm.model_id_hash, p.get_mut(..4)) {
        field.copy_from_slice(&h.to_le_bytes());
    }
    sha256_hex(&p)
}

/// The first place where `answer` departs from `expect`, or `None`.
pub fn first_divergence(expect: &Value, answer: &Value) -> Option<Divergence> {
    first_divergence_with(expect, answer, Normalise::default())
}

/// [`first_divergence`], with the answer's file normalised as `norm` says.
pub fn first_divergence_with(expect: &Value, answer: &Value, norm: Normalise) -> Option<Divergence> {
    first_divergence_skipping(expect, answer, norm, &[])
}

/// [`first_divergence_with`], leaving out the expected fields named in `skip`.
fn first_divergence_skipping(expect: &Value, answer: &Value, norm: Normalise, skip: &[&str]) -> Option<Divergence> {
    let Value::Object(fields) = expect else {
        return compare_value("", expect, answer);
    };
    for (k, ev) in fields.iter().filter(|(k, _)| !skip.contains(&k.as_str())) {
        let av = answer.get(k).cloned().or_else(|| derived(k, answer, norm));
        let Some(av) = av else {
            return Some(Divergence { path: k.clone(), index: None, expected: vec![ev.clone()], actual: vec![Value::Null] });
        };
        if let Some(d) = compare_value(k, ev, &av) {
            return Some(d);
        }
    }
    None
}

fn window(xs: &[i64], i: usize) -> Vec<Value> {
    xs.iter().skip(i).take(WINDOW).map(|&x| Value::from(x)).collect()
}

fn compare_value(path: &str, ev: &Value, av: &Value) -> Option<Divergence> {
    // A digest expectation: compare the answer's bytes.
    if digest_of(ev).is_some() && ev.get("hex").is_none() {
        let xs = as_array(av)?;
        return match digest_matches(ev, &xs) {
            Some(true) => None,
            _ => Some(Divergence { path: path.into(), index: None, expected: vec![ev["sha256"].clone()], actual: vec![Value::from(format!("{} values, other digest", xs.len()))] }),
        };
    }
    // Arrays of arrays (per-step / per-position outputs).
    if let (Some(ea), Some(aa)) = (ev.as_array(), av.as_array()) {
        if ea.first().is_some_and(|x| x.is_array() || x.is_object()) {
            for (i, e) in ea.iter().enumerate() {
                let Some(a) = aa.get(i) else {
                    return Some(Divergence { path: format!("{path}[{i}]"), index: None, expected: vec![e.clone()], actual: vec![Value::Null] });
                };
                if let Some(d) = compare_value(&format!("{path}[{i}]"), e, a) {
                    return Some(d);
                }
            }
            if aa.len() != ea.len() {
                return Some(Divergence { path: format!("{path}.len"), index: None, expected: vec![ea.len().into()], actual: vec![aa.len().into()] });
            }
            return None;
        }
    }
    // Integer arrays (inline or packed).
    if ev.is_array() || ev.get("hex").is_some() {
        let (Some(e), Some(a)) = (as_array(ev), as_array(av)) else {
            return Some(Divergence { path: path.into(), index: None, expected: vec![ev.clone()], actual: vec![av.clone()] });
        };
        if let Some(i) = e.iter().zip(&a).position(|(x, y)| x != y) {
            return Some(Divergence { path: format!("{path}[{i}]"), index: Some(i), expected: window(&e, i), actual: window(&a, i) });
        }
        if e.len() != a.len() {
            let i = e.len().min(a.len());
            return Some(Divergence { path: format!("{path}.len"), index: Some(i), expected: vec![e.len().into()], actual: vec![a.len().into()] });
        }
        return None;
    }
    // Scalars: integers compare by value (number or string form).
    let same = match (as_int(ev), as_int(av)) {
        (Some(x), Some(y)) => x == y,
        _ => ev == av,
    };
    (!same).then(|| Divergence { path: path.into(), index: None, expected: vec![ev.clone()], actual: vec![av.clone()] })
}
