//! STUB until the container module lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)] pub enum OuterCodec { Zstd = 0, Brotli = 1 }
impl std::str::FromStr for OuterCodec { type Err = String; fn from_str(s: &str) -> Result<Self, String> { match s { "zstd" => Ok(Self::Zstd), "brotli" => Ok(Self::Brotli), _ => Err(s.into()) } } }
pub fn decompress_capped(c: OuterCodec, data: &[u8], _cap: usize) -> Result<Vec<u8>, String> {
    match c { OuterCodec::Zstd => zstd::stream::decode_all(data).map_err(|e| e.to_string()),
      OuterCodec::Brotli => { let mut o = Vec::new(); brotli::BrotliDecompress(&mut std::io::Cursor::new(data), &mut o).map_err(|e| e.to_string())?; Ok(o) } }
}
