//! Text → CZIPv1 file (spec §8, §9).

use std::sync::atomic::Ordering;

use super::{map_in_order, ChunkCoder, Engine, Progress, MIN_CHUNK_LOG2};
use crate::container::{write_file, OuterCodec, WriteParams};
use crate::error::Error;
use crate::model::Kernel;
use crate::Model;
use crate::stage_timers::{self, Stage};

/// How to compress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressOptions {
    /// k of K = 2^k tokens per chunk; `None` = the model's full capacity.
    pub chunk_log2: Option<u8>,
    pub codec: OuterCodec,
    /// `None` = the model's content hash ([`Model::content_hash`]).
    pub model_id_hash: Option<u32>,
}

impl Default for CompressOptions {
    fn default() -> Self {
        CompressOptions { chunk_log2: None, codec: OuterCodec::Brotli, model_id_hash: None }
    }
}

/// [`Engine::compress`] with the default engine (the fastest kernel, the
/// current rayon pool).
pub fn compress(
    model: &Model,
    text: &[u8],
    opts: &CompressOptions,
    progress: Option<&Progress>,
) -> Result<Vec<u8>, Error> {
    Engine::default().compress(model, text, opts, progress)
}

/// [`Engine::encode_chunks`] with the default engine.
pub fn encode_chunks(model: &Model, text: &[u8], chunk_log2: Option<u8>, progress: Option<&Progress>) -> Result<EncodedChunks, Error> {
    Engine::default().encode_chunks(model, text, chunk_log2, progress)
}

impl Engine {
    /// Compresses `text` (which must be UTF-8) into a complete CZIPv1 file:
    /// [`encode_chunks`](Self::encode_chunks) then [`write_encoded`]. Chunks
    /// are coded in parallel on this engine's pool; the result does not
    /// depend on the thread count nor the kernel. `progress`, when given, is
    /// advanced by each chunk's token count as it completes.
    pub fn compress(&self, model: &Model, text: &[u8], opts: &CompressOptions, progress: Option<&Progress>) -> Result<Vec<u8>, Error> {
        compress_staged(model, opts, |k| self.encode_chunks(model, text, Some(k), progress))
    }

    /// Tokenizes `text` and codes its chunks of `2^chunk_log2` tokens
    /// (`None` = the model's capacity).
    pub fn encode_chunks(&self, model: &Model, text: &[u8], chunk_log2: Option<u8>, progress: Option<&Progress>) -> Result<EncodedChunks, Error> {
        self.install(|| encode_chunks_with(self.kernel(), model, text, chunk_log2, progress))
    }
}

/// [`compress`] with its coding stage supplied by the caller (which may share
/// coded chunks between files that differ only in the outer codec or the
/// recorded `model_id_hash`): `encode(k)` must answer what
/// [`encode_chunks`]`(model, text, Some(k), …)` would, k being
/// `opts.chunk_log2` or the model's capacity. The container is
/// [`compress`]'s own.
pub fn compress_staged<E: std::borrow::Borrow<EncodedChunks>>(
    model: &Model,
    opts: &CompressOptions,
    encode: impl FnOnce(u8) -> Result<E, Error>,
) -> Result<Vec<u8>, Error> {
    let encoded = encode(opts.chunk_log2.unwrap_or(model.config().max_chunk_log2))?;
    write_encoded(model, encoded.borrow(), opts)
}

/// A text's coded chunks, before the container: a function of the model,
/// the text and the chunk length only (not of the outer codec or the
/// recorded `model_id_hash`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedChunks {
    pub chunk_log2: u8,
    pub uncompressed_len: u32,
    pub last_chunk_tokens: u16,
    pub chunks: Vec<Vec<u8>>,
}

/// [`Engine::encode_chunks`] on the current pool.
fn encode_chunks_with(kernel: Kernel, model: &Model, text: &[u8], chunk_log2: Option<u8>, progress: Option<&Progress>) -> Result<EncodedChunks, Error> {
    let cfg = model.config();
    let k = chunk_log2.unwrap_or(cfg.max_chunk_log2);
    if !(MIN_CHUNK_LOG2..=cfg.max_chunk_log2).contains(&k) {
        return Err(Error::ChunkLengthUnsupported { log2: k, max_log2: cfg.max_chunk_log2, rope_rows: cfg.rope_rows });
    }
    let uncompressed_len =
        u32::try_from(text.len()).map_err(|_| Error::InputTooLarge { len: text.len() as u64 })?;
    let text = std::str::from_utf8(text).map_err(|e| Error::InputNotUtf8 { valid_up_to: e.valid_up_to() })?;
    let tokens = {
        let _t = stage_timers::start(Stage::Tokenizer);
        model.tokenizer().encode(text)?
    };
    let chunk_len = 1usize << k;
    // With fewer chunks than the pool can balance (a chunk is the unit of
    // work), let idle workers take rows of the busy ones' chunks.
    let split = tokens.len().div_ceil(chunk_len) < 8 * rayon::current_num_threads();

    let chunk_count = tokens.len().div_ceil(chunk_len);
    let chunks: Vec<Vec<u8>> = map_in_order(
        chunk_count,
        || ChunkCoder::with_kernel(model, chunk_len, kernel).split_rows(split),
        |coder, index| {
            let chunk = &tokens[index * chunk_len..((index + 1) * chunk_len).min(tokens.len())];
            let bytes = coder.encode(chunk).map_err(|(position, detail)| Error::Chunk {
                chunk: index,
                position: Some(position),
                detail,
                hint: String::new(),
            })?;
            if let Some(p) = progress {
                p.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
            Ok::<_, Error>(bytes)
        },
    )?;

    let last_chunk_tokens = match tokens.len() % chunk_len {
        0 => chunk_len,
        r => r,
    } as u16;
    Ok(EncodedChunks { chunk_log2: k, uncompressed_len, last_chunk_tokens, chunks })
}

/// The CZIPv1 file of coded chunks, with `opts.codec` and `opts.model_id_hash`
/// (`None` = the model's content hash); `opts.chunk_log2` is not used (the
/// chunks carry theirs).
pub fn write_encoded(model: &Model, encoded: &EncodedChunks, opts: &CompressOptions) -> Result<Vec<u8>, Error> {
    let params = WriteParams {
        codec: opts.codec,
        model_id_hash: opts.model_id_hash.unwrap_or_else(|| model.content_hash()),
        chunk_log2: encoded.chunk_log2,
        uncompressed_len: encoded.uncompressed_len,
        last_chunk_tokens: encoded.last_chunk_tokens,
    };
    let _t = stage_timers::start(Stage::OuterCodec);
    Ok(write_file(&params, &encoded.chunks)?)
}
