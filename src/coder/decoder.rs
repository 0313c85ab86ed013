//! Arithmetic decoder (spec §7 "Decoder").

use super::bit_io::BitReader;
use super::{check_interval, narrow, symbol_edges, table_total, CoderError, FULL, HALF, QUARTER};

/// Spec §7 decoder: the encoder's `lo`, `hi` plus `code`, the 32-bit window
/// of the input. Invariant between calls: `lo <= code <= hi`.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    lo: u32,
    hi: u32,
    code: u32,
    reader: BitReader<'a>,
}

impl<'a> Decoder<'a> {
    /// Spec §7: `lo = 0`, `hi = FULL`, `code` = the first 32 bits of `bytes`
    /// (MSB-first, zeros past the end).
    pub fn new(bytes: &'a [u8]) -> Self {
        let mut reader = BitReader::new(bytes);
        let code = (0..32).fold(0u32, |c, _| (c << 1) | reader.read_bit());
        Decoder {
            lo: 0,
            hi: FULL,
            code,
            reader,
        }
    }

    /// Decodes one symbol with inclusive cumulative table `cum`, spec §7.
    ///
    /// `value = ⌊((code − lo + 1)·T − 1) / r⌋` in u64: `code − lo + 1 <= r <=
    /// 2^32` and `T < 2^32`, so the product is `< 2^64` and, because
    /// `code <= hi`, `value <= T − 1`. The symbol is the smallest `j` with
    /// `value < C[j]` (binary search; clamped to `V − 1`). Then the interval
    /// is narrowed exactly as in the encoder and renormalised.
    ///
    /// Validation: the found `j` must satisfy `C[j-1] <= value < C[j] <= T`,
    /// which a non-decreasing table always does. Given it, the new interval
    /// is non-empty and contains `code` (`value < C[j]` ⇔
    /// `code − lo < ⌊C[j]·r/T⌋`), so the invariant `lo <= code <= hi` (which
    /// makes the u32 subtractions below safe) holds for any input bytes. On
    /// error the state is unchanged.
    ///
    /// # Errors
    /// [`CoderError::EmptyTable`], [`CoderError::ZeroTotal`], and
    /// [`CoderError::NotCumulative`] for a table that is not non-decreasing
    /// up to `C[V-1] = T`. A non-decreasing table never fails, whatever the
    /// input bytes (even with `T > 2^30` or zero frequencies).
    pub fn decode(&mut self, cum: &[u32]) -> Result<usize, CoderError> {
        let (vocab, total) = table_total(cum)?;
        let value = self.value(total);
        let symbol = cum.partition_point(|&c| c <= value).min(vocab - 1);
        let (low, high) = symbol_edges(cum, symbol, total)?;
        if !(low <= value && value < high) {
            return Err(CoderError::NotCumulative { symbol });
        }
        self.take((low, high), total, symbol)?;
        Ok(symbol)
    }

    /// Decodes `symbol` if it is the next one, knowing only its interval
    /// `[low, high)` in a table of total `T` (what [`decode`](Self::decode)
    /// looks up in the table): `Ok(true)` and the state advanced when the
    /// decoder's value lies in the interval, `Ok(false)` and the state
    /// unchanged when it does not.
    ///
    /// For any cumulative table holding that interval for `symbol`, this is
    /// exactly `decode(cum) == Ok(symbol)`: `decode` returns the smallest `j`
    /// with `value < C[j]`; if `C[symbol−1] <= value < C[symbol]`, every
    /// `j < symbol` has `C[j] <= C[symbol−1] <= value`, so that `j` is
    /// `symbol`; otherwise it is another symbol. For callers that know which
    /// symbol to expect and its interval but not the whole table (a check of
    /// bytes against known tokens).
    ///
    /// # Errors
    /// [`CoderError::ZeroTotal`], [`CoderError::NotCumulative`] (`low > high`
    /// or `high > T`), and [`CoderError::EmptyInterval`] as the encoder's.
    pub fn decode_expected(&mut self, (low, high): (u32, u32), total: u32, symbol: usize) -> Result<bool, CoderError> {
        check_interval((low, high), total, symbol)?;
        let value = self.value(total);
        if !(low <= value && value < high) {
            return Ok(false);
        }
        self.take((low, high), total, symbol)?;
        Ok(true)
    }

    /// The decoded value in a table of total `T >= 1`:
    /// `⌊((code − lo + 1)·T − 1) / r⌋`, in `0..T` (see [`decode`](Self::decode)).
    fn value(&self, total: u32) -> u32 {
        debug_assert!(self.lo <= self.code && self.code <= self.hi && total > 0);
        let range = u64::from(self.hi - self.lo) + 1; // <= 2^32
        let offset = u64::from(self.code - self.lo) + 1; // 1..=range
        let value = (offset * u64::from(total) - 1) / range; // <= T - 1 < 2^32
        u32::try_from(value).unwrap_or(u32::MAX)
    }

    /// Narrows to the decoded symbol's interval (which contains the value)
    /// exactly as the encoder does, then renormalises.
    fn take(&mut self, interval: (u32, u32), total: u32, symbol: usize) -> Result<(), CoderError> {
        (self.lo, self.hi) = narrow(self.lo, self.hi, interval, total, symbol)?;
        self.renormalize();
        Ok(())
    }

    /// The §7 loop, shifting the next input bit into `code` alongside the
    /// encoder's `lo`/`hi` transforms (u32; `<<` drops the top bit = `& FULL`).
    fn renormalize(&mut self) {
        loop {
            if (self.lo ^ self.hi) & HALF == 0 {
                self.lo <<= 1;
                self.hi = (self.hi << 1) | 1;
                self.code = (self.code << 1) | self.reader.read_bit();
            } else if self.lo & !self.hi & QUARTER != 0 {
                self.lo = (self.lo << 1) ^ HALF;
                self.hi = ((self.hi ^ HALF) << 1) | HALF | 1;
                self.code =
                    (self.code & HALF) | ((self.code << 1) & (FULL >> 1)) | self.reader.read_bit();
            } else {
                break;
            }
        }
    }

    /// Input bits consumed so far (zeros supplied past the end not counted).
    #[must_use]
    pub fn bits_consumed(&self) -> u64 {
        self.reader.bits_consumed()
    }
}
