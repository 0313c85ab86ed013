//! The attention's online softmax (spec §5) in *segment form*, for the fast
//! paths. Same integers as [`OnlineSoftmax`](super::attention::OnlineSoftmax),
//! far fewer 64-bit operations.
//!
//! Why it is exact. The reference visits t = 0..=p in order; the running
//! maximum m changes only at "new maximum" positions (a score *above* the
//! running maximum; the sink, when present, starts it), where `S` and `acc`
//! are rescaled (a rounding, so the order matters). Between two new maxima
//! every position's weight is `exp(score_t − m)` with the same m, and
//! nothing but exact integer additions `S += w_t`, `acc_i += w_t·v_t[i]`
//! happen; integer addition is associative, so each run of positions between
//! new maxima (a *segment*) is weighted and summed at once (vectorised: the
//! weights by [`segment_weights`], the value sum by [`weighted_sum`], or
//! both in one AVX-512 or AVX2 pass) and added to `S`/`acc` before the next
//! rescale.
//! The rescales therefore see exactly the reference's `S` and `acc`, in the
//! same order, and are the reference's arithmetic.
//!
//! New maxima are rare after the first few positions, so the search for the
//! next one compares 16 scores at a time.
//!
//! Widths: those of `OnlineSoftmax` (`S < 2^29`, `|acc| < 2^36`); the
//! segment sums are exact.

use super::kernels::elementwise::{exp_narrow, multiversion, rescale, ExpNarrow};
use super::kernels::exps::{segment_weights, Exp2Lut};
use super::kernels::values::{weighted_sum, PackedValues};
use super::kernels::Kernel;
use super::HEAD_DIM;
use crate::numerics::{clamp_i8, div_rne_tte_s64_to_s32};

/// Scratch of the portable [`softmax_head`] for up to `capacity` positions
/// (the weights of one segment).
pub struct SoftmaxScratch {
    weights: Vec<u32>,
}

impl SoftmaxScratch {
    /// Panics above 65,536 positions, where the u32 weight sum and the
    /// AVX-512 kernel's i32 planes would stop being exact (chunks hold at
    /// most 4,096; the AVX2 kernel's planes hold one run of 64 positions).
    pub fn new(capacity: usize) -> Self {
        assert!(capacity <= 1 << 16, "softmax scratch for {capacity} positions");
        SoftmaxScratch { weights: vec![0; capacity] }
    }
    /// Positions it has room for.
    pub fn capacity(&self) -> usize {
        self.weights.len()
    }
}

/// One head's output for a query whose scores against positions 0..=p are
/// `scores` (already the spec's `score`, in position order), with optional
/// sink score, over the cached values of those positions. Writes
/// `clamp_i8(div_rne_tte_s64_to_s32(acc_i, max(S,1)))` to `out`. `exp2` is
/// the model's `lut.exp2` ([`PackedModel::exp2`](super::PackedModel)).
///
/// With [`Kernel::Avx512`] and [`Kernel::Avx2`] the segments are weighted
/// and summed in one fused pass
/// ([`attention_avx512`](super::kernels::attention_avx512),
/// [`attention_avx2`](super::kernels::attention_avx2)); the scalar kernel
/// takes the portable loop below.
pub fn softmax_head(
    kernel: Kernel,
    scores: &[i32],
    sink: Option<i32>,
    values: &PackedValues,
    exp2: &Exp2Lut,
    scratch: &mut SoftmaxScratch,
    out: &mut [i8],
) {
    let n = scores.len();
    assert!(values.len() >= n && out.len() == HEAD_DIM && scratch.capacity() >= n);
    let mut acc = [0i64; HEAD_DIM];
    #[cfg(target_arch = "x86_64")]
    if kernel == Kernel::Avx512 && n > 0 {
        assert!(kernel.is_available(), "AVX-512 VNNI not available");
        // SAFETY: the CPU has AVX-512 F/BW/DQ/VNNI (asserted); 1 <= n <=
        // values.len() and n <= capacity <= 65536 (asserted).
        let s = unsafe { super::kernels::attention_avx512::softmax_head(scores, sink, values, exp2, &mut acc) };
        return outputs(&acc, s.max(1), out);
    }
    #[cfg(target_arch = "x86_64")]
    if kernel == Kernel::Avx2 && n > 0 {
        assert!(kernel.is_available(), "AVX2 not available");
        // SAFETY: the CPU has AVX2 (asserted); 1 <= n <= values.len() and
        // n <= capacity <= 65536 (asserted).
        let s = unsafe { super::kernels::attention_avx2::softmax_head(scores, sink, values, exp2, &mut acc) };
        return outputs(&acc, s.max(1), out);
    }
    let _ = kernel;
    let mut s: u64 = if sink.is_some() { 65535 } else { 0 };
    let mut run = sink;
    let mut t = 0;
    while t < n {
        // t starts a segment: the first position, or a new maximum.
        let sc = scores[t];
        let m = match run {
            Some(m) if sc <= m => m,
            Some(pm) => {
                let f = u64::from(exp_narrow(pm.wrapping_sub(sc), &ExpNarrow::ATTN, &exp2.wide));
                s = (s * f + 32768) >> 16;
                rescale(&mut acc, f as i64);
                sc
            }
            None => sc,
        };
        run = Some(m);
        let end = next_above(scores, t + 1, m);
        let w = &mut scratch.weights[..end - t];
        let mut sum = 0;
        segment_weights(&scores[t..end], m, &exp2.wide, w, &mut sum);
        s += u64::from(sum);
        weighted_sum(values, t, w, &mut acc);
        t = end;
    }
    outputs(&acc, s.max(1), out);
}

/// The first index `>= from` whose score is above `m`, else `scores.len()`.
fn next_above(scores: &[i32], from: usize, m: i32) -> usize {
    const BLOCK: usize = 16;
    let mut i = from;
    while let Some(block) = scores.get(i..i + BLOCK) {
        if block.iter().fold(false, |any, &x| any | (x > m)) {
            break;
        }
        i += BLOCK;
    }
    scores[i..].iter().position(|&x| x > m).map_or(scores.len(), |p| i + p)
}

/// `out_i = clamp_i8(div_rne_tte_s64_to_s32(acc_i, d))` for `d >= 1`.
///
/// The clamp makes every quotient of 128 or more the same output, so the
/// magnitude is first clamped to `128·d` (`nc`); for `d < 2^44` that is below
/// 2^51, and from there every step is an f64 operation on exact integers
/// ([`outputs_bounded`]). Larger `d` (never reached: `S < 2^29`) takes the
/// reference function.
pub fn outputs(acc: &[i64; HEAD_DIM], d: u64, out: &mut [i8]) {
    if d == 0 || d >= 1 << 44 {
        for (o, &a) in out.iter_mut().zip(acc) {
            *o = clamp_i8(div_rne_tte_s64_to_s32(a, d));
        }
        return;
    }
    outputs_bounded(acc, d as i64, out);
}

multiversion! {
    /// [`outputs`] for `1 <= d < 2^44`, branch-free so the loop vectorises
    /// (AVX2 has no 64-bit integer multiply or conversion to f64). Widths:
    /// `0 <= nc <= 128·d < 2^51`, converted exactly by the magic-number
    /// addition; `nc·fl(1/d)` is within 2^−44 of `nc/d <= 128`, so its
    /// nearest integer `q0` is within one of `⌊nc/d⌋`; `q0·d < 2^52` and the
    /// remainder `nc − q0·d` (`|r| < 2d`) are exact f64 integers; the
    /// corrected remainder decides the round-half-to-even, as in the
    /// reference; `q <= 128` is read from the low bits of `q + 1.5·2^52`.
    pub fn outputs_bounded(acc: &[i64; HEAD_DIM], d: i64, out: &mut [i8]) {
        const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5·2^52
        let round_bits = ROUND.to_bits() as i64;
        let df = d as f64;
        let inv = 1.0 / df;
        let cap = d << 7;
        for (o, &a) in out.iter_mut().zip(acc) {
            let c = a.clamp(-cap, cap);
            let nc = f64::from_bits((if c < 0 { c.wrapping_neg() } else { c }).wrapping_add(round_bits) as u64) - ROUND;
            let q0 = (nc * inv + ROUND) - ROUND;
            let r0 = nc - q0 * df;
            // Floor correction: q0 is ⌊nc/d⌋ or one more, r0 in [−d, d)
            // (the upward step is kept for the whole domain).
            let (q1, r1) = if r0 < 0.0 { (q0 - 1.0, r0 + df) } else { (q0, r0) };
            let (q, r) = if r1 >= df { (q1 + 1.0, r1 - df) } else { (q1, r1) };
            let qi = ((q + ROUND).to_bits() as i64).wrapping_sub(round_bits);
            let twice = r + r;
            let up = (twice > df) | ((twice == df) & (qi & 1 == 1));
            let m = qi.wrapping_add(i64::from(up)).min(127);
            *o = (if a < 0 { m.wrapping_neg() } else { m }) as i8;
        }
    }
}
