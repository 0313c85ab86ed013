//! One head's attention softmax and weighted value sum (spec §5) in a single
//! AVX2 pass over the positions: the AVX2 form of
//! [`softmax_head`](crate::model::batch_attention::softmax_head), same
//! integers (tested against the online softmax, `tests/integration/kernels_elementwise.rs`).
//!
//! The segment form (see `batch_attention`): between two *new maxima* every
//! weight is `exp(score_t − m)` with the same running maximum m, and only
//! exact additions happen, so a segment is summed in any order and in any
//! pieces; at a new maximum `S` and `acc` are rescaled in the reference's
//! order. Here the scores are read 8 at a time (a *block*); in each block the
//! lanes above m are found with one compare, the lanes before the first of
//! them belong to the current segment, and at that lane the run ends, `S`
//! and `acc` are rescaled and a new segment starts (within the same block).
//!
//! The positions are taken in *runs* of up to `RUN_BLOCKS` blocks (64
//! positions, 16 groups of the value cache) inside one segment: first the
//! run's weights (the new-maximum search and `exp8`, masked to zero
//! outside the segment), summed in u32 lanes for `S`, and stored per group
//! as i16 *offset weights* `w' = w − 32768` (zero outside the run's lanes);
//! then the run's value sum, added to `acc` (i64) at once.
//!
//! Why the offset: `0 <= w <= 65535` does not fit the signed i16 operand of
//! `vpmaddwd`, `w'` does. The run's positions are one contiguous range
//! `[first, end)` (the lanes of a segment), so
//! `Σ_t w_t·V[t][i] = Σ_t w'_t·V[t][i] + 32768·Σ_{first<=t<end} V[t][i]`,
//! and the last sum is a difference of the cache's running sums
//! ([`PackedValues::sums_before`]): one `vpmaddwd` per product instead of
//! one per weight byte. Exact, so the same integers.
//!
//! The value sum uses the cache's layout as it is ([`PackedValues`]: a
//! group's 4 positions of one dimension are adjacent), no AVX2 layout: 32
//! bytes of a group are 8 dimensions × 4 positions, i.e. 16 i16 lanes of
//! two bytes each (positions 0 and 1, then 2 and 3, of one dimension).
//! Shifting a lane right arithmetically by 8 gives its odd position's value
//! sign-extended, left by 8 then right by 8 its even one's; against the
//! group's offset weights `(w'_0, w'_2)` and `(w'_1, w'_3)` broadcast as
//! i16 pairs, two `vpmaddwd` leave each dimension's whole sum in one i32
//! lane. So the 64 dimensions are 8 accumulators, done in one pass over
//! the run's groups. Shifts, not `vpmovsxbw`: on Zen 3 a sign extension
//! costs two to three shifts' time and contends with `vpmaddwd` (measured
//! with loops of independent instructions; see [`avx2`](super::avx2)).
//! `vpmaddubsw` is not used: a pair `255·(−128)·2` saturates its i16.
//!
//! Widths: a `vpmaddwd` lane is at most `2·32768·128 = 2^23` in magnitude,
//! a group's two within 2^24; over a run's at most 16 groups a lane stays
//! within 2^28: exact in i32. The correction is at most
//! `32768·64·128 = 2^28` per run. A run's weight sum is at most `64·65535`
//! (u32 lanes); `S` and `acc` as in `OnlineSoftmax` (`S < 2^29`,
//! `|acc| < 2^36`); the rescale is the portable one ([`rescale`]).

use std::arch::x86_64::*;

use super::elementwise::{exp_narrow, rescale, ExpNarrow};
use super::exps::avx2::{exp8, head_bits, lane_mask, Consts};
use super::exps::Exp2Lut;
use super::values::{PackedValues, GROUP};
use crate::model::HEAD_DIM;

/// Scores per block (one register of i32).
const BLOCK: usize = 8;
/// Blocks of a run: weighted before their values are summed.
const RUN_BLOCKS: usize = 8;
/// Value-cache groups of a run.
const RUN_GROUPS: usize = RUN_BLOCKS * BLOCK / GROUP;
/// Bytes of one value-cache group (64 dimensions × 4 positions).
const GROUP_BYTES: usize = HEAD_DIM * GROUP;

/// `(S, acc)` of the online softmax of one head over positions
/// `0..scores.len()` (sink score `sink`, if any), with `acc` written to
/// `acc`; the caller forms the outputs.
///
/// # Safety
/// AVX2. Panics unless `1 <= scores.len() <= values.len()` and
/// `scores.len() <= 65536`.
#[target_feature(enable = "avx2")]
pub unsafe fn softmax_head(scores: &[i32], sink: Option<i32>, values: &PackedValues, exp2: &Exp2Lut, acc: &mut [i64; HEAD_DIM]) -> u64 {
    let n = scores.len();
    assert!(n >= 1 && n <= values.len() && n <= 1 << 16);
    let c = Consts::new(&ExpNarrow::ATTN, &exp2.wide);
    *acc = [0; HEAD_DIM];
    let (mut s, mut m) = match sink {
        Some(k) => (65535u64, k),
        None => (0, scores[0]),
    };
    // Per group k of the run: its 4 offset weights `w − 32768` (module doc),
    // in the order of positions 0, 2, 1, 3.
    let mut weights = [[0i16; GROUP]; RUN_GROUPS];
    // The next position to weight is lane `todo.trailing_zeros()` of block `blk`.
    let mut blk = 0;
    let mut todo = head_bits(n);
    while blk < n {
        // 1. Weights of the run: blocks until RUN_BLOCKS, the end, or a new maximum.
        let run_blk = blk;
        let first = blk + todo.trailing_zeros() as usize;
        let mut end = first;
        let mut new_max = None;
        let mv = _mm256_set1_epi32(m);
        let mut sum = _mm256_setzero_si256();
        for b in 0..RUN_BLOCKS {
            // SAFETY: the loaded lanes are positions blk..min(blk + 8, n) of scores.
            let v = _mm256_maskload_epi32(scores.as_ptr().add(blk), lane_mask(head_bits(n - blk)));
            let above = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(v, mv))) as u32 & todo;
            // The lanes before the first new maximum (all of `todo` if none).
            let lanes = if above == 0 { todo } else { todo & ((above & above.wrapping_neg()) - 1) };
            let mask = lane_mask(lanes);
            let e = exp8(_mm256_sub_epi32(v, mv), &c);
            sum = _mm256_add_epi32(sum, _mm256_and_si256(mask, e));
            // w − 32768 is within i16 (0 <= w <= 65535): the pack is exact.
            let offset = _mm256_and_si256(mask, _mm256_sub_epi32(e, _mm256_set1_epi32(32768)));
            let packed = _mm_packs_epi32(_mm256_castsi256_si128(offset), _mm256_extracti128_si256::<1>(offset));
            // Each group's four as positions 0, 2, 1, 3.
            let packed = _mm_shufflehi_epi16::<0b11_01_10_00>(_mm_shufflelo_epi16::<0b11_01_10_00>(packed));
            // SAFETY: groups 2b and 2b + 1 of the RUN_GROUPS (16 bytes).
            _mm_storeu_si128(weights.as_mut_ptr().add(2 * b).cast(), packed);
            if lanes != 0 {
                end = blk + 32 - lanes.leading_zeros() as usize;
            }
            if above != 0 {
                // Lane j starts the next segment (and run), in this block.
                let j = above.trailing_zeros() as usize;
                new_max = Some(scores[blk + j]);
                todo &= !((1u32 << j) - 1);
                break;
            }
            blk += BLOCK;
            if blk >= n {
                break;
            }
            todo = head_bits(n - blk);
        }
        s += u64::from(sum_u32(sum));
        // 2. Its value sum: groups first/4 .. ⌈end/4⌉ (weights outside the
        // run's lanes are zero), all below ⌈n/4⌉: inside the cache's bytes.
        if end > first {
            weighted_sum_run(values, first, end, run_blk / GROUP, &weights, acc);
        }
        // 3. At a new maximum: the reference's rescale of S and acc.
        if let Some(sc) = new_max {
            let f = exp_narrow(m.wrapping_sub(sc), &ExpNarrow::ATTN, &exp2.wide);
            s = (s * u64::from(f) + 32768) >> 16;
            rescale(acc, i64::from(f));
            m = sc;
        }
    }
    s
}

/// `acc_i += Σ_{first <= t < end} w_t · V[t][i]`, with the offset weights
/// `w_t − 32768` of group g at `weights[g − run_g]` (positions 0, 2, 1, 3)
/// and zero in the lanes of groups `first/4 .. ⌈end/4⌉` outside
/// `[first, end)` (see the module doc).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn weighted_sum_run(
    values: &PackedValues,
    first: usize,
    end: usize,
    run_g: usize,
    weights: &[[i16; GROUP]; RUN_GROUPS],
    acc: &mut [i64; HEAD_DIM],
) {
    let (g0, g1) = (first / GROUP, end.div_ceil(GROUP));
    let x = &values.bytes()[g0 * GROUP_BYTES..g1 * GROUP_BYTES];
    let w = &weights[g0 - run_g..g1 - run_g];
    // sums[j] lane k: dimension 8j + k.
    let mut sums = [_mm256_setzero_si256(); HEAD_DIM / 8];
    for (group, wg) in x.chunks_exact(GROUP_BYTES).zip(w) {
        // SAFETY: 4 + 4 bytes of wg's 8.
        let w02 = _mm256_set1_epi32(std::ptr::read_unaligned(wg.as_ptr().cast::<i32>()));
        let w13 = _mm256_set1_epi32(std::ptr::read_unaligned(wg.as_ptr().add(2).cast::<i32>()));
        for (j, s) in sums.iter_mut().enumerate() {
            // SAFETY: 32 of the group's 256 bytes.
            let v = _mm256_loadu_si256(group.as_ptr().add(32 * j).cast());
            let odd = _mm256_srai_epi16::<8>(v);
            let even = _mm256_srai_epi16::<8>(_mm256_slli_epi16::<8>(v));
            *s = _mm256_add_epi32(*s, _mm256_add_epi32(_mm256_madd_epi16(even, w02), _mm256_madd_epi16(odd, w13)));
        }
    }
    for (j, s) in sums.into_iter().enumerate() {
        for (half, h) in [_mm256_castsi256_si128(s), _mm256_extracti128_si256::<1>(s)].into_iter().enumerate() {
            // SAFETY: entries 8j + 4·half .. + 4 of acc's 64.
            let p = acc.as_mut_ptr().add(8 * j + 4 * half).cast::<__m256i>();
            _mm256_storeu_si256(p, _mm256_add_epi64(_mm256_loadu_si256(p), _mm256_cvtepi32_epi64(h)));
        }
    }
    // The offset's correction: 32768 · Σ_{first <= t < end} V[t][i].
    let (lo, hi) = (values.sums_before(first), values.sums_before(end));
    for (i, a) in acc.chunks_exact_mut(4).enumerate() {
        // SAFETY: 4 i32 of each 64-entry row; 4 i64 of acc.
        let d = _mm_sub_epi32(_mm_loadu_si128(hi.as_ptr().add(4 * i).cast()), _mm_loadu_si128(lo.as_ptr().add(4 * i).cast()));
        let p = a.as_mut_ptr().cast::<__m256i>();
        _mm256_storeu_si256(p, _mm256_add_epi64(_mm256_loadu_si256(p), _mm256_slli_epi64::<15>(_mm256_cvtepi32_epi64(d))));
    }
}

/// The sum of the eight u32 lanes (wrapping; a run's weights never wrap).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn sum_u32(v: __m256i) -> u32 {
    let x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let x = _mm_add_epi32(x, _mm_shuffle_epi32::<0b01_00_11_10>(x));
    let x = _mm_add_epi32(x, _mm_shuffle_epi32::<0b10_11_00_01>(x));
    _mm_cvtsi128_si32(x) as u32
}
