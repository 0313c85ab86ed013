//! MSB-first bit packing for the arithmetic coder (spec §7: "Bits are packed
//! MSB-first into bytes"; the decoder "supplies 0 after the end").

/// Appends bits to a byte vector, most significant bit of each byte first.
#[derive(Debug, Default, Clone)]
pub struct BitWriter {
    out: Vec<u8>,
    /// Bits of the byte being assembled, right-aligned (`< 2^filled`).
    acc: u8,
    /// How many bits of `acc` are used, `0..=7`.
    filled: u8,
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer that appends to `out` after clearing it, reusing its capacity.
    pub fn with_buffer(mut out: Vec<u8>) -> Self {
        out.clear();
        BitWriter {
            out,
            acc: 0,
            filled: 0,
        }
    }

    /// Writes one bit (only the lowest bit of `bit` is used). Widths: `acc`
    /// holds at most 7 bits before the shift, so `acc << 1 | b` fits u8.
    #[inline]
    pub fn write_bit(&mut self, bit: u32) {
        self.acc = (self.acc << 1) | (bit & 1) as u8;
        self.filled += 1;
        if self.filled == 8 {
            self.out.push(self.acc);
            self.acc = 0;
            self.filled = 0;
        }
    }

    /// Writes `count` copies of `bit` (the §7 pending bits). Whole bytes are
    /// pushed at once once the writer is byte-aligned.
    pub fn write_repeated(&mut self, bit: u32, mut count: u64) {
        while count > 0 && self.filled != 0 {
            self.write_bit(bit);
            count -= 1;
        }
        let fill = if bit & 1 == 1 { 0xFF } else { 0x00 };
        while count >= 8 {
            self.out.push(fill);
            count -= 8;
        }
        for _ in 0..count {
            self.write_bit(bit);
        }
    }

    /// Total bits written so far (u64: `8·len + filled`; a `Vec` length is
    /// below 2^61 bytes, so this cannot overflow).
    pub fn bit_len(&self) -> u64 {
        self.out.len() as u64 * 8 + u64::from(self.filled)
    }

    /// Pads the last partial byte with zero bits and returns the bytes.
    pub fn into_bytes(mut self) -> Vec<u8> {
        if self.filled != 0 {
            self.out.push(self.acc << (8 - self.filled));
        }
        self.out
    }
}

/// Reads bits MSB-first from a byte slice; after the end it supplies 0 bits
/// forever (spec §7 decoder).
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    /// Index of the byte holding the next bit (may be `bytes.len()`: at end).
    byte: usize,
    /// Index of the next bit inside that byte, 0 = MSB, `0..=7`.
    bit: u8,
}

impl<'a> BitReader<'a> {
    /// A reader positioned on the first (most significant) bit of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        BitReader {
            bytes,
            byte: 0,
            bit: 0,
        }
    }

    /// The next bit (0 or 1); 0 once the bytes are exhausted. The position
    /// stops advancing at the end, so reading never overflows.
    #[inline]
    pub fn read_bit(&mut self) -> u32 {
        let Some(&b) = self.bytes.get(self.byte) else {
            return 0;
        };
        let out = u32::from((b >> (7 - self.bit)) & 1);
        if self.bit == 7 {
            self.bit = 0;
            self.byte += 1;
        } else {
            self.bit += 1;
        }
        out
    }

    /// Bits consumed from the input so far (bits supplied past the end are
    /// not counted).
    pub fn bits_consumed(&self) -> u64 {
        self.byte as u64 * 8 + u64::from(self.bit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_packs_msb_first_and_pads_with_zeros() {
        let mut w = BitWriter::new();
        for b in [1, 0, 1, 1, 0, 0, 0, 1, 1, 1] {
            w.write_bit(b);
        }
        assert_eq!(w.bit_len(), 10);
        assert_eq!(w.into_bytes(), vec![0b1011_0001, 0b1100_0000]);
    }

    #[test]
    fn writer_empty_and_exact_byte() {
        assert_eq!(BitWriter::new().into_bytes(), Vec::<u8>::new());
        let mut w = BitWriter::new();
        for _ in 0..8 {
            w.write_bit(1);
        }
        assert_eq!(w.into_bytes(), vec![0xFF]);
    }

    #[test]
    fn writer_uses_only_low_bit() {
        let mut w = BitWriter::new();
        w.write_bit(2);
        w.write_bit(3);
        assert_eq!(w.into_bytes(), vec![0b0100_0000]);
    }

    #[test]
    fn write_repeated_matches_bit_by_bit() {
        for lead in 0..9u32 {
            for count in [0u64, 1, 5, 7, 8, 9, 16, 23, 300] {
                for bit in [0u32, 1] {
                    let mut a = BitWriter::new();
                    let mut b = BitWriter::new();
                    for i in 0..lead {
                        a.write_bit(i % 2);
                        b.write_bit(i % 2);
                    }
                    a.write_repeated(bit, count);
                    for _ in 0..count {
                        b.write_bit(bit);
                    }
                    a.write_bit(1);
                    b.write_bit(1);
                    assert_eq!(a.bit_len(), b.bit_len());
                    assert_eq!(
                        a.into_bytes(),
                        b.into_bytes(),
                        "lead {lead} count {count} bit {bit}"
                    );
                }
            }
        }
    }

    #[test]
    fn with_buffer_clears_and_keeps_capacity() {
        let buf = Vec::with_capacity(64);
        let mut buf2 = buf;
        buf2.extend_from_slice(&[1, 2, 3]);
        let mut w = BitWriter::with_buffer(buf2);
        w.write_bit(1);
        let out = w.into_bytes();
        assert_eq!(out, vec![0x80]);
        assert!(out.capacity() >= 64);
    }

    #[test]
    fn reader_reads_msb_first_then_zeros() {
        let mut r = BitReader::new(&[0b1010_0001, 0xFF]);
        let bits: Vec<u32> = (0..24).map(|_| r.read_bit()).collect();
        assert_eq!(
            bits,
            vec![1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(r.bits_consumed(), 16);
        let mut empty = BitReader::new(&[]);
        assert!((0..100).all(|_| empty.read_bit() == 0));
        assert_eq!(empty.bits_consumed(), 0);
    }

    #[test]
    fn reader_inverts_writer() {
        let pattern: Vec<u32> = (0..77u32).map(|i| (i * 7 + i / 3) % 2).collect();
        let mut w = BitWriter::new();
        pattern.iter().for_each(|&b| w.write_bit(b));
        let bytes = w.into_bytes();
        assert_eq!(bytes.len(), 10);
        let mut r = BitReader::new(&bytes);
        let back: Vec<u32> = (0..80).map(|_| r.read_bit()).collect();
        assert_eq!(&back[..77], &pattern[..]);
        assert_eq!(&back[77..], &[0, 0, 0]);
    }
}
