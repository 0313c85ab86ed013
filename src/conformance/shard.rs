//! Scoring that scales out: `score --shard I/N` scores one part of the
//! files, and `merge-reports` turns the parts' reports into the report one
//! run over all the files gives.
//!
//! The split ([`Shard::pick`]): the files are selected and sorted exactly as
//! a whole run selects and sorts them ([`super::score::select_files`]: by
//! path, component by component); file k of that list (k = 0, 1, …) belongs
//! to shard `k mod N + 1`. It depends only on the sorted list — not on the
//! machine, the directory walk order or the thread count — so N machines
//! given the same `--files` arguments split the files the same way, and the
//! shards are as even as N allows (their sizes differ by at most one).
//!
//! A shard's `report.json` carries a [`ShardRecord`]: which shard it is and
//! the [`FileEntry`] of each of its files. [`merge`] checks the parts
//! belong together, puts the entries back in sorted path order and builds
//! the report through [`report_of`], the builder a whole run uses; the three
//! files are then written by [`Report::write`]. Apart from the per-run
//! fields — `provenance.date`, `provenance.elapsed_s` and every `time_us`,
//! what [`super::report::strip_timings`] removes — the merged report is
//! byte-identical to the whole run's. Merged provenance: the latest of the
//! parts' dates, and the sum of their elapsed times (the work done; parts
//! run side by side take less wall time).
//!
//! A part can also be a directory holding `entries.jsonl` instead (one
//! [`FileEntry`] per line: the Python binding's `verify_file` dict plus
//! the file's `path`, as `scale/ray_score.py` writes them): its report fields come from the merge
//! itself (`--impl-name`, this machine's models and corpus texts).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::compare::CaseResult;
use super::report::{Provenance, Report};
use super::score::{report_of, FileEntry, SuiteRows};

/// Shard `index` of `count` (1 ≤ index ≤ count), written `I/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Parses `I/N` (decimal, 1 ≤ I ≤ N).
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("{s:?} is not a shard I/N (1 ≤ I ≤ N, e.g. 2/3)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let num = |x: &str| if x.bytes().all(|b| b.is_ascii_digit()) { x.parse::<usize>().ok() } else { None };
        match (num(i), num(n)) {
            (Some(index), Some(count)) if (1..=count).contains(&index) => Ok(Shard { index, count }),
            _ => Err(bad()),
        }
    }

    /// The items of this shard: item k (0-based) of `items` when k mod N = I − 1.
    pub fn pick<T>(&self, items: Vec<T>) -> Vec<T> {
        items.into_iter().enumerate().filter(|(k, _)| k % self.count == self.index - 1).map(|(_, x)| x).collect()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a shard's `report.json` carries besides the report of its files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// `I/N`.
    pub shard: String,
    /// The model for files whose `model_id_hash` names none (`score --model`).
    pub default_model: String,
    /// Every file of the shard, in sorted path order.
    pub files: Vec<FileEntry>,
}

/// One part to merge, as read from its directory.
pub enum Part {
    /// A shard report (`score --shard`): its `report.json`, parsed, and its record.
    Report { dir: PathBuf, report: Value, record: ShardRecord },
    /// `entries.jsonl`: file entries without a report.
    Entries { dir: PathBuf, entries: Vec<FileEntry> },
}

impl Part {
    fn dir(&self) -> &Path {
        match self {
            Part::Report { dir, .. } | Part::Entries { dir, .. } => dir,
        }
    }

    fn entries(&self) -> &[FileEntry] {
        match self {
            Part::Report { record, .. } => &record.files,
            Part::Entries { entries, .. } => entries,
        }
    }
}

/// Reads the part in `dir`: `report.json` when there is one, else `entries.jsonl`.
pub fn read_part(dir: &Path) -> Result<Part, String> {
    let report_path = dir.join("report.json");
    let entries_path = dir.join("entries.jsonl");
    if report_path.is_file() {
        let text = std::fs::read_to_string(&report_path).map_err(|e| format!("cannot read {}: {e}", report_path.display()))?;
        let report: Value = serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", report_path.display()))?;
        let record = report.get("shard").cloned().ok_or_else(|| {
            format!("{} is not a shard report (no \"shard\" record: write the parts with score --shard I/N)", report_path.display())
        })?;
        let record: ShardRecord = serde_json::from_value(record).map_err(|e| format!("{}: bad shard record: {e}", report_path.display()))?;
        Ok(Part::Report { dir: dir.to_path_buf(), report, record })
    } else if entries_path.is_file() {
        let text = std::fs::read_to_string(&entries_path).map_err(|e| format!("cannot read {}: {e}", entries_path.display()))?;
        let entries = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| serde_json::from_str(l).map_err(|e| format!("{} line {}: not a file entry: {e}", entries_path.display(), n + 1)))
            .collect::<Result<Vec<FileEntry>, String>>()?;
        Ok(Part::Entries { dir: dir.to_path_buf(), entries })
    } else {
        Err(format!("{}: neither report.json (score --shard) nor entries.jsonl", dir.display()))
    }
}

/// What `merge` needs besides the parts.
pub struct MergeOptions<'a> {
    /// The implementation's name: required when a part is `entries.jsonl`;
    /// when given, shard reports must name the same.
    pub impl_name: Option<&'a str>,
    /// This machine's provenance for a given elapsed time (models, corpus,
    /// tool): used when a part is `entries.jsonl`, and checked against the
    /// shard reports then.
    pub here: &'a dyn Fn(std::time::Duration) -> Provenance,
}

/// The whole run's report from its parts (see the module documentation),
/// or why they do not belong together.
pub fn merge(parts: &[Part], opts: &MergeOptions) -> Result<(Report, Vec<CaseResult>, SuiteRows), String> {
    let Some(first) = parts.first() else { return Err("nothing to merge".into()) };
    let reports: Vec<(&Path, &Value, &ShardRecord)> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Report { dir, report, record } => Some((dir.as_path(), report, record)),
            Part::Entries { .. } => None,
        })
        .collect();
    let has_entries = reports.len() < parts.len();
    // The implementation.
    let impl_name = match (opts.impl_name, reports.first()) {
        (Some(n), _) => n.to_string(),
        (None, Some((_, r, _))) => r["implementation"].as_str().unwrap_or_default().to_string(),
        (None, None) => return Err(format!("{} holds file entries without a report: say whose they are with --impl-name", first.dir().display())),
    };
    for (dir, r, _) in &reports {
        let theirs = r["implementation"].as_str().unwrap_or_default();
        if theirs != impl_name {
            return Err(format!("cannot merge reports of different implementations: {} scores {theirs:?}, not {impl_name:?}", dir.display()));
        }
    }
    // Same tool, models, corpus texts and default model.
    let provenance_of = |r: &Value| -> Result<Provenance, String> {
        serde_json::from_value(r.get("provenance").cloned().unwrap_or(Value::Null)).map_err(|e| format!("no readable provenance: {e}"))
    };
    let mut provs = Vec::new();
    for (dir, r, _) in &reports {
        provs.push(provenance_of(r).map_err(|e| format!("{}/report.json: {e}", dir.display()))?);
    }
    let here = has_entries.then(|| (opts.here)(std::time::Duration::ZERO));
    let named: Vec<(String, &Provenance)> =
        reports.iter().map(|(d, _, _)| d.display().to_string()).zip(&provs).chain(here.iter().map(|p| ("this machine".to_string(), p))).collect();
    if let Some((a, pa)) = named.first() {
        for (b, pb) in &named[1..] {
            let differ = |what: &str| Err(format!("cannot merge: {a} and {b} were scored with different {what}"));
            if pa.models != pb.models {
                return differ("models (provenance.models)");
            }
            if pa.corpus_sha256 != pb.corpus_sha256 {
                return differ("corpus texts (provenance.corpus_sha256)");
            }
            if pa.tool != pb.tool || matches!((&pa.git_revision, &pb.git_revision), (Some(x), Some(y)) if x != y) {
                return differ("builds of czip-conformance (provenance.tool, provenance.git_revision)");
            }
        }
    }
    if let Some((dir, _, rec)) = reports.iter().find(|(_, _, r)| r.default_model != reports[0].2.default_model) {
        return Err(format!(
            "cannot merge: {} was scored with --model {}, {} with --model {}",
            dir.display(),
            rec.default_model,
            reports[0].0.display(),
            reports[0].2.default_model
        ));
    }
    // Every shard of one split, once each.
    let shards = reports
        .iter()
        .map(|(dir, _, r)| Shard::parse(&r.shard).map(|s| (*dir, s)).map_err(|e| format!("{}/report.json: {e}", dir.display())))
        .collect::<Result<Vec<_>, String>>()?;
    if let Some((_, s0)) = shards.first() {
        let mut seen: Vec<Option<&Path>> = vec![None; s0.count];
        for (dir, s) in &shards {
            if s.count != s0.count {
                return Err(format!("cannot merge shards of different splits: {} is shard {s}, {} is shard {s0}", dir.display(), shards[0].0.display()));
            }
            if let Some(other) = seen[s.index - 1].replace(dir) {
                return Err(format!("cannot merge: {} and {} are both shard {s}", other.display(), dir.display()));
            }
        }
        let missing: Vec<String> = seen.iter().enumerate().filter(|(_, d)| d.is_none()).map(|(i, _)| format!("{}/{}", i + 1, s0.count)).collect();
        if !missing.is_empty() {
            return Err(format!("cannot merge an incomplete split: shard {} missing", missing.join(", ")));
        }
    }
    // Each file once, in sorted path order.
    let mut all: Vec<(&FileEntry, &Path)> = parts.iter().flat_map(|p| p.entries().iter().map(move |v| (v, p.dir()))).collect();
    all.sort_by(|(a, _), (b, _)| Path::new(&a.path).cmp(Path::new(&b.path)));
    if let Some(w) = all.windows(2).find(|w| Path::new(&w[0].0.path) == Path::new(&w[1].0.path)) {
        return Err(format!("cannot merge overlapping parts: {} is in both {} and {}", w[0].0.path, w[0].1.display(), w[1].1.display()));
    }
    let entries: Vec<FileEntry> = all.into_iter().map(|(v, _)| v.clone()).collect();
    let (mut report, results, suites) = report_of(&impl_name, &entries);
    // Provenance: the parts' common fields, the latest date, the summed time.
    let entries_time: u64 = parts.iter().filter(|p| matches!(p, Part::Entries { .. })).flat_map(|p| p.entries()).filter_map(|v| v.case.time_us).sum();
    let mut elapsed = provs.iter().map(|p| p.elapsed_s).sum::<f64>() + entries_time as f64 / 1e6;
    elapsed = (elapsed * 1000.0).round() / 1000.0;
    let mut merged = match here {
        Some(p) => p,
        None => provs[0].clone(),
    };
    merged.git_revision = merged.git_revision.or_else(|| provs.iter().find_map(|p| p.git_revision.clone()));
    if let Some(latest) = provs.iter().map(|p| &p.date).max() {
        if *latest > merged.date {
            merged.date = latest.clone();
        }
    }
    merged.elapsed_s = elapsed;
    report.provenance = Some(merged);
    Ok((report, results, suites))
}
