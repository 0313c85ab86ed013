//! The portable reference kernel: the exact sums, read straight from the
//! packed layout, no tricks. Every other kernel is tested against this one.

use super::packed::{PackedRows, BLOCK_ROWS, GROUP};

/// See [`super::gemm`]. Widths: each product is at most 127·128 in
/// magnitude and the loader bounds k so the i32 sum cannot overflow; the
/// wrapping add is therefore exact (and keeps the loop vectorisable).
pub fn gemm(x: &[i8], x_stride: usize, n: usize, w: &PackedRows, m: usize, out: &mut [i32], out_stride: usize) {
    let k = w.cols();
    for b in 0..m.div_ceil(BLOCK_ROWS) {
        let blk = w.block(b);
        let o0 = b * BLOCK_ROWS;
        let live = (m - o0).min(BLOCK_ROWS);
        for r in 0..n {
            let xr = &x[r * x_stride..r * x_stride + k];
            let mut acc = [0i32; BLOCK_ROWS];
            for (c, &xv) in xr.iter().enumerate() {
                let g = &blk[(c / GROUP) * BLOCK_ROWS * GROUP + c % GROUP..];
                for (o, a) in acc.iter_mut().enumerate() {
                    *a = a.wrapping_add(i32::from(xv) * i32::from(g[o * GROUP]));
                }
            }
            out[r * out_stride + o0..r * out_stride + o0 + live].copy_from_slice(&acc[..live]);
        }
    }
}
