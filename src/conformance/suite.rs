//! Loading the corpus (`vectors/manifest.json` and its case files) and the
//! suites (`suites/*.json`) that group its cases.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::case::{from_jsonl, Case};

/// A named group of cases (indices into the loaded corpus).
#[derive(Debug, Clone, PartialEq)]
pub struct Suite {
    pub name: String,
    pub description: String,
    /// Required suites decide the verdict; optional ones are reported only.
    pub required: bool,
    pub cases: Vec<usize>,
}

/// Reads every case file listed in `vectors/manifest.json`, in order.
pub fn load_cases(vectors_dir: &Path) -> Result<Vec<Case>, String> {
    let mpath = vectors_dir.join("manifest.json");
    let text = std::fs::read_to_string(&mpath)
        .map_err(|e| format!("cannot read {} ({e}); run `czip-conformance generate` or pass --vectors DIR", mpath.display()))?;
    let manifest: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", mpath.display()))?;
    let files = manifest.get("files").and_then(Value::as_array).ok_or_else(|| format!("{}: no \"files\" list", mpath.display()))?;
    let mut cases = Vec::new();
    for f in files {
        let rel = f.get("path").and_then(Value::as_str).ok_or_else(|| format!("{}: file entry without path", mpath.display()))?;
        let p = vectors_dir.join(rel);
        let body = std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        cases.extend(from_jsonl(&body, &p.display().to_string())?);
    }
    let mut seen = BTreeMap::new();
    for (i, c) in cases.iter().enumerate() {
        if let Some(j) = seen.insert(c.id.clone(), i) {
            return Err(format!("case id {} appears twice (cases {j} and {i})", c.id));
        }
    }
    Ok(cases)
}

/// Reads `suites/*.json` (sorted by name). A suite file is
/// `{"name", "description", "required": bool, "cases": [ids…]}`.
/// Without a suites directory, one required suite `all` holds every case.
pub fn load_suites(suites_dir: &Path, cases: &[Case]) -> Result<Vec<Suite>, String> {
    let index: BTreeMap<&str, usize> = cases.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    let mut files: Vec<_> = match std::fs::read_dir(suites_dir) {
        Ok(rd) => rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    if files.is_empty() {
        return Ok(vec![Suite { name: "all".into(), description: "every case".into(), required: true, cases: (0..cases.len()).collect() }]);
    }
    let mut suites = Vec::new();
    for p in files {
        let text = std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?;
        let name = v.get("name").and_then(Value::as_str).ok_or_else(|| format!("{}: no name", p.display()))?;
        let ids = v.get("cases").and_then(Value::as_array).ok_or_else(|| format!("{}: no cases list", p.display()))?;
        let mut idx = Vec::with_capacity(ids.len());
        for id in ids {
            let id = id.as_str().unwrap_or_default();
            idx.push(*index.get(id).ok_or_else(|| format!("{}: unknown case id {id}", p.display()))?);
        }
        suites.push(Suite {
            name: name.to_string(),
            description: v.get("description").and_then(Value::as_str).unwrap_or_default().to_string(),
            required: v.get("required").and_then(Value::as_bool).unwrap_or(true),
            cases: idx,
        });
    }
    Ok(suites)
}
