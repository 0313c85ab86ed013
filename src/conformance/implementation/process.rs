//! A child process speaking the adapter protocol (`adapters/PROTOCOL.md`),
//! restarted after each death.
//!
//! Invariants:
//! - A failure of the transport is [`Outcome::Broken`], never
//!   [`Outcome::Error`]: only an `error` answer is a refusal the
//!   implementation made.
//! - Every failure of the transport is a *death*: the adapter timed out,
//!   exited, closed its stdout, could not be written to, printed a line that
//!   is not an answer, or answered with another id. The runner then ends the
//!   adapter's whole process group, the call fails with the reason (and the
//!   adapter's last stderr lines), [`Implementation::take_death`] reports it,
//!   and the next call starts a fresh process (spawn and `hello`). So no
//!   answer of one life can be taken for a request of the next.

mod session;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use super::Implementation;
use crate::conformance::compare::MASKED;
use crate::conformance::ops::{Context, Outcome};
use session::{Ended, Received, Session};

/// Characters of a junk line quoted in the reason.
const JUNK_SHOWN: usize = 80;
/// How long an adapter that closed its stdout gets to exit by itself (to report its own status).
const EXIT_PATIENCE: Duration = Duration::from_secs(2);
/// The least time `hello` gets, whatever the timeout of a request: starting
/// an interpreter and importing a library is not a case's work, and a busy
/// machine can make it slow.
const HELLO_PATIENCE: Duration = Duration::from_secs(60);

/// A child process speaking the adapter protocol: one JSON request per line
/// on its stdin, one JSON response per line on its stdout.
pub struct ProcessAdapter {
    pub(super) name: String,
    /// The adapter's answer to the first `hello` (name, version, features, and anything else it reports).
    pub hello: Value,
    features: BTreeSet<String>,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    timeout: Duration,
    /// The arguments of every `hello`.
    hello_args: Value,
    /// The running process; `None` after a death, until the next call.
    session: Option<Session>,
    /// Why it died since [`Implementation::take_death`] last looked.
    death: Option<String>,
}

/// How a life ended during one request.
enum Death {
    TimedOut,
    /// stdout closed, or stdin could not be written.
    Gone,
    Junk(String),
    WrongId(Value, u64),
}

impl ProcessAdapter {
    /// Starts `argv` and performs the `hello` handshake, telling the adapter
    /// where models, synthetic models and corpus texts are. `timeout` bounds
    /// every answer (`hello` gets at least [`HELLO_PATIENCE`]).
    pub fn spawn(argv: &[String], env: &[(String, String)], timeout: Duration, ctx: &Context) -> Result<Self, String> {
        let mut a = ProcessAdapter {
            name: argv.first().cloned().unwrap_or_default(),
            hello: Value::Null,
            features: BTreeSet::new(),
            argv: argv.to_vec(),
            env: env.to_vec(),
            timeout,
            hello_args: json!({
                "protocol": 1,
                "models_dir": ctx.models_dir.display().to_string(),
                "vectors_dir": ctx.vectors_dir.display().to_string(),
                "corpus_dir": ctx.corpus_dir.display().to_string(),
            }),
            session: None,
            death: None,
        };
        let (s, hello) = a.start().map_err(|e| format!("adapter handshake failed: {e}"))?;
        a.session = Some(s);
        if let Some(n) = hello.get("name").and_then(Value::as_str) {
            a.name = n.to_string();
        }
        a.features = hello
            .get("features")
            .and_then(Value::as_array)
            .map(|f| f.iter().filter_map(Value::as_str).map(String::from).collect())
            .unwrap_or_default();
        a.hello = hello;
        Ok(a)
    }

    /// Starts a process and shakes hands; returns it with its `hello` answer.
    fn start(&self) -> Result<(Session, Value), String> {
        let mut s = Session::start(&self.argv, &self.env)?;
        match self.exchange(&mut s, "hello", &self.hello_args) {
            Ok(Outcome::Result(v)) => Ok((s, v)),
            Ok(Outcome::Error(e) | Outcome::Unsupported(e) | Outcome::Broken(e)) => Err(e),
            Err(d) => Err(self.bury(s, d, "hello")),
        }
    }

    /// One request and its answer on `s`.
    fn exchange(&self, s: &mut Session, op: &str, args: &Value) -> Result<Outcome, Death> {
        let id = s.next_id;
        s.next_id += 1;
        if !s.send(&json!({"id": id, "op": op, "args": args}).to_string()) {
            return Err(Death::Gone);
        }
        let line = match s.receive(self.timeout_of(op)) {
            Received::Line(l) => l,
            Received::Closed => return Err(Death::Gone),
            Received::TimedOut => return Err(Death::TimedOut),
        };
        let Ok(Value::Object(resp)) = serde_json::from_str::<Value>(&line) else { return Err(Death::Junk(line)) };
        let got = resp.get("id").cloned().unwrap_or(Value::Null);
        if got.as_u64() != Some(id) {
            return Err(Death::WrongId(got, id));
        }
        if let Some(r) = resp.get("result") {
            let mut r = r.clone();
            if let Some(fields) = r.as_object_mut() {
                fields.remove(MASKED); // the runner's to set, never an adapter's
            }
            return Ok(Outcome::Result(r));
        }
        if let Some(u) = resp.get("unsupported") {
            return Ok(Outcome::Unsupported(u.as_str().unwrap_or("unsupported").to_string()));
        }
        if let Some(e) = resp.get("error") {
            return Ok(Outcome::Error(e.as_str().map_or_else(|| e.to_string(), String::from)));
        }
        Err(Death::Junk(line))
    }

    fn timeout_of(&self, op: &str) -> Duration {
        if op == "hello" {
            self.timeout.max(HELLO_PATIENCE)
        } else {
            self.timeout
        }
    }

    /// Ends a life that died answering `op`; the reason, one line.
    fn bury(&self, mut s: Session, death: Death, op: &str) -> String {
        let ended: Ended = s.end(if matches!(death, Death::Gone) { EXIT_PATIENCE } else { Duration::ZERO });
        let what = match death {
            Death::TimedOut => format!("timed out after {}; its process group was stopped", seconds(self.timeout_of(op))),
            Death::Gone if ended.by_itself => ended.status_words(),
            Death::Gone => "closed its stdout; its process group was stopped".into(),
            Death::Junk(line) if line.trim().is_empty() => "printed junk: an empty line".into(),
            Death::Junk(line) => format!("printed junk: {}", line.chars().take(JUNK_SHOWN).collect::<String>()),
            Death::WrongId(got, want) => format!("answered with id {got} (expected {want})"),
        };
        format!("{op}: adapter {what}{}", ended.stderr_words())
    }
}

/// `1 s`, `1.5 s`.
fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} s", d.as_secs_f64())
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
        let mut s = match self.session.take() {
            Some(s) => s,
            None => match self.start() {
                Ok((s, _)) => s,
                Err(e) => {
                    let why = format!("could not restart the adapter: {e}");
                    self.death = Some(why.clone());
                    return Outcome::Broken(why);
                }
            },
        };
        match self.exchange(&mut s, op, args) {
            Ok(outcome) => {
                self.session = Some(s);
                outcome
            }
            Err(d) => {
                let why = self.bury(s, d, op);
                self.death = Some(why.clone());
                Outcome::Broken(why)
            }
        }
    }
    fn take_death(&mut self) -> Option<String> {
        self.death.take()
    }
}
