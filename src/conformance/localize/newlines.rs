//! Newline translation: what a reader in universal-newline mode (the public
//! Python command line) makes of a text — CR and CRLF become LF. A file
//! coding that text instead of the given one is localised against it.

/// `text` with every CRLF and lone CR replaced by LF.
pub fn newline_translated(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'\r' {
            out.push(b'\n');
            if text.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
        } else {
            out.push(text[i]);
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn cr_and_crlf_become_lf() {
        assert_eq!(super::newline_translated(b"a\r\nb\rc\n\r\r\n"), b"a\nb\nc\n\n\n");
    }
}
