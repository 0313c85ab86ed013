//! The engine-independent case format of `vectors/` (documented for other
//! implementers in `vectors/README.md`).
//!
//! A case is one request of the adapter protocol plus what it must answer:
//! `{id, op, args, expect, spec, requires, tags}`. Integers are JSON numbers,
//! except 64-bit values beyond ±2^53, which are decimal strings. Large arrays
//! may be stored as `{"dtype": "i8"|"i16"|"i32"|"u32", "hex": "<LE bytes>",
//! "sha256": "…"}` (or with `sha256` alone, in an expectation).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Version of the case format; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// One conformance case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Unique, stable, dotted: `level.op.detail` (e.g. `prim.sra_rne_tte_s32.tie_odd.3`).
    pub id: String,
    /// The operation (see `vectors/README.md` for the catalogue).
    pub op: String,
    pub args: Value,
    /// Exact expected result fields, or `{"error": true}` for a case that must be refused.
    pub expect: Value,
    /// The spec section the case checks, e.g. `§1`.
    pub spec: String,
    /// Features an implementation must declare to be scored on the case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// Free-form labels (edge, tie, random, divergence:<name>, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// A JSON integer: a number when |x| <= 2^53, else a decimal string.
pub fn int(x: impl Into<i128>) -> Value {
    let x: i128 = x.into();
    if x.unsigned_abs() <= 1u128 << 53 {
        if x < 0 {
            json!(x as i64)
        } else {
            json!(x as u64)
        }
    } else {
        Value::String(x.to_string())
    }
}

/// Reads an integer written by [`int`] (number or decimal string).
pub fn as_int(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) => n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Element types of packed arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    I8,
    I16,
    I32,
    U32,
}

impl Dtype {
    fn name(self) -> &'static str {
        match self {
            Dtype::I8 => "i8",
            Dtype::I16 => "i16",
            Dtype::I32 => "i32",
            Dtype::U32 => "u32",
        }
    }
    fn from_name(s: &str) -> Option<Dtype> {
        Some(match s {
            "i8" => Dtype::I8,
            "i16" => Dtype::I16,
            "i32" => Dtype::I32,
            "u32" => Dtype::U32,
            _ => return None,
        })
    }
    fn width(self) -> usize {
        match self {
            Dtype::I8 => 1,
            Dtype::I16 => 2,
            Dtype::I32 | Dtype::U32 => 4,
        }
    }
}

/// Little-endian bytes of `xs` as `dtype` (values must fit; callers pass
/// engine outputs of that type).
pub fn le_bytes(xs: &[i64], dtype: Dtype) -> Vec<u8> {
    let mut out = Vec::with_capacity(xs.len() * dtype.width());
    for &x in xs {
        match dtype {
            Dtype::I8 => out.push(x as i8 as u8),
            Dtype::I16 => out.extend((x as i16).to_le_bytes()),
            Dtype::I32 => out.extend((x as i32).to_le_bytes()),
            Dtype::U32 => out.extend((x as u32).to_le_bytes()),
        }
    }
    out
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Arrays up to this many elements stay plain JSON arrays.
pub const INLINE_LIMIT: usize = 4096;

/// An array value: plain JSON when short, packed LE hex + SHA-256 when long.
pub fn array(xs: &[i64], dtype: Dtype) -> Value {
    if xs.len() <= INLINE_LIMIT {
        return Value::Array(xs.iter().map(|&x| int(x)).collect());
    }
    let b = le_bytes(xs, dtype);
    json!({"dtype": dtype.name(), "len": xs.len(), "sha256": sha256_hex(&b), "hex": hex(&b)})
}

/// Only the SHA-256 of a (large) array, for expectations.
pub fn array_digest(xs: &[i64], dtype: Dtype) -> Value {
    let b = le_bytes(xs, dtype);
    json!({"dtype": dtype.name(), "len": xs.len(), "sha256": sha256_hex(&b)})
}

/// Reads an array written by [`array`]: a JSON array of integers, or a
/// packed `{dtype, hex}` object. `None` when malformed or digest-only.
pub fn as_array(v: &Value) -> Option<Vec<i64>> {
    match v {
        Value::Array(a) => a.iter().map(|x| as_int(x).and_then(|i| i64::try_from(i).ok())).collect(),
        Value::Object(o) => {
            let dtype = Dtype::from_name(o.get("dtype")?.as_str()?)?;
            let bytes = unhex(o.get("hex")?.as_str()?)?;
            let w = dtype.width();
            if bytes.len() % w != 0 {
                return None;
            }
            Some(
                bytes
                    .chunks_exact(w)
                    .map(|c| match dtype {
                        Dtype::I8 => i64::from(c[0] as i8),
                        Dtype::I16 => i64::from(i16::from_le_bytes([c[0], c[1]])),
                        Dtype::I32 => i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                        Dtype::U32 => i64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

/// A `{dtype, sha256}` digest object (with or without `hex`)?
pub fn digest_of(v: &Value) -> Option<(&str, &str)> {
    let o = v.as_object()?;
    Some((o.get("dtype")?.as_str()?, o.get("sha256")?.as_str()?))
}

/// Recomputes the digest of `xs` in the dtype named by a digest object.
pub fn digest_matches(expected: &Value, xs: &[i64]) -> Option<bool> {
    let (dtype, sha) = digest_of(expected)?;
    let d = Dtype::from_name(dtype)?;
    Some(sha256_hex(&le_bytes(xs, d)) == sha)
}

/// Serialises cases as JSON lines (keys sorted: serde_json's map is ordered).
pub fn to_jsonl(cases: &[Case]) -> String {
    let mut s = String::new();
    for c in cases {
        // Serialising a `Case` of JSON values cannot fail.
        s.push_str(&serde_json::to_string(c).unwrap_or_default());
        s.push('\n');
    }
    s
}

/// Parses JSON lines into cases, naming the line of any error.
pub fn from_jsonl(text: &str, origin: &str) -> Result<Vec<Case>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("{origin}:{}: {e}", i + 1)))
        .collect()
}

/// Builds an args/expect object from pairs.
pub fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}
