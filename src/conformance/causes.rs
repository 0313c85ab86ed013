//! Why a case failed: every failure in a report is put under one cause — a
//! row of spec §11, a behaviour of the public Python package named in
//! `../shared/spec/upstream-python-api.md`, missing input validation (a
//! refusal the spec requires and the implementation does not make), or
//! [`Cause::Unexplained`].
//!
//! The cause is read from facts of the failure — the op, its arguments, the
//! expected and answered values at the first difference, whether it was an
//! error, and what localisation found (a §11 witness, newline translation) —
//! never from lists of case ids. A report's summary starts with the table of
//! causes and their case counts ([`tally`]).

use serde::Serialize;
use serde_json::Value;

use super::case::{as_array, as_int, unhex, Case};
use super::compare::{CaseResult, Status};
use super::localize::Finding;
use super::ops::Context;
use crate::container::{read_file, ContainerError, OuterHeader, ReadLimits};
use crate::error::Error;
use crate::pipeline::{decompress_with, DecompressOptions};

/// One cause of failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// §11 row 1: `udiv_rne_tte_u32` / `div_rne_tte_s32` round up when d is
    /// odd and the remainder is (d−1)/2 (also RMSNorm at ⌊Σx²/D⌋ = 9482).
    UdivRoundsUp,
    /// §11 rows 2 and 4: clamp to −128..127.
    ClampMinus128,
    /// §11 row 3: a 32-bit attention accumulator wraps.
    AccumulatorWraps,
    /// §11 row 6: no compression levels (64-token chunks only).
    NoLevels,
    /// §11 row 9: outer header fields beyond magic/codec not validated.
    OuterHeaderNotValidated,
    /// §11 row 10: `ℓ − M` of the frequency table on logits spanning ≥ 2^31.
    FreqTableSpan,
    /// §11 row 11: division by zero raises instead of returning 0.
    DivisionByZeroRaises,
    /// The RoPE table for θ = 0 raises (spec §2 silent; the reference answers
    /// as upstream Rust).
    RopeThetaZeroRaises,
    /// upstream-python-api.md: the command line reads text with newline translation.
    NewlineTranslation,
    /// upstream-python-api.md: the command line refuses literal `<|bos|>` / `<|eos|>`.
    RefusesSpecialTokens,
    /// upstream-python-api.md: the command line crashes on empty input.
    CrashOnEmptyInput,
    /// A coder table that cannot code the symbol is accepted (§7 refusal missing).
    CoderTableNotValidated,
    /// A frequency-table target total below the vocabulary is accepted (§6 refusal missing).
    FreqTotalNotValidated,
    /// A file with a malformed inner header or chunk data is decoded (§9 refusal missing).
    PayloadNotValidated,
    /// A file that decodes to bytes that are not UTF-8 is accepted (§9 refusal missing).
    DecodedTextNotChecked,
    /// Chunk bytes that are not the encoding of the tokens decoded from them
    /// are accepted (the reference's re-encoding check; e.g. "" for 0 tokens).
    ChunkBytesNotChecked,
    /// None of the above.
    Unexplained,
}

impl Cause {
    /// Every cause, in the order reports list them.
    pub const ALL: [Cause; 17] = [
        Cause::UdivRoundsUp,
        Cause::ClampMinus128,
        Cause::AccumulatorWraps,
        Cause::NoLevels,
        Cause::OuterHeaderNotValidated,
        Cause::FreqTableSpan,
        Cause::DivisionByZeroRaises,
        Cause::RopeThetaZeroRaises,
        Cause::NewlineTranslation,
        Cause::RefusesSpecialTokens,
        Cause::CrashOnEmptyInput,
        Cause::CoderTableNotValidated,
        Cause::FreqTotalNotValidated,
        Cause::PayloadNotValidated,
        Cause::DecodedTextNotChecked,
        Cause::ChunkBytesNotChecked,
        Cause::Unexplained,
    ];

    /// The report's name for the cause, with where it is documented.
    pub fn label(self) -> &'static str {
        match self {
            Cause::UdivRoundsUp => "udiv rounds up (§11 row 1)",
            Cause::ClampMinus128 => "clamp to −128 (§11 rows 2, 4)",
            Cause::AccumulatorWraps => "attention accumulator wraps at 2^31 (§11 row 3)",
            Cause::NoLevels => "no compression levels (§11 row 6)",
            Cause::OuterHeaderNotValidated => "outer header not validated (§11 row 9)",
            Cause::FreqTableSpan => "ℓ − M exact on logits spanning 2^31 (§11 row 10)",
            Cause::DivisionByZeroRaises => "division by zero raises (§11 row 11)",
            Cause::RopeThetaZeroRaises => "RoPE table for θ = 0 raises (spec silent)",
            Cause::NewlineTranslation => "newline translation on input (upstream-python-api)",
            Cause::RefusesSpecialTokens => "refuses literal <|bos|>/<|eos|> (upstream-python-api)",
            Cause::CrashOnEmptyInput => "crash on empty input (upstream-python-api)",
            Cause::CoderTableNotValidated => "coder table not validated (§7 refusal missing)",
            Cause::FreqTotalNotValidated => "frequency-table total not validated (§6 refusal missing)",
            Cause::PayloadNotValidated => "inner header / chunk data not validated (§9 refusal missing)",
            Cause::DecodedTextNotChecked => "decoded text not checked for UTF-8 (§9 refusal missing)",
            Cause::ChunkBytesNotChecked => "chunk bytes not checked against their re-encoding",
            Cause::Unexplained => "unexplained",
        }
    }

    /// The cause a §11 witness (a `divergence:` tag name) stands for.
    pub fn of_witness(tag: &str) -> Option<Cause> {
        match tag {
            "udiv_round_half_up" => Some(Cause::UdivRoundsUp),
            "clamp_minus_128" => Some(Cause::ClampMinus128),
            "i32_accumulator" => Some(Cause::AccumulatorWraps),
            _ => None,
        }
    }
}

/// One row of a report's cause table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CauseCount {
    pub cause: Cause,
    pub label: &'static str,
    pub cases: usize,
}

/// The cause table of `causes` (one per failure): every cause that occurs,
/// in [`Cause::ALL`] order.
pub fn tally(causes: impl IntoIterator<Item = Cause>) -> Vec<CauseCount> {
    let mut n = [0usize; Cause::ALL.len()];
    for c in causes {
        n[c as usize] += 1;
    }
    Cause::ALL.iter().zip(n).filter(|(_, k)| *k > 0).map(|(&cause, cases)| CauseCount { cause, label: cause.label(), cases }).collect()
}

/// The cause of one failed case, from the case, its result and what
/// localisation found (`findings` may be empty). `ctx` gives the models and
/// Whether the first departing value is −128 where −127 is expected (a
/// clamp to −128..127: §11 rows 2 and 4).
fn clamped_to_minus_128(result: &CaseResult) -> bool {
    result.divergence.as_ref().is_some_and(|d| d.actual.first().and_then(as_int) == Some(-128) && d.expected.first().and_then(as_int) == Some(-127))
}

/// texts the case names.
pub fn classify(ctx: &Context, case: &Case, result: &CaseResult, findings: &[Finding]) -> Cause {
    debug_assert_eq!(result.status, Status::Fail);
    let must_refuse = case.expect.get("error") == Some(&Value::Bool(true));
    if must_refuse {
        return refusal_missing(ctx, case);
    }
    if let Some(c) = of_findings(findings) {
        return c;
    }
    let arg = |k: &str| case.args.get(k).and_then(as_int);
    let answered = result.divergence.is_some();
    // Whatever the op: its first departure is −128 where the one clamp gives −127.
    if clamped_to_minus_128(result) {
        return Cause::ClampMinus128;
    }
    match case.op.as_str() {
        "udiv_rne_tte_u32" | "div_rne_tte_s32" | "div_rne_tte_s64_to_s32" => {
            let (Some(n), Some(d)) = (arg("n"), arg("d")) else { return Cause::Unexplained };
            if d == 0 && !answered {
                return Cause::DivisionByZeroRaises;
            }
            let (e, a) = scalar_pair(result);
            let half_remainder = d % 2 != 0 && n.abs() % d.abs() == (d.abs() - 1) / 2;
            match (e, a) {
                (Some(e), Some(a)) if half_remainder && a.abs() == e.abs() + 1 && (a.signum() == e.signum() || e == 0) => Cause::UdivRoundsUp,
                _ => Cause::Unexplained,
            }
        }
        "rmsnorm" => {
            let Some(x) = case.args.get("x").and_then(as_array) else { return Cause::Unexplained };
            let ms = x.iter().map(|&v| (v * v) as u64).sum::<u64>() / x.len().max(1) as u64;
            if super::witness::rms_inverse_differs(ms) {
                Cause::UdivRoundsUp
            } else {
                Cause::Unexplained
            }
        }
        "freq_table" => {
            let Some(l) = case.args.get("logits").and_then(as_array) else { return Cause::Unexplained };
            let (lo, hi) = (l.iter().min().copied().unwrap_or(0), l.iter().max().copied().unwrap_or(0));
            if answered && i128::from(hi) - i128::from(lo) >= 1 << 31 {
                Cause::FreqTableSpan
            } else {
                Cause::Unexplained
            }
        }
        "attention" if answered => attention_replay(case, result).unwrap_or(Cause::Unexplained),
        "rope_table" if !answered && arg("theta_q16") == Some(0) => Cause::RopeThetaZeroRaises,
        "chunk_encode" | "chunk_decode" if answered => chunk_witness(ctx, case, result).unwrap_or(Cause::Unexplained),
        "compress" if !answered => {
            let text = ctx.text(&case.args["text"]).unwrap_or_default();
            if text.is_empty() {
                Cause::CrashOnEmptyInput
            } else if contains(&text, b"<|bos|>") || contains(&text, b"<|eos|>") {
                Cause::RefusesSpecialTokens
            } else {
                Cause::Unexplained
            }
        }
        "compress" => {
            // A chunk length other than the level's: the implementation has no levels.
            let other_k = findings.iter().any(|f| matches!(f, Finding::HeaderField { field: "context_length_log2", .. }));
            if other_k {
                Cause::NoLevels
            } else {
                Cause::Unexplained
            }
        }
        _ => Cause::Unexplained,
    }
}

/// The cause localisation names, if any: newline translation first (the
/// chunks were then compared with the translated text), else the earliest
/// §11 witness.
pub fn of_findings(findings: &[Finding]) -> Option<Cause> {
    if findings.iter().any(|f| matches!(f, Finding::NewlineTranslation)) {
        return Some(Cause::NewlineTranslation);
    }
    findings.iter().find_map(|f| match f {
        Finding::Witness { tag, .. } => Cause::of_witness(tag),
        _ => None,
    })
}

/// The §11 departure of the attention step that gives the answered values
/// at the first difference, found by replaying the op's arguments with each
/// departure ([`AttentionVariant`]): a 32-bit accumulator (row 3), the
/// −128..127 clamp (rows 2, 4).
fn attention_replay(case: &Case, result: &CaseResult) -> Option<Cause> {
    use crate::model::attention::AttentionVariant;
    let d = result.divergence.as_ref()?;
    // `out[step][element]`
    let mut idx = d.path.strip_prefix("out[")?.trim_end_matches(']').split("][").map(str::parse::<usize>);
    let (step, at) = (idx.next()?.ok()?, idx.next()?.ok()?);
    [(AttentionVariant::WRAP32, Cause::AccumulatorWraps), (AttentionVariant::CLAMP_MINUS128, Cause::ClampMinus128)].into_iter().find_map(|(variant, cause)| {
        let out = super::ops::attention(&case.args, variant).ok()?;
        let row = as_array(out.get("out")?.get(step)?)?;
        let window: Vec<i128> = row.iter().skip(at).take(d.actual.len()).map(|&x| i128::from(x)).collect();
        let actual: Vec<i128> = d.actual.iter().filter_map(as_int).collect();
        (window == actual).then_some(cause)
    })
}

/// The §11 departure the reference's own forward pass over a chunk shows
/// first ([`super::witness::scan`]) — at or before the first differing token
/// of a decoded chunk (the table of position k decodes token k), anywhere in
/// an encoded one (a byte does not name its token).
fn chunk_witness(ctx: &Context, case: &Case, result: &CaseResult) -> Option<Cause> {
    let model = ctx.model(case.args.get("model")?.as_str()?).ok()?;
    let (tokens, upto) = if case.op == "chunk_decode" {
        let tokens = as_array(case.expect.get("tokens")?)?;
        let first = result.divergence.as_ref().and_then(|d| d.index).unwrap_or(tokens.len());
        (tokens, first)
    } else {
        let tokens = as_array(case.args.get("tokens")?)?;
        let last = tokens.len().saturating_sub(1);
        (tokens, last)
    };
    let tokens: Vec<u32> = tokens.iter().map(|&t| u32::try_from(t).ok()).collect::<Option<_>>()?;
    super::witness::scan(&model, &tokens, upto.min(tokens.len().saturating_sub(1))).first().and_then(|w| Cause::of_witness(w.tag))
}

/// Expected and answered integers at a scalar difference.
fn scalar_pair(result: &CaseResult) -> (Option<i128>, Option<i128>) {
    let d = result.divergence.as_ref();
    (d.and_then(|d| d.expected.first()).and_then(as_int), d.and_then(|d| d.actual.first()).and_then(as_int))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A case that must be refused was accepted: which refusal is missing, from
/// the op and (for files) the reference's own reason to refuse it.
fn refusal_missing(ctx: &Context, case: &Case) -> Cause {
    match case.op.as_str() {
        "coder_encode" | "coder_decode" => Cause::CoderTableNotValidated,
        "freq_table" => Cause::FreqTotalNotValidated,
        "chunk_decode" => Cause::ChunkBytesNotChecked,
        "decompress" => {
            let Some(bytes) = case.args.get("file_hex").and_then(Value::as_str).and_then(unhex) else { return Cause::Unexplained };
            decompress_refusal(ctx, case, &bytes)
        }
        _ => Cause::Unexplained,
    }
}

/// Why the reference refuses a file: a field of the outer header (§11 row 9),
/// the inner header or chunk data, or the decoded text.
fn decompress_refusal(ctx: &Context, case: &Case, bytes: &[u8]) -> Cause {
    use ContainerError as C;
    let outer = |e: &C| {
        matches!(e, C::FileTooShort { .. } | C::BadMagic { .. } | C::UnknownFlags { .. } | C::MultifileUnsupported { .. } | C::UnknownCodec { .. })
            || matches!(e, C::HeaderLenTooSmall { .. } | C::HeaderLenOdd { .. } | C::HeaderLenMismatch { .. })
            // uncompressed_len (an outer field) against the payload: its cap and its chunks
            || matches!(e, C::PayloadTooLarge { .. } | C::TextWithoutChunks { .. } | C::ChunksWithoutText { .. } | C::MoreTokensThanBytes { .. })
    };
    if OuterHeader::parse(bytes).is_err() {
        return Cause::OuterHeaderNotValidated;
    }
    if let Err(e) = read_file(bytes, &ReadLimits::default()) {
        return if outer(&e) { Cause::OuterHeaderNotValidated } else { Cause::PayloadNotValidated };
    }
    let name = case.args.get("model").and_then(Value::as_str).unwrap_or("v001");
    let Ok(model) = ctx.model(name) else { return Cause::Unexplained };
    match decompress_with(&model, bytes, &DecompressOptions::SPEC_LITERAL, None) {
        Err(Error::DecodedLengthMismatch { .. }) => Cause::OuterHeaderNotValidated, // uncompressed_len is an outer field
        Err(Error::DecodedNotUtf8 { .. }) => Cause::DecodedTextNotChecked,
        Err(Error::Container(e)) if outer(&e) => Cause::OuterHeaderNotValidated,
        Err(_) => Cause::PayloadNotValidated,
        Ok(_) => Cause::Unexplained,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::compare::judge;
    use crate::conformance::ops::Outcome;
    use serde_json::json;

    fn case(op: &str, args: Value, expect: Value) -> Case {
        serde_json::from_value(json!({"id": "t", "op": op, "spec": "§1", "args": args, "expect": expect})).unwrap()
    }

    fn ctx() -> Context {
        Context::new("../shared/models".into(), "vectors".into(), "../shared/golden/corpus".into())
    }

    fn cause_of(c: &Case, answer: Outcome, findings: &[Finding]) -> Cause {
        let r = judge(c, &answer);
        assert_eq!(r.status, Status::Fail, "{r:?}");
        classify(&ctx(), c, &r, findings)
    }

    #[test]
    fn the_cause_table_reads_facts_not_ids() {
        let udiv = |n: i64, d: i64| case("udiv_rne_tte_u32", json!({"n": n, "d": d}), json!({"result": n.checked_div(d).unwrap_or(0)}));
        let div = |n: i64, d: i64, e: i64| case("div_rne_tte_s32", json!({"n": n, "d": d}), json!({"result": e}));
        let result = |v: i64| Outcome::Result(json!({"result": v}));
        // §11 row 1: d odd, remainder (d−1)/2, magnitude one larger (d = 1 included: r = 0 = (1−1)/2).
        assert_eq!(cause_of(&udiv(1_000_000, 3), result(333_334), &[]), Cause::UdivRoundsUp);
        assert_eq!(cause_of(&udiv(0, 1), result(1), &[]), Cause::UdivRoundsUp);
        assert_eq!(cause_of(&div(-12, 5, -2), result(-3), &[]), Cause::UdivRoundsUp);
        assert_eq!(cause_of(&div(1, -3, 0), result(-1), &[]), Cause::UdivRoundsUp);
        // Another wrong quotient is not that row.
        assert_eq!(cause_of(&udiv(10, 4), result(3), &[]), Cause::Unexplained);
        assert_eq!(cause_of(&udiv(1_000_000, 3), result(333_335), &[]), Cause::Unexplained);
        // §11 row 11: raising on zero; answering a wrong value on zero is not.
        assert_eq!(cause_of(&udiv(5, 0), Outcome::Error("ValueError: Division by zero".into()), &[]), Cause::DivisionByZeroRaises);
        assert_eq!(cause_of(&udiv(5, 0), result(7), &[]), Cause::Unexplained);
        // Clamp: −128 where −127 is expected.
        let clamp = case("clamp_i8", json!({"x": -300}), json!({"result": -127}));
        assert_eq!(cause_of(&clamp, result(-128), &[]), Cause::ClampMinus128);
        assert_eq!(cause_of(&clamp, result(-126), &[]), Cause::Unexplained);
        // ℓ − M: logits spanning 2^31.
        let ft = |logits: Value| case("freq_table", json!({"logits": logits, "coef_q24": 1000, "total": 1024}), json!({"cum": [1, 2, 3]}));
        assert_eq!(cause_of(&ft(json!([100, 0, -2147483648])), Outcome::Result(json!({"cum": [1, 2, 4]})), &[]), Cause::FreqTableSpan);
        assert_eq!(cause_of(&ft(json!([100, 0, -5])), Outcome::Result(json!({"cum": [1, 2, 4]})), &[]), Cause::Unexplained);
        // RoPE with θ = 0 (spec silent): raising is that cause, a wrong table is not.
        let rope = |theta: i64| case("rope_table", json!({"rows": 1, "theta_q16": theta}), json!({"cos": [32767], "sin": [0]}));
        let raised = || Outcome::Error("ZeroDivisionError: float division by zero".into());
        assert_eq!(cause_of(&rope(0), raised(), &[]), Cause::RopeThetaZeroRaises);
        assert_eq!(cause_of(&rope(0), Outcome::Result(json!({"cos": [1], "sin": [0]})), &[]), Cause::Unexplained);
        assert_eq!(cause_of(&rope(65536), raised(), &[]), Cause::Unexplained);
        // A decoded chunk that departs where the reference's forward pass
        // has an RMSNorm with ⌊Σx²/D⌋ = 9482 before the first differing token
        // (fuzzing the public Python package found it).
        let chunk = case("chunk_decode", json!({"model": "v001", "bytes_hex": "1f3e20a73e", "n": 6}), json!({"tokens": [224, 185, 132, 224, 178, 376]}));
        assert_eq!(cause_of(&chunk, Outcome::Result(json!({"tokens": [224, 185, 132, 224, 178, 325]})), &[]), Cause::UdivRoundsUp);
        let chunk = case("chunk_decode", json!({"model": "v001", "bytes_hex": "00", "n": 2}), json!({"tokens": [17, 18]}));
        assert_eq!(cause_of(&chunk, Outcome::Result(json!({"tokens": [17, 19]})), &[]), Cause::Unexplained);
        // Missing refusals, by op.
        let reject = |op: &str, args: Value| case(op, args, json!({"error": true}));
        let accepted = || Outcome::Result(json!({"bytes_hex": "00"}));
        assert_eq!(cause_of(&reject("coder_encode", json!({"cum": [5, 5, 10], "symbols": [1]})), accepted(), &[]), Cause::CoderTableNotValidated);
        assert_eq!(cause_of(&reject("freq_table", json!({"logits": [1, 2, 3], "coef_q24": 1, "total": 3})), accepted(), &[]), Cause::FreqTotalNotValidated);
        let empty_chunk = reject("chunk_decode", json!({"model": "v001", "bytes_hex": "", "n": 0}));
        assert_eq!(cause_of(&empty_chunk, Outcome::Result(json!({"tokens": []})), &[]), Cause::ChunkBytesNotChecked);
        let flags = "435a4950763180017a01000012000000";
        assert_eq!(cause_of(&reject("decompress", json!({"model": "v001", "file_hex": flags})), accepted(), &[]), Cause::OuterHeaderNotValidated);
        // Localisation findings name file and model causes.
        let logits = case("model_logits", json!({"model": "v001", "tokens": [1], "positions": [0]}), json!({"logits": [[1]]}));
        let w = Finding::Witness { chunk: Some(45), position: 31, tag: "udiv_round_half_up", what: String::new() };
        let ans = Outcome::Result(json!({"logits": [[2]]}));
        assert_eq!(cause_of(&logits, ans.clone(), &[w]), Cause::UdivRoundsUp);
        assert_eq!(cause_of(&logits, ans.clone(), &[Finding::NewlineTranslation]), Cause::NewlineTranslation);
        assert_eq!(cause_of(&logits, ans, &[Finding::NoTrace]), Cause::Unexplained);
    }

    #[test]
    fn tally_counts_in_table_order() {
        let t = tally([Cause::Unexplained, Cause::DivisionByZeroRaises, Cause::UdivRoundsUp, Cause::UdivRoundsUp]);
        let rows: Vec<(String, usize)> = t.iter().map(|r| (r.label.to_string(), r.cases)).collect();
        assert_eq!(
            rows,
            [("udiv rounds up (§11 row 1)".to_string(), 2), ("division by zero raises (§11 row 11)".to_string(), 1), ("unexplained".to_string(), 1)]
        );
        assert_eq!(serde_json::to_value(&t[0]).unwrap(), json!({"cause": "udiv_rounds_up", "label": "udiv rounds up (§11 row 1)", "cases": 2}));
        for (i, c) in Cause::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i, "ALL is in declaration order");
        }
    }
}
