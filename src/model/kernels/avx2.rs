//! AVX2 kernel: `vpmaddwd` on sign-extended i16 values.
//!
//! For a group of 4 columns, a 16-byte slice of the packed block holds 4
//! rows × 4 columns; sign-extended to 16 i16 it meets the input's 4 columns
//! (as i16, broadcast to every 64-bit lane) in one `vpmaddwd`, which leaves
//! two partial sums per output row (columns 0+1 and 2+3). `vpmaddubsw` is
//! not used: it saturates when −128 meets 255. Bounds: a pair sum is at
//! most 2·127·128 in magnitude; the i32 partial sums are bounded by the
//! whole sum's bound (`128·128·k < 2^31`).
//!
//! Register tile: 2 input rows × one block of 16 outputs (4 accumulators
//! per row, 2 partials per output); the partials are folded at the end with
//! `vphaddd`.

use std::arch::x86_64::*;

use super::packed::{PackedRows, BLOCK_ROWS, GROUP};

/// See [`super::gemm`].
///
/// # Safety
/// The CPU must support AVX2; the slice bounds of [`super::gemm`] must hold.
#[target_feature(enable = "avx2")]
pub unsafe fn gemm(x: &[i8], x_stride: usize, n: usize, w: &PackedRows, out: &mut [i32], out_stride: usize) {
    let mut r = 0;
    while r + 2 <= n {
        for b in 0..w.blocks() {
            tile::<2>(x, x_stride, r, w, b, out, out_stride);
        }
        r += 2;
    }
    if r < n {
        for b in 0..w.blocks() {
            tile::<1>(x, x_stride, r, w, b, out, out_stride);
        }
    }
}

#[inline]
#[allow(clippy::needless_range_loop)] // parallel arrays of registers
#[target_feature(enable = "avx2")]
unsafe fn tile<const R: usize>(
    x: &[i8],
    x_stride: usize,
    r0: usize,
    w: &PackedRows,
    b: usize,
    out: &mut [i32],
    out_stride: usize,
) {
    let groups = w.groups();
    let wp = w.block(b).as_ptr();
    let mut acc = [[_mm256_setzero_si256(); 4]; R];
    for g in 0..groups {
        let base = wp.add(g * BLOCK_ROWS * GROUP);
        let mut wv = [_mm256_setzero_si256(); 4];
        for (q, v) in wv.iter_mut().enumerate() {
            // SAFETY: 64 bytes per group in the block.
            *v = _mm256_cvtepi8_epi16(_mm_loadu_si128(base.add(q * 16).cast()));
        }
        for i in 0..R {
            // SAFETY: the row holds 4·groups bytes (asserted by gemm).
            let xv = std::ptr::read_unaligned(x.as_ptr().add((r0 + i) * x_stride + g * GROUP).cast::<i32>());
            let x16 = _mm_cvtepi8_epi16(_mm_cvtsi32_si128(xv)); // 4 i16 in the low 64 bits
            let xb = _mm256_broadcastq_epi64(x16);
            for q in 0..4 {
                acc[i][q] = _mm256_add_epi32(acc[i][q], _mm256_madd_epi16(wv[q], xb));
            }
        }
    }
    let o0 = b * BLOCK_ROWS;
    let live = (w.rows() - o0).min(BLOCK_ROWS);
    for i in 0..R {
        // acc[q] lanes: [o(4q) p0, o(4q) p1, o(4q+1) p0, …]; hadd(a, b) gives
        // [a0+a1, a2+a3, b0+b1, b2+b3 | a4+a5, a6+a7, b4+b5, b6+b7].
        let lo = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(acc[i][0], acc[i][1]));
        let hi = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(acc[i][2], acc[i][3]));
        let mut tmp = [0i32; BLOCK_ROWS];
        _mm256_storeu_si256(tmp.as_mut_ptr().cast(), lo);
        _mm256_storeu_si256(tmp.as_mut_ptr().add(8).cast(), hi);
        let row = (r0 + i) * out_stride + o0;
        out[row..row + live].copy_from_slice(&tmp[..live]);
    }
}
