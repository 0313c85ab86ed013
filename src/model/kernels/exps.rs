//! The vectorised exps of the fast paths: spec §6 `exp(d; coef)` in the
//! 32-bit form of [`ExpNarrow`], over whole slices — the attention's segment
//! weights (§5, portable path) and the frequency table's `e_j` (§6).
//!
//! Three implementations give, element by element, exactly [`exp_narrow`]:
//!
//! * portable: a loop over [`exp_narrow`] compiled by [`multiversion`]; on
//!   AVX2/AVX-512 the table read becomes a gather;
//! * AVX-512 F/BW (run with [`Kernel::Avx512`]; [`exp16`](avx512::exp16) is
//!   also the exp of the fused softmax): the 256-entry table is kept
//!   as u16 in eight registers and read with four two-register word
//!   permutes (`vpermt2w`, 64 entries each, index bits 0–5) and two blends
//!   (bits 6 and 7) — a 16-lane gather costs several times more;
//! * AVX2 (run with [`Kernel::Avx2`]; [`exp8`](avx2::exp8) is also the exp
//!   of the fused AVX2 softmax, [`attention_avx2`](super::attention_avx2)):
//!   the same steps on eight lanes, the table read with `vpgatherdd` (256
//!   u16 entries do not fit AVX2's byte shuffles).
//!
//! All are tested against the one reference, [`exp_q16`](crate::numerics::exp_q16),
//! over the whole argument range and every tail length
//! (`tests/integration/kernels_elementwise.rs`), and through the fused softmax against
//! the reference head loop.

use super::elementwise::{exp_narrow, multiversion, ExpNarrow};
use super::Kernel;

/// The model's `lut.exp2` in the two forms the exps read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exp2Lut {
    /// Widened to u32, for [`exp_narrow`] (and its gathers).
    pub wide: [u32; 256],
    /// As stored (u16), for the register lookup.
    pub narrow: [u16; 256],
}

impl Exp2Lut {
    pub fn new(exp2: &[u16; 256]) -> Self {
        Exp2Lut { wide: exp2.map(u32::from), narrow: *exp2 }
    }
}

/// `out_j = exp_narrow(x_j − m, p)` (wrapping i32 difference) for every j,
/// and returns `Σ out` (exact: `x.len()·65535 < 2^64`).
pub fn exps_sub(kernel: Kernel, x: &[i32], m: i32, p: &ExpNarrow, lut: &Exp2Lut, out: &mut [u32]) -> u64 {
    assert_eq!(out.len(), x.len());
    #[cfg(target_arch = "x86_64")]
    if kernel == Kernel::Avx512 {
        assert!(kernel.is_available(), "AVX-512 not available");
        // SAFETY: AVX-512 F/BW present (asserted); lengths equal (asserted).
        return unsafe { avx512::exps_sub(x, m, p, &lut.narrow, out) };
    }
    #[cfg(target_arch = "x86_64")]
    if kernel == Kernel::Avx2 {
        assert!(kernel.is_available(), "AVX2 not available");
        // SAFETY: AVX2 present (asserted); lengths equal (asserted).
        return unsafe { avx2::exps_sub(x, m, p, &lut.wide, out) };
    }
    let _ = kernel;
    let mut sum = 0;
    exps_sub_portable(x, m, p, &lut.wide, out, &mut sum);
    sum
}

multiversion! {
    /// The portable [`exps_sub`].
    pub fn exps_sub_portable(x: &[i32], m: i32, p: &ExpNarrow, exp2: &[u32; 256], out: &mut [u32], sum: &mut u64) {
        let mut s = 0u64;
        for (o, &v) in out.iter_mut().zip(x) {
            let e = exp_narrow(v.wrapping_sub(m), p, exp2);
            *o = e;
            s = s.wrapping_add(u64::from(e));
        }
        *sum = s;
    }
}

multiversion! {
    /// The weights of one attention segment (spec §5) for the portable
    /// softmax: `w_t = exp(sc_t − m; ATTN_COEF_Q24)` for a run of scores
    /// with every `sc_t <= m` (`w.len() == sc.len()`), and `sum = Σ w_t`
    /// (at most 65536·65535 < 2^32 for the at most 65,536 positions of a
    /// softmax scratch: exact in u32). Sixteen positions at a time; the last
    /// partial group is padded with `m`, computed whole, and only its real
    /// part kept. (The fused softmaxes compute their weights in registers:
    /// [`attention_avx512`](super::attention_avx512),
    /// [`attention_avx2`](super::attention_avx2).)
    pub fn segment_weights(sc: &[i32], m: i32, exp2: &[u32; 256], w: &mut [u32], sum: &mut u32) {
        let n = sc.len();
        let full = n - n % 16;
        // Per-lane partial sums, added up once at the end.
        let mut lanes = [0u32; 16];
        for (sc, w) in sc.chunks_exact(16).zip(w.chunks_exact_mut(16)) {
            weights16(sc.try_into().expect("16"), m, exp2, w.try_into().expect("16"), &mut lanes, 16);
        }
        let rest = n - full;
        if rest > 0 {
            let mut pad = [m; 16];
            pad[..rest].copy_from_slice(&sc[full..]);
            let mut pw = [0u32; 16];
            weights16(&pad, m, exp2, &mut pw, &mut lanes, rest);
            w[full..n].copy_from_slice(&pw[..rest]);
        }
        *sum = lanes.iter().fold(0u32, |a, &x| a.wrapping_add(x));
    }
}

/// Sixteen weights of [`segment_weights`]; the first `keep` are added to `lanes`.
#[inline(always)]
fn weights16(sc: &[i32; 16], m: i32, exp2: &[u32; 256], w: &mut [u32; 16], lanes: &mut [u32; 16], keep: usize) {
    for i in 0..16 {
        let e = exp_narrow(sc[i].wrapping_sub(m), &ExpNarrow::ATTN, exp2);
        w[i] = e;
        lanes[i] = lanes[i].wrapping_add(if i < keep { e } else { 0 });
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use std::arch::x86_64::*;

    use super::ExpNarrow;

    /// The constants of [`exp16`], broadcast once per call.
    pub(crate) struct Consts {
        table: [__m512i; 8],
        n_max: __m512i,
        ch: __m512i,
        cl: __m512i,
    }

    impl Consts {
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw")]
        pub(crate) unsafe fn new(p: &ExpNarrow, exp2: &[u16; 256]) -> Consts {
            let mut table = [_mm512_setzero_si512(); 8];
            for (j, t) in table.iter_mut().enumerate() {
                // SAFETY: entries 32j..32j+32 of a 256-entry table.
                *t = _mm512_loadu_si512(exp2.as_ptr().add(32 * j).cast());
            }
            let b = |v: u32| _mm512_set1_epi32(v as i32);
            Consts { table, n_max: b(p.n_max), ch: b(p.ch), cl: b(p.cl) }
        }
    }

    /// [`exp_narrow`](super::exp_narrow) of sixteen i32 lanes `d`, step by
    /// step (every operation in u32 lanes, bounds as stated at `ExpNarrow`):
    /// `n = min(|d|, n_max)`; `t = (n·ch + ((n·cl + 2^23) >> 8)) >> 16`;
    /// `E = exp2[t & 255]` (register lookup); `scaled = E << (16 − t>>8)`,
    /// where `vpsllvd` gives 0 for the wrapped counts of `t>>8 > 16`, as
    /// the reference does; `clamp((scaled + 32768) >> 16, 1, 65535)`; and
    /// 65535 where `d >= 0`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(crate) unsafe fn exp16(d: __m512i, c: &Consts) -> __m512i {
        let b = |v: u32| _mm512_set1_epi32(v as i32);
        let n = _mm512_min_epu32(_mm512_abs_epi32(d), c.n_max);
        let low = _mm512_srli_epi32::<8>(_mm512_add_epi32(_mm512_mullo_epi32(n, c.cl), b(1 << 23)));
        let t = _mm512_srli_epi32::<16>(_mm512_add_epi32(_mm512_mullo_epi32(n, c.ch), low));
        let idx = _mm512_and_si512(t, b(255));
        // Word lane 2i holds the index (< 256), word 2i+1 holds 0 and reads
        // table[0]: masked off below.
        let q0 = _mm512_permutex2var_epi16(c.table[0], idx, c.table[1]);
        let q1 = _mm512_permutex2var_epi16(c.table[2], idx, c.table[3]);
        let q2 = _mm512_permutex2var_epi16(c.table[4], idx, c.table[5]);
        let q3 = _mm512_permutex2var_epi16(c.table[6], idx, c.table[7]);
        let bit6 = _mm512_test_epi32_mask(idx, b(64));
        let bit7 = _mm512_test_epi32_mask(idx, b(128));
        let e01 = _mm512_mask_blend_epi32(bit6, q0, q1);
        let e23 = _mm512_mask_blend_epi32(bit6, q2, q3);
        let e = _mm512_and_si512(_mm512_mask_blend_epi32(bit7, e01, e23), b(0xffff));
        let scaled = _mm512_sllv_epi32(e, _mm512_sub_epi32(b(16), _mm512_srli_epi32::<8>(t)));
        let v = _mm512_srli_epi32::<16>(_mm512_add_epi32(scaled, b(32768)));
        let v = _mm512_min_epu32(_mm512_max_epu32(v, b(1)), b(65535));
        _mm512_mask_blend_epi32(_mm512_cmpge_epi32_mask(d, _mm512_setzero_si512()), v, b(65535))
    }

    /// The mask of the first `min(n, 16)` lanes.
    #[inline(always)]
    pub(crate) fn head_mask(n: usize) -> __mmask16 {
        if n >= 16 {
            0xffff
        } else {
            (1u16 << n) - 1
        }
    }

    /// See [`super::exps_sub`].
    ///
    /// # Safety
    /// AVX-512 F/BW; `out.len() == x.len()`.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub unsafe fn exps_sub(x: &[i32], m: i32, p: &ExpNarrow, exp2: &[u16; 256], out: &mut [u32]) -> u64 {
        let c = Consts::new(p, exp2);
        let mv = _mm512_set1_epi32(m);
        // Σ in u64 lanes (halves widened): exact for any length.
        let (mut s0, mut s1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        let mut i = 0;
        while i < x.len() {
            let k = head_mask(x.len() - i);
            // SAFETY: the masked lanes stay inside x and out.
            let v = _mm512_maskz_loadu_epi32(k, x.as_ptr().add(i).cast());
            let e = _mm512_maskz_mov_epi32(k, exp16(_mm512_sub_epi32(v, mv), &c));
            _mm512_mask_storeu_epi32(out.as_mut_ptr().add(i).cast(), k, e);
            s0 = _mm512_add_epi64(s0, _mm512_cvtepu32_epi64(_mm512_castsi512_si256(e)));
            s1 = _mm512_add_epi64(s1, _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64::<1>(e)));
            i += 16;
        }
        _mm512_reduce_add_epi64(_mm512_add_epi64(s0, s1)) as u64
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use std::arch::x86_64::*;

    use super::ExpNarrow;

    /// The constants of [`exp8`], broadcast once per call, and the table it
    /// gathers from.
    pub(crate) struct Consts<'a> {
        table: &'a [u32; 256],
        n_max: __m256i,
        ch: __m256i,
        cl: __m256i,
    }

    impl<'a> Consts<'a> {
        #[inline]
        #[target_feature(enable = "avx2")]
        pub(crate) unsafe fn new(p: &ExpNarrow, exp2: &'a [u32; 256]) -> Consts<'a> {
            let b = |v: u32| _mm256_set1_epi32(v as i32);
            Consts { table: exp2, n_max: b(p.n_max), ch: b(p.ch), cl: b(p.cl) }
        }
    }

    /// [`exp_narrow`](super::exp_narrow) of eight i32 lanes `d`, step by step
    /// (every operation in u32 lanes, bounds as stated at `ExpNarrow`):
    /// `n = min(|d|, n_max)` (`vpabsd` of i32::MIN is 2^31 as u32, as
    /// `unsigned_abs`); `t = (n·ch + ((n·cl + 2^23) >> 8)) >> 16`;
    /// `E = exp2[t & 255]` (`vpgatherdd` from the widened table);
    /// `scaled = E << (16 − t>>8)`, where `vpsllvd` gives 0 for the wrapped
    /// counts of `t>>8 > 16`, as the reference does;
    /// `clamp((scaled + 32768) >> 16, 1, 65535)`; and 65535 where `d >= 0`.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn exp8(d: __m256i, c: &Consts) -> __m256i {
        let b = |v: u32| _mm256_set1_epi32(v as i32);
        let n = _mm256_min_epu32(_mm256_abs_epi32(d), c.n_max);
        let low = _mm256_srli_epi32::<8>(_mm256_add_epi32(_mm256_mullo_epi32(n, c.cl), b(1 << 23)));
        let t = _mm256_srli_epi32::<16>(_mm256_add_epi32(_mm256_mullo_epi32(n, c.ch), low));
        let idx = _mm256_and_si256(t, b(255));
        // SAFETY: every index is below 256, the table's length.
        let e = _mm256_i32gather_epi32::<4>(c.table.as_ptr().cast(), idx);
        let scaled = _mm256_sllv_epi32(e, _mm256_sub_epi32(b(16), _mm256_srli_epi32::<8>(t)));
        let v = _mm256_srli_epi32::<16>(_mm256_add_epi32(scaled, b(32768)));
        let v = _mm256_min_epu32(_mm256_max_epu32(v, b(1)), b(65535));
        // d >= 0 ⇔ d > −1.
        _mm256_blendv_epi8(v, b(65535), _mm256_cmpgt_epi32(d, b(u32::MAX)))
    }

    /// The lane mask (all ones in lane i) of the bits of `bits` (bit i: lane i).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn lane_mask(bits: u32) -> __m256i {
        let each = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
        _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(bits as i32), each), each)
    }

    /// The bits of the first `min(n, 8)` lanes.
    #[inline(always)]
    pub(crate) fn head_bits(n: usize) -> u32 {
        (1u32 << n.min(8)) - 1
    }

    /// See [`super::exps_sub`].
    ///
    /// # Safety
    /// AVX2; `out.len() == x.len()`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn exps_sub(x: &[i32], m: i32, p: &ExpNarrow, exp2: &[u32; 256], out: &mut [u32]) -> u64 {
        let c = Consts::new(p, exp2);
        let mv = _mm256_set1_epi32(m);
        // Σ in u64 lanes (halves widened): exact for any length.
        let (mut s0, mut s1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        let mut i = 0;
        while i < x.len() {
            let k = lane_mask(head_bits(x.len() - i));
            // SAFETY: the masked lanes stay inside x and out.
            let v = _mm256_maskload_epi32(x.as_ptr().add(i), k);
            let e = _mm256_and_si256(k, exp8(_mm256_sub_epi32(v, mv), &c));
            _mm256_maskstore_epi32(out.as_mut_ptr().add(i).cast(), k, e);
            s0 = _mm256_add_epi64(s0, _mm256_cvtepu32_epi64(_mm256_castsi256_si128(e)));
            s1 = _mm256_add_epi64(s1, _mm256_cvtepu32_epi64(_mm256_extracti128_si256::<1>(e)));
            i += 8;
        }
        let mut lanes = [0u64; 4];
        _mm256_storeu_si256(lanes.as_mut_ptr().cast(), _mm256_add_epi64(s0, s1));
        lanes.iter().sum()
    }
}
