//! Primitives, tables, layers, attention and frequency tables against the
//! upstream vectors in `../shared/golden/vectors/`. Where a record carries a
//! `ref_*` field, that field is the normative value (spec §11).

use crate::common;

use czip::freq_table::build_cumfreqs;
use czip::model::attention::{attend_head, KvCache, OnlineSoftmax};
use czip::model::layers::{linear, reglu, rmsnorm, rope};
use czip::numerics::*;
use czip::tables::{check_tables, exp2_table};
use czip::Model;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// An integer field that may be a JSON number or a decimal string.
fn int(v: &Value) -> i128 {
    match v {
        Value::Number(n) => n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)).expect("integer"),
        Value::String(s) => s.parse().expect("integer string"),
        other => panic!("not an integer: {other}"),
    }
}

fn ints<T: TryFrom<i128>>(v: &Value) -> Vec<T> {
    v.as_array().expect("array").iter().map(|x| T::try_from(int(x)).ok().expect("fits")).collect()
}

fn golden_records(name: &str) -> Option<Vec<Value>> {
    let g = common::golden_dir()?;
    Some(common::read_jsonl(&g.join("vectors").join(name)))
}

#[test]
fn seed_check_values() {
    assert_eq!(sra_rne_tte_s32(7, 1), 4);
    assert_eq!(sra_rne_tte_s32(5, 1), 2);
    assert_eq!(sra_rne_tte_s32(1234567, 10), 1206);
    assert_eq!(isqrt32_restoring(1000000), 1000);
    assert_eq!(isqrt32_restoring(2147483647), 46340);
    assert_eq!(udiv_rne_tte_u32(1000000, 3), 333333);
}

#[test]
fn primitives_match_normative_values() {
    let Some(recs) = golden_records("primitives_release.jsonl") else { return };
    let (mut checked, mut out_of_domain) = (0, 0);
    for r in &recs {
        let f = r["fn"].as_str().unwrap();
        // The normative value: ref_* when present (null = no normative value).
        let reference = ["ref_exact_rne", "ref_exact_rne_saturated", "ref_floor_sqrt", "ref_clamp_m127_127"]
            .iter()
            .find_map(|k| r.get(*k));
        let expected = match reference {
            Some(Value::Null) => {
                // Division by zero: 0 by definition (upstream result).
                int(&r["result"])
            }
            Some(v) => int(v),
            None => int(&r["result"]),
        };
        let got: i128 = match f {
            "sra_rne_tte_s32" | "sra_rne_tte_s64_to_s32" => {
                let sh = int(&r["sh"]);
                let limit = if f == "sra_rne_tte_s32" { 31 } else { 63 };
                if sh > limit {
                    out_of_domain += 1;
                    continue; // no normative value outside the domain
                }
                if f == "sra_rne_tte_s32" {
                    sra_rne_tte_s32(int(&r["v"]) as i32, sh as u32).into()
                } else {
                    sra_rne_tte_s64_to_s32(int(&r["v"]) as i64, sh as u32).into()
                }
            }
            "udiv_rne_tte_u32" => udiv_rne_tte_u32(int(&r["n"]) as u32, int(&r["d"]) as u32).into(),
            "div_rne_tte_s32" => {
                let (n, d) = (int(&r["num"]) as i32, int(&r["denom"]) as i32);
                if n == i32::MIN && d == -1 {
                    out_of_domain += 1;
                    continue;
                }
                div_rne_tte_s32(n, d).into()
            }
            "div_rne_tte_s32_by_u64" | "div_rne_tte_s64_to_s32" => {
                div_rne_tte_s64_to_s32(int(&r["num"]) as i64, int(&r["denom"]) as u64).into()
            }
            "isqrt32_restoring" => isqrt32_restoring(int(&r["x"]) as u32).into(),
            "clamp_i8" => clamp_i8(int(&r["x"]) as i32).into(),
            other => panic!("unknown primitive {other}"),
        };
        assert_eq!(got, expected, "{f} on {r}");
        checked += 1;
    }
    eprintln!("primitives: {checked} checked, {out_of_domain} outside the spec's domain");
    assert_eq!(checked + out_of_domain, recs.len());
}

fn v001() -> Option<Model> {
    let m = common::models_dir()?;
    Some(Model::open(&m.join("v001_eng.czm")).expect("v001 loads"))
}

fn sha_i16(xs: &[i16]) -> String {
    let mut h = Sha256::new();
    // upstream hashes the table widened to i32 LE
    xs.iter().for_each(|&x| h.update(i32::from(x).to_le_bytes()));
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn kernels_match_upstream() {
    let Some(recs) = golden_records("kernels_release.jsonl") else { return };
    let Some(model) = v001() else { return };
    let v000 = Model::open(&common::models_dir().unwrap().join("v000_eng.czm")).expect("v000 loads");
    let e = *model.exp2();
    let (cos, sin) = (model.rope_cos(), model.rope_sin());
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    let mut run_cache: Option<(String, KvCache)> = None;
    for r in &recs {
        let kind = r["kind"].as_str().unwrap();
        *counts.entry(kind.to_string()).or_default() += 1;
        let out = || r["out"]["result"].clone();
        match kind {
            "exp2_lut" => {
                let t: Vec<u16> = ints(&r["table"]);
                assert_eq!(t, e.to_vec(), "{}", r["source"]);
                assert_eq!(t, exp2_table().to_vec());
                assert_eq!(t, v000.exp2().to_vec());
            }
            "rope_lut_check" => {
                assert!(check_tables(model.exp2(), cos, sin, model.config().rope_theta_q16).is_empty());
                assert!(check_tables(v000.exp2(), v000.rope_cos(), v000.rope_sin(), 10000 << 16).is_empty());
                assert_eq!(sha_i16(cos), r["v001_cos_sha256"].as_str().unwrap());
                assert_eq!(sha_i16(sin), r["v001_sin_sha256"].as_str().unwrap());
                assert_eq!(v000.rope_cos(), &cos[..64 * 32]);
                assert_eq!(v000.config().rope_rows, 64);
                assert_eq!(model.config().rope_rows, 1024);
            }
            "constants" => {
                assert_eq!(int(&r["ATTN_COEF_Q24"]), ATTN_COEF_Q24.into());
                assert_eq!(int(&r["coef_q24_model"]), model.coef_q24().into());
                assert_eq!(int(&r["target_total_model"]), model.target_total().into());
            }
            "exp_q16_from_diff" | "exp_q16_from_neg_fixed_with_coef" => {
                let d = int(r.get("diff").unwrap_or(&r["neg_x"])) as i32;
                let got = exp_q16(d, int(&r["coef_q24"]) as u32, &e);
                assert_eq!(i128::from(got), int(&out()), "{r}");
            }
            "exp_q16_from_neg_fixed" => {
                let got = exp_q16_from_neg_fixed(int(&r["neg_x_q8"]) as i32, &e);
                assert_eq!(i128::from(got), int(&out()), "{r}");
            }
            "rmsnorm_i8_to_i8" => {
                let (x, w): (Vec<i8>, Vec<i8>) = (ints(&r["x"]), ints(&r["w"]));
                let mut y = vec![0i8; x.len()];
                rmsnorm(&x, &w, &mut y);
                assert_eq!(y, ints::<i8>(&out()), "rmsnorm {} {}", r["x_name"], r["w_name"]);
            }
            "reglu_i8" => {
                let x: Vec<i8> = ints(&r["x"]);
                let f = x.len() / 2;
                let mut y = vec![0i8; f];
                reglu(&x[..f], &x[f..], &mut y);
                assert_eq!(y, ints::<i8>(&out()), "reglu {}", r["name"]);
            }
            "linear_i8_to_i32" => {
                let (n_in, n_out) = (int(&r["in_dim"]) as usize, int(&r["out_dim"]) as usize);
                // Inputs are arrays, or a description of a constant / model tensor.
                let x: Vec<i8> = match &r["x"] {
                    Value::String(_) => vec![127; n_in],
                    v => ints(v),
                };
                let w: Vec<i8> = match r["w"].as_str() {
                    Some(d) if d.starts_with("v001 head.weight") => model.head().to_vec(),
                    Some(_) => vec![127; n_in * n_out],
                    None => ints(&r["w"]),
                };
                let expected = if r["out"].is_array() { r["out"].clone() } else { out() };
                let mut y = vec![0i32; n_out];
                linear(&x, &w, &mut y);
                assert_eq!(y, ints::<i32>(&expected), "linear {}", r["name"]);
            }
            "apply_rope_i8" | "apply_rope_q_i8" => {
                let x: Vec<i8> = ints(&r["x"]);
                let p = int(&r["pos"]) as usize;
                if r["out"].get("panic").is_some() {
                    // Upstream indexes past its table; there is no such row.
                    assert!((p + 1) * 32 > cos.len(), "{kind} pos {p}");
                    continue;
                }
                let mut y = [0i8; 64];
                rope(&x, &cos[p * 32..p * 32 + 32], &sin[p * 32..p * 32 + 32], kind == "apply_rope_q_i8", &mut y);
                assert_eq!(y.to_vec(), ints::<i8>(&out()), "{kind} pos {p}");
            }
            "gqa_attention_mqa_i8" => {
                let run = r["run"].as_str().unwrap().to_string();
                let step = int(&r["step"]) as usize;
                if run_cache.as_ref().is_none_or(|(name, _)| *name != run) {
                    assert_eq!(step, 0, "runs start at step 0");
                    run_cache = Some((run.clone(), KvCache::new(1024)));
                }
                let cache = &mut run_cache.as_mut().unwrap().1;
                assert_eq!(cache.len(), step);
                let qkv: Vec<i8> = ints(&r["qkv"]);
                let mult: Vec<i32> = ints(&r["score_mult"]);
                let sink: Option<[i8; 64]> = match &r["sink_key"] {
                    Value::Null => None,
                    v => Some(ints::<i8>(v).try_into().unwrap()),
                };
                let d = 64 * mult.len();
                let mut k_rot = [0i8; 64];
                let row = step * 32..step * 32 + 32;
                rope(&qkv[d..d + 64], &cos[row.clone()], &sin[row], false, &mut k_rot);
                assert!(cache.push(&k_rot, &qkv[d + 64..d + 128]));
                let mut y = vec![0i8; d];
                for h in 0..mult.len() {
                    attend_head(&qkv[h * 64..h * 64 + 64], step, cache, cos, sin, mult[h], sink.as_ref(), &e, &mut y[h * 64..h * 64 + 64]);
                }
                assert_eq!(y, ints::<i8>(&r["out"]), "attention run {run} step {step}");
            }
            "gqa_attention_mqa_i8_adversarial" => {
                // All scores equal (q = k = 0), every value v: the exact output
                // stays v at every step; a 32-bit accumulator wraps at step 258.
                let v = int(&r["v"]) as i8;
                let expected = int(&r["expected_out_every_step"]) as i8;
                let upstream: Vec<i8> = ints(&r["out_head0_dim0_per_step"]);
                let first_wrong = int(&r["first_step_with_wrong_output"]) as usize;
                let mut sm = OnlineSoftmax::new();
                let vrow = [v; 64];
                let mut y = [0i8; 64];
                for (step, &up) in upstream.iter().enumerate() {
                    sm.push(0, &vrow, &e);
                    sm.output(&mut y);
                    assert_eq!(y[0], expected, "step {step}");
                    assert_eq!(up == expected, step < first_wrong, "upstream record at step {step}");
                }
            }
            other => panic!("unknown kernel kind {other}"),
        }
    }
    eprintln!("kernels checked: {counts:?}");
}

#[test]
fn cumfreqs_match_upstream() {
    let Some(recs) = golden_records("cumfreqs_release.jsonl") else { return };
    let e = exp2_table();
    for r in &recs {
        let logits: Vec<i32> = r.get("logits").map(ints).unwrap_or_default();
        let coef = r.get("coef_q24").map_or(37819, |c| int(c) as u32);
        let mut cum = vec![0u32; logits.len()];
        if r["out"].get("panic").is_some() {
            // Upstream panics on an empty table; we must return an error.
            assert!(build_cumfreqs(&logits, coef, 1 << 30, &e, &mut cum).is_err(), "{}", r["name"]);
            continue;
        }
        let total = int(&r["target_total"]) as u32;
        let expected = r.get("cumfreqs").cloned().unwrap_or_else(|| r["out"]["result"].clone());
        build_cumfreqs(&logits, coef, total, &e, &mut cum).unwrap();
        assert_eq!(cum, ints::<u32>(&expected), "cumfreqs {}", r["name"]);
    }
    eprintln!("cumfreqs: {} tables", recs.len());
}
