//! The general-purpose compressors a CZIP file is measured against, in one
//! place: `czip trace`'s summary and the ratio table of
//! `czip-conformance score` both call [`baselines`]. The settings are the
//! strongest common ones, those of upstream's comparison tables: brotli
//! quality 11 (window 22), zstd level 22 (one frame, no checksum, as
//! `zstd::bulk` writes it) and gzip level 9.

use std::io::Write as _;

/// Compressed sizes of one text, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Baselines {
    pub brotli_11: u64,
    pub zstd_22: u64,
    pub gzip_9: u64,
}

/// zstd level of the baseline (its maximum).
pub const BASELINE_ZSTD_LEVEL: i32 = 22;

/// `text` under brotli-11, zstd-22 and gzip-9. A compressor that fails
/// (none does on a byte slice in memory) counts as 0 bytes.
pub fn baselines(text: &[u8]) -> Baselines {
    let mut br = Vec::new();
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    let brotli_11 = match brotli::BrotliCompress(&mut std::io::Cursor::new(text), &mut br, &params) {
        Ok(_) => br.len() as u64,
        Err(_) => 0,
    };
    let zstd_22 = zstd::bulk::compress(text, BASELINE_ZSTD_LEVEL).map_or(0, |v| v.len() as u64);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
    let gzip_9 = gz.write_all(text).and_then(|()| gz.finish()).map_or(0, |v| v.len() as u64);
    Baselines { brotli_11, zstd_22, gzip_9 }
}
