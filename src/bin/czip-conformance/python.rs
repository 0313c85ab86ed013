//! `run --impl python`: the adapter of `adapters/python` for the public
//! package `compress_zip`.

use std::collections::BTreeSet;
use std::time::Duration;

use czip::conformance::compare::MASKED;
use czip::conformance::implementation::{Implementation, ProcessAdapter};
use czip::conformance::ops::{Context, Outcome};
use serde_json::Value;

/// Starts the adapter. When the package does not import, the run still goes
/// ahead (adapters/python/README.md): the adapter answers every op with an
/// error that names the import error and how to install the package, and
/// [`PythonAdapter`] makes each of those a failure, so the report shows the
/// cause on every case and the run exits 1.
pub fn open(ctx: &Context, timeout: Duration) -> Result<Box<dyn Implementation>, String> {
    let argv = czip::conformance::implementation::named::python_adapter_command();
    let a = ProcessAdapter::spawn(&argv, &[], timeout, ctx)?;
    if a.hello.get("importable") != Some(&Value::Bool(false)) {
        return Ok(Box::new(PythonAdapter { adapter: a, importable: true }));
    }
    eprintln!(
        "czip-conformance: the Python package compress_zip is not importable ({}), so every case fails; install it with `pip install -e <path to compress-zip>` (adapters/python/README.md)",
        a.hello.get("import_error").and_then(Value::as_str).unwrap_or("unknown error")
    );
    Ok(Box::new(PythonAdapter { adapter: a, importable: false }))
}

/// Why the runner compares the package's files with `model_id_hash` masked
/// (spec §9 makes the field informational; `compare::MASKED`).
const NO_HASH_CHOICE: &str = "the package's command line cannot choose it: it hashes the model path";

/// The adapter, with or without its package.
///
/// With it: the package's command line has no way to choose `model_id_hash`
/// (adapters/python/README.md), so — as for a command template without
/// `{model_id_hash}` — the runner, not the adapter, asks for its compress
/// answers to be compared with that field masked.
///
/// Without it: the adapter's error answers are failures of the
/// implementation, even for cases that expect a refusal.
struct PythonAdapter {
    adapter: ProcessAdapter,
    importable: bool,
}

impl Implementation for PythonAdapter {
    fn name(&self) -> &str {
        self.adapter.name()
    }
    fn features(&self) -> &BTreeSet<String> {
        self.adapter.features()
    }
    fn call(&mut self, op: &str, args: &Value) -> Outcome {
        match (self.adapter.call(op, args), self.importable) {
            (Outcome::Result(mut v), true) if op == "compress" && v.is_object() => {
                v[MASKED] = serde_json::json!({ "model_id_hash": NO_HASH_CHOICE });
                Outcome::Result(v)
            }
            (Outcome::Error(e), false) => Outcome::Broken(e),
            (other, _) => other,
        }
    }
    fn take_death(&mut self) -> Option<String> {
        self.adapter.take_death()
    }
}
