//! Implementation manifests (TOML): parsing, and opening what they describe.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::template::syntax::Template;
use super::template::TemplateOptions;
use super::{Implementation, ProcessAdapter, TemplateAdapter};
use crate::conformance::ops::Context;

/// An implementation manifest (TOML):
///
/// ```toml
/// name = "my-cuda-build"
/// # either a command that speaks the adapter protocol …
/// command = ["./my-adapter", "--device", "0"]
/// # … or file-level command templates
/// [templates]
/// compress = "mycz compress -m {model} -i {input} -o {output} [-L {level}] -c {codec} --model-id-hash {model_id_hash}"
/// decompress = "mycz decompress -m {model} -i {input} -o {output}"
/// features = ["file_ops", "levels"]
/// ```
/// Seconds an implementation gets for one answer unless told otherwise.
pub const DEFAULT_TIMEOUT_SECS: u64 = 600;

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
            (None, Some(t)) => t.parsed().map(|_| m).map_err(|e| format!("{}: {e}", path.display())),
            _ => Err(format!("{}: give exactly one of `command` or `[templates]`", path.display())),
        }
    }
}

impl Templates {
    /// The compress and decompress templates, parsed; the error names which one.
    pub fn parsed(&self) -> Result<(Option<Template>, Option<Template>), String> {
        let parse = |key: &str, t: &Option<String>| {
            t.as_deref().map(Template::parse).transpose().map_err(|e| format!("templates.{key}: {e}"))
        };
        Ok((parse("compress", &self.compress)?, parse("decompress", &self.decompress)?))
    }
}

/// Opens the implementation a manifest describes. Relative paths in
/// `command[0]` are taken relative to the manifest's directory, and template
/// commands run in it. `keep_outputs` (templates only) keeps every call's
/// files there (see `run --keep-outputs`). `timeout` (`run --timeout`), when
/// given, replaces the manifest's `timeout_secs` (default 600 s).
pub fn from_manifest(path: &Path, ctx: Context, keep_outputs: Option<&Path>, timeout: Option<Duration>) -> Result<Box<dyn Implementation>, String> {
    let m = Manifest::load(path)?;
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let timeout = timeout.unwrap_or(Duration::from_secs(m.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS)));
    let env: Vec<(String, String)> = m.env.unwrap_or_default().into_iter().collect();
    match (m.command, m.templates) {
        (Some(mut argv), None) => {
            if keep_outputs.is_some() {
                return Err(format!("--keep-outputs: {} describes an adapter command; it applies to [templates] only", path.display()));
            }
            if let Some(first) = argv.first_mut() {
                if first.starts_with("./") || first.starts_with("../") {
                    *first = base.join(&*first).display().to_string();
                }
            }
            let mut a = ProcessAdapter::spawn(&argv, &env, timeout, &ctx)?;
            a.name = m.name;
            Ok(Box::new(a))
        }
        (None, Some(t)) => {
            let (compress, decompress) = t.parsed().map_err(|e| format!("{}: {e}", path.display()))?;
            let mut features: BTreeSet<String> = t.features.into_iter().collect();
            features.insert("file_ops".into());
            let opts = TemplateOptions { cwd: base.to_path_buf(), env, timeout, keep_outputs: keep_outputs.map(Path::to_path_buf) };
            Ok(Box::new(TemplateAdapter::new(m.name, features, compress, decompress, ctx, opts)?))
        }
        _ => unreachable!("Manifest::load accepts exactly one of command and templates"),
    }
}
