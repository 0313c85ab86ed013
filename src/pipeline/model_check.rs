//! Telling a wrong model apart from a corrupt file, and refusing a file that
//! says it was written with another published model.
//!
//! A file records which model wrote it in one of two spellings: this
//! engine's (first 32 bits of the MD5 of the model file's *content*) or
//! upstream's (MD5 of the model *path string as typed*). The path hashes of
//! the published models, as the golden files hold them, are known
//! ([`crate::model::load::classify`] maps each to the content hash of the
//! model it stands for), so a v001 file decoded with v000 (and the reverse)
//! is called out by name.
//!
//! # When `model_id_hash` rejects a file
//!
//! Spec §9 makes the field informational ("readers must not reject on it")
//! because upstream hashes the path string: the same model gives different
//! hashes for `m.czm` and `./m.czm`, so a hash that is *not* this model's
//! says nothing. That reasoning covers [`ModelMatch::Unknown`], and such a
//! hash never rejects a file: it only adds a hint to an error that decoding
//! produced on its own ([`wrong_model_hint`]).
//!
//! A hash that *positively names another published model*
//! ([`ModelMatch::OtherKnown`]: its content hash, or the path hash upstream
//! wrote for it) is a different case: it is not an accident of path
//! spelling (only a file written with one published model saved under the
//! other's name, `models/v001_eng.czm`, would carry it wrongly: that is what
//! the override is for), and decoding with this model gives the text back
//! only by accident. The
//! arithmetic code has no redundancy, and the payload of a text of zero or
//! one token can be a valid encoding under both published models (in the
//! golden set: the empty text, `"\n"` written with v001, `"<|eos|>"` written
//! with v000; the last two decode to another text), so nothing but this
//! field can tell the decoder it is about to return a wrong text with
//! success (`tests/integration/hostile_cross_model.rs`). By default,
//! [`crate::pipeline::decompress`] therefore refuses such a file before
//! decoding ([`Error::WrongModel`], [`ModelIdCheck::RejectOtherPublishedModel`]);
//! [`ModelIdCheck::Ignore`] (CLI: `--ignore-model-id-hash`) is the
//! spec-literal reader, used by the conformance operations and by `score`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

use crate::container::CzipFile;
use crate::error::Error;
use crate::model::load::{classify, known_model_name, ModelMatch};
use crate::Model;

/// What the decoder does with a file's `model_id_hash` before decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModelIdCheck {
    /// Refuse a file whose `model_id_hash` names another published model
    /// ([`ModelMatch::OtherKnown`]) with [`Error::WrongModel`]. A hash that
    /// names no published model is never refused.
    #[default]
    RejectOtherPublishedModel,
    /// Spec §9 literally: never refuse on `model_id_hash` (it still explains
    /// a decoding error). A file written with another model then decodes to
    /// a wrong text when its payload happens to be valid under this one.
    Ignore,
}

/// Refuses `file` when `check` asks for it and its `model_id_hash` names a
/// published model other than `model`.
pub fn check_model_id(model: &Model, file: &CzipFile, check: ModelIdCheck) -> Result<(), Error> {
    check_hash(file.inner.model_id_hash, model.content_hash(), check)
}

fn check_hash(stored: u32, content_hash: u32, check: ModelIdCheck) -> Result<(), Error> {
    match (check, classify(stored, content_hash)) {
        (ModelIdCheck::RejectOtherPublishedModel, ModelMatch::OtherKnown(written_with)) => Err(Error::WrongModel {
            stored,
            written_with,
            this_model: known_model_name(content_hash),
            content_hash,
        }),
        _ => Ok(()),
    }
}

/// A suffix for a decoding error: empty when the stored `model_id_hash`
/// belongs to this model, otherwise a sentence naming the model the file was
/// written with (when it is a published one) or saying it is unknown.
pub fn wrong_model_hint(model: &Model, file: &CzipFile) -> String {
    hint_for(file.inner.model_id_hash, model.content_hash())
}

fn hint_for(stored: u32, content_hash: u32) -> String {
    let this = match known_model_name(content_hash) {
        Some(n) => format!("this model ({n}, content hash {content_hash:08x})"),
        None => format!("this model (content hash {content_hash:08x})"),
    };
    match classify(stored, content_hash) {
        ModelMatch::Same => String::new(),
        ModelMatch::OtherKnown(name) => format!(
            " (the file's model_id_hash {stored:08x} says it was written with {name}, not {this}: decode it with {name})"
        ),
        ModelMatch::Unknown => format!(
            " (the file's model_id_hash {stored:08x} matches neither {this} nor a known upstream path hash: was it written with another model?)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V001: u32 = 0x1040_81d3;
    const V000: u32 = 0x436c_6d6a;

    #[test]
    fn same_model_in_either_spelling_gives_no_hint() {
        for (stored, content) in [(V001, V001), (0x271b_f17f, V001), (V000, V000), (0x875b_46ff, V000), (7, 7)] {
            assert_eq!(classify(stored, content), ModelMatch::Same);
            assert_eq!(hint_for(stored, content), "");
        }
    }

    #[test]
    fn the_other_published_model_is_named() {
        assert_eq!(classify(0x271b_f17f, V000), ModelMatch::OtherKnown("v001_eng.czm"));
        assert_eq!(classify(V001, V000), ModelMatch::OtherKnown("v001_eng.czm"));
        assert_eq!(classify(0x875b_46ff, V001), ModelMatch::OtherKnown("v000_eng.czm"));
        let h = hint_for(0x875b_46ff, V001);
        assert!(h.contains("written with v000_eng.czm, not this model (v001_eng.czm"), "{h}");
        // An unpublished model decoding a published model's file.
        let h = hint_for(0x271b_f17f, 0xdead_beef);
        assert!(h.contains("v001_eng.czm") && h.contains("deadbeef"), "{h}");
    }

    #[test]
    fn only_another_published_model_is_refused() {
        use ModelIdCheck::{Ignore, RejectOtherPublishedModel as Reject};
        // Same model, either spelling; an unknown hash (upstream path hash of
        // another path, an arbitrary value, zero): never refused.
        for (stored, content) in [(V001, V001), (0x271b_f17f, V001), (V000, V000), (0x875b_46ff, V000)]
            .into_iter()
            .chain([0x1234_5678, 0, u32::MAX, 0xdead_beef].into_iter().flat_map(|h| [(h, V001), (h, V000), (h, 7)]))
        {
            assert!(check_hash(stored, content, Reject).is_ok(), "{stored:08x} vs {content:08x}");
            assert!(check_hash(stored, content, Ignore).is_ok());
        }
        // The other published model, in either spelling, and a published
        // model's file decoded with an unpublished model: refused by default.
        for (stored, content, written_with) in [
            (V001, V000, "v001_eng.czm"),
            (0x271b_f17f, V000, "v001_eng.czm"),
            (V000, V001, "v000_eng.czm"),
            (0x875b_46ff, V001, "v000_eng.czm"),
            (0x271b_f17f, 0xdead_beef, "v001_eng.czm"),
        ] {
            let err = check_hash(stored, content, Reject).unwrap_err();
            assert!(
                matches!(err, Error::WrongModel { stored: s, written_with: w, content_hash: c, .. } if s == stored && w == written_with && c == content),
                "{err:?}"
            );
            let msg = err.to_string();
            assert!(msg.contains(&format!("written with {written_with}")) && msg.contains("--ignore-model-id-hash"), "{msg}");
            assert!(check_hash(stored, content, Ignore).is_ok());
        }
        let msg = check_hash(0x271b_f17f, V000, Reject).unwrap_err().to_string();
        assert!(msg.contains("this model (v000_eng.czm, content hash 436c6d6a)"), "{msg}");
        let msg = check_hash(0x271b_f17f, 0xdead_beef, Reject).unwrap_err().to_string();
        assert!(msg.contains("this model (content hash deadbeef)"), "{msg}");
        assert_eq!(ModelIdCheck::default(), Reject);
    }

    #[test]
    fn unknown_hash_is_reported() {
        assert_eq!(classify(0x1234_5678, V001), ModelMatch::Unknown);
        let h = hint_for(0x1234_5678, V001);
        assert!(h.contains("12345678") && h.contains("another model"), "{h}");
    }
}
