//! Implementation manifests (TOML): parsing, and opening what they describe.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::env_refs;
use super::template::syntax::{shell_quote, Template};
use super::template::TemplateOptions;
use super::{Implementation, ProcessAdapter, TemplateAdapter};
use crate::conformance::ops::Context;

/// An implementation manifest (TOML):
///
/// ```toml
/// name = "my-cuda-build"
/// description = "what it is, shown by `czip-conformance impls`"   # optional
/// # either a command that speaks the adapter protocol …
/// command = ["./my-adapter", "--device", "0"]
/// build = "cmake --build build"   # optional: how to build command[0], shown when it is missing
/// # … or file-level command templates
/// [templates]
/// compress = "${MYCZ} compress -m {model} -i {input} -o {output} [-L {level}] -c {codec} --model-id-hash {model_id_hash}"
/// decompress = "${MYCZ} decompress -m {model} -i {input} -o {output}"
/// features = ["file_ops", "levels"]
/// ```
///
/// `${NAME}` in `command`, the templates and `env` values is environment
/// variable NAME (see [`env_refs`](super::env_refs)); in templates its value
/// is shell-quoted like a placeholder's.
/// Seconds an implementation gets for one answer unless told otherwise.
pub const DEFAULT_TIMEOUT_SECS: u64 = 600;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    /// One line saying what the implementation is (for `impls`).
    #[serde(default)]
    pub description: Option<String>,
    /// How to build `command[0]` when it is missing (a hint; never run).
    #[serde(default)]
    pub build: Option<String>,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub env: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub templates: Option<Templates>,
    /// Seconds to wait for one answer (default [`DEFAULT_TIMEOUT_SECS`]).
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

impl Manifest {
    /// Reads and checks a manifest (template syntax included); starts nothing.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let m: Manifest = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        match (&m.command, &m.templates) {
            (Some(argv), None) if argv.is_empty() => Err(format!("{}: `command` is empty", path.display())),
            (Some(_), None) => Ok(m),
            (None, Some(t)) => t.parsed_with(&|_| Ok("x".into())).map(|_| m).map_err(|e| format!("{}: {e}", path.display())),
            _ => Err(format!("{}: give exactly one of `command` or `[templates]`", path.display())),
        }
    }
}

impl Manifest {
    /// The first environment variable the manifest needs that has no value,
    /// as its one-line reason (`CZIP_CUDA_BIN is not set`).
    pub fn missing_variable(&self) -> Option<String> {
        let mut strings: Vec<&str> = Vec::new();
        strings.extend(self.command.iter().flatten().map(String::as_str));
        strings.extend(self.env.iter().flat_map(|e| e.values()).map(String::as_str));
        if let Some(t) = &self.templates {
            strings.extend(t.compress.iter().chain(&t.decompress).map(String::as_str));
        }
        env_refs::first_missing(strings)
    }

    /// `command` with its variables expanded and `command[0]` resolved: a
    /// literal `./…` or `../…` against the manifest's directory `base`, a
    /// whole `${NAME}` as [`env_refs::program_value`].
    pub fn argv(&self, base: &Path) -> Result<Option<Vec<String>>, String> {
        let Some(argv) = &self.command else { return Ok(None) };
        let mut out = Vec::with_capacity(argv.len());
        for (i, a) in argv.iter().enumerate() {
            let v = env_refs::expand(a, &env_refs::lookup)?;
            out.push(match i {
                0 if env_refs::whole_ref(a).is_some() => env_refs::program_value(&v),
                0 if v.starts_with("./") || v.starts_with("../") => base.join(&v).display().to_string(),
                _ => v,
            });
        }
        Ok(Some(out))
    }

    /// `env`, its values expanded.
    pub fn env_vars(&self) -> Result<Vec<(String, String)>, String> {
        self.env.iter().flatten().map(|(k, v)| Ok((k.clone(), env_refs::expand(v, &env_refs::lookup)?))).collect()
    }
}

impl Templates {
    /// The compress and decompress templates with their variables expanded,
    /// parsed; the error names which one (or the missing variable).
    pub fn parsed(&self) -> Result<(Option<Template>, Option<Template>), String> {
        self.parsed_with(&env_refs::lookup)
    }

    fn parsed_with(&self, value: &dyn Fn(&str) -> Result<String, String>) -> Result<(Option<Template>, Option<Template>), String> {
        let parse = |key: &str, t: &Option<String>| {
            t.as_deref()
                .map(|src| Template::parse(&expand_template(src, value)?))
                .transpose()
                .map_err(|e| format!("templates.{key}: {e}"))
        };
        Ok((parse("compress", &self.compress)?, parse("decompress", &self.decompress)?))
    }

    /// The first word of each template, with a leading `${NAME}` expanded as
    /// a program ([`env_refs::program_value`]): what `impls` checks is there.
    pub fn programs(&self) -> Result<Vec<(String, bool)>, String> {
        let mut out: Vec<(String, bool)> = Vec::new();
        for src in self.compress.iter().chain(&self.decompress) {
            let Some(word) = src.split_whitespace().next() else { continue };
            let entry = match env_refs::whole_ref(word) {
                Some(n) => (env_refs::program_value(&env_refs::lookup(n)?), true),
                None => (word.to_string(), false),
            };
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
        Ok(out)
    }
}

/// A template's source with each `${NAME}` replaced by its value,
/// shell-quoted and escaped for the template syntax (a value holding `{` is
/// not a placeholder). A leading `${NAME}` is a program
/// ([`env_refs::program_value`]).
fn expand_template(src: &str, value: &dyn Fn(&str) -> Result<String, String>) -> Result<String, String> {
    let first = src.split_whitespace().next().and_then(env_refs::whole_ref).filter(|_| src.starts_with("${"));
    let quoted = |n: &str| -> Result<String, String> {
        let v = value(n)?;
        let v = if Some(n) == first { env_refs::program_value(&v) } else { v };
        Ok(shell_quote(&v).replace('[', "[[").replace(']', "]]").replace('{', "{{").replace('}', "}}"))
    };
    env_refs::expand(src, &quoted)
}

/// Opens the implementation a manifest describes. Relative paths in
/// `command[0]` (`./…`, `../…`) are taken relative to the manifest's
/// directory, and template commands run in it. A variable without a value is
/// an error naming it (`impls/cuda.toml: CZIP_CUDA_BIN is not set`).
/// `keep_outputs` (templates only) keeps every call's files there (see `run
/// --keep-outputs`). `timeout` (`run --timeout`), when given, replaces the
/// manifest's `timeout_secs` (default [`DEFAULT_TIMEOUT_SECS`]).
pub fn from_manifest(path: &Path, ctx: Context, keep_outputs: Option<&Path>, timeout: Option<Duration>) -> Result<Box<dyn Implementation>, String> {
    let m = Manifest::load(path)?;
    if let Some(e) = m.missing_variable() {
        return Err(format!("{}: {e}", path.display()));
    }
    let base = manifest_dir(path);
    let timeout = timeout.unwrap_or(Duration::from_secs(m.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS)));
    let env = m.env_vars().map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(argv) = m.argv(base).map_err(|e| format!("{}: {e}", path.display()))? {
        if keep_outputs.is_some() {
            return Err(format!("--keep-outputs: {} describes an adapter command; it applies to [templates] only", path.display()));
        }
        let mut a = ProcessAdapter::spawn(&argv, &env, timeout, &ctx)?;
        a.name = m.name;
        return Ok(Box::new(a));
    }
    let t = m.templates.ok_or_else(|| format!("{}: give exactly one of `command` or `[templates]`", path.display()))?;
    let (compress, decompress) = t.parsed().map_err(|e| format!("{}: {e}", path.display()))?;
    let mut features: BTreeSet<String> = t.features.into_iter().collect();
    features.insert("file_ops".into());
    let opts = TemplateOptions { cwd: base.to_path_buf(), env, timeout, keep_outputs: keep_outputs.map(Path::to_path_buf) };
    Ok(Box::new(TemplateAdapter::new(m.name, features, compress, decompress, ctx, opts)?))
}

/// The directory a manifest's relative paths and template commands start from.
pub fn manifest_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
