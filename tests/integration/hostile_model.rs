//! Hostile model files: duplicate keys (which the `safetensors` crate would
//! silently resolve to the last one), tensors declared beyond the file,
//! absurd header lengths, and random damage to a small valid model. Every
//! case is a `ModelError` with a message, never a panic or an allocation
//! sized by a declared value.
//!
//! The real model is edited in memory only (its JSON header bytes are
//! rewritten and the tensor bytes reused); nothing is written to disk.

use crate::{common, harness};

use czip::model::ModelError;
use czip::Model;

/// (JSON header text, tensor data) of a safetensors file.
fn split(bytes: &[u8]) -> (String, Vec<u8>) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (String::from_utf8(bytes[8..8 + n].to_vec()).unwrap(), bytes[8 + n..].to_vec())
}

fn join(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn v000_bytes() -> Option<Vec<u8>> {
    Some(std::fs::read(common::models_dir()?.join("v000_eng.czm")).unwrap())
}

fn load_err(bytes: Vec<u8>) -> ModelError {
    match Model::from_bytes(bytes) {
        Ok(_) => panic!("model accepted"),
        Err(e) => e,
    }
}

/// Replaces the one occurrence of `from` in `s`.
fn replace_once(s: &str, from: &str, to: &str) -> String {
    assert_eq!(s.matches(from).count(), 1, "{from:?} is not unique in the header");
    s.replacen(from, to, 1)
}

/// The error of loading the model of header `h` (with `from` replaced by
/// `to`, once) and data `d`.
fn load_edited(h: &str, d: &[u8], from: &str, to: &str) -> ModelError {
    load_err(join(&replace_once(h, from, to), d))
}

#[test]
fn edited_v000_still_loads_when_the_edit_is_harmless() {
    // The test's own rewriting (header re-serialized with another length) is sound.
    let Some(b) = v000_bytes() else { return };
    let (h, d) = split(&b);
    let padded = format!("{h}    ");
    Model::from_bytes(join(&padded, &d)).unwrap();
}

#[test]
fn duplicate_keys_in_v000_are_rejected() {
    let Some(b) = v000_bytes() else { return };
    let (h, d) = split(&b);
    for (from, to, scope, message) in [
        // `head.mult` (I32 scalar, unused) renamed to `head.shift` (another
        // scalar): two entries named `head.shift`; safetensors alone would keep the last.
        ("\"head.mult\"", "head.shift", "tensor", "duplicate tensor key \"head.shift\""),
        // A duplicated weight, too: `norm.weight` appears twice with different data.
        ("\"layers.0.ffn_norm.weight\"", "norm.weight", "tensor", "duplicate tensor key \"norm.weight\""),
        // `max_seq_len` (informational) renamed to `vocab_size`: the metadata
        // now says vocab_size twice, "1024" and "8192".
        ("\"max_seq_len\"", "vocab_size", "__metadata__", "duplicate __metadata__ key \"vocab_size\""),
    ] {
        let e = load_edited(&h, &d, from, &format!("\"{to}\""));
        assert!(matches!(&e, ModelError::DuplicateKey { key, scope: s } if key == to && *s == scope), "{e}");
        assert!(e.to_string().contains(message), "{e}");
    }
}

#[test]
fn duplicates_in_the_tiny_model_are_rejected_too() {
    let (mut t, mut meta) = harness::tiny_model_parts();
    let ok = harness::safetensors_bytes(&harness::safetensors_header(&t, &meta), &t);
    Model::from_bytes(ok).unwrap();
    meta.push(("format", "czip-model-v1".to_string()));
    let e = load_err(harness::safetensors_bytes(&harness::safetensors_header(&t, &meta), &t));
    assert!(matches!(&e, ModelError::DuplicateKey { key, .. } if key == "format"), "{e}");
    meta.pop();
    let dup = harness::RawTensor::new("norm.weight", "I8", &[64], vec![1; 64]);
    t.push(dup);
    let e = load_err(harness::safetensors_bytes(&harness::safetensors_header(&t, &meta), &t));
    assert!(matches!(&e, ModelError::DuplicateKey { key, .. } if key == "norm.weight"), "{e}");
}

#[test]
fn tensors_declared_beyond_the_file_are_rejected_before_use() {
    let Some(b) = v000_bytes() else { return };
    let (h, d) = split(&b);
    // Truncated data: the last tensors' offsets point past the end.
    for cut in [1usize, 1000, d.len() / 2] {
        let e = load_err(join(&h, &d[..d.len() - cut]));
        assert!(matches!(e, ModelError::Container(_)), "cut {cut}: {e}");
    }
    // A shape whose byte size overflows / exceeds the file: embed.weight
    // declared as 2^40 × 384 with its real offsets.
    let e = load_edited(
        &h,
        &d,
        "\"embed.weight\":{\"dtype\":\"I8\",\"shape\":[1024,384]",
        "\"embed.weight\":{\"dtype\":\"I8\",\"shape\":[1099511627776,384]",
    );
    assert!(matches!(e, ModelError::Container(_)), "{e}");
    // Header length larger than the file, and absurd.
    for n in [b.len() as u64, u64::MAX, (1u64 << 63) + 5] {
        let mut x = b.clone();
        x[..8].copy_from_slice(&n.to_le_bytes());
        let e = load_err(x);
        assert!(matches!(e, ModelError::Container(_)), "header length {n}: {e}");
        assert!(!e.to_string().is_empty());
    }
    for short in [&b""[..], &b[..7], &b[..8], &b[..100]] {
        assert!(matches!(load_err(short.to_vec()), ModelError::Container(_)));
    }
}

#[test]
fn header_lies_about_the_model_are_errors() {
    let Some(b) = v000_bytes() else { return };
    let (h, d) = split(&b);
    for (from, to) in [
        ("\"vocab_size\":\"1024\"", "\"vocab_size\":\"1000000000000\""),
        ("\"n_layers\":\"1\"", "\"n_layers\":\"4294967296\""),
        ("\"d_model\":\"384\"", "\"d_model\":\"18446744073709551615\""),
        ("\"n_heads\":\"6\"", "\"n_heads\":\"0\""),
        ("\"d_ff\":\"1024\"", "\"d_ff\":\"-1\""),
    ] {
        if h.matches(from).count() != 1 {
            panic!("{from} not in the v000 header: {}", &h[..h.len().min(400)]);
        }
        let e = load_edited(&h, &d, from, to);
        assert!(!e.to_string().is_empty(), "{from}");
    }
}

/// Random single-byte damage to the tiny model's header and data never
/// panics; whatever still loads can run (`harness::exercise_model`).
#[test]
fn damaged_tiny_models_never_panic() {
    let base = harness::tiny_model_bytes();
    let n = u64::from_le_bytes(base[..8].try_into().unwrap()) as usize;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut loaded, mut rejected) = (0, 0);
    for _ in 0..600 {
        let mut b = base.clone();
        // Mostly in the header (where the structure is), sometimes anywhere.
        let r = next();
        let at = if r % 4 == 0 { (r >> 8) as usize % b.len() } else { 8 + (r >> 8) as usize % n };
        b[at] = (next() & 0xff) as u8;
        match Model::from_bytes(b) {
            Ok(m) => {
                harness::exercise_model(&m);
                loaded += 1;
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                rejected += 1;
            }
        }
    }
    println!("damaged tiny models: {loaded} loaded and ran, {rejected} rejected");
}
