//! The two headers of a CZIPv1 file: the 16-byte outer header (stored as is)
//! and the inner header at the start of the decompressed payload.
//!
//! Parsing never panics and never allocates from an unchecked count: the
//! chunk table is read only once the payload is known to hold it.

use super::{ContainerError, OuterCodec};

/// The 6 magic bytes at the start of every file.
pub const MAGIC: &[u8; 6] = b"CZIPv1";
/// Length of the outer header.
pub const OUTER_HEADER_LEN: usize = 16;
/// Length of the fixed part of the inner header (before the chunk table).
pub const INNER_FIXED_LEN: usize = 12;
/// A chunk's byte length is a u16.
pub const MAX_CHUNK_BYTES: usize = u16::MAX as usize;
/// Largest chunk_count whose header_len = 12 + 2·chunk_count fits the u32 field.
pub const MAX_CHUNK_COUNT: u64 = (u32::MAX as u64 - INNER_FIXED_LEN as u64) / 2;
/// Most bytes one token can add to a chunk: 4 (31 bits, rounded up).
///
/// Proof (spec §7, with the model loader's guarantee `V < T ≤ 2^30`, so
/// every frequency `f ≥ 1`). Between symbols the coder's interval width
/// `w = hi − lo + 1` is at least `2^30 + 2`: renormalisation stops only when
/// `lo < HALF ≤ hi` and not (`lo ≥ QUARTER` and `hi < 3·QUARTER`), i.e. when
/// `lo < QUARTER` or `hi ≥ 3·QUARTER`, and either gives `w ≥ 2^30 + 2`
/// (initially `w = 2^32`). Coding a symbol of frequency `f` leaves
/// `w' = ⌊C_j·w/T⌋ − ⌊C_{j−1}·w/T⌋ ≥ ⌊f·w/T⌋ ≥ ⌊w/T⌋ ≥ 1` since `w > T`.
/// Each renormalisation step (E1/E2 or E3) doubles `w` exactly and accounts
/// for exactly one output bit (written at once, or as a pending bit written
/// later or dropped at finish); it stops at the latest when `w ≥ 2^30 + 2`,
/// so after at most 31 doublings of `w' ≥ 1` (2^31 ≥ 2^30 + 2 > 2^30).
/// Hence ≤ 31 bits per token.
pub const MAX_CHUNK_BYTES_PER_TOKEN: u64 = 4;
/// Bytes the finish of a chunk can add beyond 31 bits per token: finish
/// writes one 1 bit (pending bits are not written) and pads to a byte, so a
/// chunk of n ≥ 1 tokens has at most `⌈(31·n + 1)/8⌉ ≤ 4·n + 1` bytes.
pub const CHUNK_FINISH_BYTES: u64 = 1;

/// Largest byte length a conforming encoder can give a chunk of `tokens`
/// tokens: `min(65535, 4·tokens + 1)` (see [`MAX_CHUNK_BYTES_PER_TOKEN`]).
pub fn max_chunk_bytes(tokens: u64) -> u64 {
    MAX_CHUNK_BYTES_PER_TOKEN
        .saturating_mul(tokens)
        .saturating_add(CHUNK_FINISH_BYTES)
        .min(MAX_CHUNK_BYTES as u64)
}

/// Smallest stored k other than the legacy 0.
pub const CONTEXT_LOG2_MIN: u8 = 6;
/// Largest k (4096-token chunks).
pub const CONTEXT_LOG2_MAX: u8 = 12;
/// What a stored `context_length_log2` of 0 means (files from before levels).
pub const CONTEXT_LOG2_ZERO_MEANS: u8 = 6;
/// Offset of `context_length_log2` in the inner payload.
pub const CONTEXT_LOG2_OFFSET: usize = 11;

/// The chunk exponent k a stored `context_length_log2` byte means: the byte
/// itself, except 0 (files from before levels), which means 6 (spec §9).
/// The one definition of that rule.
pub const fn chunk_log2_of(stored: u8) -> u8 {
    if stored == 0 {
        CONTEXT_LOG2_ZERO_MEANS
    } else {
        stored
    }
}

/// Writes byte 11 of an inner payload as the k it means ([`chunk_log2_of`]),
/// so that the two spellings of k = 6 compare equal; a payload too short to
/// have the byte is left as it is.
pub fn normalise_context_log2(payload: &mut [u8]) {
    if let Some(b) = payload.get_mut(CONTEXT_LOG2_OFFSET) {
        *b = chunk_log2_of(*b);
    }
}

/// flags bit0: multifile (not supported by this reader).
pub const FLAG_MULTIFILE: u8 = 0b01;
/// flags bit1: training marker (accepted, informational).
pub const FLAG_TRAINING: u8 = 0b10;

/// The `N` bytes at `at`, if present.
fn array_at<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn u8_at(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    array_at(b, at).map(u16::from_le_bytes)
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    array_at(b, at).map(u32::from_le_bytes)
}

/// 12 + 2·chunk_count (≤ 2^33 + 12: no overflow in u64).
fn inner_header_len(chunk_count: u32) -> u64 {
    (INNER_FIXED_LEN as u64).saturating_add(u64::from(chunk_count).saturating_mul(2))
}

/// The 16-byte outer header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OuterHeader {
    /// bit0 multifile, bit1 training marker; writers write 0.
    pub flags: u8,
    /// How the payload is compressed.
    pub codec: OuterCodec,
    /// Byte length of the original text.
    pub uncompressed_len: u32,
    /// Byte length of the inner header: 12 + 2·chunk_count.
    pub header_len: u32,
}

impl OuterHeader {
    /// Parses and validates the first 16 bytes of `bytes` (magic, flags, codec,
    /// header_len ≥ 12 and even). Consistency with the inner header is checked
    /// once the payload is decompressed.
    pub fn parse(bytes: &[u8]) -> Result<OuterHeader, ContainerError> {
        let too_short = || ContainerError::FileTooShort { len: bytes.len() };
        let head: [u8; OUTER_HEADER_LEN] = array_at(bytes, 0).ok_or_else(too_short)?;
        let magic: [u8; 6] = array_at(&head, 0).ok_or_else(too_short)?;
        if &magic != MAGIC {
            return Err(ContainerError::BadMagic {
                found: magic.to_vec(),
            });
        }
        let flags = u8_at(&head, 6).ok_or_else(too_short)?;
        if flags & !(FLAG_MULTIFILE | FLAG_TRAINING) != 0 {
            return Err(ContainerError::UnknownFlags { flags });
        }
        if flags & FLAG_MULTIFILE != 0 {
            return Err(ContainerError::MultifileUnsupported { flags });
        }
        let codec_id = u8_at(&head, 7).ok_or_else(too_short)?;
        let codec = OuterCodec::from_id(codec_id)
            .ok_or(ContainerError::UnknownCodec { codec: codec_id })?;
        let uncompressed_len = u32_at(&head, 8).ok_or_else(too_short)?;
        let header_len = u32_at(&head, 12).ok_or_else(too_short)?;
        if (header_len as usize) < INNER_FIXED_LEN {
            return Err(ContainerError::HeaderLenTooSmall { header_len });
        }
        if header_len % 2 != 0 {
            return Err(ContainerError::HeaderLenOdd { header_len });
        }
        Ok(OuterHeader {
            flags,
            codec,
            uncompressed_len,
            header_len,
        })
    }

    /// The 16 bytes as stored.
    pub fn to_bytes(&self) -> [u8; OUTER_HEADER_LEN] {
        let mut out = [0u8; OUTER_HEADER_LEN];
        out[..6].copy_from_slice(MAGIC);
        out[6] = self.flags;
        out[7] = self.codec as u8;
        out[8..12].copy_from_slice(&self.uncompressed_len.to_le_bytes());
        out[12..16].copy_from_slice(&self.header_len.to_le_bytes());
        out
    }

    /// chunk_count implied by `header_len` ((header_len − 12) / 2; 0 if header_len < 12).
    pub fn implied_chunk_count(&self) -> u64 {
        u64::from(self.header_len).saturating_sub(INNER_FIXED_LEN as u64) / 2
    }

    /// Largest payload this header allows:
    /// `header_len + min(chunk_count·65535, 4·uncompressed_len + chunk_count)`.
    ///
    /// The chunk table has `chunk_count = (header_len − 12) / 2` entries, each
    /// at most 65535. The second term is [`MAX_CHUNK_BYTES_PER_TOKEN`] bytes
    /// per token plus [`CHUNK_FINISH_BYTES`] per chunk (see their proof), with
    /// tokens ≤ `uncompressed_len` because every token is at least one byte. So a file
    /// of a few dozen bytes can never expand past about 4× the text it claims.
    pub fn payload_cap(&self) -> u64 {
        let chunks = self.implied_chunk_count();
        // chunks < 2^31, so chunks·65535 < 2^47 and 4·2^32 + 2^31 < 2^35: no overflow.
        let by_table = chunks.saturating_mul(MAX_CHUNK_BYTES as u64);
        let by_tokens = MAX_CHUNK_BYTES_PER_TOKEN
            .saturating_mul(u64::from(self.uncompressed_len))
            .saturating_add(chunks.saturating_mul(CHUNK_FINISH_BYTES));
        u64::from(self.header_len).saturating_add(by_table.min(by_tokens))
    }
}

/// The inner header at the start of the decompressed payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerHeader {
    /// First 32 bits of an MD5 of the model path as typed; informational.
    pub model_id_hash: u32,
    /// Number of chunks.
    pub chunk_count: u32,
    /// Token count of the last chunk (1..=K; K when chunk_count is 0).
    pub last_chunk_tokens: u16,
    /// Always 0.
    pub tokenizer_id: u8,
    /// The byte as stored; 0 means 6 (files from before levels).
    pub context_length_log2_raw: u8,
    /// Byte length of each chunk.
    pub chunk_byte_lens: Vec<u16>,
}

impl InnerHeader {
    /// k: the stored `context_length_log2`, with 0 read as 6.
    pub fn chunk_log2(&self) -> u8 {
        chunk_log2_of(self.context_length_log2_raw)
    }

    /// K = 2^k tokens per chunk (saturates for nonsense k on an unvalidated header).
    pub fn chunk_tokens(&self) -> usize {
        1usize
            .checked_shl(u32::from(self.chunk_log2()))
            .unwrap_or(usize::MAX)
    }

    /// (chunk_count − 1)·K + last_chunk_tokens, or 0 when chunk_count is 0.
    pub fn total_tokens(&self) -> u64 {
        if self.chunk_count == 0 {
            return 0;
        }
        let k = u64::try_from(self.chunk_tokens()).unwrap_or(u64::MAX);
        u64::from(self.chunk_count)
            .saturating_sub(1)
            .saturating_mul(k)
            .saturating_add(u64::from(self.last_chunk_tokens))
    }

    /// 12 + 2·chunk_count, the value the outer `header_len` must hold.
    pub fn header_len(&self) -> u64 {
        inner_header_len(self.chunk_count)
    }

    /// Sum of `chunk_byte_lens`.
    pub fn chunk_bytes_total(&self) -> u64 {
        self.chunk_byte_lens.iter().map(|&l| u64::from(l)).sum()
    }

    /// Parses the inner header at the start of `payload`, checking it against
    /// the outer `header_len`: payload ≥ 12 bytes, header_len = 12 + 2·chunk_count,
    /// payload ≥ header_len. Field ranges are checked by [`InnerHeader::validate`].
    pub fn parse(payload: &[u8], outer_header_len: u32) -> Result<InnerHeader, ContainerError> {
        let short = || ContainerError::PayloadShorterThanHeader {
            payload_len: payload.len(),
            header_len: u64::from(outer_header_len),
        };
        if payload.len() < INNER_FIXED_LEN {
            return Err(short());
        }
        let model_id_hash = u32_at(payload, 0).ok_or_else(short)?;
        let chunk_count = u32_at(payload, 4).ok_or_else(short)?;
        let last_chunk_tokens = u16_at(payload, 8).ok_or_else(short)?;
        let tokenizer_id = u8_at(payload, 10).ok_or_else(short)?;
        let context_length_log2_raw = u8_at(payload, CONTEXT_LOG2_OFFSET).ok_or_else(short)?;
        let expected = inner_header_len(chunk_count);
        if u64::from(outer_header_len) != expected {
            return Err(ContainerError::HeaderLenMismatch {
                header_len: outer_header_len,
                chunk_count,
                expected,
            });
        }
        // From here chunk_count ≤ MAX_CHUNK_COUNT and the table's size is header_len.
        let table = match usize::try_from(expected)
            .ok()
            .and_then(|end| payload.get(INNER_FIXED_LEN..end))
        {
            Some(t) => t,
            None => return Err(short()),
        };
        // The table is present in memory, so this allocation is bounded by the input.
        let chunk_byte_lens: Vec<u16> =
            table.chunks_exact(2).filter_map(|p| u16_at(p, 0)).collect();
        Ok(InnerHeader {
            model_id_hash,
            chunk_count,
            last_chunk_tokens,
            tokenizer_id,
            context_length_log2_raw,
            chunk_byte_lens,
        })
    }

    /// Range checks of the inner fields, in this order: context_length_log2
    /// (0 or 6..=12), K ≤ `capacity`, tokenizer_id = 0, chunk_count = 0 ⇔
    /// uncompressed_len = 0, last_chunk_tokens in 1..=K, total tokens ≤
    /// uncompressed_len, no chunk of 0 bytes.
    pub fn validate(
        &self,
        uncompressed_len: u32,
        capacity: Option<usize>,
    ) -> Result<(), ContainerError> {
        let raw = self.context_length_log2_raw;
        if raw != 0 && !(CONTEXT_LOG2_MIN..=CONTEXT_LOG2_MAX).contains(&raw) {
            return Err(ContainerError::ContextLog2OutOfRange { raw });
        }
        let k = self.chunk_tokens();
        if let Some(capacity) = capacity {
            if k > capacity {
                return Err(ContainerError::ChunkTokensExceedCapacity {
                    chunk_tokens: k,
                    capacity,
                });
            }
        }
        if self.tokenizer_id != 0 {
            return Err(ContainerError::UnknownTokenizer {
                tokenizer_id: self.tokenizer_id,
            });
        }
        if self.chunk_count == 0 && uncompressed_len != 0 {
            return Err(ContainerError::TextWithoutChunks { uncompressed_len });
        }
        if self.chunk_count != 0 && uncompressed_len == 0 {
            return Err(ContainerError::ChunksWithoutText {
                chunk_count: self.chunk_count,
            });
        }
        if self.last_chunk_tokens == 0 || usize::from(self.last_chunk_tokens) > k {
            return Err(ContainerError::LastChunkTokensOutOfRange {
                last_chunk_tokens: self.last_chunk_tokens,
                chunk_tokens: k,
            });
        }
        let total_tokens = self.total_tokens();
        if total_tokens > u64::from(uncompressed_len) {
            return Err(ContainerError::MoreTokensThanBytes {
                total_tokens,
                uncompressed_len,
            });
        }
        if let Some(index) = self.chunk_byte_lens.iter().position(|&l| l == 0) {
            return Err(ContainerError::EmptyChunk { index });
        }
        let last = self.chunk_byte_lens.len().saturating_sub(1);
        for (index, &len) in self.chunk_byte_lens.iter().enumerate() {
            let tokens = if index == last {
                u64::from(self.last_chunk_tokens)
            } else {
                u64::try_from(k).unwrap_or(u64::MAX)
            };
            let max = max_chunk_bytes(tokens);
            if u64::from(len) > max {
                return Err(ContainerError::ChunkTooLongForTokens {
                    index,
                    len,
                    tokens,
                    max,
                });
            }
        }
        Ok(())
    }

    /// Appends the serialized inner header (fixed part and chunk table).
    /// `chunk_count` is written as stored; callers keep it equal to
    /// `chunk_byte_lens.len()` (the writer does).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.model_id_hash.to_le_bytes());
        out.extend_from_slice(&self.chunk_count.to_le_bytes());
        out.extend_from_slice(&self.last_chunk_tokens.to_le_bytes());
        out.push(self.tokenizer_id);
        out.push(self.context_length_log2_raw);
        for len in &self.chunk_byte_lens {
            out.extend_from_slice(&len.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outer_bytes(flags: u8, codec: u8, ulen: u32, hlen: u32) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.push(flags);
        b.push(codec);
        b.extend_from_slice(&ulen.to_le_bytes());
        b.extend_from_slice(&hlen.to_le_bytes());
        b
    }

    #[test]
    fn outer_roundtrip() {
        let h = OuterHeader {
            flags: FLAG_TRAINING,
            codec: OuterCodec::Brotli,
            uncompressed_len: 0xdead_beef,
            header_len: 12 + 2 * 7,
        };
        assert_eq!(OuterHeader::parse(&h.to_bytes()), Ok(h));
        assert_eq!(h.implied_chunk_count(), 7);
        // 7 chunks of at most 65535 bytes, or 4·uncompressed_len + 7: the smaller.
        assert_eq!(h.payload_cap(), 26 + 7 * 65535);
        let small = OuterHeader { uncompressed_len: 100, ..h };
        assert_eq!(small.payload_cap(), 26 + 400 + 7);
        let empty = OuterHeader { uncompressed_len: 0, header_len: 12, ..h };
        assert_eq!(empty.payload_cap(), 12);
    }

    #[test]
    fn outer_errors() {
        assert_eq!(
            OuterHeader::parse(&[]),
            Err(ContainerError::FileTooShort { len: 0 })
        );
        let mut b = outer_bytes(0, 0, 1, 14);
        b[5] = b'2';
        assert!(matches!(
            OuterHeader::parse(&b),
            Err(ContainerError::BadMagic { .. })
        ));
        for ((flags, codec, header_len), e) in [
            ((4, 0, 14), ContainerError::UnknownFlags { flags: 4 }),
            ((3, 0, 14), ContainerError::MultifileUnsupported { flags: 3 }),
            ((0, 2, 14), ContainerError::UnknownCodec { codec: 2 }),
            ((0, 0, 10), ContainerError::HeaderLenTooSmall { header_len: 10 }),
            ((0, 0, 15), ContainerError::HeaderLenOdd { header_len: 15 }),
        ] {
            assert_eq!(OuterHeader::parse(&outer_bytes(flags, codec, 1, header_len)), Err(e));
        }
        let max = OuterHeader::parse(&outer_bytes(0, 1, u32::MAX, u32::MAX - 1)).unwrap();
        assert_eq!(max.implied_chunk_count(), MAX_CHUNK_COUNT);
        assert!(max.payload_cap() > u64::from(u32::MAX));
    }

    #[test]
    fn inner_accessors() {
        let mut h = InnerHeader {
            model_id_hash: 0,
            chunk_count: 3,
            last_chunk_tokens: 5,
            tokenizer_id: 0,
            context_length_log2_raw: 0,
            chunk_byte_lens: vec![1, 2, 3],
        };
        assert_eq!(h.chunk_log2(), 6);
        assert_eq!(h.chunk_tokens(), 64);
        assert_eq!(h.total_tokens(), 2 * 64 + 5);
        h.context_length_log2_raw = 10;
        assert_eq!(h.total_tokens(), 2 * 1024 + 5);
        h.context_length_log2_raw = 255;
        assert_eq!(h.chunk_tokens(), usize::MAX);
        let _ = h.total_tokens();
        h.chunk_count = 0;
        assert_eq!(h.total_tokens(), 0);
    }

    #[test]
    fn inner_parse_write_roundtrip() {
        let h = InnerHeader {
            model_id_hash: 0x271b_f17f,
            chunk_count: 2,
            last_chunk_tokens: 9,
            tokenizer_id: 0,
            context_length_log2_raw: 7,
            chunk_byte_lens: vec![300, 4],
        };
        let mut p = Vec::new();
        h.write_to(&mut p);
        assert_eq!(p.len(), 16);
        assert_eq!(InnerHeader::parse(&p, 16), Ok(h.clone()));
        assert_eq!(
            InnerHeader::parse(&p, 18),
            Err(ContainerError::HeaderLenMismatch {
                header_len: 18,
                chunk_count: 2,
                expected: 16
            })
        );
        assert_eq!(
            InnerHeader::parse(&p[..15], 16),
            Err(ContainerError::PayloadShorterThanHeader {
                payload_len: 15,
                header_len: 16
            })
        );
        assert_eq!(
            InnerHeader::parse(&p[..11], 16),
            Err(ContainerError::PayloadShorterThanHeader {
                payload_len: 11,
                header_len: 16
            })
        );
    }

    #[test]
    fn huge_chunk_count_does_not_allocate() {
        // chunk_count u32::MAX with a matching-looking header_len cannot exist
        // (header_len is u32), and a large consistent one fails on length.
        let mut p = vec![0u8; 12];
        p[4..8].copy_from_slice(&(MAX_CHUNK_COUNT as u32).to_le_bytes());
        let hl = (12 + 2 * MAX_CHUNK_COUNT) as u32;
        assert!(matches!(
            InnerHeader::parse(&p, hl),
            Err(ContainerError::PayloadShorterThanHeader { .. })
        ));
        p[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            InnerHeader::parse(&p, u32::MAX - 1),
            Err(ContainerError::HeaderLenMismatch { .. })
        ));
    }
}
