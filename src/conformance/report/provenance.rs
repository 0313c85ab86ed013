//! The header of every report: which tool produced it (version and git
//! revision when known), from which corpus (SHA-256 of `vectors/` and of the
//! corpus texts) and models (SHA-256 of each published model's content),
//! when (UTC; `SOURCE_DATE_EPOCH` overrides the clock) and how long it took.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::conformance::ops::Context;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    /// `czip-conformance <version>`.
    pub tool: String,
    /// `git rev-parse HEAD` of the source tree the tool was built from, when
    /// that tree is still there (`+dirty` when it has uncommitted changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_revision: Option<String>,
    /// RFC 3339, UTC, whole seconds.
    pub date: String,
    /// Over every file below the vectors directory (relative path and bytes, sorted by path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vectors_sha256: Option<String>,
    /// Over every file below the corpus directory, the same way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corpus_sha256: Option<String>,
    /// Published model name → SHA-256 of the file's content (absent files are left out).
    pub models: BTreeMap<String, String>,
    /// Wall time of the whole run.
    pub elapsed_s: f64,
}

impl Provenance {
    /// Collects the header for a run over `ctx` (`with_vectors`: hash the
    /// corpus of cases too, as `run` uses it and `score` does not).
    pub fn collect(ctx: &Context, with_vectors: bool, elapsed: std::time::Duration) -> Provenance {
        let models = ["v000", "v001"]
            .iter()
            .filter_map(|n| {
                let p = ctx.model_path(n).ok()?;
                let bytes = std::fs::read(p).ok()?;
                Some((n.to_string(), crate::conformance::case::sha256_hex(&bytes)))
            })
            .collect();
        Provenance {
            tool: format!("czip-conformance {}", env!("CARGO_PKG_VERSION")),
            git_revision: git_revision(),
            date: utc_date(now_unix()),
            vectors_sha256: if with_vectors { tree_sha256(&ctx.vectors_dir) } else { None },
            corpus_sha256: tree_sha256(&ctx.corpus_dir),
            models,
            elapsed_s: (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        }
    }

    /// The header as lines for people.
    pub fn lines(&self) -> Vec<String> {
        let mut l = vec![format!("{} · git {} · {} · {:.1} s", self.tool, self.git_revision.as_deref().unwrap_or("unknown"), self.date, self.elapsed_s)];
        if let Some(v) = &self.vectors_sha256 {
            l.push(format!("vectors sha256 {v}"));
        }
        if let Some(c) = &self.corpus_sha256 {
            l.push(format!("corpus texts sha256 {c}"));
        }
        for (n, h) in &self.models {
            l.push(format!("model {n} sha256 {h}"));
        }
        l
    }
}

fn now_unix() -> i64 {
    if let Some(s) = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.trim().parse().ok()) {
        return s;
    }
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since 1970 (proleptic Gregorian;
/// days to civil date by the era method: 400-year eras of 146,097 days).
pub fn utc_date(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468; // days since 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365], from March 1
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

fn git_revision() -> Option<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let rev = git(&["rev-parse", "HEAD"]).filter(|r| r.len() == 40)?;
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{rev}+dirty") } else { rev })
}

/// SHA-256 over every regular file below `root`: for each, sorted by its
/// relative path, the path, a NUL, the file's SHA-256, a newline. `None`
/// when `root` is not a readable directory.
pub fn tree_sha256(root: &Path) -> Option<String> {
    let mut files = Vec::new();
    collect_files(root, root, &mut files).ok()?;
    files.sort();
    let mut h = Sha256::new();
    for rel in files {
        let bytes = std::fs::read(root.join(&rel)).ok()?;
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(crate::conformance::case::sha256_hex(&bytes).as_bytes());
        h.update(b"\n");
    }
    Some(crate::conformance::case::hex(&h.finalize()))
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let ty = e.file_type()?;
        if ty.is_dir() {
            collect_files(root, &e.path(), out)?;
        } else if ty.is_file() {
            out.push(e.path().strip_prefix(root).map(Path::to_path_buf).unwrap_or_else(|_| e.path()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::utc_date;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc_date(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_date(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_date(1_796_169_599), "2026-12-01T23:59:59Z");
        assert_eq!(utc_date(-1), "1969-12-31T23:59:59Z");
    }
}
