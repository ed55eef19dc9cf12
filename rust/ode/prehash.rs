//! The raw-input prehash: a cheap key for warm starts, computed from equation text without
//! parsing it into expressions.
//!
//! Each line loses its comment (`#` to the end of the line) and is split into tokens
//! (identifiers, numbers, operators with maximal munch, single other characters); the tokens
//! are re-joined with one space, so whitespace never matters but never glues two tokens into a
//! different one (`a* *b` stays apart from `a**b`).  Blank lines are dropped and the lines are
//! sorted by their left-hand side.  The key also covers the declared layouts and the constants
//! with their values.  Two inputs with one prehash parse to one system, so a cache may map
//! prehash → `fn_hash` and skip parsing; the converse does not hold (`x+y` and `y+x` have one
//! `fn_hash` but two prehashes), which only costs a parse.

use super::encoding::{put_layouts, put_len, put_str, Expr};

/// Version of the prehash format (inside the hashed bytes).
pub const PREHASH_VERSION: u32 = 1;

const MAGIC: &str = "cubie_hash/ode-prehash";

/// Operators read as one token when adjacent.
fn is_multi_char_op(pair: &[u8]) -> bool {
    matches!(
        pair,
        b"**" | b"//" | b"==" | b"!=" | b"<=" | b">=" | b"<<" | b">>"
    )
}

fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The character at byte `i` of `s`, read without decoding when it is ASCII.
fn char_at(s: &str, i: usize) -> Option<char> {
    let b = *s.as_bytes().get(i)?;
    if b.is_ascii() {
        Some(char::from(b))
    } else {
        s[i..].chars().next()
    }
}

/// Where the run of characters that `keep` accepts, from byte `i` of `s` on, ends.
fn run_end(s: &str, mut i: usize, keep: impl Fn(char) -> bool) -> usize {
    while let Some(c) = char_at(s, i).filter(|&c| keep(c)) {
        i += c.len_utf8();
    }
    i
}

/// Where the number starting at byte `start` of `s` ends: digits, letters (exponents, hex,
/// suffixes), dots, and a sign right after an exponent marker (`1e-3` is one token, `1e -3`
/// is three).
fn number_end(s: &str, start: usize) -> usize {
    let bytes = s.as_bytes();
    let mut i = start + 1;
    while let Some(c) = char_at(s, i) {
        // A byte before `i` that is `e` is the whole previous character: UTF-8 continuation
        // bytes are never ASCII.
        let after_exponent = matches!(bytes[i - 1], b'e' | b'E')
            && (c == '+' || c == '-')
            && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
        if !(is_word(c) || c == '.' || after_exponent) {
            break;
        }
        i += c.len_utf8();
    }
    i
}

/// The tokens of one line (comment removed): slices of the line, in order.
struct Tokens<'a> {
    line: &'a str,
    pos: usize,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let line = self.line;
        let bytes = line.as_bytes();
        let start = run_end(line, self.pos, char::is_whitespace);
        let c = char_at(line, start)?;
        let end = if is_word_start(c) {
            run_end(line, start + c.len_utf8(), is_word)
        } else if c.is_ascii_digit()
            || (c == '.' && bytes.get(start + 1).is_some_and(u8::is_ascii_digit))
        {
            number_end(line, start)
        } else if bytes.get(start..start + 2).is_some_and(is_multi_char_op) {
            start + 2
        } else {
            start + c.len_utf8()
        };
        self.pos = end;
        Some(&line[start..end])
    }
}

/// The tokens of one line, comment removed.
pub fn tokens(line: &str) -> impl Iterator<Item = &str> {
    let line = line.find('#').map_or(line, |i| &line[..i]);
    Tokens { line, pos: 0 }
}

/// Appends one equation line in normal form (tokens joined by one space) to `out`; appends
/// nothing for a blank line.
fn push_normal_line(out: &mut String, line: &str) {
    let start = out.len();
    for token in tokens(line) {
        if out.len() > start {
            out.push(' ');
        }
        out.push_str(token);
    }
}

/// One equation line in normal form (tokens joined by one space), or `None` for a blank line.
pub fn normalise_line(line: &str) -> Option<String> {
    let mut out = String::new();
    push_normal_line(&mut out, line);
    (!out.is_empty()).then_some(out)
}

/// The raw declarations and equation text a prehash is computed from.
#[derive(Clone, Debug, Default)]
pub struct RawSystem {
    pub lines: Vec<String>,
    pub states: Vec<String>,
    pub parameters: Vec<String>,
    pub drivers: Vec<String>,
    pub observables: Vec<String>,
    pub constants: Vec<(String, Expr)>,
}

impl RawSystem {
    /// The versioned bytes the prehash digests.
    pub fn encode(&self) -> Vec<u8> {
        // Every normal line goes into one buffer, as (start, end of the left-hand side, end).
        let mut text = String::new();
        let mut lines: Vec<(usize, usize, usize)> = Vec::new();
        for line in self.lines.iter().flat_map(|t| t.lines()) {
            let start = text.len();
            push_normal_line(&mut text, line);
            if text.len() > start {
                let lhs = text.as_bytes()[start..]
                    .windows(3)
                    .position(|w| w == b" = ")
                    .map_or(text.len(), |i| start + i);
                lines.push((start, lhs, text.len()));
            }
        }
        let key =
            |&(start, lhs, end): &(usize, usize, usize)| (&text[start..lhs], &text[start..end]);
        lines.sort_unstable_by(|a, b| key(a).cmp(&key(b)));
        let mut constants: Vec<&(String, Expr)> = self.constants.iter().collect();
        constants.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));

        let mut out = Vec::new();
        put_str(&mut out, MAGIC);
        out.extend_from_slice(&PREHASH_VERSION.to_be_bytes());
        put_layouts(
            &mut out,
            [
                &self.states,
                &self.parameters,
                &self.drivers,
                &self.observables,
            ],
        );
        out.push(b'c');
        put_len(&mut out, constants.len());
        for (name, value) in constants {
            put_str(&mut out, name);
            value.encode_into(&mut out);
        }
        out.push(b'e');
        put_len(&mut out, lines.len());
        for line in &lines {
            put_str(&mut out, key(line).1);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_and_comments_do_not_matter() {
        assert_eq!(
            normalise_line("  dx =sigma*( y-x ) # Lorenz").unwrap(),
            "dx = sigma * ( y - x )"
        );
        assert_eq!(
            normalise_line("dx=sigma*(y-x)").unwrap(),
            "dx = sigma * ( y - x )"
        );
        assert_eq!(normalise_line("   # only a comment"), None);
    }

    #[test]
    fn tokens_are_never_glued() {
        assert_ne!(normalise_line("a = b* *c"), normalise_line("a = b**c"));
        assert_ne!(normalise_line("a = 1e -3"), normalise_line("a = 1e-3"));
        assert_ne!(normalise_line("a = b c"), normalise_line("a = bc"));
        let all = |line| tokens(line).collect::<Vec<_>>();
        assert_eq!(
            all("y = 1.5e+3*x2 <= .5"),
            ["y", "=", "1.5e+3", "*", "x2", "<=", ".5"]
        );
        assert_eq!(
            all("v = x if a >= b else y"),
            ["v", "=", "x", "if", "a", ">=", "b", "else", "y"]
        );
        assert_eq!(all("é = ∂"), ["é", "=", "∂"]);
    }

    #[test]
    fn line_order_does_not_matter_but_layout_does() {
        let sys = |lines: &[&str], states: &[&str]| RawSystem {
            lines: lines.iter().map(|s| s.to_string()).collect(),
            states: states.iter().map(|s| s.to_string()).collect(),
            ..RawSystem::default()
        };
        let a = sys(&["dx = y", "dy = -x"], &["x", "y"]).encode();
        assert_eq!(a, sys(&["dy=-x\n\n  dx = y"], &["x", "y"]).encode());
        assert_ne!(a, sys(&["dx = y", "dy = -x"], &["y", "x"]).encode());
        assert_ne!(a, sys(&["dx = y", "dy = x"], &["x", "y"]).encode());
    }
}
