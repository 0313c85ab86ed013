//! The implementations a runner can score: the built-in engine in process, a
//! process speaking the adapter protocol (`adapters/PROTOCOL.md`), or
//! command templates for file-level work, described by a TOML manifest.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::case::{hex, unhex};
use super::ops::{reference, Context, Outcome, ALL_FEATURES};

/// Something that answers conformance requests.
pub trait Implementation {
    fn name(&self) -> &str;
    /// Features it declares (cases needing others are reported unsupported).
    fn features(&self) -> &BTreeSet<String>;
    fn call(&mut self, op: &str, args: &Value) -> Outcome;
    /// Whether `call` may be run from several threads on clones (in process only).
    fn as_builtin(&self) -> Option<&Builtin> {
        None
    }
}

/// The built-in engine, called in process.
pub struct Builtin {
    pub ctx: Context,
    features: BTreeSet<String>,
}

impl Builtin {
    pub fn new(ctx: Context) -> Self {
        Builtin { ctx, features: ALL_FEATURES.iter().map(|s| s.to_string()).collect() }
    }
}

impl Implementation for Builtin {
    fn name(&self) -> &str {
        "rust"
    }
    fn features(&self) -> &BTreeSet<String> {
        &self.features
    }
    fn call(&mut self, op: &str, args: &Value) -> Outcome {
        reference(&self.ctx, op, args)
    }
    fn as_builtin(&self) -> Option<&Builtin> {
        Some(self)
    }
}

/// A child process speaking the adapter protocol: one JSON request per line
/// on its stdin, one JSON response per line on its stdout.
pub struct ProcessAdapter {
    name: String,
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
                return Outcome::Result(r.clone());
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

/// File-level work through command templates (`{model} {input} {output}
/// {level} {codec}` are substituted; the command runs under `sh -c`).
pub struct TemplateAdapter {
    name: String,
    features: BTreeSet<String>,
    compress: Option<String>,
    decompress: Option<String>,
    ctx: Context,
    work: PathBuf,
    counter: u64,
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

/// An implementation manifest (TOML):
///
/// ```toml
/// name = "my-cuda-build"
/// # either a command that speaks the adapter protocol …
/// command = ["./my-adapter", "--device", "0"]
/// # … or file-level command templates
/// [templates]
/// compress = "mycz compress -m {model} -i {input} -o {output} -L {level} -c {codec}"
/// decompress = "mycz decompress -m {model} -i {input} -o {output}"
/// features = ["file_ops", "levels"]
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub env: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub templates: Option<Templates>,
    /// Seconds to wait for one answer (default 600).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    pub compress: Option<String>,
    pub decompress: Option<String>,
    #[serde(default)]
    pub features: Vec<String>,
}

/// Opens the implementation a manifest describes. Relative paths in
/// `command[0]` are taken relative to the manifest's directory.
pub fn from_manifest(path: &Path, ctx: Context) -> Result<Box<dyn Implementation>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let m: Manifest = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let timeout = Duration::from_secs(m.timeout_secs.unwrap_or(600));
    match (m.command, m.templates) {
        (Some(mut argv), None) => {
            if let Some(first) = argv.first_mut() {
                if first.starts_with("./") || first.starts_with("../") {
                    *first = base.join(&*first).display().to_string();
                }
            }
            let env: Vec<(String, String)> = m.env.unwrap_or_default().into_iter().collect();
            let mut a = ProcessAdapter::spawn(&argv, &env, timeout, &ctx)?;
            a.name = m.name;
            Ok(Box::new(a))
        }
        (None, Some(t)) => {
            let work = std::env::temp_dir().join(format!("czip-conformance-{}-{}", std::process::id(), m.name.replace('/', "_")));
            std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
            let mut features: BTreeSet<String> = t.features.into_iter().collect();
            features.insert("file_ops".into());
            Ok(Box::new(TemplateAdapter { name: m.name, features, compress: t.compress, decompress: t.decompress, ctx, work, counter: 0 }))
        }
        _ => Err(format!("{}: give exactly one of `command` or `[templates]`", path.display())),
    }
}
