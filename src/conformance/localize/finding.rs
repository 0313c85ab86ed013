//! What localisation found, as data. A report renders each finding with its
//! [`Display`](std::fmt::Display) text (the `localisation` lines of
//! `report.json` and `report.md`); code that needs to pick findings (e.g. the
//! one-line summaries of `score`) matches on the variant, never on the text.

use std::fmt;

use serde_json::Value;

use crate::conformance::compare::Divergence;

/// One step of localising a failed case.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// The file's `uncompressed_len` is not the text's length.
    UncompressedLen { file: u32, text: u32 },
    /// An inner header field differs from the reference's.
    HeaderField { field: &'static str, file: u64, reference: u64 },
    /// The first 16 bytes (outer header) differ from the reference's.
    OuterHeader,
    /// The file codes the text with CR and CRLF translated to LF.
    NewlineTranslation,
    /// The file is not a valid container at all.
    NotAContainer { error: String },
    /// Every chunk equals the reference's.
    ChunksIdentical,
    /// The first chunk that differs; `position` is the first token position
    /// where decoding it with the reference departs from the text's tokens.
    Chunk { index: usize, of: usize, position: Option<usize> },
    /// The earliest known-divergence witness in the reference's computation
    /// (`chunk` when the history is a chunk of a file).
    Witness { chunk: Option<usize>, position: usize, tag: &'static str, what: String },
    /// The position of a failed `model_logits` case in its token history.
    Position { position: usize },
    /// The implementation's logits at a chunk position, against the reference's
    /// (`divergence` is `None` when they agree).
    Logits { chunk: usize, position: usize, divergence: Option<Divergence> },
    /// The first differing layer output (`model_trace`): `path` starts with `stage`.
    Layer { layer: usize, stage: String, path: String, expected: Vec<Value>, actual: Vec<Value> },
    /// Every layer output agrees.
    LayersAgree,
    /// The implementation does not answer `model_trace`.
    NoTrace,
    /// `op` did not answer a result on one side.
    OneSideFailed { op: &'static str },
    /// The reference decodes the file back to the text.
    DecodesBack,
    /// The reference decodes the file to another text of `bytes` bytes.
    DecodesToOther { bytes: usize },
    /// The reference refuses the file.
    DecodeFailure { error: String },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::UncompressedLen { file, text } => write!(f, "uncompressed_len: {file} in the file, the text has {text} bytes"),
            Finding::HeaderField { field, file, reference } => write!(f, "{field}: {file} in the file, {reference} in the reference"),
            Finding::OuterHeader => write!(f, "outer header differs from the reference"),
            Finding::NewlineTranslation => write!(
                f,
                "the file codes the text with CR and CRLF translated to LF; the chunks are compared with the reference's coding of that text"
            ),
            Finding::NotAContainer { error } => write!(f, "the file is not a valid CZIPv1 container: {error}"),
            Finding::ChunksIdentical => write!(f, "every chunk is identical; the difference is in the inner header"),
            Finding::Chunk { index, of, position: Some(p) } => {
                write!(f, "chunk {index} of {of}: decoding it with the reference departs from the text's tokens at token position {p}")
            }
            Finding::Chunk { index, of, position: None } => write!(f, "chunk {index} of {of}: its bytes differ"),
            Finding::Witness { chunk: Some(c), position, what, .. } => write!(f, "reference witness at chunk {c} position {position}: {what}"),
            Finding::Witness { chunk: None, position, what, .. } => write!(f, "reference witness at position {position}: {what}"),
            Finding::Position { position } => write!(f, "position {position} of the token history"),
            Finding::Logits { chunk, position, divergence: Some(d) } => write!(
                f,
                "logits at chunk {chunk} position {position}: first difference at {} (expected {}, got {})",
                d.path,
                Value::Array(d.expected.clone()),
                Value::Array(d.actual.clone())
            ),
            Finding::Logits { chunk, position, divergence: None } => {
                write!(f, "logits at chunk {chunk} position {position} agree: the difference is in the frequency table or the coder")
            }
            Finding::Layer { layer, path, expected, actual, .. } => write!(
                f,
                "first differing layer output: layers.{layer}.{path} (expected {}, got {})",
                Value::Array(expected.clone()),
                Value::Array(actual.clone())
            ),
            Finding::LayersAgree => write!(f, "every layer output agrees; the difference is in the final norm or head"),
            Finding::NoTrace => write!(f, "the implementation does not answer model_trace, so the layer cannot be localised"),
            Finding::OneSideFailed { op } => write!(f, "{op} failed on one side"),
            Finding::DecodesBack => write!(f, "the reference decodes it back to the text"),
            Finding::DecodesToOther { bytes } => write!(f, "the reference decodes it to a different text ({bytes} bytes)"),
            Finding::DecodeFailure { error } => write!(f, "the reference cannot decode it: {error}"),
        }
    }
}

/// The report lines of `findings`, in order.
pub fn render(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(ToString::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_report_wording() {
        let cases = [
            (Finding::Chunk { index: 2, of: 5, position: Some(17) }, "chunk 2 of 5: decoding it with the reference departs from the text's tokens at token position 17"),
            (Finding::Chunk { index: 0, of: 1, position: None }, "chunk 0 of 1: its bytes differ"),
            (
                Finding::Witness { chunk: Some(0), position: 513, tag: "t", what: "attention x".into() },
                "reference witness at chunk 0 position 513: attention x",
            ),
            (Finding::Witness { chunk: None, position: 4, tag: "t", what: "w".into() }, "reference witness at position 4: w"),
            (Finding::UncompressedLen { file: 3, text: 4 }, "uncompressed_len: 3 in the file, the text has 4 bytes"),
            (Finding::HeaderField { field: "chunk_count", file: 1, reference: 2 }, "chunk_count: 1 in the file, 2 in the reference"),
            (
                Finding::Layer { layer: 1, stage: "qkv".into(), path: "qkv[3]".into(), expected: vec![1.into()], actual: vec![2.into()] },
                "first differing layer output: layers.1.qkv[3] (expected [1], got [2])",
            ),
            (Finding::OneSideFailed { op: "model_trace" }, "model_trace failed on one side"),
            (Finding::DecodesToOther { bytes: 9 }, "the reference decodes it to a different text (9 bytes)"),
        ];
        for (finding, text) in cases {
            assert_eq!(finding.to_string(), text);
        }
    }
}
