//! The batched forward pass: the same integers as
//! [`ForwardState::step`](super::ForwardState::step), computed for many rows
//! at once so that every weight row is used for a batch of inputs
//! (matrix-matrix products through [`kernels`](super::kernels)).
//!
//! A *slot* is one chunk being coded, with its own KV caches (spec §8: every
//! chunk independent). A call to [`BatchForward::forward`] takes a list of
//! rows `(slot, previous token)`; each row is the next position of its slot.
//! Two uses:
//!
//! * **prefill** (compression knows every token): the rows are consecutive
//!   positions of one slot;
//! * **lockstep** (decompression): one row per slot, many slots, one step.
//!
//! Why it is exact. Every operation of spec §6 except the attention acts on
//! one row at a time; the kernels compute exact integer dot products, so a
//! row's result does not depend on the other rows. The attention of a row at
//! position p reads keys and values 0..=p of its slot: all K/V of the batch
//! are written to the caches first, then each row reads exactly its prefix
//! (later positions of the same slot, computed by the batched score product,
//! are ignored), in position order (see [`batch_attention`](super::batch_attention)).

use super::batch_attention::{softmax_head, SoftmaxScratch};
use super::forward::StepError;
use super::kernels::elementwise::{add_rows, clamp_rows, reglu, requantize, rmsnorm, rope, scores};
use super::kernels::values::PackedValues;
use super::kernels::{gemm, Kernel, PackedRows};
use super::{Model, HEAD_DIM};
use crate::numerics::{sra_rne_tte_s32, sra_rne_tte_s64_to_s32};

/// K/V of one layer of one slot. Keys are RoPE'd and packed (one packed row
/// per position) so that all heads' scores are one kernel call; values are
/// grouped for the weighted-sum kernel ([`PackedValues`]).
struct LayerKv {
    k: PackedRows,
    v: PackedValues,
}

struct Slot {
    layers: Vec<LayerKv>,
    len: usize,
}

/// Workspace for batches of up to `max_rows` rows over `slots` slots of up
/// to `capacity` positions. Allocated once per worker; nothing is allocated
/// per batch or per token.
pub struct BatchForward {
    kernel: Kernel,
    max_rows: usize,
    capacity: usize,
    slots: Vec<Slot>,
    pos: Vec<usize>,
    x: Vec<i32>,
    xi8: Vec<i8>,
    normed: Vec<i8>,
    acc: Vec<i32>,
    qkv: Vec<i8>,
    qrot: Vec<i8>,
    attn: Vec<i8>,
    proj: Vec<i8>,
    gu: Vec<i8>,
    act: Vec<i8>,
    scores: Vec<i32>,
    head_scores: Vec<i32>,
    softmax: SoftmaxScratch,
}

impl BatchForward {
    /// `capacity` is clamped to the model's RoPE rows.
    pub fn new(model: &Model, kernel: Kernel, max_rows: usize, capacity: usize, slots: usize) -> Self {
        let c = model.config();
        let capacity = capacity.min(c.rope_rows);
        let (d, f, h) = (c.d_model, c.d_ff, c.n_heads);
        let fp = f.div_ceil(4) * 4;
        let wide = (d + 2 * HEAD_DIM).max(2 * f);
        let slots = (0..slots)
            .map(|_| Slot {
                layers: (0..c.n_layers)
                    .map(|_| LayerKv { k: PackedRows::with_capacity(capacity, HEAD_DIM), v: PackedValues::with_capacity(capacity) })
                    .collect(),
                len: 0,
            })
            .collect();
        BatchForward {
            kernel,
            max_rows,
            capacity,
            slots,
            pos: vec![0; max_rows],
            x: vec![0; max_rows * d],
            xi8: vec![0; max_rows * d],
            normed: vec![0; max_rows * d],
            acc: vec![0; max_rows * wide],
            qkv: vec![0; max_rows * (d + 2 * HEAD_DIM)],
            qrot: vec![0; max_rows * d],
            attn: vec![0; max_rows * d],
            proj: vec![0; max_rows * d],
            gu: vec![0; max_rows * 2 * f],
            act: vec![0; max_rows * fp],
            scores: vec![0; max_rows * h * capacity],
            head_scores: vec![0; capacity],
            softmax: SoftmaxScratch::new(capacity),
        }
    }

    pub fn kernel(&self) -> Kernel {
        self.kernel
    }
    pub fn max_rows(&self) -> usize {
        self.max_rows
    }
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// Starts a new chunk in `slot`: empty KV caches.
    pub fn reset_slot(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        s.len = 0;
        s.layers.iter_mut().for_each(|l| {
            l.k.clear();
            l.v.clear();
        });
    }

    /// Positions already computed in `slot`.
    pub fn slot_len(&self, slot: usize) -> usize {
        self.slots[slot].len
    }

    /// Runs one batch: row r is `(slot, previous token)` at the next
    /// position of its slot (rows of the same slot in position order).
    /// Writes `rows.len() × V` logits, row-major. On error nothing is changed.
    pub fn forward(&mut self, model: &Model, rows: &[(usize, u32)], logits: &mut [i32]) -> Result<(), StepError> {
        let c = model.config();
        let (d, f, v) = (c.d_model, c.d_ff, c.vocab_size);
        let n = rows.len();
        assert!(n <= self.max_rows, "batch of {n} rows exceeds {}", self.max_rows);
        assert!(logits.len() >= n * v);
        // Validate and assign positions before touching any state.
        for (r, &(s, tok)) in rows.iter().enumerate() {
            if tok as usize >= v {
                return Err(StepError::TokenOutOfRange { token: tok, vocab: v });
            }
            let before = rows[..r].iter().filter(|&&(s2, _)| s2 == s).count();
            let p = self.slots[s].len + before;
            if p >= self.capacity {
                return Err(StepError::PositionBeyondCapacity { pos: p, capacity: self.capacity });
            }
            self.pos[r] = p;
        }
        let packed = model.packed();
        let qkv_w = d + 2 * HEAD_DIM;
        let fp = f.div_ceil(4) * 4;

        // Residual x = embed[tok] as i32.
        let embed = model.embed();
        for (r, &(_, tok)) in rows.iter().enumerate() {
            let t = tok as usize;
            for (x, &e) in self.x[r * d..(r + 1) * d].iter_mut().zip(&embed[t * d..(t + 1) * d]) {
                *x = i32::from(e);
            }
        }

        for (li, pl) in packed.layers.iter().enumerate() {
            let w = model.layer(li);
            // 1. Attention block.
            self.norm_rows(n, d, w.attn_norm);
            gemm(self.kernel, &self.normed, d, n, &pl.qkv, &mut self.acc, qkv_w);
            requantize(&self.acc[..n * qkv_w], w.qkv_rq, &mut self.qkv[..n * qkv_w]);
            let mut k_rot = [0i8; HEAD_DIM];
            for (r, &(slot, _)) in rows.iter().enumerate() {
                let p = self.pos[r];
                let (cos, sin) = (&model.rope_cos()[p * 32..(p + 1) * 32], &model.rope_sin()[p * 32..(p + 1) * 32]);
                let row = &self.qkv[r * qkv_w..(r + 1) * qkv_w];
                let (q_all, kv) = row.split_at(d);
                let (k, val) = kv.split_at(HEAD_DIM);
                rope(k, cos, sin, false, &mut k_rot);
                let cache = &mut self.slots[slot].layers[li];
                debug_assert_eq!(cache.k.rows(), p);
                cache.k.push_row(&k_rot);
                debug_assert_eq!(cache.v.len(), p);
                cache.v.push(val);
                for (q, qo) in q_all.chunks_exact(HEAD_DIM).zip(self.qrot[r * d..(r + 1) * d].chunks_exact_mut(HEAD_DIM)) {
                    rope(q, cos, sin, true, qo);
                }
            }
            self.attend(model, rows, li);
            gemm(self.kernel, &self.attn, d, n, &pl.out, &mut self.acc, d);
            requantize(&self.acc[..n * d], w.out_rq, &mut self.proj[..n * d]);
            self.add_norm_rows(n, d, w.ffn_norm);

            // 2. FFN block.
            self.norm_rows(n, d, w.post_attn_norm);
            gemm(self.kernel, &self.normed, d, n, &pl.up, &mut self.acc, 2 * f);
            requantize(&self.acc[..n * 2 * f], w.up_rq, &mut self.gu[..n * 2 * f]);
            for r in 0..n {
                let (gate, up) = self.gu[r * 2 * f..(r + 1) * 2 * f].split_at(f);
                reglu(gate, up, &mut self.act[r * fp..r * fp + f]);
            }
            gemm(self.kernel, &self.act, fp, n, &pl.down, &mut self.acc, d);
            requantize(&self.acc[..n * d], w.down_rq, &mut self.proj[..n * d]);
            self.add_norm_rows(n, d, w.post_ffn_norm);
        }
        for s in 0..self.slots.len() {
            let added = rows.iter().filter(|&&(s2, _)| s2 == s).count();
            self.slots[s].len += added;
        }

        // Final norm and head: raw i32 logits.
        self.norm_rows(n, d, model.final_norm());
        gemm(self.kernel, &self.normed, d, n, &packed.head, logits, v);
        Ok(())
    }

    /// `normed = RMSNorm(clamp_i8(x), weight)` for every row.
    fn norm_rows(&mut self, n: usize, d: usize, weight: &[i8]) {
        clamp_rows(&self.x[..n * d], &mut self.xi8[..n * d]);
        for r in 0..n {
            rmsnorm(&self.xi8[r * d..(r + 1) * d], weight, &mut self.normed[r * d..(r + 1) * d]);
        }
    }

    /// `x += RMSNorm(proj, weight)` for every row (residual stays i32).
    fn add_norm_rows(&mut self, n: usize, d: usize, weight: &[i8]) {
        for r in 0..n {
            rmsnorm(&self.proj[r * d..(r + 1) * d], weight, &mut self.normed[r * d..(r + 1) * d]);
        }
        add_rows(&mut self.x[..n * d], &self.normed[..n * d]);
    }

    /// Attention of every row (spec §5), after the batch's K/V are cached.
    /// Consecutive rows of one slot share one score product.
    fn attend(&mut self, model: &Model, rows: &[(usize, u32)], li: usize) {
        let c = model.config();
        let (d, nh) = (c.d_model, c.n_heads);
        let w = model.layer(li);
        let cap = self.capacity;
        let mut r = 0;
        while r < rows.len() {
            let s = rows[r].0;
            let mut end = r + 1;
            while end < rows.len() && rows[end].0 == s {
                end += 1;
            }
            let cache = &self.slots[s].layers[li];
            // Scores of (row, head) against every cached position, q·k exact i32.
            gemm(self.kernel, &self.qrot[r * d..], HEAD_DIM, (end - r) * nh, &cache.k, &mut self.scores, cap);
            for rr in r..end {
                let p = self.pos[rr];
                for h in 0..nh {
                    let q = &self.qrot[rr * d + h * HEAD_DIM..rr * d + (h + 1) * HEAD_DIM];
                    let mult = w.score_mult[h];
                    let sink = w.sink_key.map(|k| score_of_dot(dot64(q, k), mult));
                    let row = &self.scores[((rr - r) * nh + h) * cap..][..p + 1];
                    scores(row, mult, &mut self.head_scores[..=p]);
                    softmax_head(
                        self.kernel,
                        &self.head_scores[..=p],
                        sink,
                        &cache.v,
                        &model.packed().exp2_wide,
                        &mut self.softmax,
                        &mut self.attn[rr * d + h * HEAD_DIM..rr * d + (h + 1) * HEAD_DIM],
                    );
                }
            }
            r = end;
        }
    }
}

/// Spec §5 score from the exact dot product:
/// `sra_rne_tte_s64_to_s32(sra_rne_tte_s32(dot, 2) · score_mult, 15)`.
#[inline(always)]
fn score_of_dot(dot: i32, mult: i32) -> i32 {
    sra_rne_tte_s64_to_s32(i64::from(sra_rne_tte_s32(dot, 2)) * i64::from(mult), 15)
}

fn dot64(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum()
}
