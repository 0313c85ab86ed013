//! File-level work through shell command templates (the syntax is in
//! [`syntax`]). Each command runs under `sh -c` in the manifest's directory,
//! with absolute paths for `{model}`, `{input}` and `{output}`; the output
//! file does not exist before the command runs.

mod exec;
mod keep;
pub mod syntax;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{json, Value};

use super::Implementation;
use crate::conformance::case::{hex, unhex};
use crate::conformance::compare::MASKED;
use crate::conformance::ops::{Context, Outcome};
use keep::Keep;
use syntax::Template;

/// The reason a compress answer gives for comparing its payload with
/// `model_id_hash` masked.
const NO_HASH_PLACEHOLDER: &str = "template has no {model_id_hash}";

/// What a manifest's `[templates]` describes, ready to run.
pub struct TemplateAdapter {
    name: String,
    features: BTreeSet<String>,
    compress: Option<Template>,
    decompress: Option<Template>,
    ctx: Context,
    /// Where commands run: the manifest's directory (absolute).
    cwd: PathBuf,
    /// Scratch files of calls whose outputs are not kept.
    work: PathBuf,
    keep: Option<Keep>,
    env: Vec<(String, String)>,
    timeout: Duration,
    counter: u64,
}

/// Settings of a template implementation that come from the runner, not the manifest.
pub struct TemplateOptions {
    pub cwd: PathBuf,
    /// The manifest's `env`, set for every command.
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub keep_outputs: Option<PathBuf>,
}

/// One call's files: input, output, stdout and stderr.
struct Files {
    stem: String,
    input: PathBuf,
    output: PathBuf,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl TemplateAdapter {
    pub fn new(
        name: String,
        features: BTreeSet<String>,
        compress: Option<Template>,
        decompress: Option<Template>,
        ctx: Context,
        opts: TemplateOptions,
    ) -> Result<Self, String> {
        // One directory per adapter: two open at once (in one process) must not share it.
        static OPENED: AtomicU64 = AtomicU64::new(0);
        let n = OPENED.fetch_add(1, Ordering::Relaxed);
        let work = std::env::temp_dir().join(format!("czip-conformance-{}-{n}-{}", std::process::id(), name.replace('/', "_")));
        std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
        let keep = opts.keep_outputs.map(|d| Keep::open(&d, &ctx.vectors_dir)).transpose()?;
        let cwd = std::path::absolute(&opts.cwd).map_err(|e| format!("{}: {e}", opts.cwd.display()))?;
        Ok(TemplateAdapter { name, features, compress, decompress, ctx, cwd, work, keep, env: opts.env, timeout: opts.timeout, counter: 0 })
    }

    fn files(&mut self, op: &str, args: &Value) -> Files {
        self.counter += 1;
        let (dir, stem) = match self.keep.as_mut() {
            Some(k) => (k.dir.clone(), k.stem(op, args)),
            None => (self.work.clone(), format!("call-{}", self.counter)),
        };
        let (ext_in, ext_out) = if op == "compress" { ("txt", "czip") } else { ("czip", "txt") };
        let f = |ext: &str| dir.join(format!("{stem}.{ext}"));
        Files { input: f(ext_in), output: f(ext_out), stdout: f("stdout"), stderr: f("stderr"), stem }
    }

    /// Runs one template on `input`; `values` gives the non-path placeholders.
    fn run(&mut self, op: &str, args: &Value, tpl: &Template, model: &Path, input: &[u8], values: &[(&str, String)]) -> Outcome {
        let files = self.files(op, args);
        let outcome = self.run_in(&files, op, tpl, model, input, values);
        if self.keep.is_none() {
            for p in [&files.input, &files.output, &files.stdout, &files.stderr] {
                let _ = std::fs::remove_file(p);
            }
        }
        outcome
    }

    fn run_in(&self, files: &Files, op: &str, tpl: &Template, model: &Path, input: &[u8], values: &[(&str, String)]) -> Outcome {
        if let Err(e) = std::fs::write(&files.input, input) {
            return Outcome::run_error(format!("cannot write {}: {e}", files.input.display()));
        }
        if let Err(e) = std::fs::remove_file(&files.output) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Outcome::run_error(format!("cannot remove the old {}: {e}", files.output.display()));
            }
        }
        let cmd = tpl.expand(&|name| match name {
            "model" => model.display().to_string(),
            "input" => files.input.display().to_string(),
            "output" => files.output.display().to_string(),
            other => values.iter().find(|(k, _)| *k == other).map(|(_, v)| v.clone()).unwrap_or_default(),
        });
        if let Some(k) = &self.keep {
            if let Err(e) = k.record(&files.stem, &self.cwd, &files.output, &cmd) {
                return Outcome::run_error(e);
            }
        }
        let finished = match exec::run(&cmd, &self.cwd, &self.env, &files.stdout, &files.stderr, self.timeout) {
            Ok(f) => f,
            Err(e) => return Outcome::run_error(e),
        };
        let key = if op == "compress" { "file_hex" } else { "text_hex" };
        exec::outcome(&finished, || match std::fs::read(&files.output) {
            Ok(b) => Ok(Outcome::Result(json!({ key: hex(&b) }))),
            Err(e) => Err(format!("exited 0 but wrote no output file {} ({e})", files.output.display())),
        })
    }
}

impl Implementation for TemplateAdapter {
    fn name(&self) -> &str {
        &self.name
    }
    fn features(&self) -> &BTreeSet<String> {
        &self.features
    }
    /// Failures on the runner's side (an unknown model, an unreadable corpus
    /// text, bad case arguments) are [`Outcome::Broken`]: they are not refusals.
    fn call(&mut self, op: &str, args: &Value) -> Outcome {
        let model_name = args.get("model").and_then(Value::as_str).unwrap_or_default();
        let model = match self.ctx.model_path(model_name).and_then(|p| std::path::absolute(&p).map_err(|e| e.to_string())) {
            Ok(p) => p,
            Err(e) => return Outcome::run_error(e),
        };
        let str_arg = |k: &str| args.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        match op {
            "compress" => {
                let Some(tpl) = self.compress.clone() else { return Outcome::Unsupported("no compress template".into()) };
                let text = match args.get("text").map(|t| self.ctx.text(t)) {
                    Some(Ok(t)) => t,
                    Some(Err(e)) => return Outcome::run_error(e),
                    None => return Outcome::run_error("the case has no text"),
                };
                let level = args.get("level").and_then(Value::as_u64).map(|l| l.to_string()).unwrap_or_default();
                let codec = args.get("codec").and_then(Value::as_str).unwrap_or("brotli").to_string();
                let values = [("level", level), ("codec", codec), ("model_id_hash", str_arg("model_id_hash"))];
                match self.run(op, args, &tpl, &model, &text, &values) {
                    Outcome::Result(mut v) if !tpl.uses("model_id_hash") => {
                        v[MASKED] = json!({ "model_id_hash": NO_HASH_PLACEHOLDER });
                        Outcome::Result(v)
                    }
                    other => other,
                }
            }
            "decompress" => {
                let Some(tpl) = self.decompress.clone() else { return Outcome::Unsupported("no decompress template".into()) };
                let Some(file) = args.get("file_hex").and_then(Value::as_str).and_then(unhex) else {
                    return Outcome::run_error("the case's file_hex is not hex");
                };
                self.run(op, args, &tpl, &model, &file, &[])
            }
            _ => Outcome::Unsupported(format!("{op}: templates cover compress and decompress only")),
        }
    }
}

impl Drop for TemplateAdapter {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.work);
    }
}
