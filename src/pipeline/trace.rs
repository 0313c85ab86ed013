//! What the model pays for each token: the frequency `f` the coder gives the
//! coded token (spec §6) out of the table's total `T`, i.e. `−log2(f/T)`
//! bits, and the model's most probable tokens at that position.
//!
//! This is its own walk over the engine's calls — the batched prefill of
//! [`ChunkCoder::encode`](super::ChunkCoder::encode) ([`BatchForward`], blocks
//! of [`PREFILL_ROWS`] positions) and the frequencies of [`build_freqs`] —
//! so the compress path carries no observer and pays nothing for it. The
//! numbers are those of the real tables: the arithmetic coder (§7) spends
//! `Σ −log2(f/T)` bits on a chunk plus at most the finish's bit and padding
//! and the integer rounding of its interval updates (`tests/integration/trace.rs`
//! checks each chunk's sum against its coded bytes).
//!
//! [`TextTrace`] gathers what `czip trace` shows: the costs, the real coded
//! chunk bytes (the encoder's own output, or a file's chunks) and the size
//! of the whole file.

use super::{map_in_order, read_for_model, text_from_tokens, write_encoded, CompressOptions, DecompressOptions, Engine, PREFILL_ROWS};
use crate::coder::CoderError;
use crate::container::CzipFile;
use crate::error::{ChunkFailure, Error};
use crate::freq_table::build_freqs;
use crate::model::{BatchForward, Kernel};
use crate::Model;

/// How many of the model's most probable tokens a [`TokenCost`] keeps.
pub const TOP_K: usize = 5;

/// One coded token and what the table that codes it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenCost {
    pub chunk: u32,
    /// 0-based position within the chunk.
    pub position: u32,
    pub token: u32,
    /// `f_token` of the §6 table at this position (argmax correction
    /// included), `1 <= freq < T`.
    pub freq: u32,
    /// The [`TOP_K`] tokens of highest frequency there, `(id, freq)`,
    /// highest first, the lower id first among equal frequencies.
    pub top: [(u32, u32); TOP_K],
}

impl TokenCost {
    /// `−log2(freq / total)`: the ideal code length of this token, in bits.
    pub fn bits(&self, total: u32) -> f64 {
        (f64::from(total) / f64::from(self.freq)).log2()
    }
}

/// A text's trace: per-chunk token costs and the coded sizes they explain.
#[derive(Debug, Clone, PartialEq)]
pub struct TextTrace {
    /// k of K = 2^k tokens per chunk.
    pub chunk_log2: u8,
    /// T, the total of every table (the model's `target_total`).
    pub total: u32,
    /// The text (for a file: its decoded text).
    pub text: Vec<u8>,
    /// Each chunk's token costs, in chunk and position order.
    pub chunks: Vec<Vec<TokenCost>>,
    /// Each chunk's coded bytes (the arithmetic coder's output, as in the file).
    pub chunk_bytes: Vec<usize>,
    /// Bytes of the whole CZIPv1 file (headers and outer codec included).
    pub file_bytes: usize,
}

impl TextTrace {
    pub fn token_count(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    /// Sum of the coded chunk bytes (no headers, no outer codec).
    pub fn coded_bytes(&self) -> usize {
        self.chunk_bytes.iter().sum()
    }

    /// `Σ bits` of chunk `c` (0 for a chunk index out of range; a fold
    /// from +0, since an empty f64 `sum` is −0).
    pub fn chunk_bits(&self, c: usize) -> f64 {
        self.chunks.get(c).map_or(0.0, |ch| ch.iter().fold(0.0, |a, t| a + t.bits(self.total)))
    }
}

impl Engine {
    /// The costs of `tokens` cut in chunks of `2^chunk_log2` (each chunk
    /// coded independently, spec §8), chunk by chunk in order; chunks run in
    /// parallel on this engine's pool and the result never depends on it.
    pub fn trace_tokens(&self, model: &Model, tokens: &[u32], chunk_log2: u8) -> Result<Vec<Vec<TokenCost>>, Error> {
        let chunk_len = 1usize << chunk_log2;
        let kernel = self.kernel();
        self.install(|| {
            map_in_order(
                tokens.len().div_ceil(chunk_len),
                || Walker::new(model, kernel, chunk_len),
                |w, index| {
                    let chunk = &tokens[index * chunk_len..((index + 1) * chunk_len).min(tokens.len())];
                    w.chunk(index, chunk)
                        .map_err(|(position, detail)| Error::Chunk { chunk: index, position: Some(position), detail, hint: String::new() })
                },
            )
        })
    }

    /// The trace of compressing `text` with `opts` (chunk length `None` = the
    /// model's capacity): its coded chunks are [`encode_chunks`](Self::encode_chunks)'s
    /// own and the file size is that of [`write_encoded`]'s file, i.e. what
    /// [`compress`](Self::compress) writes.
    pub fn trace_text(&self, model: &Model, text: &[u8], opts: &CompressOptions) -> Result<TextTrace, Error> {
        let encoded = self.encode_chunks(model, text, opts.chunk_log2, None)?;
        let file = write_encoded(model, &encoded, opts)?;
        // encode_chunks checked the text is UTF-8.
        let s = std::str::from_utf8(text).map_err(|e| Error::InputNotUtf8 { valid_up_to: e.valid_up_to() })?;
        let tokens = model.tokenizer().encode(s)?;
        Ok(TextTrace {
            chunk_log2: encoded.chunk_log2,
            total: model.target_total(),
            text: text.to_vec(),
            chunks: self.trace_tokens(model, &tokens, encoded.chunk_log2)?,
            chunk_bytes: encoded.chunks.iter().map(Vec::len).collect(),
            file_bytes: file.len(),
        })
    }

    /// The trace of a CZIPv1 file: decoded and checked as
    /// [`decompress_with`](Self::decompress_with) does, then its decoded
    /// tokens traced with the file's own chunk length.
    pub fn trace_file(&self, model: &Model, bytes: &[u8], opts: &DecompressOptions) -> Result<TextTrace, Error> {
        let file: CzipFile = read_for_model(model, bytes, opts)?;
        let chunks = self.decode_file(model, &file, None)?;
        let text = text_from_tokens(model, &file, &chunks)?;
        let k = file.inner.chunk_log2();
        let tokens: Vec<u32> = chunks.iter().flatten().copied().collect();
        Ok(TextTrace {
            chunk_log2: k,
            total: model.target_total(),
            text,
            chunks: self.trace_tokens(model, &tokens, k)?,
            chunk_bytes: file.chunks().map(<[u8]>::len).collect(),
            file_bytes: bytes.len(),
        })
    }
}

/// One worker's state: a batched forward pass and its buffers, reused for
/// every chunk it traces.
struct Walker<'m> {
    model: &'m Model,
    batch: BatchForward,
    logits: Vec<i32>,
    freq: Vec<u32>,
}

impl<'m> Walker<'m> {
    fn new(model: &'m Model, kernel: Kernel, chunk_len: usize) -> Self {
        let v = model.config().vocab_size;
        Walker {
            model,
            batch: BatchForward::new(model, kernel, PREFILL_ROWS, chunk_len, 1),
            logits: vec![0; PREFILL_ROWS * v],
            freq: vec![0; v],
        }
    }

    /// The costs of one chunk; on failure the position and why.
    fn chunk(&mut self, index: usize, tokens: &[u32]) -> Result<Vec<TokenCost>, (usize, ChunkFailure)> {
        let m = self.model;
        let (v, bos) = (m.config().vocab_size, m.config().bos);
        if let Some(bad) = tokens.iter().position(|&t| t as usize >= v) {
            let symbol = tokens[bad] as usize;
            return Err((bad, ChunkFailure::Coder(CoderError::SymbolOutOfRange { symbol, vocab: v })));
        }
        self.batch.reset_slot(0);
        let mut out = Vec::with_capacity(tokens.len());
        let mut rows = [(0usize, 0u32); PREFILL_ROWS];
        for (b, block) in tokens.chunks(PREFILL_ROWS).enumerate() {
            let start = b * PREFILL_ROWS;
            for (i, row) in rows[..block.len()].iter_mut().enumerate() {
                let p = start + i;
                *row = (0, if p == 0 { bos } else { tokens[p - 1] });
            }
            self.batch.forward(m, &rows[..block.len()], &mut self.logits).map_err(|e| (start, ChunkFailure::Step(e)))?;
            for (i, &t) in block.iter().enumerate() {
                build_freqs(self.batch.kernel(), &self.logits[i * v..(i + 1) * v], m.coef_q24(), m.target_total(), &m.packed().exp2, &mut self.freq)
                    .map_err(|e| (start + i, ChunkFailure::FreqTable(e)))?;
                out.push(TokenCost {
                    chunk: index as u32,
                    position: (start + i) as u32,
                    token: t,
                    freq: self.freq[t as usize],
                    top: top_k(&self.freq),
                });
            }
        }
        Ok(out)
    }
}

/// The [`TOP_K`] entries of highest frequency, `(id, freq)`, highest first,
/// the lower id first among equals (fewer than `TOP_K` entries: padded with
/// `(0, 0)`).
fn top_k(freq: &[u32]) -> [(u32, u32); TOP_K] {
    let mut top = [(0u32, 0u32); TOP_K];
    for (j, &f) in freq.iter().enumerate() {
        // Strictly greater than the smallest kept: a later equal id never
        // displaces an earlier one.
        if f <= top[TOP_K - 1].1 {
            continue;
        }
        let mut i = TOP_K - 1;
        while i > 0 && top[i - 1].1 < f {
            top[i] = top[i - 1];
            i -= 1;
        }
        top[i] = (j as u32, f);
    }
    top
}

#[cfg(test)]
mod tests {
    use super::top_k;

    #[test]
    fn top_k_is_highest_first_lower_id_first_on_ties() {
        assert_eq!(top_k(&[3, 9, 9, 1, 7, 9, 2]), [(1, 9), (2, 9), (5, 9), (4, 7), (0, 3)]);
        assert_eq!(top_k(&[4, 5]), [(1, 5), (0, 4), (0, 0), (0, 0), (0, 0)]);
    }
}
