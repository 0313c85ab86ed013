//! The Python adapter (`adapters/python/czip_adapter.py`) as the runner
//! drives it: started through `ProcessAdapter::spawn` and checked against the
//! FAKE `compress_zip` of `adapters/python/fake_compress_zip` — a stand-in
//! with the real package's names that records every call (one JSON line per
//! call in `FAKE_COMPRESS_ZIP_LOG`) and answers dummy values. These tests
//! check protocol plumbing only (argument mapping, answer shapes, errors,
//! packed arrays, the not-installed path); they say nothing about whether the
//! real package computes CZIP correctly — that is what a conformance run does.
//!
//! Without `python3` the tests print why and pass; with `CI` set they fail.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use czip::conformance::case::as_array;
use czip::conformance::implementation::{Implementation, ProcessAdapter};
use czip::conformance::ops::{Context, Outcome};
use serde_json::{json, Value};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const NOT_IMPORTABLE: &str = "the Python package compress_zip is not importable";

fn adapter_script() -> String {
    Path::new(ROOT).join("adapters/python/czip_adapter.py").display().to_string()
}

fn fake_path() -> String {
    Path::new(ROOT).join("adapters/python/fake_compress_zip").display().to_string()
}

/// The interpreter the tests run the adapter with: `$CZIP_PYTHON` (as the
/// runner does), else `python3`. With numpy installed in it, the adapter
/// hands the package numpy arrays, as it does with the real package.
fn python() -> String {
    std::env::var("CZIP_PYTHON").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "python3".into())
}

/// Whether the interpreter runs; outside CI a missing one skips the test.
fn have_python() -> bool {
    let ok = Command::new(python()).args(["-c", "import json"]).stdin(Stdio::null()).status().is_ok_and(|s| s.success());
    if !ok {
        let msg = "python3 not found on PATH: the Python adapter cannot be tested";
        if std::env::var_os("CI").is_some() {
            panic!("{msg}; CI requires it");
        }
        eprintln!("SKIPPED: {msg}");
    }
    ok
}

/// A fresh directory with a models dir (an empty `v001_eng.czm`: the fake
/// loader never reads it), a synthetic model and a corpus text.
fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("python-adapter-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    for sub in ["models", "vectors/models", "corpus"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    std::fs::write(d.join("models/v001_eng.czm"), b"").unwrap();
    std::fs::write(d.join("vectors/models/syn_a.czm"), b"").unwrap();
    std::fs::write(d.join("corpus/hello.txt"), "héllo\r\n").unwrap();
    d
}

/// The adapter under test and the fake's call log.
struct Harness {
    adapter: ProcessAdapter,
    dir: PathBuf,
    log: PathBuf,
    seen: usize,
}

impl Harness {
    fn spawn(name: &str, pythonpath: &str) -> Harness {
        Harness::spawn_with(name, pythonpath, &[])
    }

    fn spawn_with(name: &str, pythonpath: &str, extra_env: &[(&str, &str)]) -> Harness {
        let dir = scratch(name);
        let log = dir.join("calls.jsonl");
        let ctx = Context::new(dir.join("models"), dir.join("vectors"), dir.join("corpus"));
        let mut env = vec![
            ("PYTHONPATH".to_string(), pythonpath.to_string()),
            ("FAKE_COMPRESS_ZIP_LOG".to_string(), log.display().to_string()),
            ("PYTHONDONTWRITEBYTECODE".to_string(), "1".to_string()),
        ];
        env.extend(extra_env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let adapter = ProcessAdapter::spawn(&[python(), adapter_script()], &env, Duration::from_secs(60), &ctx)
            .expect("the adapter starts and answers hello");
        Harness { adapter, dir, log, seen: 0 }
    }

    /// With the fake package (None: no python3, test skipped).
    fn fake(name: &str) -> Option<Harness> {
        have_python().then(|| Harness::spawn(name, &fake_path()))
    }

    /// The answer and the fake calls it made, in order (`{fn, args}` each).
    fn call(&mut self, op: &str, args: Value) -> (Outcome, Vec<Value>) {
        let out = self.adapter.call(op, &args);
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let calls = lines[self.seen..].iter().map(|l| serde_json::from_str(l).unwrap()).collect();
        self.seen = lines.len();
        (out, calls)
    }

    fn ok(&mut self, op: &str, args: Value) -> (Value, Vec<Value>) {
        match self.call(op, args.clone()) {
            (Outcome::Result(v), calls) => (v, calls),
            (other, _) => panic!("{op} {args}: expected a result, got {other:?}"),
        }
    }

    fn err(&mut self, op: &str, args: Value) -> String {
        match self.call(op, args.clone()).0 {
            Outcome::Error(e) => e,
            other => panic!("{op} {args}: expected an error, got {other:?}"),
        }
    }

    fn path(&self, rel: &str) -> String {
        self.dir.join(rel).display().to_string()
    }
}

/// The `args` of every call of `func`, in order.
fn args_of<'a>(calls: &'a [Value], func: &str) -> Vec<&'a Value> {
    calls.iter().filter(|c| c["fn"] == func).map(|c| &c["args"]).collect()
}

fn names(calls: &[Value]) -> Vec<&str> {
    calls.iter().map(|c| c["fn"].as_str().unwrap()).collect()
}

fn ints(v: &Value) -> Vec<i64> {
    as_array(v).unwrap_or_else(|| panic!("not an integer array: {v:.200}"))
}

fn qkv(n_heads: usize, seed: i64) -> Vec<i64> {
    (0..64 * n_heads as i64 + 128).map(|i| (i * 7 + seed * 13) % 255 - 127).collect()
}

#[test]
fn handshake_declares_the_honest_features() {
    let Some(h) = Harness::fake("hello") else { return };
    assert_eq!(h.adapter.name(), "python-compress_zip");
    let f: Vec<&str> = h.adapter.features().iter().map(String::as_str).collect();
    assert_eq!(f, ["chunk_ops", "coder_ops", "core", "file_ops", "layers", "model_ops", "sink_key"]);
}

#[test]
fn primitives_reach_the_package_with_its_argument_names() {
    let Some(mut h) = Harness::fake("primitives") else { return };
    let cases = [
        ("sra_rne_tte_s32", json!({"v": 7, "sh": 1}), "sra_rne_tte_s32", json!({"x": 7, "shift": 1}), 101),
        (
            "sra_rne_tte_s64_to_s32",
            json!({"v": "-9223372036854775808", "sh": 63}),
            "sra_rne_tte_s64_to_s32",
            json!({"x": i64::MIN, "shift": 63}),
            102,
        ),
        ("udiv_rne_tte_u32", json!({"n": 1000000, "d": 3}), "udiv_rne_tte_u32", json!({"numerator": 1000000, "divisor": 3}), 103),
        ("div_rne_tte_s32", json!({"n": -7, "d": 2}), "div_rne_tte_s32", json!({"numerator": -7, "divisor": 2}), 104),
        (
            "div_rne_tte_s64_to_s32",
            json!({"n": "-9007199254740993", "d": "18446744073709551615"}),
            "div_rne_tte_s64_to_s32",
            json!({"numerator": -9007199254740993i64, "denominator": u64::MAX}),
            105,
        ),
        ("isqrt32", json!({"x": 4294967295u32}), "isqrt32_restoring", json!({"x": 4294967295u32}), 106),
        ("clamp_i8", json!({"x": -200}), "clamp_i8", json!({"x": -200}), 107),
        ("argmax", json!({"xs": [3, 9, 9]}), "argmax_deterministic", json!({"values": [3, 9, 9], "type": "list"}), 108),
    ];
    for (op, args, func, want_args, want) in cases {
        let (v, calls) = h.ok(op, args);
        assert_eq!(v, json!({ "result": want }), "{op}");
        assert_eq!(calls, vec![json!({"fn": func, "args": want_args})], "{op}");
    }
    // udiv by zero: the package raises ValueError, so the answer is an error
    // (the spec says 0; the runner scores that difference).
    let e = h.err("udiv_rne_tte_u32", json!({"n": 5, "d": 0}));
    assert!(e.contains("ValueError"), "{e}");
}

#[test]
fn tables_and_exp() {
    let Some(mut h) = Harness::fake("tables") else { return };
    let (v, calls) = h.ok("exp2_table", json!({}));
    assert_eq!(ints(&v["table"]), (0..256).collect::<Vec<_>>());
    assert_eq!(names(&calls), ["Exp2LutQ16"]);

    let (v, calls) = h.ok("rope_table", json!({"rows": 3, "theta_q16": 655360000}));
    assert_eq!(args_of(&calls, "RopeLut"), [&json!({"max_seq_len": 3, "head_dim": 64, "base": {"float": 10000.0}})]);
    let want: Vec<i64> = (0..3).flat_map(|p| (0..32).map(move |i| 100 * p + i)).collect();
    assert_eq!(ints(&v["cos"]), want, "row-major rows × 32");
    assert_eq!(ints(&v["sin"]), want.iter().map(|x| -x).collect::<Vec<_>>());

    // 200 rows × 32 = 6400 values: answered packed as i16
    let (v, _) = h.ok("rope_table", json!({"rows": 200, "theta_q16": 655360000}));
    assert_eq!(v["cos"]["dtype"], "i16");
    assert_eq!(v["cos"]["len"], 6400);
    assert_eq!(ints(&v["cos"])[6399], 199 * 100 + 31);
    assert_eq!(ints(&v["sin"])[32], -100);

    let (v, calls) = h.ok("exp_q16", json!({"d": -5, "coef_q24": 378194}));
    assert_eq!(v, json!({"result": 201}));
    assert_eq!(args_of(&calls, "exp_q16_from_attn_diff"), [&json!({"diff": -5, "exp_lut": {"object": "Exp2LutQ16"}})]);
    let (v, calls) = h.ok("exp_q16", json!({"d": -9, "coef_q24": 37819}));
    assert_eq!(v, json!({"result": 202}));
    assert_eq!(
        args_of(&calls, "exp_q16_from_diff_acc"),
        [&json!({"diff": -9, "exp_lut": {"object": "Exp2LutQ16"}, "coef_q24": 37819})]
    );
}

#[test]
fn layers_map_to_the_package_layers() {
    let Some(mut h) = Harness::fake("layers") else { return };
    let (v, calls) = h.ok("linear", json!({"x": [1, 2], "w": [1, 2, 3, 4, 5, 6], "n_out": 3}));
    assert_eq!(v, json!({"y": [0, 1, 2]}));
    assert_eq!(args_of(&calls, "linear_i8_to_i32"), [&json!({"x": [1, 2], "weight": [[1, 2], [3, 4], [5, 6]], "bias": null})]);

    let (v, calls) = h.ok("rmsnorm", json!({"x": [1, -2, 3], "w": [4, 5, 6]}));
    assert_eq!(v, json!({"y": [1, -2, 3]}));
    assert_eq!(args_of(&calls, "rmsnorm_i8"), [&json!({"x": [1, -2, 3], "weight": [4, 5, 6], "eps_scaled": 1})]);

    let (v, calls) = h.ok("reglu", json!({"gate": [1, 2], "up": [-3, 4]}));
    assert_eq!(v, json!({"y": [-3, 4]}));
    assert_eq!(args_of(&calls, "reglu_i8"), [&json!({"gate": [1, 2], "value": [-3, 4]})]);

    let x: Vec<i64> = (0..64).map(|i| i - 32).collect();
    let c: Vec<i64> = (0..32).collect();
    let s: Vec<i64> = (0..32).map(|i| -i).collect();
    for query in [false, true] {
        let (v, calls) = h.ok("rope", json!({"x": x, "cos": c, "sin": s, "query": query}));
        let (func, xname, sign) = if query { ("apply_rope_q_i8", "q", -1) } else { ("apply_rope_i8", "x", 1) };
        assert_eq!(ints(&v["y"]), x.iter().map(|e| e * sign).collect::<Vec<_>>(), "query {query}");
        // one table row becomes a one-row table at position 0
        let a = args_of(&calls, func);
        assert_eq!(a.len(), 1, "{calls:?}");
        assert_eq!(a[0][xname], json!(x));
        assert_eq!(a[0]["pos"], 0);
        assert_eq!(a[0]["rope_cos"], json!([c]));
        assert_eq!(a[0]["rope_sin"], json!([s]));
    }
}

#[test]
fn attention_builds_the_cache_per_step() {
    let Some(mut h) = Harness::fake("attention") else { return };
    let n_heads = 2;
    let d = 64 * n_heads;
    let steps = [qkv(n_heads, 1), qkv(n_heads, 2)];
    let rep = qkv(n_heads, 3);
    let sink: Vec<i64> = (0..64).map(|i| i % 5).collect();
    let args = json!({
        "n_heads": n_heads, "score_mult": [111, 222], "sink_key": sink, "rope_theta_q16": 655360000,
        "steps": steps, "repeat": {"qkv": rep, "count": 2}, "output": "all",
    });
    let (v, calls) = h.ok("attention", args.clone());
    let all: Vec<&Vec<i64>> = steps.iter().chain([&rep, &rep]).collect();
    let out = v["out"].as_array().unwrap();
    assert_eq!(out.len(), 4);
    for (p, o) in out.iter().enumerate() {
        // the fake head echoes its query: heads concatenate to the Q part
        assert_eq!(ints(o), all[p][..d], "step {p}");
    }
    assert_eq!(args_of(&calls, "RopeLut"), [&json!({"max_seq_len": 4, "head_dim": 64, "base": {"float": 10000.0}})]);
    let ropes = args_of(&calls, "apply_rope_i8");
    let heads = args_of(&calls, "gqa_attention_mqa_i8_cached");
    assert_eq!((ropes.len(), heads.len()), (4, 8));
    for p in 0..4 {
        assert_eq!(ropes[p]["x"], json!(&all[p][d..d + 64]), "K of step {p}");
        assert_eq!(ropes[p]["pos"], p);
        for hd in 0..n_heads {
            let a = heads[p * n_heads + hd];
            assert_eq!(a["q"], json!(&all[p][hd * 64..hd * 64 + 64]), "step {p} head {hd}");
            assert_eq!(a["pos"], p);
            assert_eq!(a["score_mul_q15"], [111, 222][hd]);
            assert_eq!(a["sink_key"], json!(sink));
            assert_eq!(a["exp2_lut"], json!({"object": "Exp2LutQ16"}));
            // cache rows 0..=p: RoPE'd K (the fake RoPE echoes) and raw V
            let k: Vec<&[i64]> = all[..=p].iter().map(|s| &s[d..d + 64]).collect();
            let vv: Vec<&[i64]> = all[..=p].iter().map(|s| &s[d + 64..]).collect();
            assert_eq!(a["k_cache"], json!(k), "step {p}");
            assert_eq!(a["v_cache"], json!(vv), "step {p}");
        }
    }

    // output "last": one answer, the heads called for the last step only
    let mut last = args;
    last["output"] = json!("last");
    last["sink_key"] = Value::Null;
    let (v, calls) = h.ok("attention", last);
    assert_eq!(v["out"].as_array().unwrap().len(), 1);
    let heads = args_of(&calls, "gqa_attention_mqa_i8_cached");
    assert_eq!(heads.len(), n_heads);
    assert_eq!(heads[0]["pos"], 3);
    assert_eq!(heads[0]["k_cache"].as_array().unwrap().len(), 4);
    assert_eq!(heads[0]["sink_key"], Value::Null);
    assert_eq!(args_of(&calls, "apply_rope_i8").len(), 4);
}

#[test]
fn freq_table_and_packed_arrays() {
    let Some(mut h) = Harness::fake("freq") else { return };
    let (v, calls) = h.ok("freq_table", json!({"logits": [3, -4, 5], "coef_q24": 37819, "total": 1000}));
    assert_eq!(v, json!({"cum": [1, 2, 3]}));
    assert_eq!(
        args_of(&calls, "build_cumfreqs"),
        [&json!({"logits": [3, -4, 5], "vocab_size": 3, "exp_lut": {"object": "Exp2LutQ16"}, "coef_q24": 37819, "target_total": 1000})]
    );

    // a packed i32 argument of 5000 values is decoded; the 5000-entry answer comes back packed u32
    let logits: Vec<i32> = (0..5000).map(|i| i * 1000 - 2_000_000).collect();
    let bytes: Vec<u8> = logits.iter().flat_map(|x| x.to_le_bytes()).collect();
    let packed = json!({"dtype": "i32", "len": 5000, "hex": czip::conformance::case::hex(&bytes),
                        "sha256": czip::conformance::case::sha256_hex(&bytes)});
    let (v, calls) = h.ok("freq_table", json!({"logits": packed, "coef_q24": 1, "total": 2}));
    let got: Vec<i64> = args_of(&calls, "build_cumfreqs")[0]["logits"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
    assert_eq!(got, logits.iter().map(|&x| i64::from(x)).collect::<Vec<_>>());
    assert_eq!(v["cum"]["dtype"], "u32");
    assert_eq!(ints(&v["cum"]), (1..=5000).collect::<Vec<_>>());

    // packed i8 / i16 / u32 arguments too
    let (v, calls) = h.ok("rmsnorm", json!({"x": {"dtype": "i8", "hex": "ff7f80"}, "w": {"dtype": "u32", "hex": "010000000200000003000000"}}));
    assert_eq!(v, json!({"y": [-1, 127, -128]}));
    assert_eq!(args_of(&calls, "rmsnorm_i8")[0]["weight"], json!([1, 2, 3]));
    let (_, calls) = h.ok("argmax", json!({"xs": {"dtype": "i16", "hex": "0080ffff0100"}}));
    assert_eq!(args_of(&calls, "argmax_deterministic")[0]["values"], json!([-32768, -1, 1]));
    // a packed array whose digest does not match is refused
    let e = h.err("argmax", json!({"xs": {"dtype": "i16", "hex": "0100", "sha256": "00"}}));
    assert!(e.contains("sha256"), "{e}");
}

#[test]
fn coder_ops_drive_the_package_coder() {
    let Some(mut h) = Harness::fake("coder") else { return };
    let (v, calls) = h.ok("coder_encode", json!({"symbols": [1, 2, 258], "cum": [10, 20, 30]}));
    assert_eq!(v["bytes_hex"], "010202", "the fake encoder writes symbol mod 256");
    assert_eq!(names(&calls), ["ArithEncoder", "ArithEncoder.encode_symbol", "ArithEncoder.encode_symbol", "ArithEncoder.encode_symbol", "ArithEncoder.finish"]);
    let enc = args_of(&calls, "ArithEncoder.encode_symbol");
    assert_eq!(enc[2], &json!({"cumfreqs": [10, 20, 30], "symbol": 258, "total": 30}));

    let (v, calls) = h.ok("coder_encode", json!({"symbols": [0, 1], "tables": [[5, 9], [7, 8]]}));
    assert_eq!(v["bytes_hex"], "0001");
    let enc = args_of(&calls, "ArithEncoder.encode_symbol");
    assert_eq!((enc[0]["total"].clone(), enc[1]["cumfreqs"].clone()), (json!(9), json!([7, 8])));

    let (v, calls) = h.ok("coder_decode", json!({"bytes_hex": "0709", "n": 2, "tables": [[1, 2], [3, 4]]}));
    assert_eq!(v, json!({"symbols": [7, 9]}));
    assert_eq!(args_of(&calls, "ArithDecoder"), [&json!({"data": {"bytes_hex": "0709"}})]);
    let dec = args_of(&calls, "ArithDecoder.decode_symbol");
    assert_eq!(dec, [&json!({"cumfreqs": [1, 2], "total": 2}), &json!({"cumfreqs": [3, 4], "total": 4})]);
    let (v, _) = h.ok("coder_decode", json!({"bytes_hex": "05", "n": 1, "cum": [1, 2]}));
    assert_eq!(v, json!({"symbols": [5]}));
    assert!(h.err("coder_decode", json!({"bytes_hex": "05", "n": 2, "tables": [[1, 2]]})).contains("1 tables for 2 steps"));
}

#[test]
fn model_ops_compose_model_and_coder() {
    let Some(mut h) = Harness::fake("model") else { return };
    let v001 = h.path("models/v001_eng.czm");
    let (v, calls) = h.ok("model_logits", json!({"model": "v001", "tokens": [5, 6, 7], "positions": [0, 2]}));
    assert_eq!(
        names(&calls),
        ["ModelWeights.load", "Model", "Model.reset", "Model.forward", "Model.get_cumfreqs", "Model.forward", "Model.forward", "Model.get_cumfreqs"]
    );
    assert_eq!(args_of(&calls, "ModelWeights.load"), [&json!({"path": v001})]);
    let fwd = args_of(&calls, "Model.forward");
    assert_eq!(fwd, [&json!({"token": 1022, "pos": 0}), &json!({"token": 5, "pos": 1}), &json!({"token": 6, "pos": 2})]);
    // the fake logits echo (token, pos)
    assert_eq!(v["logits"], json!([[1022, 0, 0, 0, 0, 0, 0, 0], [6, 2, 0, 0, 0, 0, 0, 0]]));
    assert_eq!(v["cum"], json!([[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8]]));

    // the model is loaded once and reset for every request
    let (v, calls) = h.ok("chunk_encode", json!({"model": "v001", "tokens": [5, 6, 7]}));
    assert_eq!(v, json!({"bytes_hex": "050607"}));
    assert_eq!(names(&calls)[..2], ["Model.reset", "ArithEncoder"]);
    assert_eq!(args_of(&calls, "Model.forward").iter().map(|a| a["token"].as_i64().unwrap()).collect::<Vec<_>>(), [1022, 5, 6]);
    let enc = args_of(&calls, "ArithEncoder.encode_symbol");
    assert_eq!(enc[1], &json!({"cumfreqs": [1, 2, 3, 4, 5, 6, 7, 8], "symbol": 6, "total": 8}));

    // decoding feeds back what it decoded
    let (v, calls) = h.ok("chunk_decode", json!({"model": "v001", "bytes_hex": "0304", "n": 2}));
    assert_eq!(v, json!({"tokens": [3, 4]}));
    assert_eq!(args_of(&calls, "Model.forward"), [&json!({"token": 1022, "pos": 0}), &json!({"token": 3, "pos": 1})]);
    let (v, _) = h.ok("chunk_encode", json!({"model": "v001", "tokens": []}));
    assert_eq!(v, json!({"bytes_hex": ""}));

    // synthetic models resolve under vectors/models
    let (_, calls) = h.ok("model_logits", json!({"model": "synthetic/syn_a", "tokens": [], "positions": [0]}));
    assert_eq!(args_of(&calls, "ModelWeights.load"), [&json!({"path": h.path("vectors/models/syn_a.czm")})]);

    // no tokenizer in the package's API
    assert!(matches!(h.call("tokenize", json!({"model": "v001", "text": {"hex": "61"}})).0, Outcome::Unsupported(_)));
    // a model file that is not there, a model name that is not one
    assert!(h.err("chunk_encode", json!({"model": "v000", "tokens": [1]})).contains("not found"));
    assert!(h.err("chunk_encode", json!({"model": "synthetic/../x", "tokens": [1]})).contains("unknown model"));
    assert!(h.err("model_logits", json!({"model": "v001", "tokens": [1], "positions": [2]})).contains("beyond"));
}

#[test]
fn file_ops_go_through_the_package_command_line() {
    let Some(mut h) = Harness::fake("files") else { return };
    let v001 = h.path("models/v001_eng.czm");
    let text = "héllo\r\n".as_bytes();
    let (v, calls) = h.ok("compress", json!({"model": "v001", "text": {"hex": czip::conformance::case::hex(text)}, "level": null, "codec": "zstd", "model_id_hash": "271bf17f"}));
    assert_eq!(args_of(&calls, "cli.compress"), [&json!({"model": v001, "codec": "zstd"})]);
    let file = czip::conformance::case::unhex(v["file_hex"].as_str().unwrap()).unwrap();
    let head = format!("FAKECZ{{\"model\": \"{v001}\", \"codec\": \"zstd\"}}\n");
    assert_eq!(file, [head.as_bytes(), text].concat(), "the fake CLI writes its arguments and the input");

    // corpus texts are read and checked by hash; level 1 is what the package does
    let sha = czip::conformance::case::sha256_hex(text);
    let (v2, _) = h.ok("compress", json!({"model": "v001", "text": {"corpus": "hello.txt", "sha256": sha}, "level": 1, "codec": "zstd"}));
    assert_eq!(v2, v);
    let e = h.err("compress", json!({"model": "v001", "text": {"corpus": "hello.txt", "sha256": "00"}, "level": 1, "codec": "zstd"}));
    assert!(e.contains("SHA-256"), "{e}");
    assert!(h.err("compress", json!({"model": "v001", "text": {"corpus": "../x"}, "codec": "zstd"})).contains("bare file name"));
    // other levels are not something the package can do
    assert!(matches!(h.call("compress", json!({"model": "v001", "text": {"hex": "61"}, "level": 3, "codec": "brotli"})).0, Outcome::Unsupported(_)));

    let (v3, calls) = h.ok("decompress", json!({"model": "v001", "file_hex": v["file_hex"]}));
    assert_eq!(v3, json!({"text_hex": czip::conformance::case::hex(text)}));
    assert_eq!(args_of(&calls, "cli.decompress"), [&json!({"model": v001, "codec": null})]);

    // a failing command line is an error naming its status and last stderr line
    let e = h.err("compress", json!({"model": "v001", "text": {"hex": czip::conformance::case::hex(b"<|bos|>")}, "level": 1, "codec": "brotli"}));
    assert!(e.contains("exited with status 1") && e.contains("special token"), "{e}");
    assert!(h.err("decompress", json!({"model": "v001", "file_hex": "00"})).contains("not a fake file"));
}

#[test]
fn unknown_ops_and_bad_arguments_never_crash_it() {
    let Some(mut h) = Harness::fake("bad") else { return };
    for op in ["model_trace", "requantize", "model_tables", "no_such_op", "Hello"] {
        match h.call(op, json!({"model": "v001", "tokens": [1], "position": 0, "x": [1], "mult": 1, "shift": 1})).0 {
            Outcome::Unsupported(_) => {}
            other => panic!("{op}: expected unsupported, got {other:?}"),
        }
    }
    let bad = [
        ("sra_rne_tte_s32", json!({"v": 7})),
        ("sra_rne_tte_s32", json!({"v": "seven", "sh": 1})),
        ("sra_rne_tte_s32", json!({"v": true, "sh": 1})),
        ("sra_rne_tte_s32", json!({"v": 1.5, "sh": 1})),
        ("clamp_i8", json!([1, 2])),
        ("argmax", json!({"xs": []})),
        ("argmax", json!({"xs": "nope"})),
        ("argmax", json!({"xs": {"dtype": "f32", "hex": "00000000"}})),
        ("argmax", json!({"xs": {"dtype": "i32", "hex": "000000"}})),
        ("argmax", json!({"xs": {"dtype": "i32", "hex": "zz000000"}})),
        ("argmax", json!({"xs": {"dtype": "i32", "len": 2, "hex": "00000000"}})),
        ("argmax", json!({"xs": [1, "x"]})),
        ("linear", json!({"x": [1, 2], "w": [1, 2, 3], "n_out": 2})),
        ("linear", json!({"x": [1000], "w": [1], "n_out": 1})),
        ("rmsnorm", json!({"x": [1, 2], "w": [1]})),
        ("reglu", json!({"gate": [1], "up": [1, 2]})),
        ("rope", json!({"x": [1], "cos": [1], "sin": [1]})),
        ("rope", json!({"x": vec![0; 64], "cos": vec![0; 32], "sin": vec![0; 32], "query": "yes"})),
        ("attention", json!({"n_heads": 1, "score_mult": [1], "rope_theta_q16": 1, "steps": [[1, 2]]})),
        ("attention", json!({"n_heads": 0, "score_mult": [], "rope_theta_q16": 1, "steps": []})),
        ("attention", json!({"n_heads": 1, "score_mult": [1, 2], "rope_theta_q16": 1, "steps": [qkv(1, 0)]})),
        ("attention", json!({"n_heads": 1, "score_mult": [1], "sink_key": [1], "rope_theta_q16": 1, "steps": [qkv(1, 0)]})),
        ("attention", json!({"n_heads": 1, "score_mult": [1], "rope_theta_q16": 1, "steps": [qkv(1, 0)], "output": "first"})),
        ("attention", json!({"n_heads": 1, "score_mult": [1], "rope_theta_q16": 1, "steps": [qkv(1, 0)], "repeat": {"qkv": [1], "count": 1}})),
        ("attention", json!({"n_heads": 1, "score_mult": [1], "rope_theta_q16": 1, "steps": [vec![200; 192]]})),
        ("freq_table", json!({"logits": [], "coef_q24": 1, "total": 1})),
        ("coder_encode", json!({"symbols": [1]})),
        ("coder_encode", json!({"symbols": [1], "cum": []})),
        ("coder_decode", json!({"bytes_hex": "xyz", "n": 1, "cum": [1]})),
        ("coder_decode", json!({"bytes_hex": "00", "n": -1, "cum": [1]})),
        ("model_logits", json!({"model": 7, "tokens": [], "positions": [0]})),
        ("model_logits", json!({"model": "v001", "tokens": [], "positions": []})),
        ("chunk_decode", json!({"model": "v001", "bytes_hex": "0"})),
        ("compress", json!({"model": "v001", "text": "hello", "codec": "zstd"})),
        ("compress", json!({"model": "v001", "text": {"hex": "61"}, "codec": "lzma"})),
        ("decompress", json!({"model": "v001"})),
        ("udiv_rne_tte_u32", json!({"n": 1, "d": 0})),
    ];
    for (op, args) in bad {
        h.err(op, args);
    }
    // still alive and answering
    let (v, _) = h.ok("clamp_i8", json!({"x": 1}));
    assert_eq!(v, json!({"result": 107}));
}

/// Whether `python3` runs and `compress_zip` does not import without
/// `PYTHONPATH`; when it is installed, its absence cannot be tested (skipped).
fn package_absent() -> bool {
    if !have_python() {
        return false;
    }
    let importable = Command::new(python())
        .args(["-c", "import compress_zip"])
        .env("PYTHONPATH", "")
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if importable {
        eprintln!("SKIPPED: compress_zip is installed on this machine, so its absence cannot be tested");
    }
    !importable
}

#[test]
fn without_the_package_hello_works_and_every_op_says_how_to_install_it() {
    if !package_absent() {
        return;
    }
    let mut h = Harness::spawn("absent", "");
    assert_eq!(h.adapter.features().len(), 7, "features are still declared, so the cases show the install message");
    let ops = [
        "sra_rne_tte_s32", "sra_rne_tte_s64_to_s32", "udiv_rne_tte_u32", "div_rne_tte_s32", "div_rne_tte_s64_to_s32",
        "isqrt32", "clamp_i8", "argmax", "exp2_table", "rope_table", "exp_q16", "linear", "rmsnorm", "reglu", "rope",
        "attention", "freq_table", "coder_encode", "coder_decode", "tokenize", "model_logits", "chunk_encode",
        "chunk_decode", "compress", "decompress",
    ];
    for op in ops {
        let e = h.err(op, json!({}));
        assert!(e.starts_with(NOT_IMPORTABLE) && e.contains("No module named") && e.contains("pip install -e"), "{op}: {e}");
    }
    assert!(matches!(h.call("no_such_op", json!({})).0, Outcome::Unsupported(_)));
}

/// `czip-conformance run --impl python` without the package stopped with
/// exit 1 and no report, where the README promises a run whose cases say what
/// is wrong: now one line says why, every case sent fails with the import
/// error and the install command (the reject cases too, though they expect an
/// error), the report is written, and the run exits 1.
#[test]
fn run_without_the_package_writes_a_report_that_names_the_cause_on_every_case() {
    if !package_absent() {
        return;
    }
    let dir = scratch("run-absent");
    let report = dir.join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_czip-conformance"))
        .args(["run", "--impl", "python", "--suite", "reject", "--report", &report.display().to_string()])
        .current_dir(ROOT)
        .env("PYTHONPATH", dir.join("corpus"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    let cause: Vec<&str> = stderr.lines().filter(|l| l.contains("not importable")).collect();
    assert_eq!(
        cause,
        ["czip-conformance: the Python package compress_zip is not importable (ModuleNotFoundError: No module named 'compress_zip'), so every case fails; install it with `pip install -e <path to compress-zip>` (adapters/python/README.md)"]
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap()).unwrap();
    let suite = &r["suites"][0];
    assert_eq!((&suite["name"], &suite["total"], &suite["pass"], &suite["fail"]), (&json!("reject"), &json!(89), &json!(0), &json!(69)));
    let failures = r["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 69);
    for f in failures {
        let m = f["message"].as_str().unwrap();
        assert!(
            m.starts_with(&format!("implementation failure: {NOT_IMPORTABLE} (ModuleNotFoundError: No module named 'compress_zip'); install it")) && m.contains("pip install -e"),
            "{m}"
        );
    }
    let unsupported = r["unsupported"].as_array().unwrap();
    assert_eq!(unsupported.len(), 20, "cases needing undeclared features stay unsupported");
}

/// The transport as a non-Rust runner sees it: ids echoed, one line per
/// request in order (also for junk), stdout holds protocol lines only (the
/// fake's loader prints), and EOF on stdin ends the adapter with status 0.
#[test]
fn raw_session_and_exit_on_eof() {
    if !have_python() {
        return;
    }
    let dir = scratch("raw");
    let mut child = Command::new(python())
        .arg(adapter_script())
        .env("PYTHONPATH", fake_path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let models = dir.join("models").display().to_string();
    let requests = [
        json!({"id": 1, "op": "hello", "args": {"protocol": 1, "models_dir": models, "vectors_dir": ".", "corpus_dir": "."}})
            .to_string(),
        String::new(),
        "not json".into(),
        json!({"id": 42, "op": "chunk_encode", "args": {"model": "v001", "tokens": [1]}}).to_string(),
        json!({"id": 43, "op": "clamp_i8"}).to_string(),
        json!({"id": 44, "op": "sra_rne_tte_s32", "args": {"v": 1}}).to_string(),
        json!({"id": 45, "op": "mystery", "args": {}}).to_string(),
        json!({"id": 46, "op": "hello", "args": {"protocol": 2}}).to_string(),
        json!({"id": 47, "args": {}}).to_string(),
    ];
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all((requests.join("\n") + "\n").as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit on EOF with 0: {:?}", out.status);
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}")))
        .collect();
    let ids: Vec<&Value> = lines.iter().map(|l| &l["id"]).collect();
    assert_eq!(ids, [&json!(1), &Value::Null, &json!(42), &json!(43), &json!(44), &json!(45), &json!(46), &json!(47)]);
    assert_eq!(lines[0]["result"]["version"], "0.0.0+fake");
    assert_eq!(lines[0]["result"]["importable"], true);
    assert!(lines[1]["error"].as_str().unwrap().contains("not JSON"));
    assert_eq!(lines[2]["result"], json!({"bytes_hex": "01"}));
    assert!(lines[3]["error"].as_str().unwrap().contains("missing argument"), "{}", lines[3]);
    assert!(lines[4]["error"].as_str().unwrap().contains("\"sh\"") || lines[4]["error"].as_str().unwrap().contains("'sh'"));
    assert!(lines[5]["unsupported"].is_string());
    assert!(lines[6]["error"].as_str().unwrap().contains("protocol 1"));
    assert_eq!(lines[7]["error"], "op: expected a string, not None", "a request without op is malformed, not an unknown op");
    assert!(String::from_utf8_lossy(&out.stderr).contains("FAKE compress_zip: loading"), "the package's print went to stderr");
}

#[test]
fn check_flag_reports_the_package() {
    if !have_python() {
        return;
    }
    let run = |pp: &str| Command::new(python()).arg(adapter_script()).arg("--check").env("PYTHONPATH", pp).env("PYTHONDONTWRITEBYTECODE", "1").output().unwrap();
    let o = run(&fake_path());
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && s.contains("importable, version 0.0.0+fake") && s.contains("FAKE"), "{s}");
    let o = run("");
    let s = String::from_utf8_lossy(&o.stdout);
    if !s.contains("NOT importable") {
        eprintln!("SKIPPED (absent half): compress_zip is installed here");
        return;
    }
    assert!(!o.status.success() && s.contains("pip install -e"), "{s}");
}

/// The adapter's hard-coded op methods (`op_NAME`) and `FEATURES` name only
/// ops of the op table and features the engine knows (read from the script's
/// text: no Python needed).
#[test]
fn the_adapter_names_only_ops_and_features_of_the_op_table() {
    use czip::conformance::op_table::Op;
    use czip::conformance::ops::ALL_FEATURES;
    let script = std::fs::read_to_string(adapter_script()).unwrap();
    let ops: Vec<&str> = script.lines().filter_map(|l| l.trim_start().strip_prefix("def op_")?.split('(').next()).collect();
    assert!(ops.len() >= 20, "{ops:?}");
    for op in &ops {
        assert!(Op::from_name(op).is_some(), "the adapter's op_{op} is not in the op table");
    }
    let features = script.lines().find_map(|l| l.strip_prefix("FEATURES = [")).expect("a FEATURES list");
    let features: Vec<&str> = features.trim_end_matches(']').split(',').map(|f| f.trim().trim_matches('"')).collect();
    assert!(features.len() >= 5, "{features:?}");
    for f in &features {
        assert!(ALL_FEATURES.contains(f), "the adapter declares {f:?}, a feature the engine does not know");
    }
}

// ---------------------------------------------------------------------------
// The three adapter artefacts a first run against the real package showed
// (issue 10), one test per class. The fake mirrors the real signatures, so a
// regression in the adapter fails here before it shows as a false divergence.

/// argmax: the package takes a sequence and tests `if not values`, which a
/// numpy array of more than one element cannot answer ("truth value …
/// ambiguous") and a one-element array holding 0 answers wrongly ("Empty
/// sequence"). The adapter hands it a list. (Run with a `CZIP_PYTHON` that
/// has numpy to see the array the adapter would otherwise build.)
#[test]
fn argmax_gets_a_list_not_an_array() {
    let Some(mut h) = Harness::fake("argmax-sequence") else { return };
    for xs in [json!([5, 7]), json!([0]), json!([-3, -3, -3, 9])] {
        let (v, calls) = h.ok("argmax", json!({ "xs": xs }));
        assert_eq!(v, json!({"result": 108}), "{xs}");
        assert_eq!(calls, vec![json!({"fn": "argmax_deterministic", "args": {"values": xs, "type": "list"}})]);
    }
}

/// Revisions before the attention sink (a740d62) have no `sink_key`
/// keyword: the adapter reads the signature, declares no `sink_key` feature,
/// answers cases without a sink without the keyword, and answers
/// `unsupported` for a case with one.
#[test]
fn without_the_sink_keyword_attention_is_answered_without_it_and_a_sink_is_unsupported() {
    if !have_python() {
        return;
    }
    let mut h = Harness::spawn_with("no-sink", &fake_path(), &[("FAKE_COMPRESS_ZIP_NO_SINK_KEY", "1")]);
    let f: Vec<&str> = h.adapter.features().iter().map(String::as_str).collect();
    assert_eq!(f, ["chunk_ops", "coder_ops", "core", "file_ops", "layers", "model_ops"]);
    let args = |sink: Value| {
        json!({"n_heads": 1, "score_mult": [7], "sink_key": sink, "rope_theta_q16": 655360000,
               "steps": [qkv(1, 1), qkv(1, 2)], "output": "all"})
    };
    let (v, calls) = h.ok("attention", args(Value::Null));
    assert_eq!(v["out"].as_array().unwrap().len(), 2);
    let heads = args_of(&calls, "gqa_attention_mqa_i8_cached");
    assert_eq!(heads.len(), 2);
    assert!(heads.iter().all(|a| a.get("sink_key").is_none()), "no sink_key keyword: {heads:?}");
    let sink: Vec<i64> = (0..64).map(|i| i % 3).collect();
    match h.call("attention", args(json!(sink))).0 {
        Outcome::Unsupported(why) => assert!(why.contains("no attention sink"), "{why}"),
        other => panic!("expected unsupported, got {other:?}"),
    }
    // With the keyword (the latest revision) the sink is passed on.
    let Some(mut h) = Harness::fake("with-sink") else { return };
    assert!(h.adapter.features().contains("sink_key"));
    let (_, calls) = h.ok("attention", args(json!(sink)));
    assert_eq!(args_of(&calls, "gqa_attention_mqa_i8_cached")[0]["sink_key"], json!(sink));
}

/// The package's coder has no pending-bit counters: `pending_at_finish` and
/// `max_pending` (diagnostic fields of `coder_encode` in the op table) are
/// not answered, which is reported as such and never fails the case; a
/// wrong normative field still fails, and so does a wrong diagnostic value.
#[test]
fn unanswered_diagnostic_fields_are_not_answered_not_failed() {
    use czip::conformance::case::Case;
    use czip::conformance::compare::{judge, Status};
    let Some(mut h) = Harness::fake("diagnostic") else { return };
    let args = json!({"symbols": [1, 2], "cum": [10, 20, 30]});
    let case = |expect: Value| -> Case {
        serde_json::from_value(json!({"id": "t", "op": "coder_encode", "spec": "§7", "args": args, "expect": expect})).unwrap()
    };
    let answer = h.call("coder_encode", args.clone()).0;
    let Outcome::Result(v) = &answer else { panic!("{answer:?}") };
    assert_eq!(v, &json!({"bytes_hex": "0102"}), "no counters in the answer");

    let r = judge(&case(json!({"bytes_hex": "0102", "pending_at_finish": 0, "max_pending": 3})), &answer);
    assert_eq!((r.status, r.not_answered.clone()), (Status::Pass, vec!["max_pending".to_string(), "pending_at_finish".to_string()]));
    assert!(!r.message.contains("null"), "{}", r.message);

    let r = judge(&case(json!({"bytes_hex": "0103", "max_pending": 3})), &answer);
    assert_eq!((r.status, r.message.as_str()), (Status::Fail, "bytes_hex: expected [\"0103\"] got [\"0102\"]"));
    assert_eq!(r.not_answered, ["max_pending"]);

    let wrong = Outcome::Result(json!({"bytes_hex": "0102", "max_pending": 4}));
    let r = judge(&case(json!({"bytes_hex": "0102", "max_pending": 3})), &wrong);
    assert_eq!((r.status, r.message.as_str()), (Status::Fail, "max_pending: expected [3] got [4]"));
    assert!(r.not_answered.is_empty());
}

/// The committed runs against the real package (`reports/python/`, see
/// adapters/python/README.md): every failure has a cause other than
/// `unexplained`, none is an adapter artefact, and alice is localised to the
/// RMSNorm witness of spec §11 row 1.
#[test]
fn committed_real_package_reports_explain_every_failure() {
    for rev in ["a740d62", "latest"] {
        let path = Path::new(ROOT).join(format!("reports/python/{rev}/report.json"));
        let r: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let failures = r["failures"].as_array().unwrap();
        let counted: u64 = r["causes"].as_array().unwrap().iter().map(|c| c["cases"].as_u64().unwrap()).sum();
        assert_eq!(counted as usize, failures.len(), "{rev}: the cause table counts every failure");
        for f in failures {
            let (id, m) = (f["id"].as_str().unwrap(), f["message"].as_str().unwrap());
            assert_ne!(f["cause"], "unexplained", "{rev} {id}: {m}");
            for artefact in ["TypeError", "truth value", "null"] {
                assert!(!m.contains(artefact), "{rev} {id}: {m}");
            }
        }
        let alice = failures.iter().find(|f| f["id"] == "file.compress.v001.L1.brotli.alice_ch1_txt").unwrap();
        let loc: Vec<&str> = alice["localisation"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
        assert!(loc.contains(&"reference witness at chunk 45 position 31: RMSNorm of the final norm has ⌊Σx²/D⌋ = 9482"), "{rev}: {loc:?}");
        assert_eq!(alice["cause"], "udiv_rounds_up");
        let na: Vec<(&str, u64)> =
            r["not_answered"].as_array().unwrap().iter().map(|n| (n["field"].as_str().unwrap(), n["cases"].as_u64().unwrap())).collect();
        assert_eq!(na, [("coder_encode.max_pending", 15), ("coder_encode.pending_at_finish", 15)], "{rev}");
    }
}
