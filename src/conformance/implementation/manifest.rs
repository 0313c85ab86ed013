//! Implementation manifests (TOML): parsing, and opening what they describe.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

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
