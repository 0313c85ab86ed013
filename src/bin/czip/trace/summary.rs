//! The numbers under a trace: sizes, bits per token and ratios of the CZIP
//! file, its coded chunks, the entropy estimate, a naive 10 bits/token code
//! and the general-purpose compressors; and, with `--compare`, where the
//! other file departs. One [`Summary`] feeds every output format.

use czip::container::baselines::Baselines;
use czip::model::load::known_model_name;
use czip::pipeline::TextTrace;
use czip::Model;
use serde_json::{json, Value};

use super::compare::Departure;

/// Bits per token of the naive code (a 10-bit token id, no model).
pub const NAIVE_BITS: u32 = 10;

pub struct Summary {
    /// The published model's file name, or `content hash XXXXXXXX`.
    pub model: String,
    /// "text", or "czip file" when a CZIPv1 file was traced.
    pub input: &'static str,
    pub text_bytes: u64,
    pub tokens: u64,
    pub chunks: usize,
    pub chunk_tokens: usize,
    pub sum_bits: f64,
    pub coded_bytes: u64,
    pub file_bytes: u64,
    pub baselines: Baselines,
    pub departure: Option<Departure>,
}

/// One row of the size table: name, size in bytes, and what it counts.
pub struct Row {
    pub name: &'static str,
    pub key: &'static str,
    pub bytes: f64,
    pub note: &'static str,
}

impl Row {
    /// A computed size (fractional bytes), not the length of real output.
    pub fn is_estimate(&self) -> bool {
        matches!(self.key, "entropy_estimate" | "naive")
    }
}

impl Summary {
    pub fn new(model: &Model, trace: &TextTrace, baselines: Baselines, from_file: bool, departure: Option<Departure>) -> Summary {
        let hash = model.content_hash();
        Summary {
            model: known_model_name(hash).map_or_else(|| format!("content hash {hash:08x}"), String::from),
            input: if from_file { "czip file" } else { "text" },
            text_bytes: trace.text.len() as u64,
            tokens: trace.token_count() as u64,
            chunks: trace.chunks.len(),
            chunk_tokens: 1 << trace.chunk_log2,
            sum_bits: (0..trace.chunks.len()).fold(0.0, |a, c| a + trace.chunk_bits(c)),
            coded_bytes: trace.coded_bytes() as u64,
            file_bytes: trace.file_bytes as u64,
            baselines,
            departure,
        }
    }

    /// The compression level of this chunk length (64..1024 tokens), if it is one.
    pub fn level(&self) -> Option<u32> {
        let k = self.chunk_tokens.trailing_zeros();
        (6..=10).contains(&k).then(|| k - 5)
    }

    pub fn rows(&self) -> [Row; 7] {
        let b = &self.baselines;
        [
            Row { name: "czip file", key: "file", bytes: self.file_bytes as f64, note: "CZIPv1 headers + outer codec, as czip compress writes it" },
            Row { name: "coded chunks", key: "coded_chunks", bytes: self.coded_bytes as f64, note: "the arithmetic coder's output only" },
            Row { name: "entropy estimate", key: "entropy_estimate", bytes: self.sum_bits / 8.0, note: "sum of -log2(freq/total) over the tokens" },
            Row { name: "naive 10 bits/token", key: "naive", bytes: (self.tokens * u64::from(NAIVE_BITS)) as f64 / 8.0, note: "a 10-bit id per token, no model" },
            Row { name: "brotli-11", key: "brotli_11", bytes: b.brotli_11 as f64, note: "" },
            Row { name: "zstd-22", key: "zstd_22", bytes: b.zstd_22 as f64, note: "" },
            Row { name: "gzip-9", key: "gzip_9", bytes: b.gzip_9 as f64, note: "" },
        ]
    }

    /// Compressed size / text size (0 for an empty text).
    pub fn ratio(&self, bytes: f64) -> f64 {
        if self.text_bytes == 0 {
            0.0
        } else {
            bytes / self.text_bytes as f64
        }
    }

    /// 8 · bytes / tokens (0 without tokens).
    pub fn bits_per_token(&self, bytes: f64) -> f64 {
        if self.tokens == 0 {
            0.0
        } else {
            8.0 * bytes / self.tokens as f64
        }
    }

    /// The one-line description of what was traced.
    pub fn input_line(&self) -> String {
        let level = self.level().map_or_else(String::new, |l| format!(" (level {l})"));
        format!(
            "{}, {} bytes; {} tokens in {} chunk{} of K = {}{level}",
            self.input, self.text_bytes, self.tokens, self.chunks, if self.chunks == 1 { "" } else { "s" }, self.chunk_tokens
        )
    }

    /// The summary as text lines (the table, then the comparison).
    pub fn text_lines(&self) -> Vec<String> {
        let mut out = vec![format!("model   {}", self.model), format!("input   {}", self.input_line()), String::new()];
        out.push(format!("{:<20} {:>10} {:>8} {:>11}", "", "bytes", "ratio", "bits/token"));
        for r in self.rows() {
            let bytes = if r.is_estimate() { format!("{:.1}", r.bytes) } else { format!("{}", r.bytes) };
            let line = format!("{:<20} {:>10} {:>8.4} {:>11.3}   {}", r.name, bytes, self.ratio(r.bytes), self.bits_per_token(r.bytes), r.note);
            out.push(line.trim_end().to_string());
        }
        if let Some(d) = &self.departure {
            out.push(String::new());
            out.push(format!("compare {}", d.other));
            out.extend(d.lines.iter().map(|l| format!("  {l}")));
        }
        out
    }

    pub fn json(&self) -> Value {
        let rows: serde_json::Map<String, Value> = self
            .rows()
            .iter()
            .map(|r| {
                let bytes = if r.is_estimate() { json!(round6(r.bytes)) } else { json!(r.bytes as u64) };
                (r.key.to_string(), json!({"bytes": bytes, "ratio": round6(self.ratio(r.bytes)), "bits_per_token": round6(self.bits_per_token(r.bytes))}))
            })
            .collect();
        let mut v = json!({
            "model": self.model,
            "input": self.input,
            "text_bytes": self.text_bytes,
            "tokens": self.tokens,
            "chunks": self.chunks,
            "chunk_tokens": self.chunk_tokens,
            "level": self.level(),
            "sum_bits": round6(self.sum_bits),
            "sizes": rows,
        });
        if let Some(d) = &self.departure {
            v["compare"] = json!({"other": d.other, "chunk": d.chunk, "position": d.position, "localisation": d.lines});
        }
        v
    }
}

/// `x` rounded to 6 decimals: the same JSON on every platform's `log2`.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
