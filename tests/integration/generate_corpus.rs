//! The generated corpus (`vectors/`, `suites/`): regeneration is
//! deterministic and equals what is committed; every committed expectation is
//! reproduced by the reference; the synthetic models load with tables equal
//! to the formulas (but syn_d, off them on purpose); the §11 separators exist.
//!
//! The committed corpus, replayed through the runner, passes on the built-in
//! engine (with the generation's own context: nothing computed twice). The
//! upstream golden files are checked against the engine with that context
//! too ([`files_golden`]): the `files` suite codes the same texts with the
//! same models, levels and `model_id_hash`es, so the generation's coded
//! chunks and the replay's decoded payloads serve them.
//!
//! Regenerate the committed corpus (after changing the generator) with
//! `czip-conformance generate`.

use crate::common;
mod files_golden;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use czip::conformance::case::{as_array, from_jsonl, Case};
use czip::conformance::compare::{CaseResult, Status};
use czip::conformance::generate::{generate_all_keeping_context, GenerateOptions, GenerateSummary};
use czip::conformance::implementation::Builtin;
use czip::conformance::ops::Context;
use czip::conformance::runner::run_cases;
use czip::conformance::suite::{load_cases, load_suites};
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Models and corpus, or None (skipped) when absent.
fn inputs() -> Option<(PathBuf, PathBuf)> {
    let models = common::models_dir()?;
    let golden = common::golden_dir()?;
    Some((models, golden.join("corpus")))
}

/// Generates into `out` and `suites`; gives back the reference context that
/// computed every expectation.
fn generate_into(out: &Path, suites: &Path, models: &Path, corpus: &Path) -> (GenerateSummary, Context) {
    let opts = GenerateOptions { out_dir: out.to_path_buf(), suites_dir: suites.to_path_buf(), models_dir: models.to_path_buf(), corpus_dir: corpus.to_path_buf() };
    let started = Instant::now();
    let mut progress = |m: &str| eprintln!("[{:6.1}s] {m}", started.elapsed().as_secs_f64());
    let (s, ctx) = generate_all_keeping_context(&opts, &mut progress).unwrap_or_else(|e| panic!("generation failed: {e}"));
    eprintln!("generated {} files, {} cases in {:.1} s", s.files.len(), s.files.iter().map(|f| f.1).sum::<usize>(), started.elapsed().as_secs_f64());
    (s, ctx)
}

/// Every file under `dir` (relative path → bytes), skipping `skip` names at the top level.
fn tree(dir: &Path, skip: &[&str]) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out.retain(|k, _| !skip.contains(&k.as_str()));
    out
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("czip-gen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The generation (into a scratch directory) and the committed corpus
/// replayed on the built-in engine with the generation's context: done once
/// per process (the test binary), shared by the tests that need the engine's work.
struct Generated {
    tmp: PathBuf,
    /// The committed cases and their results (in order).
    cases: Vec<Case>,
    replay: Vec<CaseResult>,
    /// The engine with the generation's context, its memo filled by the
    /// generation (coded chunks) and the replay (decoded payloads).
    engine: Builtin,
}

impl Generated {
    fn ctx(&self) -> &Context {
        &self.engine.ctx
    }
}

/// The shared generation and replay, or None (skipped) when the inputs are absent.
fn generated() -> Option<&'static Generated> {
    static GENERATED: OnceLock<Option<Generated>> = OnceLock::new();
    GENERATED
        .get_or_init(|| {
            let (models, corpus) = inputs()?;
            let tmp = temp_dir("det");
            let (out, suites) = (tmp.join("vectors"), tmp.join("suites"));
            let (_, reference_ctx) = generate_into(&out, &suites, &models, &corpus);
            // Every committed case through the runner and the built-in engine.
            // The generator's context answers, so work the generation did
            // (every text's coded chunks, short texts' decoding) is not done
            // twice; each answer is still judged against the committed
            // expectation. (`tests/integration/conformance_runner.rs` runs the same corpus
            // through `serve`.)
            let cases = load_cases(&repo().join("vectors")).expect("the committed corpus loads");
            let plain = Context::new(models, out, corpus);
            let started = Instant::now();
            let mut engine = Builtin::new(reference_ctx);
            let replay = run_cases(&mut engine, &plain, &cases, &|_, _| {});
            eprintln!("{} committed cases run in process ({:.1} s after generation)", cases.len(), started.elapsed().as_secs_f64());
            Some(Generated { tmp, cases, replay, engine })
        })
        .as_ref()
}

#[test]
fn generation_is_deterministic_and_matches_the_committed_corpus() {
    let Some(g) = generated() else { return };
    let (out, suites) = (g.tmp.join("vectors"), g.tmp.join("suites"));
    let got = tree(&out, &[]);
    let want = tree(&repo().join("vectors"), &["README.md"]);
    let diff: Vec<&String> = got.keys().chain(want.keys()).filter(|k| got.get(*k) != want.get(*k)).collect();
    assert!(diff.is_empty(), "regenerated vectors/ differs from the committed one in {diff:?} (run the ignored `regenerate` test and commit)");
    let got = tree(&suites, &[]);
    let want = tree(&repo().join("suites"), &[]);
    let diff: Vec<&String> = got.keys().chain(want.keys()).filter(|k| got.get(*k) != want.get(*k)).collect();
    assert!(diff.is_empty(), "regenerated suites/ differs from the committed one in {diff:?}");

    // Every committed case through the runner and the built-in engine: all pass.
    let suites = load_suites(&repo().join("suites"), &g.cases).expect("suites load");
    assert!(suites.iter().all(|s| !s.cases.is_empty()), "every suite has cases");
    let failed: Vec<String> = g.replay.iter().filter(|r| r.status != Status::Pass).map(|r| format!("{} {:?}: {}", r.id, r.status, r.message)).collect();
    assert!(failed.is_empty(), "the built-in engine does not pass {} cases: {:#?}", failed.len(), &failed[..failed.len().min(10)]);
    assert_eq!(g.replay.len(), g.cases.len());
    eprintln!("{} committed cases pass in process", g.cases.len());
    // Nothing reads the scratch files any more (the shared context needs
    // only the published models and the corpus).
    let _ = std::fs::remove_dir_all(&g.tmp);
}

#[test]
fn synthetic_models_load_with_tables_equal_to_the_formulas_but_syn_d() {
    let dir = repo().join("vectors/models");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("vectors/models") {
        let p = e.unwrap().path();
        let m = czip::Model::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let bad = czip::tables::check_tables(m.exp2(), m.rope_cos(), m.rope_sin(), m.config().rope_theta_q16);
        if p.file_stem().is_some_and(|s| s == "syn_d") {
            // Deliberately off the formulas (the engine must use the stored tables).
            assert!(!bad.is_empty(), "{}: its tables should differ from the formulas", p.display());
            assert!(bad.iter().any(|b| b.table == "exp2") && bad.iter().any(|b| b.table == "rope_cos") && bad.iter().any(|b| b.table == "rope_sin"));
        } else {
            assert!(bad.is_empty(), "{}: {} table entries differ from the formulas", p.display(), bad.len());
        }
        assert!(std::fs::metadata(&p).unwrap().len() < 1_000_000, "{}: keep synthetic models small", p.display());
        n += 1;
    }
    assert!(n >= 3, "expected at least 3 synthetic models, found {n}");
}

#[test]
fn divergence_separators_exist() {
    let cases: Vec<Case> = {
        let dir = repo().join("vectors");
        let read = |p: &str| from_jsonl(&std::fs::read_to_string(dir.join(p)).unwrap(), p).unwrap();
        [read("layer/rmsnorm.jsonl"), read("layer/attention.jsonl"), read("primitive/udiv_rne_tte_u32.jsonl")].concat()
    };
    let tagged = |c: &Case, t: &str| c.tags.iter().any(|x| x == t);
    let i8s = |v: &Value| as_array(v).unwrap();
    // RMSNorm with ⌊Σx²/384⌋ = 9482: inverse RMS 336 (ties-to-even), not Python's 337.
    let rms: Vec<&Case> = cases
        .iter()
        .filter(|c| c.op == "rmsnorm" && tagged(c, "divergence:udiv_round_half_up"))
        .filter(|c| {
            let x = i8s(&c.args["x"]);
            x.len() == 384 && x.iter().map(|v| v * v).sum::<i64>() / 384 == 9482
        })
        .collect();
    assert!(!rms.is_empty(), "no rmsnorm separator with floor(sum x^2 / 384) = 9482");
    for c in &rms {
        let (x, w, y) = (i8s(&c.args["x"]), i8s(&c.args["w"]), i8s(&c.expect["y"]));
        for i in 0..384 {
            let ties_even = czip::numerics::clamp_i8(czip::numerics::sra_rne_tte_s32((x[i] * w[i] * 336) as i32, 15)) as i64;
            assert_eq!(y[i], ties_even, "{}: y[{i}] is not the inverse-336 result", c.id);
        }
        let python: Vec<i64> = (0..384).map(|i| czip::numerics::clamp_i8(czip::numerics::sra_rne_tte_s32((x[i] * w[i] * 337) as i32, 15)) as i64).collect();
        assert_ne!(y, python, "{}: does not separate 336 from 337", c.id);
    }
    // udiv(1000000, 3) = 333333.
    assert!(cases.iter().any(|c| c.op == "udiv_rne_tte_u32" && c.args["n"] == 1000000 && c.args["d"] == 3 && c.expect["result"] == 333333));
    // Attention: output exactly −127.5 → −127.
    let half = cases.iter().filter(|c| c.op == "attention" && tagged(c, "divergence:clamp_minus_128")).find(|c| {
        let steps = c.args["steps"].as_array().unwrap();
        let d = 64 * c.args["n_heads"].as_i64().unwrap() as usize;
        steps.len() == 2 && i8s(&steps[0])[d + 64] == -127 && i8s(&steps[1])[d + 64] == -128
    });
    let half = half.expect("no attention case whose output rounds from -127.5");
    let last = half.expect["out"].as_array().unwrap().last().unwrap();
    assert!(i8s(last).iter().all(|&v| v == -127), "{}: -127.5 must give -127", half.id);
    // Attention accumulator beyond 2^31: q = k = 0, v = 127, at least 300 steps.
    let acc = cases.iter().filter(|c| c.op == "attention" && tagged(c, "divergence:i32_accumulator")).find(|c| {
        let steps = c.args["steps"].as_array().unwrap().len() as i64 + c.args["repeat"]["count"].as_i64().unwrap_or(0);
        let d = 64 * c.args["n_heads"].as_i64().unwrap() as usize;
        let s = i8s(&c.args["repeat"]["qkv"]);
        steps >= 300 && s[..d + 64].iter().all(|&v| v == 0) && s[d + 64..].iter().all(|&v| v == 127)
    });
    let acc = acc.expect("no attention case accumulating past 2^31");
    let last = acc.expect["out"].as_array().unwrap().last().unwrap();
    assert!(i8s(last).iter().all(|&v| v == 127), "{}: exact accumulation gives 127", acc.id);
    // 65,535 · 127 · 300 = 2,496,883,500 > 2^31: the case does pass the bound
    // (checked at compile time; clippy calls a constant assertion needless).
    #[allow(clippy::assertions_on_constants)]
    const { assert!(65535i64 * 127 * 300 > 1 << 31) };
}
