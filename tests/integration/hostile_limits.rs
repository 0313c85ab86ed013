//! Resource limits against hostile files: the payload cap derived from the
//! outer header (`header_len + min(chunk_count·65535, 4·uncompressed_len +
//! chunk_count)`) and the per-chunk bound (`4·tokens + 1` bytes) hold for
//! every golden file with room to spare, and a small file that claims a
//! short text cannot expand into more than a few bytes per claimed byte.

use crate::common;

use czip::container::{
    compress, max_chunk_bytes, read_file, ContainerError, OuterCodec, OuterHeader, ReadLimits,
};

#[test]
fn every_golden_file_is_within_the_caps() {
    let Some(golden) = common::golden_dir() else { return };
    let entries = common::read_jsonl(&golden.join("manifest.jsonl"));
    let (mut worst_chunk, mut worst_payload) = ((0.0f64, String::new()), (0.0f64, String::new()));
    let mut max_bits_per_token = 0.0f64;
    for e in &entries {
        let path = e["path"].as_str().unwrap();
        let bytes = std::fs::read(golden.join(path)).unwrap();
        let f = read_file(&bytes, &ReadLimits::default()).unwrap_or_else(|err| panic!("{path}: {err}"));
        let cap = f.outer.payload_cap();
        let r = f.payload.len() as f64 / cap as f64;
        if r > worst_payload.0 {
            worst_payload = (r, path.to_string());
        }
        for (i, c) in f.chunks().enumerate() {
            let n = f.tokens_in_chunk(i) as u64;
            let r = c.len() as f64 / max_chunk_bytes(n) as f64;
            if r > worst_chunk.0 {
                worst_chunk = (r, format!("{path} chunk {i} ({} bytes, {n} tokens)", c.len()));
            }
            max_bits_per_token = max_bits_per_token.max(c.len() as f64 * 8.0 / n as f64);
        }
    }
    println!("{} golden files read", entries.len());
    println!("largest payload / cap: {:.3} ({})", worst_payload.0, worst_payload.1);
    println!("largest chunk / (4·tokens + 1): {:.3} ({})", worst_chunk.0, worst_chunk.1);
    println!("most bits per token in a chunk: {max_bits_per_token:.1} (bound: 31 + 8 for finish and padding)");
    assert!(worst_payload.0 <= 1.0 && worst_chunk.0 <= 1.0);
}

/// A payload that expands far beyond what the claimed text allows is cut at
/// the token-derived cap, whatever header_len claims.
#[test]
fn expansion_is_bounded_by_the_claimed_text_length() {
    let payload = vec![0u8; 8 << 20]; // 8 MiB of zeros: a few hundred bytes compressed
    for codec in [OuterCodec::Zstd, OuterCodec::Brotli] {
        let stream = compress(codec, &payload).unwrap();
        for (ulen, header_len) in [(1u32, 14u32), (100, 14), (1000, 2_000_012), (0, 200_012)] {
            let outer = OuterHeader { flags: 0, codec, uncompressed_len: ulen, header_len };
            let mut file = outer.to_bytes().to_vec();
            file.extend_from_slice(&stream);
            let cap = outer.payload_cap();
            let chunks = u64::from(header_len - 12) / 2;
            assert_eq!(cap, u64::from(header_len) + (chunks * 65535).min(4 * u64::from(ulen) + chunks));
            let e = read_file(&file, &ReadLimits::default()).unwrap_err();
            assert_eq!(e, ContainerError::PayloadTooLarge { codec, limit: cap }, "ulen {ulen}");
            assert!(e.to_string().contains("4·uncompressed_len"));
            println!(
                "{codec}: {} byte file claiming {ulen} text bytes and {chunks} chunks: cut at {cap} payload bytes",
                file.len()
            );
        }
    }
}

#[test]
fn per_chunk_bound_values() {
    assert_eq!(max_chunk_bytes(1), 5);
    assert_eq!(max_chunk_bytes(64), 257);
    assert_eq!(max_chunk_bytes(1024), 4097);
    assert_eq!(max_chunk_bytes(4096), 16385);
    assert_eq!(max_chunk_bytes(1 << 20), 65535);
    assert_eq!(max_chunk_bytes(u64::MAX), 65535);
}
