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

use super::attention::score_from_dot;
use super::batch_attention::{softmax_head, SoftmaxScratch};
use super::forward::StepError;
use super::kernels::elementwise::{add_rows, clamp_rows, reglu, requantize, rmsnorm, rope, scores};
use super::kernels::values::PackedValues;
use super::kernels::{gemm, gemm_first, Kernel, PackedRows};
use super::layers::dot_i8;
use super::{Model, HEAD_DIM, ROPE_PAIRS};
use crate::stage_timers::{self, Stage};

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
    /// Split large batches across idle rayon workers ([`split_rows`](Self::split_rows)).
    split: bool,
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
}

impl BatchForward {
    /// `capacity` is clamped to the model's RoPE rows.
    pub fn new(model: &Model, kernel: Kernel, max_rows: usize, capacity: usize, slots: usize) -> Self {
        let c = model.config();
        let capacity = capacity.min(c.rope_rows);
        let (d, f) = (c.d_model, c.d_ff);
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
            split: false,
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
        }
    }

    /// Lets a batch's GEMMs and attention rows be split through
    /// `rayon::join`, so idle workers of the pool can take part of one
    /// chunk's work (worth it when there are fewer chunks than the workers
    /// can balance, e.g. eight 1024-token chunks on two threads; a cost when
    /// every worker has chunks of its own). Never changes a result.
    pub fn split_rows(mut self, split: bool) -> Self {
        self.split = split;
        self
    }

    /// Whether batches are split ([`split_rows`](Self::split_rows)).
    pub fn splits_rows(&self) -> bool {
        self.split
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
        let _forward = stage_timers::start(Stage::Forward);
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
            timed_gemm(self.kernel, self.split, &self.normed, d, n, &pl.qkv, &mut self.acc, qkv_w);
            requantize(&self.acc[..n * qkv_w], w.qkv_rq, &mut self.qkv[..n * qkv_w]);
            let mut k_rot = [0i8; HEAD_DIM];
            for (r, &(slot, _)) in rows.iter().enumerate() {
                let p = self.pos[r];
                let (cos, sin) = (&model.rope_cos()[p * ROPE_PAIRS..(p + 1) * ROPE_PAIRS], &model.rope_sin()[p * ROPE_PAIRS..(p + 1) * ROPE_PAIRS]);
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
            let (qrot, attn) = (&self.qrot[..n * d], &mut self.attn[..n * d]);
            {
                let _t = stage_timers::start(Stage::Attention);
                attend_rows(self.kernel, self.split, model, &self.slots, li, self.capacity, rows, &self.pos[..n], qrot, attn);
            }
            timed_gemm(self.kernel, self.split, &self.attn, d, n, &pl.out, &mut self.acc, d);
            requantize(&self.acc[..n * d], w.out_rq, &mut self.proj[..n * d]);
            self.add_norm_rows(n, d, w.ffn_norm);

            // 2. FFN block.
            self.norm_rows(n, d, w.post_attn_norm);
            timed_gemm(self.kernel, self.split, &self.normed, d, n, &pl.up, &mut self.acc, 2 * f);
            requantize(&self.acc[..n * 2 * f], w.up_rq, &mut self.gu[..n * 2 * f]);
            for r in 0..n {
                let (gate, up) = self.gu[r * 2 * f..(r + 1) * 2 * f].split_at(f);
                reglu(gate, up, &mut self.act[r * fp..r * fp + f]);
            }
            timed_gemm(self.kernel, self.split, &self.act, fp, n, &pl.down, &mut self.acc, d);
            requantize(&self.acc[..n * d], w.down_rq, &mut self.proj[..n * d]);
            self.add_norm_rows(n, d, w.post_ffn_norm);
        }
        for s in 0..self.slots.len() {
            let added = rows.iter().filter(|&&(s2, _)| s2 == s).count();
            self.slots[s].len += added;
        }

        // Final norm and head: raw i32 logits.
        self.norm_rows(n, d, model.final_norm());
        timed_gemm(self.kernel, self.split, &self.normed, d, n, &packed.head, logits, v);
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
}

/// Rows per task below which work is not split further: an attention row
/// costs a few µs at long context, a GEMM row about 10 µs.
const SPLIT_ROWS: usize = 16;

/// [`gemm_split`] timed as [`Stage::Matrices`] (the forward pass's calls).
#[allow(clippy::too_many_arguments)]
fn timed_gemm(kernel: Kernel, split: bool, x: &[i8], x_stride: usize, n: usize, w: &PackedRows, out: &mut [i32], out_stride: usize) {
    let _t = stage_timers::start(Stage::Matrices);
    gemm_split(kernel, split, x, x_stride, n, w, out, out_stride);
}

/// [`gemm`] over `n` rows, split in halves through `rayon::join` down to
/// [`SPLIT_ROWS`] rows: an idle worker (one whose own chunks are done) takes
/// a half, a busy pool runs both in place. Rows are independent, so the
/// result is the same however the rows are split.
#[allow(clippy::too_many_arguments)]
fn gemm_split(kernel: Kernel, split: bool, x: &[i8], x_stride: usize, n: usize, w: &PackedRows, out: &mut [i32], out_stride: usize) {
    if !split || n < 2 * SPLIT_ROWS {
        return gemm(kernel, x, x_stride, n, w, out, out_stride);
    }
    let h = (n / 2).div_ceil(8) * 8; // whole register tiles in the first half
    let (xa, xb) = x.split_at(h * x_stride);
    let (oa, ob) = out.split_at_mut(h * out_stride);
    rayon::join(
        || gemm_split(kernel, split, xa, x_stride, h, w, oa, out_stride),
        || gemm_split(kernel, split, xb, x_stride, n - h, w, ob, out_stride),
    );
}

/// Query rows per score product of [`attend_rows`]: each product reads the
/// keys up to its last row's position, so a prefill computes about
/// `QK_ROWS / 2` scores per row that no row uses.
const QK_ROWS: usize = 16;

/// Per-worker scratch of [`attend_rows`], grown on demand, never shrunk.
#[derive(Default)]
struct AttendScratch {
    scores: Vec<i32>,
    head_scores: Vec<i32>,
    softmax: Option<SoftmaxScratch>,
}

thread_local! {
    static ATTEND_SCRATCH: std::cell::RefCell<AttendScratch> = std::cell::RefCell::new(AttendScratch::default());
}

/// Attention of each row (spec §5), after the batch's K/V are cached: row r
/// (slot `rows[r].0`, position `pos[r]`) reads its query heads from
/// `qrot[r·D..]` and writes its heads' outputs to `attn[r·D..]`. Rows are
/// independent given the caches, so the rows are split in halves through
/// `rayon::join` (as [`gemm_split`]); consecutive rows of one slot share one
/// score product.
#[allow(clippy::too_many_arguments)]
fn attend_rows(
    kernel: Kernel,
    split: bool,
    model: &Model,
    slots: &[Slot],
    li: usize,
    cap: usize,
    rows: &[(usize, u32)],
    pos: &[usize],
    qrot: &[i8],
    attn: &mut [i8],
) {
    let d = model.config().d_model;
    let n = rows.len();
    if split && n >= 2 * SPLIT_ROWS {
        let h = n / 2;
        let (qa, qb) = qrot.split_at(h * d);
        let (aa, ab) = attn.split_at_mut(h * d);
        rayon::join(
            || attend_rows(kernel, split, model, slots, li, cap, &rows[..h], &pos[..h], qa, aa),
            || attend_rows(kernel, split, model, slots, li, cap, &rows[h..], &pos[h..], qb, ab),
        );
        return;
    }
    ATTEND_SCRATCH.with(|sc| {
        let mut sc = sc.borrow_mut();
        let sc = &mut *sc;
        let nh = model.config().n_heads;
        if sc.scores.len() < n * nh * cap {
            sc.scores.resize(n * nh * cap, 0);
        }
        if sc.head_scores.len() < cap {
            sc.head_scores.resize(cap, 0);
        }
        if sc.softmax.as_ref().is_none_or(|s| s.capacity() < cap) {
            sc.softmax = Some(SoftmaxScratch::new(cap));
        }
        let softmax = sc.softmax.as_mut().expect("set just above");
        let w = model.layer(li);
        let exp2 = &model.packed().exp2;
        let mut r = 0;
        while r < n {
            let s = rows[r].0;
            let mut end = r + 1;
            while end < n && rows[end].0 == s {
                end += 1;
            }
            let cache = &slots[s].layers[li];
            // Scores of (row, head) against the cached positions up to the
            // row's own, q·k exact i32: in blocks of QK_ROWS rows (in
            // position order), each against the keys up to its last row's
            // position (the causal half of a prefill's product is skipped).
            for b0 in (r..end).step_by(QK_ROWS) {
                let b1 = (b0 + QK_ROWS).min(end);
                let keys = pos[b1 - 1] + 1;
                let out = &mut sc.scores[(b0 - r) * nh * cap..];
                gemm_first(kernel, &qrot[b0 * d..], HEAD_DIM, (b1 - b0) * nh, &cache.k, keys, out, cap);
            }
            for rr in r..end {
                let p = pos[rr];
                for h in 0..nh {
                    let q = &qrot[rr * d + h * HEAD_DIM..rr * d + (h + 1) * HEAD_DIM];
                    let mult = w.score_mult[h];
                    let sink = w.sink_key.map(|k| score_from_dot(dot_i8(q, k), mult));
                    let row = &sc.scores[((rr - r) * nh + h) * cap..][..p + 1];
                    scores(row, mult, &mut sc.head_scores[..=p]);
                    softmax_head(
                        kernel,
                        &sc.head_scores[..=p],
                        sink,
                        &cache.v,
                        exp2,
                        softmax,
                        &mut attn[rr * d + h * HEAD_DIM..rr * d + (h + 1) * HEAD_DIM],
                    );
                }
            }
            r = end;
        }
    })
}
