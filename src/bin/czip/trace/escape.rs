//! A token's text as one printable line: `\n`, `\t`, `\r` and `\\` as
//! escapes, other control characters (C0, DEL) as `\xNN`; a token whose bytes
//! are not UTF-8 on their own (part of a character split between tokens)
//! shows every byte as `\xNN`.

use std::fmt::Write as _;

/// The escaped text of a token's bytes.
pub fn escape_token(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            for c in text.chars() {
                match c {
                    '\n' => s.push_str("\\n"),
                    '\t' => s.push_str("\\t"),
                    '\r' => s.push_str("\\r"),
                    '\\' => s.push_str("\\\\"),
                    c if (c as u32) < 0x20 || c == '\x7f' => {
                        let _ = write!(s, "\\x{:02x}", c as u32);
                    }
                    c => s.push(c),
                }
            }
        }
        Err(_) => {
            for b in bytes {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s
}

/// The bytes of token `id` in `model`'s vocabulary, escaped (`?` for an id
/// without bytes, which a traced text never holds).
pub fn token_text(model: &czip::Model, id: u32) -> String {
    model.tokenizer().token_bytes(id).map_or_else(|| "?".into(), escape_token)
}

#[cfg(test)]
mod tests {
    use super::escape_token;

    #[test]
    fn escapes_controls_and_shows_split_characters_as_bytes() {
        assert_eq!(escape_token(b" the\n"), " the\\n");
        assert_eq!(escape_token(b"a\tb\r\\"), "a\\tb\\r\\\\");
        assert_eq!(escape_token(b"\x00\x1b\x7f"), "\\x00\\x1b\\x7f");
        assert_eq!(escape_token("é".as_bytes()), "é");
        assert_eq!(escape_token(&[0xf0, 0x9f]), "\\xf0\\x9f");
    }
}
