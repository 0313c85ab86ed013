//! `czip-conformance score` on upstream output sets: the committed reports
//! (`reports/upstream/`) name the divergences the manifest's notes describe,
//! and scoring a set again reproduces its committed report (apart from the
//! run's provenance header and timings).

use crate::common;

use common::repo;


use czip::conformance::ops::Context;
use czip::conformance::report::strip_timings;
use czip::conformance::score::{score, ScoreOptions};
use serde_json::Value;

/// `(set dir, text) → note` for every non-normative manifest entry.
fn notes(golden: &std::path::Path) -> Vec<(String, String, String)> {
    common::read_jsonl(&golden.join("manifest.jsonl"))
        .into_iter()
        .filter(|e| e["normative"] == false)
        .map(|e| {
            let path = e["path"].as_str().unwrap().to_string();
            let parts: Vec<&str> = path.split('/').collect(); // files/<set>/L<n>/<codec>/<text>.czip
            let set = format!("{}-{}-{}", parts[1], parts[2], parts[3]);
            let text = e["text"].as_str().unwrap().trim_start_matches("corpus/").to_string();
            (set, text, e["notes"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn committed_reports_name_the_manifest_divergences() {
    let Some(golden) = common::golden_dir() else { return };
    let mut checked = 0;
    for (set, text, note) in notes(&golden) {
        let report: Value = serde_json::from_str(&std::fs::read_to_string(repo(&format!("reports/upstream/{set}/report.json"))).unwrap()).unwrap();
        let failure = report["failures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == format!("file:{text}"))
            .unwrap_or_else(|| panic!("{set}: {text} is not reported as failing"));
        let loc = failure["localisation"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect::<Vec<_>>().join(" | ");
        let known = failure["known_divergence"].as_str().unwrap_or_default();
        if note.starts_with("udiv rounding") {
            // "... at chunk C position P ..." in the note.
            let words: Vec<&str> = note.split_whitespace().collect();
            let c = words[words.iter().position(|w| *w == "chunk").unwrap() + 1];
            let p = words[words.iter().position(|w| *w == "position").unwrap() + 1];
            assert!(loc.contains(&format!("witness at chunk {c} position {p}: RMSNorm")), "{set} {text}: {loc}");
            assert!(known.contains("spec §11 row 1"), "{set} {text}: {known}");
        } else if note.contains("newline translation") {
            assert!(known.contains("newline translation"), "{set} {text}: {known}");
        } else if note.contains("32-bit attention accumulator") {
            let p = match text.as_str() {
                "edge_repeat_nl_4k.txt" => 513,
                "edge_repeat_space_4k.txt" => 731,
                _ => 875,
            };
            assert!(loc.contains(&format!("witness at chunk 0 position {p}: attention")), "{set} {text}: {loc}");
            assert!(known.contains("spec §11 row 3"), "{set} {text}: {known}");
        } else {
            panic!("unexpected note {note}");
        }
        checked += 1;
    }
    assert_eq!(checked, 15);
    // Every normative set passes.
    for set in ["v000-L1-brotli", "v000-L1-zstd", "v001-L1-zstd", "v001-L5-brotli"] {
        let report: Value = serde_json::from_str(&std::fs::read_to_string(repo(&format!("reports/upstream/{set}/report.json"))).unwrap()).unwrap();
        assert_eq!(report["verdict"], "pass", "{set}");
    }
}

#[test]
fn scoring_again_reproduces_the_committed_report() {
    let (Some(golden), Some(models)) = (common::golden_dir(), common::models_dir()) else { return };
    let ctx = Context::new(models, repo("vectors"), golden.join("corpus"));
    let opts = ScoreOptions {
        impl_name: "upstream python-L1-zstd".into(),
        files_dir: golden.join("files/python/L1/zstd"),
        default_model: "v001".into(),
    };
    let (report, _, _) = score(&ctx, &opts).unwrap();
    // The same report apart from the run's provenance and timings.
    let comparable = |text: &str| {
        let mut v: Value = serde_json::from_str(text).unwrap();
        strip_timings(&mut v);
        v.as_object_mut().unwrap().remove("provenance");
        v
    };
    let committed = std::fs::read_to_string(repo("reports/upstream/python-L1-zstd/report.json")).unwrap();
    assert_eq!(comparable(&report.to_json()), comparable(&committed));
}
