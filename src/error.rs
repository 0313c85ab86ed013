//! The crate-level error: every way compressing or decompressing can fail.
//! Each variant's message says what is wrong and where.

use std::fmt;

use crate::coder::CoderError;
use crate::container::ContainerError;
use crate::freq_table::FreqTableError;
use crate::model::forward::StepError;
use crate::model::ModelError;
use crate::tokenizer::TokenizerError;

#[derive(Debug)]
pub enum Error {
    Model(ModelError),
    Container(ContainerError),
    Tokenizer(TokenizerError),
    /// Input text is not UTF-8 (spec §8.1); `valid_up_to` is the byte offset
    /// of the first invalid sequence.
    InputNotUtf8 { valid_up_to: usize },
    /// `uncompressed_len` is a u32: inputs of 4 GiB or more cannot be stored.
    InputTooLarge { len: u64 },
    /// Requested chunk length 2^k is outside 6..=12 or above the model's capacity.
    ChunkLengthUnsupported { log2: u8, max_log2: u8, rope_rows: usize },
    /// A chunk failed to code or decode; `hint` (possibly empty) says whether
    /// the file's `model_id_hash` suggests another model.
    ///
    /// `chunk` is the lowest-index failing chunk, whatever the thread count
    /// (see `map_in_order` in `src/pipeline/mod.rs`). `position` is the
    /// 0-based token position within that chunk (`0..tokens_in_chunk`), or
    /// `None` when the failure concerns the chunk as a whole
    /// ([`ChunkFailure::NotCanonical`]: the check runs after its last token).
    Chunk { chunk: usize, position: Option<usize>, detail: ChunkFailure, hint: String },
    /// The decoded text's length differs from `uncompressed_len`.
    DecodedLengthMismatch { expected: u64, decoded: u64, hint: String },
    /// The decoded bytes are not UTF-8.
    DecodedNotUtf8 { valid_up_to: usize, hint: String },
    /// The decoded tokens are not the tokenization of the decoded text, so
    /// no conforming encoder wrote them (the encoder tokenizes the text);
    /// `position` is the first token that differs.
    TokensNotCanonical { position: usize, hint: String },
    /// The file's `model_id_hash` names another published model (its content
    /// hash or the path hash upstream wrote for it): decoding with this model
    /// gives the text back only by accident. Raised before decoding, unless the caller
    /// chose [`ModelIdCheck::Ignore`](crate::pipeline::ModelIdCheck::Ignore)
    /// (see `src/pipeline/model_check.rs` for why this is not the
    /// path-dependence spec §9 guards against). `this_model` is the decoding
    /// model's name when it is a published one, `content_hash` its hash.
    WrongModel { stored: u32, written_with: &'static str, this_model: Option<&'static str>, content_hash: u32 },
}

/// What went wrong inside one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkFailure {
    Coder(CoderError),
    Step(StepError),
    FreqTable(FreqTableError),
    /// The decoded token has no bytes in the vocabulary (e.g. a special id
    /// that the text could not have contained).
    Token(String),
    /// The chunk decoded to tokens, but re-encoding those tokens with the
    /// same tables does not give back the chunk's bytes: a conforming encoder
    /// did not write them (corrupt file, or a file written with another
    /// model). The arithmetic code has no redundancy of its own, so this is
    /// the check that catches a damaged chunk whose decoded text happens to
    /// keep the right length and be valid UTF-8. `matched` is the length of
    /// the common prefix of the stored and re-encoded bytes.
    NotCanonical { stored_len: usize, reencoded_len: usize, matched: usize },
}

impl fmt::Display for ChunkFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkFailure::Coder(e) => write!(f, "{e}"),
            ChunkFailure::Step(e) => write!(f, "{e}"),
            ChunkFailure::FreqTable(e) => write!(f, "{e}"),
            ChunkFailure::Token(e) => f.write_str(e),
            ChunkFailure::NotCanonical { stored_len, reencoded_len, matched } => write!(
                f,
                "chunk bytes are not the encoding of the tokens they decode to (stored {stored_len} bytes, \
                 re-encoded {reencoded_len}, identical for the first {matched}): the file is corrupt or was \
                 written with another model"
            ),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Model(e) => write!(f, "{e}"),
            Error::Container(e) => write!(f, "{e}"),
            Error::Tokenizer(e) => write!(f, "tokenizer: {e}"),
            Error::InputNotUtf8 { valid_up_to } => {
                write!(f, "input is not valid UTF-8 (first invalid byte at offset {valid_up_to}); CZIP v1 compresses text only")
            }
            Error::InputTooLarge { len } => {
                write!(f, "input is {len} bytes; uncompressed_len is a u32, so at most 4294967295 bytes fit")
            }
            Error::ChunkLengthUnsupported { log2, max_log2, rope_rows } => write!(
                f,
                "chunk length 2^{log2}: expected 2^6..=2^{max_log2} (the model's RoPE tables have {rope_rows} rows)"
            ),
            Error::Chunk { chunk, position: Some(position), detail, hint } => {
                write!(f, "chunk {chunk}, token position {position}: {detail}{hint}")
            }
            Error::Chunk { chunk, position: None, detail, hint } => write!(f, "chunk {chunk}: {detail}{hint}"),
            Error::DecodedLengthMismatch { expected, decoded, hint } => {
                write!(f, "uncompressed_len: header says {expected} bytes, decoding gave {decoded}{hint}")
            }
            Error::DecodedNotUtf8 { valid_up_to, hint } => {
                write!(f, "decoded text is not valid UTF-8 (first invalid byte at offset {valid_up_to}){hint}")
            }
            Error::TokensNotCanonical { position, hint } => write!(
                f,
                "decoded tokens are not the tokenization of the decoded text (first difference at token {position}): \
                 no encoder wrote this file, it is corrupt{hint}"
            ),
            Error::WrongModel { stored, written_with, this_model, content_hash } => {
                write!(f, "model_id_hash {stored:08x} says the file was written with {written_with}, not with this model (")?;
                if let Some(name) = this_model {
                    write!(f, "{name}, ")?;
                }
                write!(
                    f,
                    "content hash {content_hash:08x}): decode it with {written_with}; to decode it anyway (spec §9 \
                     treats the field as informational), pass --ignore-model-id-hash (library: ModelIdCheck::Ignore)"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<ModelError> for Error {
    fn from(e: ModelError) -> Self {
        Error::Model(e)
    }
}
impl From<ContainerError> for Error {
    fn from(e: ContainerError) -> Self {
        Error::Container(e)
    }
}
impl From<TokenizerError> for Error {
    fn from(e: TokenizerError) -> Self {
        Error::Tokenizer(e)
    }
}
