//! CZIPv1 file → text (spec §8.4, §9), validating everything the reader
//! cannot check alone: decoded length and UTF-8.

use std::sync::atomic::Ordering;

use super::map_in_order;
use super::model_check::{check_model_id, wrong_model_hint, ModelIdCheck};
use super::chunk::{LockstepDecoder, LOCKSTEP_MAX};
use super::{Engine, Progress};
use crate::container::{read_file, ContainerError, CzipFile, ReadLimits};
use crate::error::{ChunkFailure, Error};
use crate::model::Kernel;
use crate::tokenizer::TokenizerError;
use crate::Model;
use crate::stage_timers::{self, Stage};

/// [`Engine::decode_tokens`] with the default engine (the fastest kernel,
/// the current rayon pool).
pub fn decode_tokens(model: &Model, file: &CzipFile, progress: Option<&Progress>) -> Result<Vec<Vec<u32>>, Error> {
    Engine::default().decode_tokens(model, file, progress)
}

/// [`Engine::decode_tokens_unverified`] with the default engine.
pub fn decode_tokens_unverified(model: &Model, file: &CzipFile) -> Result<Vec<Vec<u32>>, Error> {
    Engine::default().decode_tokens_unverified(model, file)
}

impl Engine {
    /// Decodes every chunk's tokens (in chunk order) from a parsed file.
    ///
    /// Chunks are independent (spec §8), so they are decoded in groups of up
    /// to [`LOCKSTEP_MAX`] in lockstep ([`LockstepDecoder`]), the groups in
    /// parallel on this engine's pool. The group size follows the thread
    /// count so that every thread gets work; the tokens never depend on it.
    pub fn decode_tokens(&self, model: &Model, file: &CzipFile, progress: Option<&Progress>) -> Result<Vec<Vec<u32>>, Error> {
        self.install(|| decode_tokens_with(self.kernel(), model, file, progress, true))
    }

    /// [`decode_tokens`](Self::decode_tokens) without the re-encoding check:
    /// the raw decoding, for diagnostics that localise where a foreign file
    /// departs (never for output).
    pub fn decode_tokens_unverified(&self, model: &Model, file: &CzipFile) -> Result<Vec<Vec<u32>>, Error> {
        self.install(|| decode_tokens_with(self.kernel(), model, file, None, false))
    }
}

fn decode_tokens_with(kernel: Kernel, model: &Model, file: &CzipFile, progress: Option<&Progress>, verify: bool) -> Result<Vec<Vec<u32>>, Error> {
    let k = file.chunk_tokens();
    let count = file.chunk_count();
    let threads = rayon::current_num_threads().max(1);
    let group = count.div_ceil(threads).clamp(1, LOCKSTEP_MAX);
    // Each group reports its lowest failing chunk and `map_in_order` the
    // lowest failing group: the error names the lowest failing chunk of the
    // file, whatever the group size (which follows the thread count).
    let groups: Vec<Vec<Vec<u32>>> = map_in_order(
        count.div_ceil(group),
        || {
            let mut d = LockstepDecoder::new(model, k, group, kernel);
            d.verify = verify;
            d
        },
        |dec, g| {
            let first = g * group;
            let chunks: Vec<(&[u8], usize)> =
                (first..(first + group).min(count)).map(|i| (file.chunk(i), file.tokens_in_chunk(i))).collect();
            let toks = dec.decode(&chunks).map_err(|(j, position, detail)| Error::Chunk {
                chunk: first + j,
                position,
                detail,
                hint: String::new(),
            })?;
            if let Some(p) = progress {
                p.fetch_add(chunks.iter().map(|c| c.1 as u64).sum(), Ordering::Relaxed);
            }
            Ok::<_, Error>(toks)
        },
    )?;
    Ok(groups.into_iter().flatten().collect())
}

/// How [`decompress_with`] reads a file. The default is what
/// [`decompress`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecompressOptions {
    /// Whether a `model_id_hash` naming another published model refuses the
    /// file (default) or is ignored as spec §9 literally says.
    pub model_id_check: ModelIdCheck,
}

impl DecompressOptions {
    /// The spec-literal reader: `model_id_hash` never refuses a file.
    pub const SPEC_LITERAL: DecompressOptions = DecompressOptions { model_id_check: ModelIdCheck::Ignore };
}

/// [`Engine::decompress`] with the default engine (the fastest kernel, the
/// current rayon pool).
pub fn decompress(model: &Model, bytes: &[u8], progress: Option<&Progress>) -> Result<Vec<u8>, Error> {
    Engine::default().decompress(model, bytes, progress)
}

/// [`Engine::decompress_with`] with the default engine.
pub fn decompress_with(model: &Model, bytes: &[u8], opts: &DecompressOptions, progress: Option<&Progress>) -> Result<Vec<u8>, Error> {
    Engine::default().decompress_with(model, bytes, opts, progress)
}

/// [`Engine::decompress_with`] with its decoding stage supplied by the caller (which
/// may share decoded tokens between files with equal payloads: `decode` must
/// answer what [`decode_file`] would). Every other stage and check is
/// [`Engine::decompress_with`]'s own, in its order.
pub fn decompress_staged<C: std::borrow::Borrow<Vec<Vec<u32>>>>(
    model: &Model,
    bytes: &[u8],
    opts: &DecompressOptions,
    decode: impl FnOnce(&CzipFile) -> Result<C, Error>,
) -> Result<Vec<u8>, Error> {
    let file = read_for_model(model, bytes, opts)?;
    let chunks = decode(&file)?;
    text_from_tokens(model, &file, chunks.borrow())
}

/// [`Engine::decode_file`] with the default engine.
pub fn decode_file(model: &Model, file: &CzipFile, progress: Option<&Progress>) -> Result<Vec<Vec<u32>>, Error> {
    Engine::default().decode_file(model, file, progress)
}

impl Engine {
    /// Decompresses a complete CZIPv1 file. Fails (never returns wrong text)
    /// when the file is malformed, when its `model_id_hash` names another
    /// published model ([`Error::WrongModel`], before decoding), when the
    /// decoded length differs from `uncompressed_len`, when the decoded bytes
    /// are not UTF-8, or when the chunks are not the canonical encoding of
    /// the text.
    pub fn decompress(&self, model: &Model, bytes: &[u8], progress: Option<&Progress>) -> Result<Vec<u8>, Error> {
        self.decompress_with(model, bytes, &DecompressOptions::default(), progress)
    }

    /// [`decompress`](Self::decompress) with options;
    /// `DecompressOptions::SPEC_LITERAL` decodes whatever `model_id_hash` says.
    pub fn decompress_with(&self, model: &Model, bytes: &[u8], opts: &DecompressOptions, progress: Option<&Progress>) -> Result<Vec<u8>, Error> {
        decompress_staged(model, bytes, opts, |file| self.decode_file(model, file, progress))
    }

    /// The second stage of [`decompress_with`](Self::decompress_with): every
    /// chunk's tokens ([`decode_tokens`](Self::decode_tokens), verified),
    /// with the wrong-model hint on a failing chunk. A function of the model
    /// and the inner payload only.
    pub fn decode_file(&self, model: &Model, file: &CzipFile, progress: Option<&Progress>) -> Result<Vec<Vec<u32>>, Error> {
        self.decode_tokens(model, file, progress).map_err(|e| match e {
            Error::Chunk { chunk, position, detail, .. } => Error::Chunk { chunk, position, detail, hint: wrong_model_hint(model, file) },
            other => other,
        })
    }
}

/// The first stage of [`Engine::decompress_with`]: the container, read and validated
/// for this model (its capacity; its `model_id_hash` as `opts` says).
pub fn read_for_model(model: &Model, bytes: &[u8], opts: &DecompressOptions) -> Result<CzipFile, Error> {
    let limits = ReadLimits { model_capacity_tokens: Some(model.config().rope_rows) };
    let timer = stage_timers::start(Stage::OuterCodec);
    let read = read_file(bytes, &limits);
    drop(timer);
    let file = match read {
        Ok(f) => f,
        Err(e @ ContainerError::ChunkTokensExceedCapacity { .. }) => {
            // K above this model's capacity: when the file is otherwise valid
            // and names another published model, that is the cause to report.
            if let Ok(f) = read_file(bytes, &ReadLimits::default()) {
                check_model_id(model, &f, opts.model_id_check)?;
            }
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    check_model_id(model, &file, opts.model_id_check)?;
    Ok(file)
}

/// The last stage: the text of the decoded tokens, checked against the
/// header (`uncompressed_len`), UTF-8, and the tokenizer (the tokens must be
/// the text's own tokenization).
pub fn text_from_tokens(model: &Model, file: &CzipFile, chunks: &[Vec<u32>]) -> Result<Vec<u8>, Error> {
    let _t = stage_timers::start(Stage::Tokenizer);
    // Only a failure needs the hint.
    let hint = || wrong_model_hint(model, file);
    let expected = u64::from(file.outer.uncompressed_len);
    // Reserve from what was decoded, never from a claimed length.
    let decoded_tokens: usize = chunks.iter().map(Vec::len).sum();
    let mut text = Vec::with_capacity(decoded_tokens.min(file.outer.uncompressed_len as usize));
    for (i, toks) in chunks.iter().enumerate() {
        model.tokenizer().decode_into(toks, &mut text).map_err(|e| {
            // The first token without bytes (the only way decoding fails).
            let position = match &e {
                TokenizerError::TokenOutOfRange { id, .. } => toks.iter().position(|t| t == id),
                _ => None,
            };
            Error::Chunk { chunk: i, position, detail: ChunkFailure::Token(e.to_string()), hint: hint() }
        })?;
        if text.len() as u64 > expected {
            break;
        }
    }
    if text.len() as u64 != expected {
        return Err(Error::DecodedLengthMismatch { expected, decoded: text.len() as u64, hint: hint() });
    }
    let text_str = match std::str::from_utf8(&text) {
        Ok(t) => t,
        Err(e) => return Err(Error::DecodedNotUtf8 { valid_up_to: e.valid_up_to(), hint: hint() }),
    };
    // A conforming encoder codes the tokenization of the text; anything else
    // is a damaged file whose decoding happens to look plausible.
    let retokenized = model.tokenizer().encode(text_str)?;
    if let Some(position) = first_difference(&retokenized, chunks.iter().flatten().copied()) {
        return Err(Error::TokensNotCanonical { position, hint: hint() });
    }
    Ok(text)
}

/// Index of the first token where `a` and `b` differ (including a length difference).
fn first_difference(a: &[u32], b: impl Iterator<Item = u32>) -> Option<usize> {
    let mut n = 0;
    for (i, y) in b.enumerate() {
        if a.get(i) != Some(&y) {
            return Some(i);
        }
        n = i + 1;
    }
    (n != a.len()).then_some(n)
}
