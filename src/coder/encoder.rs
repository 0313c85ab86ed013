//! Arithmetic encoder (spec §7 "Encoder" and "Finish").

use super::bit_io::BitWriter;
use super::{check_interval, narrow, symbol_edges, table_total, CoderError, FULL, HALF, QUARTER};

/// Spec §7 encoder: state `lo`, `hi` (u32), the count of pending underflow
/// (E3) bits, and the MSB-first output. `Clone` lets a search try a symbol
/// on a copy (the conformance generator's longest-pending-run search).
#[derive(Debug, Clone)]
pub struct Encoder {
    lo: u32,
    hi: u32,
    /// Underflow bits owed: emitted, inverted, after the next settled bit.
    pending: u64,
    max_pending: u64,
    writer: BitWriter,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    /// Spec §7 initial state: `lo = 0`, `hi = FULL`, `pending = 0`.
    pub fn new() -> Self {
        Self::with_buffer(Vec::new())
    }

    /// Like [`Encoder::new`], but reuses `out` (cleared) as the output
    /// buffer, so a hot loop allocates nothing.
    pub fn with_buffer(out: Vec<u8>) -> Self {
        Encoder {
            lo: 0,
            hi: FULL,
            pending: 0,
            max_pending: 0,
            writer: BitWriter::with_buffer(out),
        }
    }

    /// Codes `symbol` with inclusive cumulative table `cum`
    /// (total `T = cum[len-1]`), spec §7 "Encoder".
    ///
    /// Interval update in u64 (see `narrow`: products `< 2^64`), then the
    /// renormalisation loop on u32 state. Validation is O(1): empty table,
    /// `T = 0`, `symbol >= V`, `C[j-1] <= C[j] <= T` for this symbol only,
    /// and a non-empty interval. On error nothing is written and the state
    /// is unchanged.
    ///
    /// # Errors
    /// [`CoderError::EmptyTable`], [`CoderError::ZeroTotal`],
    /// [`CoderError::SymbolOutOfRange`], [`CoderError::NotCumulative`]
    /// (`C[j-1] > C[j]` or `C[j] > T`), [`CoderError::EmptyInterval`].
    pub fn encode(&mut self, cum: &[u32], symbol: usize) -> Result<(), CoderError> {
        let (vocab, total) = table_total(cum)?;
        if symbol >= vocab {
            return Err(CoderError::SymbolOutOfRange { symbol, vocab });
        }
        let edges = symbol_edges(cum, symbol, total)?;
        self.encode_interval(edges, total, symbol)
    }

    /// Codes a symbol given its interval `[C[j−1], C[j])` of a table of total
    /// `T` directly (what [`encode`](Self::encode) looks up in the table), for
    /// callers that know the interval without the whole cumulative table.
    /// `symbol` only names the symbol in errors. Same output as `encode` with
    /// a table holding those values.
    ///
    /// # Errors
    /// [`CoderError::ZeroTotal`], [`CoderError::NotCumulative`]
    /// (`C[j-1] > C[j]` or `C[j] > T`), [`CoderError::EmptyInterval`].
    pub fn encode_interval(&mut self, (low, high): (u32, u32), total: u32, symbol: usize) -> Result<(), CoderError> {
        check_interval((low, high), total, symbol)?;
        (self.lo, self.hi) = narrow(self.lo, self.hi, (low, high), total, symbol)?;
        self.renormalize();
        Ok(())
    }

    /// The §7 loop. `<<` on u32 drops the shifted-out bit, which is the
    /// spec's `& FULL`.
    fn renormalize(&mut self) {
        loop {
            if (self.lo ^ self.hi) & HALF == 0 {
                // E1/E2: the top bit is settled; emit it, then the pending
                // bits as its complement.
                let bit = self.lo >> 31;
                self.writer.write_bit(bit);
                self.writer.write_repeated(bit ^ 1, self.pending);
                self.pending = 0;
                self.lo <<= 1;
                self.hi = (self.hi << 1) | 1;
            } else if self.lo & !self.hi & QUARTER != 0 {
                // E3: lo = 01…, hi = 10…; zoom on the middle half.
                self.pending = self.pending.saturating_add(1);
                self.max_pending = self.max_pending.max(self.pending);
                self.lo = (self.lo << 1) ^ HALF;
                self.hi = ((self.hi ^ HALF) << 1) | HALF | 1;
            } else {
                break;
            }
        }
    }

    /// Number of pending (underflow/E3) bits right now.
    #[must_use]
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// Largest pending count seen so far.
    #[must_use]
    pub fn max_pending(&self) -> u64 {
        self.max_pending
    }

    /// Spec §7 "Finish": a single 1 bit, then zero padding to a byte
    /// boundary. The pending bits are *not* written: they would all be 0
    /// (the complement of that 1), which is what the padding and the
    /// decoder's zero fill supply anyway.
    #[must_use]
    pub fn finish(mut self) -> Vec<u8> {
        self.writer.write_bit(1);
        self.writer.into_bytes()
    }
}
