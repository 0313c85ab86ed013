//! AVX-512 VNNI kernel: `vpdpbusd` multiplies four unsigned bytes by four
//! signed bytes and adds the four products to an i32 lane (no saturation).
//!
//! Here the *weights* are the unsigned operand: a packed weight byte w (any
//! i8, −128 included) becomes `w ^ 0x80 = w + 128` (0..255) right after its
//! load, and the input x is the signed operand, broadcast four bytes at a
//! time. So `Σ (w+128)·x = Σ w·x + 128·Σ x`, and the kernel subtracts
//! `128·Σ_c x[r][c]` per input row (over the padded width: a padding weight
//! is 0, flipped to 128, so the padding inputs are corrected the same way). Bounds: `|Σ (w+128)·x| <= 255·128·k <
//! 2^31` for the loader's k bound; `|128·Σ x| <= 2^14·k` likewise.
//!
//! Register tile: [`R`] input rows × 2 blocks of 16 outputs = 16
//! accumulators; per column group, 2 weight loads and 2 XORs serve 16
//! `vpdpbusd`. The loop runs blocks outside and rows inside, so a block pair
//! (k·32 bytes) stays in L1 while every input row passes over it.

use std::arch::x86_64::*;
use std::cell::RefCell;

use super::packed::{PackedRows, BLOCK_ROWS, GROUP};

/// Input rows per register tile.
const R: usize = 8;

thread_local! {
    /// `128·Σ_c x[r][c]` per input row of the current call (grows to the
    /// largest batch once per thread; never shrinks).
    static ROW_BIAS: RefCell<Vec<i32>> = const { RefCell::new(Vec::new()) };
}

/// See [`super::gemm`].
///
/// # Safety
/// The CPU must support AVX-512 F, BW and VNNI; the slice bounds of
/// [`super::gemm`] must hold (it asserts them).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn gemm(x: &[i8], x_stride: usize, n: usize, w: &PackedRows, m: usize, out: &mut [i32], out_stride: usize) {
    ROW_BIAS.with(|rb| {
        let mut rb = rb.borrow_mut();
        if rb.len() < n {
            rb.resize(n, 0);
        }
        // Over the padded width: the padding weights are 0 but become 128
        // after the flip, so the padding inputs must be corrected too.
        let k = w.padded_cols();
        for (r, b) in rb[..n].iter_mut().enumerate() {
            let row = &x[r * x_stride..r * x_stride + k];
            *b = row.iter().map(|&v| i32::from(v)).sum::<i32>() << 7;
        }
        let blocks = m.div_ceil(BLOCK_ROWS);
        let mut b = 0;
        while b < blocks {
            let nb = (blocks - b).min(2);
            let mut r = 0;
            while r < n {
                let nr = (n - r).min(R);
                match (nr, nb) {
                    (R, 2) => tile::<R, 2>(x, x_stride, r, w, m, b, &rb, out, out_stride),
                    (R, _) => tile::<R, 1>(x, x_stride, r, w, m, b, &rb, out, out_stride),
                    (4..=7, 2) => {
                        tile::<4, 2>(x, x_stride, r, w, m, b, &rb, out, out_stride);
                        r += 4;
                        continue;
                    }
                    (4..=7, _) => {
                        tile::<4, 1>(x, x_stride, r, w, m, b, &rb, out, out_stride);
                        r += 4;
                        continue;
                    }
                    (_, 2) => {
                        tile::<1, 2>(x, x_stride, r, w, m, b, &rb, out, out_stride);
                        r += 1;
                        continue;
                    }
                    _ => {
                        tile::<1, 1>(x, x_stride, r, w, m, b, &rb, out, out_stride);
                        r += 1;
                        continue;
                    }
                }
                r += R;
            }
            b += nb;
        }
    })
}

/// Rows `r0..r0+TR` × blocks `b0..b0+TB`.
#[inline]
#[allow(clippy::needless_range_loop)] // parallel arrays of registers
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<const TR: usize, const TB: usize>(
    x: &[i8],
    x_stride: usize,
    r0: usize,
    w: &PackedRows,
    m: usize,
    b0: usize,
    row_bias: &[i32],
    out: &mut [i32],
    out_stride: usize,
) {
    let groups = w.groups();
    let flip = _mm512_set1_epi32(0x8080_8080u32 as i32);
    let mut acc = [[_mm512_setzero_si512(); TB]; TR];
    let mut wp = [std::ptr::null::<i8>(); TB];
    for (j, p) in wp.iter_mut().enumerate() {
        *p = w.block(b0 + j).as_ptr();
    }
    let xp = x.as_ptr().add(r0 * x_stride);
    for g in 0..groups {
        let mut wv = [_mm512_setzero_si512(); TB];
        for j in 0..TB {
            // SAFETY: block j holds `groups` groups of 64 bytes.
            wv[j] = _mm512_xor_si512(_mm512_loadu_si512(wp[j].add(g * BLOCK_ROWS * GROUP).cast()), flip);
        }
        for i in 0..TR {
            // SAFETY: each row holds padded_cols = 4·groups bytes (asserted by gemm).
            let xv = _mm512_set1_epi32(std::ptr::read_unaligned(xp.add(i * x_stride + g * GROUP).cast::<i32>()));
            for j in 0..TB {
                acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], wv[j], xv);
            }
        }
    }
    for j in 0..TB {
        let o0 = (b0 + j) * BLOCK_ROWS;
        let live = (m - o0).min(BLOCK_ROWS);
        let mask: __mmask16 = if live == BLOCK_ROWS { 0xffff } else { (1u16 << live) - 1 };
        for i in 0..TR {
            let v = _mm512_sub_epi32(acc[i][j], _mm512_set1_epi32(row_bias[r0 + i]));
            // SAFETY: out holds out_stride·(n−1) + m entries (asserted by gemm); the mask stops at m.
            _mm512_mask_storeu_epi32(out.as_mut_ptr().add((r0 + i) * out_stride + o0).cast(), mask, v);
        }
    }
}
