//! The runner: `run` (suites against an implementation) and `score` (files
//! another implementation wrote), each returning the JSON report as a dict —
//! the same `report.json` the `czip-conformance` commands write, through
//! the same library calls (`runner::whole_run::run_to_report`,
//! `score::score_selected`).

use std::path::PathBuf;

use pyo3::prelude::*;

use crate::convert::json_to_py;
use crate::engine::models_dir;
use crate::errors::input;
use czip::conformance::implementation::{from_manifest, resolve, Builtin, Implementation, Named};
use czip::conformance::ops::Context;
use czip::conformance::report::{Provenance, VerdictPolicy};

fn context(vectors: PathBuf, models: Option<PathBuf>, corpus: Option<PathBuf>) -> Context {
    let corpus = corpus.unwrap_or_else(|| std::env::var_os("CZIP_CORPUS_DIR").map_or_else(|| PathBuf::from("../shared/golden/corpus"), PathBuf::from));
    Context::new(models.unwrap_or_else(models_dir), vectors, corpus)
}

/// Runs suites against an implementation, like `czip-conformance run`:
/// `impl` is `"rust"` (the engine in process) or an implementation manifest
/// (a `.toml` path, or a name found as `impls/NAME.toml` /
/// `$CZIP_IMPLS_PATH`); `suites` a list of suite names (default: all).
/// Cases come from `vectors` and `suites_dir` (a checkout's `vectors/` and
/// `suites/`); models from `models_dir` (default `$CZIP_MODELS_DIR`, else
/// `../shared/models`), texts from `corpus_dir` (`$CZIP_CORPUS_DIR`, else
/// `../shared/golden/corpus`). With `report_dir`, report.json, report.md
/// and junit.xml are written there too. Returns report.json as a dict.
#[pyfunction]
#[pyo3(signature = (r#impl="rust", suites=None, *, cases=None, vectors="vectors".into(), suites_dir="suites".into(), models_dir=None, corpus_dir=None, report_dir=None, allow_partial=false, max_localize=20))]
#[allow(clippy::too_many_arguments)]
pub fn run<'py>(
    py: Python<'py>,
    r#impl: &str,
    suites: Option<Vec<String>>,
    cases: Option<Vec<String>>,
    vectors: PathBuf,
    suites_dir: PathBuf,
    models_dir: Option<PathBuf>,
    corpus_dir: Option<PathBuf>,
    report_dir: Option<PathBuf>,
    allow_partial: bool,
    max_localize: usize,
) -> PyResult<Bound<'py, PyAny>> {
    use czip::conformance::runner::whole_run::run_to_report;
    use czip::conformance::select::select;
    use czip::conformance::suite::{load_cases, load_suites};
    let name = r#impl.to_string();
    let json = py
        .detach(move || -> Result<String, String> {
            let ctx = || context(vectors.clone(), models_dir.clone(), corpus_dir.clone());
            let all = load_cases(&vectors)?;
            let suite_list = load_suites(&suites_dir, &all)?;
            let selection = select(&all, &suite_list, &suites.unwrap_or_default(), &cases.unwrap_or_default())?;
            let chosen: Vec<_> = selection.cases.iter().map(|&i| all[i].clone()).collect();
            let mut imp: Box<dyn Implementation> = match resolve(&name)? {
                Named::Rust => Box::new(Builtin::new(ctx())),
                Named::Manifest(path) => from_manifest(&path, ctx(), None, None)?,
                Named::Python => return Err("impl \"python\" (the public package through its adapter) runs from the command line: czip-conformance run --impl python".into()),
            };
            let done = run_to_report(imp.as_mut(), &ctx(), &chosen, selection.suites, VerdictPolicy { allow_partial }, max_localize, &|_| {}, &|_, _| {});
            if let Some(dir) = report_dir {
                done.report.write(&dir, &done.results, &done.suites)?;
            }
            Ok(done.report.to_json())
        })
        .map_err(input)?;
    json_to_py(py, &serde_json::from_str(&json).map_err(|e| input(e.to_string()))?)
}

/// Scores the `.czip` files under `files_dir` (a file, or a directory
/// searched recursively), named after the texts of `corpus_dir`, like
/// `czip-conformance score --impl-name IMPL_NAME --files FILES_DIR`.
/// `model`: for files whose `model_id_hash` names no published model.
/// Returns report.json as a dict (also written to `report_dir` when given).
#[pyfunction]
#[pyo3(signature = (files_dir, corpus_dir, *, impl_name="python".to_string(), model="v001".to_string(), models_dir=None, report_dir=None))]
pub fn score<'py>(
    py: Python<'py>,
    files_dir: PathBuf,
    corpus_dir: PathBuf,
    impl_name: String,
    model: String,
    models_dir: Option<PathBuf>,
    report_dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    use czip::conformance::score::{score_selected, select_files, ScoreOptions};
    if !matches!(model.as_str(), "v000" | "v001") {
        return Err(input(format!("model {model:?}: expected \"v000\" or \"v001\"")));
    }
    let json = py
        .detach(move || -> Result<String, String> {
            let ctx = context(PathBuf::from("vectors"), models_dir, Some(corpus_dir));
            let files = select_files(std::slice::from_ref(&files_dir))?;
            let opts = ScoreOptions { impl_name, files_dir, default_model: model };
            let started = std::time::Instant::now();
            let (mut report, results, suites) = score_selected(&ctx, &opts, files)?;
            report.provenance = Some(Provenance::collect(&ctx, false, started.elapsed()));
            if let Some(dir) = report_dir {
                report.write(&dir, &results, &suites)?;
            }
            Ok(report.to_json())
        })
        .map_err(input)?;
    json_to_py(py, &serde_json::from_str(&json).map_err(|e| input(e.to_string()))?)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(score, m)?)?;
    Ok(())
}
