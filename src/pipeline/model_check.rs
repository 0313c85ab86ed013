//! Telling a wrong model apart from a corrupt file (spec §9: `model_id_hash`
//! is informational, so it never rejects a file; it only explains a failure).

use crate::container::CzipFile;
use crate::Model;

/// Upstream writes MD5(model path as typed) for these models; we write the
/// MD5 of the content. A hash that matches neither suggests the wrong model.
const KNOWN_UPSTREAM_PATH_HASHES: [u32; 2] = [0x271b_f17f, 0x875b_46ff];

/// A suffix for a decoding error: empty when the stored `model_id_hash` is
/// this model's content hash or a known upstream path hash, otherwise a
/// sentence saying the file was probably written with another model.
pub fn wrong_model_hint(model: &Model, file: &CzipFile) -> String {
    let stored = file.inner.model_id_hash;
    if stored == model.content_hash() || KNOWN_UPSTREAM_PATH_HASHES.contains(&stored) {
        String::new()
    } else {
        format!(
            " (the file's model_id_hash {stored:08x} matches neither this model's content hash {:08x} nor a known upstream path hash: was it written with another model?)",
            model.content_hash()
        )
    }
}
