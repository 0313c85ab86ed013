//! Integrity within CZIP v1 (issue 13 item 5): zstd payloads carry the zstd
//! frame checksum and readers verify it; `inspect` and `test` say what
//! guards a file; `compress --verify` decodes what it is about to write.

use crate::common;

use common::{assert_ok, czip, s, stderr};


#[test]
fn zstd_files_carry_a_checksum_that_catches_a_flipped_payload_bit() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let d = common::scratch("cli-integrity");
    let model = models.join("v001_eng.czm");
    let text = golden.join("corpus/alice_ch1.txt");
    let (z, b) = (d.join("alice.zstd.czip"), d.join("alice.brotli.czip"));
    for (codec, out) in [("zstd", &z), ("brotli", &b)] {
        assert_ok(&czip(&["compress", "--verify", "-m", s(&model), "-L", "1", "-c", codec, "-i", s(&text), "-o", s(out)]));
    }
    let o = czip(&["test", "-m", s(&model), s(&z), s(&b)]);
    assert_ok(&o);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("{}: OK (11735 bytes, zstd checksum verified)\n{}: OK (11735 bytes, no checksum: brotli has none)\n", z.display(), b.display())
    );
    let o = czip(&["inspect", s(&z), "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["payload_checksum"], true);
    let o = czip(&["inspect", s(&b)]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("\nintegrity          no checksum: brotli has none\n"));

    // The payload of arithmetic-coded chunks is incompressible: zstd keeps
    // it in raw blocks, where a flipped bit breaks no structure. Only the
    // checksum sees it.
    let mut bytes = std::fs::read(&z).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x04;
    let flipped = d.join("flipped.czip");
    std::fs::write(&flipped, &bytes).unwrap();
    let o = czip(&["decompress", "-m", s(&model), "-i", s(&flipped), "-o", s(&d.join("flipped.txt"))]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("checksum"), "{}", stderr(&o));
    assert!(!d.join("flipped.txt").exists());
}
