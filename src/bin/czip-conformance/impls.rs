//! `czip-conformance impls`: every implementation `--impl` can name, its
//! features, and whether it can run here.

use czip::conformance::implementation::named::{known, probe, Named};
use czip::conformance::ops::Context;

use crate::stdout::outln;
use crate::Failure;

/// Prints one block per implementation:
///
/// ```text
/// cuda  (impls/cuda.toml) — not ready: CZIP_CUDA_BIN is not set
///   a CUDA build driven through the public command line …
///   features: file_ops levels
/// ```
pub fn list(ctx: &Context) -> Result<bool, Failure> {
    let all = known();
    let mut ready = 0;
    for k in &all {
        if let Some(by) = &k.shadowed_by {
            let Named::Manifest(path) = &k.what else { continue };
            outln(&format!("{}  ({}) — shadowed by {}: `--impl {}` opens that one", k.name, path.display(), by.display(), k.name));
            continue;
        }
        let p = probe(k, ctx);
        let status = match &p.ready {
            Ok(()) => {
                ready += 1;
                "ready".to_string()
            }
            Err(why) => format!("not ready: {why}"),
        };
        outln(&format!("{}  ({}) — {status}", k.name, p.source));
        if let Some(d) = &p.description {
            outln(&format!("  {d}"));
        }
        let features = match &p.features {
            Some(f) if f.is_empty() => "none declared".to_string(),
            Some(f) => f.join(" "),
            None => "declared by the adapter's hello (it could not be started)".to_string(),
        };
        outln(&format!("  features: {features}"));
    }
    let shown = all.iter().filter(|k| k.shadowed_by.is_none()).count();
    outln(&format!("{shown} implementations, {ready} ready here; run one with `czip-conformance run --impl NAME`"));
    Ok(true)
}
