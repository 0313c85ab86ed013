//! The attention's value cache in the layout of its weighted-sum kernel.
//!
//! The softmax weights of one head are summed against the cached value rows:
//! `acc_i += Σ_t w_t · V[t][i]` for the 64 dimensions i, over a run of
//! positions t (spec §5; `0 <= w_t <= 65535`, V is i8). Positions are stored
//! in groups of [`GROUP`] = 4, and inside a group each dimension's four
//! bytes are adjacent:
//!
//! `V[t][i]` is at `(t / 4)·256 + i·4 + t % 4`.
//!
//! So one 64-byte load holds 4 positions of 16 dimensions: the signed
//! operand of one AVX-512 VNNI `vpdpbusd`, whose unsigned operand is four
//! weight *bytes* broadcast. A weight is split as `w = 256·hi + lo` (both
//! 0..255), summed as two byte planes, and recombined exactly:
//! `Σ w·v = 256·Σ hi·v + Σ lo·v`.
//!
//! Widths: one `vpdpbusd` lane adds four products of magnitude at most
//! `255·128`, so a plane's i32 lane after g groups is below `g·2^17`: exact
//! for every run of fewer than 2^14 groups (65,536 positions; the loader
//! caps chunks at 4,096). The recombination is done in i64.
//!
//! [`weighted_sum_scalar`] is the reference (plain i64 sums over the same
//! layout); the VNNI kernel is tested against it on random and edge inputs
//! (`tests/kernels_elementwise.rs`).

use super::elementwise::multiversion;
use super::Kernel;
use crate::model::HEAD_DIM;

/// Positions per group (the four bytes one `vpdpbusd` lane consumes).
pub const GROUP: usize = 4;
/// Bytes of one group: 64 dimensions × 4 positions.
const GROUP_BYTES: usize = HEAD_DIM * GROUP;

/// Value rows of up to `capacity` positions, grouped as described above.
#[derive(Debug, Clone)]
pub struct PackedValues {
    data: Vec<i8>,
    len: usize,
}

impl PackedValues {
    pub fn with_capacity(capacity: usize) -> Self {
        PackedValues { data: vec![0; capacity.div_ceil(GROUP) * GROUP_BYTES], len: 0 }
    }
    /// Positions held.
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn capacity(&self) -> usize {
        self.data.len() / GROUP_BYTES * GROUP
    }
    /// Forgets every position (stale bytes are never weighted: see
    /// [`weighted_sum`]).
    pub fn clear(&mut self) {
        self.len = 0;
    }
    /// Appends the value row of the next position. Panics when full.
    pub fn push(&mut self, row: &[i8]) {
        assert_eq!(row.len(), HEAD_DIM);
        assert!(self.len < self.capacity(), "value cache full");
        let t = self.len;
        let base = (t / GROUP) * GROUP_BYTES + t % GROUP;
        for (i, &v) in row.iter().enumerate() {
            self.data[base + i * GROUP] = v;
        }
        self.len += 1;
    }
    /// `V[t][i]`.
    pub fn get(&self, t: usize, i: usize) -> i8 {
        assert!(t < self.len && i < HEAD_DIM);
        self.data[(t / GROUP) * GROUP_BYTES + i * GROUP + t % GROUP]
    }
}

/// The weights of a run of positions `t0..t0 + len`, in both forms the
/// kernels read: `w` (u32, indexed from `t0`) for the reference, and two
/// byte planes `lo = w & 255`, `hi = w >> 8` indexed by *absolute* position
/// and zero outside the run within its groups, so that whole groups can be
/// summed. Owned by the caller, sized once for a chunk.
pub struct SegmentWeights {
    w: Vec<u32>,
    lo: Vec<u8>,
    hi: Vec<u8>,
    t0: usize,
    len: usize,
}

impl SegmentWeights {
    /// Room for runs inside positions `0..capacity`.
    pub fn new(capacity: usize) -> Self {
        let n = capacity.div_ceil(GROUP) * GROUP;
        SegmentWeights { w: vec![0; capacity], lo: vec![0; n], hi: vec![0; n], t0: 0, len: 0 }
    }

    /// Positions a run may cover.
    pub fn capacity(&self) -> usize {
        self.w.len()
    }

    /// Starts the run `t0..t0 + len` and returns `(w, lo, hi)`, each of
    /// `len` entries, for the caller to fill with the weights (every weight
    /// <= 65535) and their two bytes. The plane bytes of the run's first and
    /// last groups that lie outside it are zeroed here.
    pub fn start(&mut self, t0: usize, len: usize) -> (&mut [u32], &mut [u8], &mut [u8]) {
        let t1 = t0 + len;
        let (g0, g1) = (t0 / GROUP * GROUP, t1.div_ceil(GROUP) * GROUP);
        // Zero the whole first and last groups (fixed 4-byte stores; the
        // run's own bytes are written by the caller afterwards).
        for g in [g0, g1.saturating_sub(GROUP).max(g0)] {
            if g + GROUP <= self.lo.len() {
                self.lo[g..g + GROUP].copy_from_slice(&[0; GROUP]);
                self.hi[g..g + GROUP].copy_from_slice(&[0; GROUP]);
            }
        }
        (self.t0, self.len) = (t0, len);
        (&mut self.w[..len], &mut self.lo[t0..t1], &mut self.hi[t0..t1])
    }
}

/// `acc_i += Σ_{t in run} w_t · V[t][i]` (exact) for the run last
/// [`started`](SegmentWeights::start) and filled. Panics if the run goes
/// past `values.len()` (a caller error).
pub fn weighted_sum(kernel: Kernel, values: &PackedValues, weights: &SegmentWeights, acc: &mut [i64; HEAD_DIM]) {
    let (t0, len) = (weights.t0, weights.len);
    let t1 = t0 + len;
    assert!(t1 <= values.len, "run past the cached positions");
    match kernel {
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => {
            assert!(kernel.is_available(), "AVX-512 VNNI not available");
            let (g0, g1) = (t0 / GROUP, t1.div_ceil(GROUP));
            let planes = g0 * GROUP..g1 * GROUP;
            // SAFETY: the CPU supports AVX-512 F/BW/VNNI (asserted); the
            // planes hold whole groups g0..g1 and the cache holds groups up
            // to ⌈len/4⌉ >= g1 (asserted above).
            unsafe {
                avx512::weighted_sum(
                    &values.data[g0 * GROUP_BYTES..g1 * GROUP_BYTES],
                    &weights.lo[planes.clone()],
                    &weights.hi[planes],
                    acc,
                )
            }
        }
        _ => weighted_sum_scalar(values, t0, &weights.w[..len], acc),
    }
}

multiversion! {
    /// The reference: plain exact sums, position by position (`w·v` fits
    /// i32: `65535·128 < 2^23`; the sum is i64).
    pub fn weighted_sum_scalar(values: &PackedValues, t0: usize, w: &[u32], acc: &mut [i64; HEAD_DIM]) {
        for (t, &wt) in (t0..).zip(w) {
            let group = &values.data[(t / GROUP) * GROUP_BYTES..][..GROUP_BYTES];
            let wt = wt as i32;
            for (a, &v) in acc.iter_mut().zip(group[t % GROUP..].iter().step_by(GROUP)) {
                *a = a.wrapping_add(i64::from(wt.wrapping_mul(i32::from(v))));
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{GROUP, GROUP_BYTES, HEAD_DIM};

    /// Sums whole groups: `v` holds `lo.len() / 4` groups; `lo`/`hi` are the
    /// weight planes of their positions. Four accumulators per plane, one
    /// per 16 dimensions.
    ///
    /// # Safety
    /// AVX-512 F/BW/VNNI; `v.len() == lo.len() / 4 · 256`, `hi.len() == lo.len()`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn weighted_sum(v: &[i8], lo: &[u8], hi: &[u8], acc: &mut [i64; HEAD_DIM]) {
        let groups = lo.len() / GROUP;
        assert!(v.len() == groups * GROUP_BYTES && hi.len() == lo.len());
        let mut al = [_mm512_setzero_si512(); 4];
        let mut ah = [_mm512_setzero_si512(); 4];
        let vp = v.as_ptr();
        for g in 0..groups {
            // SAFETY: group g is inside both planes and `v` (asserted).
            let wl = _mm512_set1_epi32(std::ptr::read_unaligned(lo.as_ptr().add(g * GROUP).cast::<i32>()));
            let wh = _mm512_set1_epi32(std::ptr::read_unaligned(hi.as_ptr().add(g * GROUP).cast::<i32>()));
            for b in 0..4 {
                let x = _mm512_loadu_si512(vp.add(g * GROUP_BYTES + b * 64).cast());
                al[b] = _mm512_dpbusd_epi32(al[b], wl, x);
                ah[b] = _mm512_dpbusd_epi32(ah[b], wh, x);
            }
        }
        // acc += 256·hi + lo, in i64 lanes, 8 dimensions at a time.
        let ap = acc.as_mut_ptr();
        for b in 0..4 {
            for half in 0..2 {
                let (l, h) = if half == 0 {
                    (_mm512_castsi512_si256(al[b]), _mm512_castsi512_si256(ah[b]))
                } else {
                    (_mm512_extracti64x4_epi64::<1>(al[b]), _mm512_extracti64x4_epi64::<1>(ah[b]))
                };
                let sum = _mm512_add_epi64(_mm512_slli_epi64::<8>(_mm512_cvtepi32_epi64(h)), _mm512_cvtepi32_epi64(l));
                // SAFETY: acc has 64 entries; this is entries 16b + 8half .. +8.
                let p = ap.add(b * 16 + half * 8);
                _mm512_storeu_si512(p.cast(), _mm512_add_epi64(_mm512_loadu_si512(p.cast()), sum));
            }
        }
    }
}
