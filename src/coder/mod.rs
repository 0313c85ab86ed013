//! The 32-bit arithmetic coder of CZIP v1 (spec §7).
//!
//! The coder turns a stream of symbols, each coded with its own inclusive
//! cumulative frequency table `C` (spec §6: `V` entries, `C[V-1] = T`, the
//! low edge of symbol `j` is `C[j-1]`, 0 for `j = 0`), into bytes, and back.
//! It is the classic integer range coder with E1/E2 (top bits agree) and E3
//! (underflow, "pending bits") renormalisation, written after Nayuki's
//! reference arithmetic coder.
//!
//! * [`Encoder`] — spec §7 "Encoder" and "Finish".
//! * [`Decoder`] — spec §7 "Decoder".
//! * [`bit_io`] — MSB-first bit packing (spec §7 constants paragraph).
//!
//! All state is `u32` (`lo`, `hi`, `code`); every product is formed in
//! `u64` and is shown to fit where it is computed. A table that cannot be
//! coded is reported as a [`CoderError`]; nothing here panics or overflows.
//!
//! Range of valid tables. The narrowest range the coder can be left with
//! between symbols is `r = 2^30 + 2` (after renormalisation `lo < HALF <= hi`
//! and not the E3 case), so a table with total `T <= 2^30` and every
//! frequency `>= 1` always gives a non-empty interval. That covers the model's
//! tables (`T = 1073739776`, §3). Larger totals are accepted as long as the
//! interval of the coded symbol is non-empty; when it is empty the coder
//! returns [`CoderError::EmptyInterval`] instead of producing bytes that do
//! not decode.

pub mod bit_io;
mod decoder;
mod encoder;

pub use decoder::Decoder;
pub use encoder::Encoder;

/// `FULL = 2^32 − 1` (spec §7): the all-ones state mask.
pub const FULL: u32 = u32::MAX;
/// `HALF = 2^31` (spec §7): the top state bit.
pub const HALF: u32 = 1 << 31;
/// `QUARTER = 2^30` (spec §7): the second state bit, tested for E3.
pub const QUARTER: u32 = 1 << 30;

/// Why a symbol could not be encoded or decoded.
///
/// On any error the coder's state is left exactly as it was before the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoderError {
    /// The cumulative table has no entries (`V = 0`).
    EmptyTable,
    /// The table's total `T = C[V-1]` is 0.
    ZeroTotal,
    /// The encoder was asked for a symbol `>= V`.
    SymbolOutOfRange { symbol: usize, vocab: usize },
    /// The symbol's coded interval is empty: `⌊C[j]·r/T⌋ = ⌊C[j-1]·r/T⌋`, so
    /// after the §7 update `hi < lo`. Happens with a zero-width symbol
    /// (`C[j] = C[j-1]`) or with a small symbol in a table whose total
    /// exceeds the current range `r` (possible only when `T > 2^30`).
    EmptyInterval { symbol: usize },
    /// The table is not cumulative around `symbol`: `C[symbol-1] > C[symbol]`
    /// or `C[symbol] > T`. (The decoder also reports this when its search
    /// lands on an entry that does not bracket the decoded value, which only
    /// a non-monotone table can cause.)
    NotCumulative { symbol: usize },
}

impl std::fmt::Display for CoderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CoderError::EmptyTable => write!(f, "arithmetic coder: empty frequency table"),
            CoderError::ZeroTotal => write!(f, "arithmetic coder: frequency table total is 0"),
            CoderError::SymbolOutOfRange { symbol, vocab } => write!(
                f,
                "arithmetic coder: symbol {symbol} out of range for a table of {vocab} entries"
            ),
            CoderError::EmptyInterval { symbol } => write!(
                f,
                "arithmetic coder: symbol {symbol} has an empty coding interval \
                 (zero frequency, or table total larger than the coder range)"
            ),
            CoderError::NotCumulative { symbol } => write!(
                f,
                "arithmetic coder: table is not a non-decreasing cumulative table at symbol {symbol}"
            ),
        }
    }
}

impl std::error::Error for CoderError {}

/// Checks a table and returns `(V, T)` (spec §6: `T = C[V-1]`).
fn table_total(cum: &[u32]) -> Result<(usize, u32), CoderError> {
    let total = *cum.last().ok_or(CoderError::EmptyTable)?;
    if total == 0 {
        return Err(CoderError::ZeroTotal);
    }
    Ok((cum.len(), total))
}

/// The cumulative edges `(C[j-1], C[j])` of symbol `j` (spec §6: the low edge
/// of symbol 0 is 0), checked to satisfy `C[j-1] <= C[j] <= T`.
/// Requires `j < cum.len()`.
fn symbol_edges(cum: &[u32], j: usize, total: u32) -> Result<(u32, u32), CoderError> {
    let low = match j.checked_sub(1) {
        Some(prev) => cum[prev],
        None => 0,
    };
    let high = cum[j];
    if low > high || high > total {
        return Err(CoderError::NotCumulative { symbol: j });
    }
    Ok((low, high))
}

/// A symbol's interval `[low, high)` in a table of total `T`, checked as a
/// table would be: `T > 0` ([`CoderError::ZeroTotal`]) and
/// `low <= high <= T` ([`CoderError::NotCumulative`]). For the callers that
/// are given an interval instead of a table.
fn check_interval((low, high): (u32, u32), total: u32, symbol: usize) -> Result<(), CoderError> {
    if total == 0 {
        return Err(CoderError::ZeroTotal);
    }
    if low > high || high > total {
        return Err(CoderError::NotCumulative { symbol });
    }
    Ok(())
}

/// The interval update shared by encoder and decoder (spec §7):
/// `r = hi − lo + 1`, `hi' = lo + ⌊C[j]·r/T⌋ − 1`, `lo' = lo + ⌊C[j-1]·r/T⌋`.
///
/// Widths: `r <= 2^32` (u64); `C·r < 2^32 · 2^32` fits u64; since
/// `C[j-1] <= C[j] <= T` both quotients are `<= r`, so `hi' <= lo + r − 1 = hi`
/// and `lo' <= hi'` (checked) — both fit u32. Returns `EmptyInterval` when
/// the two quotients are equal (the update would give `hi' < lo'`).
fn narrow(
    lo: u32,
    hi: u32,
    (low, high): (u32, u32),
    total: u32,
    symbol: usize,
) -> Result<(u32, u32), CoderError> {
    let range = u64::from(hi - lo) + 1; // hi >= lo is a coder invariant; <= 2^32
    let total = u64::from(total);
    let top = u64::from(high) * range / total; // <= range
    let bottom = u64::from(low) * range / total; // <= top
    if top == bottom {
        return Err(CoderError::EmptyInterval { symbol });
    }
    // top >= 1 here, and lo + top - 1 <= hi; lo + bottom <= lo + top - 1.
    let new_hi = u64::from(lo) + top - 1;
    let new_lo = u64::from(lo) + bottom;
    debug_assert!(new_lo <= new_hi && new_hi <= u64::from(hi));
    Ok((new_lo as u32, new_hi as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// SplitMix64, for deterministic test data.
    fn splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A cumulative table of `vocab` entries with total exactly `total`.
    /// Heavy-tailed weights (like the model's exp tables); every frequency
    /// is `>= min_freq` (0 or 1). Requires `total >= vocab * min_freq`.
    fn make_table(vocab: usize, total: u32, min_freq: u32, seed: u64) -> Vec<u32> {
        let mut s = seed;
        let weights: Vec<u64> = (0..vocab)
            .map(|_| {
                let r = splitmix(&mut s);
                (r >> 24) >> (r % 40)
            })
            .collect();
        let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
        let extra = u128::from(total) - vocab as u128 * u128::from(min_freq);
        let mut freqs: Vec<u64> = weights
            .iter()
            .map(|&w| {
                let share = (u128::from(w) * extra).checked_div(sum).unwrap_or(0);
                u64::from(min_freq) + share as u64
            })
            .collect();
        let assigned: u64 = freqs.iter().sum();
        let heavy = (0..vocab)
            .max_by_key(|&j| (weights[j], std::cmp::Reverse(j)))
            .unwrap();
        freqs[heavy] += u64::from(total) - assigned;
        let mut acc = 0u64;
        let cum: Vec<u32> = freqs
            .iter()
            .map(|&f| {
                acc += f;
                u32::try_from(acc).unwrap()
            })
            .collect();
        assert_eq!(cum[vocab - 1], total);
        cum
    }

    /// `n` symbols: uniform over the vocabulary, or drawn with the table's
    /// own probabilities (the model-like case).
    fn make_symbols(cum: &[u32], n: usize, by_freq: bool, seed: u64) -> Vec<usize> {
        let mut s = seed;
        let total = u64::from(*cum.last().unwrap());
        (0..n)
            .map(|_| {
                let r = splitmix(&mut s);
                if by_freq {
                    let u = (r % total) as u32;
                    cum.partition_point(|&c| c <= u)
                } else {
                    (r % cum.len() as u64) as usize
                }
            })
            .collect()
    }

    fn encode_all(cum: &[u32], symbols: &[usize]) -> Encoder {
        let mut enc = Encoder::new();
        for &s in symbols {
            enc.encode(cum, s).unwrap();
        }
        enc
    }

    fn decode_all(cum: &[u32], bytes: &[u8], n: usize) -> Vec<usize> {
        let mut dec = Decoder::new(bytes);
        (0..n).map(|_| dec.decode(cum).unwrap()).collect()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn empty_stream_is_a_single_one_bit() {
        assert_eq!(Encoder::new().finish(), vec![0x80]);
        assert_eq!(Encoder::default().finish(), vec![0x80]);
    }

    #[test]
    fn binary_table_vector() {
        // arith_release.jsonl id 0.
        let cum = [1, 2];
        let syms = [1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0];
        let enc = encode_all(&cum, &syms);
        assert_eq!((enc.pending(), enc.max_pending()), (0, 0));
        let bytes = enc.finish();
        assert_eq!(bytes, vec![0xfb, 0x1a, 0x80]);
        assert_eq!(decode_all(&cum, &bytes, syms.len()), syms);
    }

    #[test]
    fn first_symbol_interval_matches_spec_formula() {
        // r = 2^32, T = 3: symbol 1 -> lo = ⌊2^32/3⌋ = 1431655765,
        // hi = ⌊2·2^32/3⌋ − 1 = 2863311529; E3 then fires (lo = 01…, hi = 10…).
        let mut enc = Encoder::new();
        enc.encode(&[1, 2, 3], 1).unwrap();
        assert_eq!((enc.pending(), enc.max_pending()), (1, 1));
        assert_eq!(
            narrow(0, FULL, (1, 2), 3, 1),
            Ok((1_431_655_765, 2_863_311_529))
        );
        assert_eq!(narrow(0, FULL, (0, 1), 3, 0), Ok((0, 1_431_655_764)));
        assert_eq!(narrow(0, FULL, (2, 3), 3, 2), Ok((2_863_311_530, FULL)));
    }

    #[test]
    fn errors_are_reported_not_panicked() {
        let mut enc = Encoder::new();
        assert_eq!(enc.encode(&[], 0), Err(CoderError::EmptyTable));
        assert_eq!(enc.encode(&[0, 0], 0), Err(CoderError::ZeroTotal));
        assert_eq!(
            enc.encode(&[1, 2], 2),
            Err(CoderError::SymbolOutOfRange {
                symbol: 2,
                vocab: 2
            })
        );
        assert_eq!(
            enc.encode(&[1, 2], usize::MAX),
            Err(CoderError::SymbolOutOfRange {
                symbol: usize::MAX,
                vocab: 2
            })
        );
        // Zero-width symbol.
        assert_eq!(
            enc.encode(&[1, 1, 2], 1),
            Err(CoderError::EmptyInterval { symbol: 1 })
        );
        assert_eq!(
            enc.encode(&[0, 2], 0),
            Err(CoderError::EmptyInterval { symbol: 0 })
        );
        // Not cumulative: decreasing, or an entry above the total.
        assert_eq!(
            enc.encode(&[5, 3, 9], 1),
            Err(CoderError::NotCumulative { symbol: 1 })
        );
        assert_eq!(
            enc.encode(&[5, 12, 9], 1),
            Err(CoderError::NotCumulative { symbol: 1 })
        );
        // None of the failures touched the state.
        assert_eq!(enc.pending(), 0);
        assert_eq!(enc.finish(), vec![0x80]);

        // A total above the range: after one E3 step r = 2863311532, so a
        // unit frequency out of T = 2^32 − 1 is narrower than one state unit.
        let mut enc = Encoder::new();
        assert_eq!(enc.encode(&[1, u32::MAX], 0), Ok(())); // r = 2^32 here
        let mut enc = Encoder::new();
        enc.encode(&[1, 2, 3], 1).unwrap();
        assert_eq!(
            enc.encode(&[1, u32::MAX], 0),
            Err(CoderError::EmptyInterval { symbol: 0 })
        );
        assert_eq!(enc.encode(&[1, u32::MAX], 1), Ok(()));

        let mut dec = Decoder::new(&[0x12, 0x34]);
        assert_eq!(dec.decode(&[]), Err(CoderError::EmptyTable));
        assert_eq!(dec.decode(&[0]), Err(CoderError::ZeroTotal));
        // code = 0x12340000, T = 9 -> value = 0: symbol 0, whose own edges
        // (0, 5) are fine; the table is only checked where it is used.
        assert_eq!(dec.decode(&[5, 3, 9]), Ok(0));
        // code = 0xF0000000, T = 10 -> value = 9: the search stops at
        // symbol 0, whose C[0] = 15 exceeds the total.
        let mut dec = Decoder::new(&[0xF0]);
        assert_eq!(
            dec.decode(&[15, 20, 10]),
            Err(CoderError::NotCumulative { symbol: 0 })
        );
        // State untouched: the same value decodes with a sane table.
        assert_eq!(dec.decode(&[1, 2, 10]), Ok(2));
    }

    #[test]
    fn error_leaves_encoder_state_unchanged() {
        let cum = make_table(50, 1 << 20, 1, 7);
        let syms = make_symbols(&cum, 200, false, 8);
        let mut zero = cum.clone();
        zero.insert(10, cum[9]); // a zero-width symbol 10, total unchanged
        let mut a = Encoder::new();
        let mut b = Encoder::new();
        for &s in &syms {
            a.encode(&cum, s).unwrap();
            assert_eq!(
                b.encode(&zero, 10),
                Err(CoderError::EmptyInterval { symbol: 10 })
            );
            assert_eq!(
                b.encode(&cum, 50),
                Err(CoderError::SymbolOutOfRange {
                    symbol: 50,
                    vocab: 50
                })
            );
            b.encode(&cum, s).unwrap();
        }
        assert_eq!(a.max_pending(), b.max_pending());
        assert_eq!(a.finish(), b.finish());
    }

    #[test]
    fn with_buffer_reuses_allocation() {
        let cum = make_table(1024, 1_073_739_776, 1, 1);
        let syms = make_symbols(&cum, 300, true, 2);
        let first = encode_all(&cum, &syms).finish();
        let buf = Vec::with_capacity(4096);
        let ptr = buf.as_ptr();
        let mut enc = Encoder::with_buffer(buf);
        for &s in &syms {
            enc.encode(&cum, s).unwrap();
        }
        let out = enc.finish();
        assert_eq!(out, first);
        assert_eq!(
            out.as_ptr(),
            ptr,
            "the buffer must be reused, not reallocated"
        );
        // A dirty buffer is cleared first.
        let mut enc = Encoder::with_buffer(vec![0xAA; 10]);
        enc.encode(&[1, 2], 1).unwrap();
        assert_eq!(enc.finish(), Encoder::new().finish_after(&[1, 2], &[1]));
    }

    impl Encoder {
        fn finish_after(mut self, cum: &[u32], syms: &[usize]) -> Vec<u8> {
            for &s in syms {
                self.encode(cum, s).unwrap();
            }
            self.finish()
        }
    }

    /// Symbols that keep the interval straddling HALF: decoding the input
    /// `0x80 00 00…` (code = HALF) picks, at every step, the symbol that
    /// contains the point HALF, which the E3 map x -> 2x − HALF fixes. This is
    /// how the golden `adversarial_underflow` vectors were made.
    fn straddling_symbols(cum: &[u32], n: usize) -> Vec<usize> {
        decode_all(cum, &[0x80], n)
    }

    #[test]
    fn long_underflow_run_is_carried_then_resolved() {
        let cum = [1, 2, 3];
        let syms = straddling_symbols(&cum, 300);
        assert_eq!(
            syms[..40],
            [
                1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 0, 1, 1, 1, 1, 1, 2, 1,
                0, 1, 0, 2, 2, 1, 0, 2, 2, 0, 1, 0
            ]
        );
        let enc = encode_all(&cum, &syms);
        assert_eq!((enc.pending(), enc.max_pending()), (475, 475));
        // Not one bit was settled: the single finishing 1 bit is everything.
        let bytes = enc.finish();
        assert_eq!(bytes, vec![0x80]);
        assert_eq!(decode_all(&cum, &bytes, 300), syms);

        // Ending with the lowest symbol settles a 0 and releases the run as
        // 475 ones; ending with the highest settles a 1 and 475 zeros.
        for (last, expect) in [
            (0usize, format!("7f{}f8", "ff".repeat(58))),
            (2usize, format!("80{}08", "00".repeat(58))),
        ] {
            let mut all = syms.clone();
            all.push(last);
            let enc = encode_all(&cum, &all);
            assert_eq!((enc.pending(), enc.max_pending()), (0, 475));
            let bytes = enc.finish();
            assert_eq!(hex(&bytes), expect);
            assert_eq!(decode_all(&cum, &bytes, all.len()), all);
        }
    }

    #[test]
    fn long_underflow_run_with_model_sized_table() {
        let cum = make_table(1024, 1_073_739_776, 1, 99);
        let syms = straddling_symbols(&cum, 200);
        let enc = encode_all(&cum, &syms);
        // 1318 pending bits after 200 symbols (cross-checked against an
        // independent big-integer model of §7).
        assert_eq!((enc.pending(), enc.max_pending()), (1318, 1318));
        let bytes = enc.finish();
        assert_eq!(bytes, vec![0x80]);
        assert_eq!(decode_all(&cum, &bytes, 200), syms);
    }

    #[test]
    fn decoder_past_end_reads_zeros() {
        // Decoding more symbols than were coded just continues on zero bits.
        let cum = [3, 5, 8];
        let mut dec = Decoder::new(&[]);
        for _ in 0..1000 {
            assert_eq!(dec.decode(&cum), Ok(0));
        }
        assert_eq!(dec.bits_consumed(), 0);
    }

    #[test]
    fn tables_at_the_range_limit() {
        // T = 2^30 with unit frequencies at both ends: always non-empty.
        let cum = [1, (1 << 30) - 1, 1 << 30];
        let syms: Vec<usize> = (0..3000).map(|i| [0, 2, 1, 0, 0, 2][i % 6]).collect();
        let bytes = encode_all(&cum, &syms).finish();
        assert_eq!(decode_all(&cum, &bytes, syms.len()), syms);
    }

    fn valid_table() -> impl Strategy<Value = Vec<u32>> {
        (
            2usize..1100,
            prop_oneof![Just(1u32 << 30), Just(1_073_739_776u32), 0u32..=(1 << 30)],
            any::<u64>(),
        )
            .prop_map(|(vocab, t, seed)| make_table(vocab, t.max(vocab as u32), 1, seed))
    }

    proptest! {
        /// Valid tables (V 2..1100, T <= 2^30, every freq >= 1): exact round trip.
        #[test]
        fn roundtrip_valid_tables(cum in valid_table(), n in 0usize..600, by_freq: bool, seed: u64) {
            let syms = make_symbols(&cum, n, by_freq, seed);
            let enc = encode_all(&cum, &syms);
            prop_assert!(enc.pending() <= enc.max_pending());
            let bytes = enc.finish();
            prop_assert!(!bytes.is_empty());
            prop_assert_eq!(decode_all(&cum, &bytes, n), syms);
        }

        /// A different table at every step (as in the engine).
        #[test]
        fn roundtrip_per_step_tables(vocab in 2usize..300, n in 1usize..80, seed: u64) {
            let tables: Vec<Vec<u32>> = (0..n)
                .map(|i| make_table(vocab, 1_073_739_776, 1, seed ^ i as u64))
                .collect();
            let syms: Vec<usize> = tables.iter().enumerate()
                .map(|(i, t)| make_symbols(t, 1, i % 2 == 0, seed.wrapping_add(i as u64))[0])
                .collect();
            let mut enc = Encoder::new();
            for (t, &s) in tables.iter().zip(&syms) {
                enc.encode(t, s).unwrap();
            }
            let bytes = enc.finish();
            let mut dec = Decoder::new(&bytes);
            for (t, &s) in tables.iter().zip(&syms) {
                prop_assert_eq!(dec.decode(t), Ok(s));
            }
        }

        /// Zero frequencies and totals up to u32::MAX: rejected symbols leave
        /// the state alone, every accepted symbol decodes back exactly, and
        /// with T <= 2^30 only zero-width symbols are rejected.
        #[test]
        fn accepted_symbols_roundtrip_any_monotone_table(
            vocab in 1usize..64, total in 1u32..=u32::MAX, seed: u64, n in 0usize..300,
        ) {
            let total = total.max(vocab as u32);
            let cum = make_table(vocab, total, 0, seed);
            let syms = make_symbols(&cum, n, false, seed ^ 1);
            let mut enc = Encoder::new();
            let mut accepted = Vec::new();
            for &s in &syms {
                match enc.encode(&cum, s) {
                    Ok(()) => accepted.push(s),
                    Err(CoderError::EmptyInterval { symbol }) => {
                        prop_assert_eq!(symbol, s);
                        let low = if s == 0 { 0 } else { cum[s - 1] };
                        prop_assert!(cum[s] == low || total > 1 << 30);
                    }
                    Err(e) => prop_assert!(false, "unexpected {e}"),
                }
            }
            let bytes = enc.finish();
            prop_assert_eq!(decode_all(&cum, &bytes, accepted.len()), accepted);
        }

        /// Arbitrary bytes with a valid table: never an error, never a panic,
        /// and the decoded symbols survive a re-encode.
        #[test]
        fn decoder_accepts_arbitrary_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..64), cum in valid_table(), n in 0usize..300,
        ) {
            let syms = decode_all(&cum, &bytes, n);
            let again = encode_all(&cum, &syms).finish();
            prop_assert_eq!(decode_all(&cum, &again, n), syms);
        }

        /// Any non-decreasing table (zero frequencies, T up to u32::MAX) and
        /// any bytes: the decoder never fails, and each decoded symbol has a
        /// non-empty interval, so the encoder accepts it back.
        #[test]
        fn decoder_never_fails_on_monotone_tables(
            bytes in proptest::collection::vec(any::<u8>(), 0..48),
            vocab in 1usize..40, total in 1u32..=u32::MAX, seed: u64, n in 0usize..200,
        ) {
            let cum = make_table(vocab, total.max(vocab as u32), 0, seed);
            let syms = decode_all(&cum, &bytes, n);
            let again = encode_all(&cum, &syms).finish();
            prop_assert_eq!(decode_all(&cum, &again, n), syms);
        }

        /// `decode_expected` with symbol j's interval is `decode == Ok(j)`:
        /// same answer and, when it decodes, the same state afterwards — for
        /// any non-decreasing table (zero frequencies, T up to u32::MAX), any
        /// bytes and any expected symbols (right or wrong).
        #[test]
        fn decode_expected_is_decode_with_one_interval(
            bytes in proptest::collection::vec(any::<u8>(), 0..48),
            vocab in 1usize..40, total in 1u32..=u32::MAX, seed: u64, guesses in proptest::collection::vec(any::<u16>(), 0..120),
        ) {
            let cum = make_table(vocab, total.max(vocab as u32), 0, seed);
            let total = cum[vocab - 1];
            let mut full = Decoder::new(&bytes);
            let mut expecting = Decoder::new(&bytes);
            for g in guesses {
                let j = usize::from(g) % vocab;
                let low = if j == 0 { 0 } else { cum[j - 1] };
                let before = expecting.clone();
                let hit = expecting.decode_expected((low, cum[j]), total, j).unwrap();
                let mut probe = full.clone();
                let decoded = probe.decode(&cum).unwrap();
                prop_assert_eq!(hit, decoded == j);
                if hit {
                    full = probe;
                } else {
                    prop_assert_eq!(format!("{expecting:?}"), format!("{before:?}"));
                    full.decode(&cum).unwrap();
                    expecting = full.clone();
                }
                prop_assert_eq!(format!("{expecting:?}"), format!("{full:?}"));
            }
        }

        /// Garbage tables and symbols: only `Result`s, no panics.
        #[test]
        fn garbage_never_panics(
            tables in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![any::<u32>(), 0u32..8], 0..12), 1..8),
            picks in proptest::collection::vec(any::<usize>(), 0..200),
            bytes in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let mut enc = Encoder::new();
            let mut dec = Decoder::new(&bytes);
            for (i, &p) in picks.iter().enumerate() {
                let t = &tables[i % tables.len()];
                let sym = if p % 4 == 0 { p } else { p % (t.len() + 1) };
                let _ = enc.encode(t, sym);
                let _ = dec.decode(t);
            }
            let _ = enc.finish();
        }
    }
}
