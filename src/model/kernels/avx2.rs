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
//! Where the time goes, and so the shape of the loop (measured on AMD Zen 3
//! with loops of independent instructions): `vpmaddwd` issues twice per
//! cycle, but with the `vpaddd` that accumulates it a pair costs about 0.61
//! cycles (the adds share the vector ports), which bounds any `vpmaddwd`
//! kernel at about 26 multiply-adds per cycle; a sign extension
//! (`vpmovsxbw ymm`, lane-crossing) costs about 1.25 cycles and contends
//! with `vpmaddwd`. So the kernel spends as few sign extensions per
//! `vpmaddwd` as it can:
//! * the **inputs** are sign-extended once per call (a chunk of rows at a
//!   time) into a per-thread i16 copy ([`WIDE_X`]); a group's 4 inputs are
//!   then one 8-byte broadcast load (`vpbroadcastq ymm, m64`: a load, no
//!   shuffle);
//! * each sign-extended **weight** slice serves the [`R`] = 4 input rows of
//!   the register tile: R rows × 8 outputs (two slices) = 8 accumulators,
//!   2 weight registers and 1 broadcast — 2 sign extensions per 8
//!   `vpmaddwd` (the previous 2 rows × 16 outputs tile spent 8).
//!
//! On Zen 3 this runs at about 91 % of the pair bound (74.7 G multiply-adds
//! per second and core at about 3.15 GHz, was 54.5); 6-row tiles, weights
//! widened ahead or an unrolled loop measured no faster.
//!
//! Loop order: rows in chunks whose widened inputs stay in L2
//! ([`CHUNK_BYTES`]); inside a chunk, half-blocks of 8 outputs outside
//! (k·8 weight bytes, in L1) and row tiles inside. The partials are folded
//! at the end of a tile with `vphaddd`.

use std::arch::x86_64::*;
use std::cell::RefCell;

use super::packed::{PackedRows, BLOCK_ROWS, GROUP};

/// Input rows per register tile.
const R: usize = 4;
/// Outputs per register tile: half a block (two 16-byte slices of a group).
const HALF: usize = BLOCK_ROWS / 2;
/// Bytes of widened input a row chunk may hold (kept well inside L2).
const CHUNK_BYTES: usize = 96 << 10;

thread_local! {
    /// The current call's input rows sign-extended to i16, `padded_cols`
    /// per row (grows to the largest call once per thread; never shrinks).
    static WIDE_X: RefCell<Vec<i16>> = const { RefCell::new(Vec::new()) };
}

/// See [`super::gemm`].
///
/// # Safety
/// The CPU must support AVX2; the slice bounds of [`super::gemm`] must hold.
#[target_feature(enable = "avx2")]
pub unsafe fn gemm(x: &[i8], x_stride: usize, n: usize, w: &PackedRows, m: usize, out: &mut [i32], out_stride: usize) {
    let k = w.padded_cols();
    let chunk = (CHUNK_BYTES / (2 * k.max(1)) / R * R).max(R).min(n);
    WIDE_X.with(|wx| {
        let mut wx = wx.borrow_mut();
        if wx.len() < chunk * k {
            wx.resize(chunk * k, 0);
        }
        let halves = m.div_ceil(HALF);
        let mut r0 = 0;
        while r0 < n {
            let rows = (n - r0).min(chunk);
            for r in 0..rows {
                widen(&x[(r0 + r) * x_stride..][..k], &mut wx[r * k..(r + 1) * k]);
            }
            let xs = &wx[..rows * k];
            for h in 0..halves {
                let mut r = 0;
                while r + R <= rows {
                    tile::<R>(xs, k, r, r0, w, m, h, out, out_stride);
                    r += R;
                }
                match rows - r {
                    3 => tile::<3>(xs, k, r, r0, w, m, h, out, out_stride),
                    2 => tile::<2>(xs, k, r, r0, w, m, h, out, out_stride),
                    1 => tile::<1>(xs, k, r, r0, w, m, h, out, out_stride),
                    _ => {}
                }
            }
            r0 += rows;
        }
    })
}

/// `dst[c] = src[c]` as i16 (`dst.len() == src.len()`).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn widen(src: &[i8], dst: &mut [i16]) {
    let mut c = 0;
    while c + 16 <= src.len() {
        // SAFETY: 16 bytes read at c and 16 i16 written at c, both in bounds.
        let v = _mm256_cvtepi8_epi16(_mm_loadu_si128(src.as_ptr().add(c).cast()));
        _mm256_storeu_si256(dst.as_mut_ptr().add(c).cast(), v);
        c += 16;
    }
    for (d, &s) in dst[c..].iter_mut().zip(&src[c..]) {
        *d = i16::from(s);
    }
}

/// Widened rows `r..r+TR` of the chunk (whose first row is input row `r0`)
/// × outputs `8h..min(8h+8, m)`.
#[inline]
#[allow(clippy::needless_range_loop)] // parallel arrays of registers
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2")]
unsafe fn tile<const TR: usize>(
    xs: &[i16],
    k: usize,
    r: usize,
    r0: usize,
    w: &PackedRows,
    m: usize,
    h: usize,
    out: &mut [i32],
    out_stride: usize,
) {
    let groups = w.groups();
    // Half h is slices 2(h % 2) and 2(h % 2)+1 of every group of block h / 2.
    let wp = w.block(h / 2).as_ptr().add((h % 2) * 2 * 16);
    let xp = xs.as_ptr().add(r * k);
    let mut acc = [[_mm256_setzero_si256(); 2]; TR];
    for g in 0..groups {
        let base = wp.add(g * BLOCK_ROWS * GROUP);
        // SAFETY: 64 bytes per group in the block; this half's 32 start at `base`.
        let w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(base.cast()));
        let w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(base.add(16).cast()));
        for i in 0..TR {
            // SAFETY: each widened row holds 4·groups i16 (k = padded_cols).
            let xb = _mm256_set1_epi64x(std::ptr::read_unaligned(xp.add(i * k + g * GROUP).cast::<i64>()));
            acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(w0, xb));
            acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(w1, xb));
        }
    }
    let o0 = h * HALF;
    let live = (m - o0).min(HALF);
    for i in 0..TR {
        // acc[s] lanes: [o(4s) p0, o(4s) p1, o(4s+1) p0, …]; hadd(a, b) gives
        // [a0+a1, a2+a3, b0+b1, b2+b3 | a4+a5, a6+a7, b4+b5, b6+b7], which
        // the permutation puts in output order.
        let v = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(acc[i][0], acc[i][1]));
        let row = (r0 + r + i) * out_stride + o0;
        if live == HALF {
            // SAFETY: out holds out_stride·(n−1) + m entries (asserted by gemm) and o0 + 8 <= m.
            _mm256_storeu_si256(out.as_mut_ptr().add(row).cast(), v);
        } else {
            let mut tmp = [0i32; HALF];
            _mm256_storeu_si256(tmp.as_mut_ptr().cast(), v);
            out[row..row + live].copy_from_slice(&tmp[..live]);
        }
    }
}
