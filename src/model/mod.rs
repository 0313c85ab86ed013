//! A loaded `czip-model-v1` (spec §4) and its forward pass (spec §5–§6).
//!
//! Reading order: [`load`] validates the file and resolves every tensor;
//! [`layers`] holds the per-vector operations (requantize, linear, RMSNorm,
//! ReGLU, RoPE); [`attention`] the MQA step with its online softmax;
//! [`forward`] one token step from token id to logits.
//!
//! Weights are never copied: the large i8 matrices are slices of the model
//! file (memory-mapped, or an owned buffer for generated models); only the
//! small tables (exp2, RoPE, score multipliers, sink keys) are decoded into
//! owned arrays at load time.

pub mod attention;
pub mod batch;
pub mod batch_attention;
pub mod cost;
pub mod forward;
pub mod kernels;
pub mod layers;
pub mod load;
pub mod packed_model;
pub mod variant;

pub use batch::BatchForward;
pub use forward::{ForwardState, LayerTrace, StageValues};
pub use kernels::Kernel;
pub use packed_model::PackedModel;
pub use variant::Variant;
pub use load::{ModelError, HEAD_DIM, ROPE_PAIRS};

use crate::tokenizer::Tokenizer;

/// `(mult, shift)` of a requantization (spec §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requant {
    pub mult: i32,
    pub shift: i32,
}

/// The architecture read from the metadata and the tensor shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// V: vocabulary size (rows of `embed.weight` and `head.weight`).
    pub vocab_size: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    /// D = 64 · n_heads.
    pub d_model: usize,
    /// F: the ReGLU width (`ffn.up.weight` has 2F rows).
    pub d_ff: usize,
    /// L: rows of the RoPE tables — the model's chunk-length capacity (§4).
    pub rope_rows: usize,
    /// log2 of the largest chunk length K = 2^k this model can code:
    /// the largest k with 6 <= k <= 12 and 2^k <= L.
    pub max_chunk_log2: u8,
    pub rope_theta_q16: u32,
    /// Id of `<|bos|>`, the context of position 0 (spec §3).
    pub bos: u32,
    /// Metadata `max_seq_len` (informational only: not the capacity, §4).
    pub max_seq_len: Option<u64>,
}

/// Byte range of a tensor inside the model buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    pub start: usize,
    pub len: usize,
}

/// One transformer layer's parameters.
#[derive(Debug, Clone)]
pub(crate) struct LayerParams {
    pub attn_norm: Span,
    pub post_attn_norm: Span,
    pub ffn_norm: Span,
    pub post_ffn_norm: Span,
    pub qkv: Span,
    pub qkv_rq: Requant,
    pub out: Span,
    pub out_rq: Requant,
    pub score_mult: Vec<i32>,
    pub sink_key: Option<[i8; HEAD_DIM]>,
    pub up: Span,
    pub up_rq: Requant,
    pub down: Span,
    pub down_rq: Requant,
}

/// Borrowed views of one layer's weights, resolved once per step.
pub struct LayerWeights<'m> {
    pub attn_norm: &'m [i8],
    pub post_attn_norm: &'m [i8],
    pub ffn_norm: &'m [i8],
    pub post_ffn_norm: &'m [i8],
    /// [D + 128, D], rows Q (all heads), K, V.
    pub qkv: &'m [i8],
    pub qkv_rq: Requant,
    /// [D, D].
    pub out: &'m [i8],
    pub out_rq: Requant,
    pub score_mult: &'m [i32],
    pub sink_key: Option<&'m [i8; HEAD_DIM]>,
    /// [2F, D], rows gate then up.
    pub up: &'m [i8],
    pub up_rq: Requant,
    /// [D, F].
    pub down: &'m [i8],
    pub down_rq: Requant,
}

enum Storage {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Storage {
    fn bytes(&self) -> &[u8] {
        match self {
            Storage::Mapped(m) => m,
            Storage::Owned(v) => v,
        }
    }
}

/// A validated model, ready to run. Cheap to share across threads (`&Model`).
pub struct Model {
    storage: Storage,
    config: Config,
    embed: Span,
    layers: Vec<LayerParams>,
    norm: Span,
    head: Span,
    exp2: [u16; 256],
    rope_cos: Vec<i16>,
    rope_sin: Vec<i16>,
    coef_q24: u32,
    target_total: u32,
    tokenizer: Tokenizer,
    content_hash: u32,
    file_len: u64,
    /// The matrices in the kernels' layout, built on first use ([`Model::packed`]).
    packed: std::sync::OnceLock<PackedModel>,
}

impl Model {
    fn i8s(&self, s: Span) -> &[i8] {
        let bytes = &self.storage.bytes()[s.start..s.start + s.len];
        // SAFETY: i8 and u8 have the same size, alignment and validity.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<i8>(), bytes.len()) }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }
    /// `lut.exp2` as stored (spec §2).
    pub fn exp2(&self) -> &[u16; 256] {
        &self.exp2
    }
    /// `lut.rope_cos`, L × 32 row-major.
    pub fn rope_cos(&self) -> &[i16] {
        &self.rope_cos
    }
    /// `lut.rope_sin`, L × 32 row-major.
    pub fn rope_sin(&self) -> &[i16] {
        &self.rope_sin
    }
    /// Vocabulary softmax coefficient (spec §3).
    pub fn coef_q24(&self) -> u32 {
        self.coef_q24
    }
    /// Frequency-table total T (spec §3).
    pub fn target_total(&self) -> u32 {
        self.target_total
    }
    /// First 32 bits (big-endian, i.e. the first 8 hex digits) of the MD5 of
    /// the model file's bytes: the default `model_id_hash` of files we write.
    pub fn content_hash(&self) -> u32 {
        self.content_hash
    }
    /// Size in bytes of the model file.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }
    /// `embed.weight`, [V, D].
    pub fn embed(&self) -> &[i8] {
        self.i8s(self.embed)
    }
    /// `norm.weight`, [D].
    pub fn final_norm(&self) -> &[i8] {
        self.i8s(self.norm)
    }
    /// `head.weight`, [V, D].
    pub fn head(&self) -> &[i8] {
        self.i8s(self.head)
    }
    /// The weight matrices laid out for the int8 kernels (built once, on
    /// the first call, then shared by every worker).
    pub fn packed(&self) -> &PackedModel {
        self.packed.get_or_init(|| PackedModel::new(self))
    }
    /// Weights of layer `n` (< n_layers).
    pub fn layer(&self, n: usize) -> LayerWeights<'_> {
        let p = &self.layers[n];
        LayerWeights {
            attn_norm: self.i8s(p.attn_norm),
            post_attn_norm: self.i8s(p.post_attn_norm),
            ffn_norm: self.i8s(p.ffn_norm),
            post_ffn_norm: self.i8s(p.post_ffn_norm),
            qkv: self.i8s(p.qkv),
            qkv_rq: p.qkv_rq,
            out: self.i8s(p.out),
            out_rq: p.out_rq,
            score_mult: &p.score_mult,
            sink_key: p.sink_key.as_ref(),
            up: self.i8s(p.up),
            up_rq: p.up_rq,
            down: self.i8s(p.down),
            down_rq: p.down_rq,
        }
    }
}
