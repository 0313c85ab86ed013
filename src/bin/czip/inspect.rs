//! `czip inspect`: what is inside a CZIPv1 file.

use czip::container::{carries_checksum, integrity, read_file, ReadLimits, OUTER_HEADER_LEN};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::args::InspectArgs;
use crate::models::Models;
use crate::io::read_input;

pub fn run(a: &InspectArgs) -> Result<(), String> {
    let bytes = read_input(&a.file)?;
    let models = a.model.as_deref().map(Models::open_path).transpose()?;
    let model = models.as_ref().map(|m| m.for_reading(&a.file, &bytes)).transpose().map_err(|e| format!("{}: {e}", a.file.display()))?;
    let limits = ReadLimits { model_capacity_tokens: model.as_ref().map(|m| m.config().rope_rows) };
    let f = read_file(&bytes, &limits).map_err(|e| format!("{}: {e}", a.file.display()))?;
    let (o, i) = (&f.outer, &f.inner);
    let tokens = f.total_tokens();
    let sha: String = Sha256::digest(&f.payload).iter().map(|b| format!("{b:02x}")).collect();
    let ratio = if o.uncompressed_len == 0 { 0.0 } else { bytes.len() as f64 / f64::from(o.uncompressed_len) };
    let bits_per_token = if tokens == 0 { 0.0 } else { 8.0 * bytes.len() as f64 / tokens as f64 };
    let hash_match = model.as_ref().map(|m| m.content_hash() == i.model_id_hash);
    let chunks: Vec<_> = (0..f.chunk_count())
        .map(|c| json!({"index": c, "bytes": f.chunk(c).len(), "tokens": f.tokens_in_chunk(c)}))
        .collect();
    let doc = json!({
        "file": a.file.display().to_string(),
        "file_bytes": bytes.len(),
        "outer": {
            "magic": "CZIPv1",
            "flags": o.flags,
            "codec": o.codec.name(),
            "uncompressed_len": o.uncompressed_len,
            "header_len": o.header_len,
        },
        "inner": {
            "model_id_hash": format!("{:08x}", i.model_id_hash),
            "chunk_count": i.chunk_count,
            "last_chunk_tokens": i.last_chunk_tokens,
            "tokenizer_id": i.tokenizer_id,
            "context_length_log2": i.context_length_log2_raw,
            "chunk_tokens": f.chunk_tokens(),
        },
        "total_tokens": tokens,
        "payload_bytes": f.payload.len(),
        "payload_sha256": sha,
        "payload_checksum": carries_checksum(o.codec, bytes.get(OUTER_HEADER_LEN..).unwrap_or(&[])),
        "ratio": ratio,
        "bits_per_token": bits_per_token,
        "model_content_hash_matches": hash_match,
        "chunks": chunks,
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?);
        return Ok(());
    }
    println!("file               {} ({} bytes)", a.file.display(), bytes.len());
    println!("outer header       flags {} · codec {} · uncompressed_len {} · header_len {}", o.flags, o.codec, o.uncompressed_len, o.header_len);
    println!(
        "inner header       model_id_hash {:08x} · chunk_count {} · last_chunk_tokens {} · tokenizer_id {} · context_length_log2 {} (K = {})",
        i.model_id_hash, i.chunk_count, i.last_chunk_tokens, i.tokenizer_id, i.context_length_log2_raw, f.chunk_tokens()
    );
    match hash_match {
        Some(true) => println!("model              model_id_hash matches the model's content hash"),
        Some(false) => println!(
            "model              model_id_hash does not match the model's content hash {:08x} (informational: upstream hashes the path string)",
            model.as_ref().map_or(0, |m| m.content_hash())
        ),
        None => {}
    }
    println!("tokens             {tokens}");
    println!("ratio              {ratio:.4} ({bits_per_token:.3} bits/token)");
    println!("payload            {} bytes, SHA-256 {sha}", f.payload.len());
    println!("integrity          {}", integrity(&bytes));
    println!("chunks             index: bytes/tokens");
    for c in 0..f.chunk_count() {
        println!("  {c:5}: {:5} B / {:4} tok", f.chunk(c).len(), f.tokens_in_chunk(c));
    }
    Ok(())
}
