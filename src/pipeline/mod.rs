//! The compression pipeline of spec §8: text → tokens → independent chunks →
//! arithmetic-coded bytes → CZIPv1 container, and back.
//!
//! Chunks are coded in parallel with rayon, each by a [`ChunkCoder`] that
//! owns one [`ForwardState`](crate::model::ForwardState) for its whole life:
//! no copy of the weights per chunk, no allocation per token. The output is
//! assembled in chunk order, so it is identical for any thread count and
//! kernel. The kernel and the pool are parameters of an [`Engine`], never
//! process state; the free functions run the default one (the fastest
//! kernel, on the caller's rayon pool).
//!
//! Failures are deterministic too: when several chunks fail, the error is
//! always the one of the lowest-index failing chunk ([`map_in_order`]),
//! whatever the thread count or which worker failed first.

mod chunk;
mod compress;
mod decompress;
mod engine;
mod model_check;
mod trace;

pub use chunk::{ChunkCoder, LockstepDecoder, LOCKSTEP_MAX, PREFILL_ROWS};
pub use compress::{compress, compress_staged, encode_chunks, write_encoded, CompressOptions, EncodedChunks};
pub use decompress::{
    decode_file, decode_tokens, decode_tokens_unverified, decompress, decompress_staged, decompress_with, read_for_model, text_from_tokens,
    DecompressOptions,
};
pub use engine::Engine;
pub use model_check::ModelIdCheck;
pub use trace::{TextTrace, TokenCost, TOP_K};

/// Smallest and largest chunk length exponents of spec §8 (64 and 4096 tokens).
pub const MIN_CHUNK_LOG2: u8 = 6;
pub const MAX_CHUNK_LOG2: u8 = 12;

/// Chunk length exponent for a compression level: level ℓ = 1..=5 → k = ℓ + 5.
pub fn level_to_chunk_log2(level: u8) -> Option<u8> {
    (1..=5).contains(&level).then_some(level + 5)
}

/// Runs `f(state, i)` for `i` in `0..n` on the current rayon pool (one
/// `state` per worker, from `init`) and returns the results in index order,
/// or the error of the **lowest** failing index.
///
/// Invariant: the result depends only on `f`, never on timing or the thread
/// count. A plain `collect::<Result<_, _>>()` on a parallel iterator returns
/// whichever error a worker happened to report first; here every index below
/// a known failure always runs, and only indices above the lowest failure
/// seen so far are skipped (they cannot change the answer).
fn map_in_order<S, T, E>(
    n: usize,
    init: impl Fn() -> S + Sync + Send,
    f: impl Fn(&mut S, usize) -> Result<T, E> + Sync + Send,
) -> Result<Vec<T>, E>
where
    T: Send,
    E: Send,
{
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let lowest_failure = AtomicUsize::new(usize::MAX);
    let results: Vec<Option<Result<T, E>>> = (0..n)
        .into_par_iter()
        .map_init(init, |state, i| {
            if i > lowest_failure.load(Ordering::Relaxed) {
                return None;
            }
            let r = f(state, i);
            if r.is_err() {
                lowest_failure.fetch_min(i, Ordering::Relaxed);
            }
            Some(r)
        })
        .collect();
    // Every index below the lowest failure ran (is `Some(Ok)`), so the first
    // error met in order is that failure's; skipped indices all come after it.
    results.into_iter().flatten().collect()
}

/// Counts tokens as they are coded, for a progress display. Shared by
/// reference between the workers and whoever displays it.
pub type Progress = std::sync::atomic::AtomicU64;

#[cfg(test)]
mod tests {
    use super::map_in_order;

    #[test]
    fn map_in_order_reports_the_lowest_failing_index_for_any_thread_count() {
        for threads in [1, 2, 3, 4, 8] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            for _ in 0..20 {
                // Index 37 fails fast, index 5 fails slowly: 5 must win.
                let r = pool.install(|| {
                    map_in_order(64, || (), |_, i| match i {
                        5 => {
                            std::thread::sleep(std::time::Duration::from_millis(2));
                            Err(i)
                        }
                        37 | 50 => Err(i),
                        _ => Ok(i * 2),
                    })
                });
                assert_eq!(r, Err(5), "{threads} threads");
            }
            let ok = pool.install(|| map_in_order(10, || (), |_, i| Ok::<_, ()>(i)));
            assert_eq!(ok, Ok((0..10).collect::<Vec<_>>()));
        }
    }
}
