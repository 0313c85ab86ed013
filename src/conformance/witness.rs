//! Witnesses of the known divergences of spec §11: replaying the reference
//! over a chunk and noting each position where a known departure *would*
//! change a value. A runner that localised a failure to a chunk and a token
//! uses these to name the cause.

use crate::model::attention::{attend_head_variant, AttentionVariant, KvCache};
use crate::model::layers::rope;
use crate::model::{ForwardState, LayerTrace, HEAD_DIM, ROPE_PAIRS};
use crate::numerics::{clamp_i8, isqrt32_restoring};
use crate::Model;

/// One position where a known departure changes a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    pub position: usize,
    /// The §11 point (a `divergence:` tag name).
    pub tag: &'static str,
    pub what: String,
    /// The tensor of a dump (`adapters/DUMPS.md`) where the departure first
    /// shows: `layer{L}.{stage}` or `logits`.
    pub tensor: String,
}

/// Whether round-half-up division (public Python) changes RMSNorm's inverse
/// for this mean square: `8388608 mod s = (s−1)/2` with `s` odd.
pub(crate) fn rms_inverse_differs(mean_sq: u64) -> bool {
    let ms = (mean_sq + 1).min(u64::from(u32::MAX / 65536)) as u32;
    let s = isqrt32_restoring(ms * 65536);
    s % 2 == 1 && 8_388_608 % s == (s - 1) / 2
}

fn mean_sq_i8(x: impl Iterator<Item = i64>, d: usize) -> u64 {
    x.map(|v| (v * v) as u64).sum::<u64>() / d as u64
}

/// Scans positions `0..=upto` of one chunk (`tokens`, coded from BOS):
/// position p is fed `p == 0 ? BOS : tokens[p − 1]`, so a history of n
/// tokens has positions 0..=n (the last one is `model_logits`' prediction
/// after the whole history; a chunk's own tokens stop at n − 1).
pub fn scan(model: &Model, tokens: &[u32], upto: usize) -> Vec<Witness> {
    let c = model.config();
    let d = c.d_model;
    let n = (upto + 1).min(tokens.len() + 1);
    let mut st = ForwardState::new(model, n.max(1));
    let mut logits = vec![0i32; c.vocab_size];
    let mut trace: Vec<LayerTrace> = Vec::new();
    let mut caches: Vec<KvCache> = (0..c.n_layers).map(|_| KvCache::new(n.max(1))).collect();
    let mut out = Vec::new();
    let long = n > 256; // below ~257 positions Σ w·|v| cannot reach 2^31
    for p in 0..n {
        let prev = if p == 0 { c.bos } else { tokens[p - 1] };
        trace.clear();
        if st.step_traced(model, prev, &mut logits, Some(&mut trace)).is_err() {
            break;
        }
        let mut note = |tag, what: String, tensor: String| out.push(Witness { position: p, tag, what, tensor });
        // RMSNorm inputs, in order of use.
        let emb = &model.embed()[prev as usize * d..(prev as usize + 1) * d];
        for (l, t) in trace.iter().enumerate() {
            let x_in: Vec<i64> = if l == 0 {
                emb.iter().map(|&v| i64::from(v)).collect()
            } else {
                trace[l - 1].resid_ffn.iter().map(|&v| i64::from(clamp_i8(v))).collect()
            };
            // Each norm with the stage its output first shows in.
            let checks = [
                ("attn_norm", "attn_in", mean_sq_i8(x_in.into_iter(), d)),
                ("ffn_norm", "resid_attn", mean_sq_i8(t.attn_proj.iter().map(|&v| i64::from(v)), d)),
                ("post_attn_norm", "ffn_in", mean_sq_i8(t.resid_attn.iter().map(|&v| i64::from(clamp_i8(v))), d)),
                ("post_ffn_norm", "resid_ffn", mean_sq_i8(t.down.iter().map(|&v| i64::from(v)), d)),
            ];
            for (name, stage, ms) in checks {
                if rms_inverse_differs(ms) {
                    note("udiv_round_half_up", format!("RMSNorm layers.{l}.{name} has ⌊Σx²/D⌋ = {ms}"), format!("layer{l}.{stage}"));
                }
            }
        }
        if let Some(last) = trace.last() {
            let ms = mean_sq_i8(last.resid_ffn.iter().map(|&v| i64::from(clamp_i8(v))), d);
            if rms_inverse_differs(ms) {
                note("udiv_round_half_up", format!("RMSNorm of the final norm has ⌊Σx²/D⌋ = {ms}"), "logits".to_string());
            }
        }
        // Attention: exact vs a wrapping 32-bit accumulator (replayed from the trace's QKV).
        for (l, t) in trace.iter().enumerate() {
            let w = model.layer(l);
            let row = p * ROPE_PAIRS..(p + 1) * ROPE_PAIRS;
            let (cos, sin) = (&model.rope_cos()[row.clone()], &model.rope_sin()[row]);
            let mut k_rot = [0i8; HEAD_DIM];
            rope(&t.qkv[d..d + HEAD_DIM], cos, sin, false, &mut k_rot);
            caches[l].push(&k_rot, &t.qkv[d + HEAD_DIM..]);
            if !long {
                continue;
            }
            for h in 0..c.n_heads {
                let q_raw = &t.qkv[h * HEAD_DIM..(h + 1) * HEAD_DIM];
                let (mut y_exact, mut y_wrapped) = ([0i8; HEAD_DIM], [0i8; HEAD_DIM]);
                for (variant, y) in [(AttentionVariant::NORMATIVE, &mut y_exact), (AttentionVariant::WRAP32, &mut y_wrapped)] {
                    attend_head_variant(variant, q_raw, p, &caches[l], model.rope_cos(), model.rope_sin(), w.score_mult[h], w.sink_key, model.exp2(), y);
                }
                if y_exact != y_wrapped {
                    note("i32_accumulator", format!("attention layers.{l} head {h}: Σ w·v passes 2^31 and a 32-bit accumulator changes the output"), format!("layer{l}.attn"));
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::ops::Context;

    /// `model_logits {tokens: [978], positions: [1]}` (a disagreement
    /// fuzzing found against the public Python package): the prediction
    /// after the whole history is position 1, and its witness is there.
    #[test]
    fn the_position_after_the_history_is_scanned() {
        let ctx = Context::new("../shared/models".into(), "vectors".into(), "../shared/golden/corpus".into());
        let m = ctx.model("v001").unwrap();
        let w: Vec<(usize, &str)> = scan(&m, &[978], 1).iter().map(|w| (w.position, w.tag)).collect();
        assert_eq!(w.first(), Some(&(1, "udiv_round_half_up")), "{w:?}");
        assert!(scan(&m, &[978], 0).is_empty());
    }
}
