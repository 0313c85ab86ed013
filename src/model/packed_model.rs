//! The model's weight matrices (and its exp2 table) in the kernels' layout ([`PackedRows`]),
//! built once per model (lazily, on first use by a fast path: see
//! [`Model::packed`](super::Model::packed)) and shared read-only by every
//! worker. About as large as the matrices themselves (≈ 1.9 MB for the
//! published models); nothing is copied per chunk.

use super::kernels::exps::Exp2Lut;
use super::kernels::PackedRows;
use super::{Model, HEAD_DIM};

/// One layer's matrices, packed.
pub struct PackedLayer {
    /// `attn.qkv.weight`, [D + 128, D].
    pub qkv: PackedRows,
    /// `attn.out.weight`, [D, D].
    pub out: PackedRows,
    /// `ffn.up.weight`, [2F, D].
    pub up: PackedRows,
    /// `ffn.down.weight`, [D, F].
    pub down: PackedRows,
}

pub struct PackedModel {
    pub layers: Vec<PackedLayer>,
    /// `head.weight`, [V, D].
    pub head: PackedRows,
    /// `lut.exp2` in the forms the vectorised exps read.
    pub exp2: Exp2Lut,
}

impl PackedModel {
    pub fn new(model: &Model) -> Self {
        let c = model.config();
        let (d, f, v) = (c.d_model, c.d_ff, c.vocab_size);
        let layers = (0..c.n_layers)
            .map(|n| {
                let w = model.layer(n);
                PackedLayer {
                    qkv: PackedRows::from_matrix(w.qkv, d + 2 * HEAD_DIM, d),
                    out: PackedRows::from_matrix(w.out, d, d),
                    up: PackedRows::from_matrix(w.up, 2 * f, d),
                    down: PackedRows::from_matrix(w.down, d, f),
                }
            })
            .collect();
        PackedModel { layers, head: PackedRows::from_matrix(model.head(), v, d), exp2: Exp2Lut::new(model.exp2()) }
    }
}
