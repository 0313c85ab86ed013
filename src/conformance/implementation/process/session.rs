//! One life of an adapter process: the child (leading its own process
//! group, see [`super::super::group`]), a thread reading its stdout into
//! lines, a thread passing its stderr through to ours while keeping the
//! lines written since the last request, and how the life ended.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::super::group::{end_group, in_own_group, TERM_GRACE};

/// Lines of the adapter's stderr kept to explain its death.
const STDERR_KEPT: usize = 3;
/// How long an adapter whose stdin was closed gets to exit by itself.
const EOF_PATIENCE: Duration = Duration::from_secs(2);

/// A running adapter process.
pub(super) struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// The stderr lines since the last [`Session::send`], newest last.
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// Disconnects when the stderr thread has seen the end of stderr.
    stderr_closed: Receiver<()>,
    ended: bool,
    /// The id of the next request (`hello` is 1).
    pub next_id: u64,
}

/// What came back on stdout while waiting for an answer.
pub(super) enum Received {
    Line(String),
    /// stdout reached its end: the adapter exited or closed it.
    Closed,
    TimedOut,
}

/// How a life ended.
pub(super) struct Ended {
    pub status: Option<ExitStatus>,
    /// The adapter exited by itself (rather than being stopped by the runner).
    pub by_itself: bool,
    /// Its stderr lines since the last request (at most [`STDERR_KEPT`]).
    pub stderr: Vec<String>,
}

impl Session {
    /// Starts `argv` in a process group of its own.
    pub fn start(argv: &[String], env: &[(String, String)]) -> Result<Session, String> {
        let (prog, rest) = argv.split_first().ok_or("adapter command is empty")?;
        let mut cmd = Command::new(prog);
        cmd.args(rest).envs(env.iter().map(|(k, v)| (k, v))).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = in_own_group(&mut cmd).spawn().map_err(|e| format!("cannot start adapter {prog:?}: {e}"))?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err("adapter has no stdout or stderr".into());
        };
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in lossy_lines(stdout) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let kept = Arc::new(Mutex::new(VecDeque::new()));
        let (closed_tx, stderr_closed) = channel::<()>();
        let tail = Arc::clone(&kept);
        std::thread::spawn(move || {
            let _closed = closed_tx; // dropped at the end of stderr
            for line in lossy_lines(stderr) {
                let _ = writeln!(std::io::stderr(), "{line}"); // passed through; a closed stderr is no reason to stop
                if let Ok(mut t) = tail.lock() {
                    if !line.trim().is_empty() {
                        t.push_back(line);
                    }
                    while t.len() > STDERR_KEPT {
                        t.pop_front();
                    }
                }
            }
        });
        Ok(Session { stdin: child.stdin.take(), child, lines, stderr: kept, stderr_closed, ended: false, next_id: 1 })
    }

    /// Writes one request line; `false` when the adapter cannot be written to.
    pub fn send(&mut self, line: &str) -> bool {
        if let Ok(mut t) = self.stderr.lock() {
            t.clear();
        }
        let Some(stdin) = self.stdin.as_mut() else { return false };
        writeln!(stdin, "{line}").and_then(|()| stdin.flush()).is_ok()
    }

    /// The next stdout line, waiting at most `timeout`.
    pub fn receive(&self, timeout: Duration) -> Received {
        match self.lines.recv_timeout(timeout) {
            Ok(l) => Received::Line(l),
            Err(RecvTimeoutError::Timeout) => Received::TimedOut,
            Err(RecvTimeoutError::Disconnected) => Received::Closed,
        }
    }

    /// Ends this life: closes stdin, gives the adapter `patience` to exit by
    /// itself, then ends its whole process group; collects the stderr lines
    /// written since the last request.
    pub fn end(&mut self, patience: Duration) -> Ended {
        self.ended = true;
        self.stdin = None;
        let (status, by_itself) = end_group(&mut self.child, patience);
        // The group is gone, so stderr ends now (unless something escaped the group).
        let _ = self.stderr_closed.recv_timeout(TERM_GRACE);
        let stderr = self.stderr.lock().map(|t| t.iter().cloned().collect()).unwrap_or_default();
        Ended { status, by_itself, stderr }
    }
}

impl Drop for Session {
    /// A session nobody ended: EOF on stdin, and the group ended after
    /// [`EOF_PATIENCE`] if the adapter ignores it.
    fn drop(&mut self) {
        if !self.ended {
            self.end(EOF_PATIENCE);
        }
    }
}

impl Ended {
    /// `exited with status 3` / `was killed by signal 9`.
    pub fn status_words(&self) -> String {
        match self.status {
            Some(s) => match (s.code(), s.signal()) {
                (Some(c), _) => format!("exited with status {c}"),
                (None, Some(sig)) => format!("was killed by signal {sig}"),
                _ => s.to_string(),
            },
            None => "could not be waited for".into(),
        }
    }

    /// `; stderr: first | second | last`, or nothing when it wrote none.
    pub fn stderr_words(&self) -> String {
        if self.stderr.is_empty() {
            return String::new();
        }
        let clipped: Vec<String> = self.stderr.iter().map(|l| l.trim().chars().take(200).collect()).collect();
        format!("; stderr: {}", clipped.join(" | "))
    }
}

/// Lines of a byte stream, invalid UTF-8 replaced (an adapter printing
/// binary is junk to report, not a reason to stop reading), without `\n`.
fn lossy_lines(r: impl Read) -> impl Iterator<Item = String> {
    let mut r = BufReader::new(r);
    std::iter::from_fn(move || {
        let mut buf = Vec::new();
        match r.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                Some(String::from_utf8_lossy(&buf).into_owned())
            }
        }
    })
}
