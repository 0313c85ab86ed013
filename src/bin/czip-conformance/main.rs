//! `czip-conformance`: scores any implementation of CZIP v1 against the
//! golden corpus, bit for bit, and says where it first departs.
//!
//! Exit codes: 0 every required case passed; 1 a required case failed (or
//! the run could not be done); 2 usage error; 141 stdout was closed (see
//! `stdout.rs`).

mod dumps;
mod fuzz;
mod impls;
mod python;
mod serve;
mod stdout;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use czip::conformance::implementation::{from_manifest, resolve, Builtin, Implementation, Manifest, Named, DEFAULT_TIMEOUT_SECS};
use czip::conformance::compare::CaseResult;
use czip::conformance::ops::Context;
use czip::conformance::report::{Provenance, Report, VerdictPolicy};
use czip::conformance::runner::progress::{Redraw, CLEAR};
use czip::conformance::runner::whole_run::run_to_report;
use czip::conformance::select::select;
use czip::conformance::suite::{load_cases, load_suites};
use stdout::{out, outln};

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
czip-conformance run --impl python --suite core reject\n  czip-conformance impls\n  \
CZIP_CUDA_BIN=./build/czip-cuda czip-conformance run --impl cuda --suite files\n  \
czip-conformance run --impl ./my-cuda.toml --report reports/cuda\n  \
czip-conformance score --impl-name cuda --files ./cuda-out/ --report reports/cuda-files\n  \
czip-conformance fuzz --impl python --op udiv_rne_tte_u32,clamp_i8 --cases 500 --out fuzz-out\n  \
echo '{\"id\":1,\"op\":\"clamp_i8\",\"args\":{\"x\":300}}' | czip-conformance serve\n\n\
Exit status: 0 when every required case passes, 1 otherwise, 2 for usage errors, 141 when stdout was closed early."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Args, Clone)]
struct Paths {
    #[command(flatten)]
    data: DataPaths,
    /// Suite manifests.
    #[arg(long, default_value = "suites", value_name = "DIR")]
    suites_dir: PathBuf,
}

impl Paths {
    fn context(&self) -> Context {
        self.data.context()
    }
}

/// Where the models and texts that cases name are found.
#[derive(Args, Clone)]
struct DataPaths {
    /// The golden corpus (its models/ holds the synthetic models).
    #[arg(long, default_value = "vectors", value_name = "DIR")]
    vectors: PathBuf,
    /// The published models (v000_eng.czm, v001_eng.czm). Default: $CZIP_MODELS_DIR or ../shared/models.
    #[arg(long, value_name = "DIR")]
    models_dir: Option<PathBuf>,
    /// The corpus texts named by file cases. Default: $CZIP_CORPUS_DIR or ../shared/golden/corpus.
    #[arg(long, value_name = "DIR")]
    corpus: Option<PathBuf>,
}

impl DataPaths {
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
    ///
    /// An external implementation gets one request at a time. An adapter that
    /// dies on a case (no answer within --timeout, exits, closes its stdout,
    /// prints a line that is not an answer, answers with another request's
    /// id) fails that case with the reason: its exit status or signal and
    /// last stderr lines, `printed junk: <line>`, `timed out after N s`. Its
    /// whole process group is ended and the next case gets a fresh process
    /// (started again, with a new hello). After 3 deaths on consecutive cases
    /// the run stops with `stopping: the implementation died on 3 consecutive
    /// cases (<last reason>)`: the cases left are skipped as not run, the
    /// verdict is FAIL (exit 1), and the reports are still written.
    ///
    /// Failed file and model cases are then localised down the stack (file →
    /// chunk → token → logits → layer), at most --max-localize of them.
    ///
    /// When stderr is a terminal, one progress line is redrawn in place: cases
    /// done / total, the current suite, failures so far, the time left.
    Run(RunArgs),
    /// List the implementations `--impl` can name, their features, and
    /// whether each can run here (if not, the one thing missing).
    ///
    /// Known: rust, python, impls/*.toml under the current directory, and
    /// *.toml in each directory of $CZIP_IMPLS_PATH (colon-separated).
    /// Adapters are started for their `hello` (their features come from it).
    Impls {
        #[command(flatten)]
        paths: DataPaths,
    },
    /// Score .czip files another implementation produced (named after the corpus texts).
    ///
    /// With --shard I/N only every N-th file is scored (see --shard); the
    /// report of each shard keeps its files' entries, and `merge-reports`
    /// turns the N shard reports into the report of one run over all files.
    Score(ScoreArgs),
    /// Merge the reports of a split score run into the whole run's report.
    ///
    /// Each DIR holds a shard report written by `score --shard I/N --report DIR`
    /// (or an entries.jsonl, one file entry per line, as scale/ray_score.py
    /// writes them). Writes report.json, report.md and junit.xml to --report:
    /// the same files one `score` run over all the files writes, apart from
    /// the timings (provenance.date: the latest part's; provenance.elapsed_s:
    /// the parts' sum; time_us: each file's own).
    ///
    /// Refuses parts of different implementations, models, corpus texts,
    /// czip-conformance builds or --model, shards of different splits, an
    /// incomplete split, and a file in two parts.
    ///
    /// Example (three machines, then one):
    ///   czip-conformance score --impl-name cuda --files out/ --shard 1/3 --report r1
    ///   czip-conformance score --impl-name cuda --files out/ --shard 2/3 --report r2
    ///   czip-conformance score --impl-name cuda --files out/ --shard 3/3 --report r3
    ///   czip-conformance merge-reports r1 r2 r3 --report merged
    ///
    /// Exit status: 0 when the merged verdict passes, 1 when it fails or the
    /// parts cannot be merged, 2 for usage errors.
    MergeReports(MergeArgs),
    /// Speak the adapter protocol (adapters/PROTOCOL.md) on stdin/stdout for the built-in engine.
    ///
    /// One JSON request per line on stdin, one JSON answer per line on stdout;
    /// exits 0 at the end of stdin. The directories below are where models and
    /// texts are looked for until a `hello` request names others.
    ///
    /// Example: echo '{"id":1,"op":"clamp_i8","args":{"x":300}}' | czip-conformance serve
    Serve {
        /// Inject a deliberate fault (for testing runners): udiv-round-up, clamp-128,
        /// wrap-accumulator, round-half-up, fp16-accumulate (adapters/DUMPS.md says what each changes).
        #[arg(long, value_name = "NAME")]
        fault: Option<String>,
        #[command(flatten)]
        paths: DataPaths,
    },
    /// Write the reference's tensor dump of one chunk (adapters/DUMPS.md).
    ///
    /// Every layer's stages, the logits and the frequency tables at each
    /// position of the chunk, as one safetensors file. Dump the same chunk
    /// from your build and compare the two with `compare-dumps`.
    ///
    /// Example: czip-conformance dump --model v001 --text alice_ch1.txt --level 1 --chunk 45 -o ref.safetensors
    Dump(dumps::DumpArgs),
    /// Compare an implementation's tensor dump with the reference's.
    ///
    /// Names the first differing tensor in pipeline order, then position, then
    /// element, with both values and the spec §11 cause when the reference's
    /// witness shows one. Tensors IMPL did not dump are listed, not failed.
    /// Exit 0 only when every tensor present in both is identical.
    ///
    /// Example: czip-conformance compare-dumps ref.safetensors mine.safetensors --report dump-report/
    CompareDumps(dumps::CompareArgs),
    /// Differential fuzzing: cases the corpus lacks, compared with the reference; disagreements shrunk.
    ///
    /// Draws cases for every op the implementation declares (or --op), biased
    /// to each op's edges (rounding ties at every shift, ±2^k±1, extremes, zero
    /// divisors, equal and distinct logits, late maxima, long repeated
    /// attention runs, texts mixing scripts, emoji, controls and specials),
    /// sends them as `run` does (same adapters, timeout and restart rules) and
    /// compares each answer with the reference's. Each distinct disagreement
    /// (op + cause) is shrunk to a minimal case — smaller integers (toward 0,
    /// toward a power of two), shorter arrays, fewer tokens, steps and heads,
    /// shorter texts — and written with its seed in the vectors/ case format.
    /// Case i depends only on --seed and i: `--cases N` is deterministic, and a
    /// --seconds run that tried N cases is reproduced by `--cases N`. Exit 1 if
    /// any disagreement was found.
    ///
    /// Example: czip-conformance fuzz --impl ./serve.toml --op udiv_rne_tte_u32 --cases 2000 --out fuzz-out/
    Fuzz(fuzz::FuzzArgs),
}

#[derive(Args)]
struct ScoreArgs {
    /// Name of the implementation that produced the files (for the report).
    #[arg(long = "impl-name", value_name = "NAME")]
    impl_name: String,
    /// `<corpus text>.czip` files, or directories searched recursively for them
    /// (scored in sorted path order).
    #[arg(long, value_name = "PATH", num_args = 1.., required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    paths: Paths,
    /// Model for files whose model_id_hash is not a known one: v000 or v001, or
    /// the path of a copy of one of those two published models (recognised by
    /// its content; loaded from --models-dir).
    #[arg(long, default_value = "v001", value_name = "NAME|PATH")]
    model: String,
    /// Where to write report.json, report.md and junit.xml.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Score only shard I of N (1 ≤ I ≤ N): the files are selected and sorted
    /// as for a whole run, and file k (0, 1, …) of that list belongs to shard
    /// k mod N + 1 — the same split on every machine given the same --files.
    /// The report keeps the shard's file entries for `merge-reports`.
    #[arg(long, value_name = "I/N", value_parser = czip::conformance::shard::Shard::parse)]
    shard: Option<czip::conformance::shard::Shard>,
}

#[derive(Args)]
struct MergeArgs {
    /// The parts: directories holding a shard report (report.json of
    /// `score --shard`) or an entries.jsonl.
    #[arg(value_name = "DIR", num_args = 1.., required = true)]
    dirs: Vec<PathBuf>,
    /// Where to write the merged report.json, report.md and junit.xml.
    #[arg(long, value_name = "DIR")]
    report: PathBuf,
    /// Name of the implementation: required when a part is an entries.jsonl;
    /// shard reports must name the same one.
    #[arg(long = "impl-name", value_name = "NAME")]
    impl_name: Option<String>,
    /// Models and corpus texts of this machine: an entries.jsonl part's
    /// provenance (and checked against the shard reports').
    #[command(flatten)]
    paths: DataPaths,
}

#[derive(Args)]
struct RunArgs {
    /// `rust` (built-in engine), `python` (the public package through
    /// adapters/python), a path to an implementation manifest (TOML), or the
    /// name of one: impls/NAME.toml, then NAME.toml in each directory of
    /// $CZIP_IMPLS_PATH (`cuda`, `cuda-adapter`, `cpp-example`;
    /// `czip-conformance impls` lists them).
    #[arg(long = "impl", value_name = "NAME")]
    implementation: String,
    /// Suites to run (default: all): `--suite core reject`, `--suite core --suite reject`
    /// or `--suite core,reject`. `czip-conformance list` names them.
    #[arg(long = "suite", value_name = "S", num_args = 1.., value_delimiter = ',')]
    suite: Vec<String>,
    /// Also run the cases whose id matches GLOB (`*` any run of characters,
    /// `?` one character; repeatable). With --suite, the run is the union of
    /// the suites and the matching cases; without it, only the matching
    /// cases. A glob that matches no case is a usage error. Example:
    /// --case 'file.*.v001.L1.brotli.alice_ch1_txt'
    #[arg(long = "case", value_name = "GLOB")]
    case: Vec<String>,
    #[command(flatten)]
    paths: Paths,
    /// Where to write report.json, report.md and junit.xml (nothing written when absent).
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Seconds to wait for one answer from an external implementation
    /// (default: the manifest's timeout_secs, else 600). An adapter that does
    /// not answer in time is stopped and restarted for the next case.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
    /// How many failed file and model cases to localise down the stack, root
    /// cause first (0: every one). Localising asks the implementation again,
    /// which can take minutes per file case; the others say
    /// "not localised (--max-localize N)".
    #[arg(long, value_name = "N", default_value_t = 20)]
    max_localize: usize,
    /// Matrix kernel of the built-in engine (scalar, avx2, avx512; default: the
    /// fastest this CPU runs). Answers are identical for every kernel; forcing
    /// one lets ci/coverage.sh reach each of them.
    #[arg(long, value_name = "K", value_parser = czip::model::kernels::Kernel::parse_available)]
    kernel: Option<czip::model::kernels::Kernel>,
    /// Accept unsupported cases in required suites: the verdict is then
    /// PARTIAL (exit 0), never PASS. Failures, skipped cases and a required
    /// suite with no pass still fail the run.
    #[arg(long)]
    allow_partial: bool,
    /// Keep every case's input, output, stdout and stderr in DIR, named by
    /// case id, with `<case id>.sh` and `commands.sh` to re-run them by hand
    /// (manifests with [templates] only).
    #[arg(long, value_name = "DIR")]
    keep_outputs: Option<PathBuf>,
}

/// Why a command stopped without a verdict.
enum Failure {
    /// The command line asks for something that does not exist or cannot be
    /// done (exit 2, like clap's own usage errors).
    Usage(String),
    /// The work failed: unreadable corpus, an implementation that cannot be
    /// started, a report that cannot be written (exit 1).
    Run(String),
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Failure::Run(e)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.command {
        Cmd::List { paths } => list(&paths),
        Cmd::Generate { paths } => generate(&paths),
        Cmd::Run(a) => run(&a),
        Cmd::Impls { paths } => impls::list(&paths.context()),
        Cmd::Score(a) => score(&a),
        Cmd::MergeReports(a) => merge_reports(&a),
        Cmd::Serve { fault, paths } => serve::serve(fault.as_deref(), paths.context()),
        Cmd::Dump(a) => dumps::dump(&a),
        Cmd::CompareDumps(a) => dumps::compare_dumps(&a),
        Cmd::Fuzz(a) => fuzz::fuzz(&a),
    };
    let status = match r {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(Failure::Usage(e)) => {
            eprintln!("czip-conformance: {e}");
            2
        }
        Err(Failure::Run(e)) => {
            eprintln!("czip-conformance: {e}");
            1
        }
    };
    ExitCode::from(stdout::failed_status().unwrap_or(status))
}

fn list(paths: &Paths) -> Result<bool, Failure> {
    let cases = load_cases(&paths.data.vectors)?;
    let suites = load_suites(&paths.suites_dir, &cases)?;
    outln(&format!("{:<16} {:>6} {:>9}  description", "suite", "cases", "required"));
    for s in &suites {
        outln(&format!("{:<16} {:>6} {:>9}  {}", s.name, s.cases.len(), if s.required { "yes" } else { "no" }, s.description));
    }
    outln(&format!("{} cases in {}", cases.len(), paths.data.vectors.display()));
    Ok(true)
}

/// Opens the implementation named on the command line
/// (`czip::conformance::implementation::named` has the resolution order).
/// `timeout` (`run --timeout`) replaces a manifest's own.
fn open_impl(name: &str, ctx: Context, timeout: Option<u64>, keep_outputs: Option<&std::path::Path>) -> Result<Box<dyn Implementation>, Failure> {
    let timeout = timeout.map(std::time::Duration::from_secs);
    let which = resolve(name).map_err(Failure::Usage)?;
    if let (Some(_), Named::Rust | Named::Python) = (keep_outputs, &which) {
        return Err(Failure::Usage(format!("--keep-outputs applies to implementation manifests with [templates], not --impl {name}")));
    }
    match which {
        Named::Rust => Ok(Box::new(Builtin::new(ctx))),
        Named::Python => Ok(python::open(&ctx, timeout.unwrap_or(std::time::Duration::from_secs(DEFAULT_TIMEOUT_SECS)))?),
        Named::Manifest(path) => {
            // A variable the manifest needs is part of the command line.
            if let Some(missing) = Manifest::load(&path).ok().and_then(|m| m.missing_variable()) {
                return Err(Failure::Usage(format!(
                    "--impl {name}: {missing} ({} needs it); `czip-conformance impls` lists every implementation and what it needs",
                    path.display()
                )));
            }
            Ok(from_manifest(&path, ctx, keep_outputs, timeout)?)
        }
    }
}

fn run(a: &RunArgs) -> Result<bool, Failure> {
    // --kernel: the built-in engine's, a field of its context.
    let context = || {
        let ctx = a.paths.context();
        match a.kernel {
            Some(k) => ctx.with_kernel(k),
            None => ctx,
        }
    };
    let all_cases = load_cases(&a.paths.data.vectors)?;
    let suites = load_suites(&a.paths.suites_dir, &all_cases)?;
    // Each selected case runs once, in corpus order.
    let selection = select(&all_cases, &suites, &a.suite, &a.case).map_err(Failure::Usage)?;
    let cases: Vec<_> = selection.cases.iter().map(|&i| all_cases[i].clone()).collect();

    let mut imp = open_impl(&a.implementation, context(), a.timeout, a.keep_outputs.as_deref())?;
    let ctx = context();
    // The progress line names the first selected suite that lists the case.
    let mut suite_of = vec![""; cases.len()];
    for (name, _, positions) in selection.suites.iter().rev() {
        for &i in positions {
            suite_of[i] = name;
        }
    }
    let tty = std::io::stderr().is_terminal();
    let redraw = Redraw::default();
    let started = std::time::Instant::now();
    let policy = VerdictPolicy { allow_partial: a.allow_partial };
    let watch = |t: &czip::conformance::runner::Tick| {
        if !tty {
            return;
        }
        if let Some(text) = redraw.text(t, suite_of[t.index]) {
            eprint!("{text}");
        }
    };
    let localising = |i: usize, n: usize| {
        if tty {
            eprint!("{CLEAR}localising failure {i}/{n}");
        }
    };
    let done = run_to_report(imp.as_mut(), &ctx, &cases, selection.suites.clone(), policy, a.max_localize, &watch, &localising);
    if tty {
        eprint!("{CLEAR}");
    }
    if let Some(why) = &done.report.stopped {
        eprintln!("stopping: {why}");
    }
    eprintln!("{} cases in {:.1} s", cases.len(), started.elapsed().as_secs_f64());
    publish(&done.report, &[], a.report.as_deref(), &done.results, &done.suites)
}

/// Prints `report` (then `lines`) on stdout, writes its three files to `dir`
/// when asked, and ends with the closing line; true when it passed.
fn publish(report: &Report, lines: &[String], dir: Option<&std::path::Path>, results: &[CaseResult], suites: &[(String, bool, Vec<usize>)]) -> Result<bool, Failure> {
    out(&report.to_terminal());
    for l in lines {
        outln(l);
    }
    if let Some(dir) = dir {
        report.write(dir, results, suites)?;
        eprintln!("reports written to {}", dir.display());
    }
    outln(&report.closing_line());
    Ok(report.passed())
}

fn score(a: &ScoreArgs) -> Result<bool, Failure> {
    use czip::conformance::score::{report_of, select_files, verify_files, ScoreOptions};
    use czip::conformance::shard::ShardRecord;
    let ctx = a.paths.context();
    let default_model = published_model_name(&a.model)?;
    let mut files = select_files(&a.files)?;
    if let Some(shard) = a.shard {
        files = shard.pick(files);
    }
    let opts = ScoreOptions { impl_name: a.impl_name.clone(), files_dir: a.files[0].clone(), default_model };
    let started = std::time::Instant::now();
    let entries = verify_files(&ctx, &opts, &files);
    let (mut report, results, suites) = report_of(&opts.impl_name, &entries);
    report.provenance = Some(Provenance::collect(&ctx, false, started.elapsed()));
    if let Some(shard) = a.shard {
        eprintln!("shard {shard}: {} files", files.len());
        report.shard = Some(ShardRecord { shard: shard.to_string(), default_model: opts.default_model.clone(), files: entries });
    }
    let findings = report.findings.iter().map(|f| format!("finding: {f}"));
    let lines: Vec<String> = findings.chain(report.next_steps.iter().map(|s| format!("next step: {s}"))).collect();
    publish(&report, &lines, a.report.as_deref(), &results, &suites)
}

fn merge_reports(a: &MergeArgs) -> Result<bool, Failure> {
    use czip::conformance::shard::{merge, read_part, MergeOptions};
    let parts = a.dirs.iter().map(PathBuf::as_path).map(read_part).collect::<Result<Vec<_>, String>>()?;
    let ctx = a.paths.context();
    let here = |elapsed| Provenance::collect(&ctx, false, elapsed);
    let (report, results, suites) = merge(&parts, &MergeOptions { impl_name: a.impl_name.as_deref(), here: &here })?;
    let files: usize = results.len();
    eprintln!("merged {} parts: {files} files", parts.len());
    let findings = report.findings.iter().map(|f| format!("finding: {f}"));
    let lines: Vec<String> = findings.chain(report.next_steps.iter().map(|s| format!("next step: {s}"))).collect();
    publish(&report, &lines, Some(&a.report), &results, &suites)
}

/// `score --model`: `v000` / `v001`, or the path of a copy of one of them,
/// recognised by its content hash (the model is then loaded from the models
/// directory like a name).
fn published_model_name(arg: &str) -> Result<String, Failure> {
    use czip::model::load::{known_model_name, md5_prefix_u32};
    if matches!(arg, "v000" | "v001") {
        return Ok(arg.to_string());
    }
    let bytes = std::fs::read(arg)
        .map_err(|e| Failure::Usage(format!("--model {arg}: neither v000, v001 nor a readable model file ({e})")))?;
    match known_model_name(md5_prefix_u32(&bytes)) {
        Some(file) => Ok(file.trim_end_matches("_eng.czm").to_string()),
        None => Err(Failure::Usage(format!(
            "--model {arg}: not a copy of a published model (v000_eng.czm or v001_eng.czm); its content hash {:08x} matches neither",
            md5_prefix_u32(&bytes)
        ))),
    }
}

fn generate(paths: &Paths) -> Result<bool, Failure> {
    use czip::conformance::generate::{generate_all, GenerateOptions};
    let ctx = paths.context();
    let opts = GenerateOptions {
        out_dir: paths.data.vectors.clone(),
        suites_dir: paths.suites_dir.clone(),
        models_dir: ctx.models_dir.clone(),
        corpus_dir: ctx.corpus_dir.clone(),
    };
    let started = std::time::Instant::now();
    let summary = generate_all(&opts, &mut |msg| eprintln!("{msg}"))?;
    let total: usize = summary.files.iter().map(|(_, n)| n).sum();
    outln(&format!(
        "{total} cases in {} files written to {} ({:.0} s)",
        summary.files.len(),
        paths.data.vectors.display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(true)
}
