//! `${NAME}` in a manifest: the value of environment variable NAME of
//! `czip-conformance`, read when the manifest is opened.
//!
//! - NAME is `[A-Za-z_][A-Za-z0-9_]*`; anything else after `$` is literal
//!   (so a template's `${{HOME}}`, a literal `${HOME}` for the shell, is not a
//!   reference).
//! - An unset or empty variable is an error naming it (`CZIP_CUDA_BIN is not
//!   set`): the manifest cannot be opened without it.
//! - Where the reference is the program (the whole of `command[0]`, or the
//!   first word of a template), a relative value containing `/` is taken
//!   relative to the directory `czip-conformance` runs in — where the user
//!   typed it — not the manifest's directory.

use std::path::Path;

/// The variable names `s` refers to, in order (repeats kept).
pub fn refs(s: &str) -> Vec<&str> {
    pieces(s).filter_map(|p| match p {
        Piece::Ref(n) => Some(n),
        Piece::Text(_) => None,
    }).collect()
}

/// A run of `s`: literal text, or a reference `${NAME}` (its name).
enum Piece<'a> {
    Text(&'a str),
    Ref(&'a str),
}

/// `s` cut into literal text and references, in order; `${` that does not
/// open a reference stays text.
fn pieces(s: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = s;
    let mut pending: Option<Piece> = None;
    std::iter::from_fn(move || {
        if let Some(p) = pending.take() {
            return Some(p);
        }
        let mut scanned = 0;
        while let Some(at) = rest[scanned..].find("${").map(|i| i + scanned) {
            if let Some(n) = name_at(&rest[at + 2..]) {
                let text = &rest[..at];
                rest = &rest[at + 3 + n.len()..];
                if text.is_empty() {
                    return Some(Piece::Ref(n));
                }
                pending = Some(Piece::Ref(n));
                return Some(Piece::Text(text));
            }
            scanned = at + 2;
        }
        let text = std::mem::take(&mut rest);
        (!text.is_empty()).then_some(Piece::Text(text))
    })
}

/// The identifier `after` starts with, if it is closed by `}`.
fn name_at(after: &str) -> Option<&str> {
    let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    let name = &after[..end];
    let first_ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    (first_ok && after[end..].starts_with('}')).then_some(name)
}

/// The value of `name`, or the one-line reason it has none.
pub fn lookup(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Ok(v),
        Ok(_) => Err(format!("{name} is empty")),
        Err(std::env::VarError::NotPresent) => Err(format!("{name} is not set")),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
    }
}

/// The first variable `strings` refer to that has no value, as its reason.
pub fn first_missing<'a>(strings: impl IntoIterator<Item = &'a str>) -> Option<String> {
    strings.into_iter().flat_map(refs).find_map(|n| lookup(n).err())
}

/// `s` with each reference replaced by `value(name)`; the first error stops it.
pub fn expand(s: &str, value: &dyn Fn(&str) -> Result<String, String>) -> Result<String, String> {
    let mut out = String::new();
    for p in pieces(s) {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Ref(n) => out.push_str(&value(n)?),
        }
    }
    Ok(out)
}

/// A program path given by an environment variable: relative values with a
/// `/` are made absolute against the current directory; bare names are left
/// for a `PATH` search.
pub fn program_value(value: &str) -> String {
    let p = Path::new(value);
    if p.is_relative() && value.contains('/') {
        if let Ok(abs) = std::path::absolute(p) {
            return abs.display().to_string();
        }
    }
    value.to_string()
}

/// The variable `s` consists of, if it is exactly one `${NAME}`.
pub fn whole_ref(s: &str) -> Option<&str> {
    let name = s.strip_prefix("${")?.strip_suffix('}')?;
    (refs(s) == [name]).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_braced_identifiers_only() {
        assert_eq!(refs("${A} $B ${{HOME}} ${_x1}${9no} ${open"), vec!["A", "_x1"]);
        assert_eq!(whole_ref("${CZIP_CUDA_BIN}"), Some("CZIP_CUDA_BIN"));
        assert_eq!(whole_ref("${A}/bin"), None);
    }

    #[test]
    fn expansion_quotes_values_and_names_the_missing_variable() {
        std::env::set_var("CZIP_ENV_REFS_TEST_SET", "a b");
        let q = |n: &str| lookup(n).map(|v| format!("<{v}>"));
        assert_eq!(expand("x ${CZIP_ENV_REFS_TEST_SET} ${{HOME}} $$", &q).unwrap(), "x <a b> ${{HOME}} $$");
        assert_eq!(expand("${CZIP_ENV_REFS_TEST_UNSET}", &q).unwrap_err(), "CZIP_ENV_REFS_TEST_UNSET is not set");
        assert_eq!(first_missing(["ok", "${CZIP_ENV_REFS_TEST_SET} ${CZIP_ENV_REFS_TEST_UNSET}"]).unwrap(), "CZIP_ENV_REFS_TEST_UNSET is not set");
    }
}
