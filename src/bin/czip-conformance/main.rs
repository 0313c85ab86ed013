//! `czip-conformance`: scores any implementation of CZIP v1 against the
//! golden corpus, bit for bit, and says where it first departs.
//!
//! Exit codes: 0 every required case passed; 1 a required case failed (or
//! the run could not be done); 2 usage error.

mod serve;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use czip::conformance::localize;
use czip::conformance::implementation::{from_manifest, Builtin, Implementation, ProcessAdapter};
use czip::conformance::ops::Context;
use czip::conformance::report::Report;
use czip::conformance::runner::run_cases;
use czip::conformance::suite::{load_cases, load_suites};

#[derive(Parser)]
#[command(
    name = "czip-conformance",
    version,
    about = "Score an implementation of CZIP v1 for bit-exact agreement",
    long_about = "Score an implementation of CZIP v1 for bit-exact agreement with the reference engine.\n\n\
The golden corpus (vectors/) holds cases for every level of the stack: primitives, tables, layers, \
model steps, coder chunks and whole files. Suites (suites/) group them; an implementation declares \
the features it supports and is scored on those (the rest is reported as unsupported).\n\n\
Examples:\n  czip-conformance list\n  czip-conformance run --impl rust\n  \
czip-conformance run --impl python --suite core\n  czip-conformance run --impl ./my-cuda.toml --report reports/cuda\n  \
czip-conformance score --impl-name cuda --files ./cuda-out/ --report reports/cuda-files\n\n\
Exit status: 0 when every required case passes, 1 otherwise, 2 for usage errors."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Args, Clone)]
struct Paths {
    /// The golden corpus.
    #[arg(long, default_value = "vectors", value_name = "DIR")]
    vectors: PathBuf,
    /// Suite manifests.
    #[arg(long, default_value = "suites", value_name = "DIR")]
    suites_dir: PathBuf,
    /// The published models (v000_eng.czm, v001_eng.czm). Default: $CZIP_MODELS_DIR or ../shared/models.
    #[arg(long, value_name = "DIR")]
    models_dir: Option<PathBuf>,
    /// The corpus texts named by file cases. Default: $CZIP_CORPUS_DIR or ../shared/golden/corpus.
    #[arg(long, value_name = "DIR")]
    corpus: Option<PathBuf>,
}

impl Paths {
    fn context(&self) -> Context {
        let env_or = |var: &str, default: &str| std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default));
        Context::new(
            self.models_dir.clone().unwrap_or_else(|| env_or("CZIP_MODELS_DIR", "../shared/models")),
            self.vectors.clone(),
            self.corpus.clone().unwrap_or_else(|| env_or("CZIP_CORPUS_DIR", "../shared/golden/corpus")),
        )
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Write the whole golden corpus (vectors/), its synthetic models and the
    /// suites (suites/), deterministically from fixed seeds.
    Generate {
        #[command(flatten)]
        paths: Paths,
    },
    /// List the suites and their case counts.
    List {
        #[command(flatten)]
        paths: Paths,
    },
    /// Run suites against an implementation and write reports.
    Run(RunArgs),
    /// Score .czip files another implementation produced (named after the corpus texts).
    Score(ScoreArgs),
    /// Speak the adapter protocol on stdin/stdout for the built-in engine.
    Serve {
        /// Inject a deliberate fault (for testing runners): udiv-round-up, clamp-128, wrap-accumulator.
        #[arg(long, value_name = "NAME")]
        fault: Option<String>,
    },
}

#[derive(Args)]
struct ScoreArgs {
    /// Name of the implementation that produced the files (for the report).
    #[arg(long = "impl-name", value_name = "NAME")]
    impl_name: String,
    /// Directory of `<corpus text>.czip` files.
    #[arg(long, value_name = "DIR")]
    files: PathBuf,
    #[command(flatten)]
    paths: Paths,
    /// Model for files whose model_id_hash is not a known one: v000 or v001.
    #[arg(long, default_value = "v001", value_parser = ["v000", "v001"])]
    model: String,
    /// Where to write report.json, report.md and junit.xml.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    /// `rust` (built-in engine), `python` (the public package through adapters/python),
    /// or a path to an implementation manifest (TOML).
    #[arg(long = "impl", value_name = "NAME")]
    implementation: String,
    /// Suites to run (default: all).
    #[arg(long = "suite", value_name = "S")]
    suite: Vec<String>,
    #[command(flatten)]
    paths: Paths,
    /// Where to write report.json, report.md and junit.xml (nothing written when absent).
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Seconds to wait for one answer from an external implementation.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Matrix kernel of the built-in engine (scalar, avx2, avx512; default: the
    /// fastest this CPU runs). Answers are identical for every kernel; forcing
    /// one lets ci/coverage.sh reach each of them.
    #[arg(long, value_name = "K")]
    kernel: Option<czip::model::kernels::Kernel>,    /// Keep every case's input, output, stdout and stderr in DIR, named by
    /// case id, with `<case id>.sh` and `commands.sh` to re-run them by hand
    /// (manifests with [templates] only).
    #[arg(long, value_name = "DIR")]
    keep_outputs: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.command {
        Cmd::List { paths } => list(&paths),
        Cmd::Generate { paths } => generate(&paths),
        Cmd::Run(a) => run(&a),
        Cmd::Score(a) => score(&a),
        Cmd::Serve { fault } => serve::serve(fault.as_deref()),
    };
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("czip-conformance: {e}");
            ExitCode::from(1)
        }
    }
}

fn list(paths: &Paths) -> Result<bool, String> {
    let cases = load_cases(&paths.vectors)?;
    let suites = load_suites(&paths.suites_dir, &cases)?;
    println!("{:<16} {:>6} {:>9}  description", "suite", "cases", "required");
    for s in &suites {
        println!("{:<16} {:>6} {:>9}  {}", s.name, s.cases.len(), if s.required { "yes" } else { "no" }, s.description);
    }
    println!("{} cases in {}", cases.len(), paths.vectors.display());
    Ok(true)
}

/// Opens the implementation named on the command line.
fn open_impl(name: &str, paths: &Paths, timeout: u64, keep_outputs: Option<&std::path::Path>) -> Result<Box<dyn Implementation>, String> {
    let timeout = std::time::Duration::from_secs(timeout);
    if keep_outputs.is_some() && !name.ends_with(".toml") {
        return Err(format!("--keep-outputs applies to implementation manifests with [templates], not --impl {name}"));
    }
    match name {
        "rust" => Ok(Box::new(Builtin::new(paths.context()))),
        "python" => {
            let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("adapters/python/czip_adapter.py");
            let argv = vec!["python3".to_string(), script.display().to_string()];
            let a = ProcessAdapter::spawn(&argv, &[], timeout, &paths.context())?;
            if a.hello.get("importable") == Some(&serde_json::Value::Bool(false)) {
                return Err(format!(
                    "the Python package compress_zip is not importable ({}). Install it from its source tree with `pip install -e <path to compress-zip/python>` (see adapters/python/README.md), then run again; `python3 {} --check` tells whether it imports",
                    a.hello.get("import_error").and_then(serde_json::Value::as_str).unwrap_or("unknown error"),
                    script.display()
                ));
            }
            Ok(Box::new(a))
        }
        path if path.ends_with(".toml") => from_manifest(std::path::Path::new(path), paths.context(), keep_outputs),
        other => Err(format!("--impl {other}: expected rust, python or a path to an implementation manifest (.toml)")),
    }
}

fn run(a: &RunArgs) -> Result<bool, String> {
    if let Some(k) = a.kernel {
        czip::model::kernels::Kernel::set_default(k)?;
    }
    let all_cases = load_cases(&a.paths.vectors)?;
    let mut suites = load_suites(&a.paths.suites_dir, &all_cases)?;
    if !a.suite.is_empty() {
        for s in &a.suite {
            if !suites.iter().any(|x| &x.name == s) {
                let names: Vec<_> = suites.iter().map(|x| x.name.as_str()).collect();
                return Err(format!("no suite {s:?} (have: {})", names.join(", ")));
            }
        }
        suites.retain(|x| a.suite.contains(&x.name));
    }
    // Run each selected case once, in corpus order.
    let mut selected: Vec<usize> = suites.iter().flat_map(|s| s.cases.iter().copied()).collect();
    selected.sort_unstable();
    selected.dedup();
    let cases: Vec<_> = selected.iter().map(|&i| all_cases[i].clone()).collect();
    let pos = |i: usize| selected.binary_search(&i).unwrap_or(0);

    let mut imp = open_impl(&a.implementation, &a.paths, a.timeout, a.keep_outputs.as_deref())?;
    let ctx = a.paths.context();
    let tty = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let results = run_cases(imp.as_mut(), &ctx, &cases, &|d, t| {
        if tty && (d % 50 == 0 || d == t) {
            eprint!("\r{d}/{t} cases");
        }
    });
    if tty {
        eprintln!();
    }
    let suite_idx: Vec<(String, bool, Vec<usize>)> =
        suites.iter().map(|s| (s.name.clone(), s.required, s.cases.iter().map(|&i| pos(i)).collect())).collect();
    let mut report = Report::build(imp.name(), imp.features().iter().cloned().collect(), &suite_idx, &results);
    // Localise the first failures down the stack (this asks the implementation again).
    for f in report.failures.iter_mut().take(LOCALISE_AT_MOST) {
        let Some(case) = cases.iter().find(|c| c.id == f.case.id) else { continue };
        let answer = match case.op.as_str() {
            "compress" => match imp.call(&case.op, &case.args) {
                czip::conformance::ops::Outcome::Result(v) => Some(v),
                _ => None,
            },
            _ => None,
        };
        let (lines, known) = localize::localise(imp.as_mut(), &ctx, case, &f.case, answer.as_ref());
        f.localisation = lines;
        if f.known_divergence.is_none() {
            f.known_divergence = known;
        }
    }
    print!("{}", summary_table(&report));
    eprintln!("{} cases in {:.1} s", cases.len(), started.elapsed().as_secs_f64());
    if let Some(dir) = &a.report {
        report.write(dir, &results, &suite_idx)?;
        eprintln!("reports written to {}", dir.display());
    }
    println!("{}", closing_line(&results));
    Ok(report.passed())
}

/// `N passed, N failed, N skipped` over distinct cases (the plain closing line CI systems read).
fn closing_line(results: &[czip::conformance::compare::CaseResult]) -> String {
    use czip::conformance::compare::Status;
    let n = |s: Status| results.iter().filter(|r| r.status == s).count();
    format!("{} passed, {} failed, {} skipped", n(Status::Pass), n(Status::Fail), n(Status::Unsupported) + n(Status::Skipped))
}

/// Failures localised down the stack per run (each may cost a few more requests).
const LOCALISE_AT_MOST: usize = 20;

fn summary_table(r: &Report) -> String {
    let mut s = format!("implementation {} — verdict {}\n", r.implementation, r.verdict.to_uppercase());
    s += &format!("{:<16} {:>6} {:>6} {:>6} {:>11} {:>8} {:>9}\n", "suite", "cases", "pass", "fail", "unsupported", "skipped", "agreement");
    for x in &r.suites {
        s += &format!(
            "{:<16} {:>6} {:>6} {:>6} {:>11} {:>8} {:>8.2}%\n",
            x.name, x.total, x.pass, x.fail, x.unsupported, x.skipped, 100.0 * x.agreement
        );
    }
    for f in r.failures.iter().take(10) {
        s += &format!("FAIL {} ({}, {}): {}\n", f.case.id, f.case.op, f.case.spec, f.case.message);
    }
    if r.failures.len() > 10 {
        s += &format!("… and {} more failures (see the report)\n", r.failures.len() - 10);
    }
    s
}

fn score(a: &ScoreArgs) -> Result<bool, String> {
    use czip::conformance::score::{score, ScoreOptions};
    let ctx = a.paths.context();
    let opts = ScoreOptions { impl_name: a.impl_name.clone(), files_dir: a.files.clone(), default_model: a.model.clone() };
    let (report, results, suites) = score(&ctx, &opts)?;
    print!("{}", summary_table(&report));
    for f in &report.findings {
        println!("finding: {f}");
    }
    if let Some(dir) = &a.report {
        report.write(dir, &results, &suites)?;
        eprintln!("reports written to {}", dir.display());
    }
    println!("{}", closing_line(&results));
    Ok(report.passed())
}

fn generate(paths: &Paths) -> Result<bool, String> {
    use czip::conformance::generate::{generate_all, GenerateOptions};
    let ctx = paths.context();
    let opts = GenerateOptions {
        out_dir: paths.vectors.clone(),
        suites_dir: paths.suites_dir.clone(),
        models_dir: ctx.models_dir.clone(),
        corpus_dir: ctx.corpus_dir.clone(),
    };
    let started = std::time::Instant::now();
    let summary = generate_all(&opts, &mut |msg| eprintln!("{msg}"))?;
    let total: usize = summary.files.iter().map(|(_, n)| n).sum();
    println!("{total} cases in {} files written to {} ({:.0} s)", summary.files.len(), paths.vectors.display(), started.elapsed().as_secs_f64());
    Ok(true)
}
