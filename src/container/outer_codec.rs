//! The outer compression of the inner payload: one zstd frame or one brotli
//! stream. Its bytes are not normative (spec §9); only the payload is.
//!
//! Writing:
//! * zstd level 22, one shot, so the frame records the content size and its
//!   window fits the payload, **with the frame checksum** (the low 32 bits
//!   of the payload's XXH64, RFC 8878 §3.1.1): CZIP v1 has no checksum of
//!   its own, and this is the one the format allows — every zstd reader
//!   verifies it, ours included (a mismatch is [`ContainerError::Decompress`]
//!   "checksum"). The bytes equal `zstd --ultra -22`; the upstream Python
//!   files are the same frame without the checksum (`--no-check`: flag bit
//!   2 clear, 4 bytes fewer). Upstream Rust used
//!   `zstd::stream::encode_all(payload, 22)` (no content size, 2^27 window
//!   declared, no checksum), so its files differ in bytes.
//! * brotli quality 11, window 22, otherwise the crate's default parameters:
//!   a standard RFC 7932 stream (no large-window extension, no magic-number /
//!   catable / appendable framing). The bytes equal every golden brotli file
//!   and Google's `brotli -q 11 -w 22` (1.0.9).
//!
//! Reading: a streaming loop over a fixed 64 KiB buffer that appends only
//! what the decoder produced and fails as soon as the output passes `cap`
//! ([`ContainerError::PayloadTooLarge`]), so a small file cannot make the
//! reader hold more than `cap` output bytes. Exactly one frame/stream is
//! accepted: bytes left after its end are
//! [`ContainerError::TrailingCompressedData`] (this also rejects a second zstd
//! frame and zstd skippable frames); input that ends inside the stream, or a
//! corrupt stream, is [`ContainerError::Decompress`]. zstd's window limit
//! stays at its default (2^27): upstream Rust's frames declare exactly that
//! window, so lowering it would reject them. brotli's large-window extension
//! (up to 2^30) is refused.

use std::fmt;
use std::str::FromStr;

use super::ContainerError;

/// zstd compression level used by writers (upstream: 22).
pub const ZSTD_LEVEL: i32 = 22;
/// brotli quality used by writers (upstream: 11).
pub const BROTLI_QUALITY: u32 = 11;
/// brotli window log used by writers (upstream: 22).
pub const BROTLI_LGWIN: u32 = 22;

const STEP: usize = 64 * 1024;

/// Outer codec id as stored in byte 7 of the outer header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OuterCodec {
    Zstd = 0,
    Brotli = 1,
}

impl OuterCodec {
    /// The codec for a stored id, if known.
    pub fn from_id(id: u8) -> Option<OuterCodec> {
        match id {
            0 => Some(OuterCodec::Zstd),
            1 => Some(OuterCodec::Brotli),
            _ => None,
        }
    }

    /// The stored id.
    pub fn id(self) -> u8 {
        self as u8
    }

    /// `"zstd"` or `"brotli"`.
    pub fn name(self) -> &'static str {
        match self {
            OuterCodec::Zstd => "zstd",
            OuterCodec::Brotli => "brotli",
        }
    }
}

impl fmt::Display for OuterCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OuterCodec {
    type Err = ContainerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "zstd" => Ok(OuterCodec::Zstd),
            "brotli" => Ok(OuterCodec::Brotli),
            _ => Err(ContainerError::UnknownCodecName {
                name: s.to_string(),
            }),
        }
    }
}

/// Compresses `data` as one zstd frame (level 22, with its checksum) or one
/// brotli stream (q11, lgwin 22).
pub fn compress(codec: OuterCodec, data: &[u8]) -> Result<Vec<u8>, ContainerError> {
    let fail = |e: std::io::Error| ContainerError::Compress {
        codec,
        detail: e.to_string(),
    };
    match codec {
        OuterCodec::Zstd => {
            let mut z = zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(fail)?;
            z.include_checksum(true).map_err(fail)?;
            z.compress(data).map_err(fail)
        }
        OuterCodec::Brotli => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: BROTLI_QUALITY as i32,
                lgwin: BROTLI_LGWIN as i32,
                ..Default::default()
            };
            let mut out = Vec::new();
            let mut input = data;
            brotli::BrotliCompress(&mut input, &mut out, &params).map_err(fail)?;
            Ok(out)
        }
    }
}

/// Decompresses exactly one zstd frame / brotli stream that must span all of
/// `data`, producing at most `cap` bytes (more is
/// [`ContainerError::PayloadTooLarge`], reported as soon as the output passes
/// `cap`; the output buffer never grows beyond `cap` + 64 KiB).
pub fn decompress_capped(
    codec: OuterCodec,
    data: &[u8],
    cap: usize,
) -> Result<Vec<u8>, ContainerError> {
    let cap = u64::try_from(cap).unwrap_or(u64::MAX);
    match codec {
        OuterCodec::Zstd => zstd_capped(data, cap),
        OuterCodec::Brotli => brotli_capped(data, cap),
    }
}

/// Appends `chunk` to `out` unless that passes `cap`.
fn push_capped(
    out: &mut Vec<u8>,
    chunk: &[u8],
    cap: u64,
    codec: OuterCodec,
) -> Result<(), ContainerError> {
    let total = (out.len() as u64).saturating_add(chunk.len() as u64);
    if total > cap {
        return Err(ContainerError::PayloadTooLarge { codec, limit: cap });
    }
    out.extend_from_slice(chunk);
    Ok(())
}

fn zstd_capped(data: &[u8], cap: u64) -> Result<Vec<u8>, ContainerError> {
    use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};
    const CODEC: OuterCodec = OuterCodec::Zstd;
    let fail = |detail: String| ContainerError::Decompress {
        codec: CODEC,
        detail,
    };
    let mut dec = Decoder::new().map_err(|e| fail(e.to_string()))?;
    let mut input = InBuffer::around(data);
    let mut buf = vec![0u8; STEP];
    let mut out = Vec::new();
    loop {
        let before = input.pos;
        let mut ob = OutBuffer::around(&mut buf[..]);
        let hint = dec
            .run(&mut input, &mut ob)
            .map_err(|e| fail(e.to_string()))?;
        let produced = ob.pos();
        push_capped(&mut out, buf.get(..produced).unwrap_or(&[]), cap, CODEC)?;
        if hint == 0 {
            // The frame is complete and fully flushed.
            break;
        }
        if produced < STEP && input.pos == data.len() {
            // Output not full, all input consumed, frame not finished.
            return Err(fail(format!(
                "stream truncated: input ends after {} bytes inside the frame",
                data.len()
            )));
        }
        if produced == 0 && input.pos == before {
            return Err(fail("decoder made no progress".to_string()));
        }
    }
    let extra = data.len().saturating_sub(input.pos);
    if extra != 0 {
        return Err(ContainerError::TrailingCompressedData {
            codec: CODEC,
            extra,
        });
    }
    Ok(out)
}

fn brotli_capped(data: &[u8], cap: u64) -> Result<Vec<u8>, ContainerError> {
    use brotli::enc::StandardAlloc;
    use brotli::{BrotliDecompressStream, BrotliResult, BrotliState};
    const CODEC: OuterCodec = OuterCodec::Brotli;
    let fail = |detail: String| ContainerError::Decompress {
        codec: CODEC,
        detail,
    };
    // `new_strict`: no large-window extension (windows up to 16 MiB, RFC 7932).
    let mut state: BrotliState<StandardAlloc, StandardAlloc, StandardAlloc> =
        BrotliState::new_strict(
            StandardAlloc::default(),
            StandardAlloc::default(),
            StandardAlloc::default(),
        );
    let mut buf = vec![0u8; STEP];
    let mut out = Vec::new();
    let mut available_in = data.len();
    let mut input_offset = 0usize;
    let mut total_out = 0usize;
    loop {
        let mut available_out = STEP;
        let mut output_offset = 0usize;
        let before_in = input_offset;
        let result = BrotliDecompressStream(
            &mut available_in,
            &mut input_offset,
            data,
            &mut available_out,
            &mut output_offset,
            &mut buf,
            &mut total_out,
            &mut state,
        );
        let produced = output_offset.min(STEP);
        push_capped(&mut out, buf.get(..produced).unwrap_or(&[]), cap, CODEC)?;
        match result {
            BrotliResult::ResultSuccess => break,
            BrotliResult::NeedsMoreOutput => {
                if produced == 0 && input_offset == before_in {
                    return Err(fail("decoder made no progress".to_string()));
                }
            }
            BrotliResult::NeedsMoreInput => {
                return Err(fail(format!(
                    "stream truncated: input ends after {} bytes inside the stream",
                    data.len()
                )));
            }
            BrotliResult::ResultFailure => {
                return Err(fail(format!("corrupt stream ({})", brotli_error_words(&format!("{:?}", state.error_code)))));
            }
        }
    }
    if available_in != 0 {
        return Err(ContainerError::TrailingCompressedData {
            codec: CODEC,
            extra: available_in,
        });
    }
    Ok(out)
}

/// The decoder's error code in words, without the library's type name:
/// `BROTLI_DECODER_ERROR_FORMAT_CONTEXT_MAP_REPEAT` → `invalid context map
/// repeat`, `BROTLI_DECODER_ERROR_ALLOC_RING_BUFFER_1` → `out of memory (ring
/// buffer 1)`.
fn brotli_error_words(code: &str) -> String {
    let name = code.strip_prefix("BROTLI_DECODER_ERROR_").unwrap_or(code);
    let words = |s: &str| s.to_ascii_lowercase().replace('_', " ");
    if let Some(what) = name.strip_prefix("FORMAT_") {
        format!("invalid {}", words(what))
    } else if let Some(what) = name.strip_prefix("ALLOC_") {
        format!("out of memory ({})", words(what))
    } else {
        words(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brotli_errors_are_words() {
        assert_eq!(brotli_error_words("BROTLI_DECODER_ERROR_FORMAT_CONTEXT_MAP_REPEAT"), "invalid context map repeat");
        assert_eq!(brotli_error_words("BROTLI_DECODER_ERROR_ALLOC_RING_BUFFER_1"), "out of memory (ring buffer 1)");
        assert_eq!(brotli_error_words("BROTLI_DECODER_ERROR_UNREACHABLE"), "unreachable");
    }

    #[test]
    fn names() {
        for c in [OuterCodec::Zstd, OuterCodec::Brotli] {
            assert_eq!(c.to_string().parse::<OuterCodec>(), Ok(c));
            assert_eq!(OuterCodec::from_id(c.id()), Some(c));
        }
        assert!(matches!(
            "gzip".parse::<OuterCodec>(),
            Err(ContainerError::UnknownCodecName { .. })
        ));
        assert_eq!(OuterCodec::from_id(2), None);
    }

    #[test]
    fn roundtrip_both() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for c in [OuterCodec::Zstd, OuterCodec::Brotli] {
            let z = compress(c, &data).unwrap();
            assert_eq!(decompress_capped(c, &z, data.len()).unwrap(), data);
            assert_eq!(
                decompress_capped(c, &z, data.len() - 1),
                Err(ContainerError::PayloadTooLarge {
                    codec: c,
                    limit: data.len() as u64 - 1
                })
            );
            let empty = compress(c, &[]).unwrap();
            assert_eq!(decompress_capped(c, &empty, 0).unwrap(), Vec::<u8>::new());
        }
    }

    #[test]
    fn trailing_and_truncated() {
        let data = b"hello hello hello hello".to_vec();
        for c in [OuterCodec::Zstd, OuterCodec::Brotli] {
            let z = compress(c, &data).unwrap();
            let mut t = z.clone();
            t.extend_from_slice(b"xyz");
            assert_eq!(
                decompress_capped(c, &t, 1000),
                Err(ContainerError::TrailingCompressedData { codec: c, extra: 3 })
            );
            for cut in 0..z.len() {
                assert!(
                    matches!(
                        decompress_capped(c, &z[..cut], 1000),
                        Err(ContainerError::Decompress { .. })
                    ),
                    "{c} cut at {cut}"
                );
            }
        }
        // Two zstd frames back to back: the second is trailing data.
        let z = compress(OuterCodec::Zstd, &data).unwrap();
        let mut two = z.clone();
        two.extend_from_slice(&z);
        assert_eq!(
            decompress_capped(OuterCodec::Zstd, &two, 1000),
            Err(ContainerError::TrailingCompressedData {
                codec: OuterCodec::Zstd,
                extra: z.len()
            })
        );
    }

    #[test]
    fn garbage_is_an_error() {
        for c in [OuterCodec::Zstd, OuterCodec::Brotli] {
            for g in [
                &b""[..],
                b"\x00",
                b"\xff\xff\xff\xff\xff\xff",
                b"CZIPv1CZIPv1",
            ] {
                assert!(decompress_capped(c, g, 100).is_err());
            }
        }
    }
}

/// Whether the outer stream `data` carries a checksum of the payload: for
/// zstd, the frame header's Content_Checksum_flag (bit 2 of the frame header
/// descriptor, the byte after the magic `28 b5 2f fd`; RFC 8878 §3.1.1.1.1);
/// brotli streams have none. `None` when `data` is not a zstd frame at all
/// (the reader then refuses it anyway).
pub fn carries_checksum(codec: OuterCodec, data: &[u8]) -> Option<bool> {
    match codec {
        OuterCodec::Brotli => Some(false),
        OuterCodec::Zstd => match data {
            [0x28, 0xb5, 0x2f, 0xfd, descriptor, ..] => Some(descriptor & 0b100 != 0),
            _ => None,
        },
    }
}

#[cfg(test)]
mod checksum_tests {
    use super::*;

    #[test]
    fn zstd_frames_are_written_with_a_checksum_that_the_reader_verifies() {
        // Arithmetic-coded payloads are incompressible: zstd stores them as
        // raw blocks, so a flipped bit inside changes the content, not the
        // frame's structure — only the checksum can tell.
        let payload: Vec<u8> = (0u32..4096).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let z = compress(OuterCodec::Zstd, &payload).unwrap();
        assert_eq!(carries_checksum(OuterCodec::Zstd, &z), Some(true));
        assert_eq!(decompress_capped(OuterCodec::Zstd, &z, 1 << 20).unwrap(), payload);
        let mut flipped = z.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x10;
        let err = decompress_capped(OuterCodec::Zstd, &flipped, 1 << 20).unwrap_err().to_string();
        assert!(err.contains("checksum"), "{err}");
        // Without the checksum (upstream's frames) the same flip goes unseen.
        let plain = zstd::bulk::compress(&payload, ZSTD_LEVEL).unwrap();
        assert_eq!(carries_checksum(OuterCodec::Zstd, &plain), Some(false));
        assert_eq!(z.len(), plain.len() + 4);
        let mut flipped = plain.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x10;
        assert_ne!(decompress_capped(OuterCodec::Zstd, &flipped, 1 << 20).unwrap(), payload);
        let b = compress(OuterCodec::Brotli, &payload).unwrap();
        assert_eq!(carries_checksum(OuterCodec::Brotli, &b), Some(false));
        assert_eq!(carries_checksum(OuterCodec::Zstd, b"CZIP"), None);
    }
}
