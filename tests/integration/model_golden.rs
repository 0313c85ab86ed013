//! Model steps against upstream: the logits and frequency tables of every
//! listed position of `../shared/golden/vectors/logits_v00{0,1}.jsonl`.

use crate::common;

use std::collections::BTreeMap;

use czip::freq_table::build_cumfreqs;
use czip::model::ForwardState;
use czip::Model;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn sha256_le<T: Copy>(xs: &[T], to_le: impl Fn(T) -> [u8; 4]) -> String {
    let mut h = Sha256::new();
    for &x in xs {
        h.update(to_le(x));
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn ints<T: TryFrom<i64>>(v: &Value) -> Vec<T> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| T::try_from(x.as_i64().expect("int")).ok().expect("fits"))
        .collect()
}

fn check_model(model_file: &str, vectors: &str) {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else {
        return;
    };
    let model = Model::open(&models.join(model_file)).expect("model loads");
    let records = common::read_jsonl(&golden.join("vectors").join(vectors));
    let mut seqs: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for r in &records {
        if let Some(s) = r.get("seq").and_then(Value::as_str) {
            seqs.entry(s.to_string()).or_default().push(r);
        }
    }
    let v = model.config().vocab_size;
    let mut state = ForwardState::new(&model, model.config().rope_rows);
    let mut logits = vec![0i32; v];
    let mut cum = vec![0u32; v];
    let (mut full, mut hashed) = (0, 0);
    for (seq, mut recs) in seqs {
        recs.sort_by_key(|r| r["pos"].as_u64());
        state.reset();
        for (i, r) in recs.iter().enumerate() {
            assert_eq!(r["pos"].as_u64(), Some(i as u64), "{seq}: positions must be contiguous");
            let input = r["input_token"].as_u64().unwrap() as u32;
            if i == 0 {
                assert_eq!(input, model.config().bos);
            }
            state.step(&model, input, &mut logits).unwrap();
            build_cumfreqs(&logits, model.coef_q24(), model.target_total(), model.exp2(), &mut cum).unwrap();
            let at = format!("{model_file} {seq} pos {i}");
            if let Some(l) = r.get("logits") {
                assert_eq!(logits, ints::<i32>(l), "logits at {at}");
                assert_eq!(cum, ints::<u32>(&r["cumfreqs"]), "cumfreqs at {at}");
                full += 1;
            }
            if let Some(h) = r.get("logits_sha256").and_then(Value::as_str) {
                assert_eq!(sha256_le(&logits, i32::to_le_bytes), h, "logits hash at {at}");
                assert_eq!(
                    sha256_le(&cum, u32::to_le_bytes),
                    r["cumfreqs_sha256"].as_str().unwrap(),
                    "cumfreqs hash at {at}"
                );
                hashed += 1;
            }
            if let Some(tf) = r.get("target_freq").and_then(Value::as_u64) {
                let t = r["target_token"].as_u64().unwrap() as usize;
                let lo = if t == 0 { 0 } else { cum[t - 1] };
                assert_eq!(u64::from(cum[t] - lo), tf, "target_freq at {at}");
            }
            assert_eq!(r["total"].as_u64(), Some(u64::from(model.target_total())));
        }
    }
    eprintln!("{model_file}: {full} positions with full arrays, {hashed} hashed positions match");
    assert!(full > 0);
}

#[test]
fn logits_v000_match_upstream() {
    check_model("v000_eng.czm", "logits_v000.jsonl");
}

#[test]
fn logits_v001_match_upstream() {
    check_model("v001_eng.czm", "logits_v001.jsonl");
}
