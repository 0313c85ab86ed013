//! `czip-conformance serve`: the built-in engine behind the adapter protocol
//! (`adapters/PROTOCOL.md`), optionally with a deliberate fault.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use czip::conformance::faults::{self, Fault};
use czip::conformance::op_table::Op;
use czip::conformance::ops::{reference, Context, Outcome, ALL_FEATURES};
use serde_json::{json, Value};

use crate::stdout::outln;
use crate::Failure;

/// The protocol version this adapter speaks (PROTOCOL.md §3).
const PROTOCOL: u64 = 1;

/// Answers requests until stdin ends (status 0) or stdout is closed.
/// `ctx` holds the directories of the command line until `hello` names others.
pub fn serve(fault: Option<&str>, mut ctx: Context) -> Result<bool, Failure> {
    let fault = fault.map(parse_fault).transpose()?;
    let mut input = std::io::stdin().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).map_err(|e| format!("stdin: {e}"))? == 0 {
            break;
        }
        if line.trim_ascii().is_empty() {
            continue;
        }
        let request = line.strip_suffix(b"\n").unwrap_or(&line);
        let resp = match std::str::from_utf8(request) {
            Ok(text) => answer(text, fault, &mut ctx),
            Err(e) => json!({"id": null, "error": format!("request is not UTF-8: {e}")}),
        };
        if !outln(&resp.to_string()) {
            break; // nobody reads the answers any more
        }
    }
    Ok(true)
}

/// `--fault NAME` (of `serve` and `dump`), or the usage error listing the faults.
pub fn parse_fault(name: &str) -> Result<Fault, Failure> {
    Fault::parse(name).map_err(|_| {
        let names: Vec<_> = Fault::ALL.iter().map(|f| format!("{} ({})", f.name(), f.description())).collect();
        Failure::Usage(format!("--fault {name}: no such fault (have: {})", names.join("; ")))
    })
}

/// The response line to one request line: exactly one of `result`, `error`,
/// `unsupported`, with the request's `id` echoed unchanged (`null` when the
/// line is not a JSON object or has no `id`).
fn answer(line: &str, fault: Option<Fault>, ctx: &mut Context) -> Value {
    let req = match serde_json::from_str::<Value>(line) {
        Err(e) => return json!({"id": null, "error": format!("request is not JSON: {e}")}),
        Ok(Value::Object(req)) => req,
        Ok(other) => return json!({"id": null, "error": format!("a request is a JSON object, not {}", kind(&other))}),
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let outcome = match (req.get("op"), req.get("args")) {
        (Some(Value::String(op)), None | Some(Value::Null)) => call(op, &json!({}), fault, ctx),
        (Some(Value::String(op)), Some(args @ Value::Object(_))) => call(op, args, fault, ctx),
        (Some(Value::String(_)), Some(other)) => Outcome::Error(format!("args: expected an object, not {}", kind(other))),
        (None, _) => Outcome::Error("op: missing".into()),
        (Some(other), _) => Outcome::Error(format!("op: expected a string, not {}", kind(other))),
    };
    match outcome {
        Outcome::Result(v) => json!({"id": id, "result": v}),
        Outcome::Error(e) | Outcome::Broken(e) => json!({"id": id, "error": e}),
        Outcome::Unsupported(u) => json!({"id": id, "unsupported": u}),
    }
}

fn call(op: &str, args: &Value, fault: Option<Fault>, ctx: &mut Context) -> Outcome {
    if op == "hello" {
        return hello(args, fault, ctx);
    }
    match (fault, Op::from_name(op)) {
        (Some(f), Some(op)) => faults::call(f, ctx, op, args),
        _ => reference(ctx, op, args),
    }
}

/// The handshake (PROTOCOL.md §3): refuses any protocol but 1, and takes the
/// directories it names, relative ones against the working directory.
fn hello(args: &Value, fault: Option<Fault>, ctx: &mut Context) -> Outcome {
    match args.get("protocol") {
        Some(p) if p.as_u64() == Some(PROTOCOL) => {}
        Some(p) => return Outcome::Error(format!("this adapter speaks protocol {PROTOCOL}, the runner asked for {p}")),
        None => return Outcome::Error(format!("hello: missing protocol (this adapter speaks protocol {PROTOCOL})")),
    }
    let dir = |k: &str, current: &Path| -> Result<PathBuf, String> {
        match args.get(k) {
            None | Some(Value::Null) => Ok(current.to_path_buf()),
            Some(Value::String(p)) => std::path::absolute(p).map_err(|e| format!("hello: {k} {p:?}: {e}")),
            Some(other) => Err(format!("hello: {k}: expected a path, not {}", kind(other))),
        }
    };
    let (models, vectors, corpus) = match (dir("models_dir", &ctx.models_dir), dir("vectors_dir", &ctx.vectors_dir), dir("corpus_dir", &ctx.corpus_dir)) {
        (Ok(m), Ok(v), Ok(c)) => (m, v, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Outcome::Error(e),
    };
    *ctx = Context::new(models, vectors, corpus);
    let name = match fault {
        Some(f) => format!("czip-rust-serve (fault {})", f.name()),
        None => "czip-rust-serve".to_string(),
    };
    Outcome::Result(json!({"name": name, "version": env!("CARGO_PKG_VERSION"), "features": ALL_FEATURES}))
}

/// What a JSON value is, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
