//! Whole-file reading and writing.

use super::header::{InnerHeader, OuterHeader, INNER_FIXED_LEN, MAX_CHUNK_COUNT, OUTER_HEADER_LEN};
use super::outer_codec::{compress, decompress_capped, OuterCodec};
use super::ContainerError;

/// What the reader checks beyond the file itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadLimits {
    /// The model's chunk capacity (RoPE table rows); K must be ≤ this when `Some`.
    pub model_capacity_tokens: Option<usize>,
}

/// A parsed and validated CZIPv1 file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CzipFile {
    pub outer: OuterHeader,
    pub inner: InnerHeader,
    /// All chunks' bytes, concatenated (the payload after the chunk table).
    pub chunk_data: Vec<u8>,
    /// The decompressed inner payload, as decompressed (kept for hashing).
    pub payload: Vec<u8>,
    /// `chunk_offsets[i]..chunk_offsets[i + 1]` is chunk i in `chunk_data`.
    chunk_offsets: Vec<usize>,
}

impl CzipFile {
    /// The parameters that write this file's headers back as read: its
    /// codec, `model_id_hash`, `context_length_log2` byte as stored (0 stays
    /// 0), `uncompressed_len` and `last_chunk_tokens`.
    pub fn write_params(&self) -> WriteParams {
        WriteParams {
            codec: self.outer.codec,
            model_id_hash: self.inner.model_id_hash,
            chunk_log2: self.inner.context_length_log2_raw,
            uncompressed_len: self.outer.uncompressed_len,
            last_chunk_tokens: self.inner.last_chunk_tokens,
        }
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> usize {
        self.chunk_offsets.len().saturating_sub(1)
    }

    /// The bytes of chunk `i`; an empty slice when `i` is out of range.
    pub fn chunk(&self, i: usize) -> &[u8] {
        let (Some(&start), Some(&end)) = (
            self.chunk_offsets.get(i),
            i.checked_add(1).and_then(|j| self.chunk_offsets.get(j)),
        ) else {
            return &[];
        };
        self.chunk_data.get(start..end).unwrap_or(&[])
    }

    /// The chunks in order.
    pub fn chunks(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.chunk_count()).map(move |i| self.chunk(i))
    }

    /// Tokens coded in chunk `i`: K for all but the last, `last_chunk_tokens`
    /// for the last, 0 out of range.
    pub fn tokens_in_chunk(&self, i: usize) -> usize {
        let n = self.chunk_count();
        if i >= n {
            0
        } else if i.checked_add(1) == Some(n) {
            usize::from(self.inner.last_chunk_tokens)
        } else {
            self.inner.chunk_tokens()
        }
    }

    /// K, tokens per chunk.
    pub fn chunk_tokens(&self) -> usize {
        self.inner.chunk_tokens()
    }

    /// Total token count.
    pub fn total_tokens(&self) -> u64 {
        self.inner.total_tokens()
    }
}

/// Parses and validates a whole CZIPv1 file (spec §9). See the module
/// documentation for the order of checks and the decisions taken.
pub fn read_file(bytes: &[u8], limits: &ReadLimits) -> Result<CzipFile, ContainerError> {
    let outer = OuterHeader::parse(bytes)?;
    let compressed = bytes.get(OUTER_HEADER_LEN..).unwrap_or(&[]);
    let cap = usize::try_from(outer.payload_cap()).unwrap_or(usize::MAX);
    let payload = decompress_capped(outer.codec, compressed, cap)?;
    decode_payload(&outer, payload, limits)
}

/// Validates a decompressed inner payload against its (already parsed) outer
/// header and splits it into chunks.
pub fn decode_payload(
    outer: &OuterHeader,
    payload: Vec<u8>,
    limits: &ReadLimits,
) -> Result<CzipFile, ContainerError> {
    let inner = InnerHeader::parse(&payload, outer.header_len)?;
    inner.validate(outer.uncompressed_len, limits.model_capacity_tokens)?;
    // `parse` guarantees payload.len() >= header_len.
    let header_len = usize::try_from(inner.header_len()).map_err(|_| {
        ContainerError::PayloadShorterThanHeader {
            payload_len: payload.len(),
            header_len: inner.header_len(),
        }
    })?;
    let data = payload.get(header_len..).unwrap_or(&[]);
    let expected = inner.chunk_bytes_total();
    let found = data.len();
    if (found as u64) < expected {
        return Err(ContainerError::ChunkDataTruncated { expected, found });
    }
    if (found as u64) > expected {
        return Err(ContainerError::TrailingChunkData { expected, found });
    }
    // chunk_count ≤ (payload.len() − 12) / 2 here, so this is bounded by the input.
    let mut chunk_offsets = Vec::with_capacity(inner.chunk_byte_lens.len().saturating_add(1));
    let mut at = 0usize;
    chunk_offsets.push(at);
    for &len in &inner.chunk_byte_lens {
        // The running sum never exceeds `found` (checked above).
        at = at.saturating_add(usize::from(len));
        chunk_offsets.push(at);
    }
    let chunk_data = data.to_vec();
    Ok(CzipFile {
        outer: *outer,
        inner,
        chunk_data,
        payload,
        chunk_offsets,
    })
}

/// What a writer needs besides the chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteParams {
    pub codec: OuterCodec,
    /// Informational; upstream writes the first 32 bits of MD5(model path as typed).
    pub model_id_hash: u32,
    /// k, written to `context_length_log2`: 6..=12. 0 is accepted and written
    /// as 0 (the pre-levels spelling of 6), only to reproduce old files; new
    /// files should write 6.
    pub chunk_log2: u8,
    /// Byte length of the original text.
    pub uncompressed_len: u32,
    /// Tokens in the last chunk, 1..=K; K when there are no chunks (empty text).
    pub last_chunk_tokens: u16,
}

/// Builds the inner payload (inner header, chunk table, chunks), without
/// outer compression. Applies the reader's checks, so whatever it returns
/// reads back: k range, chunk_count = 0 ⇔ uncompressed_len = 0,
/// last_chunk_tokens in 1..=K, total tokens ≤ uncompressed_len, no empty
/// chunk, no chunk over 65535 bytes, at most [`MAX_CHUNK_COUNT`] chunks.
pub fn encode_payload(params: &WriteParams, chunks: &[Vec<u8>]) -> Result<Vec<u8>, ContainerError> {
    if chunks.len() as u64 > MAX_CHUNK_COUNT {
        return Err(ContainerError::TooManyChunks {
            count: chunks.len(),
            max: MAX_CHUNK_COUNT,
        });
    }
    let chunk_count = u32::try_from(chunks.len()).map_err(|_| ContainerError::TooManyChunks {
        count: chunks.len(),
        max: MAX_CHUNK_COUNT,
    })?;
    let mut chunk_byte_lens = Vec::with_capacity(chunks.len());
    for (index, c) in chunks.iter().enumerate() {
        let len = u16::try_from(c.len()).map_err(|_| ContainerError::ChunkTooLong {
            index,
            len: c.len(),
        })?;
        chunk_byte_lens.push(len);
    }
    let inner = InnerHeader {
        model_id_hash: params.model_id_hash,
        chunk_count,
        last_chunk_tokens: params.last_chunk_tokens,
        tokenizer_id: 0,
        context_length_log2_raw: params.chunk_log2,
        chunk_byte_lens,
    };
    inner.validate(params.uncompressed_len, None)?;
    let data_len = chunks
        .iter()
        .map(Vec::len)
        .fold(0usize, usize::saturating_add);
    let table_len = usize::try_from(inner.header_len()).unwrap_or(usize::MAX);
    let mut payload = Vec::with_capacity(table_len.saturating_add(data_len));
    inner.write_to(&mut payload);
    for c in chunks {
        payload.extend_from_slice(c);
    }
    Ok(payload)
}

/// Writes a whole file: outer header (flags 0) and the compressed payload.
pub fn write_file(params: &WriteParams, chunks: &[Vec<u8>]) -> Result<Vec<u8>, ContainerError> {
    let payload = encode_payload(params, chunks)?;
    // encode_payload capped the count at MAX_CHUNK_COUNT, so this fits.
    let header_len = u32::try_from(
        2u64.saturating_mul(chunks.len() as u64)
            .saturating_add(INNER_FIXED_LEN as u64),
    )
    .map_err(|_| ContainerError::TooManyChunks {
        count: chunks.len(),
        max: MAX_CHUNK_COUNT,
    })?;
    let outer = OuterHeader {
        flags: 0,
        codec: params.codec,
        uncompressed_len: params.uncompressed_len,
        header_len,
    };
    let compressed = compress(params.codec, &payload)?;
    let mut out = Vec::with_capacity(OUTER_HEADER_LEN.saturating_add(compressed.len()));
    out.extend_from_slice(&outer.to_bytes());
    out.extend_from_slice(&compressed);
    Ok(out)
}

/// Payload equality for conformance: byte for byte, except that 0 and 6 in
/// byte 11 (`context_length_log2`) are the same value (spec §9).
pub fn payloads_equivalent(a: &[u8], b: &[u8]) -> bool {
    const K_BYTE: usize = 11;
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .enumerate()
            .all(|(i, (&x, &y))| x == y || (i == K_BYTE && matches!((x, y), (0, 6) | (6, 0))))
}

#[cfg(test)]
mod tests {
    use super::super::header::{CONTEXT_LOG2_MAX, CONTEXT_LOG2_MIN, MAGIC};
    use super::*;
    use proptest::prelude::*;

    fn params(codec: OuterCodec, k: u8, ulen: u32, last: u16) -> WriteParams {
        WriteParams {
            codec,
            model_id_hash: 0x271b_f17f,
            chunk_log2: k,
            uncompressed_len: ulen,
            last_chunk_tokens: last,
        }
    }

    const NO_LIMITS: ReadLimits = ReadLimits {
        model_capacity_tokens: None,
    };

    #[test]
    fn write_read_small() {
        for codec in [OuterCodec::Zstd, OuterCodec::Brotli] {
            let chunks = vec![vec![1u8, 2, 3], vec![0xff; 500], vec![9]];
            let bytes = write_file(&params(codec, 7, 1000, 5), &chunks).unwrap();
            assert_eq!(&bytes[..6], MAGIC);
            assert_eq!(bytes[6], 0);
            assert_eq!(bytes[7], codec.id());
            let f = read_file(&bytes, &NO_LIMITS).unwrap();
            assert_eq!(f.chunk_count(), 3);
            assert_eq!(f.chunk(1), &chunks[1][..]);
            assert_eq!(f.chunk(3), &[] as &[u8]);
            assert_eq!(f.chunk(usize::MAX), &[] as &[u8]);
            assert_eq!(f.tokens_in_chunk(0), 128);
            assert_eq!(f.tokens_in_chunk(2), 5);
            assert_eq!(f.tokens_in_chunk(3), 0);
            assert_eq!(f.total_tokens(), 2 * 128 + 5);
            assert_eq!(f.outer.header_len, 18);
            let mut d = f.clone();
            d.payload = encode_payload(&params(codec, 7, 1000, 5), &chunks).unwrap();
            assert_eq!(d.payload, f.payload);
            // Capacity check.
            let small = ReadLimits {
                model_capacity_tokens: Some(64),
            };
            assert_eq!(
                read_file(&bytes, &small),
                Err(ContainerError::ChunkTokensExceedCapacity {
                    chunk_tokens: 128,
                    capacity: 64
                })
            );
        }
        // Empty text.
        let bytes = write_file(&params(OuterCodec::Brotli, 10, 0, 1024), &[]).unwrap();
        let f = read_file(&bytes, &NO_LIMITS).unwrap();
        assert_eq!(
            (f.chunk_count(), f.total_tokens(), f.outer.header_len),
            (0, 0, 12)
        );
    }

    #[test]
    fn writer_rejects_what_the_reader_would() {
        let z = OuterCodec::Zstd;
        assert_eq!(
            write_file(&params(z, 6, 70_000, 1), &[vec![1; 65_536]]),
            Err(ContainerError::ChunkTooLong {
                index: 0,
                len: 65_536
            })
        );
        // 65535 bytes fit the u16 length but not one token (at most 4·1 + 1 bytes).
        assert_eq!(
            write_file(&params(z, 6, 70_000, 1), &[vec![1; 65_535]]),
            Err(ContainerError::ChunkTooLongForTokens {
                index: 0,
                len: 65_535,
                tokens: 1,
                max: 5
            })
        );
        assert!(write_file(&params(z, 6, 70_000, 1), &[vec![1; 5]]).is_ok());
        assert!(write_file(&params(z, 12, 70_000, 4096), &[vec![1; 16_385]]).is_ok());
        assert_eq!(
            write_file(&params(z, 12, 70_000, 4096), &[vec![1; 16_386]]),
            Err(ContainerError::ChunkTooLongForTokens {
                index: 0,
                len: 16_386,
                tokens: 4096,
                max: 16_385
            })
        );
        // Every chunk but the last holds K tokens: 4·64 + 1 = 257 bytes at most.
        assert!(write_file(&params(z, 6, 70_000, 1), &[vec![1; 257], vec![1; 5]]).is_ok());
        assert_eq!(
            write_file(&params(z, 6, 70_000, 1), &[vec![1; 258], vec![1; 5]]),
            Err(ContainerError::ChunkTooLongForTokens {
                index: 0,
                len: 258,
                tokens: 64,
                max: 257
            })
        );
        assert_eq!(
            write_file(&params(z, 6, 100, 1), &[vec![1], vec![]]),
            Err(ContainerError::EmptyChunk { index: 1 })
        );
        assert_eq!(
            write_file(&params(z, 5, 10, 1), &[vec![1]]),
            Err(ContainerError::ContextLog2OutOfRange { raw: 5 })
        );
        assert_eq!(
            write_file(&params(z, 13, 10, 1), &[vec![1]]),
            Err(ContainerError::ContextLog2OutOfRange { raw: 13 })
        );
        assert_eq!(
            write_file(&params(z, 6, 10, 0), &[vec![1]]),
            Err(ContainerError::LastChunkTokensOutOfRange {
                last_chunk_tokens: 0,
                chunk_tokens: 64
            })
        );
        assert_eq!(
            write_file(&params(z, 6, 10, 65), &[vec![1]]),
            Err(ContainerError::LastChunkTokensOutOfRange {
                last_chunk_tokens: 65,
                chunk_tokens: 64
            })
        );
        assert_eq!(
            write_file(&params(z, 6, 0, 1), &[vec![1]]),
            Err(ContainerError::ChunksWithoutText { chunk_count: 1 })
        );
        assert_eq!(
            write_file(&params(z, 6, 3, 64), &[]),
            Err(ContainerError::TextWithoutChunks {
                uncompressed_len: 3
            })
        );
        assert_eq!(
            write_file(&params(z, 6, 65, 2), &[vec![1], vec![2]]),
            Err(ContainerError::MoreTokensThanBytes {
                total_tokens: 66,
                uncompressed_len: 65
            })
        );
        // Legacy k = 0 is written as 0 and read as 6.
        let f = read_file(
            &write_file(&params(z, 0, 10, 3), &[vec![1]]).unwrap(),
            &NO_LIMITS,
        )
        .unwrap();
        assert_eq!(
            (f.inner.context_length_log2_raw, f.inner.chunk_log2()),
            (0, 6)
        );
    }

    #[test]
    fn payload_equivalence() {
        let a = encode_payload(&params(OuterCodec::Zstd, 0, 10, 3), &[vec![1]]).unwrap();
        let b = encode_payload(&params(OuterCodec::Zstd, 6, 10, 3), &[vec![1]]).unwrap();
        let c = encode_payload(&params(OuterCodec::Zstd, 7, 10, 3), &[vec![1]]).unwrap();
        assert!(
            payloads_equivalent(&a, &b)
                && payloads_equivalent(&b, &a)
                && payloads_equivalent(&a, &a)
        );
        assert!(!payloads_equivalent(&a, &c) && !payloads_equivalent(&b, &c));
        assert!(!payloads_equivalent(&a, &a[..a.len() - 1]));
        let mut d = b.clone();
        d[10] = 6;
        assert!(!payloads_equivalent(&b, &d));
    }

    /// Valid parameters and chunks for a round trip.
    fn valid_input() -> impl Strategy<Value = (WriteParams, Vec<Vec<u8>>)> {
        (
            prop_oneof![Just(OuterCodec::Zstd), Just(OuterCodec::Brotli)],
            prop_oneof![Just(0u8), CONTEXT_LOG2_MIN..=CONTEXT_LOG2_MAX],
            any::<u32>(),
            prop::collection::vec(prop::collection::vec(any::<u8>(), 1..=257), 0..10),
            any::<prop::sample::Index>(),
            0u32..100_000,
        )
            .prop_map(|(codec, k, hash, chunks, last, slack)| {
                let kk = 1u32 << if k == 0 { 6 } else { k };
                let (last, ulen) = if chunks.is_empty() {
                    (kk, 0)
                } else {
                    // At least enough tokens for the last chunk's bytes (≤ 4·last + 1).
                    let need = (chunks[chunks.len() - 1].len() as u32).saturating_sub(1).div_ceil(4);
                    let last = (last.index(kk as usize) as u32 + 1).max(need);
                    (last, (chunks.len() as u32 - 1) * kk + last + slack)
                };
                let p = WriteParams {
                    codec,
                    model_id_hash: hash,
                    chunk_log2: k,
                    uncompressed_len: ulen,
                    last_chunk_tokens: last as u16,
                };
                (p, chunks)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        #[test]
        fn write_read_roundtrip((p, chunks) in valid_input()) {
            let bytes = write_file(&p, &chunks).unwrap();
            let f = read_file(&bytes, &NO_LIMITS).unwrap();
            prop_assert_eq!(f.outer.codec, p.codec);
            prop_assert_eq!(f.outer.flags, 0);
            prop_assert_eq!(f.outer.uncompressed_len, p.uncompressed_len);
            prop_assert_eq!(f.inner.model_id_hash, p.model_id_hash);
            prop_assert_eq!(f.inner.context_length_log2_raw, p.chunk_log2);
            prop_assert_eq!(f.inner.last_chunk_tokens, p.last_chunk_tokens);
            prop_assert_eq!(f.inner.chunk_count as usize, chunks.len());
            let got: Vec<Vec<u8>> = f.chunks().map(<[u8]>::to_vec).collect();
            prop_assert_eq!(&got, &chunks);
            prop_assert_eq!(&f.payload, &encode_payload(&p, &chunks).unwrap());
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            body in prop::collection::vec(any::<u8>(), 0..200),
            magic in any::<bool>(),
            cap in prop::option::of(0usize..5000),
        ) {
            let mut b = if magic { MAGIC.to_vec() } else { Vec::new() };
            b.extend_from_slice(&body);
            let _ = read_file(&b, &ReadLimits { model_capacity_tokens: cap });
        }

        #[test]
        fn arbitrary_header_and_payload_never_panic(
            flags in prop_oneof![Just(0u8), Just(2u8), any::<u8>()],
            codec in 0u8..3,
            ulen in prop_oneof![Just(0u32), 1u32..100, any::<u32>()],
            hl in prop_oneof![12u32..40, any::<u32>()],
            payload in prop::collection::vec(any::<u8>(), 0..80),
        ) {
            let mut b = MAGIC.to_vec();
            b.push(flags);
            b.push(codec);
            b.extend_from_slice(&ulen.to_le_bytes());
            b.extend_from_slice(&hl.to_le_bytes());
            let c = OuterCodec::from_id(codec).unwrap_or(OuterCodec::Zstd);
            b.extend_from_slice(&compress(c, &payload).unwrap());
            if let Ok(f) = read_file(&b, &NO_LIMITS) {
                prop_assert_eq!(u64::from(f.outer.header_len), f.inner.header_len());
                prop_assert!(f.total_tokens() <= u64::from(f.outer.uncompressed_len));
                prop_assert_eq!(&f.payload, &payload);
            }
        }

        #[test]
        fn mutated_valid_files_never_panic(
            (p, chunks) in valid_input(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in prop::option::of(any::<prop::sample::Index>()),
        ) {
            let mut b = write_file(&p, &chunks).unwrap();
            for (at, v) in &edits {
                let i = at.index(b.len());
                b[i] = *v;
            }
            if let Some(cut) = cut {
                b.truncate(cut.index(b.len() + 1));
            }
            let _ = read_file(&b, &NO_LIMITS);
        }

        #[test]
        fn mutated_valid_payloads_never_panic(
            (p, chunks) in valid_input(),
            edits in prop::collection::vec((0usize..40, any::<u8>()), 1..6),
            extra in prop::collection::vec(any::<u8>(), 0..4),
        ) {
            let mut payload = encode_payload(&p, &chunks).unwrap();
            for (at, v) in &edits {
                if let Some(x) = payload.get_mut(*at) { *x = *v; }
            }
            payload.extend_from_slice(&extra);
            let hl = (12 + 2 * chunks.len()) as u32;
            let outer = OuterHeader { flags: 0, codec: p.codec, uncompressed_len: p.uncompressed_len, header_len: hl };
            let _ = decode_payload(&outer, payload, &NO_LIMITS);
        }
    }
}
