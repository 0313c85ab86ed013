//! One head's attention softmax and weighted value sum (spec §5) in a single
//! AVX-512 VNNI pass over the positions: the fast form of
//! [`softmax_head`](crate::model::batch_attention::softmax_head), same
//! integers (tested against the online softmax, `tests/integration/kernels_elementwise.rs`).
//!
//! The segment form (see `batch_attention`): between two *new maxima* every
//! weight is `exp(score_t − m)` with the same running maximum m, and only
//! exact additions happen, so a segment is summed in any order; at a new
//! maximum `S` and `acc` are rescaled in the reference's order. Here the
//! scores are read 16 at a time (block `16j..16j+16`); in each block the
//! lanes above m are found with one compare, the lanes before the first of
//! them belong to the current segment, and at that lane the segment is
//! flushed and rescaled and a new one starts (within the same block).
//!
//! Per block, for the segment's lanes: the 16 weights by [`exp16`] (masked
//! to zero outside the segment), summed into u32 lanes for `S`; one byte
//! shuffle puts each group's (4 positions') low bytes and high bytes
//! (`w = 256·hi + lo`) into two dwords, stored for the run. Then, per group
//! of the run, those two dwords are broadcast and multiplied into the value
//! group (`vpdpbusd`: four u8×i8 products per i32 lane) — 4 accumulators per
//! byte plane, one per 16 dimensions. A flush adds `256·hi + lo` to `acc`
//! in i64.
//!
//! Widths: a plane lane gains at most `4·255·128 < 2^17` per group, so it is
//! exact for segments under 2^14 groups (65,536 positions, asserted); a
//! segment's weight sum is below `65536·65535 < 2^32` (u32 lanes, wrapping
//! adds that never wrap); `S` and `acc` as in `OnlineSoftmax`.

use std::arch::x86_64::*;

use super::elementwise::{exp_narrow, ExpNarrow};
use super::exps::avx512::{exp16, head_mask, Consts};
use super::exps::Exp2Lut;
use super::values::PackedValues;
use crate::model::HEAD_DIM;

/// The planes of the current segment and its weight sum.
struct Segment {
    lo: [__m512i; 4],
    hi: [__m512i; 4],
    sum: __m512i,
}

/// Blocks of 16 positions weighted before their values are summed.
const RUN_BLOCKS: usize = 4;

/// `(S, acc)` of the online softmax of one head over positions
/// `0..scores.len()` (sink score `sink`, if any), with `acc` written to
/// `acc`; the caller forms the outputs.
///
/// The positions are taken in *runs* of up to [`RUN_BLOCKS`] blocks inside
/// one segment: first the run's weights (the new-maximum search and the
/// exps, their bytes stored per group), then its value sum (each group's
/// weight bytes broadcast from that store), then, if the run ended at a new
/// maximum, the flush and rescale.
///
/// # Safety
/// AVX-512 F/BW/DQ/VNNI. Panics unless `1 <= scores.len() <= values.len()`
/// and `scores.len() <= 65536`.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vnni")]
pub unsafe fn softmax_head(scores: &[i32], sink: Option<i32>, values: &PackedValues, exp2: &Exp2Lut, acc: &mut [i64; HEAD_DIM]) -> u64 {
    let n = scores.len();
    assert!(n >= 1 && n <= values.len() && n <= 1 << 16);
    let c = Consts::new(&ExpNarrow::ATTN, &exp2.narrow);
    let v_bytes = values.bytes();
    *acc = [0; HEAD_DIM];
    let (mut s, mut m) = match sink {
        Some(k) => (65535u64, k),
        None => (0, scores[0]),
    };
    let mut seg = Segment { lo: [_mm512_setzero_si512(); 4], hi: [_mm512_setzero_si512(); 4], sum: _mm512_setzero_si512() };
    // Per block of the run, per group g (128-bit lane): dword 4g = the
    // group's 4 low weight bytes, dword 4g + 1 = its 4 high bytes.
    let mut bytes = [0u32; 16 * RUN_BLOCKS];
    let split = _mm512_set4_epi32(-1, -1, 0x0d09_0501, 0x0c08_0400);
    // The next position to weight is lane `todo.trailing_zeros()` of block `blk`.
    let mut blk = 0;
    let mut todo = head_mask(n);
    while blk < n {
        // 1. Weights of the run: blocks until RUN_BLOCKS, the end, or a new maximum.
        let run_blk = blk;
        let first = blk + todo.trailing_zeros() as usize;
        let mut end = first;
        let mut new_max = None;
        for b in 0..RUN_BLOCKS {
            let valid = head_mask(n - blk);
            // SAFETY: the valid lanes are positions blk..min(blk + 16, n) of scores.
            let v = _mm512_maskz_loadu_epi32(valid, scores.as_ptr().add(blk).cast());
            let above = _mm512_mask_cmpgt_epi32_mask(todo, v, _mm512_set1_epi32(m));
            // The lanes before the first new maximum (all of `todo` if none).
            let lanes = if above == 0 { todo } else { todo & ((above & above.wrapping_neg()) - 1) };
            let e = _mm512_maskz_mov_epi32(lanes, exp16(_mm512_sub_epi32(v, _mm512_set1_epi32(m)), &c));
            seg.sum = _mm512_add_epi32(seg.sum, e);
            _mm512_storeu_si512(bytes.as_mut_ptr().add(16 * b).cast(), _mm512_shuffle_epi8(e, split));
            if lanes != 0 {
                end = blk + 16 - lanes.leading_zeros() as usize;
            }
            if above != 0 {
                // Lane j starts the next segment (and run), in this block.
                let j = above.trailing_zeros() as usize;
                new_max = Some(scores[blk + j]);
                todo &= !((1u16 << j) - 1);
                break;
            }
            blk += 16;
            if blk >= n {
                break;
            }
            todo = head_mask(n - blk);
        }
        // 2. Its value sum: groups first/4 .. ⌈end/4⌉ (weights outside the
        // run's lanes are zero), all below ⌈n/4⌉: inside the cache's bytes.
        for group in first / 4..end.div_ceil(4) {
            let k = group - run_blk / 4;
            let wl = _mm512_set1_epi32(bytes[4 * k] as i32);
            let wh = _mm512_set1_epi32(bytes[4 * k + 1] as i32);
            let x = &v_bytes[group * 4 * HEAD_DIM..][..4 * HEAD_DIM];
            for b in 0..4 {
                let xv = _mm512_loadu_si512(x.as_ptr().add(64 * b).cast());
                seg.lo[b] = _mm512_dpbusd_epi32(seg.lo[b], wl, xv);
                seg.hi[b] = _mm512_dpbusd_epi32(seg.hi[b], wh, xv);
            }
        }
        // 3. At a new maximum: close the segment, rescale, go on with it.
        if let Some(sc) = new_max {
            let f = exp_narrow(m.wrapping_sub(sc), &ExpNarrow::ATTN, &exp2.wide);
            flush(&mut seg, acc, &mut s, Some(f));
            m = sc;
        }
    }
    flush(&mut seg, acc, &mut s, None);
    s
}

/// Closes the segment: `acc += 256·hi + lo` (in i64), `S += Σ w`, and an
/// empty segment; then, at a new maximum with factor `f`, the reference's
/// rescale of both (`OnlineSoftmax`): `S = ⌊(S·f + 32768) / 2^16⌋` and
/// `acc_i = ⌊(acc_i·f ± 32768) / 2^16⌋` (+ when `acc_i·f >= 0`; exact:
/// `|acc_i·f| < 2^52`).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vnni")]
unsafe fn flush(seg: &mut Segment, acc: &mut [i64; HEAD_DIM], s: &mut u64, rescale: Option<u32>) {
    *s += u64::from(_mm512_reduce_add_epi32(seg.sum) as u32);
    seg.sum = _mm512_setzero_si512();
    if let Some(f) = rescale {
        *s = (*s * u64::from(f) + 32768) >> 16;
    }
    let fv = _mm512_set1_epi64(i64::from(rescale.unwrap_or(0)));
    let ap = acc.as_mut_ptr();
    for b in 0..4 {
        for half in 0..2 {
            let (l, h) = if half == 0 {
                (_mm512_castsi512_si256(seg.lo[b]), _mm512_castsi512_si256(seg.hi[b]))
            } else {
                (_mm512_extracti64x4_epi64::<1>(seg.lo[b]), _mm512_extracti64x4_epi64::<1>(seg.hi[b]))
            };
            let sum = _mm512_add_epi64(_mm512_slli_epi64::<8>(_mm512_cvtepi32_epi64(h)), _mm512_cvtepi32_epi64(l));
            // SAFETY: entries 16b + 8·half .. +8 of the 64.
            let p = ap.add(b * 16 + half * 8);
            let mut a = _mm512_add_epi64(_mm512_loadu_si512(p.cast()), sum);
            if rescale.is_some() {
                let prod = _mm512_mullo_epi64(a, fv);
                let neg = _mm512_cmplt_epi64_mask(prod, _mm512_setzero_si512());
                let half = _mm512_mask_blend_epi64(neg, _mm512_set1_epi64(32768), _mm512_set1_epi64(-32768));
                a = _mm512_srai_epi64::<16>(_mm512_add_epi64(prod, half));
            }
            _mm512_storeu_si512(p.cast(), a);
        }
        seg.lo[b] = _mm512_setzero_si512();
        seg.hi[b] = _mm512_setzero_si512();
    }
}
