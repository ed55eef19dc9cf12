//! The text front end: equation text straight to the canonical form, without SymPy.
//!
//! Three stages, one module each:
//!
//! * [`lexer`] turns a line into [`lexer::Token`]s (kinds, byte ranges, literal values):
//!   `dx = -k*x**2  # decay` → `Name(dx) Equal Minus Name(k) Star Name(x) DoubleStar Int(2)
//!   EndOfFile`;
//! * [`parser`] reads Python's expression grammar (precedence, associativity, chained
//!   comparisons, conditional expressions, calls) by recursive descent, refusing nesting
//!   deeper than [`parser::MAX_DEPTH`];
//! * [`lower`] builds each node as today's SymPy-based parser builds it unevaluated
//!   (`a - b` is `Add(a, Mul(-1, b))`, `a/b` is `Mul(a, Pow(b, -1))`, SymPy's own rules for
//!   `And`/`Or`/`Xor`/`Piecewise`), calling the same normalising constructors of
//!   [`super::encoding::Expr`] in the same order as walking that SymPy tree does, so both
//!   paths give the same canonical form byte for byte.
//!
//! Errors carry a 1-based column (in characters) of the text they were found in.

pub mod lexer;
pub mod lower;
pub mod parser;
pub mod relational;

use std::cell::RefCell;

use super::encoding::Expr;
use super::rules::{check_tree, EMPTY_PIECEWISE};

/// A problem in equation text, with the column it was found at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextError {
    pub message: String,
    /// 1-based, in characters.
    pub column: Option<usize>,
    /// A syntax error (as opposed to valid syntax the language does not accept).
    pub syntax: bool,
}

fn column(src: &str, at: usize) -> usize {
    src[..at.min(src.len())].chars().count() + 1
}

impl TextError {
    pub fn syntax(src: &str, at: usize, message: impl Into<String>) -> TextError {
        TextError {
            message: message.into(),
            column: Some(column(src, at)),
            syntax: true,
        }
    }

    pub fn at(src: &str, at: usize, message: impl Into<String>) -> TextError {
        TextError {
            message: message.into(),
            column: Some(column(src, at)),
            syntax: false,
        }
    }

    /// The message of the `EquationError` for the equation labelled `label`.
    pub fn describe(&self, label: &str) -> String {
        let label = py_repr(label);
        match (self.syntax, self.column) {
            (true, Some(c)) => format!(
                "equation {label}: syntax error at column {c}: {}",
                self.message
            ),
            (false, Some(c)) => format!("equation {label}: {} (column {c})", self.message),
            (_, None) => format!("equation {label}: {}", self.message),
        }
    }
}

/// Python's `repr()` of a string (quotes chosen and characters escaped as Python does).
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isspace()`.
pub fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Python's `str.isspace()` for an ASCII byte.
fn ascii_space(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ' | 0x1c..=0x1f)
}

/// Python's `str.strip()`.
pub fn py_strip(s: &str) -> &str {
    // Most lines start and end with a character that is ASCII and not a space.
    let bytes = s.as_bytes();
    if let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) {
        if first.is_ascii() && last.is_ascii() && !ascii_space(first) && !ascii_space(last) {
            return s;
        }
    }
    s.trim_matches(py_isspace)
}

/// Where the first byte at or after `i` that may start a line break is (a byte below 0x1f
/// or a non-ASCII one), or `bytes.len()`: eight bytes at a time, as lines are long runs of
/// printable ASCII and testing each byte for every break cost most of splitting a text.
#[inline]
fn next_break_candidate(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    while let Some(chunk) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        // A byte's high bit is set here if it is below 0x1f or non-ASCII; a borrow can
        // only mark bytes above the first marked one, so the lowest mark is exact.
        let marks = (word.wrapping_sub(ONES * 0x1f) & !word | word) & HIGH;
        if marks != 0 {
            return i + (marks.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// Python's `str.splitlines()`.
pub fn split_lines(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        i = next_break_candidate(bytes, i);
        let Some(&b) = bytes.get(i) else {
            break;
        };
        // The breaks by their UTF-8 bytes: U+0085 is C2 85, U+2028/9 are E2 80 A8/A9 (C2
        // and E2 only ever lead a character).
        let len = match b {
            b'\n' | 0x0b | 0x0c | 0x1c..=0x1e => 1,
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => 2,
            b'\r' => 1,
            0xc2 if bytes.get(i + 1) == Some(&0x85) => 2,
            0xe2 if bytes.get(i + 1) == Some(&0x80)
                && matches!(bytes.get(i + 2), Some(&(0xa8 | 0xa9))) =>
            {
                3
            }
            _ => {
                i += 1;
                continue;
            }
        };
        lines.push(&text[start..i]);
        i += len;
        start = i;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// One parsed equation: its left-hand side, right-hand side in canonical form, and the
/// names of the symbols the right-hand side uses (sorted, unique).
#[derive(Clone, Debug)]
pub struct Equation {
    pub lhs: String,
    pub rhs: Expr,
    pub symbols: Vec<String>,
    /// The right-hand side's text, as parsed.
    pub rhs_text: String,
}

/// Whether `line` holds no equation (blank, or only a comment), as the SymPy-based parser
/// decides: `line.split("#", 1)[0].strip()` is empty.
pub fn is_blank(line: &str) -> bool {
    for &b in line.as_bytes() {
        match b {
            b'#' => return true,
            b if ascii_space(b) => {}
            b if b.is_ascii() => return false,
            // A non-ASCII character may be a space: Python's rules decide.
            _ => return py_strip(line.split('#').next().unwrap_or("")).is_empty(),
        }
    }
    true
}

/// Runs `parse` on the tokens of `src`, in a buffer each thread reuses from line to line
/// (a fresh one per line cost a cache-cold allocation per equation).
fn with_tokens<T>(
    src: &str,
    parse: impl FnOnce(&lexer::Tokens) -> Result<T, TextError>,
) -> Result<T, TextError> {
    /// A buffer grown past this many tokens by one long line is not kept.
    const KEPT: usize = 4096;
    thread_local! {
        static TOKENS: RefCell<lexer::Tokens> = const { RefCell::new(lexer::Tokens::new()) };
    }
    TOKENS.with_borrow_mut(|tokens| {
        let out = lexer::tokenize_into(src, tokens).and_then(|()| parse(tokens));
        if tokens.list.capacity() > KEPT {
            *tokens = lexer::Tokens::new();
        }
        out
    })
}

/// Parses one `lhs = rhs` line (already stripped).
pub fn parse_line(line: &str) -> Result<Equation, TextError> {
    with_tokens(line, |tokens| parser::Parser::new(line, tokens).equation())
}

/// The rules every front end's finished tree meets ([`check_tree`]); the parser asks only
/// for a tree it built a `Piecewise` or boolean operator for, as only those can break them.
/// Checks a finished right-hand side; `empty_piecewise`: a `Piecewise` without pairs was
/// built for it, which is refused as the tree's check refuses one it still holds.
fn finished(rhs: &Expr, empty_piecewise: bool) -> Result<(), TextError> {
    let checked = if empty_piecewise {
        Err(EMPTY_PIECEWISE.to_owned())
    } else {
        check_tree(rhs)
    };
    checked.map_err(|message| TextError {
        message,
        column: None,
        syntax: false,
    })
}

/// Parses a right-hand side given on its own (already stripped).
pub fn parse_rhs(lhs: &str, text: &str) -> Result<Equation, TextError> {
    let (rhs, symbols) = with_tokens(text, |tokens| {
        parser::Parser::new(text, tokens).right_hand_side()
    })?;
    Ok(Equation {
        lhs: lhs.to_owned(),
        rhs,
        symbols,
        rhs_text: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_like_python() {
        assert_eq!(split_lines("a\r\nb\rc\x0cd\n"), ["a", "b", "c", "d"]);
        assert_eq!(split_lines("a\n\nb"), ["a", "", "b"]);
        assert_eq!(
            split_lines("a\u{85}b\u{2028}c\u{2029}d\x1ce\x1fé\u{2027}f\r"),
            ["a", "b", "c", "d", "e\x1fé\u{2027}f"]
        );
        assert_eq!(py_strip(" \u{3000}x y\x1f"), "x y");
        assert_eq!(py_strip("x\u{85}"), "x");
        assert!(is_blank(" \u{3000}# c"));
        assert!(!is_blank(" é # c"));
        assert!(is_blank("\x0b\x1c "));
        assert!(is_blank("   # only a comment"));
        assert!(!is_blank("dx = x # c"));
    }

    /// `str.splitlines()` one character at a time, to check the word-at-a-time scan.
    fn split_lines_by_chars(text: &str) -> Vec<&str> {
        let mut lines = Vec::new();
        let mut start = 0;
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let breaks = matches!(
                c,
                '\n' | '\r' | '\x0b' | '\x0c' | '\x1c'
                    ..='\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}'
            );
            if breaks {
                lines.push(&text[start..i]);
                start = i + c.len_utf8();
                if c == '\r' && chars.peek().is_some_and(|&(_, n)| n == '\n') {
                    chars.next();
                    start += 1;
                }
            }
        }
        if start < text.len() {
            lines.push(&text[start..]);
        }
        lines
    }

    #[test]
    fn lines_split_at_any_offset() {
        // Every break, and characters that only look like one, at every offset in a word.
        let pieces = [
            "\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\t", "\u{85}",
            "\u{2028}", "\u{2029}", "\u{2027}", "é", "\u{c5}", "#", "~",
        ];
        for piece in pieces {
            for before in 0..20 {
                for after in 0..12 {
                    let text = format!("{}{piece}{}", "a".repeat(before), "b".repeat(after));
                    assert_eq!(split_lines(&text), split_lines_by_chars(&text), "{text:?}");
                    let twice = format!("{text}{piece}{text}");
                    assert_eq!(
                        split_lines(&twice),
                        split_lines_by_chars(&twice),
                        "{twice:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn repr_like_python() {
        assert_eq!(py_repr("dx = a"), "'dx = a'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a\tb\\"), "'a\\tb\\\\'");
    }

    #[test]
    fn errors_name_the_column() {
        let err = parse_line("dx = (x +").unwrap_err();
        assert!(err.syntax);
        assert_eq!(
            err.describe("dx = (x +"),
            "equation 'dx = (x +': syntax error at column 10: unexpected end of input"
        );
        let err = parse_line("dx = x + foo(x)").unwrap_err();
        assert_eq!(err.column, Some(10));
        assert!(err.message.starts_with("unknown function foo()"));
    }
}
