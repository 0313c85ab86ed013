//! The int8 peak of this CPU, measured with the engine's own packed kernel
//! ([`gemm`]) on cache-resident operands: the denominator of the roofline
//! (`czip bench --roofline`). A measurement, not a test.
//!
//! Operands: a 256 × 384 weight matrix (96 KiB packed: `D = 384` columns as
//! in v001), 64 rows of input (24 KiB) and 64 × 256 i32 outputs (64 KiB) —
//! all inside a core's L2 — so the figure is the kernel's arithmetic rate,
//! not memory bandwidth. The engine's real GEMMs are larger (the FFN's
//! 2048 × 384, the head's 1024 × 384) and stream their weights from L2/L3.

use std::time::{Duration, Instant};

use super::{gemm, Kernel, PackedRows};

const ROWS_OUT: usize = 256;
const COLS: usize = 384;
const ROWS_IN: usize = 64;

/// Length of one timed window.
const WINDOW: Duration = Duration::from_millis(20);

/// Multiply-adds per second of `kernel` on one thread, over about `budget`
/// of work: the best of as many windows of [`WINDOW`] as fit (at least 3).
/// A peak is the rate of an undisturbed window; on a shared machine long
/// windows average in whatever else runs (single 300 ms windows on one VM
/// gave 27.7–50.6 G/s for one kernel). Panics if the kernel is not available.
pub fn macs_per_second(kernel: Kernel, budget: Duration) -> f64 {
    // Deterministic operands; their values do not change the kernel's speed.
    let w: Vec<i8> = (0..ROWS_OUT * COLS).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as i8).collect();
    let packed = PackedRows::from_matrix(&w, ROWS_OUT, COLS);
    let stride = packed.padded_cols();
    let x: Vec<i8> = (0..ROWS_IN * stride).map(|i| (i.wrapping_mul(40_503) >> 3) as i8).collect();
    let mut out = vec![0i32; ROWS_IN * ROWS_OUT];
    let per_call = (ROWS_IN * ROWS_OUT * COLS) as f64;
    let windows = (budget.as_micros() / WINDOW.as_micros()).max(3);
    let mut best = 0f64;
    for _ in 0..windows {
        let t0 = Instant::now();
        let mut calls = 0u64;
        while calls == 0 || t0.elapsed() < WINDOW {
            for _ in 0..4 {
                gemm(kernel, &x, stride, ROWS_IN, &packed, &mut out, ROWS_OUT);
            }
            calls += 4;
            std::hint::black_box(&mut out);
        }
        best = best.max(calls as f64 * per_call / t0.elapsed().as_secs_f64());
    }
    best
}

/// [`macs_per_second`] on `threads` threads at once: the rate of the whole
/// machine as the engine's pool would use it (two threads on the two
/// hyperthreads of one core share its execution units).
pub fn macs_per_second_on(kernel: Kernel, budget: Duration, threads: usize) -> f64 {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1)).map(|_| s.spawn(move || macs_per_second(kernel, budget))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
    })
}
