//! Scoring in parts (issue 12 item 3): `score --shard I/N` over golden
//! files, then `merge-reports`, gives the report of one `score` run over all
//! of them — report.json, report.md and junit.xml equal apart from timings —
//! and `merge-reports` refuses parts that do not belong together.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use czip::conformance::report::strip_timings;
use serde_json::Value;

fn cc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_czip-conformance"))
        .args(args)
        .current_dir(common::repo(""))
        // One date for every run: report.md's header line shows it.
        .env("SOURCE_DATE_EPOCH", "1796169599")
        .stdin(Stdio::null())
        .output()
        .expect("czip-conformance runs")
}

/// report.json without timings (`strip_timings`).
fn json_of(dir: &Path) -> Value {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    strip_timings(&mut v);
    v
}

/// `report.md` with the elapsed time of its header line (`… · 12.3 s`) removed.
fn md_of(dir: &Path) -> String {
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    md.lines()
        .map(|l| match l.strip_suffix(" s  ").or_else(|| l.strip_suffix(" s")) {
            Some(head) if l.starts_with("czip-conformance ") => head.rsplit_once(" · ").map_or(l, |(h, _)| h).to_string(),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `junit.xml` with every `time="…"` emptied.
fn junit_of(dir: &Path) -> String {
    let x = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    let mut out = String::new();
    let mut rest = x.as_str();
    while let Some(i) = rest.find(" time=\"") {
        out.push_str(&rest[..i + 7]);
        rest = &rest[i + 7..];
        rest = &rest[rest.find('"').unwrap()..];
    }
    out.push_str(rest);
    out
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn three_shards_merged_equal_one_run_and_mismatched_parts_are_refused() {
    let (Some(golden), Some(models)) = (common::golden_dir(), common::models_dir()) else { return };
    let dir = common::scratch("score-shards");
    // Both models (v000 L1 zstd), and files that fail (upstream Python L1 zstd).
    let sets: Vec<PathBuf> = ["files/v000/L1/zstd", "files/python/L1/zstd"].iter().map(|p| golden.join(p)).collect();
    let corpus = golden.join("corpus");
    let score = |name: &str, impl_name: &str, extra: &[&str]| {
        let mut args: Vec<String> = vec!["score".into(), "--impl-name".into(), impl_name.into(), "--files".into()];
        args.extend(sets.iter().map(|p| s(p)));
        args.extend(["--models-dir".into(), s(&models), "--corpus".into(), s(&corpus), "--report".into(), s(&dir.join(name))]);
        args.extend(extra.iter().map(|a| a.to_string()));
        cc(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let whole = score("whole", "upstream", &[]);
    assert_eq!(whole.status.code(), Some(1), "the Python files fail: {}", common::stderr(&whole));
    let mut sizes = Vec::new();
    for i in 1..=3 {
        let o = score(&format!("s{i}"), "upstream", &["--shard", &format!("{i}/3")]);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", common::stderr(&o));
        let j = json_of(&dir.join(format!("s{i}")));
        assert_eq!(j["shard"]["shard"], format!("{i}/3"));
        sizes.push(j["shard"]["files"].as_array().unwrap().len());
    }
    let whole_json = json_of(&dir.join("whole"));
    let n = whole_json["totals"]["cases"].as_u64().unwrap() as usize;
    assert_eq!(n, 32 + 15);
    // File k of the sorted list goes to shard k mod 3 + 1: 47 = 16 + 16 + 15.
    assert_eq!(sizes, [16, 16, 15]);

    // Merged in any order of the parts: the whole run's three files.
    let merge = |out: &str, parts: &[&str], extra: &[&str]| {
        let mut args = vec!["merge-reports".to_string()];
        args.extend(parts.iter().map(|p| s(&dir.join(p))));
        args.extend(["--report".into(), s(&dir.join(out)), "--models-dir".into(), s(&models), "--corpus".into(), s(&corpus)]);
        args.extend(extra.iter().map(|a| a.to_string()));
        cc(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let m = merge("merged", &["s3", "s1", "s2"], &[]);
    assert_eq!(m.status.code(), Some(1), "{}", common::stderr(&m));
    assert_eq!(common::stdout(&m).lines().last(), common::stdout(&whole).lines().last());
    let merged = dir.join("merged");
    assert_eq!(json_of(&merged), whole_json);
    assert_eq!(md_of(&merged), md_of(&dir.join("whole")));
    assert_eq!(junit_of(&merged), junit_of(&dir.join("whole")));
    // Merged provenance: the parts' summed elapsed time.
    let elapsed = |d: &str| -> f64 {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(d).join("report.json")).unwrap()).unwrap();
        v["provenance"]["elapsed_s"].as_f64().unwrap()
    };
    let sum = elapsed("s1") + elapsed("s2") + elapsed("s3");
    assert!((elapsed("merged") - sum).abs() < 0.002, "{} vs {sum}", elapsed("merged"));

    // The same parts as entries.jsonl (what scale/ray_score.py writes).
    for i in 1..=3 {
        let shard: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(format!("s{i}/report.json"))).unwrap()).unwrap();
        let lines: Vec<String> = shard["shard"]["files"].as_array().unwrap().iter().map(|e| e.to_string() + "\n").collect();
        std::fs::create_dir_all(dir.join(format!("e{i}"))).unwrap();
        std::fs::write(dir.join(format!("e{i}/entries.jsonl")), lines.concat()).unwrap();
    }
    let m = merge("from-entries", &["e2", "e1", "e3"], &["--impl-name", "upstream"]);
    assert_eq!(m.status.code(), Some(1), "{}", common::stderr(&m));
    assert_eq!(json_of(&dir.join("from-entries")), whole_json);
    assert_eq!(junit_of(&dir.join("from-entries")), junit_of(&dir.join("whole")));

    // Refusals, each with its reason.
    let refused = |parts: &[&str], extra: &[&str], why: &str| {
        let o = merge("refused", parts, extra);
        assert_eq!(o.status.code(), Some(1));
        assert!(common::stderr(&o).contains(why), "{parts:?}: {}", common::stderr(&o));
    };
    refused(&["s1", "s2"], &[], "incomplete split: shard 3/3 missing");
    refused(&["s1", "s2", "s3", "s1"], &[], "are both shard 1/3");
    refused(&["s1", "s2", "s3", "e1"], &[], "is in both");
    refused(&["e1", "e2"], &[], "--impl-name");
    refused(&["s1", "s2", "s3"], &["--impl-name", "cuda"], "different implementations");
    refused(&["whole"], &[], "not a shard report");
    let other = score("other", "cuda", &["--shard", "1/3"]);
    assert!(matches!(other.status.code(), Some(0 | 1)));
    refused(&["other", "s2", "s3"], &[], "different implementations");
    // Different models: a part whose provenance names another v000.
    let mut forged: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("s1/report.json")).unwrap()).unwrap();
    forged["provenance"]["models"]["v000"] = Value::from("0".repeat(64));
    std::fs::create_dir_all(dir.join("forged")).unwrap();
    std::fs::write(dir.join("forged/report.json"), forged.to_string()).unwrap();
    refused(&["forged", "s2", "s3"], &[], "different models");
    forged["provenance"]["corpus_sha256"] = Value::from("0".repeat(64));
    forged["provenance"]["models"] = whole_json["provenance"]["models"].clone();
    std::fs::write(dir.join("forged/report.json"), forged.to_string()).unwrap();
    refused(&["forged", "s2", "s3"], &[], "different corpus texts");
}

#[test]
fn a_shard_is_i_of_n_with_1_le_i_le_n() {
    for bad in ["3/2", "0/0", "0/3", "1/0", "junk", "1/", "/3", "1/3/4", " 1/3", "+1/3", "-1/3", "1.0/3"] {
        let o = cc(&["score", "--impl-name", "x", "--files", ".", &format!("--shard={bad}")]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", common::stderr(&o));
        assert!(common::stderr(&o).contains("is not a shard I/N"), "{bad}: {}", common::stderr(&o));
    }
    use czip::conformance::shard::Shard;
    assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
    assert_eq!(Shard::parse("1/1"), Ok(Shard { index: 1, count: 1 }));
    let items: Vec<u32> = (0..8).collect();
    assert_eq!(Shard::parse("1/3").unwrap().pick(items.clone()), [0, 3, 6]);
    assert_eq!(Shard::parse("2/3").unwrap().pick(items.clone()), [1, 4, 7]);
    assert_eq!(Shard::parse("3/3").unwrap().pick(items.clone()), [2, 5]);
    assert_eq!(Shard::parse("1/1").unwrap().pick(items.clone()), items);
}
