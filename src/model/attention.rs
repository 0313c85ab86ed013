//! Multi-query attention with the integer online softmax, spec §5.
//!
//! One K/V head is shared by every query head. The cache holds RoPE'd keys
//! and unrotated values, one 64-byte row per position. The online softmax is
//! order-dependent (it rescales on every new maximum, with an asymmetric
//! rounding), so positions are visited strictly in order 0..=p.

use super::layers::{dot_i8, rope_with};
use super::{HEAD_DIM, ROPE_PAIRS};
use crate::numerics::{clamp_i8, clamp_i8_i64, div_rne_tte_s64_to_s32, exp_q16, sra_rne_tte_s32, sra_rne_tte_s64_to_s32, ATTN_COEF_Q24};

/// `Q_SHIFT` of spec §3.
const Q_SHIFT: u32 = 2;
/// `attn.score_shift`; the loader enforces 15.
const SCORE_SHIFT: u32 = 15;

/// Keys (rotated) and values of one layer for positions 0..len.
#[derive(Debug, Clone)]
pub struct KvCache {
    k: Vec<i8>,
    v: Vec<i8>,
    len: usize,
}

impl KvCache {
    /// A cache for up to `capacity` positions (allocated once per chunk worker).
    pub fn new(capacity: usize) -> Self {
        KvCache { k: vec![0; capacity * HEAD_DIM], v: vec![0; capacity * HEAD_DIM], len: 0 }
    }
    pub fn clear(&mut self) {
        self.len = 0;
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn capacity(&self) -> usize {
        self.k.len() / HEAD_DIM
    }
    /// Appends a position's RoPE'd key and value. Returns false when full.
    pub fn push(&mut self, k_rot: &[i8], v: &[i8]) -> bool {
        if self.len >= self.capacity() {
            return false;
        }
        let r = self.len * HEAD_DIM..(self.len + 1) * HEAD_DIM;
        self.k[r.clone()].copy_from_slice(k_rot);
        self.v[r].copy_from_slice(v);
        self.len += 1;
        true
    }
    pub fn key(&self, t: usize) -> &[i8] {
        &self.k[t * HEAD_DIM..(t + 1) * HEAD_DIM]
    }
    pub fn value(&self, t: usize) -> &[i8] {
        &self.v[t * HEAD_DIM..(t + 1) * HEAD_DIM]
    }
}

/// Attention score of spec §5 from a query and a key:
/// `score_from_dot(q·k, score_mult)`.
#[inline(always)]
pub fn score(q: &[i8], k: &[i8], score_mult: i32) -> i32 {
    score_from_dot(dot_i8(q, k), score_mult)
}

/// The score rule of spec §5 on the exact dot product `q·k`:
/// `sra_rne_tte_s64_to_s32(sra_rne_tte_s32(q·k, 2) · score_mult, 15)`.
/// Widths: `q·k` fits i32 (64·2^14); the product is exact in i64. The one
/// definition: [`score`], the batched sink score and the tests of the f64
/// fast form ([`scores`](super::kernels::elementwise::scores)) call it.
#[inline(always)]
pub fn score_from_dot(dot: i32, score_mult: i32) -> i32 {
    sra_rne_tte_s64_to_s32(i64::from(sra_rne_tte_s32(dot, Q_SHIFT)) * i64::from(score_mult), SCORE_SHIFT)
}

/// The attention accumulator's arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Accumulator {
    /// Exact (i64), as spec §11 requires.
    #[default]
    Exact,
    /// 32-bit, wrapping after every position (a known departure, spec §11).
    Wrap32,
}

/// The clamp to i8: of the attention output (and, under a fault's
/// [`Variant`](super::Variant), of every layer and of RoPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputClamp {
    /// `clamp_i8`, −127..127 (spec §1).
    #[default]
    Normative,
    /// −128..127 (a known departure, spec §11).
    Minus128,
}

impl OutputClamp {
    /// `x` clamped to this range.
    #[inline(always)]
    pub fn apply(self, x: i32) -> i8 {
        match self {
            OutputClamp::Normative => clamp_i8(x),
            OutputClamp::Minus128 => x.clamp(-128, 127) as i8,
        }
    }

    /// [`apply`](Self::apply) for a 64-bit value.
    #[inline(always)]
    pub fn apply_i64(self, x: i64) -> i8 {
        match self {
            OutputClamp::Normative => clamp_i8_i64(x),
            OutputClamp::Minus128 => x.clamp(-128, 127) as i8,
        }
    }
}

/// The arithmetic of one attention head: the spec's
/// ([`NORMATIVE`](Self::NORMATIVE), the default) or one of the known
/// departures of spec §11, for the fault injection and the witnesses
/// (`conformance::faults`, `conformance::witness`). The normative path
/// passes it as a constant, so the variant costs nothing there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttentionVariant {
    pub accumulator: Accumulator,
    pub clamp: OutputClamp,
}

impl AttentionVariant {
    /// Spec §5 as written.
    pub const NORMATIVE: AttentionVariant = AttentionVariant { accumulator: Accumulator::Exact, clamp: OutputClamp::Normative };
    /// The 32-bit wrapping accumulator (the latest public Rust).
    pub const WRAP32: AttentionVariant = AttentionVariant { accumulator: Accumulator::Wrap32, clamp: OutputClamp::Normative };
    /// The output clamped to −128..127.
    pub const CLAMP_MINUS128: AttentionVariant = AttentionVariant { accumulator: Accumulator::Exact, clamp: OutputClamp::Minus128 };
}

/// The online-softmax state of one head (spec §5): running maximum `m`
/// (`None` = −∞), normaliser `S` (u64) and exact accumulators `acc` (i64,
/// spec §11: a conforming engine must not wrap at 2^31).
///
/// Widths over a chunk of at most 4096 positions plus the sink: `S < 2^29`,
/// `S·f < 2^45`; `|acc| <= 4097·65535·128 < 2^36`, `acc·f < 2^52`.
pub struct OnlineSoftmax {
    pub m: Option<i32>,
    pub s: u64,
    pub acc: [i64; HEAD_DIM],
}

impl OnlineSoftmax {
    pub fn new() -> Self {
        OnlineSoftmax { m: None, s: 0, acc: [0; HEAD_DIM] }
    }

    /// The sink key: `m = score(k_s)`, `S = 65535`; its value is zero.
    pub fn start_with_sink(&mut self, sink_score: i32) {
        self.m = Some(sink_score);
        self.s = 65535;
    }

    /// Folds in one position with score `sc` and value row `v`.
    #[inline(always)]
    pub fn push(&mut self, sc: i32, v: &[i8], exp2: &[u16; 256]) {
        let m = match self.m {
            Some(m) if sc <= m => m,
            prev => {
                if let Some(m) = prev {
                    let f = u64::from(exp_q16(m.wrapping_sub(sc), ATTN_COEF_Q24, exp2));
                    self.s = (self.s * f + 32768) >> 16;
                    let fi = f as i64;
                    for a in self.acc.iter_mut() {
                        let p = *a * fi;
                        // add or subtract half, then floor (arithmetic shift):
                        // not symmetric for negatives, as the spec says.
                        *a = (if p >= 0 { p + 32768 } else { p - 32768 }) >> 16;
                    }
                }
                self.m = Some(sc);
                sc
            }
        };
        let w = exp_q16(sc.wrapping_sub(m), ATTN_COEF_Q24, exp2);
        self.s += u64::from(w);
        let w = i64::from(w);
        for (a, &x) in self.acc.iter_mut().zip(v) {
            *a += w * i64::from(x);
        }
    }

    /// [`push`](Self::push) with the accumulator arithmetic of `acc`: with
    /// [`Accumulator::Wrap32`] each accumulator is then wrapped to i32.
    #[inline(always)]
    pub fn push_with(&mut self, acc: Accumulator, sc: i32, v: &[i8], exp2: &[u16; 256]) {
        self.push(sc, v, exp2);
        if acc == Accumulator::Wrap32 {
            self.acc.iter_mut().for_each(|a| *a = i64::from(*a as i32));
        }
    }

    /// `y_i = clamp_i8(div_rne_tte_s64_to_s32(acc_i, S == 0 ? 1 : S))`.
    pub fn output(&self, out: &mut [i8]) {
        self.output_with(OutputClamp::Normative, out)
    }

    /// [`output`](Self::output) with the clamp `clamp`.
    #[inline(always)]
    pub fn output_with(&self, clamp: OutputClamp, out: &mut [i8]) {
        let s = self.s.max(1);
        for (o, &a) in out.iter_mut().zip(&self.acc) {
            *o = clamp.apply(div_rne_tte_s64_to_s32(a, s));
        }
    }
}

impl Default for OnlineSoftmax {
    fn default() -> Self {
        Self::new()
    }
}

/// The head loop of spec §5 on scores: the optional sink score, then each
/// position's `(score, value row)` in position order, folded into an
/// [`OnlineSoftmax`] with the arithmetic of `variant`; writes the head's 64
/// outputs. The one definition of the loop: [`attend_head`] calls it, and
/// the segment-form fast path ([`batch_attention`](super::batch_attention))
/// is tested against it (`tests/integration/kernels_elementwise.rs`).
#[inline(always)]
pub fn softmax_head_reference<'a>(
    variant: AttentionVariant,
    sink_score: Option<i32>,
    positions: impl IntoIterator<Item = (i32, &'a [i8])>,
    exp2: &[u16; 256],
    out: &mut [i8],
) {
    let mut sm = OnlineSoftmax::new();
    if let Some(s) = sink_score {
        sm.start_with_sink(s);
    }
    for (sc, v) in positions {
        sm.push_with(variant.accumulator, sc, v, exp2);
    }
    sm.output_with(variant.clamp, out);
}

/// One head over the cache rows 0..cache.len(): rotates `q_raw` for position
/// `pos` and writes the head's 64 outputs. Like [`linear`](super::layers::linear),
/// the same loop is compiled a second time with AVX2 and chosen at run time.
#[allow(clippy::too_many_arguments)]
pub fn attend_head(
    q_raw: &[i8],
    pos: usize,
    cache: &KvCache,
    rope_cos: &[i16],
    rope_sin: &[i16],
    score_mult: i32,
    sink_key: Option<&[i8; HEAD_DIM]>,
    exp2: &[u16; 256],
    out: &mut [i8],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { attend_head_avx2(q_raw, pos, cache, rope_cos, rope_sin, score_mult, sink_key, exp2, out) };
    }
    attend_head_variant(AttentionVariant::NORMATIVE, q_raw, pos, cache, rope_cos, rope_sin, score_mult, sink_key, exp2, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn attend_head_avx2(
    q_raw: &[i8],
    pos: usize,
    cache: &KvCache,
    rope_cos: &[i16],
    rope_sin: &[i16],
    score_mult: i32,
    sink_key: Option<&[i8; HEAD_DIM]>,
    exp2: &[u16; 256],
    out: &mut [i8],
) {
    attend_head_variant(AttentionVariant::NORMATIVE, q_raw, pos, cache, rope_cos, rope_sin, score_mult, sink_key, exp2, out)
}

/// [`attend_head`] with the arithmetic of `variant`: the one head loop.
/// [`attend_head`] passes [`AttentionVariant::NORMATIVE`] as a constant (the
/// variant folds away); the faults and witnesses of spec §11 pass theirs.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn attend_head_variant(
    variant: AttentionVariant,
    q_raw: &[i8],
    pos: usize,
    cache: &KvCache,
    rope_cos: &[i16],
    rope_sin: &[i16],
    score_mult: i32,
    sink_key: Option<&[i8; HEAD_DIM]>,
    exp2: &[u16; 256],
    out: &mut [i8],
) {
    let mut q = [0i8; HEAD_DIM];
    let row = pos * ROPE_PAIRS..(pos + 1) * ROPE_PAIRS;
    rope_with(variant.clamp, q_raw, &rope_cos[row.clone()], &rope_sin[row], true, &mut q);
    let sink = sink_key.map(|k| score(&q, k, score_mult));
    let positions = (0..cache.len()).map(|t| (score(&q, cache.key(t), score_mult), cache.value(t)));
    softmax_head_reference(variant, sink, positions, exp2, out);
}
