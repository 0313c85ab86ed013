//! Every line `czip-conformance` writes to stdout goes through [`out`].
//!
//! When stdout is closed early (`czip-conformance list | head -1`, a reader
//! that died), the write fails with `BrokenPipe`: the output is then dropped
//! silently and the command finishes its work (a `run` still writes its
//! report), and `main` exits with status 141, the status of a process killed
//! by SIGPIPE, without a message. SIGPIPE itself stays ignored (the Rust
//! default): the runner writes to adapter processes' stdin, and a dead adapter
//! must be an error answer, not the end of the runner.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicU8, Ordering};

/// 0 while stdout works; else the exit status its failure calls for.
static FAILED: AtomicU8 = AtomicU8::new(0);

/// Writes `text` to stdout and flushes. Returns false (and writes nothing
/// from then on) once stdout is closed; any other write error is reported
/// once on stderr and ends the command with status 1 the same way.
pub fn out(text: &str) -> bool {
    if failed_status().is_some() {
        return false;
    }
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => true,
        Err(e) => {
            let status = if e.kind() == ErrorKind::BrokenPipe {
                141
            } else {
                eprintln!("czip-conformance: cannot write to stdout: {e}");
                1
            };
            FAILED.store(status, Ordering::Relaxed);
            false
        }
    }
}

/// [`out`] with a newline.
pub fn outln(line: &str) -> bool {
    out(&format!("{line}\n"))
}

/// The exit status to end with once a write to stdout has failed: 141 when
/// it was closed, 1 for any other error.
pub fn failed_status() -> Option<u8> {
    match FAILED.load(Ordering::Relaxed) {
        0 => None,
        s => Some(s),
    }
}
