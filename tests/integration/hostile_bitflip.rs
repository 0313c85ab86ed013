//! Bit-flip campaign: for four small golden files, every single-bit flip of
//! the whole file (outer header, compressed stream, everything) is decoded
//! with the right model through `pipeline::decompress`, and each outcome is
//! counted and printed (`cargo test --profile checked --test integration
//! hostile_bitflip:: -- --nocapture`): the exact text, an error (by stage), a valid file of
//! another text, or a wrong text returned as success.
//!
//! CZIP v1 has no checksum and the arithmetic code has no redundancy, so a
//! flip in the chunk data usually decodes to *some* tokens; only the length,
//! UTF-8 and the structure of the code can reveal it. Today's decoder checks
//! length and UTF-8, and a few percent of the flips come back as a wrong text
//! with success. Two further checks close that gap (they need edits to
//! `src/pipeline/{chunk,decompress}.rs`, proposed in the report of issue 5):
//! the chunk's bytes must be exactly the encoding of the tokens they decode
//! to, and the tokens must be the tokenization of the text. This test
//! applies them on the side and asserts that with them no wrong text
//! remains, except a flip that yields a *valid file of another text* (the
//! exact file this engine writes for that text), which no decoder of this
//! format can detect.
//!
//! A sample of the flips also goes through the `czip` binary to check the
//! exit status (0 only with the exact text on stdout, otherwise 1 and a
//! one-line message on stderr).

use crate::common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use czip::container::{payloads_equivalent, read_file, ReadLimits};
use czip::error::Error;
use czip::pipeline::{compress, decode_tokens, ChunkCoder, CompressOptions};
use czip::Model;
use rayon::prelude::*;

/// (model, golden file, corpus text). Small files, so that a flip that
/// survives the container (and so costs a full decode) stays cheap: the
/// whole campaign decodes a few hundred files of up to ~130 tokens.
const CASES: [(&str, &str, &str); 4] = [
    ("v001_eng.czm", "files/v001/L1/brotli/edge_tok65.txt.czip", "corpus/edge_tok65.txt"),
    ("v001_eng.czm", "files/v001/L2/zstd/edge_special_tokens.txt.czip", "corpus/edge_special_tokens.txt"),
    ("v000_eng.czm", "files/v000/L1/brotli/edge_mixed_newlines.txt.czip", "corpus/edge_mixed_newlines.txt"),
    ("v000_eng.czm", "files/v000/L1/zstd/edge_bom.txt.czip", "corpus/edge_bom.txt"),
];

/// What one corrupted file gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Success with the original text.
    Exact,
    /// Rejected while reading the container (outer header, stream, inner header).
    ErrContainer,
    /// Rejected while decoding a chunk (coder, forward step, token).
    ErrChunk,
    /// Decoded, but the length differs from `uncompressed_len`.
    ErrLength,
    /// Decoded, but not UTF-8.
    ErrUtf8,
    /// Any other error.
    ErrOther,
    /// Success with a different text, where the flipped file is exactly the
    /// file a conforming encoder writes for that text (same outer header
    /// fields, same payload): a valid file of another text, which no decoder
    /// of this format can tell from the original (it has no checksum).
    OtherValidFile,
    /// Success with a different text from a file that no conforming encoder
    /// writes: a detectable inconsistency that went undetected. Must not happen.
    WrongText,
}

fn classify(r: &Result<Vec<u8>, Error>, text: &[u8]) -> Outcome {
    match r {
        Ok(t) if t == text => Outcome::Exact,
        Ok(_) => Outcome::WrongText,
        Err(e) => {
            assert!(!e.to_string().trim().is_empty(), "error without a message: {e:?}");
            match e {
                Error::Container(_) => Outcome::ErrContainer,
                Error::Chunk { .. } => Outcome::ErrChunk,
                Error::DecodedLengthMismatch { .. } => Outcome::ErrLength,
                Error::DecodedNotUtf8 { .. } => Outcome::ErrUtf8,
                // Also Error::WrongModel: a flip that turns model_id_hash into
                // the other published model's hash (2 of 2^32 values, behind
                // the outer compression) is refused before decoding.
                _ => Outcome::ErrOther,
            }
        }
    }
}

/// The two checks proposed for the decoder (see the module doc), emulated
/// with the public API: re-encoding each chunk's decoded tokens gives back
/// exactly its bytes (in `ChunkCoder::decode` this costs one encoder update
/// per token; here a second forward pass), and the decoded tokens are the
/// tokenization of the decoded text (one tokenizer pass). `true` when both
/// hold.
fn passes_proposed_checks(model: &Model, bytes: &[u8], text: &[u8]) -> bool {
    let limits = ReadLimits { model_capacity_tokens: Some(model.config().rope_rows) };
    let Ok(f) = read_file(bytes, &limits) else { return false };
    let Ok(chunks) = decode_tokens(model, &f, None) else { return false };
    let Ok(text) = std::str::from_utf8(text) else { return false };
    if !model.tokenizer().encode(text).is_ok_and(|t| t == chunks.concat()) {
        return false;
    }
    let mut coder = ChunkCoder::new(model, f.chunk_tokens());
    chunks.iter().enumerate().all(|(i, toks)| coder.encode(toks).is_ok_and(|b| b == f.chunk(i)))
}

/// Whether `bytes` is exactly what this engine writes for `text` with the
/// same k, codec and model_id_hash (payload compared; 0 ≡ 6 in byte 11).
fn is_conforming_file_of(model: &Model, bytes: &[u8], text: &[u8]) -> bool {
    let Ok(f) = read_file(bytes, &ReadLimits::default()) else { return false };
    let opts = CompressOptions {
        chunk_log2: Some(f.inner.chunk_log2()),
        codec: f.outer.codec,
        model_id_hash: Some(f.inner.model_id_hash),
    };
    let Ok(z) = compress(model, text, &opts, None) else { return false };
    let Ok(g) = read_file(&z, &ReadLimits::default()) else { return false };
    g.outer.flags == f.outer.flags
        && g.outer.uncompressed_len == f.outer.uncompressed_len
        && payloads_equivalent(&g.payload, &f.payload)
}

fn flipped(orig: &[u8], bit: usize) -> Vec<u8> {
    let mut b = orig.to_vec();
    b[bit / 8] ^= 1 << (bit % 8);
    b
}

#[test]
fn every_single_bit_flip_gives_the_text_or_an_error() {
    let (Some(golden), Some(models)) = (common::golden_dir(), common::models_dir()) else { return };
    let t0 = std::time::Instant::now();
    let mut loaded: BTreeMap<&str, Model> = BTreeMap::new();
    let mut grand: BTreeMap<Outcome, usize> = BTreeMap::new();
    let mut grand_checked: BTreeMap<Outcome, usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (mname, file, corpus) in CASES {
        let model = loaded.entry(mname).or_insert_with(|| Model::open(&models.join(mname)).unwrap());
        let orig = std::fs::read(golden.join(file)).unwrap();
        let text = std::fs::read(golden.join(corpus)).unwrap();
        assert_eq!(czip::pipeline::decompress(model, &orig, None).unwrap(), text, "{file} unflipped");
        let counts = Mutex::new(BTreeMap::<Outcome, usize>::new());
        let checked = Mutex::new(BTreeMap::<Outcome, usize>::new());
        let bad = Mutex::new(Vec::new());
        (0..orig.len() * 8).into_par_iter().for_each(|bit| {
            let b = flipped(&orig, bit);
            let r = czip::pipeline::decompress(model, &b, None);
            let mut o = classify(&r, &text);
            if o == Outcome::WrongText && is_conforming_file_of(model, &b, r.as_deref().unwrap_or_default()) {
                o = Outcome::OtherValidFile;
            }
            *counts.lock().unwrap().entry(o).or_default() += 1;
            // The same flip with the canonical-chunk check on top.
            let c = match &r {
                Ok(t) if !passes_proposed_checks(model, &b, t) => Outcome::ErrChunk,
                _ => o,
            };
            *checked.lock().unwrap().entry(c).or_default() += 1;
            if c == Outcome::WrongText {
                bad.lock().unwrap().push(bit);
            }
        });
        let counts = counts.into_inner().unwrap();
        let checked = checked.into_inner().unwrap();
        let mut bad = bad.into_inner().unwrap();
        bad.sort_unstable();
        println!("{file} ({} bytes, {} flips, model {mname}):", orig.len(), orig.len() * 8);
        println!("  pipeline::decompress today:        {counts:?}");
        println!("  with the two proposed checks:      {checked:?}");
        for (k, v) in &counts {
            *grand.entry(*k).or_default() += v;
        }
        for (k, v) in &checked {
            *grand_checked.entry(*k).or_default() += v;
        }
        wrong.extend(bad.iter().map(|b| format!("{file} bit {b} (byte {}, bit {})", b / 8, b % 8)));
    }
    println!("all files, pipeline::decompress today:     {grand:?}");
    println!("all files, with the two proposed checks:   {grand_checked:?}");
    println!("({:?})", t0.elapsed());
    // With both checks every wrong text is an error, except a flip that makes
    // a valid file of another text (no checksum in the format: undetectable).
    assert!(wrong.is_empty(), "wrong text even with the proposed checks for {} flips: {wrong:#?}", wrong.len());
    // `pipeline::decompress` itself re-encodes each chunk and checks the
    // tokenization, so it never returns a wrong text with success either.
    let today = grand.get(&Outcome::WrongText).copied().unwrap_or(0);
    assert_eq!(today, 0, "{today} wrong texts with success");
}

/// A sample of flips through the binary: exit 0 only with the exact text,
/// otherwise exit 1 and a one-line `czip: …` message.
#[test]
fn cli_exit_status_on_flipped_files() {
    let (Some(golden), Some(models)) = (common::golden_dir(), common::models_dir()) else { return };
    let (mname, file, corpus) = CASES[0];
    let orig = std::fs::read(golden.join(file)).unwrap();
    let text = std::fs::read(golden.join(corpus)).unwrap();
    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
    // Seeded sample: every 37th bit, which lands in the header and all over the stream.
    for bit in (0..orig.len() * 8).step_by(37) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_czip"))
            .args(["decompress", "-m"])
            .arg(models.join(mname))
            .args(["-i", "-", "-o", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&flipped(&orig, bit)).unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => {
                assert_eq!(out.stdout, text, "bit {bit}: exit 0 with a different text");
                *tally.entry("exit 0, exact text").or_default() += 1;
            }
            Some(1) => {
                assert!(out.stdout.is_empty(), "bit {bit}: output written on failure");
                let line = stderr.trim_end();
                assert!(line.starts_with("czip: ") && !line.contains('\n'), "bit {bit}: stderr {stderr:?}");
                *tally.entry("exit 1 with a message").or_default() += 1;
            }
            other => panic!("bit {bit}: exit {other:?}, stderr {stderr:?}"),
        }
    }
    println!("{file} through the CLI: {tally:?}");
    assert!(tally.get("exit 1 with a message").copied().unwrap_or(0) > 0);
}
