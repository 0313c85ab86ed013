//! The CZIPv1 container (spec §9): a 16-byte outer header, then one zstd or
//! brotli stream holding the inner payload (inner header, chunk table, the
//! arithmetic-coded chunks).
//!
//! ```text
//! outer (16 bytes, not compressed)
//!   0..6   "CZIPv1"
//!   6      flags            u8   bit0 multifile, bit1 training marker; writers write 0
//!   7      codec            u8   0 = zstd, 1 = brotli
//!   8..12  uncompressed_len u32 LE   byte length of the original text
//!   12..16 header_len       u32 LE   12 + 2·chunk_count
//! compressed inner payload
//!   0..4   model_id_hash      u32 LE (informational, not checked here)
//!   4..8   chunk_count        u32 LE
//!   8..10  last_chunk_tokens  u16 LE (1..=K)
//!   10     tokenizer_id       u8 (0)
//!   11     context_length_log2 u8 (k, 6..=12; 0 is the pre-levels spelling of 6)
//!   12..   chunk_byte_lens    u16 LE × chunk_count
//!   ..     chunk bytes, concatenated
//! ```
//!
//! [`write_file`] produces a file; [`read_file`] parses one and validates every
//! field (upstream validates only magic and codec; spec §11 makes the full
//! validation normative). Every violation is its own [`ContainerError`]
//! variant, whose `Display` names the field, the value found and the value
//! expected.
//!
//! Reader decisions that the spec leaves open:
//!
//! * **flags**: bit1 (training marker) is accepted and kept in
//!   [`OuterHeader::flags`]. bit0 (multifile) is rejected with
//!   [`ContainerError::MultifileUnsupported`]: the spec does not define how a
//!   multi-file payload is laid out, so such a file cannot be decoded and
//!   accepting it would silently misread it. Bits 2..7 are unknown and
//!   rejected with [`ContainerError::UnknownFlags`].
//! * **empty chunks**: the arithmetic coder's finish always emits at least one
//!   byte (a 1 bit, padded), so a chunk of 0 bytes can never come from a
//!   conforming encoder; it is rejected ([`ContainerError::EmptyChunk`]).
//! * **last_chunk_tokens**: must be in `1..=K` for every file, including empty
//!   ones (chunk_count 0), where upstream writes K and the value carries no
//!   information. 0 is rejected even there.
//! * **tokens vs bytes**: every token of tokenizer 0 decodes to at least one
//!   byte, so `total_tokens ≤ uncompressed_len`; a header claiming more tokens
//!   is rejected ([`ContainerError::MoreTokensThanBytes`]).
//! * **outer stream**: exactly one zstd frame / one brotli stream; bytes after
//!   its end (a second frame, a skippable frame, garbage) are rejected with
//!   [`ContainerError::TrailingCompressedData`]. Brotli's non-standard "large
//!   window" extension is not accepted (a standard RFC 7932 decoder would not
//!   decode it either).
//! * **chunk length vs tokens**: a token never costs more than 31 bits and
//!   finish adds at most one byte, so a chunk of n tokens has at most
//!   `min(65535, 4·n + 1)` bytes (proof at [`MAX_CHUNK_BYTES_PER_TOKEN`]); a
//!   longer chunk is rejected ([`ContainerError::ChunkTooLongForTokens`]).
//! * **decompression cap**: the outer `header_len` fixes chunk_count, and
//!   tokens ≤ `uncompressed_len`, so the payload is at most
//!   `header_len + min(chunk_count·65535, 4·uncompressed_len + chunk_count)`
//!   bytes ([`OuterHeader::payload_cap`]). The payload is
//!   decompressed in a streaming loop that stops as soon as more than that has
//!   been produced ([`ContainerError::PayloadTooLarge`]); the output buffer
//!   only grows with bytes actually produced. Nothing is allocated from an
//!   unchecked count: the chunk table is read only once the payload holds it.
//!   (zstd's window limit, 2^27 bytes by default, bounds its own buffer.)
//!
//! `model_id_hash` is informational and never rejected by the container
//! reader. [`crate::pipeline::decompress`] refuses a file whose hash names
//! another *published* model (see `src/pipeline/model_check.rs` for why that
//! is not the path-dependence spec §9 guards against); an unknown hash is
//! never refused.
//!
//! Order of checks (the first violation is reported): file length ≥ 16, magic,
//! flags, codec, header_len ≥ 12, header_len even; outer decompression (cap,
//! corrupt/truncated stream, trailing bytes); payload ≥ 12, header_len =
//! 12 + 2·chunk_count, payload ≥ header_len; context_length_log2, K ≤
//! capacity, tokenizer_id, chunk_count vs uncompressed_len, last_chunk_tokens,
//! tokens ≤ bytes, empty chunk, chunk length vs its tokens; sum of
//! chunk_byte_lens vs the bytes present.
//! Because the cap comes first, an outer header_len that understates the
//! chunk count (e.g. 12 on a file with chunks) usually surfaces as
//! [`ContainerError::PayloadTooLarge`] rather than
//! [`ContainerError::HeaderLenMismatch`].
//!
//! Checks of the *decoded* text (length = uncompressed_len, valid UTF-8, token
//! ids < V) belong to the decoder, not to this module.
//!
//! Input reaches every line of this module, so it must not panic: the
//! clippy lints below (`unwrap`, `expect`, indexing, `panic!`) are denied
//! outside tests, and `cargo clippy` fails on any that comes back.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

pub mod baselines;
mod file;
mod header;
mod outer_codec;

use std::fmt;

pub use file::{
    decode_payload, encode_payload, payloads_equivalent, read_file, write_file, CzipFile,
    ReadLimits, WriteParams,
};
pub use header::{
    chunk_log2_of, max_chunk_bytes, normalise_context_log2, InnerHeader, OuterHeader,
    CHUNK_FINISH_BYTES, MAX_CHUNK_BYTES_PER_TOKEN, CONTEXT_LOG2_MAX, CONTEXT_LOG2_MIN,
    CONTEXT_LOG2_OFFSET, CONTEXT_LOG2_ZERO_MEANS,
    INNER_FIXED_LEN, MAGIC, MAX_CHUNK_BYTES, MAX_CHUNK_COUNT, OUTER_HEADER_LEN,
};
pub use outer_codec::{
    carries_checksum, compress, decompress_capped, OuterCodec, BROTLI_LGWIN, BROTLI_QUALITY, ZSTD_LEVEL,
};

/// What guards a file's payload against corruption, in words (`czip
/// inspect`, `czip test`): CZIP v1 has no checksum of its own; a zstd
/// payload may carry the zstd frame checksum, which every reader verifies
/// (a file that reads at all has passed it). `file` is the whole file.
pub fn integrity(file: &[u8]) -> &'static str {
    let codec = OuterHeader::parse(file).ok().map(|h| h.codec);
    let stream = file.get(OUTER_HEADER_LEN..).unwrap_or(&[]);
    match codec.and_then(|c| carries_checksum(c, stream).map(|has| (c, has))) {
        Some((OuterCodec::Zstd, true)) => "zstd checksum verified",
        Some((OuterCodec::Zstd, false)) => "no checksum: a zstd frame without one",
        Some((OuterCodec::Brotli, _)) => "no checksum: brotli has none",
        None => "no checksum",
    }
}

/// Every way reading or writing a CZIPv1 file can fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerError {
    /// The file is shorter than the 16-byte outer header.
    FileTooShort { len: usize },
    /// The first 6 bytes are not `CZIPv1`.
    BadMagic { found: Vec<u8> },
    /// `flags` has bits set other than bit0 (multifile) and bit1 (training marker).
    UnknownFlags { flags: u8 },
    /// `flags` bit0 (multifile) is set; its layout is undefined, so it is not supported.
    MultifileUnsupported { flags: u8 },
    /// The outer `codec` byte is neither 0 (zstd) nor 1 (brotli).
    UnknownCodec { codec: u8 },
    /// A codec name other than `zstd` / `brotli` (from `OuterCodec::from_str`).
    UnknownCodecName { name: String },
    /// Outer `header_len` is below 12 (the fixed part of the inner header).
    HeaderLenTooSmall { header_len: u32 },
    /// Outer `header_len` is odd, so it is not 12 + 2·chunk_count for any count.
    HeaderLenOdd { header_len: u32 },
    /// Outer `header_len` differs from 12 + 2·chunk_count of the inner header.
    HeaderLenMismatch {
        header_len: u32,
        chunk_count: u32,
        expected: u64,
    },
    /// The decompressed payload ends before `header_len` bytes (inner header or chunk table truncated).
    PayloadShorterThanHeader { payload_len: usize, header_len: u64 },
    /// The inner `context_length_log2` is neither 0 nor in 6..=12.
    ContextLog2OutOfRange { raw: u8 },
    /// K = 2^k exceeds the model's chunk capacity (RoPE table rows).
    ChunkTokensExceedCapacity {
        chunk_tokens: usize,
        capacity: usize,
    },
    /// The inner `tokenizer_id` is not 0.
    UnknownTokenizer { tokenizer_id: u8 },
    /// chunk_count is 0 but `uncompressed_len` is not.
    TextWithoutChunks { uncompressed_len: u32 },
    /// chunk_count is not 0 but `uncompressed_len` is 0.
    ChunksWithoutText { chunk_count: u32 },
    /// `last_chunk_tokens` is 0 or larger than K.
    LastChunkTokensOutOfRange {
        last_chunk_tokens: u16,
        chunk_tokens: usize,
    },
    /// The header claims more tokens than the text has bytes (every token is ≥ 1 byte).
    MoreTokensThanBytes {
        total_tokens: u64,
        uncompressed_len: u32,
    },
    /// `chunk_byte_lens[index]` is 0; an encoder always writes at least one byte.
    EmptyChunk { index: usize },
    /// `chunk_byte_lens[index]` is more than an encoder can write for the
    /// chunk's token count (`4·tokens + 1`, see [`MAX_CHUNK_BYTES_PER_TOKEN`]).
    ChunkTooLongForTokens {
        index: usize,
        len: u16,
        tokens: u64,
        max: u64,
    },
    /// The payload ends before the sum of `chunk_byte_lens`.
    ChunkDataTruncated { expected: u64, found: usize },
    /// The payload has bytes after the sum of `chunk_byte_lens`.
    TrailingChunkData { expected: u64, found: usize },
    /// The decompressed payload would exceed the cap fixed by the outer header.
    PayloadTooLarge { codec: OuterCodec, limit: u64 },
    /// Bytes remain in the file after the end of the zstd frame / brotli stream.
    TrailingCompressedData { codec: OuterCodec, extra: usize },
    /// The outer zstd/brotli stream is corrupt or truncated.
    Decompress { codec: OuterCodec, detail: String },
    /// Writer: outer compression failed.
    Compress { codec: OuterCodec, detail: String },
    /// Writer: a chunk longer than a u16 length can describe.
    ChunkTooLong { index: usize, len: usize },
    /// Writer: more chunks than `header_len` (u32) can describe.
    TooManyChunks { count: usize, max: u64 },
}

impl fmt::Display for ContainerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ContainerError::*;
        match self {
            FileTooShort { len } => write!(
                f,
                "file length: {len} bytes, expected at least {OUTER_HEADER_LEN} (the outer header)"
            ),
            BadMagic { found } => write!(
                f,
                "magic: found {:?} ({}), expected \"CZIPv1\"",
                String::from_utf8_lossy(found),
                hex(found)
            ),
            UnknownFlags { flags } => write!(
                f,
                "flags: 0x{flags:02x} has unknown bits 0x{:02x}; only bit0 (multifile) and bit1 (training marker) are defined",
                flags & !0b11
            ),
            MultifileUnsupported { flags } => write!(
                f,
                "flags: 0x{flags:02x} has bit0 (multifile) set; multifile payloads are not supported, expected bit0 = 0"
            ),
            UnknownCodec { codec } => {
                write!(f, "codec: unknown id {codec}, expected 0 (zstd) or 1 (brotli)")
            }
            UnknownCodecName { name } => {
                write!(f, "codec: unknown name {name:?}, expected \"zstd\" or \"brotli\"")
            }
            HeaderLenTooSmall { header_len } => write!(
                f,
                "header_len: {header_len}, expected at least {INNER_FIXED_LEN} (12 + 2·chunk_count)"
            ),
            HeaderLenOdd { header_len } => write!(
                f,
                "header_len: {header_len} is odd, expected an even value 12 + 2·chunk_count"
            ),
            HeaderLenMismatch { header_len, chunk_count, expected } => write!(
                f,
                "header_len: outer header says {header_len}, expected {expected} = 12 + 2·chunk_count (inner chunk_count {chunk_count})"
            ),
            PayloadShorterThanHeader { payload_len, header_len } => write!(
                f,
                "header_len: decompressed payload is {payload_len} bytes, expected at least header_len = {header_len} (inner header / chunk table truncated)"
            ),
            ContextLog2OutOfRange { raw } => write!(
                f,
                "context_length_log2: {raw}, expected 0 (meaning 6) or {CONTEXT_LOG2_MIN}..={CONTEXT_LOG2_MAX}"
            ),
            ChunkTokensExceedCapacity { chunk_tokens, capacity } => write!(
                f,
                "context_length_log2: chunk length K = {chunk_tokens} tokens, expected at most the model capacity {capacity} (the file needs a model with at least {chunk_tokens} RoPE rows: was it written with another model?)"
            ),
            UnknownTokenizer { tokenizer_id } => {
                write!(f, "tokenizer_id: {tokenizer_id}, expected 0")
            }
            TextWithoutChunks { uncompressed_len } => write!(
                f,
                "chunk_count: 0 but uncompressed_len is {uncompressed_len}, expected uncompressed_len 0 for a file without chunks"
            ),
            ChunksWithoutText { chunk_count } => write!(
                f,
                "chunk_count: {chunk_count} but uncompressed_len is 0, expected chunk_count 0 for empty text"
            ),
            LastChunkTokensOutOfRange { last_chunk_tokens, chunk_tokens } => write!(
                f,
                "last_chunk_tokens: {last_chunk_tokens}, expected 1..={chunk_tokens} (K)"
            ),
            MoreTokensThanBytes { total_tokens, uncompressed_len } => write!(
                f,
                "last_chunk_tokens/chunk_count: {total_tokens} tokens, expected at most uncompressed_len = {uncompressed_len} (every token is at least one byte)"
            ),
            EmptyChunk { index } => write!(
                f,
                "chunk_byte_lens[{index}]: 0, expected at least 1 (an encoder always writes one byte)"
            ),
            ChunkTooLongForTokens { index, len, tokens, max } => write!(
                f,
                "chunk_byte_lens[{index}]: {len} bytes for {tokens} tokens, expected at most {max} (4·tokens + 1: a token never costs more than 31 bits)"
            ),
            ChunkDataTruncated { expected, found } => write!(
                f,
                "chunk_byte_lens: sum is {expected} bytes but only {found} chunk bytes follow the table (chunk data truncated)"
            ),
            TrailingChunkData { expected, found } => write!(
                f,
                "chunk_byte_lens: sum is {expected} bytes but {found} bytes follow the table ({} trailing bytes)",
                (*found as u64).saturating_sub(*expected)
            ),
            PayloadTooLarge { codec, limit } => write!(
                f,
                "payload ({codec}): decompresses to more than {limit} bytes, expected at most header_len + min(chunk_count·65535, 4·uncompressed_len + chunk_count) = {limit}"
            ),
            TrailingCompressedData { codec, extra } => write!(
                f,
                "payload ({codec}): {extra} bytes after the end of the compressed stream, expected 0"
            ),
            Decompress { codec, detail } => {
                write!(f, "payload ({codec}): decompression failed: {detail}")
            }
            Compress { codec, detail } => {
                write!(f, "payload ({codec}): compression failed: {detail}")
            }
            ChunkTooLong { index, len } => write!(
                f,
                "chunk_byte_lens[{index}]: chunk is {len} bytes, expected at most {MAX_CHUNK_BYTES}"
            ),
            TooManyChunks { count, max } => {
                write!(f, "chunk_count: {count}, expected at most {max}")
            }
        }
    }
}

impl std::error::Error for ContainerError {}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
