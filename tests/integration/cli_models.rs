//! A `czip` that finds its model (issue 13): no `-m` means `$CZIP_MODEL`,
//! else the models directory (`$CZIP_MODELS_DIR`, else `../shared/models`
//! relative to the current directory, else `models/` beside the
//! executable); reading picks the model a file's `model_id_hash` names.
//!
//! Every run here has `CZIP_MODEL` and `CZIP_MODELS_DIR` removed or set
//! explicitly and its own working directory inside a scratch directory, whose
//! `shared/models` holds links to the published models: nothing is written
//! into the real `../shared`.

use crate::common;

use common::{assert_ok, s, stderr, without_times};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_czip");


struct Env {
    v000: PathBuf,
    v001: PathBuf,
    golden: PathBuf,
}

fn env() -> Option<Env> {
    let (m, g) = (common::models_dir()?, common::golden_dir()?);
    Some(Env { v000: m.join("v000_eng.czm"), v001: m.join("v001_eng.czm"), golden: g })
}

/// A scratch workspace: `ws/checkout` (the working directory) and
/// `ws/shared/models` with links to both published models, so that
/// `../shared/models` resolves as it does beside a real checkout.
struct Workspace {
    root: PathBuf,
    checkout: PathBuf,
    models: PathBuf,
}

fn workspace(name: &str, e: &Env) -> Workspace {
    let root = common::scratch(name);
    let (checkout, models) = (root.join("checkout"), root.join("shared/models"));
    std::fs::create_dir_all(&checkout).unwrap();
    std::fs::create_dir_all(&models).unwrap();
    std::os::unix::fs::symlink(&e.v000, models.join("v000_eng.czm")).unwrap();
    std::os::unix::fs::symlink(&e.v001, models.join("v001_eng.czm")).unwrap();
    Workspace { root, checkout, models }
}

/// `czip ARGS` run in `cwd` with no `CZIP_MODEL`/`CZIP_MODELS_DIR` but those in `vars`.
fn czip_in(bin: &str, cwd: &Path, vars: &[(&str, &Path)], args: &[&str]) -> Output {
    let mut c = Command::new(bin);
    c.args(args).current_dir(cwd).env_remove("CZIP_MODEL").env_remove("CZIP_MODELS_DIR").stdin(Stdio::null());
    for (k, v) in vars {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// What `-m MODEL` writes for `text` (the reference the defaults must equal).
fn with_explicit_model(ws: &Workspace, model: &Path, text: &Path) -> Vec<u8> {
    let o = czip_in(BIN, &ws.checkout, &[], &["compress", "-m", s(model), "-i", s(text), "-o", "-"]);
    assert_ok(&o);
    o.stdout
}

#[test]
fn the_default_model_comes_from_the_environment_or_the_models_directory() {
    let Some(e) = env() else { return };
    let ws = workspace("cli-models-default", &e);
    let text = ws.checkout.join("t.txt");
    std::fs::copy(e.golden.join("corpus/edge_tok65.txt"), &text).unwrap();
    let (by_v000, by_v001) = (with_explicit_model(&ws, &e.v000, &text), with_explicit_model(&ws, &e.v001, &text));
    assert_ne!(by_v000, by_v001);
    let run = |vars: &[(&str, &Path)], extra: &[&str]| {
        let mut args = vec!["compress", "-i", "t.txt", "-o", "-"];
        args.extend(extra);
        let o = czip_in(BIN, &ws.checkout, vars, &args);
        assert_ok(&o);
        (o.stdout.clone(), without_times(&stderr(&o)))
    };

    // ../shared/models: v001_eng.czm, silently; with -v, one line saying so.
    assert_eq!(run(&[], &[]), (by_v001.clone(), String::new()));
    let summary = format!("t.txt => stdout: 75 -> {} bytes, ratio {:.4}, <t> s\n", by_v001.len(), by_v001.len() as f64 / 75.0);
    assert_eq!(std::fs::metadata(&text).unwrap().len(), 75);
    assert_eq!(
        run(&[], &["-v"]),
        (
            by_v001.clone(),
            "czip: using model ../shared/models/v001_eng.czm: the newest published model in ../shared/models (the \
             default models directory, relative to the current directory; no -m given)\n"
                .to_string()
                + &summary
        )
    );
    // $CZIP_MODELS_DIR: the directory (here one holding only v000).
    let only000 = ws.root.join("only000");
    std::fs::create_dir(&only000).unwrap();
    std::os::unix::fs::symlink(&e.v000, only000.join("v000_eng.czm")).unwrap();
    let (out, err) = run(&[("CZIP_MODELS_DIR", &only000)], &["-v"]);
    assert_eq!(out, by_v000);
    assert!(
        err.starts_with(&format!(
            "czip: using model {0}/v000_eng.czm: the newest published model in {0} ($CZIP_MODELS_DIR; no -m given)\nt.txt => stdout: ",
            only000.display()
        )),
        "{err}"
    );
    // $CZIP_MODEL wins over the directories; -m over $CZIP_MODEL, and names no model with -v.
    let (out, err) = run(&[("CZIP_MODEL", &e.v000), ("CZIP_MODELS_DIR", &ws.models)], &["-v"]);
    assert_eq!(out, by_v000);
    assert!(err.starts_with(&format!("czip: using model {} ($CZIP_MODEL; no -m given)\nt.txt => stdout: ", e.v000.display())), "{err}");
    let (out, err) = run(&[("CZIP_MODEL", &e.v000)], &["-v", "-m", s(&e.v001)]);
    assert_eq!(out, by_v001);
    assert_eq!(err, summary);
}

#[test]
fn the_models_directory_beside_the_executable_is_the_last_resort() {
    let Some(e) = env() else { return };
    let ws = workspace("cli-models-exe", &e);
    std::fs::remove_dir_all(ws.root.join("shared")).unwrap();
    let text = ws.checkout.join("t.txt");
    std::fs::write(&text, "A short text.\n").unwrap();
    // Nothing found: every place looked is named, and how to pass -m.
    let exe_models = Path::new(BIN).parent().unwrap().join("models");
    assert!(!exe_models.exists(), "{} would change what this test sees", exe_models.display());
    let o = czip_in(BIN, &ws.checkout, &[], &["compress", "t.txt"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "czip: no model: -m not given, $CZIP_MODEL not set, and no v000_eng.czm or v001_eng.czm in \
             ../shared/models (no such directory), {} (no such directory); pass the model with -m MODEL.czm (or a \
             directory of models), or set CZIP_MODEL or CZIP_MODELS_DIR\n",
            exe_models.display()
        )
    );
    let o = czip_in(BIN, &ws.checkout, &[("CZIP_MODELS_DIR", &ws.root.join("nowhere"))], &["decompress", "x.czip"]);
    assert_eq!(
        stderr(&o),
        format!(
            "czip: no model: -m not given, $CZIP_MODEL not set, and no v000_eng.czm or v001_eng.czm in \
             $CZIP_MODELS_DIR={} (no such directory); pass the model with -m MODEL.czm (or a directory of models), \
             or set CZIP_MODEL or CZIP_MODELS_DIR\n",
            ws.root.join("nowhere").display()
        )
    );
    assert!(!ws.checkout.join("t.txt.czip").exists());

    // A copy of czip with models/ beside it.
    let bin_dir = ws.root.join("bin");
    std::fs::create_dir_all(bin_dir.join("models")).unwrap();
    let bin = bin_dir.join("czip");
    std::fs::copy(BIN, &bin).unwrap();
    std::os::unix::fs::symlink(&e.v001, bin_dir.join("models/v001_eng.czm")).unwrap();
    let o = czip_in(s(&bin), &ws.checkout, &[], &["compress", "-v", "t.txt"]);
    assert_ok(&o);
    assert!(
        stderr(&o).starts_with(&format!(
            "czip: using model {0}/v001_eng.czm: the newest published model in {0} (the models directory beside \
             the executable; no -m given)\n",
            bin_dir.join("models").display()
        )),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(ws.checkout.join("t.txt.czip")).unwrap(), with_explicit_model(&ws, &e.v001, &text));
}

#[test]
fn reading_picks_the_model_the_file_names() {
    let Some(e) = env() else { return };
    let ws = workspace("cli-models-pick", &e);
    // Upstream's files name their model by path hash; ours by content hash.
    let up000 = e.golden.join("files/v000/L1/zstd/edge_tok65.txt.czip");
    let up001 = e.golden.join("files/v001/L3/brotli/alice_ch1.txt.czip");
    let ours000 = ws.checkout.join("ours000.czip");
    std::fs::write(&ours000, with_explicit_model(&ws, &e.v000, &e.golden.join("corpus/edge_tok129.txt"))).unwrap();
    for (file, text, model, hash) in [
        (&up000, "edge_tok65.txt", "v000_eng.czm", "875b46ff"),
        (&up001, "alice_ch1.txt", "v001_eng.czm", "271bf17f"),
        (&ours000, "edge_tok129.txt", "v000_eng.czm", "436c6d6a"),
    ] {
        let o = czip_in(BIN, &ws.checkout, &[], &["decompress", "-v", s(file), "-o", "-"]);
        assert_ok(&o);
        assert_eq!(o.stdout, std::fs::read(e.golden.join("corpus").join(text)).unwrap(), "{}", file.display());
        let err = stderr(&o);
        assert_eq!(
            err.lines().next().unwrap(),
            format!(
                "czip: using model ../shared/models/{model} for {}: its model_id_hash {hash} names it; models \
                 directory ../shared/models (the default models directory, relative to the current directory; no -m given)",
                file.display()
            )
        );
        // Without -v, nothing on stderr.
        let o = czip_in(BIN, &ws.checkout, &[("CZIP_MODELS_DIR", &ws.models)], &["decompress", s(file), "-o", "-"]);
        assert_ok(&o);
        assert_eq!(stderr(&o), "");
    }
    // test: each file with its own model.
    let o = czip_in(BIN, &ws.checkout, &[], &["test", s(&up000), s(&up001), "ours000.czip"]);
    assert_ok(&o);
    assert_eq!(
        common::stdout(&o),
        format!(
            "{}: OK (75 bytes, no checksum: a zstd frame without one)\n{}: OK (11735 bytes, no checksum: brotli has none)\nours000.czip: OK (226 bytes, no checksum: brotli has none)\n",
            up000.display(),
            up001.display()
        )
    );

    // An explicit -m FILE is used as given: a file naming the other
    // published model is still refused (ModelIdCheck), not re-routed.
    let o = czip_in(BIN, &ws.checkout, &[("CZIP_MODELS_DIR", &ws.models)], &["decompress", "-m", s(&e.v001), s(&up000), "-o", "-"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("says the file was written with v000_eng.czm, not with this model (v001_eng.czm"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}

/// A model with the same weights as `src` but another content hash (one
/// more metadata key).
fn renamed_model(src: &Path) -> Vec<u8> {
    let bytes = std::fs::read(src).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    header["__metadata__"]["comment"] = "a private copy".into();
    let mut h = serde_json::to_vec(&header).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend_from_slice(&bytes[8 + n..]);
    out
}

#[test]
fn a_file_naming_none_of_the_models_is_an_error_that_lists_them() {
    let Some(e) = env() else { return };
    let ws = workspace("cli-models-unknown", &e);
    let text = e.golden.join("corpus/edge_tok65.txt");
    // Another model in the directory is a candidate too, by content hash; a
    // file there that is not a model is listed as such.
    std::fs::write(ws.models.join("private.czm"), renamed_model(&e.v000)).unwrap();
    std::fs::write(ws.models.join("broken.czm"), "not a model").unwrap();
    let private = with_explicit_model(&ws, &ws.models.join("private.czm"), &text);
    std::fs::write(ws.checkout.join("private.czip"), &private).unwrap();
    let hash = czip::model::load::md5_prefix_u32(&std::fs::read(ws.models.join("private.czm")).unwrap());
    let o = czip_in(BIN, &ws.checkout, &[], &["decompress", "-v", "private.czip", "-o", "-"]);
    assert_ok(&o);
    assert_eq!(o.stdout, std::fs::read(&text).unwrap());
    assert!(stderr(&o).starts_with("czip: using model ../shared/models/private.czm for private.czip: "), "{}", stderr(&o));

    let o = czip_in(BIN, &ws.checkout, &[], &["compress", "-m", s(&e.v001), "--model-id-hash", "deadbeef", "-i", s(&text), "-o", "unknown.czip"]);
    assert_ok(&o);
    let known = format!(
        "v001_eng.czm (content hash 104081d3, upstream path hash 271bf17f), v000_eng.czm (content hash 436c6d6a, \
         upstream path hash 875b46ff), broken.czm (not a CZIP model), private.czm (content hash {hash:08x})"
    );
    let o = czip_in(BIN, &ws.checkout, &[], &["decompress", "unknown.czip"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "czip: unknown.czip: model_id_hash deadbeef names none of the models in ../shared/models (the default \
             models directory, relative to the current directory; no -m given): {known}; pass the model it was \
             written with as -m MODEL.czm\n"
        )
    );
    assert!(!ws.checkout.join("unknown").exists());
    let o = czip_in(BIN, &ws.checkout, &[], &["test", "unknown.czip", "private.czip"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        common::stdout(&o),
        format!(
            "unknown.czip: FAILED: model_id_hash deadbeef names none of the models in ../shared/models (the default \
             models directory, relative to the current directory; no -m given): {known}; pass the model it was \
             written with as -m MODEL.czm\nprivate.czip: OK (75 bytes, no checksum: brotli has none)\n"
        )
    );
    assert_eq!(stderr(&o), "czip: 1 of 2 files failed verification\n");
    // As the message says: -m with the model it was written with.
    let o = czip_in(BIN, &ws.checkout, &[], &["decompress", "-m", s(&e.v001), "unknown.czip"]);
    assert_ok(&o);
    assert_eq!(std::fs::read(ws.checkout.join("unknown")).unwrap(), std::fs::read(&text).unwrap());
}
