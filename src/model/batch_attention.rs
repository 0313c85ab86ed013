//! The attention's online softmax (spec §5) in *segment form*, for the fast
//! paths. Same integers as [`OnlineSoftmax`](super::attention::OnlineSoftmax),
//! far fewer 64-bit operations.
//!
//! Why it is exact. The reference visits t = 0..=p in order; the running
//! maximum m changes only at "new maximum" positions, where `S` and `acc`
//! are rescaled (a rounding, so the order matters). The weight of position
//! t is `exp(score_t − m_t)` with `m_t` the running maximum *including* t,
//! which depends on the scores alone, so all weights can be computed first
//! (vectorised). Between two rescales nothing but exact integer additions
//! `S += w_t`, `acc_i += w_t·v_t[i]` happen, and integer addition is
//! associative: we sum each run of positions between rescales separately (a
//! *segment*) and add it to `S`/`acc` just before the next rescale and at
//! the end. The rescales then see exactly the reference's `S` and `acc`, in
//! the same order. The rescale itself is the reference's code.
//!
//! Widths. `w_t <= 65535` and `|v| <= 127`, so `|w_t·v| < 2^23`; a segment
//! is summed in i32 lanes and flushed to the i64 `acc` every
//! [`SEGMENT_FLUSH`] = 255 positions (`255·65535·127 < 2^31`). `acc` and
//! `S` have the widths documented on `OnlineSoftmax`.

use super::kernels::elementwise::{attn_weights, exp_attn, multiversion};
use super::HEAD_DIM;
use crate::numerics::{clamp_i8, div_rne_tte_s64_to_s32};

/// Longest run of positions summed in i32 before flushing to i64.
pub const SEGMENT_FLUSH: usize = 255;

/// Scratch of [`softmax_head`] for up to `capacity` positions.
pub struct SoftmaxScratch {
    m: Vec<i32>,
    w: Vec<u32>,
}

impl SoftmaxScratch {
    pub fn new(capacity: usize) -> Self {
        SoftmaxScratch { m: vec![0; capacity], w: vec![0; capacity] }
    }
}

/// One head's output for a query whose scores against positions 0..=p are
/// `scores` (already the spec's `score`, in position order), with optional
/// sink score, over the value rows `values` (row t = `values[64t..64t+64]`).
/// Writes `clamp_i8(div_rne_tte_s64_to_s32(acc_i, max(S,1)))` to `out`.
pub fn softmax_head(
    scores: &[i32],
    sink: Option<i32>,
    values: &[i8],
    exp2: &[u16; 256],
    scratch: &mut SoftmaxScratch,
    out: &mut [i8],
) {
    let n = scores.len();
    assert!(values.len() >= n * HEAD_DIM && out.len() == HEAD_DIM && scratch.m.len() >= n);
    // Pass 1: running maximum m_t (including t); the sink starts it.
    let mut run = sink;
    for (mt, &sc) in scratch.m[..n].iter_mut().zip(scores) {
        let m = match run {
            Some(m) if m >= sc => m,
            _ => sc,
        };
        run = Some(m);
        *mt = m;
    }
    // Pass 2: every weight at once.
    attn_weights(scores, &scratch.m[..n], exp2, &mut scratch.w[..n]);
    // Pass 3: segments and rescales, in order.
    let mut acc = [0i64; HEAD_DIM];
    let mut s: u64 = if sink.is_some() { 65535 } else { 0 };
    let mut prev = sink;
    let mut t = 0;
    while t < n {
        // A new maximum at t (or the very first position without a sink).
        let m = scratch.m[t];
        if prev != Some(m) {
            if let Some(pm) = prev {
                let f = u64::from(exp_attn(pm.wrapping_sub(m), exp2));
                s = (s * f + 32768) >> 16;
                rescale(&mut acc, f as i64);
            }
            prev = Some(m);
        }
        // The segment: positions t..end share the maximum m.
        let mut end = t + 1;
        while end < n && end - t < SEGMENT_FLUSH && scratch.m[end] == m {
            end += 1;
        }
        let mut seg = [0i32; HEAD_DIM];
        weighted_sum(&scratch.w[t..end], &values[t * HEAD_DIM..end * HEAD_DIM], &mut seg);
        add_segment(&mut acc, &seg);
        s += scratch.w[t..end].iter().map(|&w| u64::from(w)).sum::<u64>();
        t = end;
    }
    outputs(&acc, s.max(1), out);
}

multiversion! {
    /// The reference's rescale, `acc_i = ⌊(acc_i·f ± 32768) / 65536⌋` (add
    /// half when `acc_i·f >= 0`, else subtract it; then an arithmetic shift).
    /// Widths: `|acc_i·f| < 2^52` (see `OnlineSoftmax`), so the wrapping
    /// operations are exact.
    pub fn rescale(acc: &mut [i64; HEAD_DIM], f: i64) {
        for a in acc.iter_mut() {
            let p = a.wrapping_mul(f);
            let half = if p >= 0 { 32768 } else { -32768 };
            *a = p.wrapping_add(half) >> 16;
        }
    }
}

multiversion! {
    /// `acc_i += seg_i` (|acc| < 2^36: exact).
    pub fn add_segment(acc: &mut [i64; HEAD_DIM], seg: &[i32; HEAD_DIM]) {
        for (a, &g) in acc.iter_mut().zip(seg) {
            *a = a.wrapping_add(i64::from(g));
        }
    }
}

/// `out_i = clamp_i8(div_rne_tte_s64_to_s32(acc_i, d))` for `d >= 1`.
///
/// Fast path, exact: when `|acc_i| < 2^52` and `d < 2^52` both are exact
/// f64 values and the correctly rounded quotient is within one of
/// `⌊|acc_i|/d⌋`; the integer remainder fixes it, then ties-to-even is
/// applied to the exact remainder, as in the reference. Otherwise the
/// reference function is used.
pub fn outputs(acc: &[i64; HEAD_DIM], d: u64, out: &mut [i8]) {
    const LIM: u64 = 1 << 52;
    if d >= LIM {
        for (o, &a) in out.iter_mut().zip(acc) {
            *o = clamp_i8(div_rne_tte_s64_to_s32(a, d));
        }
        return;
    }
    let df = d as f64;
    let di = d as i64;
    for (o, &a) in out.iter_mut().zip(acc) {
        let n = a.unsigned_abs();
        if n >= LIM {
            *o = clamp_i8(div_rne_tte_s64_to_s32(a, d));
            continue;
        }
        let mut q = (n as f64 / df) as i64;
        let mut r = n as i64 - q * di;
        if r < 0 {
            q -= 1;
            r += di;
        } else if r >= di {
            q += 1;
            r -= di;
        }
        let twice = 2 * r;
        if twice > di || (twice == di && q & 1 == 1) {
            q += 1;
        }
        let m = q.min(127) as i8;
        *o = if a < 0 { -m } else { m };
    }
}

multiversion! {
    /// `seg_i = Σ_t w_t·v_t[i]` over at most [`SEGMENT_FLUSH`] rows (exact in
    /// i32 by the bound above; the wrapping operations never wrap).
    pub fn weighted_sum(w: &[u32], v: &[i8], seg: &mut [i32; HEAD_DIM]) {
        for (&wt, row) in w.iter().zip(v.chunks_exact(HEAD_DIM)) {
            let wt = wt as i32;
            for (g, &x) in seg.iter_mut().zip(row) {
                *g = g.wrapping_add(wt.wrapping_mul(i32::from(x)));
            }
        }
    }
}
