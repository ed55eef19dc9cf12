//! SymPy's `Relational.canonical`, as `And`, `Or` and `Xor` use it to find repeated and
//! contradicting relations, run on what the text front end knows of a relation's sides.
//!
//! SymPy 1.14 (`sympy/core/relational.py`) puts a number on the right (two numbers smaller
//! first), else the sides in `ordered` order, and then applies its sign rule once: a left
//! side that could extract a minus sign negates both sides (`reversedsign`), and otherwise
//! a right side that could (and is not a number) does, with the sides swapped, when its
//! negation sorts before the left side.  Negating evaluates (`-(-a)` is `a`, `-(--a)` is
//! `-a`, `-(a + b)` is `-a - b`), so `canonical` is not idempotent: `And` compares each
//! relation's canonical form with `c.negated.canonical` of the others (a second pass), and
//! `Xor` with `r.negated.canonical` (one pass from the relation as written).
//!
//! A side is known here by the SymPy trees it becomes when negated once and twice
//! ([`Term`]s, levels 0 to 2).  Where SymPy would consult something not known (the sort key
//! of two trees with as many nodes, the sign of a sum with as many negative terms as
//! positive ones), every answer is tried; if they disagree, [`keys`] gives `None` and the
//! caller compares relations as it did before the sign rule was modelled.

use num_rational::BigRational;
use num_traits::Signed;

use super::super::encoding::{Expr, RelOp, View};

/// The value of a SymPy `Number` (`oo` and `-oo` are numbers too).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lit {
    NegInf,
    Fin(BigRational),
    Inf,
}

impl Lit {
    pub fn negated(&self) -> Lit {
        match self {
            Lit::NegInf => Lit::Inf,
            Lit::Fin(r) => Lit::Fin(-r),
            Lit::Inf => Lit::NegInf,
        }
    }

    /// SymPy's `could_extract_minus_sign` of a number: whether it is negative.
    pub fn is_negative(&self) -> bool {
        match self {
            Lit::NegInf => true,
            Lit::Fin(r) => r.is_negative(),
            Lit::Inf => false,
        }
    }
}

/// One SymPy tree a side becomes: what `canonical` consults of it.
#[derive(Clone, Debug)]
pub struct Term {
    /// Its identity (a hash of the tree); `None`: not known.
    pub id: Option<u64>,
    /// SymPy's `_nodes` count, in halves (a `Float` counts half a node); `None`: not known.
    pub nodes: Option<u32>,
    /// `could_extract_minus_sign()`; `None`: not known.
    pub minus: Option<bool>,
    /// The value, when the tree is a SymPy `Number`.
    pub number: Option<Lit>,
    /// SymPy's sort key, where it is modelled.
    pub sort: Option<SortKey>,
}

impl Term {
    pub fn unknown() -> Term {
        Term {
            id: None,
            nodes: None,
            minus: None,
            number: None,
            sort: None,
        }
    }
}

/// The sort key (`Expr.sort_key`) of a symbol `x` or of `Mul(c, x)`, `c` an integer: the
/// symbol's class and name, then the exponent (1), then the coefficient.
#[derive(Clone, Debug)]
pub struct SortKey {
    /// The symbol.
    pub symbol: Expr,
    pub coeff: i64,
}

impl SortKey {
    fn parts(&self) -> (&str, i64) {
        match self.symbol.view() {
            View::Sym(name) => (name, self.coeff),
            _ => ("", self.coeff),
        }
    }
}

/// A relation side: the trees it is as written, negated once and negated twice (SymPy's
/// evaluated `-x`), and whether it is a number (has no symbols, as negation keeps).
#[derive(Clone, Debug)]
pub struct Side {
    pub terms: [Term; 3],
    pub is_number: bool,
}

/// One of the trees of a side: (side 0 or 1, level 0 to 2).
pub type Ref = (usize, usize);

/// A relation over the sides' trees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rel {
    pub op: RelOp,
    pub left: Ref,
    pub right: Ref,
}

/// The relations `And`, `Or` and `Xor` compare for a relation `x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keys {
    /// `x.canonical`.
    pub canonical: Rel,
    /// `x.canonical.negated.canonical` (what `And` and `Or` look up).
    pub negated: Rel,
    /// `x.negated.canonical` (what `Xor` looks up).
    pub xor_negated: Rel,
}

/// `Relational.reversed`'s operator.
pub fn reverse(op: RelOp) -> RelOp {
    match op {
        RelOp::Lt => RelOp::Gt,
        RelOp::Le => RelOp::Ge,
        RelOp::Gt => RelOp::Lt,
        RelOp::Ge => RelOp::Le,
        RelOp::Eq | RelOp::Ne => op,
    }
}

/// `Relational.negated`'s operator.
pub fn negate(op: RelOp) -> RelOp {
    match op {
        RelOp::Lt => RelOp::Ge,
        RelOp::Le => RelOp::Gt,
        RelOp::Gt => RelOp::Le,
        RelOp::Ge => RelOp::Lt,
        RelOp::Eq => RelOp::Ne,
        RelOp::Ne => RelOp::Eq,
    }
}

/// The rank of a relation's class name, SymPy's `class_key` order after the node count
/// (`Equality`, `GreaterThan`, `LessThan`, `StrictGreaterThan`, `StrictLessThan`,
/// `Unequality`): `And` visits its relations in `ordered` order.
pub fn class_rank(op: RelOp) -> u8 {
    match op {
        RelOp::Eq => 0,
        RelOp::Ge => 1,
        RelOp::Le => 2,
        RelOp::Gt => 3,
        RelOp::Lt => 4,
        RelOp::Ne => 5,
    }
}

/// Most unknowns one relation's keys may branch on (each doubles the work).
const MAX_CHOICES: u32 = 8;

/// One run of the canonical computations, taking the `choices` bits where SymPy consults
/// something not known.
struct Run<'a> {
    sides: &'a [Side; 2],
    choices: u32,
    used: u32,
    /// A tree past level 2, or an unknown identity, was reached.
    lost: bool,
}

impl Run<'_> {
    fn term(&mut self, (side, level): Ref) -> &Term {
        if level > 2 {
            // Two sign flips at most: canonical, then canonical of its negation.
            self.lost = true;
            return &self.sides[side].terms[2];
        }
        &self.sides[side].terms[level]
    }

    fn choose(&mut self, known: Option<bool>) -> bool {
        known.unwrap_or_else(|| {
            let bit = self.used;
            self.used += 1;
            (self.choices >> bit.min(31)) & 1 == 1
        })
    }

    fn is_number(&self, (side, _): Ref) -> bool {
        self.sides[side].is_number
    }

    fn same(&mut self, a: Ref, b: Ref) -> bool {
        let (ia, ib) = (self.term(a).id, self.term(b).id);
        match (ia, ib) {
            (Some(x), Some(y)) => x == y,
            _ => {
                self.lost = true;
                false
            }
        }
    }

    /// Whether `a` comes first in SymPy's `ordered([a, b])` (fewer nodes first, then the
    /// sort key, which is not known here).
    fn first(&mut self, a: Ref, b: Ref) -> bool {
        if self.same(a, b) {
            return true;
        }
        let (na, nb) = (self.term(a).nodes, self.term(b).nodes);
        match (na, nb) {
            (Some(x), Some(y)) if x != y => x < y,
            (Some(_), Some(_)) => {
                let (sa, sb) = (self.term(a).sort.clone(), self.term(b).sort.clone());
                match (sa, sb) {
                    (Some(x), Some(y)) if x.parts() != y.parts() => x.parts() < y.parts(),
                    _ => self.choose(None),
                }
            }
            _ => self.choose(None),
        }
    }

    /// `Relational.canonical` of `r`.
    fn canonical(&mut self, r: Rel) -> Rel {
        let Rel { op, left, right } = r;
        let reversed = if self.is_number(right) {
            let l = self.term(left).number.clone();
            let r = self.term(right).number.clone();
            matches!((l, r), (Some(l), Some(r)) if l > r)
        } else if self.is_number(left) {
            true
        } else {
            !self.first(left, right)
        };
        let (op, l, r) = if reversed {
            (reverse(op), right, left)
        } else {
            (op, left, right)
        };
        let flip = |(side, level): Ref| (side, level + 1);
        let lhs_minus = self.term(l).minus;
        if self.choose(lhs_minus) {
            return Rel {
                op: reverse(op),
                left: flip(l),
                right: flip(r),
            };
        }
        if !self.is_number(r) {
            let rhs_minus = self.term(r).minus;
            if self.choose(rhs_minus) && !self.first(l, flip(r)) {
                return Rel {
                    op,
                    left: flip(r),
                    right: flip(l),
                };
            }
        }
        Rel {
            op,
            left: l,
            right: r,
        }
    }

    fn keys(&mut self, op: RelOp) -> Keys {
        let x = Rel {
            op,
            left: (0, 0),
            right: (1, 0),
        };
        let canonical = self.canonical(x);
        let negated = self.canonical(Rel {
            op: negate(canonical.op),
            ..canonical
        });
        let xor_negated = self.canonical(Rel {
            op: negate(op),
            ..x
        });
        for rel in [canonical, negated, xor_negated] {
            // The keys compare these trees: each must be known.
            for r in [rel.left, rel.right] {
                if self.term(r).id.is_none() {
                    self.lost = true;
                }
            }
        }
        Keys {
            canonical,
            negated,
            xor_negated,
        }
    }
}

/// The keys of relation `left op right`, or `None` where what SymPy would consult is not
/// known and changes them.
pub fn keys(op: RelOp, sides: &[Side; 2]) -> Option<Keys> {
    let mut answer: Option<Keys> = None;
    let mut runs: u32 = 1;
    let mut choices: u32 = 0;
    while choices < runs {
        let mut run = Run {
            sides,
            choices,
            used: 0,
            lost: false,
        };
        let keys = run.keys(op);
        if run.lost || run.used > MAX_CHOICES {
            return None;
        }
        runs = runs.max(1 << run.used);
        match &answer {
            None => answer = Some(keys),
            Some(a) if *a != keys => return None,
            Some(_) => {}
        }
        choices += 1;
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(id: u64, nodes: u32, minus: bool) -> Term {
        Term {
            id: Some(id),
            nodes: Some(nodes),
            minus: Some(minus),
            number: None,
            sort: None,
        }
    }

    fn lit(id: u64, v: i64) -> Term {
        Term {
            id: Some(id),
            nodes: Some(2),
            minus: Some(v < 0),
            number: Some(Lit::Fin(BigRational::from_integer(v.into()))),
            sort: None,
        }
    }

    #[test]
    fn a_doubly_negated_side_is_not_idempotent() {
        // --a (5 nodes), -a (3), a (1); 1 and -1.
        let a2 = Side {
            terms: [term(2, 10, true), term(1, 6, true), term(0, 2, false)],
            is_number: false,
        };
        let one = Side {
            terms: [lit(10, 1), lit(11, -1), lit(10, 1)],
            is_number: true,
        };
        // --a <= 1: canonical -a >= -1, its negation's canonical a > 1.
        let k = keys(RelOp::Le, &[a2.clone(), one.clone()]).expect("known");
        assert_eq!(
            k.canonical,
            Rel {
                op: RelOp::Ge,
                left: (0, 1),
                right: (1, 1)
            }
        );
        assert_eq!(
            k.negated,
            Rel {
                op: RelOp::Gt,
                left: (0, 2),
                right: (1, 2)
            }
        );
        // 1 < --a: canonical -a < -1.
        let k = keys(RelOp::Lt, &[one, a2]).expect("known");
        assert_eq!(
            k.canonical,
            Rel {
                op: RelOp::Lt,
                left: (1, 1),
                right: (0, 1)
            }
        );
    }

    #[test]
    fn an_unknown_that_changes_the_answer_gives_none() {
        let x = Side {
            terms: [term(1, 2, false), term(2, 6, true), term(1, 2, false)],
            is_number: false,
        };
        let y = Side {
            terms: [term(3, 2, false), term(4, 6, true), term(3, 2, false)],
            is_number: false,
        };
        // x < y: which goes first is SymPy's sort key, not known here.
        assert!(keys(RelOp::Lt, &[x.clone(), y]).is_none());
        // x < x needs no order.
        assert!(keys(RelOp::Lt, &[x.clone(), x]).is_some());
    }
}
