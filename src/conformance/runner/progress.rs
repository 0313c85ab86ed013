//! The progress line `run` redraws in place when stderr is a terminal (and
//! never otherwise, so tests and CI see clean output):
//!
//! ```text
//! 1234/9504 cases, suite core, 3 failed, 2 min 05 s left
//! ```
//!
//! The text ([`progress_line`], [`time_left`]) is a pure function of its
//! inputs; [`Redraw`] adds the clock and the terminal codes.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Tick;

/// Clears the progress line (carriage return, erase to the end of the line).
pub const CLEAR: &str = "\r\x1b[K";
/// Least time between two redraws.
const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// `done/total cases, suite S, N failed, <time left>`.
pub fn progress_line(done: usize, total: usize, suite: &str, failed: usize, elapsed: Duration) -> String {
    format!("{done}/{total} cases, suite {suite}, {failed} failed, {}", time_left(done, total, elapsed))
}

/// The time left if the cases still to run take as long on average as those
/// done, rounded up to a second: `42 s left`, `2 min 05 s left`,
/// `1 h 07 min left`; `time left unknown` before the first case.
pub fn time_left(done: usize, total: usize, elapsed: Duration) -> String {
    if done == 0 {
        return "time left unknown".into();
    }
    let remaining = total.saturating_sub(done) as u128;
    let s = (elapsed.as_micros() * remaining).div_ceil(done as u128 * 1_000_000);
    match s {
        0..60 => format!("{s} s left"),
        60..3600 => format!("{} min {:02} s left", s / 60, s % 60),
        _ => format!("{} h {:02} min left", s / 3600, s % 3600 / 60),
    }
}

/// Redraws the progress line on a terminal, at most every 100 ms (and for the last case).
pub struct Redraw {
    started: Instant,
    last: Mutex<Option<Instant>>,
}

impl Default for Redraw {
    fn default() -> Self {
        Redraw { started: Instant::now(), last: Mutex::new(None) }
    }
}

impl Redraw {
    /// What to write to stderr after `tick` (the case was in `suite`), when it is time to redraw.
    pub fn text(&self, tick: &Tick, suite: &str) -> Option<String> {
        let now = Instant::now();
        let mut last = self.last.lock().ok()?;
        if tick.done < tick.total && last.is_some_and(|l| now.duration_since(l) < REDRAW_EVERY) {
            return None;
        }
        *last = Some(now);
        Some(format!("{CLEAR}{}", progress_line(tick.done, tick.total, suite, tick.failed, now.duration_since(self.started))))
    }
}
