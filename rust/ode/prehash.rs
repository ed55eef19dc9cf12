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

/// Operators read as one token when adjacent (longest first).
const MULTI_CHAR_OPS: [&str; 8] = ["**", "//", "==", "!=", "<=", ">=", "<<", ">>"];

fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The tokens of one line, comment removed.
pub fn tokens(line: &str) -> Vec<&str> {
    let line = line.split('#').next().unwrap_or("");
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(line.len(), |&(p, _)| p);
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        if is_word_start(c) {
            while j < chars.len() && is_word(chars[j].1) {
                j += 1;
            }
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(j).is_some_and(|d| d.1.is_ascii_digit()))
        {
            // A number: digits, letters (exponents, hex, suffixes), dots, and a sign right
            // after an exponent marker (`1e-3` is one token, `1e -3` is three).
            while j < chars.len() {
                let d = chars[j].1;
                let after_exponent = matches!(chars[j - 1].1, 'e' | 'E')
                    && (d == '+' || d == '-')
                    && chars.get(j + 1).is_some_and(|n| n.1.is_ascii_digit());
                if is_word(d) || d == '.' || after_exponent {
                    j += 1;
                } else {
                    break;
                }
            }
        } else if let Some(op) = MULTI_CHAR_OPS
            .iter()
            .find(|op| line[start..].starts_with(**op))
        {
            j = i + op.len();
        }
        out.push(&line[start..end_of(j)]);
        i = j;
    }
    out
}

/// One equation line in normal form (tokens joined by one space), or `None` for a blank line.
pub fn normalise_line(line: &str) -> Option<String> {
    let toks = tokens(line);
    (!toks.is_empty()).then(|| toks.join(" "))
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
        let mut lines: Vec<(String, String)> = self
            .lines
            .iter()
            .flat_map(|text| text.lines())
            .filter_map(normalise_line)
            .map(|l| {
                let lhs = l.split(" = ").next().unwrap_or("").to_owned();
                (lhs, l)
            })
            .collect();
        lines.sort();
        let mut constants: Vec<&(String, Expr)> = self.constants.iter().collect();
        constants.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.encoding().cmp(b.1.encoding())));

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
            out.extend_from_slice(value.encoding());
        }
        out.push(b'e');
        put_len(&mut out, lines.len());
        for (_, line) in &lines {
            put_str(&mut out, line);
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
        assert_eq!(
            tokens("y = 1.5e+3*x2 <= .5"),
            ["y", "=", "1.5e+3", "*", "x2", "<=", ".5"]
        );
        assert_eq!(
            tokens("v = x if a >= b else y"),
            ["v", "=", "x", "if", "a", ">=", "b", "else", "y"]
        );
        assert_eq!(tokens("é = ∂"), ["é", "=", "∂"]);
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
