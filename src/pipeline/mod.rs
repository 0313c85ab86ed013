//! The compression pipeline of spec §8: text → tokens → independent chunks →
//! arithmetic-coded bytes → CZIPv1 container, and back.
//!
//! Chunks are coded in parallel with rayon, each by a [`ChunkCoder`] that
//! owns one [`ForwardState`](crate::model::ForwardState) for its whole life:
//! no copy of the weights per chunk, no allocation per token. The output is
//! assembled in chunk order, so it is identical for any thread count; run a
//! function inside `rayon::ThreadPool::install` to choose the count.

mod chunk;
mod compress;
mod decompress;
mod model_check;

pub use chunk::{ChunkCoder, LockstepDecoder, LOCKSTEP_MAX, PREFILL_ROWS};
pub use compress::{compress, encode_chunks, write_encoded, CompressOptions, EncodedChunks};
pub use decompress::{
    decode_file, decode_tokens, decode_tokens_unverified, decompress, decompress_with, read_for_model, text_from_tokens,
    DecompressOptions,
};
pub use model_check::ModelIdCheck;

/// Smallest and largest chunk length exponents of spec §8 (64 and 4096 tokens).
pub const MIN_CHUNK_LOG2: u8 = 6;
pub const MAX_CHUNK_LOG2: u8 = 12;

/// Chunk length exponent for a compression level: level ℓ = 1..=5 → k = ℓ + 5.
pub fn level_to_chunk_log2(level: u8) -> Option<u8> {
    (1..=5).contains(&level).then_some(level + 5)
}

/// Counts tokens as they are coded, for a progress display. Shared by
/// reference between the workers and whoever displays it.
pub type Progress = std::sync::atomic::AtomicU64;
