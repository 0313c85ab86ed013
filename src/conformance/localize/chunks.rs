//! Localising a file's departure to a chunk and a token position (shared by
//! `run`'s compress failures and `score`).

use super::finding::Finding;
use crate::conformance::compare::Divergence;
use crate::conformance::witness;
use crate::container::CzipFile;

/// Where a file's chunks first depart from the reference's.
pub struct ChunkLocalisation {
    /// The [`Finding::Chunk`], then a [`Finding::Witness`] when one is found.
    pub findings: Vec<Finding>,
    pub divergence: Divergence,
    pub chunk: usize,
    /// First token position whose reference decoding differs, when found.
    pub position: Option<usize>,
    /// The text's tokens of that chunk.
    pub chunk_tokens: Vec<u32>,
    /// The earliest known-divergence witness at or before `position`.
    pub witness: Option<witness::Witness>,
}

/// Compares `theirs` with `reference` chunk by chunk; for the first differing
/// chunk, finds the first token position where decoding `theirs` with the
/// reference departs from the text's `tokens`, and scans the reference for a
/// known §11 witness up to there. `None` when every chunk is identical.
pub fn localise_chunks(
    model: &crate::Model,
    theirs: &CzipFile,
    their_tokens: Option<&[Vec<u32>]>,
    reference: &CzipFile,
    tokens: &[u32],
) -> Option<ChunkLocalisation> {
    let c = (0..theirs.chunk_count().max(reference.chunk_count())).find(|&i| theirs.chunk(i) != reference.chunk(i))?;
    let kk = reference.chunk_tokens();
    let ref_chunk: Vec<u32> = tokens.iter().skip(c * kk).take(kk).copied().collect();
    let decoded: Vec<u32> = their_tokens.and_then(|all| all.get(c).cloned()).unwrap_or_default();
    let p = ref_chunk
        .iter()
        .zip(&decoded)
        .position(|(a, b)| a != b)
        .or_else(|| their_tokens.is_some().then_some(decoded.len().min(ref_chunk.len())));
    let mut findings = vec![Finding::Chunk { index: c, of: reference.chunk_count(), position: p }];
    let divergence = Divergence {
        path: format!("chunk[{c}].token[{}]", p.map_or("?".into(), |p| p.to_string())),
        index: p,
        expected: ref_chunk.iter().skip(p.unwrap_or(0)).take(4).map(|&t| t.into()).collect(),
        actual: decoded.iter().skip(p.unwrap_or(0)).take(4).map(|&t| t.into()).collect(),
    };
    let upto = p.unwrap_or(ref_chunk.len().saturating_sub(1));
    let witness = witness::scan(model, &ref_chunk, upto).into_iter().next();
    if let Some(w) = &witness {
        findings.push(Finding::Witness { chunk: Some(c), position: w.position, tag: w.tag, what: w.what.clone() });
    }
    Some(ChunkLocalisation { findings, divergence, chunk: c, position: p, chunk_tokens: ref_chunk, witness })
}
