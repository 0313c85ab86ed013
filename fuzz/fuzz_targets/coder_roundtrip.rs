#![no_main]
//! cargo-fuzz target; the checks live in `fuzz/harness.rs`, shared with the
//! regression replay in `tests/hostile_fuzz_regressions.rs`.

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::coder_roundtrip(data);
});
