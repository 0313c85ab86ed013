//! `czip-conformance serve`: the built-in engine behind the adapter protocol
//! (`adapters/PROTOCOL.md`), optionally with a deliberate fault.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use czip::conformance::faults::{self, FAULTS};
use czip::conformance::ops::{reference, Context, Outcome, ALL_FEATURES};
use serde_json::{json, Value};

pub fn serve(fault: Option<&str>) -> Result<bool, String> {
    if let Some(f) = fault {
        if !FAULTS.iter().any(|(n, _)| *n == f) {
            let names: Vec<_> = FAULTS.iter().map(|(n, d)| format!("{n} ({d})")).collect();
            return Err(format!("unknown fault {f:?}; known: {}", names.join("; ")));
        }
    }
    let mut ctx = Context::new(PathBuf::from("../shared/models"), PathBuf::from("vectors"), PathBuf::from("../shared/golden/corpus"));
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let resp = match serde_json::from_str::<Value>(&line) {
            Err(e) => json!({"id": null, "error": format!("request is not JSON: {e}")}),
            Ok(req) => {
                let id = req.get("id").cloned().unwrap_or(Value::Null);
                let op = req.get("op").and_then(Value::as_str).unwrap_or_default();
                let args = req.get("args").cloned().unwrap_or_else(|| json!({}));
                let outcome = if op == "hello" {
                    let dir = |k: &str| args.get(k).and_then(Value::as_str).map(PathBuf::from);
                    ctx = Context::new(
                        dir("models_dir").unwrap_or(ctx.models_dir.clone()),
                        dir("vectors_dir").unwrap_or(ctx.vectors_dir.clone()),
                        dir("corpus_dir").unwrap_or(ctx.corpus_dir.clone()),
                    );
                    let name = match fault {
                        Some(f) => format!("czip-rust-serve (fault {f})"),
                        None => "czip-rust-serve".to_string(),
                    };
                    Outcome::Result(json!({"name": name, "version": env!("CARGO_PKG_VERSION"), "features": ALL_FEATURES}))
                } else {
                    match fault {
                        Some(f) => faults::call(f, &ctx, op, &args),
                        None => reference(&ctx, op, &args),
                    }
                };
                match outcome {
                    Outcome::Result(v) => json!({"id": id, "result": v}),
                    Outcome::Error(e) | Outcome::Broken(e) => json!({"id": id, "error": e}),
                    Outcome::Unsupported(u) => json!({"id": id, "unsupported": u}),
                }
            }
        };
        writeln!(out, "{resp}").and_then(|()| out.flush()).map_err(|e| format!("stdout: {e}"))?;
    }
    Ok(true)
}
