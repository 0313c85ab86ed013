//! What coding a token costs in int8 multiply-adds: the numerator of the
//! roofline (`czip bench --roofline`). Counts follow the shapes of spec §4–§5
//! (MQA: one key/value head of 64 dims shared by `n_heads` query heads).

use super::{Config, HEAD_DIM};

impl Config {
    /// Multiply-adds of the matrices for one token: per layer QKV
    /// `D·(D + 2·64)`, output `D·D`, FFN up (gate and up) `D·2F`, down
    /// `F·D`; then the head `D·V`. (v001: 1,916,928.)
    pub fn matrix_macs_per_token(&self) -> u64 {
        let (d, f, v) = (self.d_model as u64, self.d_ff as u64, self.vocab_size as u64);
        let layer = d * (d + 2 * HEAD_DIM as u64) + d * d + d * 2 * f + f * d;
        self.n_layers as u64 * layer + d * v
    }

    /// Multiply-adds of attention per attended position: per layer and
    /// query head, `q·k` and `p·v` over 64 dims (v001: 768).
    pub fn attention_macs_per_position(&self) -> u64 {
        self.n_layers as u64 * self.n_heads as u64 * 2 * HEAD_DIM as u64
    }

    /// Multiply-adds of coding `tokens` tokens in chunks of `chunk` tokens
    /// (spec §8: the token at chunk position i attends to positions 0..=i).
    pub fn coding_macs(&self, tokens: u64, chunk: u64) -> u64 {
        let chunk = chunk.max(1);
        let attended = |n: u64| n * (n + 1) / 2;
        let (full, last) = (tokens / chunk, tokens % chunk);
        tokens * self.matrix_macs_per_token() + (full * attended(chunk) + attended(last)) * self.attention_macs_per_position()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v001_shapes() -> Config {
        Config { vocab_size: 1024, n_layers: 1, n_heads: 6, d_model: 384, d_ff: 1024, rope_rows: 1024, max_chunk_log2: 10, rope_theta_q16: 0, bos: 0, max_seq_len: None }
    }

    #[test]
    fn v001_counts_are_the_issue_s() {
        let c = v001_shapes();
        // QKV 196,608 + output 147,456 + FFN 786,432 + 393,216 + head 393,216.
        assert_eq!(c.matrix_macs_per_token(), 1_916_928);
        assert_eq!(c.attention_macs_per_position(), 768);
        // 130 tokens in chunks of 64: 64+64+2; positions attended 2080+2080+3.
        assert_eq!(c.coding_macs(130, 64), 130 * 1_916_928 + (2080 + 2080 + 3) * 768);
        assert_eq!(c.coding_macs(0, 64), 0);
    }
}
