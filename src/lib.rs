//! `czip`: the reference engine of CZIP v1, a deterministic neural text
//! compressor (`../shared/spec/CZIP-v1.md`).
//!
//! The modules follow the pipeline, bottom up:
//!
//! | module | spec | what |
//! |---|---|---|
//! | [`numerics`] | §1, §6 | rounding shifts and divisions, isqrt, clamp, argmax, fixed-point exp |
//! | [`tables`] | §2 | exp2 and RoPE tables regenerated from their formulas |
//! | [`model`] | §4–§6 | model loading and validation, layers, attention, one forward step |
//! | [`tokenizer`] | §4 | the embedded tiktoken-style BPE |
//! | [`freq_table`] | §6 | logits → cumulative frequency table |
//! | [`coder`] | §7 | the 32-bit arithmetic coder |
//! | [`container`] | §9 | the CZIPv1 file: headers, outer codecs, strict reader |
//! | [`pipeline`] | §8 | chunking, parallel compression and decompression |
//! | [`safetensors_write`] | §4 | writing safetensors files (synthetic models, tensor dumps) |
//!
//! Every function states which spec section it implements and the widths of
//! its intermediates. Nothing reachable from input panics: malformed models
//! and files come back as errors that name the field.

pub mod coder;
pub mod conformance;
pub mod container;
pub mod error;
pub mod freq_table;
pub mod model;
pub mod numerics;
pub mod pipeline;
pub mod safetensors_write;
pub mod stage_timers;
pub mod tables;
pub mod tokenizer;

pub use error::Error;
pub use model::Model;
