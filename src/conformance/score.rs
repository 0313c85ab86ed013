//! `czip-conformance score`: judging `.czip` files another implementation
//! already produced (e.g. copied off a GPU box), named after the corpus texts
//! (`alice_ch1.txt.czip`). For each file: header fields, payload agreement
//! with the reference, whether the reference decodes it back to the text,
//! and — when it departs — the chunk, the token and the known cause.
//!
//! Each file gets a [`FileVerdict`]; as a [`FileEntry`] (serialisable) it is
//! one file's part of the report, and [`report_of`] turns the entries, in
//! sorted path order, into the report. A sharded run (`score --shard I/N`,
//! [`super::shard`]) keeps its entries in its report so that `merge-reports`
//! rebuilds the whole run's report through [`report_of`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::causes::{of_findings, tally, Cause};
use super::compare::{payload_digest, CaseResult, Status};
use super::localize::{finding, localise_chunks, newline_translated, Finding};
use super::ops::Context;
use super::report::{known_divergence, Failure, RatioRow, Report};
use crate::container::baselines::baselines;
use crate::container::{read_file, CzipFile, ReadLimits};
use crate::model::load::published_model_named_by;
use crate::model::Model;
use crate::pipeline::{compress, decode_tokens_unverified, decompress_with, CompressOptions, DecompressOptions};
use serde::{Deserialize, Serialize};

/// What to score.
pub struct ScoreOptions {
    pub impl_name: String,
    /// What [`score`] scores: a `.czip` file, or a directory searched
    /// recursively ([`score_selected`] takes its own list instead).
    pub files_dir: PathBuf,
    /// Model for files whose `model_id_hash` names none we know (default v001).
    pub default_model: String,
}

/// `score`'s verdict on one file ([`verify_file`]), before it becomes a
/// report line; public for the Python binding's `czip.verify_file`.
#[derive(Debug, Clone)]
pub struct FileVerdict {
    pub result: CaseResult,
    localisation: Vec<Finding>,
    /// The spec §11 point (or reader defect) the departure matches.
    pub known: Option<String>,
    pub ratio: Option<RatioRow>,
    /// The `dump` command for the chunk where the file departs ([`dump_command`]).
    pub next_step: Option<String>,
}

impl FileVerdict {
    /// The report's failure line, when the file failed.
    pub fn failure(&self) -> Option<Failure> {
        (self.result.status == Status::Fail).then(|| Failure {
            suites: vec!["files".into()],
            case: self.result.clone(),
            localisation: finding::render(&self.localisation),
            known_divergence: self.known.clone(),
            cause: of_findings(&self.localisation).unwrap_or(Cause::Unexplained),
        })
    }

    /// The one-line summary of `report.findings` (where it departs and the
    /// known cause), when the file failed.
    pub fn finding(&self) -> Option<String> {
        if self.result.status != Status::Fail {
            return None;
        }
        let name = self.result.id.trim_start_matches("file:");
        let where_ = self.localisation.iter().filter(|l| names_where(l)).map(ToString::to_string).collect::<Vec<_>>().join("; ");
        Some(match &self.known {
            Some(k) => format!("{name}: {where_} — {k}"),
            None => format!("{name}: {where_} — no known cause matched"),
        })
    }

    /// The verdict as one JSON object (the Python binding's `verify_file`
    /// dict): `file`, `status`, `agreement` (outer header and payload equal
    /// the reference's), `message`, `first_divergence`, `localisation`,
    /// `known_cause`, `cause`, `ratio` (the ratio-table row), `next_step`,
    /// `finding`; and `case` / `failure` exactly as the report's `results`
    /// and `failures` entries hold them.
    pub fn to_json(&self) -> serde_json::Value {
        let failure = self.failure();
        serde_json::json!({
            "file": self.result.id.trim_start_matches("file:"),
            "status": self.result.status,
            "agreement": self.result.status == Status::Pass,
            "message": self.result.message,
            "first_divergence": self.result.divergence,
            "localisation": finding::render(&self.localisation),
            "known_cause": self.known,
            "cause": failure.as_ref().map(|f| f.cause),
            "ratio": self.ratio,
            "next_step": self.next_step,
            "finding": self.finding(),
            "case": self.result,
            "failure": failure,
        })
    }
}

/// The published model a file's `model_id_hash` names (content or upstream
/// path hash), else `default`.
fn pick_model(f: &CzipFile, default: &str) -> String {
    match published_model_named_by(f.inner.model_id_hash) {
        Some(file) => file.trim_end_matches("_eng.czm").to_string(),
        None => default.to_string(),
    }
}

fn score_file(ctx: &Context, opts: &ScoreOptions, path: &Path, corpus: &Path) -> FileVerdict {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let text_name = file_name.trim_end_matches(".czip").to_string();
    let mut v = FileVerdict::new(&text_name);
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            v.result.status = Status::Fail;
            v.result.message = format!("cannot read {}: {e}", path.display());
            return v;
        }
    };
    let Ok(text) = std::fs::read(corpus.join(&text_name)) else {
        v.result.status = Status::Skipped;
        v.result.message = format!("no corpus text {text_name} in {}", corpus.display());
        return v;
    };
    let text_path = corpus.join(&text_name);
    verify_file(&text_name, &bytes, Some(&text), Some(&text_path), |f| {
        let name = pick_model(f, &opts.default_model);
        ctx.model(&name).map(|m| (name, m))
    })
}

impl FileVerdict {
    /// A passing verdict on the file named after the text `text_name`, to be judged.
    fn new(text_name: &str) -> Self {
        FileVerdict {
            result: CaseResult {
                id: format!("file:{text_name}"),
                op: "file".into(),
                spec: "§8–§9".into(),
                status: Status::Pass,
                divergence: None,
                message: String::new(),
                tags: Vec::new(),
                not_answered: Vec::new(),
                time_us: None,
            },
            localisation: Vec::new(),
            known: None,
            ratio: None,
            next_step: None,
        }
    }
}

/// `score`'s verdict on one file's `bytes` (named after the text
/// `text_name`): header fields, payload agreement with the reference's own
/// file for `text`, whether the reference decodes it back, and where and
/// why it departs. `model_for` picks the model from the parsed file (its
/// name and the model; an error makes the verdict *skipped*). Without a
/// `text`, the text is what the reference decodes from the file (a file the
/// reference cannot decode fails with that error). `text_path` is where the
/// text is for the `dump` command of the next step (default: `text_name`).
pub fn verify_file(
    text_name: &str,
    bytes: &[u8],
    text: Option<&[u8]>,
    text_path: Option<&Path>,
    model_for: impl FnOnce(&CzipFile) -> Result<(String, Arc<Model>), String>,
) -> FileVerdict {
    let mut v = FileVerdict::new(text_name);
    let fail = |v: &mut FileVerdict, msg: String| {
        v.result.status = Status::Fail;
        v.result.message = msg;
    };
    let f = match read_file(bytes, &ReadLimits::default()) {
        Ok(f) => f,
        Err(e) => {
            fail(&mut v, format!("container: {e}"));
            return v;
        }
    };
    let (model_name, model) = match model_for(&f) {
        Ok(m) => m,
        Err(e) => {
            v.result.status = Status::Skipped;
            v.result.message = e;
            return v;
        }
    };
    let text: Vec<u8> = match text {
        Some(t) => t.to_vec(),
        None => match decompress_with(&model, bytes, &DecompressOptions::SPEC_LITERAL, None) {
            Ok(t) => t,
            Err(e) => {
                let decodes = Finding::DecodeFailure { error: e.to_string() };
                fail(&mut v, format!("the reference cannot decode the file: {decodes}"));
                v.localisation = vec![decodes];
                return v;
            }
        },
    };
    let text_path = text_path.map_or_else(|| PathBuf::from(text_name), Path::to_path_buf);
    let tokens = std::str::from_utf8(&text).ok().and_then(|s| model.tokenizer().encode(s).ok()).unwrap_or_default();
    let base = baselines(&text);
    v.ratio = Some(RatioRow {
        text: text_name.to_string(),
        setting: format!("{model_name}, K = {}, {}", f.chunk_tokens(), f.outer.codec),
        bytes_in: text.len() as u64,
        bytes_out: bytes.len() as u64,
        tokens: tokens.len() as u64,
        bits_per_token: if tokens.is_empty() { 0.0 } else { 8.0 * bytes.len() as f64 / tokens.len() as f64 },
        brotli_11: base.brotli_11,
        zstd_22: base.zstd_22,
        gzip_9: base.gzip_9,
    });
    let k = f.inner.chunk_log2();
    let opts_ref = CompressOptions { chunk_log2: Some(k), codec: f.outer.codec, model_id_hash: Some(f.inner.model_id_hash) };
    let ours = match compress(&model, &text, &opts_ref, None) {
        Ok(o) => o,
        Err(e) => {
            fail(&mut v, format!("the reference cannot compress the text at K = {}: {e}", 1u32 << k));
            return v;
        }
    };
    let Ok(rf) = read_file(&ours, &ReadLimits::default()) else {
        fail(&mut v, "internal: reference file unreadable".into());
        return v;
    };
    if payload_digest(&f.payload) == payload_digest(&rf.payload) && bytes.get(..16) == ours.get(..16) {
        // Same header and payload as the reference's own file, which the
        // engine's test suite proves decodes back to its text.
        v.result.message = "outer header and payload identical to the reference".into();
        return v;
    }
    // What the reference decodes from the file, before any length/UTF-8 check.
    let their_tokens: Result<Vec<Vec<u32>>, String> = decode_tokens_unverified(&model, &f).map_err(|e| e.to_string());
    let raw_decoded: Result<Vec<u8>, String> = their_tokens.as_ref().map_err(Clone::clone).and_then(|chunks| {
        let mut out = Vec::new();
        for c in chunks {
            model.tokenizer().decode_into(c, &mut out).map_err(|e| e.to_string())?;
        }
        Ok(out)
    });
    // Did the implementation compress a newline-translated text (CR, CRLF → LF)?
    let translated = newline_translated(&text);
    let nl = translated != text
        && (u64::from(f.outer.uncompressed_len) == translated.len() as u64 || raw_decoded.as_ref().is_ok_and(|r| *r == translated));
    const NL: &str = "newline translation on input (the public Python command line reads text in universal-newline mode): not a spec §11 point, a reader defect";
    // Judged by the spec: model_id_hash never refuses a file here (it chose
    // the model above; a hash naming no published model falls back to the
    // default model and only adds a hint to a decoding error).
    let decodes = match decompress_with(&model, bytes, &DecompressOptions::SPEC_LITERAL, None) {
        Ok(t) if t == text => Finding::DecodesBack,
        Ok(t) => Finding::DecodesToOther { bytes: t.len() },
        Err(e) => Finding::DecodeFailure { error: e.to_string() },
    };
    // Localise: header fields first.
    let mut loc = Vec::new();
    if f.outer.uncompressed_len != rf.outer.uncompressed_len {
        loc.push(Finding::UncompressedLen { file: f.outer.uncompressed_len, text: rf.outer.uncompressed_len });
    }
    for (name, a, b) in [
        ("chunk_count", u64::from(f.inner.chunk_count), u64::from(rf.inner.chunk_count)),
        ("last_chunk_tokens", u64::from(f.inner.last_chunk_tokens), u64::from(rf.inner.last_chunk_tokens)),
        ("context_length_log2", u64::from(f.inner.chunk_log2()), u64::from(rf.inner.chunk_log2())),
        ("tokenizer_id", u64::from(f.inner.tokenizer_id), u64::from(rf.inner.tokenizer_id)),
    ] {
        if a != b {
            loc.push(Finding::HeaderField { field: name, file: a, reference: b });
        }
    }
    // With a translated input, localise against what it actually compressed.
    let (rf, tokens) = if nl {
        loc.push(Finding::NewlineTranslation);
        v.known = Some(NL.into());
        let t = std::str::from_utf8(&translated).ok().and_then(|s| model.tokenizer().encode(s).ok()).unwrap_or_default();
        match compress(&model, &translated, &opts_ref, None).ok().and_then(|o| read_file(&o, &ReadLimits::default()).ok()) {
            Some(r) => (r, t),
            None => (rf, tokens),
        }
    } else {
        (rf, tokens)
    };
    // Then the first differing chunk and token, and a known cause.
    if let Some(cl) = localise_chunks(&model, &f, their_tokens.as_deref().ok(), &rf, &tokens) {
        loc.extend(cl.findings);
        v.result.divergence = Some(cl.divergence);
        if !nl {
            v.next_step = Some(dump_command(&model_name, &text_path, k, cl.chunk, cl.position));
        }
        if let Some(w) = cl.witness {
            let k = known_divergence(w.tag).unwrap_or(w.tag);
            v.known = Some(match v.known.take() {
                Some(prev) => format!("{prev}; and {k}"),
                None => k.to_string(),
            });
            v.result.tags.push(format!("divergence:{}", w.tag));
        }
    }
    loc.push(decodes);
    fail(&mut v, format!("payload differs from the reference{}", loc.first().map(|l| format!(": {l}")).unwrap_or_default()));
    v.localisation = loc;
    v
}

/// The `czip-conformance dump` command that writes the reference's tensor
/// dump of chunk `chunk` of `text` cut in chunks of 2^`k` tokens, with what
/// to do next (`adapters/DUMPS.md`). k = 6..10 is a level; a larger k is
/// the model's capacity (no level: `dump`'s default, like `czip compress`).
fn dump_command(model: &str, text: &Path, k: u8, chunk: usize, position: Option<usize>) -> String {
    let level = match k {
        6..=10 => format!(" --level {}", k - 5),
        _ => String::new(),
    };
    let name = text.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let at = position.map_or(String::new(), |p| format!(" (it departs at token {p})"));
    format!(
        "czip-conformance dump --model {model} --text {}{level} --chunk {chunk} -o {} — then dump chunk {chunk}{at} from your build and run czip-conformance compare-dumps on the two",
        shell_word(&text.display().to_string()),
        shell_word(&format!("{name}.chunk{chunk}.ref.safetensors"))
    )
}

/// `s` as one shell word: as is when it holds only safe characters, else single-quoted.
fn shell_word(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-/+=:,@".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Whether a finding says where a scored file departs, for the one-line
/// summary of `report.findings`: the length and chunk-count fields (the
/// summary has always named these two), newline translation, the chunk and
/// the witness.
fn names_where(f: &Finding) -> bool {
    matches!(
        f,
        Finding::UncompressedLen { .. }
            | Finding::HeaderField { field: "chunk_count", .. }
            | Finding::NewlineTranslation
            | Finding::Chunk { .. }
            | Finding::Witness { .. }
    )
}

/// A suite's rows in a report: (name, required, indices of its case results).
pub type SuiteRows = Vec<(String, bool, Vec<usize>)>;

/// The files to score: each path that is a file, and every `*.czip` under
/// each path that is a directory (recursively), sorted by path, each once.
pub fn select_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?.path();
            if path.is_dir() {
                walk(&path, found)?;
            } else if path.extension().is_some_and(|x| x == "czip") {
                found.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        if meta.is_dir() {
            walk(p, &mut files)?;
        } else {
            files.push(p.clone());
        }
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        let names: Vec<_> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(format!("no .czip files in {}", names.join(", ")));
    }
    Ok(files)
}

/// Scores `opts.files_dir`: the file, or every `*.czip` below the directory (sorted by path).
pub fn score(ctx: &Context, opts: &ScoreOptions) -> Result<(Report, Vec<CaseResult>, SuiteRows), String> {
    score_selected(ctx, opts, select_files(std::slice::from_ref(&opts.files_dir))?)
}

/// One file's part of a score report, as JSON: the keys of the Python
/// binding's `verify_file` dict that the report is built from, plus the
/// path. What shard reports carry and `verdicts.jsonl` lines hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The path scored, as listed: a report lists its files in sorted path
    /// order (component by component, [`Path`]'s order).
    pub path: String,
    /// The case result (`report.json`'s `unsupported` / `skipped` entries and
    /// `junit.xml`'s test case).
    pub case: CaseResult,
    /// The report's failure entry, when the file failed.
    #[serde(default)]
    pub failure: Option<Failure>,
    /// The compression-ratio row (when the text and model were found).
    #[serde(default)]
    pub ratio: Option<RatioRow>,
    /// The one-line summary `report.findings` lists (failures only).
    #[serde(default)]
    pub finding: Option<String>,
    /// The `dump` command for the chunk where the file departs (a path of
    /// the machine that scored it).
    #[serde(default)]
    pub next_step: Option<String>,
}

impl FileVerdict {
    /// This verdict as the entry of the file listed as `path`.
    pub fn entry(&self, path: String) -> FileEntry {
        FileEntry {
            path,
            case: self.result.clone(),
            failure: self.failure(),
            ratio: self.ratio.clone(),
            finding: self.finding(),
            next_step: self.next_step.clone(),
        }
    }
}

/// Scores `files` (from [`select_files`]), in that order.
pub fn score_selected(ctx: &Context, opts: &ScoreOptions, files: Vec<PathBuf>) -> Result<(Report, Vec<CaseResult>, SuiteRows), String> {
    Ok(report_of(&opts.impl_name, &verify_files(ctx, opts, &files)))
}

/// The entries of `files`, in that order (scored in parallel, each timed).
pub fn verify_files(ctx: &Context, opts: &ScoreOptions, files: &[PathBuf]) -> Vec<FileEntry> {
    use rayon::prelude::*;
    files
        .par_iter()
        .map(|p| {
            let started = std::time::Instant::now();
            let mut v = score_file(ctx, opts, p, &ctx.corpus_dir);
            v.result.set_elapsed(started);
            v.entry(p.display().to_string())
        })
        .collect()
}

/// The report of a score run over files with these entries (in report
/// order): one required suite, `files`; the failures with their
/// localisation and cause; the ratio table; findings; next steps.
pub fn report_of(impl_name: &str, entries: &[FileEntry]) -> (Report, Vec<CaseResult>, SuiteRows) {
    let results: Vec<CaseResult> = entries.iter().map(|e| e.case.clone()).collect();
    let suites = vec![("files".to_string(), true, (0..results.len()).collect())];
    let mut report = Report::build(impl_name, vec!["file_ops".into()], &suites, &results);
    report.failures = entries.iter().filter_map(|e| e.failure.clone()).collect();
    report.causes = tally(report.failures.iter().map(|f| f.cause));
    report.ratios = entries.iter().filter_map(|e| e.ratio.clone()).collect();
    report.next_steps = entries
        .iter()
        .filter_map(|e| e.next_step.as_ref().map(|c| format!("{}: {c}", e.case.id.trim_start_matches("file:"))))
        .collect();
    report.findings = entries.iter().filter_map(|e| e.finding.clone()).collect();
    (report, results, suites)
}
