//! Layer-by-layer tensor dumps, format `czip-dump-1` (`adapters/DUMPS.md`):
//! one safetensors file per coded chunk holding what an implementation
//! computed inside the model, compared tensor by tensor with the
//! reference's.
//!
//! | module | what |
//! |---|---|
//! | this one | the format: tensor names in pipeline order, their dtypes, an in-memory [`Dump`] |
//! | [`write`] | the reference's dump of a chunk (optionally with a fault) |
//! | [`read`] | reading and validating any implementation's dump |
//! | [`compare`] | the first differing tensor, position, element; the report |

pub mod compare;
pub mod read;
pub mod write;

use std::collections::BTreeMap;

use crate::model::LayerTrace;

/// The `format` metadata value of version 1.
pub const FORMAT: &str = "czip-dump-1";

/// The integer width the spec gives a dumped value (its safetensors dtype).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    I8,
    I32,
    U32,
}

impl Width {
    /// The safetensors dtype name.
    pub fn dtype(self) -> &'static str {
        match self {
            Width::I8 => "I8",
            Width::I32 => "I32",
            Width::U32 => "U32",
        }
    }

    /// Whether `v` is a value of this width.
    pub fn holds(self, v: i64) -> bool {
        match self {
            Width::I8 => i8::try_from(v).is_ok(),
            Width::I32 => i32::try_from(v).is_ok(),
            Width::U32 => u32::try_from(v).is_ok(),
        }
    }
}

/// The width of `layer{L}.{stage}` for a stage of [`LayerTrace::STAGES`]:
/// the residuals are i32, everything else i8 (spec §6).
fn stage_width(stage: &str) -> Width {
    match stage {
        "resid_attn" | "resid_ffn" => Width::I32,
        _ => Width::I8,
    }
}

/// Every per-position tensor of a dump of a model with `n_layers` layers, in
/// pipeline order (the comparison's order): each layer's stages in
/// [`LayerTrace::STAGES`] order, then `logits`, then `cum`.
pub fn pipeline_tensors(n_layers: usize) -> Vec<(String, Width)> {
    let mut v: Vec<(String, Width)> =
        (0..n_layers).flat_map(|l| LayerTrace::STAGES.iter().map(move |s| (format!("layer{l}.{s}"), stage_width(s)))).collect();
    v.push(("logits".into(), Width::I32));
    v.push(("cum".into(), Width::U32));
    v
}

/// The spec width of a per-position tensor called `name`, if it is one
/// (`layer{L}.{stage}` for any L, `logits`, `cum`).
pub fn width_of(name: &str) -> Option<Width> {
    match name {
        "logits" => Some(Width::I32),
        "cum" => Some(Width::U32),
        _ => {
            let (layer, stage) = name.strip_prefix("layer")?.split_once('.')?;
            let valid_layer = !layer.is_empty() && layer.bytes().all(|b| b.is_ascii_digit()) && (layer == "0" || !layer.starts_with('0'));
            (valid_layer && LayerTrace::STAGES.contains(&stage)).then(|| stage_width(stage))
        }
    }
}

/// The pipeline rank of a per-position tensor name (for ordering a dump's
/// tensors): (layer, stage index), logits and cum after every layer.
pub fn pipeline_rank(name: &str) -> (usize, usize) {
    match name {
        "logits" => (usize::MAX, 0),
        "cum" => (usize::MAX, 1),
        _ => name
            .strip_prefix("layer")
            .and_then(|r| r.split_once('.'))
            .and_then(|(l, s)| Some((l.parse().ok()?, LayerTrace::STAGES.iter().position(|x| *x == s)?)))
            .unwrap_or((usize::MAX, usize::MAX)),
    }
}

/// One per-position tensor: `rows.len() / width` rows of `width` values,
/// row `r` for the dump's `positions[r]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tensor {
    pub width: usize,
    pub values: Vec<i64>,
}

impl Tensor {
    /// Row `r`.
    pub fn row(&self, r: usize) -> &[i64] {
        &self.values[r * self.width..(r + 1) * self.width]
    }
}

/// A dump in memory, validated ([`read::parse`]) or computed ([`write`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    /// `__metadata__`.
    pub metadata: BTreeMap<String, String>,
    /// The chunk's tokens, all of them.
    pub tokens: Vec<u32>,
    /// The chunk positions the tensors' rows hold, increasing.
    pub positions: Vec<usize>,
    /// Per-position tensors by name.
    pub tensors: BTreeMap<String, Tensor>,
    /// Tensors with names this format does not define (ignored).
    pub extra: Vec<String>,
}

impl Dump {
    /// The tensors in pipeline order ([`pipeline_rank`]).
    pub fn in_pipeline_order(&self) -> Vec<(&str, &Tensor)> {
        let mut v: Vec<(&str, &Tensor)> = self.tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
        v.sort_by_key(|(k, _)| pipeline_rank(k));
        v
    }

    /// The metadata value `key`, or "".
    pub fn meta(&self, key: &str) -> &str {
        self.metadata.get(key).map_or("", String::as_str)
    }

    /// The row holding chunk position `p`, if the dump has it.
    pub fn row_of(&self, p: usize) -> Option<usize> {
        self.positions.binary_search(&p).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_widths_and_order() {
        let t = pipeline_tensors(2);
        assert_eq!(t.len(), 22);
        assert_eq!(t[0], ("layer0.attn_in".to_string(), Width::I8));
        assert_eq!(t[4], ("layer0.resid_attn".to_string(), Width::I32));
        assert_eq!(t[10].0, "layer1.attn_in");
        assert_eq!(t[20], ("logits".to_string(), Width::I32));
        assert_eq!(t[21], ("cum".to_string(), Width::U32));
        assert_eq!(width_of("layer12.gate_up"), Some(Width::I8));
        assert_eq!(width_of("layer0.resid_ffn"), Some(Width::I32));
        assert_eq!([width_of("layer01.qkv"), width_of("layer.qkv"), width_of("layer0.nope"), width_of("tokens")], [None; 4]);
        let mut names: Vec<&str> = vec!["cum", "logits", "layer1.qkv", "layer0.down", "layer0.qkv"];
        names.sort_by_key(|n| pipeline_rank(n));
        assert_eq!(names, ["layer0.qkv", "layer0.down", "layer1.qkv", "logits", "cum"]);
    }
}
