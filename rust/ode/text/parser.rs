//! Python's expression grammar, by recursive descent over the tokens of one equation.
//!
//! Lowest to highest precedence: `x if c else y` (right-associative), `or`, `and`, `not`,
//! comparisons (`<` `<=` `>` `>=` `==` `!=`, chained: `a < b < c` is `a < b and b < c`),
//! `|`, `^`, `&`, `+` `-`, `*` `/` `//` `%`, unary `+` `-` `~`, `**` (right-associative, and
//! binding tighter than a unary operator on its left: `-x**2` is `-(x**2)`, `2**-x` is
//! `2**(-x)`), calls and atoms.  Each level of nesting (a bracket, a call, a unary operator,
//! an exponent, a conditional's `else` branch) recurses once; past [`MAX_DEPTH`] levels the
//! text is refused, so no input can exhaust the stack.  Chains of one precedence level
//! (`a + b + … + z`) are loops, not recursion, and have no limit.

use rustc_hash::FxHashMap;

use super::super::encoding::{Expr, RelOp};
use super::super::rules::check_input_bits;
use super::lexer::{Token, TokenKind as K, TokenValue, Tokens};
use super::lower::{self, Refusal, Value};
use super::{py_strip, Equation, TextError};

/// Deepest nesting accepted (the limit CPython's own parser puts on brackets).
pub const MAX_DEPTH: usize = 200;

pub struct Parser<'a> {
    src: &'a str,
    tokens: &'a [Token],
    /// What the tokens' values refer to.
    lexed: &'a Tokens,
    pos: usize,
    depth: usize,
    /// The names the equation uses, each once, with its [`prefix_key`] and its symbol's
    /// node and tree, built once: a symbol used again shares them.
    names: Vec<(u64, &'a str, (Expr, u64))>,
    /// Where each name is in `names`, once an equation has more than a few (a scan of
    /// thousands of names per symbol would make a long equation quadratic).
    index: Option<FxHashMap<&'a str, usize>>,
}

/// Names an equation may have before they are looked up by hash rather than by a scan.
const SCANNED_NAMES: usize = 32;

type Parsed<T> = Result<T, TextError>;

/// The first 8 bytes of a name, zero-padded, as a big-endian word: names order as their
/// keys do where the keys differ (a name has no NUL byte, so padding sorts a prefix first).
fn prefix_key(name: &str) -> u64 {
    let bytes = name.as_bytes();
    if let Some(first) = bytes.first_chunk::<8>() {
        return u64::from_be_bytes(*first);
    }
    // Byte by byte: most names are this short, and a copy of a few bytes is a call.
    let mut word = 0u64;
    for (i, &b) in bytes.iter().enumerate() {
        word |= u64::from(b) << (56 - 8 * i);
    }
    word
}

/// The precedence of a binary operator, from `|` (1) to `*` (6); 0 for any other token.
fn precedence(kind: K) -> u8 {
    match kind {
        K::Vbar => 1,
        K::CircumFlex => 2,
        K::Amper => 3,
        K::LeftShift | K::RightShift => 4,
        K::Plus | K::Minus => 5,
        K::Star | K::Slash | K::DoubleSlash | K::Percent | K::At => 6,
        _ => 0,
    }
}

fn describe(kind: K) -> &'static str {
    match kind {
        K::EndOfFile | K::Newline => "unexpected end of input",
        _ => "invalid syntax",
    }
}

impl<'a> Parser<'a> {
    pub fn new(src: &'a str, tokens: &'a Tokens) -> Parser<'a> {
        Parser {
            src,
            tokens: &tokens.list,
            lexed: tokens,
            pos: 0,
            depth: 0,
            // Enough for most equations' names without growing.
            names: Vec::with_capacity(8),
            index: None,
        }
    }

    fn peek(&self) -> K {
        self.tokens[self.pos].kind
    }

    fn peek_at(&self, offset: usize) -> K {
        self.tokens[(self.pos + offset).min(self.tokens.len() - 1)].kind
    }

    fn here(&self) -> usize {
        self.tokens[self.pos].range.start
    }

    #[inline]
    fn bump(&mut self) -> &'a Token {
        let t = &self.tokens[self.pos];
        if t.kind != K::EndOfFile {
            self.pos += 1;
        }
        t
    }

    /// The name of the `Name` token here, taken.
    #[inline(always)]
    fn name(&mut self) -> &'a str {
        let token = self.bump();
        self.lexed.name(token, self.src)
    }

    fn syntax_error(&self) -> TextError {
        TextError::syntax(self.src, self.here(), describe(self.peek()))
    }

    fn expect(&mut self, kind: K) -> Parsed<&'a Token> {
        if self.peek() == kind {
            Ok(self.bump())
        } else {
            Err(self.syntax_error())
        }
    }

    fn lowered(&self, result: Result<Value, Refusal>) -> Parsed<Value> {
        result.map_err(|(at, message)| TextError::at(self.src, at, message))
    }

    fn nested<T>(&mut self, inner: impl FnOnce(&mut Self) -> Parsed<T>) -> Parsed<T> {
        if self.depth >= MAX_DEPTH {
            return Err(TextError::at(
                self.src,
                self.here(),
                format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
            ));
        }
        self.depth += 1;
        // A level takes kilobytes of stack in a debug build: grow it on the heap when a
        // thread's own (2 MiB for Rust threads) runs low, so the limit, not the thread,
        // decides.
        let out = stacker::maybe_grow(64 * 1024, 1024 * 1024, || inner(self));
        self.depth -= 1;
        out
    }

    /// The sorted, unique symbol names a value uses.
    fn symbol_names(&self, value: &Value) -> Vec<String> {
        // Names in the table are unique: sort the borrowed names (by their prefix keys,
        // which order as the names do, so that most comparisons are of two words), then
        // copy each once.
        let mut names: Vec<(u64, &str)> = value.names.map_ids(|i| {
            let (key, name, _) = self.names[i as usize];
            (key, name)
        });
        names.sort_unstable();
        names.into_iter().map(|(_, n)| n.to_owned()).collect()
    }

    /// The finished right-hand side, checked by the rules every front end's tree meets.
    fn finished(&self, value: Value) -> Parsed<Value> {
        let value = self.lowered(value.plain())?;
        if value.has_logic {
            super::finished(&value.expr, value.has_empty_piecewise)?;
        }
        Ok(value)
    }

    fn end_of_statement(&mut self) -> Parsed<()> {
        while self.peek() == K::Newline {
            self.bump();
        }
        if self.peek() == K::EndOfFile {
            Ok(())
        } else {
            Err(self.syntax_error())
        }
    }

    fn rhs_end(&self) -> usize {
        self.tokens[self.pos.saturating_sub(1)].range.end
    }

    /// `name = expression`, optionally followed by `;`.
    pub fn equation(mut self) -> Parsed<Equation> {
        let shape_error = || TextError {
            message: "expected one 'name = expression'".into(),
            column: None,
            syntax: false,
        };
        let lhs = match (self.peek(), self.peek_at(1)) {
            (K::Name, K::Equal) => {
                let name = self.name().to_owned();
                self.bump();
                name
            }
            _ => return Err(self.statement_error(shape_error())),
        };
        let start = self.here();
        let value = self.top_expression()?;
        let end = self.rhs_end();
        match self.peek() {
            K::Semi if matches!(self.peek_at(1), K::EndOfFile | K::Newline) => {
                self.bump();
            }
            K::Comma => return Err(TextError::at(self.src, start, "unsupported syntax Tuple")),
            K::Equal | K::Semi | K::AugAssign | K::Colon => return Err(shape_error()),
            _ => {}
        }
        self.end_of_statement()?;
        let value = self.finished(value)?;
        Ok(Equation {
            symbols: self.symbol_names(&value),
            lhs,
            rhs: value.expr,
            rhs_text: py_strip(&self.src[start..end]).to_owned(),
        })
    }

    /// A line that is not `name = …`: a syntax error if it does not even parse as an
    /// expression, else not an equation.
    fn statement_error(&mut self, shape: TextError) -> TextError {
        match self.expression() {
            Err(e) if e.syntax => e,
            _ => shape,
        }
    }

    /// A right-hand side on its own: one expression.
    pub fn right_hand_side(mut self) -> Parsed<(Expr, Vec<String>)> {
        while self.peek() == K::Newline {
            self.bump();
        }
        let start = self.here();
        let value = self.top_expression()?;
        if self.peek() == K::Comma {
            return Err(TextError::at(self.src, start, "unsupported syntax Tuple"));
        }
        self.end_of_statement()?;
        let value = self.finished(value)?;
        let names = self.symbol_names(&value);
        Ok((value.expr, names))
    }

    /// A right-hand side's expression.  One that is a lone operand (`dx = a`) goes up every
    /// level of the grammar unchanged: it is taken here, without a test of the next token
    /// at each of them.
    fn top_expression(&mut self) -> Parsed<Value> {
        if matches!(
            self.peek(),
            K::Name | K::Int | K::Float | K::True | K::False
        ) && matches!(
            self.peek_at(1),
            K::EndOfFile | K::Newline | K::Semi | K::Comma
        ) {
            return self.atom();
        }
        self.expression()
    }

    fn expression(&mut self) -> Parsed<Value> {
        if self.peek() == K::Lambda {
            return Err(TextError::at(
                self.src,
                self.here(),
                "unsupported syntax Lambda",
            ));
        }
        // A value that goes up unchanged is returned as the result it came in (here and at
        // each level below): unwrapping and rewrapping it would copy it each time.
        let body = self.disjunction();
        if body.is_err() || self.peek() != K::If {
            return body;
        }
        let body = body?;
        self.bump();
        let test = self.disjunction()?;
        self.expect(K::Else)?;
        let orelse = self.nested(Self::expression)?;
        let body = self.lowered(body.plain())?;
        let orelse = self.lowered(orelse.plain())?;
        self.lowered(lower::conditional(body, test, orelse))
    }

    fn disjunction(&mut self) -> Parsed<Value> {
        let first = self.conjunction();
        if first.is_err() || self.peek() != K::Or {
            return first;
        }
        let first = first?;
        let start = first.start;
        let mut values = vec![first];
        while self.peek() == K::Or {
            self.bump();
            values.push(self.conjunction()?);
        }
        self.lowered(lower::or(values, start))
    }

    /// One level of the chain an operand descends (`or`, `and`, `not`, comparisons, binary
    /// operators): each is inlined into the one above, so an operand without `and`, `not` or
    /// a comparison costs a test of the next token per level, not a call.
    #[inline(always)]
    fn conjunction(&mut self) -> Parsed<Value> {
        let first = self.inversion();
        if first.is_err() || self.peek() != K::And {
            return first;
        }
        self.conjunction_rest(first?)
    }

    fn conjunction_rest(&mut self, first: Value) -> Parsed<Value> {
        let start = first.start;
        let mut values = vec![first];
        while self.peek() == K::And {
            self.bump();
            values.push(self.inversion()?);
        }
        self.lowered(lower::and(values, start))
    }

    #[inline(always)]
    fn inversion(&mut self) -> Parsed<Value> {
        if self.peek() != K::Not {
            return self.comparison();
        }
        self.negation()
    }

    fn negation(&mut self) -> Parsed<Value> {
        let start = self.bump().range.start;
        let operand = self.nested(Self::inversion)?;
        self.lowered(lower::not(operand, start))
    }

    fn comparison_op(&mut self) -> Parsed<Option<RelOp>> {
        let op = match self.peek() {
            K::Less => RelOp::Lt,
            K::LessEqual => RelOp::Le,
            K::Greater => RelOp::Gt,
            K::GreaterEqual => RelOp::Ge,
            K::EqEqual => RelOp::Eq,
            K::NotEqual => RelOp::Ne,
            K::In | K::Is => {
                let what = if self.peek() == K::In { "In" } else { "Is" };
                return Err(TextError::at(
                    self.src,
                    self.here(),
                    format!("unsupported comparison {what}"),
                ));
            }
            K::Not if self.peek_at(1) == K::In => {
                return Err(TextError::at(
                    self.src,
                    self.here(),
                    "unsupported comparison NotIn",
                ))
            }
            _ => return Ok(None),
        };
        self.bump();
        Ok(Some(op))
    }

    #[inline(always)]
    fn comparison(&mut self) -> Parsed<Value> {
        let first = self.binary(1);
        if first.is_err()
            || !matches!(
                self.peek(),
                K::Less
                    | K::LessEqual
                    | K::Greater
                    | K::GreaterEqual
                    | K::EqEqual
                    | K::NotEqual
                    | K::In
                    | K::Is
                    | K::Not
            )
        {
            return first;
        }
        self.comparison_rest(first?)
    }

    fn comparison_rest(&mut self, first: Value) -> Parsed<Value> {
        let Some(op) = self.comparison_op()? else {
            return Ok(first);
        };
        let start = first.start;
        let mut left = first;
        let mut parts = Vec::new();
        let mut op = Some(op);
        while let Some(o) = op {
            let right = self.binary(1)?;
            op = self.comparison_op()?;
            // A chain reuses the right operand as the next left one.
            let next = op.map(|_| right.clone());
            parts.push(self.lowered(lower::relation(o, left, right))?);
            match next {
                Some(n) => left = n,
                None => break,
            }
        }
        if parts.len() == 1 {
            return Ok(parts.pop().expect("one comparison"));
        }
        self.lowered(lower::and(parts, start))
    }

    /// Binary operators from `|` (precedence 1) to `*` (6), by precedence climbing.
    fn binary(&mut self, min: u8) -> Parsed<Value> {
        let left = self.unary()?;
        self.binary_rest(left, min)
    }

    /// The operators after `left` that bind at least as tightly as `min`.  A right operand
    /// climbs (recurses) only when the operator after it binds tighter than the one before
    /// it, so `a*b + c` recurses for no operand.
    fn binary_rest(&mut self, mut left: Value, min: u8) -> Parsed<Value> {
        // A `+`/`-` or `*`/`/` chain at this level (see `lower::Chain`).
        let mut chain = lower::Chain::default();
        loop {
            let kind = self.peek();
            let prec = precedence(kind);
            if prec == 0 || prec < min {
                return Ok(lower::end_chain(left, &mut chain));
            }
            let at = self.bump().range.start;
            let mut right = self.unary()?;
            if precedence(self.peek()) > prec {
                right = self.binary_rest(right, prec + 1)?;
            }
            let continues = match kind {
                K::Plus | K::Minus => chain.continues(true),
                K::Star | K::Slash => chain.continues(false),
                _ => false,
            };
            if !continues {
                left = lower::end_chain(left, &mut chain);
            }
            let start = left.start;
            let result = match kind {
                K::Vbar => lower::or(vec![left, right], start),
                K::CircumFlex => lower::xor(vec![left, right], start),
                K::Amper => lower::and(vec![left, right], start),
                K::Plus => lower::add_to_chain(left, right, false, &mut chain),
                K::Minus => lower::add_to_chain(left, right, true, &mut chain),
                K::Star => lower::mul_to_chain(left, right, false, &mut chain),
                K::Slash => lower::mul_to_chain(left, right, true, &mut chain),
                K::DoubleSlash => lower::floordiv(left, right),
                K::Percent => lower::modulo(left, right),
                _ => {
                    let name = match kind {
                        K::LeftShift => "LShift",
                        K::RightShift => "RShift",
                        _ => "MatMult",
                    };
                    Err((at, format!("unsupported operator {name}")))
                }
            };
            // Taken straight from the result: a value rewrapped would be copied again.
            left = match result {
                Ok(value) => value,
                Err((at, message)) => return Err(TextError::at(self.src, at, message)),
            };
        }
    }

    fn unary(&mut self) -> Parsed<Value> {
        let kind = self.peek();
        if !matches!(kind, K::Plus | K::Minus | K::Tilde) {
            return self.power();
        }
        let start = self.bump().range.start;
        let operand = self.nested(Self::unary)?;
        match kind {
            K::Plus => Ok(operand),
            K::Minus => self.lowered(lower::neg(operand, start)),
            _ => self.lowered(lower::not(operand, start)),
        }
    }

    fn power(&mut self) -> Parsed<Value> {
        let base = self.primary();
        if base.is_err() || self.peek() != K::DoubleStar {
            return base;
        }
        let base = base?;
        self.bump();
        let exponent = self.nested(Self::unary)?;
        self.lowered(lower::pow(base, exponent))
    }

    #[inline]
    fn primary(&mut self) -> Parsed<Value> {
        let value = if self.peek() == K::Name && self.peek_at(1) == K::Lpar {
            let start = self.here();
            let name = self.name();
            self.nested(|p| p.call(name, start))
        } else {
            self.atom()
        };
        match &value {
            Ok(v) if matches!(self.peek(), K::Lpar | K::Dot | K::Lsqb) => {
                Err(self.postfix_error(v))
            }
            _ => value,
        }
    }

    /// What follows a primary that the language does not take: a call of anything but a
    /// plain name, an attribute, a subscript.
    #[cold]
    fn postfix_error(&self, value: &Value) -> TextError {
        let message = match self.peek() {
            K::Lpar => "only plain function names can be called",
            K::Dot => "unsupported syntax Attribute",
            _ => "unsupported syntax Subscript",
        };
        TextError::at(self.src, value.start, message)
    }

    fn call(&mut self, name: &str, start: usize) -> Parsed<Value> {
        self.expect(K::Lpar)?;
        let mut args = Vec::new();
        while self.peek() != K::Rpar {
            match (self.peek(), self.peek_at(1)) {
                (K::Name, K::Equal) => {
                    return Err(TextError::at(
                        self.src,
                        start,
                        format!("{name}() takes no keyword arguments"),
                    ))
                }
                (K::Star | K::DoubleStar, _) => {
                    return Err(TextError::at(
                        self.src,
                        self.here(),
                        "unsupported syntax Starred",
                    ))
                }
                _ => {}
            }
            args.push(self.expression()?);
            if self.peek() == K::Comma {
                self.bump();
            } else if self.peek() != K::Rpar {
                return Err(self.syntax_error());
            }
        }
        self.bump();
        self.lowered(lower::call(name, args, start))
    }

    /// The symbol `name`, starting at `start`.
    fn symbol(&mut self, name: &'a str, start: usize) -> Value {
        // An equation uses a handful of names: a scan beats hashing them.
        let key = prefix_key(name);
        let found = match &self.index {
            Some(index) => index.get(name).copied(),
            // Names of up to 8 bytes are equal when their keys are.
            None => self.names.iter().position(|&(k, n, _)| {
                k == key && n.len() == name.len() && (n.len() <= 8 || n == name)
            }),
        };
        let id = match found {
            Some(id) => id,
            None => {
                self.names.push((key, name, lower::symbol_parts(name, key)));
                let id = self.names.len() - 1;
                if let Some(index) = &mut self.index {
                    index.insert(name, id);
                } else if self.names.len() > SCANNED_NAMES {
                    let names = self.names.iter().enumerate().map(|(i, &(_, n, _))| (n, i));
                    self.index = Some(names.collect());
                }
                id
            }
        };
        let id32 = u32::try_from(id).expect("fewer than 2**32 names");
        lower::symbol(&self.names[id].2, id32, start)
    }

    fn atom(&mut self) -> Parsed<Value> {
        let start = self.here();
        let unsupported = |p: &Self, what: &str| {
            Err(TextError::at(
                p.src,
                start,
                format!("unsupported constant {what}"),
            ))
        };
        match self.peek() {
            K::Name => {
                let name = self.name();
                Ok(self.symbol(name, start))
            }
            K::Int => match self.bump().value {
                TokenValue::SmallInt(i) => Ok(lower::small_int(i, start)),
                TokenValue::Int(i) => {
                    let i = self.lexed.int(i);
                    // The size bound every front end applies to an input number (rules.rs).
                    check_input_bits(i.bits()).map_err(|e| TextError::at(self.src, start, e))?;
                    Ok(lower::int(i, start))
                }
                _ => unreachable!("an int token"),
            },
            K::Float => {
                let TokenValue::Float(f) = self.bump().value else {
                    unreachable!("a float token")
                };
                Ok(lower::float(f, start))
            }
            K::True | K::False => {
                let value = self.bump().kind == K::True;
                Ok(lower::boolean(value, start))
            }
            K::Imaginary => {
                let t = self.bump();
                unsupported(self, &self.src[t.range.clone()])
            }
            K::String => unsupported(self, "(a string)"),
            K::None => unsupported(self, "None"),
            K::Ellipsis => unsupported(self, "Ellipsis"),
            K::Lpar => {
                self.bump();
                self.nested(|p| p.group(start))
            }
            K::Lsqb => Err(TextError::at(self.src, start, "unsupported syntax List")),
            K::Lbrace => Err(TextError::at(self.src, start, "unsupported syntax Set")),
            _ => Err(self.syntax_error()),
        }
    }

    /// After `(`: a parenthesised expression, or a tuple.
    fn group(&mut self, start: usize) -> Parsed<Value> {
        if self.peek() == K::Rpar {
            self.bump();
            return Ok(lower::tuple(Vec::new(), start));
        }
        let first = self.expression();
        if first.is_ok() && self.peek() != K::Comma {
            self.expect(K::Rpar)?;
            return first;
        }
        let mut items = vec![first?];
        while self.peek() == K::Comma {
            self.bump();
            if self.peek() == K::Rpar {
                break;
            }
            items.push(self.expression()?);
        }
        self.expect(K::Rpar)?;
        let items = items
            .into_iter()
            .map(|v| self.lowered(v.plain()))
            .collect::<Parsed<Vec<_>>>()?;
        Ok(lower::tuple(items, start))
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_rhs;

    fn render(text: &str) -> String {
        parse_rhs("e", text).unwrap().rhs.render()
    }

    #[test]
    fn python_precedence_and_associativity() {
        assert_eq!(render("-x**2"), "Mul(-1, Pow(x, 2))");
        assert_eq!(render("2**-x"), "Pow(2, Mul(-1, x))");
        assert_eq!(render("x**y**z"), render("x**(y**z)"));
        assert_ne!(render("x**y**z"), render("(x**y)**z"));
        assert_eq!(render("a - b - c"), render("(a - b) - c"));
        assert_eq!(render("a/b/c"), render("(a/b)/c"));
        assert_eq!(render("a + b*c**d"), render("a + (b*(c**d))"));
        assert_eq!(
            render("a if x > 0 else b if y > 0 else c"),
            render("a if x > 0 else (b if y > 0 else c)")
        );
        assert_eq!(render("not x > 0"), "Not(Lt(0, x))");
        assert_eq!(render("a < b < c"), "And(Lt(a, b), Lt(b, c))");
    }

    #[test]
    fn symbols_are_reported_once_sorted() {
        let eq = parse_rhs("e", "b*a + a if c > 0 else b").unwrap();
        assert_eq!(eq.symbols, ["a", "b", "c"]);
        // A branch SymPy drops does not count.
        let eq = parse_rhs("e", "a if True else b").unwrap();
        assert_eq!(eq.symbols, ["a"]);
    }

    #[test]
    fn long_names_are_told_apart_and_sorted() {
        // Names sharing their first 8 bytes, and a name that is another's prefix.
        let eq = parse_rhs("e", "abcdefgh_2 + abcdefgh_10 + abcdefgh + abc*abcdefgh_2").unwrap();
        assert_eq!(eq.symbols, ["abc", "abcdefgh", "abcdefgh_10", "abcdefgh_2"]);
        assert_eq!(
            parse_rhs("e", "abcdefgh_2 - abcdefgh_2 + abcdefgh_1")
                .unwrap()
                .symbols,
            ["abcdefgh_1", "abcdefgh_2"]
        );
    }

    #[test]
    fn many_names_are_reported_once_sorted() {
        // Past 64 names the set keeps a list beside its bits.
        let text: Vec<String> = (0..100).map(|i| format!("x{} * x{}", i, 99 - i)).collect();
        let eq = parse_rhs("e", &text.join(" + ")).unwrap();
        let mut expected: Vec<String> = (0..100).map(|i| format!("x{i}")).collect();
        expected.sort();
        assert_eq!(eq.symbols, expected);
        let eq = parse_rhs("e", "x99 - x99 + x70 if x0 > 0 else x1").unwrap();
        assert_eq!(eq.symbols, ["x0", "x1", "x70", "x99"]);
    }

    #[test]
    fn equal_trees_are_equal_however_built() {
        // SymPy's Xor cancels repeats compared as trees: `exp2(y)` and `2**y` are both
        // `Pow(2, y)`, and a symbol or float is one tree wherever it is written.
        assert_eq!(render("Xor(exp2(y) > 0, 2**y > 0)"), render("False"));
        assert_eq!(render("Xor(y > 0.5, y > 0.5, z)"), render("z"));
        assert_ne!(render("Xor(y > 2, y > 2.0)"), render("False"));
    }

    #[test]
    fn shared_symbols_and_floats_keep_their_trees() {
        // Names alike in their first and last bytes and length, and floats, met again in
        // later equations of a system, take the nodes and trees built for them earlier:
        // each must still be told apart from the others by its tree.
        super::lower::new_system();
        let names: Vec<String> = (0..40).map(|i| format!("abcdefgh{i:02}stuvwxyz")).collect();
        for _ in 0..2 {
            for (i, n) in names.iter().enumerate() {
                let m = &names[(i + 1) % names.len()];
                assert_eq!(render(&format!("Xor({n} > 0.5, {n} > 0.5, z)")), "z");
                assert_ne!(render(&format!("Xor({n} > 0.5, {m} > 0.5)")), "False");
                assert_ne!(render(&format!("Xor({n} > 0.5, {n} > 0.25)")), "False");
            }
        }
    }

    #[test]
    fn lone_operands_read_as_any_operand() {
        // Taken without the levels of the grammar, a lone operand is what they make of it.
        assert_eq!(render("x"), "x");
        assert_eq!(render("(x)"), render("+x"));
        assert_eq!(render("exp(x)"), render("exp(+x)"));
        assert_eq!(render("True"), render("(True)"));
        assert_eq!(render("0.5"), render("(0.5)"));
        assert_eq!(render("12"), render("+12"));
        let eq = super::super::parse_line("dx = a;").unwrap();
        assert_eq!((eq.lhs.as_str(), eq.rhs_text.as_str()), ("dx", "a"));
        assert_eq!(eq.symbols, ["a"]);
        for (text, message) in [
            ("x,", "unsupported syntax Tuple"),
            ("(x, y)", "unsupported syntax Tuple"),
            ("x y", "invalid syntax"),
            ("f(x)", "unknown function f()"),
            ("x.y", "unsupported syntax Attribute"),
        ] {
            let err = parse_rhs("e", text).unwrap_err();
            assert!(err.message.starts_with(message), "{text}: {}", err.message);
        }
        let huge = format!("x + 1{}", "0".repeat(2000));
        let lone = format!("1{}", "0".repeat(2000));
        let (a, b) = (parse_rhs("e", &huge), parse_rhs("e", &lone));
        assert_eq!(a.is_err(), b.is_err());
        if let (Err(a), Err(b)) = (a, b) {
            assert_eq!(a.message, b.message);
            assert_eq!(a.column.map(|c| c - 4), b.column);
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}x{}", "(".repeat(10_000), ")".repeat(10_000));
        let err = parse_rhs("e", &deep).unwrap_err();
        assert!(err.message.contains("nested too deeply"), "{}", err.message);
    }

    #[test]
    fn chains_are_loops() {
        let long = vec!["x"; 5000].join(" + ");
        assert_eq!(parse_rhs("e", &long).unwrap().rhs.render(), "Mul(5000, x)");
    }
}
