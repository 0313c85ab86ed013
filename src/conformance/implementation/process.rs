//! A child process speaking the adapter protocol (`adapters/PROTOCOL.md`).
//!
//! Invariant: a failure of the transport (the process cannot be written to,
//! exits, times out, or writes something that is not an answer) is
//! [`Outcome::Broken`], never [`Outcome::Error`]: only an `error` answer is a
//! refusal the implementation made.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

use serde_json::{json, Value};

use super::Implementation;
use crate::conformance::compare::MASKED;
use crate::conformance::ops::{Context, Outcome};

/// A child process speaking the adapter protocol: one JSON request per line
/// on its stdin, one JSON response per line on its stdout.
pub struct ProcessAdapter {
    pub(super) name: String,
    /// The adapter's answer to `hello` (name, version, features, and anything else it reports).
    pub hello: Value,
    features: BTreeSet<String>,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<std::io::Result<String>>,
    next_id: u64,
    timeout: Duration,
}

impl ProcessAdapter {
    /// Starts `argv` and performs the `hello` handshake, telling the adapter
    /// where models, synthetic models and corpus texts are.
    pub fn spawn(argv: &[String], env: &[(String, String)], timeout: Duration, ctx: &Context) -> Result<Self, String> {
        let (prog, rest) = argv.split_first().ok_or("adapter command is empty")?;
        let mut child = Command::new(prog)
            .args(rest)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start adapter {prog:?}: {e}"))?;
        let stdout = child.stdout.take().ok_or("adapter has no stdout")?;
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut a = ProcessAdapter {
            name: prog.clone(),
            hello: Value::Null,
            features: BTreeSet::new(),
            stdin: child.stdin.take(),
            child,
            lines: rx,
            next_id: 1,
            timeout,
        };
        let hello = json!({
            "protocol": 1,
            "models_dir": ctx.models_dir.display().to_string(),
            "vectors_dir": ctx.vectors_dir.display().to_string(),
            "corpus_dir": ctx.corpus_dir.display().to_string(),
        });
        match a.call("hello", &hello) {
            Outcome::Result(v) => {
                if let Some(n) = v.get("name").and_then(Value::as_str) {
                    a.name = n.to_string();
                }
                a.features = v
                    .get("features")
                    .and_then(Value::as_array)
                    .map(|f| f.iter().filter_map(Value::as_str).map(String::from).collect())
                    .unwrap_or_default();
                a.hello = v;
                Ok(a)
            }
            Outcome::Error(e) | Outcome::Unsupported(e) | Outcome::Broken(e) => Err(format!("adapter handshake failed: {e}")),
        }
    }
}

impl Implementation for ProcessAdapter {
    fn name(&self) -> &str {
        &self.name
    }
    fn features(&self) -> &BTreeSet<String> {
        &self.features
    }
    fn call(&mut self, op: &str, args: &Value) -> Outcome {
        let id = self.next_id;
        self.next_id += 1;
        let req = json!({"id": id, "op": op, "args": args});
        let Some(stdin) = self.stdin.as_mut() else {
            return Outcome::Broken("adapter is not running".into());
        };
        if let Err(e) = writeln!(stdin, "{req}").and_then(|()| stdin.flush()) {
            return Outcome::Broken(format!("adapter stdin closed: {e}"));
        }
        loop {
            let line = match self.lines.recv_timeout(self.timeout) {
                Ok(Ok(l)) => l,
                Ok(Err(e)) => return Outcome::Broken(format!("adapter stdout: {e}")),
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    self.stdin = None;
                    return Outcome::Broken(format!("adapter did not answer {op} within {:?}; stopped it", self.timeout));
                }
                Err(RecvTimeoutError::Disconnected) => return Outcome::Broken("adapter exited".into()),
            };
            let Ok(resp) = serde_json::from_str::<Value>(&line) else {
                return Outcome::Broken(format!("adapter wrote a line that is not JSON: {line:.200}"));
            };
            if resp.get("id").and_then(Value::as_u64) != Some(id) {
                continue; // a stale answer to a request that timed out
            }
            if let Some(r) = resp.get("result") {
                let mut r = r.clone();
                if let Some(fields) = r.as_object_mut() {
                    fields.remove(MASKED); // the runner's to set, never an adapter's
                }
                return Outcome::Result(r);
            }
            if let Some(u) = resp.get("unsupported") {
                return Outcome::Unsupported(u.as_str().unwrap_or("unsupported").to_string());
            }
            if let Some(e) = resp.get("error") {
                return Outcome::Error(e.as_str().map_or_else(|| e.to_string(), String::from));
            }
            return Outcome::Broken(format!("adapter response has no result, error or unsupported: {line:.200}"));
        }
    }
}

impl Drop for ProcessAdapter {
    fn drop(&mut self) {
        self.stdin = None; // EOF: a well-behaved adapter exits
        for _ in 0..50 {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(40));
        }
        let _ = self.child.kill(); // it ignored EOF for 2 s
        let _ = self.child.wait();
    }
}
