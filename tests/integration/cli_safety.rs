//! What `czip` must never do to a user (issue 17): lose the input, replace a
//! file unasked, panic on a closed pipe, name a different chunk from run to
//! run, or show a library's type names. Each test runs the exact command
//! that used to fail and asserts the new behaviour.

use crate::common;

use common::{czip, s, stderr};

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use czip::container::{read_file, write_file, ReadLimits};

const BIN: &str = env!("CARGO_BIN_EXE_czip");


/// Exit 1 and exactly this one line on stderr.
fn assert_fails_with(o: &Output, line: &str) {
    assert_eq!(o.status.code(), Some(1), "{:?}: {}", o.status, stderr(o));
    assert_eq!(stderr(o), format!("{line}\n"));
}

fn assert_ok(o: &Output) {
    assert!(o.status.success(), "{:?}: {}", o.status, stderr(o));
}

/// The names in `dir`, sorted (to see that no temporary file is left).
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

struct Env {
    models: PathBuf,
    v000: PathBuf,
    v001: PathBuf,
    golden: PathBuf,
}

fn env() -> Option<Env> {
    let (m, g) = (common::models_dir()?, common::golden_dir()?);
    Some(Env { v000: m.join("v000_eng.czm"), v001: m.join("v001_eng.czm"), models: m, golden: g })
}

// ---- 1. Lost input, overwritten files, binary on a terminal ------------------

#[test]
fn output_that_is_the_input_is_refused_even_with_force() {
    let Some(e) = env() else { return };
    let d = common::scratch("cli-safety-same");
    let same = d.join("same.txt");
    std::fs::write(&same, "hello world\n").unwrap();
    let msg = format!("czip: {}: is the input file; write the output to another file", same.display());
    // The exact command that lost the text.
    let o = czip(&["compress", "-m", s(&e.v001), "-i", s(&same), "-o", s(&same)]);
    assert_fails_with(&o, &msg);
    let o = czip(&["compress", "-m", s(&e.v001), "-i", s(&same), "-o", s(&same), "-f"]);
    assert_fails_with(&o, &msg);
    // Another name for the same inode.
    let link = d.join("link.txt");
    std::fs::hard_link(&same, &link).unwrap();
    let o = czip(&["compress", "-m", s(&e.v001), "-i", s(&same), "-o", s(&link), "-f"]);
    assert_fails_with(&o, &format!("czip: {}: is the input file; write the output to another file", link.display()));
    // stdin reading the very file.
    let o = Command::new(BIN)
        .args(["compress", "-m", s(&e.v001), "-i", "-", "-o", s(&same), "-f"])
        .stdin(std::fs::File::open(&same).unwrap())
        .output()
        .unwrap();
    assert_fails_with(&o, &msg);
    assert_eq!(std::fs::read(&same).unwrap(), b"hello world\n");
    // Decompress too.
    let packed = d.join("p.czip");
    assert_ok(&czip(&["compress", "-m", s(&e.v001), "-i", s(&same), "-o", s(&packed)]));
    let o = czip(&["decompress", "-m", s(&e.v001), "-i", s(&packed), "-o", s(&packed), "-f"]);
    assert_fails_with(&o, &format!("czip: {}: is the input file; write the output to another file", packed.display()));
    let o = czip(&["decompress", "-m", s(&e.v001), "-i", s(&packed), "-o", "-"]);
    assert_ok(&o);
    assert_eq!(o.stdout, b"hello world\n");
    assert_eq!(listing(&d), ["link.txt", "p.czip", "same.txt"]);
}

#[test]
fn existing_output_is_replaced_only_with_force() {
    let Some(e) = env() else { return };
    let d = common::scratch("cli-safety-force");
    let text = d.join("t.txt");
    std::fs::write(&text, "some text\n").unwrap();
    let (packed, back) = (d.join("t.czip"), d.join("back.txt"));
    for p in [&packed, &back] {
        std::fs::write(p, "precious").unwrap();
    }
    let o = czip(&["compress", "-m", s(&e.v001), "-i", s(&text), "-o", s(&packed)]);
    assert_fails_with(&o, &format!("czip: {}: already exists; pass -f to overwrite it", packed.display()));
    assert_eq!(std::fs::read(&packed).unwrap(), b"precious");
    let o = czip(&["compress", "-m", s(&e.v001), "-i", s(&text), "-o", s(&packed), "--force"]);
    assert_ok(&o);
    assert_ne!(std::fs::read(&packed).unwrap(), b"precious");

    let o = czip(&["decompress", "-m", s(&e.v001), "-i", s(&packed), "-o", s(&back)]);
    assert_fails_with(&o, &format!("czip: {}: already exists; pass -f to overwrite it", back.display()));
    assert_eq!(std::fs::read(&back).unwrap(), b"precious");
    let o = czip(&["decompress", "-m", s(&e.v001), "-i", s(&packed), "-o", s(&back), "-f"]);
    assert_ok(&o);
    assert_eq!(std::fs::read(&back).unwrap(), b"some text\n");

    // A directory is never an output; a device needs no -f.
    let o = czip(&["compress", "-m", s(&e.v001), "-i", s(&text), "-o", s(&d), "-f"]);
    assert_fails_with(&o, &format!("czip: {}: is a directory; expected an output file", d.display()));
    assert_ok(&czip(&["compress", "-m", s(&e.v001), "-i", s(&text), "-o", "/dev/null"]));
    assert_eq!(listing(&d), ["back.txt", "t.czip", "t.txt"], "no temporary file is left");
}

#[test]
fn a_failed_command_leaves_no_output_and_no_temporary_file() {
    let Some(e) = env() else { return };
    let d = common::scratch("cli-safety-partial");
    let bad = d.join("bad.czip");
    std::fs::write(&bad, b"CZIPv1 but not really").unwrap();
    let o = czip(&["decompress", "-m", s(&e.v001), "-i", s(&bad), "-o", s(&d.join("out.txt"))]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(listing(&d), ["bad.czip"]);
}

/// Binary output on a terminal is refused by `io::binary_to_terminal` (unit
/// tested in src/bin/czip/io.rs); a pipe still gets it.
#[test]
fn compressed_output_to_a_pipe_still_works() {
    let Some(e) = env() else { return };
    let d = common::scratch("cli-safety-pipe");
    let text = e.golden.join("corpus/edge_emoji.txt");
    let file = d.join("f.czip");
    assert_ok(&czip(&["compress", "-m", s(&e.v001), "-i", s(&text), "-o", s(&file)]));
    let o = czip(&["compress", "-m", s(&e.v001), "-i", s(&text), "-o", "-"]);
    assert_ok(&o);
    assert_eq!(o.stdout, std::fs::read(&file).unwrap());
}

// ---- 2. -m DIR, and a file that is not a model --------------------------------

#[test]
fn model_directory_picks_the_published_model() {
    let Some(e) = env() else { return };
    let d = common::scratch("cli-safety-modeldir");
    let text = e.golden.join("corpus/edge_tok65.txt");
    let compress = |model: &Path, out: &str, extra: &[&str]| {
        let out = d.join(out);
        let mut args = vec!["compress", "-m", s(model), "-i", s(&text), "-o", s(&out)];
        args.extend(extra);
        assert_ok(&czip(&args));
        std::fs::read(out).unwrap()
    };
    // Writing: the newest published model (v001), unless only v000 is there.
    assert_eq!(compress(&e.models, "dir.czip", &[]), compress(&e.v001, "v001.czip", &[]));
    let only000 = d.join("only000");
    std::fs::create_dir(&only000).unwrap();
    std::os::unix::fs::symlink(&e.v000, only000.join("v000_eng.czm")).unwrap();
    assert_eq!(compress(&only000, "dir000.czip", &[]), compress(&e.v000, "v000.czip", &[]));

    // Reading: the model the file names, by content hash or upstream path hash.
    let original = std::fs::read(&text).unwrap();
    let upstream_v000 = e.golden.join("files/v000/L1/zstd/edge_tok65.txt.czip");
    for file in [d.join("v000.czip"), d.join("v001.czip"), upstream_v000.clone()] {
        let o = czip(&["decompress", "-m", s(&e.models), "-i", s(&file), "-o", "-"]);
        assert_ok(&o);
        assert_eq!(o.stdout, original, "{}", file.display());
        assert_eq!(stderr(&o), "");
    }
    let o = czip(&["test", "-m", s(&e.models), s(&d.join("v000.czip")), s(&upstream_v000), s(&d.join("v001.czip"))]);
    assert_ok(&o);
    assert_eq!(String::from_utf8_lossy(&o.stdout).matches(": OK (").count(), 3);
    let o = czip(&["inspect", "-m", s(&e.models), s(&d.join("v000.czip"))]);
    assert_ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("model_id_hash matches the model's content hash"));

    // A hash naming none of them: an error listing them (was: the newest,
    // with a note; issue 13).
    compress(&e.v001, "unknown.czip", &["--model-id-hash", "deadbeef"]);
    let o = czip(&["decompress", "-m", s(&e.models), "-i", s(&d.join("unknown.czip")), "-o", "-"]);
    assert_fails_with(
        &o,
        &format!(
            "czip: {}: model_id_hash deadbeef names none of the models in {} (-m): v001_eng.czm (content hash \
             104081d3, upstream path hash 271bf17f), v000_eng.czm (content hash 436c6d6a, upstream path hash \
             875b46ff); pass the model it was written with as -m MODEL.czm",
            d.join("unknown.czip").display(),
            e.models.display(),
        ),
    );
    assert!(o.stdout.is_empty());
    // With the model it was written with, it decodes.
    let o = czip(&["decompress", "-m", s(&e.v001), "-i", s(&d.join("unknown.czip")), "-o", "-"]);
    assert_ok(&o);
    assert_eq!(o.stdout, original);

    // A directory without them (was: "No such device (os error 19)").
    let empty = d.join("empty");
    std::fs::create_dir(&empty).unwrap();
    for cmd in ["compress", "decompress"] {
        let o = czip(&[cmd, "-m", s(&empty), "-i", s(&text), "-o", s(&d.join("never"))]);
        assert_fails_with(&o, &format!("czip: {} contains no v000_eng.czm or v001_eng.czm", empty.display()));
    }
}

#[test]
fn a_file_that_is_not_a_model_is_named() {
    let Some(e) = env() else { return };
    let d = common::scratch("cli-safety-notamodel");
    let not = d.join("notamodel.txt");
    std::fs::write(&not, "just some text, no model\n").unwrap();
    let o = czip(&["compress", "-m", s(&not), "-i", s(&not), "-o", s(&d.join("x"))]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.starts_with(&format!("czip: {}: not a CZIP model: ", not.display())), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    // 5. No library type names: a truncated model was "MetadataIncompleteBuffer".
    let truncated = d.join("truncated.czm");
    std::fs::write(&truncated, &std::fs::read(&e.v000).unwrap()[..100_000]).unwrap();
    let o = czip(&["compress", "-m", s(&truncated), "-i", s(&not), "-o", s(&d.join("x"))]);
    assert_fails_with(
        &o,
        &format!(
            "czip: {}: not a CZIP model: model file is not a valid safetensors file: incomplete metadata, file not fully covered",
            truncated.display()
        ),
    );
}

// ---- 3. A closed stdout ---------------------------------------------------------

/// Runs czip with a stdout whose reading end is closed before it starts:
/// it must end by SIGPIPE (status 141 in a shell), silently, never panic.
fn assert_quiet_on_closed_stdout(args: &[&str]) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = Command::new(BIN).args(args).stdin(Stdio::null()).stdout(writer).output().unwrap();
    assert_eq!(o.status.signal(), Some(libc::SIGPIPE), "{args:?}: {:?}: {}", o.status, stderr(&o));
    assert_eq!(stderr(&o), "", "{args:?}");
}

#[test]
fn closed_stdout_ends_czip_quietly() {
    let Some(e) = env() else { return };
    let file = e.golden.join("files/v001/L1/zstd/lcet10_16k.txt.czip");
    let text = e.golden.join("corpus/edge_emoji.txt");
    assert_quiet_on_closed_stdout(&["inspect", s(&file)]);
    assert_quiet_on_closed_stdout(&["inspect", "--json", s(&file)]);
    assert_quiet_on_closed_stdout(&["decompress", "-m", s(&e.v001), "-i", s(&file), "-o", "-"]);
    assert_quiet_on_closed_stdout(&["compress", "-m", s(&e.v001), "-i", s(&text), "-o", "-"]);
    assert_quiet_on_closed_stdout(&["test", "-m", s(&e.v001), s(&file)]);
    assert_quiet_on_closed_stdout(&["--help"]);
}

// ---- 4. The same diagnostic for any thread count -------------------------------

/// stderr of `czip decompress ARGS` for 1, 2 and 4 threads; all three equal.
fn stderr_for_any_thread_count(args: &[&str], file: &Path) -> String {
    let outs: Vec<String> = ["1", "2", "4"]
        .iter()
        .map(|t| {
            let mut a = vec!["decompress", "--threads", t];
            a.extend(args);
            a.extend(["-i", s(file), "-o", "-"]);
            let o = czip(&a);
            assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
            stderr(&o).replace(s(file), "<file>")
        })
        .collect();
    assert_eq!(outs[0], outs[1], "1 vs 2 threads");
    assert_eq!(outs[0], outs[2], "1 vs 4 threads");
    outs[0].clone()
}

#[test]
fn a_failing_decode_names_the_same_chunk_for_any_thread_count() {
    let Some(e) = env() else { return };
    // 64-token chunks written with v001, read with v000: chunk 0 already
    // fails its re-encoding check, a failure of the whole chunk (was: chunk
    // 0 or 61 or 30 from run to run, at "token position 64").
    let file = e.golden.join("files/v001/L1/zstd/lcet10_16k.txt.czip");
    let err = stderr_for_any_thread_count(&["-m", s(&e.v000), "--ignore-model-id-hash"], &file);
    assert_eq!(
        err,
        "czip: <file>: chunk 0: chunk bytes are not the encoding of the tokens they decode to (stored 55 bytes, \
         re-encoded 51, identical for the first 50): the file is corrupt or was written with another model (the \
         file's model_id_hash 271bf17f says it was written with v001_eng.czm, not this model (v000_eng.czm, content \
         hash 436c6d6a): decode it with v001_eng.czm)\n"
    );

    // Damage chunks 50 and 10 of the same file: chunk 10 is named, always.
    let d = common::scratch("cli-safety-lowest");
    let f = read_file(&std::fs::read(&file).unwrap(), &ReadLimits::default()).unwrap();
    assert!(f.chunk_count() > 60);
    let mut chunks: Vec<Vec<u8>> = f.chunks().map(<[u8]>::to_vec).collect();
    for c in [50, 10] {
        chunks[c][2] ^= 0x40;
    }
    let damaged = d.join("damaged.czip");
    std::fs::File::create(&damaged).unwrap().write_all(&write_file(&f.write_params(), &chunks).unwrap()).unwrap();
    let err = stderr_for_any_thread_count(&["-m", s(&e.v001)], &damaged);
    assert_eq!(
        err,
        "czip: <file>: chunk 10: chunk bytes are not the encoding of the tokens they decode to (stored 59 bytes, \
         re-encoded 53, identical for the first 53): the file is corrupt or was written with another model\n"
    );
}

/// Usage errors exit 2, also when the value is well-formed but this CPU
/// cannot honour it (a kernel it lacks); bad data stays 1.
#[test]
fn a_kernel_this_cpu_lacks_is_a_usage_error() {
    let o = czip(&["compress", "-m", "x.czm", "--kernel", "gpu", "-i", "x", "-o", "y"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("error: invalid value 'gpu' for '--kernel <scalar|avx2|avx512>': \"gpu\": expected scalar, avx2 or avx512"), "{}", stderr(&o));
    use czip::model::kernels::Kernel;
    if let Some(k) = [Kernel::Avx512, Kernel::Avx2].into_iter().find(|k| !k.is_available()) {
        let o = czip(&["compress", "-m", "x.czm", "--kernel", k.name(), "-i", "x", "-o", "y"]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(&format!("kernel {} is not supported by this CPU", k.name())), "{}", stderr(&o));
    }
}
