//! Coding one chunk (spec §8.3): the token at chunk position i is coded with
//! the frequency table of the step `(prev = i == 0 ? BOS : chunk[i−1], i)`.

use crate::coder::{Decoder, Encoder};
use crate::error::ChunkFailure;
use crate::freq_table::build_cumfreqs;
use crate::model::ForwardState;
use crate::Model;

/// One worker: a forward state and the per-step buffers, reused for every
/// chunk it codes.
pub struct ChunkCoder<'m> {
    model: &'m Model,
    state: ForwardState,
    logits: Vec<i32>,
    cum: Vec<u32>,
}

impl<'m> ChunkCoder<'m> {
    /// A worker for chunks of up to `capacity` tokens.
    pub fn new(model: &'m Model, capacity: usize) -> Self {
        let v = model.config().vocab_size;
        ChunkCoder { model, state: ForwardState::new(model, capacity), logits: vec![0; v], cum: vec![0; v] }
    }

    /// Steps the model with `prev` and builds the table for the next token.
    fn next_table(&mut self, prev: u32) -> Result<&[u32], ChunkFailure> {
        let m = self.model;
        self.state.step(m, prev, &mut self.logits).map_err(ChunkFailure::Step)?;
        build_cumfreqs(&self.logits, m.coef_q24(), m.target_total(), m.exp2(), &mut self.cum)
            .map_err(ChunkFailure::FreqTable)?;
        Ok(&self.cum)
    }

    /// Encodes `tokens` as one chunk. On failure, returns the position.
    pub fn encode(&mut self, tokens: &[u32]) -> Result<Vec<u8>, (usize, ChunkFailure)> {
        self.state.reset();
        let mut enc = Encoder::with_buffer(Vec::with_capacity(tokens.len() * 2 + 8));
        let mut prev = self.model.config().bos;
        for (i, &t) in tokens.iter().enumerate() {
            let cum = self.next_table(prev).map_err(|e| (i, e))?;
            enc.encode(cum, t as usize).map_err(|e| (i, ChunkFailure::Coder(e)))?;
            prev = t;
        }
        Ok(enc.finish())
    }

    /// Decodes `n` tokens from `bytes`, appending them to `out`.
    pub fn decode(&mut self, bytes: &[u8], n: usize, out: &mut Vec<u32>) -> Result<(), (usize, ChunkFailure)> {
        self.state.reset();
        let mut dec = Decoder::new(bytes);
        let mut prev = self.model.config().bos;
        for i in 0..n {
            let cum = self.next_table(prev).map_err(|e| (i, e))?;
            let sym = dec.decode(cum).map_err(|e| (i, ChunkFailure::Coder(e)))?;
            let t = sym as u32;
            out.push(t);
            prev = t;
        }
        Ok(())
    }
}
