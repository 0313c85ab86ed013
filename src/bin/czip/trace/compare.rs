//! `--compare OTHER.czip`: where a file of the same text written by another
//! implementation departs from the reference. The localisation is the one
//! `czip-conformance score` reports ([`localise_chunks`]); this only builds
//! its inputs (the reference's file of the text at OTHER's chunk length and
//! the reference's decoding of OTHER).

use std::path::{Path, PathBuf};

use czip::container::{payloads_equivalent, read_file, CzipFile, ReadLimits};
use czip::conformance::localize::{finding, localise_chunks, Finding};
use czip::pipeline::{CompressOptions, Engine, TextTrace};
use czip::Model;

use crate::io::read_input;

/// The other implementation's file.
pub struct Other {
    path: PathBuf,
    file: CzipFile,
}

/// Where OTHER departs, or that it does not.
#[derive(Debug, Clone)]
pub struct Departure {
    /// OTHER's path as given.
    pub other: String,
    /// First differing chunk and the token position in it (when decoding
    /// OTHER with the reference departs from the text's tokens); `None` when
    /// every chunk is identical.
    pub chunk: Option<usize>,
    pub position: Option<usize>,
    /// The localisation, in `score`'s words.
    pub lines: Vec<String>,
}

impl Other {
    pub fn read(path: &Path) -> Result<Other, String> {
        let bytes = read_input(path)?;
        let file = read_file(&bytes, &ReadLimits::default()).map_err(|e| format!("{}: not a valid CZIPv1 file: {e}", path.display()))?;
        Ok(Other { path: path.to_path_buf(), file })
    }

    /// k of OTHER's chunks.
    pub fn chunk_log2(&self) -> u8 {
        self.file.inner.chunk_log2()
    }

    pub fn localise(self, engine: &Engine, model: &Model, trace: &TextTrace) -> Result<Departure, String> {
        let name = self.path.display().to_string();
        let k = self.chunk_log2();
        if k != trace.chunk_log2 {
            return Err(format!(
                "{name}: codes chunks of {} tokens, the trace {}; trace with the same level (or without -L)",
                1u32 << k,
                1u32 << trace.chunk_log2
            ));
        }
        let opts = CompressOptions { chunk_log2: Some(k), codec: self.file.outer.codec, model_id_hash: Some(self.file.inner.model_id_hash) };
        let ours = engine.compress(model, &trace.text, &opts, None).map_err(|e| format!("the reference cannot compress the text: {e}"))?;
        let reference = read_file(&ours, &ReadLimits::default()).map_err(|e| format!("internal: the reference's file is unreadable: {e}"))?;
        let tokens: Vec<u32> = trace.chunks.iter().flatten().map(|t| t.token).collect();
        let theirs = engine.decode_tokens_unverified(model, &self.file).ok();
        let mut findings = Vec::new();
        if self.file.outer.uncompressed_len != reference.outer.uncompressed_len {
            findings.push(Finding::UncompressedLen { file: self.file.outer.uncompressed_len, text: reference.outer.uncompressed_len });
        }
        let (chunk, position) = match localise_chunks(model, &self.file, theirs.as_deref(), &reference, &tokens) {
            Some(cl) => {
                findings.extend(cl.findings);
                (Some(cl.chunk), cl.position)
            }
            None => {
                findings.push(Finding::ChunksIdentical);
                (None, None)
            }
        };
        let mut lines = finding::render(&findings);
        if findings.len() == 1 && chunk.is_none() && payloads_equivalent(&self.file.payload, &reference.payload) {
            lines = vec!["every chunk and the inner header are identical to the reference's".into()];
        }
        Ok(Departure { other: name, chunk, position, lines })
    }
}
