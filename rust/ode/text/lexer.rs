//! Tokens of equation text: Python's expression tokens, as Python's tokenizer reads them.
//!
//! Names follow Python's identifier rules (a run of ASCII letters, digits, `_` and any
//! non-ASCII character, NFKC-normalised, then XID_Start/XID_Continue), numbers Python's
//! literal grammar (`1_000`, `0x1f`, `0o17`, `0b101`, `1.5e-3`, `.5`, `5.`); keywords are
//! recognised before normalisation, as Python does.  Strings and imaginary literals are read
//! only to be refused with a column.

use std::borrow::Cow;
use std::ops::Range;

use num_bigint::BigInt;
use num_traits::Num;
use unicode_normalization::UnicodeNormalization;

use super::TextError;

/// Python refuses longer decimal integer literals (`sys.int_info.default_max_str_digits`).
pub const MAX_DECIMAL_DIGITS: usize = 4300;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Name,
    Int,
    Float,
    Imaginary,
    String,
    // Keywords the language uses, then any other Python keyword.
    And,
    Or,
    Not,
    If,
    Else,
    True,
    False,
    None,
    Lambda,
    In,
    Is,
    OtherKeyword,
    Plus,
    Minus,
    Star,
    DoubleStar,
    Slash,
    DoubleSlash,
    Percent,
    At,
    Amper,
    Vbar,
    CircumFlex,
    Tilde,
    LeftShift,
    RightShift,
    Less,
    Greater,
    LessEqual,
    GreaterEqual,
    EqEqual,
    NotEqual,
    Equal,
    AugAssign,
    ColonEqual,
    Lpar,
    Rpar,
    Lsqb,
    Rsqb,
    Lbrace,
    Rbrace,
    Comma,
    Colon,
    Semi,
    Dot,
    Ellipsis,
    Arrow,
    Newline,
    EndOfFile,
}

/// The value a token carries beyond its kind.  The rare values that own memory are kept
/// beside the tokens ([`Tokens`]) and referred to by index, so that a token owns nothing: a
/// line's tokens are then dropped at once, not one by one.
#[derive(Clone, Copy, Debug)]
pub enum TokenValue {
    None,
    /// A name that NFKC normalisation changed (an index into [`Tokens::names`]); other
    /// names are their source text.
    Name(u32),
    /// A decimal integer literal of at most 19 digits without underscores (most are): no
    /// big integer is built for it.
    SmallInt(u64),
    /// Any other integer literal (an index into [`Tokens::ints`]).
    Int(u32),
    Float(f64),
}

#[derive(Clone, Debug)]
pub struct Token {
    pub kind: TokenKind,
    /// Byte range in the source.
    pub range: Range<usize>,
    pub value: TokenValue,
}

/// The tokens of one text, and the values of theirs that own memory.
#[derive(Debug, Default)]
pub struct Tokens {
    pub list: Vec<Token>,
    /// Names NFKC normalisation changed.
    names: Vec<String>,
    /// Integer literals other than [`TokenValue::SmallInt`]s.
    ints: Vec<BigInt>,
}

impl Tokens {
    pub const fn new() -> Tokens {
        Tokens {
            list: Vec::new(),
            names: Vec::new(),
            ints: Vec::new(),
        }
    }

    /// The (normalised) name of `token`, a `Name` token of these in `src`.
    #[inline]
    pub fn name<'a>(&'a self, token: &Token, src: &'a str) -> &'a str {
        match token.value {
            TokenValue::Name(i) => &self.names[i as usize],
            _ => &src[token.range.clone()],
        }
    }

    /// The value of an [`TokenValue::Int`] of these.
    pub fn int(&self, index: u32) -> &BigInt {
        &self.ints[index as usize]
    }

    fn clear(&mut self) {
        self.list.clear();
        self.names.clear();
        self.ints.clear();
    }
}

/// Where `value` is kept in `values`.
fn keep<T>(values: &mut Vec<T>, value: T) -> u32 {
    values.push(value);
    u32::try_from(values.len() - 1).expect("fewer than 2**32 values in a line")
}

#[inline(always)]
fn keyword(text: &str) -> Option<TokenKind> {
    use TokenKind as K;
    const O: TokenKind = K::OtherKeyword;
    // Dispatch on the first byte: most names are ruled out without a comparison.
    let candidates: &[(&str, TokenKind)] = match *text.as_bytes().first()? {
        b'a' => &[
            ("and", K::And),
            ("as", O),
            ("assert", O),
            ("async", O),
            ("await", O),
        ],
        b'b' => &[("break", O)],
        b'c' => &[("class", O), ("continue", O)],
        b'd' => &[("def", O), ("del", O)],
        b'e' => &[("else", K::Else), ("elif", O), ("except", O)],
        b'f' => &[("finally", O), ("for", O), ("from", O)],
        b'g' => &[("global", O)],
        b'i' => &[("if", K::If), ("in", K::In), ("is", K::Is), ("import", O)],
        b'l' => &[("lambda", K::Lambda)],
        b'n' => &[("not", K::Not), ("nonlocal", O)],
        b'o' => &[("or", K::Or)],
        b'p' => &[("pass", O)],
        b'r' => &[("raise", O), ("return", O)],
        b't' => &[("try", O)],
        b'w' => &[("while", O), ("with", O)],
        b'y' => &[("yield", O)],
        b'T' => &[("True", K::True)],
        b'F' => &[("False", K::False)],
        b'N' => &[("None", K::None)],
        _ => return None,
    };
    candidates
        .iter()
        .find(|(k, _)| *k == text)
        .map(|&(_, kind)| kind)
}

/// Python's `str.isidentifier()`: XID_Start or `_`, then XID_Continue (no normalisation).
pub fn is_identifier(name: &str) -> bool {
    // ASCII's XID_Start are the letters, its XID_Continue the letters, digits and `_`.
    if let [first, rest @ ..] = name.as_bytes() {
        if name.is_ascii() {
            return (first.is_ascii_alphabetic() || *first == b'_')
                && rest.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_');
        }
    }
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c == '_' || unicode_ident::is_xid_start(c) => {
            chars.all(unicode_ident::is_xid_continue)
        }
        _ => false,
    }
}

/// Python's hard keywords (`keyword.kwlist`).
pub fn is_keyword(name: &str) -> bool {
    keyword(name).is_some()
}

/// A byte of a potential identifier: an ASCII letter, digit or `_`, or any byte of a
/// non-ASCII character.
#[inline]
fn potential_identifier_byte(b: u8) -> bool {
    /// One load per byte of a name, where three range tests were.
    static TABLE: [bool; 256] = {
        let mut table = [false; 256];
        let mut i = 0;
        while i < 256 {
            let b = i as u8;
            table[i] = b.is_ascii_alphanumeric() || b == b'_' || !b.is_ascii();
            i += 1;
        }
        table
    };
    TABLE[usize::from(b)]
}

/// Splits `src` into tokens.  Newlines inside brackets are whitespace and a backslash joins
/// lines (both only occur in a right-hand side given as its own string); any other newline is
/// a `Newline` token.
pub fn tokenize(src: &str) -> Result<Tokens, TextError> {
    let mut tokens = Tokens::new();
    tokenize_into(src, &mut tokens)?;
    Ok(tokens)
}

/// [`tokenize`] into `tokens` (cleared first), so that a caller parsing line after line
/// reuses one buffer.
pub fn tokenize_into(src: &str, tokens: &mut Tokens) -> Result<(), TextError> {
    tokens.clear();
    tokens.list.reserve(src.len() / 2 + 1);
    Lexer {
        src,
        pos: 0,
        depth: 0,
    }
    .run(tokens)
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    /// Bracket nesting: newlines inside brackets are whitespace.
    depth: usize,
}

impl Lexer<'_> {
    fn error(&self, at: usize, message: impl Into<String>) -> TextError {
        TextError::syntax(self.src, at, message)
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    /// The byte here: every token starts with an ASCII byte but names, and a character
    /// the lexer tests for is ASCII, so bytes decide where characters need not be decoded.
    fn byte(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn byte_at(&self, offset: usize) -> Option<u8> {
        self.src.as_bytes().get(self.pos + offset).copied()
    }

    fn run(mut self, out: &mut Tokens) -> Result<(), TextError> {
        let tokens = &mut out.list;
        loop {
            let Some(b) = self.byte() else {
                tokens.push(Token {
                    kind: TokenKind::EndOfFile,
                    range: self.pos..self.pos,
                    value: TokenValue::None,
                });
                return Ok(());
            };
            let start = self.pos;
            match b {
                // Most runs are one space, between two tokens.
                b' ' if !matches!(self.byte_at(1), Some(b' ' | b'\t' | b'\x0c')) => self.pos += 1,
                b' ' | b'\t' | b'\x0c' => {
                    let rest = &self.src.as_bytes()[self.pos + 1..];
                    self.pos += 1 + rest
                        .iter()
                        .position(|&b| !matches!(b, b' ' | b'\t' | b'\x0c'))
                        .unwrap_or(rest.len());
                }
                b'#' => {
                    // A continuation byte is never a line break: the comment ends at one.
                    let rest = &self.src.as_bytes()[self.pos..];
                    self.pos += rest
                        .iter()
                        .position(|&b| b == b'\n' || b == b'\r')
                        .unwrap_or(rest.len());
                }
                b'\\' => {
                    self.pos += 1;
                    match self.byte() {
                        Some(b'\n') => self.pos += 1,
                        Some(b'\r') => {
                            self.pos += 1;
                            if self.byte() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        _ => {
                            return Err(self.error(
                                start,
                                "unexpected character after line continuation character",
                            ))
                        }
                    }
                }
                b'\n' | b'\r' => {
                    self.pos += 1;
                    if self.depth == 0 {
                        tokens.push(Token {
                            kind: TokenKind::Newline,
                            range: start..self.pos,
                            value: TokenValue::None,
                        });
                    }
                }
                b'0'..=b'9' => tokens.push(self.number(&mut out.ints)?),
                b'.' if self.byte_at(1).is_some_and(|b| b.is_ascii_digit()) => {
                    tokens.push(self.number(&mut out.ints)?)
                }
                b'\'' | b'"' => tokens.push(self.string()?),
                b if potential_identifier_byte(b) => {
                    let token = self.name(&mut out.names)?;
                    // A string prefix (r'', b'', f'', …) is part of the string.
                    if token.kind == TokenKind::Name
                        && matches!(self.byte(), Some(b'\'' | b'"'))
                        && self.src[start..self.pos].len() <= 2
                        && self.src[start..self.pos]
                            .chars()
                            .all(|c| "rRbBuUfFtT".contains(c))
                    {
                        let mut s = self.string()?;
                        s.range.start = start;
                        tokens.push(s);
                    } else {
                        tokens.push(token);
                    }
                }
                _ => tokens.push(self.operator()?),
            }
        }
    }

    #[inline]
    fn name(&mut self, names: &mut Vec<String>) -> Result<Token, TextError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut end = start;
        let mut ascii = true;
        while let Some(&b) = bytes.get(end) {
            if !potential_identifier_byte(b) {
                break;
            }
            ascii &= b.is_ascii();
            end += 1;
        }
        // Every byte of a non-ASCII character is >= 0x80, so the run ends on a boundary.
        self.pos = end;
        if !ascii {
            return self.unicode_name(start, names);
        }
        // Keywords are ASCII, and recognised before normalisation.
        let kind = keyword(&self.src[start..end]).unwrap_or(TokenKind::Name);
        // Starts with a letter or `_` (digits start numbers): an identifier as it is.
        Ok(Token {
            kind,
            range: start..end,
            value: TokenValue::None,
        })
    }

    /// A name with a non-ASCII character, from `start` to here: NFKC-normalised, then
    /// checked to be an identifier.
    #[cold]
    #[inline(never)]
    fn unicode_name(&self, start: usize, names: &mut Vec<String>) -> Result<Token, TextError> {
        let raw = &self.src[start..self.pos];
        let name: String = raw.nfkc().collect();
        if !is_identifier(&name) {
            let bad = raw
                .chars()
                .enumerate()
                .find(|(i, c)| {
                    let mut one = [0u8; 4];
                    let s: String = c.encode_utf8(&mut one).nfkc().collect();
                    if *i == 0 {
                        !is_identifier(&s)
                    } else {
                        !s.chars().all(unicode_ident::is_xid_continue)
                    }
                })
                .map_or(raw.chars().next().unwrap_or(' '), |(_, c)| c);
            let at = start + raw.find(bad).unwrap_or(0);
            return Err(self.error(
                at,
                format!("invalid character '{bad}' (U+{:04X})", bad as u32),
            ));
        }
        let value = if name == raw {
            TokenValue::None
        } else {
            TokenValue::Name(keep(names, name))
        };
        Ok(Token {
            kind: TokenKind::Name,
            range: start..self.pos,
            value,
        })
    }

    /// Digits of `radix` with single underscores between them; returns how many digits.
    /// Python allows one underscore after a base prefix (`0x_ff`).
    fn digits(&mut self, radix: u32, after_prefix: bool) -> Result<usize, TextError> {
        let is_digit = |b: Option<u8>| b.is_some_and(|b| char::from(b).is_digit(radix));
        let mut count = 0;
        let mut underscore_ok = after_prefix;
        loop {
            match self.byte() {
                Some(b'_') if underscore_ok => {
                    let at = self.pos;
                    self.pos += 1;
                    if !is_digit(self.byte()) {
                        return Err(self.error(at, "invalid decimal literal"));
                    }
                    underscore_ok = false;
                }
                b if is_digit(b) => {
                    count += 1;
                    self.pos += 1;
                    underscore_ok = true;
                }
                _ => return Ok(count),
            }
        }
    }

    /// The source from `from` to here, without the underscores `digits` accepted.
    fn literal(&self, from: usize) -> Cow<'_, str> {
        let text = &self.src[from..self.pos];
        if text.contains('_') {
            Cow::Owned(text.replace('_', ""))
        } else {
            Cow::Borrowed(text)
        }
    }

    /// A plain decimal literal (`12`, `0.5`, `4.725`, `.5`, `5.`): digits and at most one
    /// point, no underscore, exponent or suffix, at most 19 digits and nothing after it that
    /// would continue it, and, for a float, exact as a quotient of two doubles.  Those are
    /// most literals, and are read here in one pass; `None` leaves the rest (and every
    /// error) to [`Lexer::number`]'s general path, from the same place.
    #[inline]
    fn plain_decimal(&self) -> Option<(usize, TokenValue)> {
        /// Powers of ten a double holds exactly.
        const EXACT_POWERS: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
            1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ];
        let bytes = self.src.as_bytes();
        let start = self.pos;
        let mut end = start;
        let mut mantissa: u64 = 0;
        let mut digits = 0;
        let mut fraction = None;
        while let Some(&b) = bytes.get(end) {
            match b {
                b'0'..=b'9' => {
                    mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
                    digits += 1;
                }
                b'.' if fraction.is_none() => fraction = Some(digits),
                _ => break,
            }
            end += 1;
        }
        // `1e5`, `1_0`, `1j`, `1x`, `1.2.3`: for the general path.
        if digits > 19
            || bytes
                .get(end)
                .is_some_and(|&b| potential_identifier_byte(b) || b == b'.')
        {
            return None;
        }
        match fraction {
            // `012` is refused and `00` taken there.
            None if digits > 1 && bytes[start] == b'0' => None,
            None => Some((end, TokenValue::SmallInt(mantissa))),
            Some(point) => {
                let scale = digits - point;
                // Both exact, so their quotient is the correctly rounded value of the literal.
                (mantissa <= 1 << 53 && scale < EXACT_POWERS.len()).then(|| {
                    let value = mantissa as f64 / EXACT_POWERS[scale];
                    (end, TokenValue::Float(value))
                })
            }
        }
    }

    fn number(&mut self, ints: &mut Vec<BigInt>) -> Result<Token, TextError> {
        let start = self.pos;
        if let Some((end, value)) = self.plain_decimal() {
            self.pos = end;
            let kind = match value {
                TokenValue::Float(_) => TokenKind::Float,
                _ => TokenKind::Int,
            };
            return Ok(Token {
                kind,
                range: start..end,
                value,
            });
        }
        let finish = |lexer: &mut Self, kind, value| -> Result<Token, TextError> {
            // `1x`, `0b12`, `1.5.2`: Python refuses a literal running into a name or digit.
            if lexer
                .byte()
                .is_some_and(|b| potential_identifier_byte(b) || b == b'.')
            {
                return Err(lexer.error(start, "invalid decimal literal"));
            }
            Ok(Token {
                kind,
                range: start..lexer.pos,
                value,
            })
        };
        let radix = match (self.byte(), self.byte_at(1)) {
            (Some(b'0'), Some(b'x' | b'X')) => Some((16, "hexadecimal")),
            (Some(b'0'), Some(b'o' | b'O')) => Some((8, "octal")),
            (Some(b'0'), Some(b'b' | b'B')) => Some((2, "binary")),
            _ => None,
        };
        if let Some((radix, what)) = radix {
            self.pos += 2;
            if self.digits(radix, true)? == 0 {
                return Err(self.error(start, format!("invalid {what} literal")));
            }
            let value =
                BigInt::from_str_radix(&self.literal(start + 2), radix).expect("checked digits");
            return finish(self, TokenKind::Int, TokenValue::Int(keep(ints, value)));
        }
        self.digits(10, false)?;
        let mut decimal = false;
        if self.byte() == Some(b'.') {
            self.pos += 1;
            self.digits(10, false)?;
            decimal = true;
        }
        if matches!(self.byte(), Some(b'e' | b'E')) {
            let at = self.pos;
            self.pos += 1;
            if matches!(self.byte(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits(10, false)? == 0 {
                return Err(self.error(at, "invalid decimal literal"));
            }
            decimal = true;
        }
        if matches!(self.byte(), Some(b'j' | b'J')) {
            self.pos += 1;
            return finish(self, TokenKind::Imaginary, TokenValue::None);
        }
        if !decimal {
            let int_part = self.literal(start);
            if int_part.len() > 1 && int_part.starts_with('0') && int_part.contains(|c| c != '0') {
                return Err(self.error(
                    start,
                    "leading zeros in decimal integer literals are not permitted; use an 0o \
                     prefix for octal integers",
                ));
            }
            if int_part.len() > MAX_DECIMAL_DIGITS {
                return Err(self.error(
                    start,
                    format!(
                        "Exceeds the limit ({MAX_DECIMAL_DIGITS} digits) for integer string \
                         conversion"
                    ),
                ));
            }
            // Most literals fit a u64, which parses without building a big integer first.
            let value = match int_part.parse::<u64>() {
                Ok(small) => BigInt::from(small),
                Err(_) => int_part.parse::<BigInt>().expect("checked digits"),
            };
            return finish(self, TokenKind::Int, TokenValue::Int(keep(ints, value)));
        }
        // What float() gives: Rust's parse is correctly rounded (overflow is inf), and its
        // grammar takes every Python float literal once the underscores are gone (`3.`,
        // `.25`, `1.e5`, `2.5E+2`).
        let value = self.literal(start).parse::<f64>().expect("checked digits");
        finish(self, TokenKind::Float, TokenValue::Float(value))
    }

    fn string(&mut self) -> Result<Token, TextError> {
        let start = self.pos;
        let quote = self.peek().expect("a quote");
        let triple = self.src[self.pos..].starts_with(&quote.to_string().repeat(3));
        let close = if triple {
            quote.to_string().repeat(3)
        } else {
            quote.to_string()
        };
        self.pos += close.len();
        loop {
            let rest = &self.src[self.pos..];
            if rest.starts_with(&close) {
                self.pos += close.len();
                return Ok(Token {
                    kind: TokenKind::String,
                    range: start..self.pos,
                    value: TokenValue::None,
                });
            }
            match rest.chars().next() {
                None => return Err(self.error(start, "unterminated string literal")),
                Some('\n' | '\r') if !triple => {
                    return Err(self.error(start, "unterminated string literal"))
                }
                Some('\\') => {
                    self.pos += 1;
                    self.pos += self.peek().map_or(0, char::len_utf8);
                }
                Some(c) => self.pos += c.len_utf8(),
            }
        }
    }

    #[inline]
    fn operator(&mut self) -> Result<Token, TextError> {
        use TokenKind as K;
        let start = self.pos;
        let rest = &self.src.as_bytes()[self.pos..];
        // A missing byte reads as NUL, which continues no operator.
        let second = rest.get(1).copied().unwrap_or(0);
        let third = rest.get(2).copied().unwrap_or(0);
        let assign = |single| {
            if second == b'=' {
                (2, K::AugAssign)
            } else {
                (1, single)
            }
        };
        // Longest match first.
        let (len, kind) = match rest[0] {
            b'(' => (1, K::Lpar),
            b')' => (1, K::Rpar),
            b',' => (1, K::Comma),
            b'[' => (1, K::Lsqb),
            b']' => (1, K::Rsqb),
            b'{' => (1, K::Lbrace),
            b'}' => (1, K::Rbrace),
            b';' => (1, K::Semi),
            b'~' => (1, K::Tilde),
            b'+' => assign(K::Plus),
            b'%' => assign(K::Percent),
            b'@' => assign(K::At),
            b'&' => assign(K::Amper),
            b'|' => assign(K::Vbar),
            b'^' => assign(K::CircumFlex),
            b'-' if second == b'>' => (2, K::Arrow),
            b'-' => assign(K::Minus),
            b'*' if second == b'*' && third == b'=' => (3, K::AugAssign),
            b'*' if second == b'*' => (2, K::DoubleStar),
            b'*' => assign(K::Star),
            b'/' if second == b'/' && third == b'=' => (3, K::AugAssign),
            b'/' if second == b'/' => (2, K::DoubleSlash),
            b'/' => assign(K::Slash),
            b'<' if second == b'<' && third == b'=' => (3, K::AugAssign),
            b'<' if second == b'<' => (2, K::LeftShift),
            b'<' if second == b'=' => (2, K::LessEqual),
            b'<' => (1, K::Less),
            b'>' if second == b'>' && third == b'=' => (3, K::AugAssign),
            b'>' if second == b'>' => (2, K::RightShift),
            b'>' if second == b'=' => (2, K::GreaterEqual),
            b'>' => (1, K::Greater),
            b'=' if second == b'=' => (2, K::EqEqual),
            b'=' => (1, K::Equal),
            b'!' if second == b'=' => (2, K::NotEqual),
            b':' if second == b'=' => (2, K::ColonEqual),
            b':' => (1, K::Colon),
            b'.' if second == b'.' && third == b'.' => (3, K::Ellipsis),
            b'.' => (1, K::Dot),
            _ => {
                let c = self.peek().expect("not at the end");
                return Err(self.error(
                    start,
                    format!("invalid character '{c}' (U+{:04X})", c as u32),
                ));
            }
        };
        match kind {
            K::Lpar | K::Lsqb | K::Lbrace => self.depth += 1,
            K::Rpar | K::Rsqb | K::Rbrace => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        self.pos += len;
        Ok(Token {
            kind,
            range: start..self.pos,
            value: TokenValue::None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src).unwrap().list.iter().map(|t| t.kind).collect()
    }

    /// The value of the first token of `src`, the integers kept beside it looked up.
    #[derive(Debug)]
    enum Lit {
        SmallInt(u64),
        Int(BigInt),
        Float(f64),
        Other,
    }

    fn number(src: &str) -> Lit {
        let tokens = tokenize(src).unwrap();
        match tokens.list[0].value {
            TokenValue::SmallInt(i) => Lit::SmallInt(i),
            TokenValue::Int(i) => Lit::Int(tokens.int(i).clone()),
            TokenValue::Float(f) => Lit::Float(f),
            _ => Lit::Other,
        }
    }

    #[test]
    fn operators_and_keywords() {
        use TokenKind as K;
        assert_eq!(
            kinds("a**-b // c if not x else y"),
            [
                K::Name,
                K::DoubleStar,
                K::Minus,
                K::Name,
                K::DoubleSlash,
                K::Name,
                K::If,
                K::Not,
                K::Name,
                K::Else,
                K::Name,
                K::EndOfFile
            ]
        );
        assert_eq!(kinds("x # comment (")[1], K::EndOfFile);
    }

    #[test]
    fn every_python_keyword() {
        let kwlist = [
            "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
            "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
            "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
            "return", "try", "while", "with", "yield",
        ];
        for kw in kwlist {
            assert!(is_keyword(kw), "{kw}");
        }
        for name in [
            "x", "an", "ands", "Tru", "_", "iff", "e", "nan", "inf", "a0",
        ] {
            assert!(!is_keyword(name), "{name}");
        }
    }

    #[test]
    fn identifiers_like_python() {
        for name in ["x", "_", "_x1", "dx0", "µ", "x·y", "ℌ"] {
            assert!(is_identifier(name), "{name}");
        }
        for name in ["", "1x", "a-b", "a b", "×"] {
            assert!(!is_identifier(name), "{name}");
        }
    }

    #[test]
    fn every_operator() {
        use TokenKind as K;
        let src = "**= //= >>= <<= ... ** // << >> <= >= == != -> := += -= *= /= %= @= &= |= ^= \
                   + - * / % @ & | ^ ~ < > = ( ) [ ] { } , : ; . <<<=>>>=***";
        let aug = K::AugAssign;
        assert_eq!(
            kinds(src),
            [
                aug,
                aug,
                aug,
                aug,
                K::Ellipsis,
                K::DoubleStar,
                K::DoubleSlash,
                K::LeftShift,
                K::RightShift,
                K::LessEqual,
                K::GreaterEqual,
                K::EqEqual,
                K::NotEqual,
                K::Arrow,
                K::ColonEqual,
                aug,
                aug,
                aug,
                aug,
                aug,
                aug,
                aug,
                aug,
                aug,
                K::Plus,
                K::Minus,
                K::Star,
                K::Slash,
                K::Percent,
                K::At,
                K::Amper,
                K::Vbar,
                K::CircumFlex,
                K::Tilde,
                K::Less,
                K::Greater,
                K::Equal,
                K::Lpar,
                K::Rpar,
                K::Lsqb,
                K::Rsqb,
                K::Lbrace,
                K::Rbrace,
                K::Comma,
                K::Colon,
                K::Semi,
                K::Dot,
                K::LeftShift,
                K::LessEqual,
                K::RightShift,
                K::GreaterEqual,
                K::DoubleStar,
                K::Star,
                K::EndOfFile
            ]
        );
        assert!(tokenize("a $ b").is_err());
    }

    #[test]
    fn numbers_follow_python() {
        assert!(matches!(number("1_000"), Lit::Int(i) if i == BigInt::from(1000)));
        assert!(matches!(number("0x_ff"), Lit::Int(i) if i == BigInt::from(255)));
        assert!(matches!(number("0o17"), Lit::Int(i) if i == BigInt::from(15)));
        assert!(matches!(number("00"), Lit::Int(i) if i == BigInt::from(0)));
        assert!(matches!(number("1.5e-3"), Lit::Float(f) if f == 1.5e-3));
        assert!(matches!(number(".5"), Lit::Float(f) if f == 0.5));
        assert!(matches!(number("5."), Lit::Float(f) if f == 5.0));
        assert!(matches!(number("1_0.2_5e1_0"), Lit::Float(f) if f == 10.25e10));
        assert!(matches!(number("1e400"), Lit::Float(f) if f.is_infinite()));
        assert!(matches!(number("1.e5"), Lit::Float(f) if f == 1e5));
        assert!(matches!(number("2.5E+2"), Lit::Float(f) if f == 250.0));
        assert!(matches!(number("3_0E-0_1"), Lit::Float(f) if f == 3.0));
        assert!(matches!(number("1e-320"), Lit::Float(f) if f == 1e-320));
        // Correctly rounded, like float(), where naive digit-by-digit parsing is not.
        assert!(matches!(number("9007199254740993.0"), Lit::Float(f) if f == 9007199254740992.0));
        for bad in [
            "1_", "1__0", "012", "0x", "1e", "1x", "0b2", "1._5", "1.2.3",
        ] {
            assert!(tokenize(bad).is_err(), "{bad}");
        }
        assert_eq!(kinds("1j")[0], TokenKind::Imaginary);
    }

    #[test]
    fn plain_decimals_read_as_the_general_path_reads_them() {
        let float = |src: &str| match number(src) {
            Lit::Float(f) => f,
            other => panic!("{src}: {other:?}"),
        };
        // Pseudo-random digit strings, a point anywhere, up to 22 digits: as `float()`.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 1 + (state % 22) as usize;
            let digits: String = (0..len)
                .map(|i| char::from(b'0' + ((state >> (i * 2 % 60)) % 10) as u8))
                .collect();
            let point = (state >> 40) as usize % (len + 1);
            let text = format!("{}.{}", &digits[..point], &digits[point..]);
            assert_eq!(
                float(&text).to_bits(),
                text.parse::<f64>().unwrap().to_bits(),
                "{text}"
            );
            let int = digits.trim_start_matches('0');
            let int = if int.is_empty() { "0" } else { int };
            let expected: BigInt = int.parse().unwrap();
            match number(int) {
                Lit::SmallInt(i) => assert_eq!(BigInt::from(i), expected, "{int}"),
                Lit::Int(i) => assert_eq!(i, expected, "{int}"),
                other => panic!("{int}: {other:?}"),
            }
        }
        assert!(matches!(number("12"), Lit::SmallInt(12)));
        assert!(matches!(number("0"), Lit::SmallInt(0)));
        assert!(matches!(number("18446744073709551615"), Lit::Int(_)));
        assert_eq!(float("4.725"), 4.725);
        assert_eq!(float("0.1"), 0.1);
        assert_eq!(float("9007199254740993.0"), 9007199254740992.0);
        assert_eq!(float("01.5"), 1.5);
        assert_eq!(float("0_1.5"), 1.5);
        for bad in ["1.2.3", "1.x", "5.e", "01", "1.5_", "1éa"] {
            assert!(tokenize(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_nfkc_normalised() {
        let src = "ℌ µ x·y";
        let t = tokenize(src).unwrap();
        let names: Vec<_> = t
            .list
            .iter()
            .filter(|token| token.kind == TokenKind::Name)
            .map(|token| t.name(token, src).to_owned())
            .collect();
        assert_eq!(names, ["H", "μ", "x·y"]);
        let err = tokenize("a×b").unwrap_err();
        assert!(err.message.contains("U+00D7"), "{}", err.message);
        assert_eq!(err.column, Some(2));
    }

    #[test]
    fn strings_are_tokens() {
        assert_eq!(
            kinds("'a#b' r\"x\"")[..2],
            [TokenKind::String, TokenKind::String]
        );
        assert!(tokenize("'abc").is_err());
    }
}
