//! File-level work through shell command templates.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use super::Implementation;
use crate::conformance::case::{hex, unhex};
use crate::conformance::ops::{Context, Outcome};

/// File-level work through command templates (`{model} {input} {output}
/// {level} {codec}` are substituted; the command runs under `sh -c`).
pub struct TemplateAdapter {
    pub(super) name: String,
    pub(super) features: BTreeSet<String>,
    pub(super) compress: Option<String>,
    pub(super) decompress: Option<String>,
    pub(super) ctx: Context,
    pub(super) work: PathBuf,
    pub(super) counter: u64,
}

impl TemplateAdapter {
    fn run_template(&mut self, tpl: &str, model: &Path, input: &[u8], level: &str, codec: &str) -> Outcome {
        self.counter += 1;
        let inp = self.work.join(format!("in-{}", self.counter));
        let out = self.work.join(format!("out-{}", self.counter));
        if let Err(e) = std::fs::write(&inp, input) {
            return Outcome::Error(format!("cannot write {}: {e}", inp.display()));
        }
        let q = |p: &Path| shell_quote(&p.display().to_string());
        let cmd = tpl
            .replace("{model}", &q(model))
            .replace("{input}", &q(&inp))
            .replace("{output}", &q(&out))
            .replace("{level}", level)
            .replace("{codec}", codec);
        let res = Command::new("sh").arg("-c").arg(&cmd).stdin(Stdio::null()).output();
        let _ = std::fs::remove_file(&inp);
        let outcome = match res {
            Err(e) => Outcome::Error(format!("cannot run `{cmd}`: {e}")),
            Ok(o) if !o.status.success() => Outcome::Error(format!(
                "`{cmd}` exited with {}: {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")
            )),
            Ok(_) => match std::fs::read(&out) {
                Ok(b) => Outcome::Result(json!({ "bytes": hex(&b) })),
                Err(e) => Outcome::Error(format!("`{cmd}` wrote no output file: {e}")),
            },
        };
        let _ = std::fs::remove_file(&out);
        outcome
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl Implementation for TemplateAdapter {
    fn name(&self) -> &str {
        &self.name
    }
    fn features(&self) -> &BTreeSet<String> {
        &self.features
    }
    fn call(&mut self, op: &str, args: &Value) -> Outcome {
        let model_name = args.get("model").and_then(Value::as_str).unwrap_or_default();
        let model = match self.ctx.model_path(model_name) {
            Ok(p) => p,
            Err(e) => return Outcome::Error(e),
        };
        let rename = |o: Outcome, key: &str| match o {
            Outcome::Result(v) => Outcome::Result(json!({ key: v["bytes"].clone() })),
            other => other,
        };
        match op {
            "compress" => {
                let Some(tpl) = self.compress.clone() else { return Outcome::Unsupported("no compress template".into()) };
                let text = match args.get("text").map(|t| self.ctx.text(t)) {
                    Some(Ok(t)) => t,
                    Some(Err(e)) => return Outcome::Error(e),
                    None => return Outcome::Error("missing text".into()),
                };
                let level = args.get("level").and_then(Value::as_u64).map(|l| l.to_string()).unwrap_or_default();
                let codec = args.get("codec").and_then(Value::as_str).unwrap_or("brotli").to_string();
                rename(self.run_template(&tpl, &model, &text, &level, &codec), "file_hex")
            }
            "decompress" => {
                let Some(tpl) = self.decompress.clone() else { return Outcome::Unsupported("no decompress template".into()) };
                let Some(file) = args.get("file_hex").and_then(Value::as_str).and_then(unhex) else {
                    return Outcome::Error("file_hex: not hex".into());
                };
                rename(self.run_template(&tpl, &model, &file, "", ""), "text_hex")
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
