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
//! outside the segment), summed in u32 lanes for `S`, each split into bytes
//! `w = 256·hi + lo` and stored as i16 per group (`[lo_0..lo_3, hi_0..hi_3]`,
//! one `vpackusdw`); then the run's value sum, added to `acc` (i64) at once.
//!
//! The value sum uses the cache's layout as it is ([`PackedValues`]: a
//! group's 4 positions of one dimension are adjacent), no AVX2 layout: 16
//! bytes of a group are 4 dimensions × 4 positions; sign-extended to 16 i16
//! (`vpmovsxbw`) they meet the group's 4 low (then high) weight bytes as i16,
//! broadcast to every 64-bit lane, in one `vpmaddwd` each, which leaves per
//! dimension two partial sums (positions 0+1 and 2+3) in i32 lanes.
//! `vpmaddubsw` is not used: a pair `255·(−128)·2` saturates its i16. AVX2
//! has 16 registers, so the 64 dimensions are done a quarter (16
//! dimensions: 4 low and 4 high accumulators) at a time, each quarter going
//! over the run's groups; at its end `256·hi + lo` is formed, the two
//! partials added (`vphaddd`) and the sums widened into `acc`.
//!
//! Widths: a `vpmaddwd` lane is at most `2·255·128 = 65,280` in magnitude;
//! over a run's at most 16 groups a lo or hi lane stays within 1,044,480,
//! `256·hi + lo` within `257·1,044,480 < 2^28.1`, the two partials' sum
//! within 2^29.1: exact in i32. A run's weight sum is at most `64·65535`
//! (u32 lanes); `S` and `acc` as in `OnlineSoftmax` (`S < 2^29`,
//! `|acc| < 2^36`); the rescale is the portable one
//! ([`rescale`]).

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
    // Per group k of the run: its 4 low weight bytes, then its 4 high ones, as u16.
    let mut weights = [[0u16; 2 * GROUP]; RUN_GROUPS];
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
            let e = _mm256_and_si256(lane_mask(lanes), exp8(_mm256_sub_epi32(v, mv), &c));
            sum = _mm256_add_epi32(sum, e);
            let split = _mm256_packus_epi32(_mm256_and_si256(e, _mm256_set1_epi32(255)), _mm256_srli_epi32::<8>(e));
            // SAFETY: groups 2b and 2b + 1 of the RUN_GROUPS (32 bytes).
            _mm256_storeu_si256(weights.as_mut_ptr().add(2 * b).cast(), split);
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
            weighted_sum_run(values.bytes(), first / GROUP, end.div_ceil(GROUP), run_blk / GROUP, &weights, acc);
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

/// `acc_i += Σ_{g0 <= g < g1} Σ_{t of group g} w_t · V[t][i]`, with the
/// weight bytes of group g at `weights[g − run_g]` (see the module doc).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn weighted_sum_run(
    v_bytes: &[i8],
    g0: usize,
    g1: usize,
    run_g: usize,
    weights: &[[u16; 2 * GROUP]; RUN_GROUPS],
    acc: &mut [i64; HEAD_DIM],
) {
    let x = &v_bytes[g0 * GROUP_BYTES..g1 * GROUP_BYTES];
    let w = &weights[g0 - run_g..g1 - run_g];
    for quarter in 0..4 {
        let mut lo = [_mm256_setzero_si256(); 4];
        let mut hi = [_mm256_setzero_si256(); 4];
        for (group, wg) in x.chunks_exact(GROUP_BYTES).zip(w) {
            // SAFETY: 16 bytes each, in wg and in the group's 256.
            let wl = _mm256_set1_epi64x(std::ptr::read_unaligned(wg.as_ptr().cast::<i64>()));
            let wh = _mm256_set1_epi64x(std::ptr::read_unaligned(wg.as_ptr().add(GROUP).cast::<i64>()));
            let p = group.as_ptr().add(64 * quarter);
            for q in 0..4 {
                let xv = _mm256_cvtepi8_epi16(_mm_loadu_si128(p.add(16 * q).cast()));
                lo[q] = _mm256_add_epi32(lo[q], _mm256_madd_epi16(xv, wl));
                hi[q] = _mm256_add_epi32(hi[q], _mm256_madd_epi16(xv, wh));
            }
        }
        // Lanes of comb[q]: [d(4q) p0, d(4q) p1, d(4q+1) p0, …]; hadd(a, b) gives
        // [a0+a1, a2+a3, b0+b1, b2+b3 | a4+a5, a6+a7, b4+b5, b6+b7].
        let mut comb = [_mm256_setzero_si256(); 4];
        for q in 0..4 {
            comb[q] = _mm256_add_epi32(_mm256_slli_epi32::<8>(hi[q]), lo[q]);
        }
        let dims = [
            _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(comb[0], comb[1])),
            _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(comb[2], comb[3])),
        ];
        for (k, d) in dims.into_iter().enumerate() {
            let a = &mut acc[16 * quarter + 8 * k..][..8];
            for (half, h) in [_mm256_castsi256_si128(d), _mm256_extracti128_si256::<1>(d)].into_iter().enumerate() {
                // SAFETY: entries 4·half..4·half + 4 of the 8.
                let p = a.as_mut_ptr().add(4 * half).cast::<__m256i>();
                _mm256_storeu_si256(p, _mm256_add_epi64(_mm256_loadu_si256(p), _mm256_cvtepi32_epi64(h)));
            }
        }
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
