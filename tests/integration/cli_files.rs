//! Positional files, the zstd way (issue 13): `czip compress FILE…` writes
//! `FILE.czip`, `czip decompress FILE.czip…` writes `FILE`; no overwriting
//! without `-f`; `--rm` removes an input only after its success; `-o` names
//! the output of one input only. Runs in scratch directories with relative
//! names, so that the summary lines are stable (their times aside).

use crate::common;

use common::{assert_ok, stderr, without_times};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_czip");

/// `czip ARGS` in `dir`, with the published models as `$CZIP_MODELS_DIR`.
fn czip_in(dir: &Path, models: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("CZIP_MODEL")
        .env("CZIP_MODELS_DIR", models)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

/// A scratch directory holding copies of two corpus texts, `a.txt` and `b.txt`.
fn two_texts(name: &str) -> Option<(PathBuf, PathBuf, Vec<u8>, Vec<u8>)> {
    let (models, golden) = (common::models_dir()?, common::golden_dir()?);
    let d = common::scratch(name);
    let a = std::fs::read(golden.join("corpus/edge_tok129.txt")).unwrap();
    let b = std::fs::read(golden.join("corpus/edge_emoji.txt")).unwrap();
    std::fs::write(d.join("a.txt"), &a).unwrap();
    std::fs::write(d.join("b.txt"), &b).unwrap();
    Some((d, models, a, b))
}

#[test]
fn two_files_round_trip_with_a_summary_line_each() {
    let Some((d, models, a, b)) = two_texts("cli-files-roundtrip") else { return };
    let o = czip_in(&d, &models, &["compress", "-L", "1", "a.txt", "b.txt"]);
    assert_ok(&o);
    assert!(o.stdout.is_empty());
    insta::assert_snapshot!("compress_two_files", without_times(&stderr(&o)));
    // -k is the default: the inputs are kept.
    assert_eq!(listing(&d), ["a.txt", "a.txt.czip", "b.txt", "b.txt.czip"]);
    let o = czip_in(&d, &models, &["test", "a.txt.czip", "b.txt.czip"]);
    assert_ok(&o);

    std::fs::rename(d.join("a.txt"), d.join("a.orig")).unwrap();
    std::fs::rename(d.join("b.txt"), d.join("b.orig")).unwrap();
    let o = czip_in(&d, &models, &["decompress", "-k", "a.txt.czip", "b.txt.czip"]);
    assert_ok(&o);
    insta::assert_snapshot!("decompress_two_files", without_times(&stderr(&o)));
    assert_eq!(std::fs::read(d.join("a.txt")).unwrap(), a);
    assert_eq!(std::fs::read(d.join("b.txt")).unwrap(), b);

    // One file: silent, as -i/-o always were; -v adds its summary line.
    let o = czip_in(&d, &models, &["compress", "-f", "a.txt"]);
    assert_ok(&o);
    assert_eq!(stderr(&o), "");
    let o = czip_in(&d, &models, &["decompress", "-f", "-m", &models.join("v001_eng.czm").display().to_string(), "-v", "a.txt.czip"]);
    assert_ok(&o);
    let size = std::fs::metadata(d.join("a.txt.czip")).unwrap().len();
    assert_eq!(
        without_times(&stderr(&o)),
        format!("a.txt.czip => a.txt: {size} -> 226 bytes, ratio {:.4}, <t> s\n", size as f64 / 226.0)
    );
    // `-` is stdin, to stdout.
    let o = Command::new(BIN)
        .args(["decompress", "-"])
        .current_dir(&d)
        .env("CZIP_MODELS_DIR", &models)
        .stdin(std::fs::File::open(d.join("b.txt.czip")).unwrap())
        .output()
        .unwrap();
    assert_ok(&o);
    assert_eq!(o.stdout, b);
}

#[test]
fn nothing_is_overwritten_without_force() {
    let Some((d, models, _, _)) = two_texts("cli-files-force") else { return };
    std::fs::write(d.join("a.txt.czip"), "precious").unwrap();
    // Checked before any work: the model (which does not exist) is not even opened.
    let o = czip_in(&d, &models, &["compress", "-m", "/nonexistent.czm", "a.txt"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "czip: a.txt.czip: already exists; pass -f to overwrite it\n");
    // With two files, the other one is still compressed.
    let o = czip_in(&d, &models, &["compress", "a.txt", "b.txt"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        without_times(&stderr(&o)),
        format!(
            "czip: a.txt.czip: already exists; pass -f to overwrite it\n\
             b.txt => b.txt.czip: 1224 -> {0} bytes, ratio {1:.4}, <t> s\n\
             total: 1 of 2 files (1 failed), 1224 -> {0} bytes, ratio {1:.4}, <t> s\n\
             czip: 1 of 2 files failed\n",
            std::fs::metadata(d.join("b.txt.czip")).unwrap().len(),
            std::fs::metadata(d.join("b.txt.czip")).unwrap().len() as f64 / 1224.0
        )
    );
    assert_eq!(std::fs::read(d.join("a.txt.czip")).unwrap(), b"precious");
    // Decompressing onto the existing text is refused too, and -f replaces it.
    let o = czip_in(&d, &models, &["decompress", "b.txt.czip"]);
    assert_eq!(stderr(&o), "czip: b.txt: already exists; pass -f to overwrite it\n");
    std::fs::write(d.join("b.txt"), "old").unwrap();
    assert_ok(&czip_in(&d, &models, &["decompress", "-f", "b.txt.czip"]));
    assert_ne!(std::fs::read(d.join("b.txt")).unwrap(), b"old");
    assert_ok(&czip_in(&d, &models, &["compress", "-f", "a.txt"]));
    assert_ne!(std::fs::read(d.join("a.txt.czip")).unwrap(), b"precious");
    assert_eq!(listing(&d), ["a.txt", "a.txt.czip", "b.txt", "b.txt.czip"], "no temporary file is left");
}

#[test]
fn rm_removes_an_input_only_after_its_success() {
    let Some((d, models, a, _)) = two_texts("cli-files-rm") else { return };
    let golden = common::golden_dir().unwrap();
    std::fs::copy(golden.join("corpus/edge_invalid_utf8.bin"), d.join("bad.txt")).unwrap();
    let o = czip_in(&d, &models, &["compress", "--rm", "a.txt", "bad.txt"]);
    assert_eq!(o.status.code(), Some(1));
    let err = without_times(&stderr(&o));
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(lines[0].starts_with("a.txt => a.txt.czip: 226 -> "), "{err}");
    assert!(lines[1].starts_with("czip: bad.txt: ") && lines[1].contains("not valid UTF-8"), "{err}");
    assert!(lines[2].starts_with("total: 1 of 2 files (1 failed), 226 -> "), "{err}");
    assert_eq!(lines[3], "czip: 1 of 2 files failed");
    assert_eq!(listing(&d), ["a.txt.czip", "b.txt", "bad.txt"]);

    // Decompress --rm: the .czip goes once the text is written; a failed
    // one (its output exists) stays.
    std::fs::copy(d.join("a.txt.czip"), d.join("b.txt.czip")).unwrap();
    let o = czip_in(&d, &models, &["decompress", "--rm", "a.txt.czip", "b.txt.czip"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(listing(&d), ["a.txt", "b.txt", "b.txt.czip", "bad.txt"]);
    assert_eq!(std::fs::read(d.join("a.txt")).unwrap(), a);
    // -o with --rm removes the input too; to stdout it is a usage error.
    let o = czip_in(&d, &models, &["decompress", "--rm", "b.txt.czip", "-o", "-"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error: --rm: the output goes to stdout, so the input is kept;"), "{}", stderr(&o));
    assert_ok(&czip_in(&d, &models, &["decompress", "--rm", "b.txt.czip", "-o", "b2.txt"]));
    assert_eq!(listing(&d), ["a.txt", "b.txt", "b2.txt", "bad.txt"]);
}

#[test]
fn usage_errors_and_names_without_czip() {
    let Some((d, models, a, _)) = two_texts("cli-files-usage") else { return };
    let o = czip_in(&d, &models, &["compress", "a.txt", "b.txt", "-o", "x.czip"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: -o names one output, but 2 inputs are given; drop -o to write each output beside its input\n\n\
         Usage: czip compress [OPTIONS] [FILE]...\n\nFor more information, try '--help'.\n"
    );
    let o = czip_in(&d, &models, &["decompress", "a.czip", "b.czip", "-o", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error: -o names one output, but 2 inputs are given"));
    let o = czip_in(&d, &models, &["compress", "-i", "a.txt", "b.txt"]);
    assert_eq!(o.status.code(), Some(2));
    let o = czip_in(&d, &models, &["compress"]);
    assert_eq!(o.status.code(), Some(2));
    let o = czip_in(&d, &models, &["compress", "--rm", "-k", "a.txt"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(listing(&d), ["a.txt", "b.txt"]);

    // A name not ending in .czip needs -o.
    assert_ok(&czip_in(&d, &models, &["compress", "a.txt", "-o", "a.packed"]));
    let o = czip_in(&d, &models, &["decompress", "a.packed"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "czip: a.packed: the name does not end in .czip; name the output with -o OUT\n");
    assert_ok(&czip_in(&d, &models, &["decompress", "a.packed", "-o", "back.txt"]));
    assert_eq!(std::fs::read(d.join("back.txt")).unwrap(), a);
}
