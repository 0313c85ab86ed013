//! STUB until the tokenizer module lands.
#[derive(Debug)]
pub struct TokenizerError(pub String);
impl std::fmt::Display for TokenizerError { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) } }
impl std::error::Error for TokenizerError {}
pub struct Tokenizer { n: usize }
impl Tokenizer {
    pub fn from_json(_j: &[u8]) -> Result<Self, TokenizerError> { Ok(Tokenizer { n: 1024 }) }
    pub fn vocab_size(&self) -> usize { self.n }
    pub fn special_token(&self, _n: &str) -> Option<u32> { Some(1022) }
    pub fn encode(&self, _t: &str) -> Result<Vec<u32>, TokenizerError> { Err(TokenizerError("stub".into())) }
    pub fn decode_into(&self, _t: &[u32], _o: &mut Vec<u8>) -> Result<(), TokenizerError> { Err(TokenizerError("stub".into())) }
}
