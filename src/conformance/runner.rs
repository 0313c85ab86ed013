//! Running cases against an implementation.

use rayon::prelude::*;
use serde_json::Value;

use super::case::Case;
use super::compare::{judge, CaseResult, Status};
use super::implementation::Implementation;
use super::ops::{reference, Context};

/// Why a case cannot be run here at all (its model file is absent), if so.
fn missing_model(ctx: &Context, case: &Case) -> Option<String> {
    let name = case.args.get("model").and_then(Value::as_str)?;
    match ctx.model_path(name) {
        Ok(p) if p.exists() => None,
        Ok(p) => Some(format!("model {name} not found at {}", p.display())),
        Err(e) => Some(e),
    }
}

fn unsupported_feature(imp: &dyn Implementation, case: &Case) -> Option<String> {
    let missing: Vec<&str> =
        case.requires.iter().filter(|f| !imp.features().contains(*f)).map(String::as_str).collect();
    (!missing.is_empty()).then(|| format!("implementation does not declare {}", missing.join(", ")))
}

fn pre_check(imp: &dyn Implementation, ctx: &Context, case: &Case) -> Option<CaseResult> {
    let (status, message) = if let Some(m) = missing_model(ctx, case) {
        (Status::Skipped, m)
    } else if let Some(u) = unsupported_feature(imp, case) {
        (Status::Unsupported, u)
    } else {
        return None;
    };
    Some(CaseResult {
        id: case.id.clone(),
        op: case.op.clone(),
        spec: case.spec.clone(),
        status,
        divergence: None,
        message,
        tags: case.tags.clone(),
        not_answered: Vec::new(),
        time_us: None,
    })
}

/// Runs one case and records its wall time.
fn timed(run: impl FnOnce() -> CaseResult) -> CaseResult {
    let started = std::time::Instant::now();
    let mut r = run();
    r.set_elapsed(started);
    r
}

/// Runs `cases` in order and returns one result per case, in the same order.
/// The built-in engine runs cases in parallel (results do not depend on the
/// thread count); other implementations get one request at a time.
/// `progress(done, total)` is called as cases complete.
pub fn run_cases(
    imp: &mut dyn Implementation,
    ctx: &Context,
    cases: &[Case],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<CaseResult> {
    let total = cases.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let tick = || {
        let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(d, total);
    };
    if let Some(b) = imp.as_builtin() {
        return cases
            .par_iter()
            .map(|c| {
                let r = timed(|| pre_check(b, ctx, c).unwrap_or_else(|| judge(c, &reference(&b.ctx, &c.op, &c.args))));
                tick();
                r
            })
            .collect();
    }
    cases
        .iter()
        .map(|c| {
            let r = timed(|| match pre_check(imp, ctx, c) {
                Some(r) => r,
                None => judge(c, &imp.call(&c.op, &c.args)),
            });
            tick();
            r
        })
        .collect()
}
