//! `table/*.jsonl`: the §2 tables regenerated from their formulas, and each
//! model's stored tables (published and synthetic) with their count of
//! entries that differ from the formulas.

use serde_json::json;

use super::synthetic::SyntheticModel;
use super::{Gen, Suites};
use crate::conformance::case::Dtype;

/// θ = 10000 in Q16, as in both published models.
pub const THETA_Q16: u32 = 655_360_000;

pub fn generate(g: &mut Gen, synthetic: &[SyntheticModel]) -> Result<(), String> {
    g.say("tables");
    let f = "table/formulas.jsonl";
    g.in_suites(Suites::all(&["core"]));
    g.case(f, "table.exp2_table.0", "exp2_table", json!({})).expect(&["table"])?;
    for (rows, theta) in [(64usize, THETA_Q16), (1024, THETA_Q16), (128, THETA_Q16), (16, 3_276_800_000), (8, 65_536)] {
        let id = format!("table.rope_table.rows{rows}.theta{theta}");
        let fields: &[(&str, Option<Dtype>)] = if rows * 32 > 4096 {
            &[("cos", Some(Dtype::I16)), ("sin", Some(Dtype::I16))]
        } else {
            &[("cos", None), ("sin", None)]
        };
        g.case(f, &id, "rope_table", json!({"rows": rows, "theta_q16": theta})).expect_digests(fields)?;
    }
    // θ = 0 (spec §2 is silent): θ^(−2i/64) is infinite for i ≥ 1, so those
    // angles are NaN (p = 0) or infinite, and their cos/sin NaN. The
    // reference answers as upstream Rust does — a NaN converts to 0 — so
    // cos[p][0] = cos(p) (θ^0 = 1) and every other entry is 0; the public
    // Python package raises ZeroDivisionError. No model has θ = 0: the cases
    // are optional, in the `divergences` view only.
    g.in_suites(Suites::NONE);
    for rows in [1usize, 2] {
        let id = format!("table.rope_table.theta_zero.rows{rows}");
        g.case(f, &id, "rope_table", json!({"rows": rows, "theta_q16": 0})).tags(&["divergence:rope_theta_zero", "edge", "optional"]).expect(&["cos", "sin"])?;
    }
    let f = "table/model_tables.jsonl";
    let fields = ["exp2", "rope_rows", "rope_cos", "rope_sin", "formula_mismatches"];
    for m in ["v000", "v001"] {
        g.in_suites(Suites::all(if m == "v000" { &["model-v000"] } else { &["model-v001"] }));
        let ans = g.case(f, &format!("table.model_tables.{m}"), "model_tables", json!({"model": m})).tags(if m == "v000" { &["divergence:capacity_from_rope_rows"] } else { &[] }).expect(&fields)?;
        g.say(&format!("  {m}: {} RoPE rows, {} entries differ from the formulas", ans["rope_rows"], ans["formula_mismatches"]));
    }
    for s in synthetic {
        let name = format!("synthetic/{}", s.name);
        g.in_suites(Suites::all(&["synthetic"]));
        let ans = g.case(f, &format!("table.model_tables.{}", s.name), "model_tables", json!({"model": name})).context(&s.requires()).expect(&fields)?;
        if ans["formula_mismatches"] != json!(s.table_mismatches) {
            return Err(format!("{name}: {} stored table entries differ from the formulas, the recipe made {}", ans["formula_mismatches"], s.table_mismatches));
        }
    }
    Ok(())
}
