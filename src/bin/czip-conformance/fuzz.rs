//! `czip-conformance fuzz`: differential fuzzing of an implementation
//! against the reference (`czip::conformance::fuzz`).

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use czip::conformance::fuzz::{fuzz as run_fuzz, report, select_ops, Budget, FuzzOptions, Progress};
use czip::conformance::op_table::Op;
use czip::conformance::report::Provenance;
use czip::conformance::runner::progress::{progress_line, CLEAR};

use crate::stdout::{out, outln};
use crate::{open_impl, DataPaths, Failure};

#[derive(Args)]
pub struct FuzzArgs {
    /// The implementation, named as for `run`: rust, python, a manifest path or a manifest's name.
    #[arg(long = "impl", value_name = "NAME")]
    implementation: String,
    /// Ops to fuzz (default: every op the implementation declares):
    /// `--op udiv_rne_tte_u32 rmsnorm` or `--op udiv_rne_tte_u32,rmsnorm`.
    #[arg(long = "op", value_name = "OP", num_args = 1.., value_delimiter = ',')]
    op: Vec<String>,
    /// Try this many cases (deterministic for a seed). Default 1000 unless --seconds.
    #[arg(long, value_name = "N", conflicts_with = "seconds")]
    cases: Option<usize>,
    /// Fuzz for this long (checked between batches of cases); the report says
    /// how many cases were tried, and `--cases <that count>` reproduces the run.
    #[arg(long, value_name = "N")]
    seconds: Option<f64>,
    /// Seed of the run: case i is drawn from (seed, i) alone.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Where to write report.json, report.md, junit.xml and the minimal cases
    /// (cases/fuzz.jsonl with cases/manifest.json, suites/fuzz.json: run them with
    /// `czip-conformance run --impl … --vectors DIR/cases --suites-dir DIR/suites`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    paths: DataPaths,
    /// Tokens per case for model, chunk and file ops (texts are cut to this many bytes).
    #[arg(long, value_name = "N", default_value_t = 256)]
    max_tokens: usize,
    /// Seconds to wait for one answer from an external implementation (as for `run`).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
    /// Queries of the implementation allowed to shrink one disagreement
    /// (a death or a timeout while shrinking counts as "does not reproduce").
    #[arg(long, value_name = "N", default_value_t = 300)]
    shrink_budget: usize,
}

/// Runs the fuzzer; Ok(true) when no disagreement was found.
pub fn fuzz(a: &FuzzArgs) -> Result<bool, Failure> {
    let asked: Vec<Op> = a
        .op
        .iter()
        .map(|n| Op::from_name(n).ok_or_else(|| Failure::Usage(format!("--op {n}: no such op (`vectors/README.md` lists the catalogue)"))))
        .collect::<Result<_, _>>()?;
    let budget = match (a.cases, a.seconds) {
        (_, Some(s)) if s > 0.0 => Budget::Seconds(s),
        (_, Some(s)) => return Err(Failure::Usage(format!("--seconds {s}: expected a positive number"))),
        (Some(n), None) => Budget::Cases(n),
        (None, None) => Budget::Cases(1000),
    };
    let ctx = a.paths.context();
    let mut imp = open_impl(&a.implementation, a.paths.context(), a.timeout, None)?;
    let (ops, left) = select_ops(imp.features(), &asked);
    for (op, why) in &left {
        eprintln!("not fuzzed: {op}: {why}");
    }
    if ops.is_empty() {
        return Err(Failure::Usage(format!("--impl {}: none of the ops asked for is declared by the implementation", a.implementation)));
    }
    let opts = FuzzOptions { ops: asked, budget, seed: a.seed, max_tokens: a.max_tokens.max(1), shrink_budget: a.shrink_budget };
    let tty = std::io::stderr().is_terminal();
    let last = std::sync::Mutex::new(None::<std::time::Instant>);
    let started = std::time::Instant::now();
    let mut run = run_fuzz(imp.as_mut(), &ctx, &ops, &opts, &|p: &Progress| {
        if !tty {
            return;
        }
        let now = std::time::Instant::now();
        let Ok(mut l) = last.lock() else { return };
        if p.shrinking.is_none() && l.is_some_and(|t| now.duration_since(t).as_millis() < 100) {
            return;
        }
        *l = Some(now);
        let line = match (p.shrinking, p.total) {
            (Some(what), _) => format!("{} cases, shrinking a disagreement of {} ({what})", p.done, p.op),
            (None, Some(total)) => progress_line(p.done, total, &format!("fuzz, op {}", p.op), p.failed, p.elapsed),
            (None, None) => format!("{} cases, op {}, {} failed, {:.0} s", p.done, p.op, p.failed, p.elapsed.as_secs_f64()),
        };
        eprint!("{CLEAR}{line}");
    });
    if tty {
        eprint!("{CLEAR}");
    }
    run.impl_arg = a.implementation.clone();
    if let Some(why) = &run.stopped {
        eprintln!("stopping: {why}");
    }
    let provenance = Provenance::collect(&ctx, false, started.elapsed());
    out(&report::terminal(&run));
    if let Some(dir) = &a.out {
        report::write(dir, &run, Some(&provenance))?;
        outln(&format!("reports and minimal cases written to {}", dir.display()));
    }
    Ok(run.passed())
}
