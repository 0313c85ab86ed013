//! The command-template syntax of a manifest's `[templates]`.
//!
//! - `{name}` is replaced by a value, shell-quoted (`'…'`); the names are
//!   [`PLACEHOLDERS`]. Any other `{…}` is an error when the manifest is read.
//! - `[ … ]` is an optional fragment: it is dropped whole (brackets included)
//!   when a placeholder inside it has an empty value (`[-L {level}]` for a
//!   capacity case, which has no level), and kept without its brackets
//!   otherwise. Fragments do not nest.
//! - `[[`, `]]`, `{{`, `}}` are a literal `[`, `]`, `{`, `}` (for shell
//!   syntax such as `${HOME}`, written `${{HOME}}`).
//! - An empty value outside a fragment leaves nothing in its place (so a flag
//!   that takes it belongs inside `[ ]`).

/// Every placeholder a template may use.
pub const PLACEHOLDERS: &[&str] = &["model", "input", "output", "level", "codec", "model_id_hash"];

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    Value(&'static str),
    /// An optional fragment (holds literals and values only).
    Optional(Vec<Piece>),
}

/// A parsed command template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses a template; the error is one line naming the offending spot.
    pub fn parse(src: &str) -> Result<Self, String> {
        let mut top: Vec<Piece> = Vec::new();
        let mut fragment: Option<Vec<Piece>> = None;
        let mut chars = src.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            let doubled = chars.peek().map(|&(_, n)| n) == Some(c);
            let piece = match c {
                '[' | ']' | '{' | '}' if doubled => {
                    chars.next();
                    Piece::Literal(c.to_string())
                }
                '[' if fragment.is_some() => return Err(format!("`[` at byte {at} inside an optional fragment (fragments do not nest; write [[ for a literal [)")),
                '[' => {
                    fragment = Some(Vec::new());
                    continue;
                }
                ']' => {
                    let inner = fragment.take().ok_or(format!("`]` at byte {at} closes no `[` (write ]] for a literal ])"))?;
                    top.push(Piece::Optional(inner));
                    continue;
                }
                '{' => {
                    let rest = &src[at + 1..];
                    let name = rest.find('}').map(|e| &rest[..e]).ok_or(format!("`{{` at byte {at} is not closed (write {{{{ for a literal {{)"))?;
                    let known = PLACEHOLDERS.iter().find(|p| **p == name).ok_or_else(|| {
                        format!("unknown placeholder {{{name}}} (known: {}; write {{{{ for a literal {{)", braced_list())
                    })?;
                    for _ in 0..name.chars().count() + 1 {
                        chars.next();
                    }
                    Piece::Value(known)
                }
                '}' => return Err(format!("`}}` at byte {at} closes no `{{` (write }}}} for a literal }})")),
                c => Piece::Literal(c.to_string()),
            };
            fragment.as_mut().unwrap_or(&mut top).push(piece);
        }
        if fragment.is_some() {
            return Err("an optional fragment `[` is not closed by `]` (write [[ for a literal [)".into());
        }
        Ok(Template { pieces: top })
    }

    /// Whether the template uses placeholder `name` (inside a fragment or not).
    pub fn uses(&self, name: &str) -> bool {
        fn any(ps: &[Piece], name: &str) -> bool {
            ps.iter().any(|p| match p {
                Piece::Value(v) => *v == name,
                Piece::Optional(inner) => any(inner, name),
                Piece::Literal(_) => false,
            })
        }
        any(&self.pieces, name)
    }

    /// The command line, with `value(name)` for each placeholder.
    pub fn expand(&self, value: &dyn Fn(&str) -> String) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Optional(inner) => {
                    if !inner.iter().any(|q| matches!(q, Piece::Value(v) if value(v).is_empty())) {
                        inner.iter().for_each(|q| push(&mut out, q, value));
                    }
                }
                q => push(&mut out, q, value),
            }
        }
        out
    }
}

fn push(out: &mut String, p: &Piece, value: &dyn Fn(&str) -> String) {
    match p {
        Piece::Literal(s) => out.push_str(s),
        Piece::Value(v) => {
            let s = value(v);
            if !s.is_empty() {
                out.push_str(&shell_quote(&s));
            }
        }
        Piece::Optional(_) => unreachable!("fragments do not nest (parse refuses it)"),
    }
}

/// `s` as one `sh` word.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `{model} {input} …`, for messages.
fn braced_list() -> String {
    PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(tpl: &str, level: &str) -> String {
        let t = Template::parse(tpl).unwrap();
        t.expand(&|n| match n {
            "level" => level.to_string(),
            "codec" => "zstd".into(),
            _ => format!("<{n}>"),
        })
    }

    #[test]
    fn optional_fragment_is_dropped_when_a_value_inside_is_empty() {
        assert_eq!(expand("cz [-L {level}] -c {codec}", ""), "cz  -c 'zstd'");
        assert_eq!(expand("cz [-L {level}] -c {codec}", "3"), "cz -L '3' -c 'zstd'");
        assert_eq!(expand("cz [-x] {level}", ""), "cz -x ");
    }

    #[test]
    fn doubled_brackets_and_braces_are_literal() {
        assert_eq!(expand("[[ -f {input} ]] && echo ${{HOME}}", ""), "[ -f '<input>' ] && echo ${HOME}");
    }

    #[test]
    fn syntax_errors_are_one_line() {
        let err = |s: &str| Template::parse(s).unwrap_err();
        assert_eq!(
            err("cz {lvl}"),
            "unknown placeholder {lvl} (known: {model} {input} {output} {level} {codec} {model_id_hash}; write {{ for a literal {)"
        );
        assert_eq!(err("cz [-L {level}"), "an optional fragment `[` is not closed by `]` (write [[ for a literal [)");
        assert_eq!(err("cz ]"), "`]` at byte 3 closes no `[` (write ]] for a literal ])");
        assert_eq!(err("cz [a [b]]"), "`[` at byte 6 inside an optional fragment (fragments do not nest; write [[ for a literal [)");
        assert_eq!(err("cz {level"), "`{` at byte 3 is not closed (write {{ for a literal {)");
        assert_eq!(err("cz }"), "`}` at byte 3 closes no `{` (write }} for a literal })");
    }

    #[test]
    fn uses_sees_into_fragments() {
        let t = Template::parse("cz [--model-id-hash {model_id_hash}]").unwrap();
        assert!(t.uses("model_id_hash"));
        assert!(!t.uses("level"));
    }
}
