//! Writes the case files, `manifest.json`, `coverage.md` and the suite
//! manifests (`suites/*.json`, `suites/README.md`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::synthetic::SyntheticModel;
use super::{write, Gen, GenerateOptions, GenerateSummary};
use crate::conformance::case::{sha256_hex, to_jsonl, Case, FORMAT_VERSION};

/// A suite. Which cases it holds is declared by the generators that make
/// them ([`Gen::in_suites`](super::Gen::in_suites)); this only collects.
struct Suite {
    name: &'static str,
    required: bool,
    description: &'static str,
}

fn model_of(c: &Case) -> &str {
    c.args.get("model").and_then(Value::as_str).unwrap_or("")
}
fn is_reject(c: &Case) -> bool {
    c.expect.get("error") == Some(&Value::Bool(true))
}

const SUITES: &[Suite] = &[
    Suite {
        name: "core",
        required: true,
        description: "§1 primitives, §2 table formulas, §5 layers (incl. the attention step), §6 exp and frequency table, §7 coder on explicit tables. Needs no model.",
    },
    Suite {
        name: "model-v000",
        required: true,
        description: "Published model v000 (64-token capacity, no context_length key): stored tables, tokenize, logits, traces, chunks.",
    },
    Suite {
        name: "model-v001",
        required: true,
        description: "Published model v001 (1024-token capacity): stored tables, tokenize, logits (incl. a 1024-token history), traces, chunks up to 1024 tokens.",
    },
    Suite {
        name: "synthetic",
        required: false,
        description: "The generated models of vectors/models (more layers, 1/2/4/8 heads, sink keys, shift <= 0, other θ, stored tables off the formulas, scores large enough to underflow the attention exp, small vocabularies with their own tokenizers): every op on them, files included. Opt-in: it checks generality beyond the published models.",
    },
    Suite {
        name: "files",
        required: true,
        description: "compress / decompress of every corpus text with v001 (levels 1-5) and v000 (capacity), both codecs.",
    },
    Suite {
        name: "reject",
        required: true,
        description: "Inputs every implementation must refuse: invalid UTF-8, levels above capacity, each malformed-container rule of §9, token ids outside the vocabulary, frequency tables with T <= V, coder tables that cannot code the symbol.",
    },
    Suite {
        name: "divergences",
        required: false,
        description: "Every case tagged divergence:* — the separators of the §11 disagreements between upstream implementations. A diagnostic view: most of these cases are also in the suites above.",
    },
];

pub fn write_all(g: &mut Gen, opts: &GenerateOptions, synthetic: &[SyntheticModel]) -> Result<GenerateSummary, String> {
    g.say("writing");
    let mut summary = Vec::new();
    let mut manifest_files = Vec::new();
    for (path, cases) in &g.files {
        let text = to_jsonl(cases);
        write(&opts.out_dir.join(path), text.as_bytes())?;
        manifest_files.push(json!({"path": path, "cases": cases.len(), "sha256": sha256_hex(text.as_bytes())}));
        summary.push((path.clone(), cases.len()));
    }
    let mut models = serde_json::Map::new();
    for m in ["v000", "v001"] {
        let file = format!("{m}_eng.czm");
        let bytes = std::fs::read(opts.models_dir.join(&file)).map_err(|e| format!("cannot read {file}: {e}"))?;
        models.insert(m.into(), json!({"file": file, "sha256": sha256_hex(&bytes), "source": "published"}));
    }
    for s in synthetic {
        models.insert(
            s.model_ref(),
            json!({"file": s.file, "sha256": s.sha256, "source": "generated", "seed": s.seed, "description": s.description()}),
        );
    }
    let manifest = json!({"format": "czip-vectors", "version": FORMAT_VERSION, "files": manifest_files, "models": models});
    write(&opts.out_dir.join("manifest.json"), pretty(&manifest).as_bytes())?;
    write(&opts.out_dir.join("coverage.md"), coverage(&g.files).as_bytes())?;

    for (id, names) in &g.suites_of {
        if let Some(n) = names.iter().find(|n| !SUITES.iter().any(|s| s.name == **n)) {
            return Err(format!("{id}: declared in suite {n}, which does not exist"));
        }
    }
    let mut readme = String::from(SUITES_README_HEAD);
    for s in SUITES {
        let mut ids = Vec::new();
        let mut files = std::collections::BTreeSet::new();
        for (path, cases) in &g.files {
            for c in cases {
                if g.suites_of.get(&c.id).is_some_and(|names| names.contains(&s.name)) {
                    ids.push(c.id.clone());
                    files.insert(path.clone());
                }
            }
        }
        let v = json!({
            "name": s.name,
            "required": s.required,
            "description": s.description,
            "files": files,
            "count": ids.len(),
            "cases": ids,
        });
        write(&opts.suites_dir.join(format!("{}.json", s.name)), pretty(&v).as_bytes())?;
        readme.push_str(&format!("| `{}` | {} | {} | {} |\n", s.name, if s.required { "yes" } else { "no" }, ids.len(), s.description));
    }
    write(&opts.suites_dir.join("README.md"), readme.as_bytes())?;
    Ok(GenerateSummary { files: summary })
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

const SUITES_README_HEAD: &str = "# Suites

Generated by `czip-conformance generate` with `vectors/` (do not edit by hand).

A suite is `suites/<name>.json`:

```json
{\"name\": \"core\", \"required\": true, \"description\": \"…\",
 \"files\": [\"primitive/argmax.jsonl\", …], \"count\": 1234, \"cases\": [\"primitive.argmax.edge.0\", …]}
```

- `cases` lists case ids explicitly (in file order); `files` names the
  `vectors/` files that hold them, so a runner reads only those.
- `required`: whether a default run (no suite named) includes it. A case
  whose `requires` features the implementation does not declare is reported
  *unsupported*, never failed, in every suite.
- Suites overlap: `divergences` is a view across the others. Cases tagged
  `optional` (inputs outside the domain where implementations must agree,
  e.g. `udiv` with a divisor above 2^31) are in no required suite.

| suite | required | cases | what |
|---|---|---|---|
";

fn coverage(files: &BTreeMap<String, Vec<Case>>) -> String {
    let mut by_op: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_spec: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_tag: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_model: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rejects = 0;
    let mut total = 0;
    for cases in files.values() {
        for c in cases {
            total += 1;
            *by_op.entry(&c.op).or_default() += 1;
            *by_spec.entry(&c.spec).or_default() += 1;
            for t in &c.tags {
                if t.starts_with("divergence:") || ["edge", "tie", "random", "optional"].contains(&t.as_str()) {
                    *by_tag.entry(t).or_default() += 1;
                }
            }
            let m = model_of(c);
            if !m.is_empty() {
                *by_model.entry(m).or_default() += 1;
            }
            if is_reject(c) {
                rejects += 1;
            }
        }
    }
    let mut s = format!(
        "# Coverage of the corpus\n\nGenerated by `czip-conformance generate` (do not edit). {total} cases in {} files, {rejects} of them must be refused.\n\n",
        files.len()
    );
    let table = |title: &str, head: &str, m: &BTreeMap<&str, usize>| {
        let mut t = format!("## {title}\n\n| {head} | cases |\n|---|---|\n");
        for (k, v) in m {
            t.push_str(&format!("| `{k}` | {v} |\n"));
        }
        t.push('\n');
        t
    };
    s.push_str(&table("Per spec section", "section", &by_spec));
    s.push_str(&table("Per op", "op", &by_op));
    s.push_str(&table("Per model", "model", &by_model));
    s.push_str(&table("Per tag", "tag", &by_tag));
    let per_file: BTreeMap<&str, usize> = files.iter().map(|(k, v)| (k.as_str(), v.len())).collect();
    s.push_str(&table("Per file", "file", &per_file));
    s
}
