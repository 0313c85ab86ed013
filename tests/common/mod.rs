//! Shared helpers for the integration tests: where the ground truth and the
//! models live, and what to do when they are absent.
//!
//! `../shared` is never committed. Tests find it through `CZIP_GOLDEN_DIR`
//! (default `../shared/golden` beside the checkout) and `CZIP_MODELS_DIR`
//! (default `../shared/models`). When a directory is missing, a test run with
//! `CI` set fails loudly; elsewhere the test prints why it was skipped and
//! returns.
#![allow(dead_code)]

use std::path::PathBuf;

fn resolve(var: &str, default_rel: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) => PathBuf::from(v),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(default_rel),
    }
}

fn require(var: &str, default_rel: &str, what: &str) -> Option<PathBuf> {
    let dir = resolve(var, default_rel);
    if dir.is_dir() {
        return Some(dir);
    }
    let msg = format!(
        "{what} not found at {} (set {var} to point at it)",
        dir.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}; CI requires it");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// `../shared/golden`, or `None` (with a message) outside CI when absent.
pub fn golden_dir() -> Option<PathBuf> {
    require("CZIP_GOLDEN_DIR", "../shared/golden", "golden ground truth")
}

/// `../shared/models`, or `None` (with a message) outside CI when absent.
pub fn models_dir() -> Option<PathBuf> {
    require("CZIP_MODELS_DIR", "../shared/models", "published models")
}

/// Reads a JSON-lines file into values, panicking with the line number on bad JSON.
pub fn read_jsonl(path: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}:{}: bad JSON: {e}", path.display(), i + 1))
        })
        .collect()
}

/// A path inside the repository (the crate root).
pub fn repo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A fresh, empty scratch directory under the target dir; `name` must be
/// unique across the test modules, which run at the same time in one process
/// (prefix it with the module's name).
pub fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A process's stdout as text.
pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A process's stderr as text.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `czip ARGS` with stdin empty.
pub fn czip(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_czip"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("czip runs")
}

/// Xorshift64 (Marsaglia 2003): the kernel tests' fast source of random
/// inputs. Seeds must be non-zero.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn i32(&mut self) -> i32 {
        self.next() as i32
    }
    /// Any i8, −128 included.
    pub fn i8_full(&mut self) -> i8 {
        self.next() as i8
    }
    /// An i8 in −127..=127 (the range of clamped activations).
    pub fn i8_symmetric(&mut self) -> i8 {
        ((self.next() % 255) as i32 - 127) as i8
    }
}

/// The command succeeded (else its status and stderr are the message).
pub fn assert_ok(o: &std::process::Output) {
    assert!(o.status.success(), "{:?}: {}", o.status, stderr(o));
}

/// `czip`'s summary lines end in the time taken (`…, 0.41 s`); it becomes `<t> s`.
pub fn without_times(text: &str) -> String {
    text.lines()
        .map(|l| match l.rfind(", ") {
            Some(i) if l.ends_with(" s") && l[i + 2..l.len() - 2].parse::<f64>().is_ok() => format!("{}, <t> s\n", &l[..i]),
            _ => format!("{l}\n"),
        })
        .collect()
}

/// A path as a command-line argument (the tests' paths are UTF-8).
pub fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}
