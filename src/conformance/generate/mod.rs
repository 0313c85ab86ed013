//! `czip-conformance generate`: writes the whole golden corpus (`vectors/`)
//! and the suite manifests (`suites/`) deterministically.
//!
//! Every expectation is the answer of the built-in reference
//! ([`ops::reference`](super::ops::reference)) to the very arguments stored in
//! the case; the generator only chooses inputs (from fixed seeds, see
//! [`rng`]) and which answer fields a case checks. Reject cases are kept only
//! after checking that the reference really refuses them.
//!
//! | module | writes |
//! |---|---|
//! | [`primitives`] | `primitive/*` (§1) |
//! | [`tables`] | `table/*` (§2) |
//! | [`layers`] | `layer/*` (§5, §6 exp and frequency table) |
//! | [`synthetic`] | `models/*.czm`, small `czip-model-v1` files made from a seed |
//! | [`models`] | `model/*` (tokenize, logits, traces) and `chunk/*` (coder, chunks) |
//! | [`files`] | `file/*` (compress, decompress, rejects) |
//! | [`suites`] | `manifest.json`, `coverage.md`, `../suites/*.json` |

pub mod files;
pub mod layers;
pub mod models;
pub mod primitives;
pub mod rng;
pub mod suites;
pub mod synthetic;
pub mod tables;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::case::{array_digest, as_array, digest_of, Case, Dtype};
use super::op_table::{self, Op};
use super::ops::{reference, Context, Outcome};

/// Where to write and what to read.
pub struct GenerateOptions {
    /// `vectors/`.
    pub out_dir: PathBuf,
    /// `suites/`.
    pub suites_dir: PathBuf,
    /// The published models (`v000_eng.czm`, `v001_eng.czm`).
    pub models_dir: PathBuf,
    /// The texts of `../shared/golden/corpus` (read, hashed, never copied).
    pub corpus_dir: PathBuf,
}

/// What was written.
pub struct GenerateSummary {
    /// Each case file, relative to `out_dir`, with its case count (sorted by path).
    pub files: Vec<(String, usize)>,
}

/// The levels of `vectors/<level>/<group>.jsonl` (spec §10), in order.
pub const LEVELS: &[&str] = &["primitive", "table", "layer", "model", "chunk", "file"];

/// The suites (`suites/<name>.json`) a group of cases belongs to, declared
/// by the generator that makes them ([`Gen::in_suites`]).
///
/// Two suites are views every group shares without naming them: a case made
/// with [`Gen::reject`] is in `reject` (unless tagged `optional`), and a case
/// tagged `divergence:*` is in `divergences`.
#[derive(Debug, Clone, Copy)]
pub struct Suites {
    /// The suites of the group's cases that expect a result.
    pub cases: &'static [&'static str],
    /// The suites of the group's cases that must be refused (besides `reject`).
    pub rejects: &'static [&'static str],
}

impl Suites {
    /// In no suite but the shared views.
    pub const NONE: Suites = Suites { cases: &[], rejects: &[] };

    /// Every case of the group, refused or not, in `suites`.
    pub const fn all(suites: &'static [&'static str]) -> Suites {
        Suites { cases: suites, rejects: suites }
    }
}

/// Collects cases, asking the reference for every expectation.
pub struct Gen<'p> {
    pub ctx: Context,
    /// `vectors/<file>` → its cases, in generation order.
    pub files: BTreeMap<String, Vec<Case>>,
    /// Case id → the suites it belongs to.
    pub suites_of: std::collections::HashMap<String, Vec<&'static str>>,
    /// The suites of the cases made from now on (see [`Gen::in_suites`]).
    group: Option<Suites>,
    progress: &'p mut dyn FnMut(&str),
    ids: std::collections::HashSet<String>,
    counters: std::collections::HashMap<String, usize>,
}

impl<'p> Gen<'p> {
    pub fn new(ctx: Context, progress: &'p mut dyn FnMut(&str)) -> Self {
        Gen { ctx, files: BTreeMap::new(), suites_of: Default::default(), group: None, progress, ids: Default::default(), counters: Default::default() }
    }

    /// Declares the suites of the cases made from now on, until the next
    /// declaration. A case made before any declaration is an error.
    pub fn in_suites(&mut self, suites: Suites) {
        self.group = Some(suites);
    }

    /// `prefix.N` with N counting from 0 per prefix (stable ids within a group).
    pub fn id(&mut self, prefix: &str) -> String {
        let n = self.counters.entry(prefix.to_string()).or_insert(0);
        let id = format!("{prefix}.{n}");
        *n += 1;
        id
    }

    pub fn say(&mut self, msg: &str) {
        (self.progress)(msg);
    }

    /// The reference answer, which must be a result.
    pub fn answer(&mut self, op: &str, args: &Value) -> Result<Value, String> {
        match reference(&self.ctx, op, args) {
            Outcome::Result(v) => Ok(v),
            Outcome::Error(e) => Err(format!("reference refused {op} {}: {e}", short(args))),
            Outcome::Unsupported(e) | Outcome::Broken(e) => Err(format!("reference does not support {op}: {e}")),
        }
    }

    fn push(&mut self, file: &str, case: Case) -> Result<(), String> {
        if !self.ids.insert(case.id.clone()) {
            return Err(format!("duplicate case id {}", case.id));
        }
        let group = self.group.ok_or_else(|| format!("{}: no suites declared for its group (Gen::in_suites)", case.id))?;
        let refused = case.expect.get("error") == Some(&Value::Bool(true));
        // `optional` cases lie outside the domain where implementations must
        // agree: in no required suite, `reject` included.
        let optional = case.tags.iter().any(|t| t == "optional");
        let mut suites = match (refused, optional) {
            (true, false) => [group.rejects, &["reject"]].concat(),
            (true, true) => group.rejects.to_vec(),
            (false, _) => group.cases.to_vec(),
        };
        if case.tags.iter().any(|t| t.starts_with("divergence:")) {
            suites.push("divergences");
        }
        self.suites_of.insert(case.id.clone(), suites);
        self.files.entry(file.to_string()).or_default().push(case);
        Ok(())
    }

    /// Starts a case: `op` run on `args`, stored as `id` in `vectors/<file>`.
    /// Say what it runs on ([`Draft::context`]) and how it is tagged
    /// ([`Draft::tags`]), then finish it with its expectation.
    pub fn case<'g>(&'g mut self, file: &str, id: &str, op: &str, args: Value) -> Draft<'g, 'p> {
        Draft { gen: self, file: file.to_string(), id: id.to_string(), op: op.to_string(), args, context: Vec::new(), tags: Vec::new() }
    }
}

/// A case being made by [`Gen::case`]; it is added by one of the finishing
/// calls: [`Draft::expect`], [`Draft::expect_digests`], [`Draft::expect_value`]
/// or [`Draft::reject`].
#[must_use = "a case is added only when it is finished (expect…/reject)"]
pub struct Draft<'g, 'p> {
    gen: &'g mut Gen<'p>,
    file: String,
    id: String,
    op: String,
    args: Value,
    context: Vec<String>,
    tags: Vec<String>,
}

impl Draft<'_, '_> {
    /// The features of what the case runs on (model, level, sink key:
    /// [`op_table::CONTEXT_FEATURES`]); with the op's own features they make
    /// its `requires`.
    pub fn context(mut self, features: &[&str]) -> Self {
        self.context = features.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The case's tags (sorted and deduplicated when stored).
    pub fn tags(mut self, tags: &[&str]) -> Self {
        self.tags = tags.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Expects `fields` of the reference answer (packed arrays keep only
    /// their digest); returns the whole answer.
    pub fn expect(self, fields: &[&str]) -> Result<Value, String> {
        let f: Vec<(&str, Option<Dtype>)> = fields.iter().map(|&f| (f, None)).collect();
        self.expect_digests(&f)
    }

    /// Like [`Draft::expect`]; a field given with a dtype has every integer
    /// array in it replaced by its `{dtype, len, sha256}` digest.
    pub fn expect_digests(self, fields: &[(&str, Option<Dtype>)]) -> Result<Value, String> {
        let ans = self.gen.answer(&self.op, &self.args)?;
        let mut expect = Map::new();
        for &(f, keep) in fields {
            let v = ans.get(f).ok_or_else(|| format!("{}: the answer has no field {f}", self.id))?;
            expect.insert(f.to_string(), slim(v, keep));
        }
        self.finish(Value::Object(expect), false)?;
        Ok(ans)
    }

    /// Expects `expect`, computed by the caller (from a reference answer).
    pub fn expect_value(self, expect: Value) -> Result<(), String> {
        self.finish(expect, false)
    }

    /// Expects a refusal, after checking that the reference refuses the case;
    /// returns the reference's message.
    pub fn reject(self) -> Result<String, String> {
        let msg = match reference(&self.gen.ctx, &self.op, &self.args) {
            Outcome::Error(e) => e,
            Outcome::Result(_) => return Err(format!("{}: the reference accepts a case meant to be refused", self.id)),
            Outcome::Unsupported(e) | Outcome::Broken(e) => return Err(format!("{}: {e}", self.id)),
        };
        self.finish(serde_json::json!({"error": true}), true)?;
        Ok(msg)
    }

    /// Adds the case; its `spec` and `requires` come from the [op table](op_table):
    /// the op's section and features, and the features of its context.
    fn finish(self, expect: Value, reject: bool) -> Result<(), String> {
        let id = self.id;
        let o = Op::from_name(&self.op).ok_or_else(|| format!("{id}: {:?} is not in the op table", self.op))?;
        let context: Vec<&str> = self.context.iter().map(String::as_str).collect();
        let tags: Vec<&str> = self.tags.iter().map(String::as_str).collect();
        let case = Case {
            spec: op_table::spec_section(o, reject).to_string(),
            requires: op_table::requires(o, &context).map_err(|e| format!("{id}: {e}"))?,
            tags: sorted(&tags),
            id,
            op: self.op,
            args: self.args,
            expect,
        };
        self.gen.push(&self.file, case)
    }
}

fn sorted(xs: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = xs.iter().map(|s| s.to_string()).collect();
    v.sort();
    v.dedup();
    v
}

/// An answer field as stored in an expectation: packed arrays keep only
/// their digest; with a dtype, every integer array becomes a digest.
pub fn slim(v: &Value, keep: Option<Dtype>) -> Value {
    match v {
        Value::Object(o) if digest_of(v).is_some() => {
            let mut o = o.clone();
            o.remove("hex");
            Value::Object(o)
        }
        Value::Array(a) if a.iter().all(Value::is_number) => match (keep, as_array(v)) {
            (Some(d), Some(xs)) => array_digest(&xs, d),
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(|x| slim(x, keep)).collect()),
        other => other.clone(),
    }
}

/// A short rendering of arguments for error messages.
fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &s[..cut]), // on a character boundary
        None => s,
    }
}

/// Writes `bytes` to `path`, creating parent directories.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Generates everything (see the module documentation).
pub fn generate_all(opts: &GenerateOptions, progress: &mut dyn FnMut(&str)) -> Result<GenerateSummary, String> {
    generate_all_keeping_context(opts, progress).map(|(summary, _)| summary)
}

/// [`generate_all`], also giving back the reference context that computed
/// every expectation, with its shared work (a text's coded chunks, a
/// payload's decoded tokens: see [`Context`]). A caller that then replays
/// the corpus through the built-in engine with it (`tests/integration/generate_corpus.rs`)
/// gets the engine's answers computed once, not twice; each case's check is
/// unchanged (the memo holds the engine's own outputs, pure functions of
/// their keys). Its vectors directory is `opts.out_dir`.
pub fn generate_all_keeping_context(opts: &GenerateOptions, progress: &mut dyn FnMut(&str)) -> Result<(GenerateSummary, Context), String> {
    // Directories owned by the generator are rebuilt from scratch, so a case
    // file that is no longer generated cannot linger.
    for d in LEVELS.iter().chain(["models"].iter()) {
        let p = opts.out_dir.join(d);
        if p.exists() {
            std::fs::remove_dir_all(&p).map_err(|e| format!("cannot remove {}: {e}", p.display()))?;
        }
    }
    if opts.suites_dir.exists() {
        std::fs::remove_dir_all(&opts.suites_dir)
            .map_err(|e| format!("cannot remove {}: {e}", opts.suites_dir.display()))?;
    }

    let synthetic = synthetic::write_models(&opts.out_dir.join("models"), progress)?;
    let ctx = Context::new(opts.models_dir.clone(), opts.out_dir.clone(), opts.corpus_dir.clone());
    let mut g = Gen::new(ctx, progress);

    primitives::generate(&mut g)?;
    tables::generate(&mut g, &synthetic)?;
    layers::generate(&mut g)?;
    models::generate(&mut g, &synthetic)?;
    files::generate(&mut g, &synthetic, &opts.corpus_dir)?;

    let summary = suites::write_all(&mut g, opts, &synthetic)?;
    Ok((summary, g.ctx))
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_cuts_on_a_character_boundary() {
        // After the opening quote, 2-byte characters start at odd offsets: byte 200 is inside one.
        let v = serde_json::Value::from("é".repeat(300));
        let s = super::short(&v);
        assert_eq!(s.chars().count(), 201); // 200 characters (the opening quote counts) and the ellipsis
        assert!(s.ends_with('…'));
        assert_eq!(super::short(&serde_json::Value::from("abc")), "\"abc\"");
    }
}
