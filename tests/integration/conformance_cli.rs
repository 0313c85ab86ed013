//! The `czip-conformance` command line as a user and a runner meet it: `serve`
//! against every adapter-side rule of `adapters/PROTOCOL.md`, the flags of
//! `run` and `score`, exit statuses (2 for usage errors, 1 for failed runs),
//! a closed stdout, and `ci/conformance-gate.sh` called from elsewhere.

use crate::common;

use common::{stderr, stdout};

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_czip-conformance");
const CZIP: &str = env!("CARGO_BIN_EXE_czip");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `czip-conformance ARGS` run from the repository root, stdin empty.
fn cc(args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(ROOT).stdin(Stdio::null()).output().expect("czip-conformance runs")
}

/// `czip-conformance serve EXTRA` in `dir` with `env` added, fed `lines`
/// (then EOF); returns the exit output and the parsed answer lines.
fn serve_in(dir: &Path, extra: &[&str], env: &[(&str, &str)], lines: &[&str]) -> (Output, Vec<Value>) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(extra)
        .env_remove("CZIP_MODELS_DIR")
        .env_remove("CZIP_CORPUS_DIR")
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut input = child.stdin.take().unwrap();
    input.write_all(lines.iter().map(|l| format!("{l}\n")).collect::<String>().as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    let answers = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}")))
        .collect();
    (out, answers)
}

/// `serve` from the repository root with no flags; asserts exit 0 and a clean stderr.
fn serve(lines: &[&str]) -> Vec<Value> {
    let (out, answers) = serve_in(Path::new(ROOT), &[], &[], lines);
    assert_eq!(out.status.code(), Some(0), "exit 0 at EOF; stderr: {}", stderr(&out));
    assert_eq!(stderr(&out), "");
    answers
}

const HELLO: &str = r#"{"id":1,"op":"hello","args":{"protocol":1}}"#;

// ---------------------------------------------------------------------------
// serve: adapters/PROTOCOL.md, adapter side

/// §3: "protocol — 1 for this document. An adapter that does not speak it answers `error`".
#[test]
fn serve_hello_refuses_any_protocol_but_1() {
    let answers = serve(&[
        r#"{"id":1,"op":"hello","args":{"protocol":2}}"#,
        r#"{"id":2,"op":"hello","args":{}}"#,
        r#"{"id":3,"op":"hello"}"#,
        r#"{"id":4,"op":"hello","args":{"protocol":"1"}}"#,
        r#"{"id":5,"op":"hello","args":{"protocol":1,"models_dir":7}}"#,
    ]);
    assert_eq!(
        answers,
        [
            json!({"id": 1, "error": "this adapter speaks protocol 1, the runner asked for 2"}),
            json!({"id": 2, "error": "hello: missing protocol (this adapter speaks protocol 1)"}),
            json!({"id": 3, "error": "hello: missing protocol (this adapter speaks protocol 1)"}),
            json!({"id": 4, "error": "this adapter speaks protocol 1, the runner asked for \"1\""}),
            json!({"id": 5, "error": "hello: models_dir: expected a path, not a number"}),
        ]
    );
}

/// §3: the answer to `hello` has `name`, `version` and `features`.
#[test]
fn serve_hello_answers_name_version_features() {
    let answers = serve(&[HELLO]);
    assert_eq!(
        answers,
        [json!({"id": 1, "result": {
            "name": "czip-rust-serve",
            "version": env!("CARGO_PKG_VERSION"),
            "features": ["core", "layers", "model_ops", "trace", "coder_ops", "chunk_ops", "file_ops", "levels", "sink_key", "multi_layer", "synthetic"],
        }})]
    );
}

/// §2: "`id` — echoed **unchanged** from the request" — whatever it is; no id is null.
#[test]
fn serve_echoes_every_id_unchanged() {
    let ids = [json!(18446744073709551615u64), json!("seven"), json!(-3), json!(2.5), json!({"a": [1]}), json!(null)];
    let lines: Vec<String> = ids.iter().map(|id| json!({"id": id, "op": "clamp_i8", "args": {"x": 300}}).to_string()).collect();
    let mut lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    lines.push(r#"{"op":"clamp_i8","args":{"x":300}}"#);
    let answers = serve(&lines);
    let mut want: Vec<Value> = ids.iter().map(|id| json!({"id": id, "result": {"result": 127}})).collect();
    want.push(json!({"id": null, "result": {"result": 127}}));
    assert_eq!(answers, want);
}

/// §2: "If a line cannot be parsed as a JSON object, answer `{"id": null, "error": "…"}`".
#[test]
fn serve_answers_a_line_that_is_not_json_with_a_null_id_error() {
    let answers = serve(&["not json", r#"{"id":7,"op":"clamp_i8""#]);
    assert_eq!(
        answers,
        [
            json!({"id": null, "error": "request is not JSON: expected ident at line 1 column 2"}),
            json!({"id": null, "error": "request is not JSON: EOF while parsing an object at line 1 column 23"}),
        ]
    );
}

/// §2 again for a line that is not UTF-8 (serve stopped with "stdin: stream did not contain valid UTF-8", exit 1); serving goes on.
#[test]
fn serve_answers_a_line_that_is_not_utf8_and_goes_on() {
    let mut child = Command::new(BIN).arg("serve").current_dir(ROOT).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(b"{\"id\":1,\"op\":\"\xff\"}\n{\"id\":2,\"op\":\"clamp_i8\",\"args\":{\"x\":1}}\n").unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "{\"error\":\"request is not UTF-8: invalid utf-8 sequence of 1 bytes from index 14\",\"id\":null}\n{\"id\":2,\"result\":{\"result\":1}}\n"
    );
}

/// §2: the same for a line that is JSON but not an object (it answered an `unsupported` with op "" before).
#[test]
fn serve_answers_json_that_is_not_an_object_with_a_null_id_error() {
    let answers = serve(&["[1,2]", "42", r#""hello""#, "null", "true"]);
    let kinds = ["an array", "a number", "a string", "null", "a boolean"];
    let want: Vec<Value> =
        kinds.iter().map(|k| json!({"id": null, "error": format!("a request is a JSON object, not {k}")})).collect();
    assert_eq!(answers, want);
}

/// §2: "Treat a missing or `null` `args` as `{}`"; args of another type are an error, not a crash.
#[test]
fn serve_treats_missing_or_null_args_as_empty() {
    let answers = serve(&[
        r#"{"id":1,"op":"exp2_table"}"#,
        r#"{"id":2,"op":"exp2_table","args":null}"#,
        r#"{"id":3,"op":"exp2_table","args":{}}"#,
        r#"{"id":4,"op":"clamp_i8"}"#,
        r#"{"id":5,"op":"clamp_i8","args":null}"#,
        r#"{"id":6,"op":"clamp_i8","args":{}}"#,
        r#"{"id":7,"op":"clamp_i8","args":[300]}"#,
        r#"{"id":8,"op":"clamp_i8","args":"x"}"#,
    ]);
    assert!(answers[0]["result"]["table"].as_array().is_some_and(|t| t.len() == 256), "{}", answers[0]);
    assert_eq!(answers[1]["result"], answers[0]["result"]);
    assert_eq!(answers[2]["result"], answers[0]["result"]);
    assert_eq!(answers[3], json!({"id": 4, "error": "missing argument \"x\""}));
    assert_eq!(answers[4], json!({"id": 5, "error": "missing argument \"x\""}));
    assert_eq!(answers[5], json!({"id": 6, "error": "missing argument \"x\""}));
    assert_eq!(answers[6], json!({"id": 7, "error": "args: expected an object, not an array"}));
    assert_eq!(answers[7], json!({"id": 8, "error": "args: expected an object, not a string"}));
}

/// §2: "`unsupported` — the implementation cannot do this op at all (unknown
/// op …). Do not use it for bad arguments": a missing or non-string `op` is a
/// malformed request (error), bad arguments are errors.
#[test]
fn serve_unknown_op_is_unsupported_and_bad_requests_are_errors() {
    let answers = serve(&[
        r#"{"id":1,"op":"model_sing","args":{}}"#,
        r#"{"id":2,"args":{}}"#,
        r#"{"id":3,"op":5,"args":{}}"#,
        r#"{"id":4,"op":"clamp_i8","args":{"x":"ten"}}"#,
        r#"{"id":5,"op":"sra_rne_tte_s32","args":{"v":1,"sh":32}}"#,
    ]);
    assert_eq!(answers[0], json!({"id": 1, "unsupported": "unknown op \"model_sing\""}));
    assert_eq!(answers[1], json!({"id": 2, "error": "op: missing"}));
    assert_eq!(answers[2], json!({"id": 3, "error": "op: expected a string, not a number"}));
    for a in &answers[3..] {
        assert!(a["error"].is_string() && a.as_object().unwrap().len() == 2, "an error, not unsupported: {a}");
    }
}

/// §1 "EOF on stdin means exit … with status 0"; §2 "Strictly one response
/// per request, in request order"; §1 "stdout carries protocol lines only":
/// every stdout line is one JSON object with `id` and exactly one of
/// `result`, `error`, `unsupported`. Blank lines are not requests.
#[test]
fn serve_one_answer_per_request_in_order_and_exit_0_at_eof() {
    assert_eq!(serve(&[]), Vec::<Value>::new(), "no request, no answer, exit 0");
    let answers = serve(&[
        HELLO,
        "",
        r#"{"id":2,"op":"udiv_rne_tte_u32","args":{"n":7,"d":2}}"#,
        "   ",
        "junk",
        r#"{"id":4,"op":"nope"}"#,
        r#"{"id":5,"op":"argmax","args":{"xs":[]}}"#,
        r#"{"id":6,"op":"isqrt32","args":{"x":17}}"#,
    ]);
    let ids: Vec<&Value> = answers.iter().map(|a| &a["id"]).collect();
    assert_eq!(ids, [&json!(1), &json!(2), &Value::Null, &json!(4), &json!(5), &json!(6)]);
    for a in &answers {
        let keys: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).filter(|k| *k != "id").collect();
        assert!(matches!(keys[..], ["result"] | ["error"] | ["unsupported"]), "exactly one answer field: {a}");
    }
    assert_eq!(answers[1], json!({"id": 2, "result": {"result": 4}}));
    assert_eq!(answers[5], json!({"id": 6, "result": {"result": 4}}));
}

/// §1 "Flush after every response line … a buffered answer is a hang": each
/// answer arrives while stdin is still open.
#[test]
fn serve_flushes_each_answer_before_the_next_request() {
    let mut child = Command::new(BIN)
        .arg("serve")
        .current_dir(ROOT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut output = BufReader::new(child.stdout.take().unwrap());
    for (id, x) in [(1, 300), (2, -300), (3, 5)] {
        writeln!(input, "{}", json!({"id": id, "op": "clamp_i8", "args": {"x": x}})).unwrap();
        input.flush().unwrap();
        let mut line = String::new();
        output.read_line(&mut line).unwrap();
        let want = json!({"id": id, "result": {"result": x.clamp(-127, 127)}});
        assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), want);
    }
    drop(input);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// §6, the worked session, line for line (the toy answers `model_trace` as
/// unsupported; serve has it and §4 applies: "A missing file is an `error`
/// that names the path").
#[test]
fn serve_answers_the_worked_session_of_the_protocol() {
    let answers = serve(&[
        r#"{"id":1,"op":"hello","args":{"protocol":1,"models_dir":"/m","vectors_dir":"/v","corpus_dir":"/c"}}"#,
        r#"{"id":2,"op":"udiv_rne_tte_u32","args":{"n":1000000,"d":3}}"#,
        r#"{"id":3,"op":"sra_rne_tte_s64_to_s32","args":{"v":"-9223372036854775808","sh":63}}"#,
        r#"{"id":4,"op":"argmax","args":{"xs":{"dtype":"i32","len":2,"hex":"0100000001000000"}}}"#,
        r#"{"id":5,"op":"isqrt32","args":{"x":"ten"}}"#,
        r#"{"id":6,"op":"model_trace","args":{"model":"v001","tokens":[],"position":0}}"#,
        r#"{"id":7,"op":"model_trace","args":{"model":"synthetic/tiny","tokens":[],"position":0}}"#,
        r#"{"id":8,"op":"model_trace","args":{"model":"v002","tokens":[],"position":0}}"#,
    ]);
    assert_eq!(answers[1], json!({"id": 2, "result": {"result": 333333}}));
    assert_eq!(answers[2], json!({"id": 3, "result": {"result": -1}}));
    assert_eq!(answers[3], json!({"id": 4, "result": {"result": 0}}));
    assert!(answers[4]["error"].is_string(), "{}", answers[4]);
    assert_eq!(
        answers[5],
        json!({"id": 6, "error": "model v001 not found at /m/v001_eng.czm (pass --models-dir DIR or set CZIP_MODELS_DIR to the directory of the published models)"})
    );
    assert_eq!(
        answers[6],
        json!({"id": 7, "error": "model synthetic/tiny not found at /v/models/tiny.czm (the synthetic models are in the golden corpus: pass --vectors DIR)"})
    );
    assert_eq!(answers[7], json!({"id": 8, "error": "unknown model \"v002\" (expected v000, v001 or synthetic/NAME)"}));
}

/// §4 "Answer plain arrays up to 4096 elements, packed objects above".
#[test]
fn serve_answers_plain_arrays_up_to_4096_elements_and_packed_above() {
    let answers = serve(&[
        r#"{"id":1,"op":"rope_table","args":{"rows":128,"theta_q16":655360000}}"#,
        r#"{"id":2,"op":"rope_table","args":{"rows":129,"theta_q16":655360000}}"#,
    ]);
    assert_eq!(answers[0]["result"]["cos"].as_array().map(Vec::len), Some(4096));
    let packed = &answers[1]["result"]["cos"];
    assert_eq!((&packed["dtype"], &packed["len"]), (&json!("i16"), &json!(4128)));
    assert_eq!(packed["hex"].as_str().map(str::len), Some(4128 * 4));
    assert!(packed["sha256"].is_string(), "{packed}");
}

/// §4 texts: NAME "must be a bare file name"; a different SHA-256 is an `error`.
#[test]
fn serve_refuses_corpus_names_with_paths_and_wrong_digests() {
    let dir = common::scratch("conformance-cli-serve-corpus");
    std::fs::write(dir.join("t.txt"), "abc").unwrap();
    let hello = json!({"id": 1, "op": "hello", "args": {"protocol": 1, "corpus_dir": dir.display().to_string()}}).to_string();
    let sha_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    let compress = |id: u64, text: Value| json!({"id": id, "op": "compress", "args": {"model": "v001", "text": text, "level": 1, "codec": "zstd"}}).to_string();
    let lines = [
        hello,
        compress(2, json!({"corpus": "../t.txt", "sha256": sha_abc})),
        compress(3, json!({"corpus": "t.txt", "sha256": "00"})),
    ];
    let answers = serve(&lines.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(answers[1], json!({"id": 2, "error": "text.corpus: \"../t.txt\" must be a bare file name"}));
    assert_eq!(
        answers[2],
        json!({"id": 3, "error": format!("corpus text t.txt has SHA-256 {sha_abc}, the case expects 00: not the same corpus")})
    );
}

/// serve takes --models-dir / --vectors / --corpus, honours CZIP_MODELS_DIR
/// and CZIP_CORPUS_DIR (it used ../shared/models whatever was set), and
/// `hello` still overrides them; relative `hello` paths are taken from its
/// working directory (§1).
#[test]
fn serve_takes_the_path_flags_and_environment_and_hello_overrides_them() {
    let dir = common::scratch("conformance-cli-serve-paths");
    let trace = r#"{"id":2,"op":"model_trace","args":{"model":"v000","tokens":[],"position":0}}"#;
    let text = r#"{"id":3,"op":"tokenize","args":{"model":"v000","text":{"corpus":"x.txt"}}}"#;
    let synthetic = r#"{"id":4,"op":"model_trace","args":{"model":"synthetic/s","tokens":[],"position":0}}"#;
    let hint = "(pass --models-dir DIR or set CZIP_MODELS_DIR to the directory of the published models)";
    let err = |a: &Value| a["error"].as_str().unwrap_or_default().to_string();

    let (out, a) = serve_in(&dir, &["--models-dir", "/flag-m", "--vectors", "/flag-v"], &[], &[trace, synthetic]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(err(&a[0]), format!("model v000 not found at /flag-m/v000_eng.czm {hint}"));
    assert!(err(&a[1]).starts_with("model synthetic/s not found at /flag-v/models/s.czm "), "{}", a[1]);

    let (_, a) = serve_in(&dir, &[], &[("CZIP_MODELS_DIR", "/env-m")], &[trace]);
    assert_eq!(err(&a[0]), format!("model v000 not found at /env-m/v000_eng.czm {hint}"));

    let (_, a) = serve_in(&dir, &["--models-dir", "/flag-m"], &[("CZIP_MODELS_DIR", "/env-m")], &[trace]);
    assert_eq!(err(&a[0]), format!("model v000 not found at /flag-m/v000_eng.czm {hint}"), "the flag wins over the variable");

    let hello = r#"{"id":1,"op":"hello","args":{"protocol":1,"models_dir":"rel-m"}}"#;
    let (_, a) = serve_in(&dir, &["--models-dir", "/flag-m"], &[], &[hello, trace]);
    assert_eq!(err(&a[1]), format!("model v000 not found at {}/v000_eng.czm {hint}", dir.join("rel-m").display()));

    let Some(models) = common::models_dir() else { return };
    let models = models.display().to_string();
    let (_, a) = serve_in(&dir, &["--models-dir", &models, "--corpus", "/flag-c"], &[("CZIP_CORPUS_DIR", "/env-c")], &[text]);
    assert_eq!(err(&a[0]), "cannot read corpus text /flag-c/x.txt: No such file or directory (os error 2)");
    let (_, a) = serve_in(&dir, &[], &[("CZIP_MODELS_DIR", &models), ("CZIP_CORPUS_DIR", "/env-c")], &[text]);
    assert_eq!(err(&a[0]), "cannot read corpus text /env-c/x.txt: No such file or directory (os error 2)");
}

// ---------------------------------------------------------------------------
// run and score flags, exit statuses

/// Suite names of the summary table `run` prints (its rows between the header and the closing line).
fn suite_rows(out: &str) -> Vec<String> {
    let known = ["core", "divergences", "files", "model-v000", "model-v001", "reject", "synthetic"];
    out.lines().filter_map(|l| l.split_whitespace().next()).filter(|w| known.contains(w)).map(String::from).collect()
}

/// `run` with the shared models and corpus.
fn run_args<'a>(models: &'a str, corpus: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["run", "--impl", "rust", "--models-dir", models, "--corpus", corpus];
    v.extend_from_slice(extra);
    v
}

/// `--suite reject model-v000` was refused; repeated flags and comma lists work too.
#[test]
fn suite_takes_several_values() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let (models, corpus) = (models.display().to_string(), golden.join("corpus").display().to_string());
    for extra in [
        &["--suite", "reject", "model-v000"][..],
        &["--suite", "reject", "--suite", "model-v000"],
        &["--suite", "reject,model-v000"],
        &["--suite", "model-v000", "reject", "reject"],
    ] {
        let o = cc(&run_args(&models, &corpus, extra));
        assert_eq!(o.status.code(), Some(0), "{extra:?}: {}", stderr(&o));
        assert_eq!(suite_rows(&stdout(&o)), ["model-v000", "reject"], "{extra:?}");
        assert!(stdout(&o).ends_with("\n145 passed, 0 failed, 0 skipped\n"), "{extra:?}: {}", stdout(&o));
    }
}

/// `--case GLOB` runs the matching cases; with `--suite`, the union: a named
/// suite's row counts all its cases, another suite's row only the matched ones.
#[test]
fn case_globs_select_cases_and_combine_with_suites() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let (models, corpus) = (models.display().to_string(), golden.join("corpus").display().to_string());
    let o = cc(&run_args(&models, &corpus, &["--case", "primitive.clamp_i8.edge.?", "--case", "primitive.clamp_i8.edge.1?"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Some clamp edges separate §11 rows, so `divergences` lists them too.
    assert_eq!(suite_rows(&stdout(&o)), ["core", "divergences"]);
    assert!(stdout(&o).ends_with("\n15 passed, 0 failed, 0 skipped\n"), "edge.0 … edge.14: {}", stdout(&o));
    let o = cc(&run_args(&models, &corpus, &["--suite", "model-v000", "--case", "primitive.clamp_i8.edge.0"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(suite_rows(&stdout(&o)), ["core", "model-v000"]);
    assert!(stdout(&o).ends_with("\n61 passed, 0 failed, 0 skipped\n"), "{}", stdout(&o));
}

/// Usage errors exit 2 with one line (they exited 1, like a failed run).
#[test]
fn usage_errors_exit_2() {
    let cases: [(&[&str], &str); 7] = [
        (
            &["run", "--impl", "rust", "--suite", "core", "--case", "primitive.clamp_i8.*", "--case", "file.*.nope?"],
            "czip-conformance: --case file.*.nope?: matches no case id (`czip-conformance list` names the suites; ids are in vectors/)\n",
        ),
        (
            &["run", "--impl", "rust", "--suite", "core", "nope"],
            "czip-conformance: --suite nope: no such suite (have: core, divergences, files, model-v000, model-v001, reject, synthetic)\n",
        ),
        (&["run", "--impl", "nope"], "czip-conformance: --impl nope: no such implementation (rust, python, a manifest path, impls/nope.toml or nope.toml in $CZIP_IMPLS_PATH); `czip-conformance impls` lists the known ones\n"),
        (&["serve", "--fault", "nope"], "czip-conformance: --fault nope: no such fault (have: "),
        (&["run", "--impl", "rust", "--timeout", "soon"], "error: invalid value 'soon' for '--timeout <SECONDS>'"),
        (&["run", "--impl", "rust", "--kernel", "gpu"], "error: invalid value 'gpu' for '--kernel <K>'"),
        (
            &["score", "--impl-name", "x", "--files", ".", "--model", "v002"],
            "czip-conformance: --model v002: neither v000, v001 nor a readable model file (No such file or directory (os error 2))\n",
        ),
    ];
    for (args, want) in cases {
        let o = cc(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).starts_with(want), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}");
    }
    let o = cc(&["serve", "--fault", "nope"]);
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}

/// Failed runs still exit 1: a corpus that is not there, a manifest that is not there.
#[test]
fn run_failures_exit_1() {
    let dir = common::scratch("conformance-cli-run-failures");
    let o = cc(&["run", "--impl", "rust", "--vectors", &dir.join("none").display().to_string()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("czip-conformance: cannot read "), "{}", stderr(&o));
    let o = cc(&["run", "--impl", &dir.join("none.toml").display().to_string(), "--suite", "core"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}

/// The names of the scored files, in report order (from junit.xml).
fn scored(report: &Path) -> Vec<String> {
    let xml = std::fs::read_to_string(report.join("junit.xml")).unwrap();
    xml.split("<testcase ").skip(1).filter_map(|t| t.split(" name=\"").nth(1)?.split('"').next().map(String::from)).collect()
}

/// `score --files` takes one file, several paths, and recurses into
/// directories (sorted by path; other files ignored).
#[test]
fn score_files_takes_files_and_directories_recursively() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let dir = common::scratch("conformance-cli-score-files");
    let src = golden.join("files/v001/L1/zstd");
    let tree = dir.join("tree");
    for (name, sub) in [("edge_empty.txt", "a"), ("edge_1byte.txt", "b/c"), ("edge_1newline.txt", "")] {
        std::fs::create_dir_all(tree.join(sub)).unwrap();
        std::fs::copy(src.join(format!("{name}.czip")), tree.join(sub).join(format!("{name}.czip"))).unwrap();
    }
    std::fs::write(tree.join("b/notes.txt"), "not a czip file").unwrap();
    let (models, corpus) = (models.display().to_string(), golden.join("corpus").display().to_string());
    let score = |files: &[&Path], report: &str| {
        let report = dir.join(report);
        let mut args = vec!["score".to_string(), "--impl-name".into(), "t".into(), "--models-dir".into(), models.clone()];
        args.extend(["--corpus".into(), corpus.clone(), "--report".into(), report.display().to_string(), "--files".into()]);
        args.extend(files.iter().map(|f| f.display().to_string()));
        let o = Command::new(BIN).args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        scored(&report)
    };
    assert_eq!(score(&[&tree], "r1"), ["file:edge_empty.txt", "file:edge_1byte.txt", "file:edge_1newline.txt"]);
    assert_eq!(score(&[&tree.join("b/c/edge_1byte.txt.czip")], "r2"), ["file:edge_1byte.txt"]);
    assert_eq!(
        score(&[&tree.join("edge_1newline.txt.czip"), &tree.join("a"), &tree.join("a/edge_empty.txt.czip")], "r3"),
        ["file:edge_empty.txt", "file:edge_1newline.txt"],
        "sorted by path, each file once"
    );
    let o = cc(&["score", "--impl-name", "t", "--files", &tree.join("b/notes.txt").display().to_string(), &tree.join("missing").display().to_string()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), format!("czip-conformance: cannot read {}: No such file or directory (os error 2)\n", tree.join("missing").display()));
}

/// `score --model` takes a name or, like `czip -m`, a path — to a copy of a
/// published model, recognised by content.
#[test]
fn score_model_takes_a_name_or_the_path_of_a_published_model() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let dir = common::scratch("conformance-cli-score-model");
    // A v000 file whose model_id_hash names no model: scored with --model.
    let file = dir.join("edge_1byte.txt.czip");
    let c = Command::new(CZIP)
        .args(["compress", "-m", &models.join("v000_eng.czm").display().to_string(), "--model-id-hash", "deadbeef", "-c", "zstd"])
        .args(["-i", &golden.join("corpus/edge_1byte.txt").display().to_string(), "-o", &file.display().to_string()])
        .output()
        .unwrap();
    assert!(c.status.success(), "{}", stderr(&c));
    let copy = dir.join("my-model.czm");
    std::fs::copy(models.join("v000_eng.czm"), &copy).unwrap();
    std::fs::write(dir.join("other.czm"), "not a model").unwrap();
    let (models, corpus) = (models.display().to_string(), golden.join("corpus").display().to_string());
    let score = |model: &str| {
        let args = ["score", "--impl-name", "t", "--files", &file.display().to_string(), "--models-dir", &models, "--corpus", &corpus, "--model", model];
        Command::new(BIN).args(args).output().unwrap()
    };
    for model in ["v000", &copy.display().to_string(), &format!("{models}/v000_eng.czm")] {
        let o = score(model);
        assert_eq!(o.status.code(), Some(0), "{model}: {}{}", stdout(&o), stderr(&o));
        assert!(stdout(&o).ends_with("\n1 passed, 0 failed, 0 skipped\n"), "{model}: {}", stdout(&o));
    }
    assert_eq!(score("v001").status.code(), Some(1), "the other model does not decode it");
    let o = score(&dir.join("other.czm").display().to_string());
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "czip-conformance: --model {}: not a copy of a published model (v000_eng.czm or v001_eng.czm); its content hash 9c90d70a matches neither\n",
            dir.join("other.czm").display()
        )
    );
}

// ---------------------------------------------------------------------------
// a closed stdout

/// Runs `args` with stdout a pipe whose read end is already closed; returns
/// the status code and stderr.
fn with_closed_stdout(args: &[&str], input: &str) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(ROOT)
        .stdin(Stdio::piped())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    (out.status.code(), stderr(&out))
}

/// `czip-conformance list | true` panicked ("failed printing to stdout:
/// Broken pipe", exit 101): now it stops quietly with status 141.
#[test]
fn a_closed_stdout_ends_list_and_serve_quietly() {
    assert_eq!(with_closed_stdout(&["list"], ""), (Some(141), String::new()));
    let requests = format!("{HELLO}\n{HELLO}\n");
    assert_eq!(with_closed_stdout(&["serve"], &requests), (Some(141), String::new()));
}

/// `run … | true`: the run completes and writes its report, then exits 141 without a message about stdout.
#[test]
fn a_closed_stdout_lets_run_finish_its_report() {
    let dir = common::scratch("conformance-cli-closed-run");
    let report = dir.join("report");
    let (code, err) = with_closed_stdout(&["run", "--impl", "rust", "--suite", "core", "--report", &report.display().to_string()], "");
    assert_eq!(code, Some(141), "{err}");
    assert!(!err.contains("stdout") && !err.contains("panicked"), "{err}");
    assert!(report.join("report.json").is_file() && report.join("junit.xml").is_file());
}

// ---------------------------------------------------------------------------
// ci/conformance-gate.sh

/// A relative manifest path and CZIP_REPORT_DIR are the caller's, not the
/// repository's (the script `cd`s there).
#[test]
fn conformance_gate_resolves_relative_paths_from_the_caller() {
    let dir = common::scratch("conformance-cli-gate");
    std::fs::write(dir.join("serve.toml"), format!("name = \"serve-test\"\ncommand = [{:?}, \"serve\"]\n", BIN)).unwrap();
    let o = Command::new("bash")
        .arg(Path::new(ROOT).join("ci/conformance-gate.sh"))
        .args(["serve.toml", "core"])
        .env("CZIP_REPORT_DIR", "gate-reports")
        // The profile this test was built with (target/<profile>/czip-conformance):
        // the script's own default, `release`, would be a second full build.
        .env("CZIP_CARGO_PROFILE", Path::new(BIN).parent().and_then(Path::file_name).unwrap())
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = dir.join("gate-reports/serve");
    assert!(stdout(&o).ends_with(&format!(
        "7577 passed, 0 failed, 0 skipped\nconformance gate for {}: PASSED (reports in {})\n",
        dir.join("serve.toml").display(),
        out.display()
    )), "{}", stdout(&o));
    assert!(out.join("report.json").is_file() && out.join("junit.xml").is_file());
    assert!(!Path::new(ROOT).join("gate-reports").exists());
}

// ---------------------------------------------------------------------------
// help

/// The help of the commands this file tests, as a user reads it.
#[test]
fn help_of_serve_and_score() {
    for name in ["serve", "score"] {
        let o = cc(&[name, "--help"]);
        assert_eq!(o.status.code(), Some(0));
        insta::assert_snapshot!(format!("help_{name}"), stdout(&o));
    }
}
