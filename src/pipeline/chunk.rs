//! Coding one chunk (spec §8.3): the token at chunk position i is coded with
//! the frequency table of the step `(prev = i == 0 ? BOS : chunk[i−1], i)`.
//!
//! Encoding knows every token up front, so it runs the model as a *prefill*:
//! blocks of [`PREFILL_ROWS`] consecutive positions in one batched pass
//! ([`BatchForward`]), which computes the same logits as one step at a time.
//! Decoding one chunk alone is sequential ([`ChunkCoder::decode`] steps a
//! one-row batch); the pipeline decodes many chunks in lockstep instead
//! (see [`decode_tokens`](super::decode_tokens)).

use crate::coder::{Decoder, Encoder};
use crate::error::ChunkFailure;
use crate::freq_table::{build_cumfreqs_with, build_freqs, symbol_interval};
use crate::model::{BatchForward, Kernel};
use crate::Model;
use crate::stage_timers::{self, Stage};

/// Positions per prefill pass: one 64-token chunk (level 1) is one pass;
/// longer chunks take several, each reading the caches of the previous ones.
pub const PREFILL_ROWS: usize = 64;

/// One worker: a batched forward state and the per-step buffers, reused for
/// every chunk it codes.
pub struct ChunkCoder<'m> {
    model: &'m Model,
    batch: BatchForward,
    logits: Vec<i32>,
    cum: Vec<u32>,
    /// The coding interval of each row of a prefill block, or why it has none.
    intervals: Vec<Result<(u32, u32), ChunkFailure>>,
}

impl<'m> ChunkCoder<'m> {
    /// A worker for chunks of up to `capacity` tokens, with the fastest
    /// kernel ([`Kernel::best`]).
    pub fn new(model: &'m Model, capacity: usize) -> Self {
        Self::with_kernel(model, capacity, Kernel::best())
    }

    /// Lets idle rayon workers take part of this worker's chunks (see
    /// [`BatchForward::split_rows`]); for few, long chunks.
    pub fn split_rows(mut self, split: bool) -> Self {
        self.batch = self.batch.split_rows(split);
        self
    }

    /// A worker that runs the given kernel.
    pub fn with_kernel(model: &'m Model, capacity: usize, kernel: Kernel) -> Self {
        let v = model.config().vocab_size;
        ChunkCoder {
            model,
            batch: BatchForward::new(model, kernel, PREFILL_ROWS, capacity, 1),
            logits: vec![0; PREFILL_ROWS * v],
            cum: vec![0; v],
            intervals: (0..PREFILL_ROWS).map(|_| Ok((0, 0))).collect(),
        }
    }

    /// The cumulative frequency table of the logits of batch row `row`.
    fn table(&mut self, row: usize) -> Result<&[u32], ChunkFailure> {
        let v = self.model.config().vocab_size;
        cum_table(self.model, self.batch.kernel(), &self.logits[row * v..(row + 1) * v], &mut self.cum)?;
        Ok(&self.cum)
    }

    /// The coding interval of `token` in the frequency table of the logits
    /// `logits` (one row); only the token's interval is needed, so the
    /// prefix sums are skipped. `freq` is scratch of V entries.
    fn interval(model: &Model, kernel: Kernel, logits: &[i32], token: u32, freq: &mut [u32]) -> Result<(u32, u32), ChunkFailure> {
        let v = model.config().vocab_size;
        build_freqs(kernel, logits, model.coef_q24(), model.target_total(), &model.packed().exp2, freq)
            .map_err(ChunkFailure::FreqTable)?;
        let t = token as usize;
        if t >= v {
            return Err(ChunkFailure::Coder(crate::coder::CoderError::SymbolOutOfRange { symbol: t, vocab: v }));
        }
        Ok(symbol_interval(freq, t))
    }

    /// The intervals of the block's tokens (rows `0..block.len()`), into
    /// `self.intervals`. Rows are independent: with [`split_rows`](Self::split_rows)
    /// they are computed in parallel (per-thread scratch), else in order.
    fn block_intervals(&mut self, block: &[u32]) {
        let m = self.model;
        let kernel = self.batch.kernel();
        let v = m.config().vocab_size;
        let logits = &self.logits;
        let out = &mut self.intervals[..block.len()];
        if self.batch.splits_rows() {
            use rayon::prelude::*;
            thread_local! {
                static FREQ: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
            }
            out.par_iter_mut().enumerate().for_each(|(i, iv)| {
                FREQ.with(|f| {
                    let mut f = f.borrow_mut();
                    f.resize(v, 0);
                    *iv = Self::interval(m, kernel, &logits[i * v..(i + 1) * v], block[i], &mut f);
                })
            });
        } else {
            for (i, iv) in out.iter_mut().enumerate() {
                *iv = Self::interval(m, kernel, &logits[i * v..(i + 1) * v], block[i], &mut self.cum);
            }
        }
    }

    /// Encodes `tokens` as one chunk. On failure, returns the position.
    pub fn encode(&mut self, tokens: &[u32]) -> Result<Vec<u8>, (usize, ChunkFailure)> {
        let mut enc = Encoder::with_buffer(Vec::with_capacity(tokens.len() * 2 + 8));
        let total = self.model.target_total();
        self.each_interval(tokens, |p, iv, t| enc.encode_interval(iv, total, t as usize).map_err(|e| (p, ChunkFailure::Coder(e))))?;
        Ok(enc.finish())
    }

    /// The coding interval of each token of `tokens` coded as one chunk, in
    /// order, into `out` (cleared first): exactly what [`encode`](Self::encode)
    /// codes, for callers that code them later or check bytes against them.
    /// On failure `out` holds the intervals of the positions before it.
    pub fn intervals(&mut self, tokens: &[u32], out: &mut Vec<(u32, u32)>) -> Result<(), (usize, ChunkFailure)> {
        out.clear();
        self.each_interval(tokens, |_, iv, _| {
            out.push(iv);
            Ok(())
        })
    }

    /// Calls `each(position, interval, token)` for the chunk's tokens in
    /// order, stopping at the first failure (its own or `each`'s).
    fn each_interval(
        &mut self,
        tokens: &[u32],
        mut each: impl FnMut(usize, (u32, u32), u32) -> Result<(), (usize, ChunkFailure)>,
    ) -> Result<(), (usize, ChunkFailure)> {
        self.batch.reset_slot(0);
        // As in the one-token order, a token outside the vocabulary fails in
        // the coder at its own position, before any step uses it as context:
        // prefill only the positions whose context is valid.
        let v = self.model.config().vocab_size;
        let valid = tokens.iter().position(|&t| t as usize >= v).map_or(tokens.len(), |bad| bad + 1);
        for (b, block) in tokens[..valid].chunks(PREFILL_ROWS).enumerate() {
            let start = b * PREFILL_ROWS;
            self.prefill(tokens, start, block.len()).map_err(|e| (start, ChunkFailure::Step(e)))?;
            let timer = stage_timers::start(Stage::FreqTable);
            self.block_intervals(block);
            drop(timer);
            let _t = stage_timers::start(Stage::Coder);
            for (i, (iv, &t)) in self.intervals.iter_mut().zip(block).enumerate() {
                let iv = std::mem::replace(iv, Ok((0, 0))).map_err(|e| (start + i, e))?;
                each(start + i, iv, t)?;
            }
        }
        Ok(())
    }

    /// Runs chunk positions `start..start + len` (`len <= PREFILL_ROWS`,
    /// the positions before `start` already run) as one prefill block:
    /// position p is fed `p == 0 ? BOS : tokens[p − 1]`, and row i's logits
    /// are then `self.logits[i·V..(i + 1)·V]`.
    fn prefill(&mut self, tokens: &[u32], start: usize, len: usize) -> Result<(), crate::model::forward::StepError> {
        let bos = self.model.config().bos;
        let mut rows = [(0usize, 0u32); PREFILL_ROWS];
        for (i, row) in rows[..len].iter_mut().enumerate() {
            let p = start + i;
            *row = (0, if p == 0 { bos } else { tokens[p - 1] });
        }
        self.batch.forward(self.model, &rows[..len], &mut self.logits)
    }

    /// Calls `at(p, logits)` for chunk positions `p = 0..=last` in order
    /// (`last <= tokens.len()`; position p fed `p == 0 ? BOS : tokens[p − 1]`):
    /// the logits of [`walk_chunk`](crate::model::forward::walk_chunk) with the
    /// normative attention, computed by prefill blocks. Stops at the first
    /// failure: a step's (for instance a position beyond the capacity this
    /// coder was made with) or `at`'s.
    pub fn each_logits(&mut self, tokens: &[u32], last: usize, mut at: impl FnMut(usize, &[i32]) -> Result<(), String>) -> Result<(), String> {
        if last > tokens.len() {
            return Err(format!("position {last} is beyond the tokens ({} of them)", tokens.len()));
        }
        self.batch.reset_slot(0);
        let v = self.model.config().vocab_size;
        for start in (0..=last).step_by(PREFILL_ROWS) {
            let len = (last + 1 - start).min(PREFILL_ROWS);
            self.prefill(tokens, start, len).map_err(|e| e.to_string())?;
            for (i, logits) in self.logits[..len * v].chunks_exact(v).enumerate() {
                at(start + i, logits)?;
            }
        }
        Ok(())
    }

    /// Decodes `n` tokens from `bytes`, appending them to `out`. On failure,
    /// returns the 0-based token position; a chunk that fails the
    /// re-encoding check ([`check_canonical`]) as a whole reports `n`, one
    /// past its last token (the check runs after it).
    pub fn decode(&mut self, bytes: &[u8], n: usize, out: &mut Vec<u32>) -> Result<(), (usize, ChunkFailure)> {
        self.batch.reset_slot(0);
        let mut dec = Decoder::new(bytes);
        let mut enc = Encoder::with_buffer(Vec::with_capacity(bytes.len()));
        let mut prev = self.model.config().bos;
        for i in 0..n {
            self.batch.forward(self.model, &[(0, prev)], &mut self.logits).map_err(|e| (i, ChunkFailure::Step(e)))?;
            let timer = stage_timers::start(Stage::FreqTable);
            let cum = self.table(0).map_err(|e| (i, e))?;
            drop(timer);
            let _t = stage_timers::start(Stage::Coder);
            let sym = dec.decode(cum).map_err(|e| (i, ChunkFailure::Coder(e)))?;
            enc.encode(cum, sym).map_err(|e| (i, ChunkFailure::Coder(e)))?;
            let t = sym as u32;
            out.push(t);
            prev = t;
        }
        let _t = stage_timers::start(Stage::Coder);
        check_canonical(enc, bytes).map_err(|f| (n, f))
    }
}

/// Most chunks decoded in lockstep by one worker (rows of one batch).
pub const LOCKSTEP_MAX: usize = 32;

/// Decodes several chunks *in lockstep*: each step runs one batched forward
/// pass with one row per unfinished chunk, so every weight row serves the
/// whole group. Chunks stay independent (one KV slot each); a chunk's
/// tokens are exactly those [`ChunkCoder::decode`] gives.
pub struct LockstepDecoder<'m> {
    model: &'m Model,
    /// Re-encode every chunk and require its stored bytes back (see
    /// [`check_canonical`]); off only for diagnostics that want the raw decoding.
    pub verify: bool,
    batch: BatchForward,
    logits: Vec<i32>,
    cum: Vec<u32>,
}

impl<'m> LockstepDecoder<'m> {
    /// A worker for up to `group` chunks (at most [`LOCKSTEP_MAX`]) of up to
    /// `capacity` tokens each.
    pub fn new(model: &'m Model, capacity: usize, group: usize, kernel: Kernel) -> Self {
        let group = group.clamp(1, LOCKSTEP_MAX);
        let v = model.config().vocab_size;
        LockstepDecoder {
            model,
            verify: true,
            batch: BatchForward::new(model, kernel, group, capacity, group),
            logits: vec![0; group * v],
            cum: vec![0; v],
        }
    }

    /// Decodes chunk `j` from `chunks[j] = (bytes, token count)`, returning
    /// each chunk's tokens in order. On failure: `(j, position, failure)` of
    /// the **lowest-index** failing chunk `j`, with the 0-based token
    /// position, or `None` when the chunk fails the re-encoding check
    /// ([`check_canonical`]) as a whole. Whether and where a chunk fails depends on
    /// that chunk alone (it has its own KV slot), so the answer is the same
    /// whatever the group: a failed chunk leaves the lockstep, the chunks
    /// above the lowest failure so far are dropped (they cannot be the
    /// answer), the ones below it run to their end.
    #[allow(clippy::type_complexity)]
    pub fn decode(&mut self, chunks: &[(&[u8], usize)]) -> Result<Vec<Vec<u32>>, (usize, Option<usize>, ChunkFailure)> {
        assert!(chunks.len() <= self.batch.slots());
        let m = self.model;
        let v = m.config().vocab_size;
        let mut decoders: Vec<Decoder<'_>> = chunks.iter().map(|&(b, _)| Decoder::new(b)).collect();
        let mut encoders: Vec<Encoder> = chunks.iter().map(|&(b, _)| Encoder::with_buffer(Vec::with_capacity(b.len()))).collect();
        let mut out: Vec<Vec<u32>> = chunks.iter().map(|&(_, n)| Vec::with_capacity(n)).collect();
        for s in 0..chunks.len() {
            self.batch.reset_slot(s);
        }
        // The lowest failing chunk so far; only chunks below it still decode.
        let mut failure: Option<(usize, Option<usize>, ChunkFailure)> = None;
        let longest = chunks.iter().map(|c| c.1).max().unwrap_or(0);
        let mut rows: Vec<(usize, u32)> = Vec::with_capacity(chunks.len());
        for i in 0..longest {
            let limit = failure.as_ref().map_or(chunks.len(), |f| f.0);
            rows.clear();
            for (s, &(_, n)) in chunks.iter().enumerate().take(limit) {
                if i < n {
                    rows.push((s, if i == 0 { m.config().bos } else { out[s][i - 1] }));
                }
            }
            let Some(&(first, _)) = rows.first() else { break };
            // A step error is about position i, not about one row (every row
            // still decoding is at i): it is charged to the lowest of them.
            if let Err(e) = self.batch.forward(m, &rows, &mut self.logits) {
                failure = Some((first, Some(i), ChunkFailure::Step(e)));
                break;
            }
            for (r, &(s, _)) in rows.iter().enumerate() {
                if failure.as_ref().is_some_and(|f| f.0 < s) {
                    break;
                }
                let table = {
                    let _t = stage_timers::start(Stage::FreqTable);
                    cum_table(m, self.batch.kernel(), &self.logits[r * v..(r + 1) * v], &mut self.cum)
                };
                let _t = stage_timers::start(Stage::Coder);
                let step = table
                    .and_then(|()| decoders[s].decode(&self.cum).map_err(ChunkFailure::Coder))
                    .and_then(|sym| encoders[s].encode(&self.cum, sym).map(|()| sym).map_err(ChunkFailure::Coder));
                match step {
                    Ok(sym) => out[s].push(sym as u32),
                    Err(e) => failure = Some((s, Some(i), e)),
                }
            }
        }
        let limit = failure.as_ref().map_or(chunks.len(), |f| f.0);
        if self.verify {
            let _t = stage_timers::start(Stage::Coder);
            for (s, (enc, &(bytes, _))) in encoders.into_iter().zip(chunks).enumerate().take(limit) {
                check_canonical(enc, bytes).map_err(|f| (s, None, f))?;
            }
        }
        match failure {
            Some(f) => Err(f),
            None => Ok(out),
        }
    }
}

/// The model's cumulative frequency table (spec §6) of one row of logits.
fn cum_table(model: &Model, kernel: Kernel, logits: &[i32], cum: &mut [u32]) -> Result<(), ChunkFailure> {
    build_cumfreqs_with(kernel, logits, model.coef_q24(), model.target_total(), &model.packed().exp2, cum)
        .map_err(ChunkFailure::FreqTable)
}

/// The decoder's redundancy check: re-encoding the decoded symbols with the
/// same tables must give back exactly the stored bytes. The arithmetic code
/// has no redundancy of its own, so a damaged chunk can decode to tokens of
/// the right count; a conforming encoder would not have written those bytes
/// for them, and this says so instead of returning a wrong text.
fn check_canonical(enc: Encoder, bytes: &[u8]) -> Result<(), ChunkFailure> {
    let again = enc.finish();
    if again == bytes {
        return Ok(());
    }
    let matched = again.iter().zip(bytes).take_while(|(a, b)| a == b).count();
    Err(ChunkFailure::NotCanonical { stored_len: bytes.len(), reencoded_len: again.len(), matched })
}
