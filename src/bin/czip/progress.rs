//! A progress line on stderr for runs longer than a second, only when
//! stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use czip::pipeline::Progress;

/// Runs `f` with a token counter; a helper thread prints
/// `label: N tokens, X tok/s` every 200 ms after the first second.
pub fn with_progress<T>(label: &str, total: Option<u64>, f: impl FnOnce(&Progress) -> T) -> T {
    let counter = Progress::new(0);
    if !std::io::stderr().is_terminal() {
        return f(&counter);
    }
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    std::thread::scope(|s| {
        let c = &counter;
        s.spawn(move || {
            let start = Instant::now();
            let mut shown = false;
            while let Err(mpsc::RecvTimeoutError::Timeout) = stop_rx.recv_timeout(Duration::from_millis(200)) {
                let el = start.elapsed();
                if el < Duration::from_secs(1) {
                    continue;
                }
                let n = c.load(Ordering::Relaxed);
                let rate = n as f64 / el.as_secs_f64();
                let of = total.map(|t| format!("/{t}")).unwrap_or_default();
                eprint!("\r{label}: {n}{of} tokens, {rate:.0} tok/s   ");
                let _ = std::io::stderr().flush();
                shown = true;
            }
            if shown {
                eprint!("\r\x1b[2K");
            }
        });
        let r = f(c);
        let _ = stop_tx.send(());
        r
    })
}
