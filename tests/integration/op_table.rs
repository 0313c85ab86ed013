//! The op table is the one source of what the ops are: every committed case
//! agrees with it (op, spec, requires), `vectors/README.md`'s catalogue is
//! generated from it, the engine declares its features, arguments are
//! checked from it, and the file ops run the pipeline's own checks.

use crate::common;

use std::collections::BTreeSet;

use common::{read_jsonl, repo};
use czip::conformance::op_table::{self, catalogue_markdown, Op, CATALOGUE_BEGIN, CATALOGUE_END, CONTEXT_FEATURES, DECLARED_ONLY_FEATURES, OPS};
use czip::conformance::ops::{reference, Context, Outcome, ALL_FEATURES};
use czip::container::{write_file, OuterCodec, WriteParams};
use czip::pipeline::{decompress_with, ChunkCoder, DecompressOptions};
use czip::Model;
use serde_json::json;

fn ctx() -> Context {
    let nowhere = repo("target/op-table-nowhere");
    Context::new(nowhere.clone(), repo("vectors"), nowhere)
}

#[test]
fn every_committed_case_has_the_op_spec_and_requires_of_its_table_entry() {
    let mut files = Vec::new();
    for level in std::fs::read_dir(repo("vectors")).unwrap().flatten().filter(|e| e.path().is_dir()) {
        for f in std::fs::read_dir(level.path()).unwrap().flatten() {
            if f.path().extension().is_some_and(|x| x == "jsonl") {
                files.push(f.path());
            }
        }
    }
    assert!(files.len() > 20, "{files:?}");
    let mut seen = BTreeSet::new();
    let mut n = 0;
    for f in files {
        for c in read_jsonl(&f) {
            let id = c["id"].as_str().unwrap();
            let op = Op::from_name(c["op"].as_str().unwrap()).unwrap_or_else(|| panic!("{id}: op {} is not in the table", c["op"]));
            let reject = c["expect"] == json!({"error": true});
            assert_eq!(c["spec"], op_table::spec_section(op, reject), "{id}");
            let requires: Vec<&str> = c["requires"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
            let context: Vec<&str> = requires.iter().copied().filter(|f| !op.spec().features.contains(f)).collect();
            let want = op_table::requires(op, &context).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(requires, want, "{id}: the op's features {:?} and context features only", op.spec().features);
            seen.insert(op.name());
            n += 1;
        }
    }
    assert!(n > 9000, "{n} cases");
    let all: BTreeSet<&str> = OPS.iter().map(|s| s.name).collect();
    assert_eq!(seen, all, "every op has cases");
}

#[test]
fn the_readme_catalogue_is_generated_from_the_table() {
    let path = repo("vectors/README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let want = format!("{CATALOGUE_BEGIN}\n{}{CATALOGUE_END}", catalogue_markdown());
    let (a, b) = (readme.find(CATALOGUE_BEGIN).expect("begin marker"), readme.find(CATALOGUE_END).expect("end marker"));
    let got = &readme[a..b + CATALOGUE_END.len()];
    if got != want && std::env::var_os("CZIP_BLESS").is_some() {
        std::fs::write(&path, readme.replacen(got, &want, 1)).unwrap();
        return;
    }
    assert_eq!(got, want, "vectors/README.md's catalogue is not the table's (rerun with CZIP_BLESS=1 to rewrite it)");
}

#[test]
fn the_engine_declares_the_table_features() {
    let declared: BTreeSet<&str> = ALL_FEATURES.iter().copied().collect();
    let mut want: BTreeSet<&str> = op_table::op_features().into_iter().collect();
    want.extend(CONTEXT_FEATURES);
    want.extend(DECLARED_ONLY_FEATURES);
    assert_eq!(declared, want);
    assert_eq!(declared.len(), ALL_FEATURES.len(), "no repeats");
}

#[test]
fn a_missing_argument_is_named_never_defaulted() {
    let ctx = ctx();
    for s in OPS {
        let Some(first) = s.args.iter().find(|a| a.required) else { continue };
        assert_eq!(reference(&ctx, s.name, &json!({})), Outcome::Error(format!("missing argument {:?}", first.name)), "{}", s.name);
    }
    let args = json!({"model": "synthetic/syn_a", "bytes_hex": "00", "n": -1});
    assert_eq!(reference(&ctx, "chunk_decode", &args), Outcome::Error("argument \"n\": expected an unsigned integer".into()));
    let args = json!({"model": 7, "tokens": [1]});
    assert_eq!(reference(&ctx, "chunk_encode", &args), Outcome::Error("argument \"model\": expected a model name (a string)".into()));
    assert!(matches!(reference(&ctx, "no_such_op", &json!({})), Outcome::Unsupported(_)));
}

/// A file whose chunk holds a non-canonical tokenization of its text (one
/// multi-byte token spelled byte by byte): it decodes, and only the
/// pipeline's final check (the tokens must be the text's tokenization)
/// refuses it.
#[test]
fn the_decompress_op_runs_the_pipelines_canonical_tokens_check() {
    let ctx = ctx();
    let name = "synthetic/syn_a";
    let m: std::sync::Arc<Model> = ctx.model(name).unwrap();
    let tk = m.tokenizer();
    let text = "the cat and the hat are in the house";
    let canonical = tk.encode(text).unwrap();
    let i = canonical.iter().position(|&t| tk.token_bytes(t).is_some_and(|b| b.len() >= 2)).expect("a multi-byte token");
    let mut tokens = canonical[..i].to_vec();
    for c in std::str::from_utf8(tk.token_bytes(canonical[i]).unwrap()).unwrap().chars() {
        tokens.extend(tk.encode(&c.to_string()).unwrap());
    }
    tokens.extend(&canonical[i + 1..]);
    assert_ne!(tokens, canonical);
    assert!(tokens.len() <= 64);
    let mut bytes = Vec::new();
    tk.decode_into(&tokens, &mut bytes).unwrap();
    assert_eq!(bytes, text.as_bytes(), "the same text");

    let chunk = ChunkCoder::new(&m, 64).encode(&tokens).unwrap();
    let params = WriteParams { codec: OuterCodec::Brotli, model_id_hash: m.content_hash(), chunk_log2: 6, uncompressed_len: text.len() as u32, last_chunk_tokens: tokens.len() as u16 };
    let file = write_file(&params, &[chunk]).unwrap();

    let pipeline = decompress_with(&m, &file, &DecompressOptions::SPEC_LITERAL, None).unwrap_err().to_string();
    assert!(pipeline.contains("not the tokenization"), "{pipeline}");
    let op = reference(&ctx, "decompress", &json!({"model": name, "file_hex": hex(&file)}));
    assert_eq!(op, Outcome::Error(pipeline), "the op refuses it as the pipeline does");
    // The canonical file is accepted by both.
    let args = json!({"model": name, "text": {"hex": hex(text.as_bytes())}, "level": 1, "codec": "brotli"});
    let Outcome::Result(v) = reference(&ctx, "compress", &args) else { panic!() };
    let good = reference(&ctx, "decompress", &json!({"model": name, "file_hex": v["file_hex"]}));
    assert_eq!(good, Outcome::Result(json!({"text_hex": hex(text.as_bytes())})));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
