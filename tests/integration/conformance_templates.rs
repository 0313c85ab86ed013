//! Template implementations (`[templates]` in a manifest): the README's
//! example, pointed at our own `czip`, passes the `files` suite; only a
//! refusal the command itself made passes a reject case; optional fragments,
//! the working directory, `--keep-outputs` and the `model_id_hash` mask.

use crate::common;

use common::repo;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use czip::conformance::case::Case;
use czip::conformance::compare::{judge, Status};
use czip::conformance::implementation::{from_manifest, Implementation, ProcessAdapter};
use czip::conformance::ops::{Context, Outcome};
use czip::conformance::suite::load_cases;
use serde_json::{json, Value};

const RUNNER: &str = env!("CARGO_BIN_EXE_czip-conformance");
const CZIP: &str = env!("CARGO_BIN_EXE_czip");

/// Writes a manifest with these two templates into `dir`.
fn manifest(dir: &Path, compress: &str, decompress: &str) -> PathBuf {
    let p = dir.join("impl.toml");
    let text = format!("name = \"t\"\n[templates]\ncompress = {compress:?}\ndecompress = {decompress:?}\nfeatures = [\"file_ops\", \"levels\"]\n");
    std::fs::write(&p, text).unwrap();
    p
}

/// A context whose models need not exist (template commands below do not read them).
fn context() -> Context {
    let models = std::env::var_os("CZIP_MODELS_DIR").map_or_else(|| repo("../shared/models"), PathBuf::from);
    Context::new(models, repo("vectors"), repo("../shared/golden/corpus"))
}

fn open(m: &Path, keep: Option<&Path>) -> Box<dyn Implementation> {
    from_manifest(m, context(), keep, None).expect("the manifest opens")
}

fn case(id: &str) -> Case {
    load_cases(&repo("vectors")).unwrap().into_iter().find(|c| c.id == id).unwrap_or_else(|| panic!("no case {id}"))
}

/// A reject case with an inline text: what a template run on it is scored.
fn reject_verdict(compress: &str) -> (Status, String) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = common::scratch(&format!("conformance-templates-reject-{}", N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    std::fs::write(dir.join("notexec"), "#!/bin/sh\nexit 0\n").unwrap();
    let mut imp = open(&manifest(&dir, compress, "true"), None);
    let c = case("file.reject.compress.v001.lone_ff");
    let r = judge(&c, &imp.call(&c.op, &c.args));
    (r.status, r.message)
}

#[test]
fn a_refusal_is_a_non_zero_exit_and_reports_first_and_last_stderr_lines() {
    let (status, msg) = reject_verdict("printf 'bad input\\nat byte 1\\nrefused\\n' >&2; exit 3");
    assert_eq!(status, Status::Pass);
    assert_eq!(msg, "refused: exit status 3: `printf 'bad input\\nat byte 1\\nrefused\\n' >&2; exit 3`; stderr: bad input … refused");
}

#[test]
fn a_missing_command_is_a_broken_run_not_a_refusal() {
    let (status, msg) = reject_verdict("./mycz");
    assert_eq!(status, Status::Fail);
    assert_eq!(msg, "implementation failure: run error: command not found (exit 127): `./mycz`; stderr: sh: 1: ./mycz: not found");
}

#[test]
fn a_command_that_is_not_executable_is_a_broken_run() {
    let (status, msg) = reject_verdict("./notexec");
    assert_eq!(status, Status::Fail);
    assert_eq!(msg, "implementation failure: run error: command not executable (exit 126): `./notexec`; stderr: sh: 1: ./notexec: Permission denied");
}

#[test]
fn a_command_killed_by_a_signal_is_a_broken_run() {
    let (status, msg) = reject_verdict("kill -s KILL $$");
    assert_eq!(status, Status::Fail);
    assert_eq!(msg, "implementation failure: run error: killed by signal 9: `kill -s KILL $$`; no stderr");
    // A signal `sh` reports as 128 + N (the command was not exec'd).
    let (status, msg) = reject_verdict("sh -c 'kill -s SEGV $$'; exit $?");
    assert_eq!(status, Status::Fail);
    assert_eq!(msg, "implementation failure: run error: killed by signal 11 (exit 139 from sh): `sh -c 'kill -s SEGV $$'; exit $?`; stderr: Segmentation fault");
}

#[test]
fn crashes_are_broken_runs() {
    let (status, msg) = reject_verdict("echo \"thread 'main' panicked at src/main.rs:3:5:\" >&2; exit 101");
    assert_eq!(status, Status::Fail);
    assert_eq!(
        msg,
        "implementation failure: run error: crashed (exit 101, a Rust panic): `echo \"thread 'main' panicked at src/main.rs:3:5:\" >&2; exit 101`; stderr: thread 'main' panicked at src/main.rs:3:5:"
    );
    let (status, msg) = reject_verdict("printf 'Traceback (most recent call last):\\nValueError: x\\n' >&2; exit 1");
    assert_eq!(status, Status::Fail);
    assert_eq!(
        msg,
        "implementation failure: run error: crashed (exit 1, a Python traceback): `printf 'Traceback (most recent call last):\\nValueError: x\\n' >&2; exit 1`; stderr: Traceback (most recent call last): … ValueError: x"
    );
}

#[test]
fn success_without_an_output_file_is_a_broken_run() {
    let (status, msg) = reject_verdict("true");
    assert_eq!(status, Status::Fail);
    assert!(msg.starts_with("implementation failure: run error: exited 0 but wrote no output file "), "{msg}");
}

#[test]
fn a_timeout_is_a_broken_run() {
    let dir = common::scratch("conformance-templates-timeout");
    let m = dir.join("impl.toml");
    std::fs::write(&m, "name = \"slow\"\ntimeout_secs = 1\n[templates]\ncompress = \"sleep 30\"\n").unwrap();
    let mut imp = open(&m, None);
    let c = case("file.reject.compress.v001.lone_ff");
    let started = std::time::Instant::now();
    let r = judge(&c, &imp.call(&c.op, &c.args));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!((r.status, r.message.as_str()), (Status::Fail, "implementation failure: run error: timed out after 1 s, stopped: `sleep 30`; no stderr"));
}

/// What a compress template wrote, as text.
fn compress_output(compress: &str, level: Value) -> String {
    let dir = common::scratch("conformance-templates-output");
    let mut imp = open(&manifest(&dir, compress, "true"), None);
    let args = json!({"model": "v001", "text": {"hex": "41"}, "level": level, "codec": "zstd", "model_id_hash": "271bf17f"});
    let Outcome::Result(v) = imp.call("compress", &args) else { panic!("no result") };
    let bytes: Vec<u8> = (0..v["file_hex"].as_str().unwrap().len() / 2)
        .map(|i| u8::from_str_radix(&v["file_hex"].as_str().unwrap()[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn an_optional_fragment_is_dropped_when_its_value_is_empty() {
    let tpl = "printf '%s|' x [-L {level}] -c {codec} [[{model_id_hash}]] > {output}";
    assert_eq!(compress_output(tpl, json!(3)), "x|-L|3|-c|zstd|[271bf17f]|");
    assert_eq!(compress_output(tpl, Value::Null), "x|-c|zstd|[271bf17f]|");
}

#[test]
fn commands_run_in_the_manifest_directory() {
    let dir = common::scratch("conformance-templates-cwd");
    std::fs::write(dir.join("where.sh"), "pwd > \"$1\"\n").unwrap();
    let mut imp = open(&manifest(&dir, "sh ./where.sh {output}", "true"), None);
    let args = json!({"model": "v001", "text": {"hex": "41"}, "level": 1, "codec": "zstd", "model_id_hash": "271bf17f"});
    let Outcome::Result(v) = imp.call("compress", &args) else { panic!("no result") };
    let expected: String = format!("{}\n", dir.display()).bytes().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v["file_hex"], json!(expected));
}

#[test]
fn manifest_syntax_errors_are_one_line() {
    let dir = common::scratch("conformance-templates-syntax");
    let m = manifest(&dir, "cz -L {lvl}", "true");
    let err = from_manifest(&m, context(), None, None).err().unwrap();
    assert_eq!(
        err,
        format!(
            "{}: templates.compress: unknown placeholder {{lvl}} (known: {{model}} {{input}} {{output}} {{level}} {{codec}} {{model_id_hash}}; write {{{{ for a literal {{)",
            m.display()
        )
    );
}

#[test]
fn keep_outputs_keeps_each_case_and_a_script_that_reruns_it() {
    let dir = common::scratch("conformance-templates-keep");
    let keep = dir.join("kept");
    let mut imp = open(&manifest(&dir, "tr a-z A-Z < {input} > {output}; echo done >&2", "true"), Some(&keep));
    let c = case("file.reject.compress.v001.truncated"); // text "hello" + a truncated sequence
    let id = &c.id;
    imp.call(&c.op, &c.args);
    imp.call(&c.op, &c.args); // asked again (as localisation does)
    imp.call("compress", &json!({"model": "v001", "text": {"hex": "61"}, "codec": "zstd"}));
    let mut names: Vec<String> = std::fs::read_dir(&keep).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    let per = |stem: &str| ["czip", "sh", "stderr", "stdout", "txt"].map(|e| format!("{stem}.{e}"));
    let mut expected: Vec<String> = [per(id), per(&format!("{id}~2")), per("call-3")].concat();
    expected.push("commands.sh".into());
    expected.sort();
    assert_eq!(names, expected);
    let input = std::fs::read(keep.join(format!("{id}.txt"))).unwrap();
    assert_eq!(input, b"hello\xe2\x82");
    assert_eq!(std::fs::read(keep.join(format!("{id}.czip"))).unwrap(), b"HELLO\xe2\x82");
    assert_eq!(std::fs::read_to_string(keep.join(format!("{id}.stderr"))).unwrap(), "done\n");
    let out = keep.join(format!("{id}.czip"));
    let script = format!(
        "#!/bin/sh\n# {id}\ncd '{}' || exit 1\nrm -f '{}'\ntr a-z A-Z < '{}' > '{}'; echo done >&2\n",
        dir.display(),
        out.display(),
        keep.join(format!("{id}.txt")).display(),
        out.display()
    );
    assert_eq!(std::fs::read_to_string(keep.join(format!("{id}.sh"))).unwrap(), script);
    let all = std::fs::read_to_string(keep.join("commands.sh")).unwrap();
    assert!(all.starts_with("#!/bin/sh\n"));
    assert_eq!(all.matches("\n# ").count(), 3 + 2, "{all}"); // two header comment lines, three commands
    // Re-running the case by hand gives the same output.
    std::fs::remove_file(&out).unwrap();
    assert!(Command::new("sh").arg(keep.join(format!("{id}.sh"))).status().unwrap().success());
    assert_eq!(std::fs::read(&out).unwrap(), b"HELLO\xe2\x82");
}

#[test]
fn keep_outputs_is_refused_for_the_builtin_engine() {
    let out = Command::new(RUNNER).current_dir(repo("")).args(["run", "--impl", "rust", "--keep-outputs", "/tmp/x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "czip-conformance: --keep-outputs applies to implementation manifests with [templates], not --impl rust\n"
    );
}

#[test]
fn a_template_without_model_id_hash_is_compared_with_it_masked() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let ctx = || Context::new(models.clone(), repo("vectors"), golden.join("corpus"));
    let dir = common::scratch("conformance-templates-mask");
    let c = case("file.compress.v001.L1.brotli.edge_1byte_txt");
    let run = |tpl: &str| {
        let mut imp = from_manifest(&manifest(&dir, tpl, "true"), ctx(), None, None).unwrap();
        imp.call(&c.op, &c.args)
    };
    let plain = run(&format!("{CZIP} compress -m {{model}} -i {{input}} -o {{output}} [-L {{level}}] -c {{codec}}"));
    let r = judge(&c, &plain);
    assert_eq!((r.status, r.message.as_str()), (Status::Pass, "model_id_hash masked (template has no {model_id_hash})"));
    // Without the mask the same file fails on its payload (czip wrote the content hash).
    let Outcome::Result(mut v) = plain else { panic!() };
    v.as_object_mut().unwrap().remove("masked");
    let r = judge(&c, &Outcome::Result(v));
    assert_eq!((r.status, r.divergence.map(|d| d.path)), (Status::Fail, Some("payload_sha256".to_string())));
    // With {model_id_hash} nothing is masked.
    let exact = run(&format!("{CZIP} compress -m {{model}} -i {{input}} -o {{output}} [-L {{level}}] -c {{codec}} --model-id-hash {{model_id_hash}}"));
    let r = judge(&c, &exact);
    assert_eq!((r.status, r.message.as_str()), (Status::Pass, ""));
}

#[test]
fn an_adapter_cannot_mask_and_its_death_is_a_broken_run() {
    let dir = common::scratch("conformance-templates-adapter");
    let script = dir.join("adapter.sh");
    std::fs::write(
        &script,
        "read l; echo '{\"id\":1,\"result\":{\"name\":\"a\",\"features\":[\"file_ops\"]}}'\n\
         read l; echo '{\"id\":2,\"result\":{\"file_hex\":\"00\",\"masked\":{\"model_id_hash\":\"x\"}}}'\n",
    )
    .unwrap();
    let argv = vec!["sh".to_string(), script.display().to_string()];
    let mut a = ProcessAdapter::spawn(&argv, &[], Duration::from_secs(20), &context()).unwrap();
    assert_eq!(a.call("compress", &json!({})), Outcome::Result(json!({"file_hex": "00"})));
    let c = case("file.reject.compress.v001.lone_ff");
    // It has exited (writing the request or reading the answer fails, whichever comes first).
    let r = judge(&c, &a.call(&c.op, &c.args));
    assert_eq!((r.status, r.message.as_str()), (Status::Fail, "implementation failure: compress: adapter exited with status 0"));
    assert_eq!(a.take_death().as_deref(), Some("compress: adapter exited with status 0"));
}

/// The README's `[templates]` example, with `./mycz` replaced by our `czip`.
fn readme_manifest(dir: &Path) -> PathBuf {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let start = readme.find("```toml\n  name = \"my-cuda-build\"\n  [templates]").expect("the README has the example manifest");
    let block = &readme[start + "```toml\n".len()..];
    let block = &block[..block.find("```").unwrap()];
    let text: String = block.lines().map(|l| format!("{}\n", l.trim_start())).collect();
    assert!(text.contains("{model_id_hash}") && text.contains("[-L {level}]"), "{text}");
    let p = dir.join("readme.toml");
    std::fs::write(&p, text.replace("./mycz", CZIP)).unwrap();
    p
}

/// The README's manifest passes the `files` suite: every 12th (model, level,
/// text) group of it (64 cases, both ops and codecs), or all 768 cases with
/// `CZIP_TEMPLATES_FULL=1` (about ten minutes).
#[test]
fn the_readme_manifest_with_czip_passes_the_files_suite() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let dir = common::scratch("conformance-templates-readme");
    let m = readme_manifest(&dir);
    let full = std::env::var_os("CZIP_TEMPLATES_FULL").is_some();
    let suites = dir.join("suites");
    std::fs::create_dir_all(&suites).unwrap();
    let files: Value = serde_json::from_str(&std::fs::read_to_string(repo("suites/files.json")).unwrap()).unwrap();
    let ids: Vec<&Value> = files["cases"].as_array().unwrap().iter().enumerate().filter(|(i, _)| full || (i / 4) % 12 == 0).map(|(_, c)| c).collect();
    let n = ids.len();
    std::fs::write(suites.join("files.json"), json!({"name": "files", "description": "subset", "required": true, "cases": ids}).to_string()).unwrap();
    let out = Command::new(RUNNER)
        .current_dir(repo(""))
        .args(["run", "--impl", m.to_str().unwrap(), "--suite", "files", "--suites-dir", suites.to_str().unwrap()])
        .args(["--models-dir", models.to_str().unwrap(), "--corpus", golden.join("corpus").to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(n, if full { 768 } else { 64 });
    assert!(stdout.contains("verdict PASS"), "{stdout}");
    assert!(stdout.ends_with(&format!("{n} passed, 0 failed, 0 skipped\n")), "{stdout}");
    assert_eq!(out.status.code(), Some(0));
}

/// The issue's reproduction: a manifest naming a binary that does not exist
/// no longer passes the reject suite's refusals.
#[test]
fn a_missing_binary_does_not_pass_the_reject_suite() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let dir = common::scratch("conformance-templates-missing");
    let m = manifest(&dir, "./mycz compress -m {model} -i {input} -o {output} [-L {level}] -c {codec}", "./mycz decompress -m {model} -i {input} -o {output}");
    let out = Command::new(RUNNER)
        .current_dir(repo(""))
        .args(["run", "--impl", m.to_str().unwrap(), "--suite", "reject"])
        .args(["--models-dir", models.to_str().unwrap(), "--corpus", golden.join("corpus").to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("implementation t — verdict FAIL\n"), "{stdout}");
    assert!(stdout.contains("\nreject               89      0     51          38        0     0.00%\n"), "{stdout}");
    assert!(stdout.ends_with("0 passed, 51 failed, 38 skipped\n"), "{stdout}");
    assert_eq!(out.status.code(), Some(1));
}
