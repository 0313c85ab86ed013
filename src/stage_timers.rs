//! Stage timers: where the engine's time goes, without a profiler
//! (`czip bench --stages`).
//!
//! Off by default. A timer started while they are off is one relaxed atomic
//! load and nothing else (no clock read), so the hot paths carry them
//! always; while on, each timer reads the monotonic clock twice and adds the
//! nanoseconds between to its stage's counter. Counters are process-wide and
//! summed over threads: with several workers a stage's total is its CPU
//! time, not wall time, and the shares ([`Shares`]) are shares of the summed
//! time. Timers are placed on one thread's path through a stage; work a
//! stage hands to other threads (`rayon::join` inside a GEMM) is counted as
//! the caller's wait for it, which is the same time.
//!
//! The model's forward pass is timed whole ([`Stage::Forward`]) and in two
//! parts inside it (matrices, attention); the element-wise part is the
//! rest (`Forward − Matrices − Attention`), so no timer sits in the
//! per-row loops of RMSNorm, RoPE and the others.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// A timed stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The whole forward pass of a batch (spec §5–§6), matrices and
    /// attention included.
    Forward,
    /// The int8 matrix products of the forward pass (QKV, output, FFN, head).
    Matrices,
    /// Attention over the cached keys and values (scores, softmax, values).
    Attention,
    /// Frequency tables from logits (spec §6).
    FreqTable,
    /// The arithmetic coder, both directions (spec §7), with the decoder's
    /// re-encoding check.
    Coder,
    /// Text to tokens and back (spec §4).
    Tokenizer,
    /// The container's brotli/zstd stream, both directions (spec §9).
    OuterCodec,
}

const STAGES: usize = 7;

static ON: AtomicBool = AtomicBool::new(false);
static NANOS: [AtomicU64; STAGES] = [const { AtomicU64::new(0) }; STAGES];

/// Turns the timers on or off (process-wide). Counters are kept; see [`reset`].
pub fn enable(on: bool) {
    ON.store(on, Relaxed);
}

/// Zeroes every counter.
pub fn reset() {
    for n in &NANOS {
        n.store(0, Relaxed);
    }
}

/// A running timer: adds the time until it is dropped to its stage.
#[must_use = "a timer measures until it is dropped"]
pub struct Timer(Option<(Stage, Instant)>);

/// Starts timing `stage` (nothing, when the timers are off).
#[inline]
pub fn start(stage: Stage) -> Timer {
    Timer(ON.load(Relaxed).then(|| (stage, Instant::now())))
}

impl Drop for Timer {
    #[inline]
    fn drop(&mut self) {
        if let Some((stage, t0)) = self.0 {
            // u64 nanoseconds: 584 years.
            let ns = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
            NANOS[stage as usize].fetch_add(ns, Relaxed);
        }
    }
}

/// The counters, as exclusive stages (the element-wise part of the forward
/// pass is what its two timed parts leave).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shares {
    pub matrices: Duration,
    pub attention: Duration,
    pub elementwise: Duration,
    pub freq_table: Duration,
    pub coder: Duration,
    pub tokenizer: Duration,
    pub outer_codec: Duration,
}

impl Shares {
    /// The counters now.
    pub fn read() -> Shares {
        let ns = |s: Stage| NANOS[s as usize].load(Relaxed);
        let (fwd, mat, att) = (ns(Stage::Forward), ns(Stage::Matrices), ns(Stage::Attention));
        let d = Duration::from_nanos;
        Shares {
            matrices: d(mat),
            attention: d(att),
            elementwise: d(fwd.saturating_sub(mat + att)),
            freq_table: d(ns(Stage::FreqTable)),
            coder: d(ns(Stage::Coder)),
            tokenizer: d(ns(Stage::Tokenizer)),
            outer_codec: d(ns(Stage::OuterCodec)),
        }
    }

    /// `(name, time)` of each stage, in pipeline order.
    pub fn rows(&self) -> [(&'static str, Duration); STAGES] {
        [
            ("tokenizer", self.tokenizer),
            ("matrices", self.matrices),
            ("attention", self.attention),
            ("element-wise", self.elementwise),
            ("frequency table", self.freq_table),
            ("coder", self.coder),
            ("outer codec", self.outer_codec),
        ]
    }

    /// The sum of the stages.
    pub fn total(&self) -> Duration {
        self.rows().iter().map(|r| r.1).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test touches the process-wide counters (tests run in parallel).
    #[test]
    fn timers_count_only_while_on_and_elementwise_is_the_rest() {
        reset();
        drop(start(Stage::Coder));
        assert_eq!(Shares::read(), Shares::default(), "off: nothing counted");
        enable(true);
        {
            let _f = start(Stage::Forward);
            let _m = start(Stage::Matrices);
            std::thread::sleep(Duration::from_millis(2));
        }
        enable(false);
        let s = Shares::read();
        assert!(s.matrices >= Duration::from_millis(2));
        assert_eq!(s.total(), s.matrices + s.elementwise);
        reset();
        assert_eq!(Shares::read(), Shares::default());
    }
}
