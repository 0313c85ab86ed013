//! Localising a failed case down the stack: file → chunk → token position →
//! (if the implementation answers model ops) the logits at that position →
//! (if it answers `model_trace`) the first layer whose output differs.
//!
//! Localisation returns [`Finding`]s; reports render them as text
//! ([`finding::render`]) at the edge.

pub mod chunks;
pub mod finding;
pub mod newlines;

pub use chunks::{localise_chunks, ChunkLocalisation};
pub use finding::Finding;
pub use newlines::newline_translated;

use serde_json::{json, Value};

use super::case::{as_array, unhex, Case};
use super::compare::{first_divergence, CaseResult};
use super::implementation::Implementation;
use super::ops::{reference, Context, Outcome};
use super::report::known_divergence;
use crate::container::{read_file, ReadLimits};
use crate::pipeline::decode_tokens_unverified;

/// Lines of localisation and a known divergence, for one failed case
/// ([`localise_findings`], rendered).
pub fn localise(imp: &mut dyn Implementation, ctx: &Context, case: &Case, result: &CaseResult, answer: Option<&Value>) -> (Vec<String>, Option<String>) {
    let (findings, known) = localise_findings(imp, ctx, case, result, answer);
    (finding::render(&findings), known)
}

/// Whether localising a failure of `case` can find more than the failure
/// itself says (the cases [`localise_findings`] goes into: files and model
/// steps, not refusals).
pub fn localises(case: &Case) -> bool {
    let must_refuse = case.expect.get("error") == Some(&Value::Bool(true));
    !must_refuse && matches!(case.op.as_str(), "compress" | "decompress" | "model_logits")
}

/// What localising one failed case found, and a known divergence.
pub fn localise_findings(imp: &mut dyn Implementation, ctx: &Context, case: &Case, result: &CaseResult, answer: Option<&Value>) -> (Vec<Finding>, Option<String>) {
    let must_refuse = case.expect.get("error") == Some(&Value::Bool(true));
    match case.op.as_str() {
        "compress" => answer.map_or_else(Default::default, |a| localise_compress(imp, ctx, case, a)),
        "decompress" if !must_refuse => localise_decompress(ctx, case),
        "model_logits" => localise_logits(imp, ctx, case, result),
        _ => (Vec::new(), None),
    }
}

/// A reference file the implementation did not decode back: the first known
/// §11 witness in the reference's own decoding of it, chunk by chunk (where
/// a decoder with that departure loses the text).
fn localise_decompress(ctx: &Context, case: &Case) -> (Vec<Finding>, Option<String>) {
    let model_name = case.args.get("model").and_then(Value::as_str).unwrap_or_default();
    let (Ok(model), Some(file)) = (ctx.model(model_name), case.args.get("file_hex").and_then(Value::as_str).and_then(unhex)) else {
        return (Vec::new(), None);
    };
    let Ok(f) = read_file(&file, &ReadLimits::default()) else { return (Vec::new(), None) };
    let Ok(chunks) = decode_tokens_unverified(&model, &f) else { return (Vec::new(), None) };
    for (c, tokens) in chunks.iter().enumerate() {
        if let Some(w) = super::witness::scan(&model, tokens, tokens.len().saturating_sub(1)).into_iter().next() {
            let known = known_divergence(w.tag).map(String::from);
            return (vec![Finding::Witness { chunk: Some(c), position: w.position, tag: w.tag, what: w.what }], known);
        }
    }
    (Vec::new(), None)
}

/// The first differing layer output at one position, via `model_trace`.
fn first_layer(imp: &mut dyn Implementation, ctx: &Context, model: &str, tokens: &[u32], pos: usize) -> Option<Finding> {
    if !imp.features().contains("trace") {
        return Some(Finding::NoTrace);
    }
    let args = json!({"model": model, "tokens": tokens, "position": pos});
    let (Outcome::Result(theirs), Outcome::Result(ours)) = (imp.call("model_trace", &args), reference(ctx, "model_trace", &args)) else {
        return Some(Finding::OneSideFailed { op: "model_trace" });
    };
    let layers = ours.get("layers")?.as_array()?;
    for (l, lo) in layers.iter().enumerate() {
        let lt = theirs.get("layers").and_then(|x| x.get(l)).cloned().unwrap_or(Value::Null);
        // Fields in order of computation (spec §6).
        for f in crate::model::LayerTrace::STAGES {
            if let Some(d) = first_divergence(&json!({ f: lo[f].clone() }), &lt) {
                return Some(Finding::Layer { layer: l, stage: f.to_string(), path: d.path, expected: d.expected, actual: d.actual });
            }
        }
    }
    Some(Finding::LayersAgree)
}

fn localise_logits(imp: &mut dyn Implementation, ctx: &Context, case: &Case, result: &CaseResult) -> (Vec<Finding>, Option<String>) {
    let mut lines = Vec::new();
    let (Some(model), Some(tokens), Some(positions)) = (
        case.args.get("model").and_then(Value::as_str),
        case.args.get("tokens").and_then(as_array),
        case.args.get("positions").and_then(as_array),
    ) else {
        return (lines, None);
    };
    // `logits[k][i]`: which listed position failed.
    let k = result
        .divergence
        .as_ref()
        .and_then(|d| d.path.split(['[', ']']).nth(1))
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let Some(&pos) = positions.get(k) else { return (lines, None) };
    let toks: Vec<u32> = tokens.iter().map(|&t| t as u32).collect();
    lines.push(Finding::Position { position: pos as usize });
    if let Some(l) = first_layer(imp, ctx, model, &toks, pos as usize) {
        lines.push(l);
    }
    let known = witness_known(ctx, model, &toks, pos as usize, &mut lines);
    (lines, known)
}

fn witness_known(ctx: &Context, model: &str, tokens: &[u32], upto: usize, lines: &mut Vec<Finding>) -> Option<String> {
    let m = ctx.model(model).ok()?;
    let w = super::witness::scan(&m, tokens, upto).into_iter().next()?;
    lines.push(Finding::Witness { chunk: None, position: w.position, tag: w.tag, what: w.what });
    known_divergence(w.tag).map(String::from)
}

fn localise_compress(imp: &mut dyn Implementation, ctx: &Context, case: &Case, answer: &Value) -> (Vec<Finding>, Option<String>) {
    let mut lines = Vec::new();
    let model_name = case.args.get("model").and_then(Value::as_str).unwrap_or_default();
    let (Ok(model), Some(file)) = (ctx.model(model_name), answer.get("file_hex").and_then(Value::as_str).and_then(unhex)) else {
        return (lines, None);
    };
    let theirs = match read_file(&file, &ReadLimits::default()) {
        Ok(f) => f,
        Err(e) => {
            lines.push(Finding::NotAContainer { error: e.to_string() });
            return (lines, None);
        }
    };
    let Outcome::Result(ours) = reference(ctx, "compress", &case.args) else { return (lines, None) };
    let Some(ref_bytes) = ours.get("file_hex").and_then(Value::as_str).and_then(unhex) else { return (lines, None) };
    let Ok(rf) = read_file(&ref_bytes, &ReadLimits::default()) else { return (lines, None) };
    if file.get(..16) != ref_bytes.get(..16) {
        lines.push(Finding::OuterHeader);
    }
    let mut text = ctx.text(&case.args["text"]).unwrap_or_default();
    let mut rf = rf;
    // A file of the newline-translated text (CR, CRLF → LF) is compared with
    // the reference's file of that text.
    let translated = newline_translated(&text);
    if translated != text && theirs.outer.uncompressed_len as usize == translated.len() {
        lines.push(Finding::NewlineTranslation);
        let mut args = case.args.clone();
        args["text"] = json!({"hex": crate::conformance::case::hex(&translated)});
        let again = match reference(ctx, "compress", &args) {
            Outcome::Result(o) => o.get("file_hex").and_then(Value::as_str).and_then(unhex),
            _ => None,
        };
        match again.as_deref().map(|b| read_file(b, &ReadLimits::default())) {
            Some(Ok(f)) => (rf, text) = (f, translated),
            _ => return (lines, None),
        }
    }
    let tokens = match String::from_utf8(text) {
        Ok(t) => model.tokenizer().encode(&t).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let their_tokens = decode_tokens_unverified(&model, &theirs).ok();
    let Some(cl) = localise_chunks(&model, &theirs, their_tokens.as_deref(), &rf, &tokens) else {
        lines.push(Finding::ChunksIdentical);
        return (lines, None);
    };
    lines.extend(cl.findings);
    let mut known = cl.witness.as_ref().and_then(|w| known_divergence(w.tag)).map(String::from);
    if let Some(p) = cl.position {
        if imp.features().contains("model_ops") {
            let args = json!({"model": model_name, "tokens": cl.chunk_tokens, "positions": [p]});
            match (imp.call("model_logits", &args), reference(ctx, "model_logits", &args)) {
                (Outcome::Result(t), Outcome::Result(o)) => {
                    let divergence = first_divergence(&json!({"logits": o["logits"].clone()}), &t);
                    let differs = divergence.is_some();
                    lines.push(Finding::Logits { chunk: cl.chunk, position: p, divergence });
                    if differs {
                        if let Some(l) = first_layer(imp, ctx, model_name, &cl.chunk_tokens, p) {
                            lines.push(l);
                        }
                    }
                }
                _ => lines.push(Finding::OneSideFailed { op: "model_logits" }),
            }
        }
        if known.is_none() {
            known = witness_known(ctx, model_name, &cl.chunk_tokens, p, &mut Vec::new());
        }
    }
    (lines, known)
}
