//! Telling a wrong model apart from a corrupt file (spec §9: `model_id_hash`
//! is informational, so it never rejects a file; it only explains a failure).
//!
//! A file records which model wrote it in one of two spellings: this
//! engine's (first 32 bits of the MD5 of the model file's *content*) or
//! upstream's (MD5 of the model *path string as typed*). The path hashes of
//! the published models, as the golden files hold them, are known
//! ([`crate::model::load::classify`] maps each to the content hash of the
//! model it stands for), so a v001 file decoded with v000 (and the reverse)
//! is called out by name.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

use crate::container::CzipFile;
use crate::model::load::{classify, known_model_name, ModelMatch};
use crate::Model;

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
    fn unknown_hash_is_reported() {
        assert_eq!(classify(0x1234_5678, V001), ModelMatch::Unknown);
        let h = hint_for(0x1234_5678, V001);
        assert!(h.contains("12345678") && h.contains("another model"), "{h}");
    }
}
