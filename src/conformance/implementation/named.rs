//! Named implementations: what `run --impl NAME` opens, and what
//! `czip-conformance impls` lists.
//!
//! `NAME` resolves in this order (first match wins):
//! 1. `rust` — the built-in engine, in process;
//! 2. `python` — `adapters/python/czip_adapter.py` for the package `compress_zip`;
//! 3. a path to a manifest (`NAME` ends in `.toml` or holds a `/`);
//! 4. `impls/NAME.toml` under the current directory (the project's manifests);
//! 5. `NAME.toml` in each directory of `$CZIP_IMPLS_PATH` (colon-separated), in order.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::manifest::{manifest_dir, Manifest};
use super::{Implementation, ProcessAdapter};
use crate::conformance::ops::{Context, ALL_FEATURES};

/// Where the project's manifests are, relative to the current directory.
pub const IMPLS_DIR: &str = "impls";
/// Further directories of manifests (colon-separated).
pub const IMPLS_PATH_VAR: &str = "CZIP_IMPLS_PATH";

/// What an `--impl` name names.
#[derive(Debug, Clone, PartialEq)]
pub enum Named {
    Rust,
    Python,
    Manifest(PathBuf),
}

/// The implementation `name` names (see the module doc for the order).
pub fn resolve(name: &str) -> Result<Named, String> {
    match name {
        "rust" => return Ok(Named::Rust),
        "python" => return Ok(Named::Python),
        path if path.ends_with(".toml") || path.contains('/') => return Ok(Named::Manifest(PathBuf::from(path))),
        _ => {}
    }
    if let Some((_, p)) = manifest_dirs().into_iter().map(|d| (d.clone(), d.join(format!("{name}.toml")))).find(|(_, p)| p.is_file()) {
        return Ok(Named::Manifest(p));
    }
    Err(format!(
        "--impl {name}: no such implementation (rust, python, a manifest path, {IMPLS_DIR}/{name}.toml or {name}.toml in ${IMPLS_PATH_VAR}); `czip-conformance impls` lists the known ones"
    ))
}

/// The directories searched for `NAME.toml`, in order.
fn manifest_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(IMPLS_DIR)];
    if let Some(path) = std::env::var_os(IMPLS_PATH_VAR) {
        dirs.extend(std::env::split_paths(&path).filter(|d| !d.as_os_str().is_empty()));
    }
    dirs
}

/// The adapter command of `--impl python`.
pub fn python_adapter_command() -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters/python/czip_adapter.py");
    vec![python_interpreter(), script.display().to_string()]
}

/// The Python interpreter that runs the adapter: `$CZIP_PYTHON` (e.g. a
/// virtual environment's `bin/python3`, with the package's dependencies),
/// else `python3` on `PATH`.
pub fn python_interpreter() -> String {
    std::env::var("CZIP_PYTHON").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "python3".to_string())
}

/// One implementation `impls` knows of.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    /// What `--impl` takes.
    pub name: String,
    pub what: Named,
    /// The earlier manifest of the same name that `--impl NAME` opens instead.
    pub shadowed_by: Option<PathBuf>,
}

/// Every implementation `--impl` can name without a path: rust, python,
/// `impls/*.toml`, then each `$CZIP_IMPLS_PATH` directory's `*.toml`
/// (each directory in name order).
pub fn known() -> Vec<Known> {
    let mut out = vec![
        Known { name: "rust".into(), what: Named::Rust, shadowed_by: None },
        Known { name: "python".into(), what: Named::Python, shadowed_by: None },
    ];
    for dir in manifest_dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
        paths.sort();
        for p in paths {
            let Some(name) = p.file_stem().and_then(|s| s.to_str()).map(String::from) else { continue };
            let shadowed_by = out.iter().find(|k| k.name == name && k.shadowed_by.is_none()).map(|k| match &k.what {
                Named::Manifest(q) => q.clone(),
                _ => PathBuf::from(&k.name),
            });
            out.push(Known { name, what: Named::Manifest(p), shadowed_by });
        }
    }
    out
}

/// Whether an implementation can run here, and what it declares.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Where it comes from (`built in`, the manifest path, the adapter script).
    pub source: String,
    pub description: Option<String>,
    /// Declared features; `None` when only its `hello` would tell and it could not be started.
    pub features: Option<Vec<String>>,
    /// `Ok(())`, or the one thing missing (`CZIP_CUDA_BIN is not set`).
    pub ready: Result<(), String>,
}

/// How long `impls` waits for an adapter's `hello`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

/// Finds out whether `k` can run here: variables set, programs present and
/// executable, and for adapter commands a `hello` answered (which is also
/// where their features come from).
pub fn probe(k: &Known, ctx: &Context) -> Probe {
    match &k.what {
        Named::Rust => Probe {
            source: "built in".into(),
            description: Some("the reference engine, in process".into()),
            features: Some(ALL_FEATURES.iter().map(|s| s.to_string()).collect::<std::collections::BTreeSet<_>>().into_iter().collect()),
            ready: Ok(()),
        },
        Named::Python => probe_python(ctx),
        Named::Manifest(path) => probe_manifest(path, ctx),
    }
}

fn probe_python(ctx: &Context) -> Probe {
    let mut p = Probe {
        source: "adapters/python/czip_adapter.py".into(),
        description: Some("the public Python package compress_zip".into()),
        features: None,
        ready: Ok(()),
    };
    let python = python_interpreter();
    let found = if python.contains('/') { Path::new(&python).is_file() } else { find_on_path(&python).is_some() };
    if !found {
        p.ready = Err(format!("{python} is not on PATH (set CZIP_PYTHON to an interpreter)"));
        return p;
    }
    match ProcessAdapter::spawn(&python_adapter_command(), &[], HELLO_TIMEOUT, ctx) {
        Ok(a) => {
            p.features = Some(a.features().iter().cloned().collect());
            if a.hello.get("importable") == Some(&Value::Bool(false)) {
                let why = a.hello.get("import_error").and_then(Value::as_str).unwrap_or("unknown error");
                p.ready = Err(format!("{python} cannot import compress_zip ({why}); see adapters/python/README.md"));
            }
        }
        Err(e) => p.ready = Err(e),
    }
    p
}

fn probe_manifest(path: &Path, ctx: &Context) -> Probe {
    let mut p = Probe { source: path.display().to_string(), description: None, features: None, ready: Ok(()) };
    let m = match Manifest::load(path) {
        Ok(m) => m,
        Err(e) => {
            p.ready = Err(e);
            return p;
        }
    };
    p.description = m.description.clone();
    if let Some(t) = &m.templates {
        let mut f: Vec<String> = t.features.clone();
        f.push("file_ops".into());
        f.sort();
        f.dedup();
        p.features = Some(f);
    }
    p.ready = manifest_ready(&m, path);
    if p.ready.is_ok() && m.command.is_some() {
        match m.argv(manifest_dir(path)).and_then(|argv| {
            let env = m.env_vars()?;
            ProcessAdapter::spawn(&argv.unwrap_or_default(), &env, HELLO_TIMEOUT, ctx)
        }) {
            Ok(a) => p.features = Some(a.features().iter().cloned().collect()),
            Err(e) => p.ready = Err(e),
        }
    }
    p
}

/// Variables, then programs (`command[0]`, each template's first word).
fn manifest_ready(m: &Manifest, path: &Path) -> Result<(), String> {
    if let Some(e) = m.missing_variable() {
        return Err(e);
    }
    let base = manifest_dir(path);
    let mut programs: Vec<(String, bool)> = Vec::new();
    if let Some(argv) = m.argv(base)? {
        programs.extend(argv.first().map(|a| (a.clone(), true)));
    }
    if let Some(t) = &m.templates {
        programs.extend(t.programs()?);
    }
    for (prog, checked) in programs {
        if let Err(e) = program_ready(&prog, checked, base) {
            return Err(match (&m.build, e) {
                (Some(build), Missing::Absent(shown)) => format!("{shown} not built: run `{build}`"),
                (_, Missing::Absent(shown)) => format!("{shown} does not exist"),
                (_, Missing::Other(e)) => e,
            });
        }
    }
    Ok(())
}

enum Missing {
    /// The file is not there (shown as this path).
    Absent(String),
    Other(String),
}

/// Whether `prog` names an executable file. A bare name is searched on
/// `PATH`; a relative path with `/` starts at `base` (template words run
/// there). `resolved` is true for a path already resolved by the manifest.
/// Words that are shell syntax rather than a program are not checked.
fn program_ready(prog: &str, resolved: bool, base: &Path) -> Result<(), Missing> {
    if !resolved && prog.contains(|c: char| "'\"$;|&<>()`\\=*?".contains(c)) {
        return Ok(());
    }
    if !prog.contains('/') {
        if SHELL_WORDS.contains(&prog) || find_on_path(prog).is_some() {
            return Ok(());
        }
        return Err(Missing::Other(format!("{prog} is not on PATH")));
    }
    let path = if Path::new(prog).is_absolute() || resolved { PathBuf::from(prog) } else { base.join(prog) };
    let shown = shown_path(&path);
    match std::fs::metadata(&path) {
        Err(_) => Err(Missing::Absent(shown)),
        Ok(md) if md.is_file() && is_executable(&md) => Ok(()),
        Ok(_) => Err(Missing::Other(format!("{shown} is not executable"))),
    }
}

/// Shell built-ins and keywords a template may start with.
const SHELL_WORDS: &[&str] = &["cd", "exec", "env", "set", "export", "if", "for", "while", "case", "{", "(", "true", "false", ":", "."];

fn is_executable(md: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    md.permissions().mode() & 0o111 != 0
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| std::fs::metadata(p).is_ok_and(|md| md.is_file() && is_executable(&md)))
}

/// `path` relative to the current directory when it is inside it, without `./` or `x/../`.
fn shown_path(path: &Path) -> String {
    let normal = |p: &Path| -> PathBuf {
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir if out.file_name().is_some() => {
                    out.pop();
                }
                c => out.push(c),
            }
        }
        out
    };
    let abs = normal(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    match std::env::current_dir().ok().and_then(|cwd| abs.strip_prefix(normal(&cwd)).ok().map(Path::to_path_buf)) {
        Some(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => abs.display().to_string(),
    }
}
