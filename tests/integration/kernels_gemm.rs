//! Every int8 GEMM kernel against the scalar reference and against a plain
//! row-major matrix product: random inputs over the full i8 range (−128
//! included, on both sides), saturation-shaped extremes, every remainder of
//! the column group (4), the output block (16) and the row tiles (8, 4, 2).

use czip::model::kernels::{gemm, gemm_first, Kernel, PackedRows};

use crate::common;
use common::XorShift;

fn naive(x: &[i8], n: usize, w: &[i8], m: usize, k: usize) -> Vec<i32> {
    let mut out = vec![0; n * m];
    for r in 0..n {
        for o in 0..m {
            out[r * m + o] = (0..k).map(|c| i32::from(x[r * k + c]) * i32::from(w[o * k + c])).sum();
        }
    }
    out
}

/// Runs `kernel` with x rows padded to the packed width (padding filled
/// with garbage, which must not matter) and a wider output stride.
fn run(kernel: Kernel, x: &[i8], n: usize, p: &PackedRows, pad_byte: i8) -> Vec<i32> {
    let (k, m) = (p.cols(), p.rows());
    let xs = p.padded_cols() + 4;
    let mut xp = vec![pad_byte; n * xs];
    for r in 0..n {
        xp[r * xs..r * xs + k].copy_from_slice(&x[r * k..(r + 1) * k]);
    }
    let os = m + 3;
    let mut out = vec![i32::MIN; n * os];
    gemm(kernel, &xp, xs, n, p, &mut out, os);
    let mut dense = vec![0; n * m];
    for r in 0..n {
        dense[r * m..(r + 1) * m].copy_from_slice(&out[r * os..r * os + m]);
        assert!(out[r * os + m..(r + 1) * os].iter().all(|&v| v == i32::MIN), "{kernel:?} wrote past the row");
    }
    dense
}

fn kernels() -> Vec<Kernel> {
    let ks: Vec<Kernel> = Kernel::ALL.into_iter().filter(|k| k.is_available()).collect();
    for k in Kernel::ALL {
        if !k.is_available() {
            eprintln!("NOTE: kernel {} not available on this CPU; not tested", k.name());
        }
    }
    ks
}

#[test]
fn packing_round_trips() {
    let mut rng = XorShift(7);
    for (m, k) in [(1, 1), (17, 5), (33, 64), (16, 4)] {
        let w: Vec<i8> = (0..m * k).map(|_| rng.i8_full()).collect();
        let p = PackedRows::from_matrix(&w, m, k);
        for o in 0..m {
            for c in 0..k {
                assert_eq!(p.get(o, c), w[o * k + c]);
            }
        }
    }
}

#[test]
fn every_kernel_matches_the_reference_on_every_remainder() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for kernel in kernels() {
        for k in 1..=37 {
            for &m in &[1, 5, 15, 16, 17, 31, 32, 33, 48, 50] {
                for &n in &[1, 2, 3, 4, 5, 7, 8, 9, 12, 17] {
                    let x: Vec<i8> = (0..n * k).map(|_| rng.i8_full()).collect();
                    let w: Vec<i8> = (0..m * k).map(|_| rng.i8_full()).collect();
                    let p = PackedRows::from_matrix(&w, m, k);
                    let want = naive(&x, n, &w, m, k);
                    assert_eq!(run(Kernel::Scalar, &x, n, &p, 0), want, "scalar k={k} m={m} n={n}");
                    assert_eq!(run(kernel, &x, n, &p, rng.i8_full()), want, "{kernel:?} k={k} m={m} n={n}");
                }
            }
        }
    }
}

#[test]
fn every_kernel_matches_at_the_extremes() {
    // Largest magnitudes the bounds allow: long rows of ±127/−128.
    for kernel in kernels() {
        for &(xv, wv) in &[(127i8, 127i8), (-127, -128), (127, -128), (-128, -128), (-128, 127), (0, -128), (-1, -128)] {
            for &k in &[1024usize, 1023, 2048] {
                let (n, m) = (9, 33);
                let x = vec![xv; n * k];
                let w = vec![wv; m * k];
                let p = PackedRows::from_matrix(&w, m, k);
                let want = naive(&x, n, &w, m, k);
                assert_eq!(run(kernel, &x, n, &p, 99), want, "{kernel:?} x={xv} w={wv} k={k}");
            }
        }
    }
}

#[test]
fn growing_packed_rows_match_a_fresh_packing() {
    // The KV cache appends rows and reuses storage after clear().
    let mut rng = XorShift(3);
    let mut p = PackedRows::with_capacity(64, 64);
    for round in 0..3 {
        p.clear();
        let rows = 5 + 20 * round;
        let w: Vec<i8> = (0..rows * 64).map(|_| rng.i8_full()).collect();
        for row in w.chunks_exact(64) {
            p.push_row(row);
        }
        let x: Vec<i8> = (0..6 * 64).map(|_| rng.i8_full()).collect();
        let want = naive(&x, 6, &w, rows, 64);
        for kernel in kernels() {
            assert_eq!(run(kernel, &x, 6, &p, 0), want, "{kernel:?} round {round}");
        }
    }
}

#[test]
fn every_kernel_matches_on_batches_longer_than_a_row_chunk() {
    // The AVX2 kernel widens its inputs a chunk of rows at a time (96 KiB
    // of i16: 24 rows of 2,048 columns, 38 of 1,300): many chunks and a
    // partial last one, every row tile remainder.
    let mut rng = XorShift(11);
    for kernel in kernels() {
        for &(k, m, n) in &[(2048usize, 40usize, 53usize), (1300, 24, 77), (384, 33, 130)] {
            let x: Vec<i8> = (0..n * k).map(|_| rng.i8_full()).collect();
            let w: Vec<i8> = (0..m * k).map(|_| rng.i8_full()).collect();
            let p = PackedRows::from_matrix(&w, m, k);
            assert_eq!(run(kernel, &x, n, &p, rng.i8_full()), naive(&x, n, &w, m, k), "{kernel:?} k={k} m={m} n={n}");
        }
    }
}

#[test]
fn gemm_first_computes_the_first_rows_and_writes_nothing_past_them() {
    // The attention's causal score products: keys up to a position only.
    let mut rng = XorShift(12);
    let (k, rows, n) = (64, 70, 11);
    let w: Vec<i8> = (0..rows * k).map(|_| rng.i8_full()).collect();
    let p = PackedRows::from_matrix(&w, rows, k);
    let x: Vec<i8> = (0..n * k).map(|_| rng.i8_full()).collect();
    let full = naive(&x, n, &w, rows, k);
    for kernel in kernels() {
        for m in [0, 1, 7, 8, 9, 15, 16, 17, 33, 69, 70] {
            let mut out = vec![i32::MIN; n * rows];
            gemm_first(kernel, &x, k, n, &p, m, &mut out, rows);
            for r in 0..n {
                assert_eq!(out[r * rows..r * rows + m], full[r * rows..r * rows + m], "{kernel:?} m={m} row {r}");
                assert!(out[r * rows + m..(r + 1) * rows].iter().all(|&v| v == i32::MIN), "{kernel:?} m={m}: wrote past m");
            }
        }
    }
}
