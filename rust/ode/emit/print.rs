//! Stage 4 of the emitter: the code graph printed as Python, operands parenthesised by
//! Python's precedence, shared nodes and literals bound once, deep or long expressions split
//! where that is safe.

use super::lower::{Graph, Id, Op};
use super::EmitError;

/// A subexpression nested deeper than this (its syntax tree's depth: a chain `a + b + c` of
/// n terms counts n) is split into temporaries where it is evaluated unconditionally:
/// CPython's parser refuses more than 200 nested brackets and its compiler runs out of
/// recursion on a chain of a few thousand operators.
pub(super) const SPLIT_DEPTH: u32 = 100;
/// The longest chain of `+`/`-` or `*` in one expression before the partial result is bound
/// to a temporary (left to right, so the same operations in the same order).
pub(super) const CHUNK: u32 = 100;
/// The deepest nesting left inside a Piecewise branch, where nothing can be hoisted.
const MAX_DEPTH: u32 = 190;

// Python operator precedence, lowest first.
const COND: u8 = 1;
const NOT: u8 = 2;
const OR: u8 = 3;
const XOR: u8 = 4;
const AND: u8 = 5;
const CMP: u8 = 6;
const SUM: u8 = 7;
const PROD: u8 = 8;
const NEG: u8 = 9;
const POW: u8 = 10;
const ATOM: u8 = 11;

pub(super) struct Printed {
    pub(super) text: String,
    prec: u8,
    /// Bracket nesting of `text`.
    depth: u32,
}

impl Printed {
    fn atom(text: String) -> Printed {
        Printed {
            text,
            prec: ATOM,
            depth: 0,
        }
    }
}

pub(super) struct Printer<'g, 'l> {
    pub(super) graph: &'g Graph,
    pub(super) temps: Vec<bool>,
    pub(super) names: Vec<Option<String>>,
    pub(super) lines: &'l mut Vec<String>,
    /// `_kN = _precision(...)`: each distinct literal is typed once per function, which is
    /// what Numba's compile time pays for, not once per occurrence.
    pub(super) literals: Vec<String>,
    pub(super) next: usize,
    pub(super) equation: &'g str,
}

impl Printer<'_, '_> {
    /// Bind `text` to the next temporary, defined before the current statement.
    fn bind(&mut self, id: Id, text: String) -> Printed {
        let name = format!("_c{}", self.next);
        self.next += 1;
        self.lines.push(format!("{name} = {text}"));
        self.names[id] = Some(name.clone());
        Printed::atom(name)
    }

    /// `t0 op t1 op t2 …` from (separator, node, precedence) parts, left to right; where it
    /// runs unconditionally, every [`CHUNK`] parts the result so far becomes a temporary and
    /// the chain goes on from it: the same operations, in the same order.
    fn chain(
        &mut self,
        parts: Vec<(&str, Id, u8)>,
        always: bool,
    ) -> Result<(String, u32), EmitError> {
        let mut text = String::new();
        let (mut length, mut deepest) = (0u32, 0u32);
        for (sep, id, prec) in parts {
            if always && length >= CHUNK {
                let name = format!("_c{}", self.next);
                self.next += 1;
                self.lines.push(format!("{name} = {text}"));
                text = name;
                (length, deepest) = (1, 0);
            }
            let (t, d) = self.operand(id, prec, always)?;
            text.push_str(sep);
            text.push_str(&t);
            deepest = deepest.max(d);
            length += 1;
        }
        Ok((text, deepest + length))
    }

    /// Node `id` as an operand; `always`: it is evaluated whenever the statement is.
    pub(super) fn expr(&mut self, id: Id, always: bool) -> Result<Printed, EmitError> {
        if let Some(name) = &self.names[id] {
            return Ok(Printed::atom(name.clone()));
        }
        if let Op::Atom(text) = &self.graph.ops[id] {
            if !text.starts_with("_precision(") {
                return Ok(Printed::atom(text.clone()));
            }
            let name = format!("_k{}", self.literals.len());
            self.literals.push(format!("{name} = {text}"));
            self.names[id] = Some(name.clone());
            return Ok(Printed::atom(name));
        }
        if self.temps[id] {
            // Temporaries are evaluated unconditionally somewhere: computing one before this
            // statement is safe even when it is read inside a branch.
            let body = self.body(id, true)?;
            return Ok(self.bind(id, body.text));
        }
        let body = self.body(id, always)?;
        if always && body.depth > SPLIT_DEPTH {
            return Ok(self.bind(id, body.text));
        }
        if body.depth > MAX_DEPTH {
            return Err(EmitError(format!(
                "equation for {}: nested too deeply inside a Piecewise branch for Python to \
                 compile",
                self.equation
            )));
        }
        Ok(body)
    }

    /// Node `id` as an operand of precedence at least `prec` (else parenthesised).
    fn operand(&mut self, id: Id, prec: u8, always: bool) -> Result<(String, u32), EmitError> {
        let p = self.expr(id, always)?;
        Ok(if p.prec < prec {
            (format!("({})", p.text), p.depth + 1)
        } else {
            (p.text, p.depth)
        })
    }

    /// The formula of node `id` itself (never its temporary's name).
    pub(super) fn body(&mut self, id: Id, always: bool) -> Result<Printed, EmitError> {
        let graph = self.graph;
        let mut depth = 0;
        let mut text = String::new();
        let mut put = |(t, d): (String, u32), text: &mut String| {
            depth = depth.max(d);
            text.push_str(&t);
        };
        let prec = match &graph.ops[id] {
            Op::Atom(t) => return Ok(Printed::atom(t.clone())),
            Op::Sum(items) => {
                let terms = items
                    .iter()
                    .enumerate()
                    .map(|(i, &item)| match &graph.ops[item] {
                        _ if i == 0 => ("", item, SUM),
                        Op::Neg(x) if !self.temps[item] && self.names[item].is_none() => {
                            (" - ", *x, SUM + 1)
                        }
                        _ => (" + ", item, SUM + 1),
                    });
                let (t, d) = self.chain(terms.collect(), always)?;
                text = t;
                depth = d;
                SUM
            }
            Op::Prod(num, den) => {
                let factors = num.iter().enumerate().map(|(i, &f)| match i {
                    0 => ("", f, PROD),
                    _ => ("*", f, PROD + 1),
                });
                let (t, d) = self.chain(factors.collect(), always)?;
                text = t;
                depth = d;
                if let [d] = den[..] {
                    text.push('/');
                    let (t, d) = self.operand(d, PROD + 1, always)?;
                    text.push_str(&t);
                    depth = depth.max(d) + 1;
                } else if !den.is_empty() {
                    text.push_str("/(");
                    for (i, &d) in den.iter().enumerate() {
                        if i > 0 {
                            text.push('*');
                        }
                        let (t, d) = self.operand(d, PROD + u8::from(i > 0), always)?;
                        text.push_str(&t);
                        depth = depth.max(d + 1);
                    }
                    depth += u32::try_from(den.len()).unwrap_or(u32::MAX);
                    text.push(')');
                }
                PROD
            }
            Op::Neg(x) => {
                text.push('-');
                put(self.operand(*x, NEG + 1, always)?, &mut text);
                NEG
            }
            Op::Pow(b, e) => {
                put(self.operand(*b, ATOM, always)?, &mut text);
                text.push_str("**");
                put(self.operand(*e, ATOM, always)?, &mut text);
                POW
            }
            Op::Mod(a, b) => {
                put(self.operand(*a, PROD, always)?, &mut text);
                text.push_str(" % ");
                put(self.operand(*b, PROD + 1, always)?, &mut text);
                PROD
            }
            Op::Call(f, args) => {
                text.push_str(f);
                text.push('(');
                for (i, &a) in args.iter().enumerate() {
                    if i > 0 {
                        text.push_str(", ");
                    }
                    let (t, d) = self.operand(a, COND, always)?;
                    put((t, d + 1), &mut text);
                }
                text.push(')');
                ATOM
            }
            Op::Cond(pairs, otherwise) => {
                // Only the first condition runs whenever the statement does.
                for (i, &(v, c)) in pairs.iter().enumerate() {
                    let first = i == 0;
                    let (ct, cd) = self.operand(c, COND + 1, always && first)?;
                    let (vt, vd) = self.operand(v, COND + 1, false)?;
                    let nest = u32::try_from(i).unwrap_or(u32::MAX);
                    depth = depth
                        .max(cd.saturating_add(nest))
                        .max(vd.saturating_add(nest));
                    if !first {
                        text.push('(');
                    }
                    text.push_str(&vt);
                    text.push_str(" if ");
                    text.push_str(&ct);
                    text.push_str(" else ");
                }
                let (ot, od) = self.operand(*otherwise, COND + 1, false)?;
                let nest = u32::try_from(pairs.len() - 1).unwrap_or(u32::MAX);
                depth = depth.max(od.saturating_add(nest));
                text.push_str(&ot);
                text.push_str(&")".repeat(pairs.len() - 1));
                COND
            }
            Op::Cmp(op, a, b) => {
                put(self.operand(*a, SUM, always)?, &mut text);
                text.push(' ');
                text.push_str(op);
                text.push(' ');
                put(self.operand(*b, SUM, always)?, &mut text);
                CMP
            }
            Op::Logic(op, args) => {
                for (i, &a) in args.iter().enumerate() {
                    if i > 0 {
                        text.push(' ');
                        text.push_str(op);
                        text.push(' ');
                    }
                    put(self.operand(a, ATOM, always)?, &mut text);
                }
                match *op {
                    "&" => AND,
                    "^" => XOR,
                    _ => OR,
                }
            }
            Op::Not(x) => {
                text.push_str("not ");
                put(self.operand(*x, ATOM, always)?, &mut text);
                NOT
            }
        };
        Ok(Printed { text, prec, depth })
    }
}
