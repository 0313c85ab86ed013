//! The CZIP v1 tokenizer (spec §4, "Tokenizer JSON").
//!
//! A model file embeds, compressed, a tiktoken-style byte-level BPE described by
//! the JSON object `{name, pat_str, mergeable_ranks, special_tokens,
//! explicit_n_vocab}`:
//!
//! * `mergeable_ranks` maps a token's bytes to its id (= its merge rank). Each
//!   key is a string whose characters are code points U+0000..U+00FF, one per
//!   byte (latin-1).
//! * `special_tokens` maps a literal string (`<|bos|>`, `<|eos|>`) to its id.
//! * `pat_str` is the pre-split regex. It uses possessive quantifiers (`?+`,
//!   `++`, `*+`, `{1,3}+`). tiktoken-rs compiles it with `fancy-regex`, which
//!   parses each possessive quantifier as an atomic group around a greedy
//!   repeat (`x++` ≡ `(?>x+)`), i.e. the PCRE / Python `regex` meaning; no
//!   rewriting of the pattern is needed or done.
//! * `explicit_n_vocab` is the vocabulary size V: the ids of the two maps
//!   together are exactly `0..V`, each once.
//!
//! Text is encoded with **all special tokens allowed** (a literal `<|bos|>` in
//! the input becomes its id) and decoded by concatenating the tokens' bytes (a
//! special token decodes to its literal string).
//!
//! Encoding goes through `tiktoken_rs::CoreBPE::encode`, which reports regex
//! run-time failures (fancy-regex's stack and backtrack limits) as errors, rather than
//! `encode_ordinary` / `encode_with_special_tokens`, which `unwrap` them.
//! Decoding uses this module's own id-indexed byte table.
//!
//! Input reaches every line of this module, so it must not panic: the
//! clippy lints below (`unwrap`, `expect`, indexing, `panic!`) are denied
//! outside tests, and `cargo clippy` fails on any that comes back.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use tiktoken_rs::CoreBPE;

/// Why a tokenizer could not be built, or a text encoded / tokens decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenizerError {
    /// The bytes are not a JSON document of the expected shape (syntax error,
    /// missing or unknown top-level field, a repeated top-level field, a value
    /// of the wrong JSON type, an id that is not a non-negative integer, ...).
    Json(String),
    /// A JSON object (`mergeable_ranks` or `special_tokens`) names the same
    /// key twice. (Plain serde_json would silently keep the last value.)
    DuplicateKey {
        /// The object holding the repeated key.
        object: &'static str,
        /// The repeated key, as written in the JSON (after unescaping).
        key: String,
    },
    /// A field is well-formed JSON but its value breaks a rule of §4.
    BadField {
        /// The offending field (`mergeable_ranks`, `special_tokens`, `explicit_n_vocab`, ...).
        field: &'static str,
        /// What is wrong, with the offending key or id.
        reason: String,
    },
    /// `pat_str` (or the regex built from the special tokens) does not compile.
    Regex(String),
    /// A token id outside `0..vocab` was given to decode.
    TokenOutOfRange {
        /// The offending id.
        id: u32,
        /// The vocabulary size.
        vocab: usize,
    },
    /// Encoding failed (the split regex gave up, e.g. its backtrack limit was
    /// exceeded, or the BPE implementation panicked, which is caught).
    Encode(String),
}

impl fmt::Display for TokenizerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenizerError::Json(m) => write!(f, "tokenizer JSON: {m}"),
            TokenizerError::DuplicateKey { object, key } => {
                write!(f, "tokenizer JSON: duplicate key {key:?} in `{object}`")
            }
            TokenizerError::BadField { field, reason } => {
                write!(f, "tokenizer JSON: bad `{field}`: {reason}")
            }
            TokenizerError::Regex(m) => write!(f, "tokenizer regex: {m}"),
            TokenizerError::TokenOutOfRange { id, vocab } => {
                write!(f, "token id {id} is outside the vocabulary (size {vocab})")
            }
            TokenizerError::Encode(m) => write!(f, "tokenizer encode: {m}"),
        }
    }
}

impl std::error::Error for TokenizerError {}

/// A JSON object read as its (key, value) entries in document order, keeping
/// repeated keys so that they can be reported instead of silently merged.
struct Entries(Vec<(String, u64)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object mapping strings to non-negative integer ids")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(key) = map.next_key::<String>()? {
                    let value = map.next_value::<u64>()?;
                    out.push((key, value));
                }
                Ok(Entries(out))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// The JSON document exactly as §4 describes it. Unknown top-level fields are
/// rejected: a field this engine does not understand could change tokenization.
/// serde's derive already rejects a repeated top-level field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTokenizer {
    name: String,
    pat_str: String,
    mergeable_ranks: Entries,
    special_tokens: Entries,
    explicit_n_vocab: u64,
}

/// Rejects a repeated key in an object's entries.
fn check_unique_keys(
    object: &'static str,
    entries: &[(String, u64)],
) -> Result<(), TokenizerError> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(entries.len());
    for (k, _) in entries {
        if !seen.insert(k.as_str()) {
            return Err(TokenizerError::DuplicateKey {
                object,
                key: k.clone(),
            });
        }
    }
    Ok(())
}

/// Turns a `mergeable_ranks` key into bytes: each char is one byte (latin-1).
fn latin1_bytes(key: &str) -> Result<Vec<u8>, TokenizerError> {
    key.chars()
        .map(|c| {
            u8::try_from(u32::from(c)).map_err(|_| TokenizerError::BadField {
                field: "mergeable_ranks",
                reason: format!(
                    "key {key:?} has the character U+{:04X}, above U+00FF (keys are latin-1, one char per byte)",
                    u32::from(c)
                ),
            })
        })
        .collect()
}

/// A text → token ids → bytes tokenizer built from a model's tokenizer JSON.
///
/// Immutable once built; `Send + Sync`, so one instance can serve many threads.
#[derive(Clone)]
pub struct Tokenizer {
    /// The tiktoken BPE used for encoding.
    bpe: CoreBPE,
    /// `id_bytes[id]` = the bytes `id` decodes to (a special token's literal string).
    id_bytes: Vec<Vec<u8>>,
    /// Special token literal → id.
    specials: BTreeMap<String, u32>,
    /// The JSON's `name`.
    name: String,
}

impl fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokenizer")
            .field("name", &self.name)
            .field("vocab_size", &self.id_bytes.len())
            .field("specials", &self.specials)
            .finish_non_exhaustive()
    }
}

/// Renders a caught panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

impl Tokenizer {
    /// Builds the tokenizer from the **decompressed** tokenizer JSON (the
    /// contents of the model's `tokenizer.data` after `tokenizer_codec`).
    ///
    /// Contract: returns an error — never panics — unless all of these hold:
    /// * the bytes are one JSON object with exactly the fields `name` (string),
    ///   `pat_str` (string), `mergeable_ranks` and `special_tokens` (objects of
    ///   string → non-negative integer) and `explicit_n_vocab` (non-negative
    ///   integer), none repeated, nothing else ([`TokenizerError::Json`]);
    /// * no key repeats inside `mergeable_ranks` or `special_tokens`
    ///   ([`TokenizerError::DuplicateKey`]);
    /// * every `mergeable_ranks` key is non-empty and made of chars ≤ U+00FF, and
    ///   all 256 single bytes are keys (BPE needs every byte as a fallback);
    /// * `special_tokens` is non-empty, no name is empty, and no name is a prefix
    ///   of another (the order of overlapping alternatives in tiktoken's special
    ///   regex would be unspecified);
    /// * every id is < `explicit_n_vocab` ≤ 2^32, no id is used twice (across
    ///   both maps), and every id in `0..explicit_n_vocab` is used (so the
    ///   vocabulary is exactly `0..V`) ([`TokenizerError::BadField`]);
    /// * `pat_str` compiles under fancy-regex ([`TokenizerError::Regex`]).
    ///
    /// The model loader is expected to check `vocab_size()` against the model's
    /// `vocab_size` metadata, and the ids of `<|bos|>` / `<|eos|>` it relies on.
    pub fn from_json(json: &[u8]) -> Result<Self, TokenizerError> {
        // serde's derived struct visitor would also accept a JSON array of the
        // five values in field order; only an object is a tokenizer JSON.
        if json
            .iter()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            != Some(&b'{')
        {
            return Err(TokenizerError::Json("expected a JSON object".to_string()));
        }
        let raw: RawTokenizer =
            serde_json::from_slice(json).map_err(|e| TokenizerError::Json(e.to_string()))?;
        let ranks = raw.mergeable_ranks.0;
        let special_entries = raw.special_tokens.0;
        check_unique_keys("mergeable_ranks", &ranks)?;
        check_unique_keys("special_tokens", &special_entries)?;

        let n_vocab = raw.explicit_n_vocab;
        if n_vocab == 0 || n_vocab > (1u64 << 32) {
            return Err(TokenizerError::BadField {
                field: "explicit_n_vocab",
                reason: format!("{n_vocab} is not in 1..=2^32"),
            });
        }

        // Ids: all < n_vocab, unique, and covering 0..n_vocab. Sorting the ids
        // that are present avoids allocating n_vocab slots before we know the
        // JSON really defines that many tokens.
        let mut ids: Vec<(u64, &'static str, &str)> =
            Vec::with_capacity(ranks.len() + special_entries.len());
        ids.extend(
            ranks
                .iter()
                .map(|(k, v)| (*v, "mergeable_ranks", k.as_str())),
        );
        ids.extend(
            special_entries
                .iter()
                .map(|(k, v)| (*v, "special_tokens", k.as_str())),
        );
        for &(id, field, key) in &ids {
            if id >= n_vocab {
                return Err(TokenizerError::BadField {
                    field,
                    reason: format!(
                        "key {key:?} has id {id}, not below explicit_n_vocab = {n_vocab}"
                    ),
                });
            }
        }
        ids.sort_unstable_by_key(|&(id, _, _)| id);
        for w in ids.windows(2) {
            if let [a, b] = w {
                if a.0 == b.0 {
                    return Err(TokenizerError::BadField {
                        field: b.1,
                        reason: format!(
                            "id {} is used twice (by {:?} in `{}` and {:?} in `{}`)",
                            b.0, a.2, a.1, b.2, b.1
                        ),
                    });
                }
            }
        }
        // Unique and all < n_vocab: the ids cover 0..n_vocab iff there are n_vocab of them.
        if (ids.len() as u64) != n_vocab {
            let missing = ids
                .iter()
                .enumerate()
                .find(|&(i, &(id, _, _))| id != i as u64)
                .map_or(ids.len() as u64, |(i, _)| i as u64);
            return Err(TokenizerError::BadField {
                field: "explicit_n_vocab",
                reason: format!(
                    "explicit_n_vocab = {n_vocab} but only {} ids are defined; id {missing} has neither bytes nor a special token",
                    ids.len()
                ),
            });
        }
        drop(ids);
        let n_vocab = n_vocab as usize; // == number of JSON entries, so it fits.

        let mut id_bytes: Vec<Vec<u8>> = vec![Vec::new(); n_vocab];
        let mut encoder: Vec<(Vec<u8>, u32)> = Vec::with_capacity(ranks.len());
        let mut single_byte = [false; 256];
        for (key, id) in &ranks {
            let bytes = latin1_bytes(key)?;
            if bytes.is_empty() {
                return Err(TokenizerError::BadField {
                    field: "mergeable_ranks",
                    reason: format!("the empty key (id {id}) is not a token"),
                });
            }
            if bytes.len() == 1 {
                if let Some(seen) = bytes.first().and_then(|&b| single_byte.get_mut(usize::from(b))) {
                    *seen = true;
                }
            }
            // Every id was checked to be < n_vocab = id_bytes.len() above.
            if let Some(slot) = id_bytes.get_mut(*id as usize) {
                *slot = bytes.clone();
            }
            encoder.push((bytes, *id as u32));
        }
        if let Some(b) = single_byte.iter().position(|&present| !present) {
            return Err(TokenizerError::BadField {
                field: "mergeable_ranks",
                reason: format!(
                    "the single byte 0x{b:02X} has no token (all 256 bytes are required)"
                ),
            });
        }

        if special_entries.is_empty() {
            return Err(TokenizerError::BadField {
                field: "special_tokens",
                reason: "no special tokens (at least <|bos|> is needed)".to_string(),
            });
        }
        let mut specials: BTreeMap<String, u32> = BTreeMap::new();
        for (name, id) in &special_entries {
            if name.is_empty() {
                return Err(TokenizerError::BadField {
                    field: "special_tokens",
                    reason: format!("the empty string (id {id}) cannot be a special token"),
                });
            }
            if let Some((other, _)) = special_entries
                .iter()
                .find(|(o, _)| o != name && o.starts_with(name.as_str()))
            {
                return Err(TokenizerError::BadField {
                    field: "special_tokens",
                    reason: format!(
                        "{name:?} is a prefix of {other:?}; matching them would be ambiguous"
                    ),
                });
            }
            if let Some(slot) = id_bytes.get_mut(*id as usize) {
                *slot = name.as_bytes().to_vec();
            }
            specials.insert(name.clone(), *id as u32);
        }

        // CoreBPE::new compiles both regexes (errors are returned) and asserts
        // that ranks are unique (guaranteed above). catch_unwind is only a guard
        // against a panic inside fancy-regex on a hostile pattern.
        let pat_str = raw.pat_str;
        let special_pairs: Vec<(String, u32)> =
            specials.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let built = catch_unwind(AssertUnwindSafe(|| {
            CoreBPE::new(
                encoder.into_iter().collect(),
                special_pairs.into_iter().collect(),
                &pat_str,
            )
        }));
        let bpe = match built {
            Ok(Ok(bpe)) => bpe,
            Ok(Err(e)) => return Err(TokenizerError::Regex(format!("{e:#}"))),
            Err(p) => {
                return Err(TokenizerError::Regex(format!(
                    "building the BPE panicked: {}",
                    panic_message(p.as_ref())
                )))
            }
        };

        Ok(Tokenizer {
            bpe,
            id_bytes,
            specials,
            name: raw.name,
        })
    }

    /// The JSON's `name` (informational; `compress-tokenizer` in both published models).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// V = `explicit_n_vocab`: every id in `0..V` decodes to some bytes, and
    /// `encode` only produces ids in that range.
    pub fn vocab_size(&self) -> usize {
        self.id_bytes.len()
    }

    /// The id of a special token given by its literal string
    /// (`"<|bos|>"` → `Some(1022)` in the published models); `None` if the
    /// tokenizer has no such special token.
    pub fn special_token(&self, name: &str) -> Option<u32> {
        self.specials.get(name).copied()
    }

    /// Encodes `text` with all special tokens allowed: every occurrence of a
    /// special token's literal string (leftmost first, non-overlapping) becomes
    /// its id, and the text between them is split by `pat_str` and BPE-encoded.
    ///
    /// Contract: for any `&str`, returns either ids all `< vocab_size()` whose
    /// decoded bytes equal `text.as_bytes()`, or [`TokenizerError::Encode`];
    /// it never panics. The empty string encodes to no tokens.
    ///
    /// An error comes only from fancy-regex giving up, or from a panic inside
    /// tiktoken-rs, which is caught (reachable only with a hostile `pat_str`
    /// that can match the empty string: the BPE then underflows on the empty
    /// piece; the published pattern cannot). fancy-regex's backtracking VM has
    /// a fixed stack of 1,000,000 entries and a backtrack limit of 1,000,000
    /// per match attempt. With the published pattern the one input found to hit
    /// it is a whitespace run that reaches the `\s+(?!\S)` branch — a run of
    /// **≥ 999,999 whitespace chars containing no CR/LF** (or the part of a run
    /// after its last CR/LF) **followed by a non-whitespace char**: `\s+`
    /// pushes one backtrack entry per char. Shorter runs, runs that end the
    /// text or stand before a special token (`\s++$` takes them without
    /// backtracking), and runs of any length made of CR/LF are fine. For such
    /// input `CoreBPE::encode_ordinary` / `encode_with_special_tokens` (and so
    /// any implementation that unwraps) panic; there is no tokenization to
    /// match, and this function reports the error.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        let result = catch_unwind(AssertUnwindSafe(|| {
            let allowed = self.bpe.special_tokens();
            self.bpe.encode(text, &allowed)
        }));
        match result {
            Ok(Ok((tokens, _last_piece_len))) => Ok(tokens),
            Ok(Err(e)) => Err(TokenizerError::Encode(e.to_string())),
            Err(p) => Err(TokenizerError::Encode(format!(
                "tiktoken-rs panicked: {}",
                panic_message(p.as_ref())
            ))),
        }
    }

    /// The bytes token `id` stands for (a special token's literal string), or
    /// `None` if `id >= vocab_size()`.
    pub fn token_bytes(&self, id: u32) -> Option<&[u8]> {
        self.id_bytes.get(id as usize).map(Vec::as_slice)
    }

    /// Appends the concatenated bytes of `tokens` to `out`.
    ///
    /// Contract: on success exactly those bytes were appended (they need not be
    /// valid UTF-8 for an arbitrary id sequence: the caller validates). On the
    /// first id `>= vocab_size()` returns [`TokenizerError::TokenOutOfRange`]
    /// and leaves `out` as it was on entry. Never panics (beyond allocation
    /// failure).
    pub fn decode_into(&self, tokens: &[u32], out: &mut Vec<u8>) -> Result<(), TokenizerError> {
        let start = out.len();
        for &id in tokens {
            match self.id_bytes.get(id as usize) {
                Some(bytes) => out.extend_from_slice(bytes),
                None => {
                    out.truncate(start);
                    return Err(TokenizerError::TokenOutOfRange {
                        id,
                        vocab: self.id_bytes.len(),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny valid tokenizer JSON: 256 bytes, merges "ab" (256) and " a" (257),
    /// specials <|bos|> = 258, <|eos|> = 259.
    fn tiny_json_with(extra_ranks: &str, specials: &str, n_vocab: u64, pat: &str) -> String {
        let mut ranks: Vec<String> = (0u32..256)
            .map(|b| {
                let key = serde_json::to_string(&char::from_u32(b).unwrap().to_string()).unwrap();
                format!("{key}: {b}")
            })
            .collect();
        if !extra_ranks.is_empty() {
            ranks.push(extra_ranks.to_string());
        }
        format!(
            "{{\"name\": \"tiny\", \"pat_str\": {}, \"mergeable_ranks\": {{{}}}, \"special_tokens\": {{{}}}, \"explicit_n_vocab\": {}}}",
            serde_json::to_string(pat).unwrap(),
            ranks.join(", "),
            specials,
            n_vocab
        )
    }

    const PAT: &str = r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s";

    fn tiny_json() -> String {
        tiny_json_with_pattern(PAT)
    }

    /// The tiny tokenizer's ranks and specials with the split pattern `pat`.
    fn tiny_json_with_pattern(pat: &str) -> String {
        tiny_json_with(r#""ab": 256, " a": 257"#, r#""<|bos|>": 258, "<|eos|>": 259"#, 260, pat)
    }

    fn tiny() -> Tokenizer {
        tiny_with_pattern(PAT)
    }

    fn tiny_with_pattern(pat: &str) -> Tokenizer {
        Tokenizer::from_json(tiny_json_with_pattern(pat).as_bytes()).unwrap()
    }

    #[test]
    fn tiny_tokenizer_basics() {
        let t = tiny();
        assert_eq!(t.name(), "tiny");
        assert_eq!(t.vocab_size(), 260);
        assert_eq!(t.special_token("<|bos|>"), Some(258));
        assert_eq!(t.special_token("<|eos|>"), Some(259));
        assert_eq!(t.special_token("<|pad|>"), None);
        assert_eq!(t.token_bytes(0), Some(&[0u8][..]));
        assert_eq!(t.token_bytes(255), Some(&[255u8][..]));
        assert_eq!(t.token_bytes(256), Some(&b"ab"[..]));
        assert_eq!(t.token_bytes(258), Some(&b"<|bos|>"[..]));
        assert_eq!(t.token_bytes(260), None);
        assert_eq!(t.encode("").unwrap(), Vec::<u32>::new());
        assert_eq!(t.encode("ab a").unwrap(), vec![256, 257]);
        assert_eq!(
            t.encode("abab<|bos|>x<|eos|>").unwrap(),
            vec![256, 256, 258, 120, 259]
        );
        assert_eq!(t.encode("é").unwrap(), vec![0xC3, 0xA9]);
        assert_eq!(t.encode("<|bos").unwrap(), vec![60, 124, 98, 111, 115]);
    }

    #[test]
    fn decode_into_appends_and_rejects_out_of_range() {
        let t = tiny();
        let mut out = b"xy".to_vec();
        t.decode_into(&[256, 258, 32], &mut out).unwrap();
        assert_eq!(out, b"xyab<|bos|> ");
        let err = t.decode_into(&[256, 260, 0], &mut out).unwrap_err();
        assert_eq!(
            err,
            TokenizerError::TokenOutOfRange {
                id: 260,
                vocab: 260
            }
        );
        assert_eq!(out, b"xyab<|bos|> ", "out must be unchanged on error");
        let err = t.decode_into(&[u32::MAX], &mut out).unwrap_err();
        assert_eq!(
            err,
            TokenizerError::TokenOutOfRange {
                id: u32::MAX,
                vocab: 260
            }
        );
        assert_eq!(
            err.to_string(),
            "token id 4294967295 is outside the vocabulary (size 260)"
        );
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let j = tiny_json_with(r#""ab": 256, "ab": 257"#, r#""<|bos|>": 258"#, 259, PAT);
        assert_eq!(
            Tokenizer::from_json(j.as_bytes()).unwrap_err(),
            TokenizerError::DuplicateKey {
                object: "mergeable_ranks",
                key: "ab".into()
            }
        );
        // The same key written with an escape is still the same key.
        let j = tiny_json_with(r#""ab": 256, "a\u0062": 257"#, r#""<|bos|>": 258"#, 259, PAT);
        assert_eq!(
            Tokenizer::from_json(j.as_bytes()).unwrap_err(),
            TokenizerError::DuplicateKey {
                object: "mergeable_ranks",
                key: "ab".into()
            }
        );
        let j = tiny_json_with("", r#""<|bos|>": 256, "<|bos|>": 257"#, 258, PAT);
        assert_eq!(
            Tokenizer::from_json(j.as_bytes()).unwrap_err(),
            TokenizerError::DuplicateKey {
                object: "special_tokens",
                key: "<|bos|>".into()
            }
        );
        // A repeated top-level field.
        let j = tiny_json().replacen(
            "\"name\": \"tiny\"",
            "\"name\": \"tiny\", \"name\": \"x\"",
            1,
        );
        match Tokenizer::from_json(j.as_bytes()).unwrap_err() {
            TokenizerError::Json(m) => assert!(m.contains("duplicate field `name`"), "{m}"),
            e => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn malformed_json_is_an_error() {
        for (j, needle) in [
            ("", "expected a JSON object"),
            ("{", "EOF"),
            ("[]", "expected a JSON object"),
            (r#"["n", "p", {}, {}, 1]"#, "expected a JSON object"),
            ("{}", "missing field"),
            ("not json", "expected"),
        ] {
            match Tokenizer::from_json(j.as_bytes()).unwrap_err() {
                TokenizerError::Json(m) => assert!(m.contains(needle), "{j:?}: {m}"),
                e => panic!("{j:?}: unexpected {e:?}"),
            }
        }
        let good = tiny_json();
        let cases = [
            good.replacen("\"name\": \"tiny\"", "\"name\": \"tiny\", \"extra\": 1", 1),
            good.replacen("\"ab\": 256", "\"ab\": -1", 1),
            good.replacen("\"ab\": 256", "\"ab\": 256.5", 1),
            good.replacen("\"ab\": 256", "\"ab\": \"256\"", 1),
            good.replacen("\"explicit_n_vocab\": 260", "\"explicit_n_vocab\": null", 1),
            format!("{good} trailing"),
            good[..good.len() - 1].to_string(),
        ];
        for j in cases {
            assert!(
                matches!(
                    Tokenizer::from_json(j.as_bytes()),
                    Err(TokenizerError::Json(_))
                ),
                "{j}"
            );
        }
    }

    fn bad_field(j: &str) -> (&'static str, String) {
        match Tokenizer::from_json(j.as_bytes()).unwrap_err() {
            TokenizerError::BadField { field, reason } => (field, reason),
            e => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn semantic_violations_are_bad_fields() {
        let bos = r#""<|bos|>": 258, "<|eos|>": 259"#;
        // A char above U+00FF in a key.
        let (f, r) = bad_field(&tiny_json_with(r#""aĀ": 256, " a": 257"#, bos, 260, PAT));
        assert_eq!(f, "mergeable_ranks");
        assert!(r.contains("U+0100"), "{r}");
        // Id out of range.
        let (f, r) = bad_field(&tiny_json_with(r#""ab": 256, " a": 260"#, bos, 260, PAT));
        assert_eq!(f, "mergeable_ranks");
        assert!(r.contains("id 260"), "{r}");
        let (f, _) = bad_field(&tiny_json_with(r#""ab": 256, " a": 257"#, r#""<|bos|>": 258, "<|eos|>": 4000000000"#, 260, PAT));
        assert_eq!(f, "special_tokens");
        // Id used twice, within ranks and across the maps.
        let (_, r) = bad_field(&tiny_json_with(r#""ab": 256, " a": 256"#, r#""<|bos|>": 257"#, 258, PAT));
        assert!(r.contains("id 256 is used twice"), "{r}");
        let (f, r) = bad_field(&tiny_json_with(r#""ab": 256, " a": 257"#, r#""<|bos|>": 257, "<|eos|>": 258"#, 259, PAT));
        assert_eq!(f, "special_tokens");
        assert!(r.contains("id 257 is used twice"), "{r}");
        // A hole in 0..n_vocab.
        let (f, r) = bad_field(&tiny_json_with(r#""ab": 256, " a": 258"#, r#""<|bos|>": 259"#, 260, PAT));
        assert_eq!(f, "explicit_n_vocab");
        assert!(r.contains("id 257 has neither"), "{r}");
        let (_, r) = bad_field(&tiny_json_with(r#""ab": 256, " a": 257"#, bos, 261, PAT));
        assert!(r.contains("id 260 has neither"), "{r}");
        let (f, _) = bad_field(&tiny_json_with(r#""ab": 256, " a": 257"#, bos, 0, PAT));
        assert_eq!(f, "explicit_n_vocab");
        let (f, _) = bad_field(&tiny_json_with(r#""ab": 256, " a": 257"#, bos, u64::MAX, PAT));
        assert_eq!(f, "explicit_n_vocab");
        // A missing single byte (every byte must be a token).
        let j = tiny_json().replacen("\"a\": 97, ", "", 1).replacen(
            "\"ab\": 256, \" a\": 257",
            "\"ab\": 256, \" a\": 97, \"zz\": 257",
            1,
        );
        let (f, r) = bad_field(&j);
        assert_eq!(f, "mergeable_ranks");
        assert!(r.contains("0x61"), "{r}");
        // Empty key.
        let (f, r) = bad_field(&tiny_json_with(r#""ab": 256, "": 257"#, bos, 260, PAT));
        assert_eq!(f, "mergeable_ranks");
        assert!(r.contains("empty key"), "{r}");
        // Special tokens: none, empty name, one a prefix of another.
        let (f, _) = bad_field(&tiny_json_with(r#""ab": 256, " a": 257"#, "", 258, PAT));
        assert_eq!(f, "special_tokens");
        let (f, _) = bad_field(&tiny_json_with(r#""ab": 256, " a": 257"#, r#""": 258, "<|eos|>": 259"#, 260, PAT));
        assert_eq!(f, "special_tokens");
        let (f, r) = bad_field(&tiny_json_with(r#""ab": 256, " a": 257"#, r#""<|e": 258, "<|eos|>": 259"#, 260, PAT));
        assert_eq!(f, "special_tokens");
        assert!(r.contains("prefix"), "{r}");
    }

    #[test]
    fn bad_regex_is_an_error() {
        let j = tiny_json_with_pattern("(unclosed");
        assert!(matches!(
            Tokenizer::from_json(j.as_bytes()),
            Err(TokenizerError::Regex(_))
        ));
    }

    #[test]
    fn hostile_pattern_matching_empty_does_not_panic() {
        // `a*` matches the empty string; tiktoken-rs's BPE then underflows on the
        // empty piece. The panic must come back as an error.
        let t = tiny_with_pattern("a*");
        match t.encode("b") {
            Err(TokenizerError::Encode(m)) => {
                assert!(m.starts_with("tiktoken-rs panicked: "), "{m}")
            }
            r => panic!("expected a caught panic, got {r:?}"),
        }
        assert_eq!(t.encode("aa").unwrap(), vec![97, 97]);
    }

    #[test]
    fn possessive_quantifiers_are_possessive() {
        // `\p{N}{1,3}+` cuts digit runs into threes from the left.
        let t = tiny();
        assert_eq!(
            t.encode("1234567").unwrap(),
            b"1234567".iter().map(|&b| u32::from(b)).collect::<Vec<_>>()
        );
        // Possessive vs greedy matters for `[^\r\n\p{L}\p{N}]?+\p{L}++`: " a" is one
        // regex piece (then merged to 257), "  a" is " " + " a".
        assert_eq!(t.encode(" a").unwrap(), vec![257]);
        assert_eq!(t.encode("  a").unwrap(), vec![32, 257]);
        // Only possessive semantics tell `a?+ab|.` from `a?ab|.`: on "ab" the
        // possessive `a?+` keeps the "a" and the branch fails, so the pieces are
        // "a", "b"; a greedy `a?` would give it back and "ab" would be one piece
        // (merged to 256).
        let t2 = tiny_with_pattern("a?+ab|.");
        assert_eq!(t2.encode("ab").unwrap(), vec![97, 98]);
        assert_eq!(t2.encode("aab").unwrap(), vec![97, 256]);
        let t3 = tiny_with_pattern("a?ab|.");
        assert_eq!(t3.encode("ab").unwrap(), vec![256]);
    }

    #[test]
    fn error_display() {
        assert_eq!(
            TokenizerError::DuplicateKey {
                object: "special_tokens",
                key: "<|bos|>".into()
            }
            .to_string(),
            "tokenizer JSON: duplicate key \"<|bos|>\" in `special_tokens`"
        );
        assert_eq!(
            TokenizerError::BadField {
                field: "explicit_n_vocab",
                reason: "x".into()
            }
            .to_string(),
            "tokenizer JSON: bad `explicit_n_vocab`: x"
        );
        assert_eq!(
            TokenizerError::Encode("y".into()).to_string(),
            "tokenizer encode: y"
        );
        assert_eq!(
            TokenizerError::Regex("z".into()).to_string(),
            "tokenizer regex: z"
        );
        assert_eq!(
            TokenizerError::Json("w".into()).to_string(),
            "tokenizer JSON: w"
        );
    }

    #[test]
    fn tokenizer_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Tokenizer>();
        assert_send_sync::<TokenizerError>();
    }
}
