//! The attention's value cache in the layout of its weighted-sum kernels.
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
//! operand of one AVX-512 VNNI `vpdpbusd` whose unsigned operand is four
//! weight bytes broadcast (the fused kernel,
//! [`attention_avx512`](super::attention_avx512)). [`weighted_sum`]
//! is the portable sum over the same layout (plain i64 sums).

use super::elementwise::multiversion;
use crate::model::HEAD_DIM;

/// Positions per group (the four bytes one `vpdpbusd` lane consumes).
pub const GROUP: usize = 4;
/// Bytes of one group: 64 dimensions × 4 positions.
const GROUP_BYTES: usize = HEAD_DIM * GROUP;

/// Value rows of up to `capacity` positions, grouped as described above,
/// and their running sums per dimension.
#[derive(Debug, Clone)]
pub struct PackedValues {
    data: Vec<i8>,
    /// `prefix[t·64 + i] = Σ_{u<t} V[u][i]` for `t <= len` (row 0 is zeros):
    /// at most `128·capacity` in magnitude, exact in i32 for any capacity
    /// below 2^24.
    prefix: Vec<i32>,
    len: usize,
}

impl PackedValues {
    pub fn with_capacity(capacity: usize) -> Self {
        assert!(capacity < 1 << 24, "value cache capacity");
        PackedValues { data: vec![0; capacity.div_ceil(GROUP) * GROUP_BYTES], prefix: vec![0; (capacity + 1) * HEAD_DIM], len: 0 }
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
        let group = &mut self.data[(t / GROUP) * GROUP_BYTES..][..GROUP_BYTES];
        for (dim, &v) in group.chunks_exact_mut(GROUP).zip(row) {
            dim[t % GROUP] = v;
        }
        let (before, after) = self.prefix[t * HEAD_DIM..(t + 2) * HEAD_DIM].split_at_mut(HEAD_DIM);
        for ((p, &b), &v) in after.iter_mut().zip(&*before).zip(row) {
            *p = b + i32::from(v);
        }
        self.len += 1;
    }
    /// `Σ_{u<t} V[u][i]` for the 64 dimensions i (`t <= len()`).
    pub fn sums_before(&self, t: usize) -> &[i32] {
        assert!(t <= self.len, "sums past the cached positions");
        &self.prefix[t * HEAD_DIM..(t + 1) * HEAD_DIM]
    }
    /// The grouped bytes: group g (positions 4g..4g+4) is bytes
    /// `256·g..256·(g+1)`, for every group of the capacity.
    pub fn bytes(&self) -> &[i8] {
        &self.data
    }
    /// `V[t][i]`.
    pub fn get(&self, t: usize, i: usize) -> i8 {
        assert!(t < self.len && i < HEAD_DIM);
        self.data[(t / GROUP) * GROUP_BYTES + i * GROUP + t % GROUP]
    }
}

multiversion! {
    /// `acc_i += Σ_{t0 <= t < t0 + w.len()} w_t · V[t][i]`: plain exact sums,
    /// position by position (`w·v` fits i32: `65535·128 < 2^23`; the sum is
    /// i64). Panics if the run goes past the cached positions.
    pub fn weighted_sum(values: &PackedValues, t0: usize, w: &[u32], acc: &mut [i64; HEAD_DIM]) {
        assert!(t0 + w.len() <= values.len, "run past the cached positions");
        for (t, &wt) in (t0..).zip(w) {
            let group = &values.data[(t / GROUP) * GROUP_BYTES..][..GROUP_BYTES];
            let wt = wt as i32;
            for (a, &v) in acc.iter_mut().zip(group[t % GROUP..].iter().step_by(GROUP)) {
                *a = a.wrapping_add(i64::from(wt.wrapping_mul(i32::from(v))));
            }
        }
    }
}
