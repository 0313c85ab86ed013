//! A runner that survives the implementation it scores (issue 10 item 7):
//! stand-in adapters (small Python scripts in a scratch directory, driven
//! through a manifest with a 1 s timeout) that hang, exit mid-run, print
//! junk, answer with the wrong id, die on every case, or fork a grandchild
//! that keeps stdout open; `--max-localize`; the progress line's text.

use crate::common;

use common::{repo, stderr};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use czip::conformance::runner::progress::{progress_line, time_left, Redraw, CLEAR};
use czip::conformance::runner::Tick;
use serde_json::{json, Value};

const RUNNER: &str = env!("CARGO_BIN_EXE_czip-conformance");

/// The stand-in: answers `clamp_i8` right and `compress` with a file that
/// is not a container; misbehaves as `mode` says on `clamp_i8` with x = 1
/// (`dies`: on every case). Every start appends `start` to `log`.
const ADAPTER: &str = r#"
import json, os, subprocess, sys, time
mode, log = sys.argv[1], sys.argv[2]
with open(log, "a") as f:
    f.write("start\n")
features = ["core", "file_ops", "multi_layer", "sink_key", "synthetic"]
for line in sys.stdin:
    req = json.loads(line)
    rid, op, args = req["id"], req["op"], req.get("args") or {}
    if op == "hello":
        ans = {"id": rid, "result": {"name": "stand-in", "features": features}}
    elif op == "compress":
        ans = {"id": rid, "result": {"file_hex": "00"}}
    else:
        x = int(args["x"])
        ans = {"id": rid, "result": {"result": max(-127, min(127, x))}}
        if mode == "dies" or x == 1:
            if mode == "hang":
                time.sleep(1000)
            elif mode in ("exit", "dies"):
                sys.stderr.write("about to exit\nbye\n")
                sys.exit(3)
            elif mode == "junk":
                ans = "this is not an answer " * 8
            elif mode == "wrong_id":
                ans["id"] = 99
            elif mode == "fork":
                child = subprocess.Popen(["sleep", "1000"])  # inherits stdout
                with open(log + ".grandchild", "w") as f:
                    f.write(str(child.pid))
                time.sleep(1000)
    print(ans if isinstance(ans, str) else json.dumps(ans), flush=True)
"#;

/// Six `clamp_i8` cases: x = 0, 1, -1, 126, 127, 128.
const CLAMP: [&str; 6] = [
    "primitive.clamp_i8.edge.0",
    "primitive.clamp_i8.edge.1",
    "primitive.clamp_i8.edge.2",
    "primitive.clamp_i8.edge.3",
    "primitive.clamp_i8.edge.4",
    "primitive.clamp_i8.edge.5",
];

/// A scratch directory with the stand-in in `mode`, its manifest and a
/// suite `t` of `cases`.
fn setup(mode: &str, cases: &[&str]) -> PathBuf {
    let dir = common::scratch(&format!("runner-survival-{mode}"));
    std::fs::write(dir.join("adapter.py"), ADAPTER).unwrap();
    let argv = ["python3", &dir.join("adapter.py").display().to_string(), mode, &dir.join("starts.log").display().to_string()].map(String::from);
    std::fs::write(dir.join("impl.toml"), format!("name = \"stand-in\"\ncommand = {}\ntimeout_secs = 1\n", json!(argv))).unwrap();
    std::fs::create_dir_all(dir.join("suites")).unwrap();
    let suite = json!({"name": "t", "description": "survival", "required": true, "cases": cases});
    std::fs::write(dir.join("suites/t.json"), suite.to_string()).unwrap();
    dir
}

/// `czip-conformance run` on the stand-in, reports into `dir/report`.
fn run(dir: &Path, extra: &[&str]) -> Output {
    Command::new(RUNNER)
        .args(["run", "--impl", &dir.join("impl.toml").display().to_string(), "--suites-dir", &dir.join("suites").display().to_string()])
        .args(["--report", &dir.join("report").display().to_string()])
        .args(extra)
        .current_dir(repo(""))
        .stdin(Stdio::null())
        .output()
        .expect("czip-conformance runs")
}

fn report(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report/report.json")).unwrap()).unwrap()
}

/// How many times the stand-in was started.
fn starts(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("starts.log")).unwrap().lines().count()
}

/// (id, message) of every failure in report.json, each with a `time_us`.
fn failures(r: &Value) -> Vec<(String, String)> {
    let fs = r["failures"].as_array().unwrap();
    assert!(fs.iter().all(|f| f["time_us"].is_u64()), "every failure has its time: {fs:#?}");
    fs.iter().map(|f| (f["id"].as_str().unwrap().to_string(), f["message"].as_str().unwrap().to_string())).collect()
}

/// One case dies, the others pass on fresh processes: report and exit status.
fn one_death(mode: &str) -> (Output, Vec<(String, String)>, PathBuf) {
    let dir = setup(mode, &CLAMP);
    let out = run(&dir, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = report(&dir);
    assert_eq!(r["totals"], json!({"cases": 6, "pass": 5, "fail": 1, "unsupported": 0, "skipped": 0}));
    assert_eq!(r["verdict_reasons"], json!(["t: 1 of 6 cases failed"]));
    assert_eq!(starts(&dir), 2, "a fresh adapter after the death");
    assert!(!stderr(&out).contains("stopping"), "{}", stderr(&out));
    (out, failures(&r), dir)
}

/// Whether process `pid` is gone (or a zombie waiting for whoever adopted
/// it). A killed process needs a moment to die, so this looks for up to 10 s.
fn ended(pid: &str) -> bool {
    let state = || {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).ok()?;
        stat.rsplit(')').next()?.trim().chars().next()
    };
    for _ in 0..200 {
        if matches!(state(), None | Some('Z')) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn failed_on_x1(message: &str) -> Vec<(String, String)> {
    vec![(CLAMP[1].to_string(), format!("implementation failure: {message}"))]
}

/// Each kind of death fails the case it happened on, with its reason, and
/// the next case passes on a fresh process (`one_death` checks the counts
/// and the restarts).
#[test]
fn each_kind_of_death_fails_its_case_with_the_reason_and_the_next_gets_a_fresh_process() {
    let junk: String = "this is not an answer ".repeat(8).chars().take(80).collect();
    for (kind, message) in [
        ("hang", "clamp_i8: adapter timed out after 1 s; its process group was stopped".to_string()),
        ("exit", "clamp_i8: adapter exited with status 3; stderr: about to exit | bye".to_string()),
        // The first 80 characters of the junk line.
        ("junk", format!("clamp_i8: adapter printed junk: {junk}")),
        // hello is id 1, edge.0 id 2, edge.1 id 3.
        ("wrong_id", "clamp_i8: adapter answered with id 99 (expected 3)".to_string()),
    ] {
        let (out, f, _) = one_death(kind);
        assert_eq!(f, failed_on_x1(&message), "{kind}");
        if kind == "exit" {
            assert!(stderr(&out).contains("about to exit\nbye\n"), "the adapter's stderr is passed through: {}", stderr(&out));
        }
    }
}

#[test]
fn a_grandchild_holding_stdout_is_ended_with_the_adapters_process_group() {
    let (_, f, dir) = one_death("fork");
    assert_eq!(f, failed_on_x1("clamp_i8: adapter timed out after 1 s; its process group was stopped"));
    let pid = std::fs::read_to_string(dir.join("starts.log.grandchild")).unwrap();
    assert!(ended(&pid), "the grandchild {pid} still runs");
}

#[test]
fn an_adapter_that_dies_every_time_stops_the_run_after_3_and_the_report_is_written() {
    let dir = setup("dies", &CLAMP);
    let out = run(&dir, &[]);
    assert_eq!(out.status.code(), Some(1));
    let why = "the implementation died on 3 consecutive cases (clamp_i8: adapter exited with status 3; stderr: about to exit | bye)";
    let err = stderr(&out);
    assert_eq!(err.lines().filter(|l| l.starts_with("stopping")).collect::<Vec<_>>(), [format!("stopping: {why}")], "{err}");
    assert_eq!(starts(&dir), 3, "no start after the third death");
    let r = report(&dir);
    assert_eq!(r["stopped"], json!(why));
    assert_eq!(r["verdict"], json!("fail"));
    assert_eq!(
        r["verdict_reasons"],
        json!([
            format!("the run stopped: {why}"),
            "t: 3 of 6 cases failed",
            "t: 3 of 6 cases could not run here (skipped)",
            "t: no case passed (a required suite must pass at least one)"
        ])
    );
    assert_eq!(r["totals"], json!({"cases": 6, "pass": 0, "fail": 3, "unsupported": 0, "skipped": 3}));
    let died = "implementation failure: clamp_i8: adapter exited with status 3; stderr: about to exit | bye";
    assert_eq!(failures(&r), CLAMP[..3].iter().map(|id| (id.to_string(), died.to_string())).collect::<Vec<_>>());
    assert_eq!(r["not_run"], json!([{"status": "skipped", "reason": format!("not run: {why}"), "cases": 3, "suites": ["t"]}]));
    let skipped = r["skipped"].as_array().unwrap();
    assert_eq!(skipped.iter().map(|c| c["id"].as_str().unwrap()).collect::<Vec<_>>(), CLAMP[3..]);
    assert!(skipped.iter().all(|c| c["time_us"].is_u64()));
    let md = std::fs::read_to_string(dir.join("report/report.md")).unwrap();
    assert!(md.contains(&format!("- the run stopped: {why}\n")), "{md}");
    assert!(md.contains(&format!("- 3 skipped (t): not run: {why}\n")), "{md}");
}

/// Three failed file cases: `--max-localize 1` localises the first, the
/// others say why not; `0` localises all.
#[test]
fn max_localize_bounds_the_localised_failures() {
    let ids = ["file.compress.syn_a.L1.brotli.alice_ch1_txt", "file.compress.syn_a.L1.zstd.alice_ch1_txt", "file.compress.syn_a.L1.brotli.asyoulik_12k_txt"];
    let dir = setup("none", &ids);
    let not_a_container = "the file is not a valid CZIPv1 container: file length: 1 bytes, expected at least 16 (the outer header)";
    let localised = |extra: &[&str]| {
        let out = run(&dir, extra);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let r = report(&dir);
        r["failures"].as_array().unwrap().iter().map(|f| f["localisation"].clone()).collect::<Vec<_>>()
    };
    let not_localised = json!(["not localised (--max-localize 1)"]);
    assert_eq!(localised(&["--max-localize", "1"]), [json!([not_a_container]), not_localised.clone(), not_localised]);
    assert_eq!(localised(&["--max-localize", "0"]), vec![json!([not_a_container]); 3]);
}

#[test]
fn the_progress_line_says_cases_suite_failures_and_time_left() {
    let s = Duration::from_secs;
    assert_eq!(progress_line(100, 1000, "core", 3, s(10)), "100/1000 cases, suite core, 3 failed, 1 min 30 s left");
    assert_eq!(progress_line(0, 9504, "core", 0, s(0)), "0/9504 cases, suite core, 0 failed, time left unknown");
    assert_eq!(progress_line(9504, 9504, "files", 12, s(95)), "9504/9504 cases, suite files, 12 failed, 0 s left");
    assert_eq!(time_left(3, 4, s(2)), "1 s left", "2/3 s rounds up");
    assert_eq!(time_left(10, 20, s(59)), "59 s left");
    assert_eq!(time_left(1, 2, Duration::from_millis(59_500)), "1 min 00 s left");
    assert_eq!(time_left(1, 3, s(3600)), "2 h 00 min left");
    assert_eq!(time_left(7, 1000, s(30)), "1 h 10 min left", "30 s × 993 / 7 = 4256 s");
    // Redrawn in place: the first draw, and the last case whenever it comes.
    let r = Redraw::default();
    for done in [1, 2] {
        let t = r.text(&Tick { done, total: 2, failed: 1, index: 0 }, "core").expect("drawn");
        assert!(t.starts_with(&format!("{CLEAR}{done}/2 cases, suite core, 1 failed, ")), "{t:?}");
    }
}

#[test]
fn run_help_teaches_deaths_restarts_the_stop_rule_and_the_localisation_budget() {
    let out = Command::new(RUNNER).args(["run", "--help"]).output().unwrap();
    let help = common::stdout(&out).split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "fails that case with the reason: its exit status or signal and last stderr lines, `printed junk: <line>`, `timed out after N s`",
        "the next case gets a fresh process",
        "`stopping: the implementation died on 3 consecutive cases (<last reason>)`",
        "--max-localize <N>",
        "\"not localised (--max-localize N)\"",
        "one progress line is redrawn in place",
    ] {
        assert!(help.contains(needle), "run --help lacks {needle:?}:\n{help}");
    }
}

/// A template command's process group is ended when the command exits: what
/// it left running in the background does not outlive the call.
#[test]
fn a_template_commands_leftovers_are_ended_with_its_process_group() {
    use czip::conformance::implementation::from_manifest;
    use czip::conformance::ops::{Context, Outcome};
    let dir = common::scratch("runner-survival-template");
    let m = dir.join("impl.toml");
    std::fs::write(&m, "name = \"t\"\n[templates]\ncompress = \"sleep 1000 & echo $! > leftover.pid; exit 3\"\n").unwrap();
    let ctx = Context::new(repo("../shared/models"), repo("vectors"), repo("../shared/golden/corpus"));
    let mut imp = from_manifest(&m, ctx, None, None).unwrap();
    let args = json!({"model": "synthetic/syn_a", "text": {"hex": "61"}, "codec": "brotli"});
    let Outcome::Error(e) = imp.call("compress", &args) else { panic!("a refusal") };
    assert!(e.starts_with("exit status 3: "), "{e}");
    let pid = std::fs::read_to_string(dir.join("leftover.pid")).unwrap();
    assert!(ended(&pid), "the background sleep {pid} still runs");
}
