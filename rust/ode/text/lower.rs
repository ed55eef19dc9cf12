//! Building canonical expressions from parsed text, node by node, as today's SymPy-based
//! parser builds them unevaluated and `sympy_walk` then lowers them.
//!
//! Arithmetic is plain: `a - b` is `Expr::add([a, Expr::mul([-1, b])])`, `a/b` is
//! `Expr::mul([a, Expr::pow(b, -1)])`, `-a` is `Expr::mul([-1, a])`, `a // b` is
//! `floor(a/b)`, `a % b` is `Mod(a, b)`, `sqrt(x)` is `x**(1/2)`, `cbrt(x)` is `x**(1/3)`,
//! `exp2(x)` is `2**x`, `Heaviside(x)` is `Heaviside(x, 1/2)`, `Min()`/`Max()` are `oo`/`-oo`.
//!
//! Logic follows what SymPy does even unevaluated: `And`/`Or` drop their identity, stop at
//! their absorbing element, flatten, drop repeated arguments and a relation and its
//! negation make `False` (`And`) or `True` (`Or`); `Xor` cancels repeated arguments and
//! turns a `True` into `Not(Xor(rest))`; `Piecewise` drops pairs whose condition is `False`
//! and everything after a `True` condition, and a lone `(e, True)` pair is `e`; the integer
//! literals `1` and `0` are `True` and `False` where a condition is expected.
//!
//! Two things SymPy would build are refused, as their meaning is lost later: a condition
//! (a comparison, `and`/`or`/`not`, `True`/`False`) used as a number, and a number used as
//! a condition other than the literals `1` and `0`.  A condition containing a `Piecewise`
//! is refused too (SymPy rewrites it to an `ITE` the canonical form does not accept).
//! Where SymPy drops repeated arguments it compares unevaluated trees structurally: every
//! value carries a hash of the tree SymPy would hold (`Value::tree`), and relations are
//! compared as SymPy's `canonical` relations, sign rule included ([`relational`]): every
//! number also carries what SymPy's evaluated negation makes of its tree ([`Form`]).

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, OnceLock};
use std::thread::LocalKey;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Zero};

use super::super::encoding::{BoolOp, Expr, RelOp, View};
use super::super::number::{f64_to_rational, rational_to_f64, Number};
use super::super::rules::FUNCTIONS;
use super::relational::{self, class_rank, negate, reverse, Lit, Rel, SortKey, Term};

/// Other names text may call: spellings of the functions above, relations and logic.
pub const ALIASES: [&str; 17] = [
    "sqrt", "cbrt", "abs", "min", "max", "ceil", "exp2", "Eq", "Ne", "Lt", "Le", "Gt", "Ge", "And",
    "Or", "Not", "Xor",
];

/// What SymPy object a value stands for, as far as building its parents needs to know.
///
/// Every variant is at most a word: a value moves up through each level of the grammar it
/// is built at, and the shapes that carry more (relations, `And`/`Or`/`Xor`, tuples) are
/// rare, so they are boxed (a vector in a box, not a slice, as a box is a third of its
/// size).
#[derive(Clone, Debug)]
#[allow(clippy::box_collection)]
pub enum Shape {
    /// A bare numeric literal (`1`, `0.5`): SymPy's `Integer(1)` equals `True`.  Shared,
    /// as small literals' values are built once ([`small_int`]).
    Int(Arc<BigInt>),
    Float(f64),
    Symbol,
    /// Any other arithmetic expression (sums, calls, `Piecewise`, …).
    Arith,
    Truth(bool),
    /// A relation, with its sides as written (for recognising repeats and negations).
    Rel(Box<Relation>),
    And(Box<Vec<Value>>),
    Or(Box<Vec<Value>>),
    Xor(Box<Vec<Value>>),
    Not(Box<Value>),
    /// A parenthesised tuple: only a `Piecewise` argument may be one.
    Tuple(Box<Vec<Value>>),
}

/// A relation as written: its operator and sides.
#[derive(Clone, Debug)]
pub struct Relation {
    op: RelOp,
    left: Side,
    right: Side,
}

/// A side of a relation, with what SymPy's canonical relation looks at.
#[derive(Clone, Debug)]
pub struct Side {
    expr: Expr,
    tree: u64,
    symbol_free: bool,
    /// The numeric literal it is, if one.
    literal: Option<Literal>,
    form: Form,
}

/// What SymPy's canonical relation consults of a number beyond its tree: its node count
/// and what its evaluated negation (`-x`, as `reversedsign` builds it) is.
#[derive(Clone, Debug, Default)]
pub struct Form {
    /// SymPy's `_nodes` of the unevaluated tree, in halves (a `Float` counts half).
    nodes: u32,
    negation: Negation,
}

/// What `-x` and `-(-x)` are in SymPy (`Expr.__neg__`, `Mul.__neg__`, `Add.__neg__`).
#[derive(Clone, Debug, Default)]
enum Negation {
    /// `-x` is `Mul(-1, x)`, `--x` is `x` (symbols, powers, calls).
    Plain,
    /// A numeric literal: `-x` is the negated number.
    Literal,
    /// `Mul(a, b)`, `a` not a number: `-x` is the flat `Mul(-1, a, b)` (this tree), `--x`
    /// is `x`.
    Product(u64),
    /// `Mul(n, b)`, `n` a numeric literal: `-x` is `Mul(-n, b)` (this tree, which could
    /// extract a minus sign when `minus`: `-n` is negative), `--x` is `x`.
    Scaled { tree: u64, minus: bool },
    /// `Add(a, b)`, which could extract a minus sign when `minus` (`None`: as many
    /// negative arguments as positive ones, when SymPy compares sort keys); negating
    /// evaluates the sum.
    Sum(Option<bool>),
    /// `Mul(-1, y)`: `-x` is `y`, `--x` is `-y` (`y`'s trees as written and negated).
    Neg(Box<[Slot; 2]>),
    /// `Mul(-1, y)`, `y` of this tree and `Plain` (most negations: no box to build).
    NegPlain(u64),
    /// `Mul(-1, n)`, `n` a finite numeric literal (a float when `float`), whose value the
    /// canonical form `-n` tells.
    NegLiteral { float: bool },
    /// Not modelled (conditions, `Min()`, `1*x`, `2*3`): relations on it are compared as
    /// before the sign rule was.
    #[default]
    Opaque,
}

/// One level of a negated tree: known, or the sum of tree `sum` negated (`negated`) or
/// negated twice, which SymPy evaluates.
///
/// An evaluated sum is known by that sum's tree only: SymPy evaluates the sum, not its
/// terms (`-(0.5*0.0 + 1)` is `-1 - 0.5*0.0`), so no canonical form tells its tree, and
/// two different sums are taken to evaluate to different trees.
#[derive(Clone, Debug)]
enum Slot {
    Term(Term),
    Evaluated { sum: u64, negated: bool },
}

/// A numeric literal, as written (never negative: a minus is a negation).
#[derive(Clone, Debug)]
enum Literal {
    Int(BigInt),
    Float(f64),
}

fn literal_of(shape: &Shape) -> Option<Literal> {
    match shape {
        Shape::Int(i) => Some(Literal::Int((**i).clone())),
        Shape::Float(f) => Some(Literal::Float(*f)),
        _ => None,
    }
}

impl Literal {
    fn value(&self) -> Lit {
        match self {
            Literal::Int(i) => Lit::Fin(BigRational::from_integer(i.clone())),
            Literal::Float(f) if f.is_finite() => Lit::Fin(f64_to_rational(*f)),
            Literal::Float(_) => Lit::Inf,
        }
    }

    /// The SymPy number this literal is, or its negation (`-0.0` is `0.0`, `-oo` is
    /// `NegativeInfinity`).
    fn term(&self, negated: bool) -> Term {
        let (tree, nodes) = match *self {
            Literal::Int(ref i) if negated => (int_tree(&-i), 2),
            Literal::Int(ref i) => (int_tree(i), 2),
            Literal::Float(f) if f.is_finite() => {
                let f = if negated && f != 0.0 { -f } else { f };
                (mix(&[tag::FLOAT, f.to_bits()]), 1)
            }
            Literal::Float(_) if negated => (neg_oo_tree(), 2),
            Literal::Float(_) => (oo_tree(), 2),
        };
        let value = if negated {
            self.value().negated()
        } else {
            self.value()
        };
        Term {
            id: Some(tree),
            nodes: Some(nodes),
            minus: Some(value.is_negative()),
            number: Some(value),
            sort: None,
        }
    }
}

fn oo_tree() -> u64 {
    static TREE: OnceLock<u64> = OnceLock::new();
    *TREE.get_or_init(|| atom_tree(&Expr::constant("oo")))
}

fn neg_oo_tree() -> u64 {
    static TREE: OnceLock<u64> = OnceLock::new();
    *TREE.get_or_init(|| mix(&[tag::EVALUATED, atom_tree(&neg_expr(Expr::constant("oo")))]))
}

impl Form {
    fn new(nodes: u32, negation: Negation) -> Form {
        Form { nodes, negation }
    }

    /// `could_extract_minus_sign()` of the tree as written (a literal is never negative;
    /// `Mul(n, b)` could only extract one from a negative `n`).
    fn minus(&self) -> Option<bool> {
        match &self.negation {
            Negation::Plain
            | Negation::Literal
            | Negation::Product(_)
            | Negation::Scaled { .. } => Some(false),
            Negation::Sum(minus) => *minus,
            Negation::Neg(_) | Negation::NegPlain(_) | Negation::NegLiteral { .. } => Some(true),
            Negation::Opaque => None,
        }
    }

    /// The tree of value `tree` (`literal`, when one; of canonical form `expr`) negated
    /// `level` times (0 to 2).
    fn slot(&self, tree: u64, literal: Option<&Literal>, expr: &Expr, level: usize) -> Slot {
        let nodes = Some(self.nodes);
        let known = |id: u64, nodes: Option<u32>, minus: Option<bool>| {
            Slot::Term(Term {
                id: Some(id),
                nodes,
                minus,
                number: None,
                sort: None,
            })
        };
        // A symbol (two halves of a node: a call has its arguments too), as written and as
        // `Mul(-1, x)`.
        let symbol = |coeff: i64| {
            (matches!(self.negation, Negation::Plain)
                && self.nodes == 2
                && matches!(expr.view(), View::Sym(_)))
            .then(|| SortKey {
                symbol: expr.clone(),
                coeff,
            })
        };
        if let Some(operand) = self.operand(tree, expr) {
            return match level {
                0 => {
                    // `Mul(-1, x)` of a symbol sorts as `x` with coefficient -1.
                    let sort = match &operand[0] {
                        Slot::Term(Term { sort: Some(k), .. }) if k.coeff == 1 => Some(SortKey {
                            symbol: k.symbol.clone(),
                            coeff: -1,
                        }),
                        _ => None,
                    };
                    Slot::Term(Term {
                        id: Some(tree),
                        nodes,
                        minus: Some(true),
                        number: None,
                        sort,
                    })
                }
                _ => operand[level - 1].clone(),
            };
        }
        if level == 0 {
            return match (literal, &self.negation) {
                (Some(l), Negation::Literal) => Slot::Term(l.term(false)),
                _ => Slot::Term(Term {
                    sort: symbol(1),
                    ..Term {
                        id: Some(tree),
                        nodes,
                        minus: self.minus(),
                        number: None,
                        sort: None,
                    }
                }),
            };
        }
        match (&self.negation, level) {
            (Negation::Opaque, _) => Slot::Term(Term::unknown()),
            (Negation::Sum(_), _) => Slot::Evaluated {
                sum: tree,
                negated: level == 1,
            },
            (Negation::Neg(_) | Negation::NegPlain(_) | Negation::NegLiteral { .. }, _) => {
                unreachable!("a negation's operand is known")
            }
            (_, 2) => self.slot(tree, literal, expr, 0),
            (Negation::Plain, _) => Slot::Term(Term {
                id: Some(neg_tree(tree)),
                nodes: Some(self.nodes + 4),
                minus: Some(true),
                number: None,
                sort: symbol(-1),
            }),
            (Negation::Literal, _) => match literal {
                Some(l) => Slot::Term(l.term(true)),
                None => Slot::Term(Term::unknown()),
            },
            (Negation::Product(t), _) => known(*t, Some(self.nodes + 2), Some(true)),
            (Negation::Scaled { tree: t, minus }, _) => known(*t, nodes, Some(*minus)),
        }
    }

    /// The trees (as written and negated) of the operand `y` of `Mul(-1, y)`, this value
    /// of tree `tree` and canonical form `expr`; `None` for any other value.
    fn operand(&self, tree: u64, expr: &Expr) -> Option<[Slot; 2]> {
        let term = |id: u64, nodes: u32, minus: bool, sort: Option<SortKey>| {
            Slot::Term(Term {
                id: Some(id),
                nodes: Some(nodes),
                minus: Some(minus),
                number: None,
                sort,
            })
        };
        match &self.negation {
            Negation::Neg(slots) => Some((**slots).clone()),
            Negation::NegPlain(y) => {
                // A symbol `x` (two halves) under the minus: `-x` is `Mul(-1, x)`.
                let symbol = |coeff: i64| match expr.view() {
                    View::Mul([_, x]) if self.nodes == 6 && matches!(x.view(), View::Sym(_)) => {
                        Some(SortKey {
                            symbol: x.clone(),
                            coeff,
                        })
                    }
                    _ => None,
                };
                Some([
                    term(*y, self.nodes - 4, false, symbol(1)),
                    term(tree, self.nodes, true, symbol(-1)),
                ])
            }
            Negation::NegLiteral { float } => {
                let View::Num(n) = expr.view() else {
                    return Some([Slot::Term(Term::unknown()), Slot::Term(Term::unknown())]);
                };
                let v = -n.value();
                let lit = if *float {
                    // `-(0.0)` is `0`: the literal was `0.0`, never `-0.0`.
                    Literal::Float(rational_to_f64(&v).abs())
                } else {
                    Literal::Int(v.to_integer())
                };
                Some([Slot::Term(lit.term(false)), Slot::Term(lit.term(true))])
            }
            _ => None,
        }
    }

    /// `-a` (`Mul(-1, a)`).
    fn neg(a: &Value) -> Form {
        let f = &a.form;
        let negation = match (&f.negation, &a.shape) {
            (Negation::Opaque, _) => Negation::Opaque,
            (Negation::Plain, _) => Negation::NegPlain(a.tree),
            (Negation::Literal, Shape::Int(_)) => Negation::NegLiteral { float: false },
            (Negation::Literal, Shape::Float(x)) if x.is_finite() => {
                Negation::NegLiteral { float: true }
            }
            _ => {
                let lit = literal_of(&a.shape);
                Negation::Neg(Box::new([
                    f.slot(a.tree, lit.as_ref(), &a.expr, 0),
                    f.slot(a.tree, lit.as_ref(), &a.expr, 1),
                ]))
            }
        };
        Form::new(f.nodes + 4, negation)
    }

    /// `a + b`, or `a - b` (`Add(a, Mul(-1, b))`) when `negate`: SymPy counts the arguments
    /// that could extract a minus sign.
    fn sum(a: &Value, b: &Value, negate: bool) -> Form {
        let (fa, fb) = (&a.form, &b.form);
        let (mb, nb) = if negate {
            (Some(true), fb.nodes + 4)
        } else {
            (fb.minus(), fb.nodes)
        };
        let minus = match (fa.minus(), mb) {
            (Some(x), Some(y)) if x == y => Some(x),
            _ => None,
        };
        Form::new(2 + fa.nodes + nb, Negation::Sum(minus))
    }

    /// `a * b`, or `a / b` (`Mul(a, Pow(b, -1))`) when `divide`; `tree` is the product's.
    fn product(a: &Value, b: &Value, divide: bool, tree: u64) -> Form {
        let (b_tree, b_nodes) = if divide {
            (mix(&[tag::POW, b.tree, minus_one_tree()]), b.form.nodes + 4)
        } else {
            (b.tree, b.form.nodes)
        };
        let nodes = 2 + a.form.nodes + b_nodes;
        let b_literal = !divide && matches!(b.shape, Shape::Int(_) | Shape::Float(_));
        let scaled = |n: u64, minus: bool| Negation::Scaled {
            tree: mix(&[tag::MUL, n, b_tree]),
            minus,
        };
        let negation = match &a.shape {
            // `Mul(n, m)` of two literals is a number when `n` is an integer.
            Shape::Int(_) if b_literal => Negation::Opaque,
            Shape::Int(n) if n.is_zero() => Negation::Scaled { tree, minus: false },
            // `-(1*b)` is `-b`, whose negation is `b`, not `1*b`: not modelled.
            Shape::Int(n) if n.is_one() => Negation::Opaque,
            Shape::Int(n) => scaled(int_tree(&-&**n), true),
            Shape::Float(f) if *f == 0.0 => Negation::Scaled { tree, minus: false },
            Shape::Float(f) if f.is_finite() => scaled(mix(&[tag::FLOAT, (-f).to_bits()]), true),
            Shape::Float(_) => scaled(neg_oo_tree(), true),
            _ => Negation::Product(mix(&[tag::MUL, minus_one_tree(), a.tree, b_tree])),
        };
        Form::new(nodes, negation)
    }
}

impl Side {
    /// What [`relational::keys`] consults of this side.
    fn terms(&self) -> relational::Side {
        let slot = |level| {
            self.form
                .slot(self.tree, self.literal.as_ref(), &self.expr, level)
        };
        let term = |level: usize| match slot(level) {
            Slot::Term(t) => t,
            Slot::Evaluated { sum, negated } => evaluated(sum, negated, &self.expr, level % 2 == 1),
        };
        relational::Side {
            terms: [term(0), term(1), term(2)],
            is_number: self.symbol_free,
        }
    }
}

/// Sum `sum` negated (`negated`) or negated twice, as SymPy evaluates it: it could extract
/// a minus sign as the canonical form of the value it is (`expr`, negated when
/// `expr_negated`) counts its terms.
fn evaluated(sum: u64, negated: bool, expr: &Expr, expr_negated: bool) -> Term {
    let e = if expr_negated {
        neg_expr(expr.clone())
    } else {
        expr.clone()
    };
    fn negative(t: &Expr) -> bool {
        match t.view() {
            View::Num(n) => n.is_negative(),
            View::Mul(f) => f
                .iter()
                .any(|x| matches!(x.view(), View::Num(n) if n.is_negative())),
            _ => false,
        }
    }
    let minus = match e.view() {
        // The sum cancelled to a number: SymPy's side is a number now, not modelled.
        View::Num(_) => return Term::unknown(),
        View::Add(terms) => {
            let neg = terms.iter().filter(|t| negative(t)).count();
            match neg.cmp(&(terms.len() - neg)) {
                std::cmp::Ordering::Greater => Some(true),
                std::cmp::Ordering::Less => Some(false),
                std::cmp::Ordering::Equal => None,
            }
        }
        _ => Some(negative(&e)),
    };
    Term {
        id: Some(mix(&[tag::EVALUATED, sum, u64::from(negated)])),
        nodes: None,
        minus,
        number: None,
        sort: None,
    }
}

/// A 64-bit mix of the parts of a SymPy tree (FNV-1a over words, then a final avalanche).
fn mix(parts: &[u64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &p in parts {
        h = (h ^ p).wrapping_mul(0x0000_0100_0000_01b3);
        h ^= h >> 29;
    }
    h.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (h >> 32)
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(&[h, bytes.len() as u64])
}

/// Structural hashes of SymPy nodes, by kind.
mod tag {
    pub const ADD: u64 = 1;
    pub const MUL: u64 = 2;
    pub const POW: u64 = 3;
    pub const FUNC: u64 = 4;
    pub const REL: u64 = 5;
    pub const LATTICE: u64 = 6;
    pub const XOR: u64 = 7;
    pub const NOT: u64 = 8;
    pub const PIECEWISE: u64 = 9;
    pub const SYMBOL: u64 = 10;
    pub const INT: u64 = 11;
    pub const BIG_INT: u64 = 12;
    pub const FLOAT: u64 = 13;
    /// A tree SymPy evaluated (a negated sum), known by its canonical form.
    pub const EVALUATED: u64 = 14;
}

/// The tree of a symbol: its name (a symbol's canonical node is its name).
fn symbol_tree(name: &str) -> u64 {
    mix(&[tag::SYMBOL, hash_bytes(name.as_bytes())])
}

/// The tree of an integer, whichever way it was written or added (`2` and `exp2`'s base are
/// one tree).
fn int_tree(value: &BigInt) -> u64 {
    match i64::try_from(value) {
        Ok(small) => small_int_tree(small),
        Err(_) => mix(&[tag::BIG_INT, hash_bytes(&value.to_signed_bytes_le())]),
    }
}

fn small_int_tree(value: i64) -> u64 {
    mix(&[tag::INT, value as u64])
}

fn atom_tree(e: &Expr) -> u64 {
    thread_local! {
        static BYTES: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    BYTES.with_borrow_mut(|bytes| {
        bytes.clear();
        e.encode_into(bytes);
        hash_bytes(bytes)
    })
}

/// The symbols a value uses, as indices into the parser's name table: a bit each for the
/// first 64 names (an equation rarely has more), a list for the rest, which may repeat.
#[derive(Clone, Debug, Default)]
pub struct Names {
    bits: u64,
    /// Boxed: a value carries its names through every level it is built at, and a box is
    /// a third of a vector's size (a vector, not a slice, so that a long chain appends).
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<u32>>>,
}

impl Names {
    fn one(id: u32) -> Names {
        match 1u64.checked_shl(id) {
            Some(bit) => Names {
                bits: bit,
                more: None,
            },
            None => Names {
                bits: 0,
                more: Some(Box::new(vec![id])),
            },
        }
    }

    fn extend(&mut self, other: &Names) {
        self.bits |= other.bits;
        if let Some(other) = &other.more {
            self.more
                .get_or_insert_with(Box::default)
                .extend_from_slice(other);
        }
    }

    fn is_empty(&self) -> bool {
        self.bits == 0 && self.more.is_none()
    }

    /// `f` of each index, in the order of the indices (sorted, each once).
    pub fn map_ids<T>(&self, mut f: impl FnMut(u32) -> T) -> Vec<T> {
        let more: &[u32] = self.more.as_deref().map_or(&[], |m| m);
        if !more.is_empty() {
            return self.ids().into_iter().map(f).collect();
        }
        let mut out = Vec::with_capacity(self.bits.count_ones() as usize);
        let mut bits = self.bits;
        while bits != 0 {
            out.push(f(bits.trailing_zeros()));
            bits &= bits - 1;
        }
        out
    }

    /// The indices, sorted, each once.
    pub fn ids(&self) -> Vec<u32> {
        let more: &[u32] = self.more.as_deref().map_or(&[], |m| m);
        let mut ids = Vec::with_capacity(self.bits.count_ones() as usize + more.len());
        let mut bits = self.bits;
        while bits != 0 {
            ids.push(bits.trailing_zeros());
            bits &= bits - 1;
        }
        if !more.is_empty() {
            ids.extend_from_slice(more);
            ids.sort_unstable();
            ids.dedup();
        }
        ids
    }
}

/// A built node: its canonical form, its shape, and the symbols it uses.
#[derive(Clone, Debug)]
pub struct Value {
    pub expr: Expr,
    pub shape: Shape,
    pub names: Names,
    /// Whether a `Piecewise` is part of this value.
    pub has_piecewise: bool,
    /// Whether a `Piecewise` left without pairs is part of this value (SymPy's walk refuses
    /// it wherever it sits, even where the canonical form drops it: `0*Piecewise((a, False))`).
    pub has_empty_piecewise: bool,
    /// Whether a `Piecewise` or a boolean operator was built for this value: only then can
    /// the finished tree break a rule [`check_tree`](super::super::rules::check_tree)
    /// checks.
    pub has_logic: bool,
    /// Byte offset where the node starts, for errors.
    pub start: usize,
    /// A hash of the unevaluated SymPy tree this node stands for: SymPy compares those
    /// structurally where it drops repeated arguments (`x + y` and `y + x` differ).
    pub tree: u64,
    /// What canonical relations with this value as a side consult beyond its tree.
    pub form: Form,
}

/// A refusal, with the byte offset of the node it concerns.
pub type Refusal = (usize, String);

fn refuse<T>(at: usize, message: impl Into<String>) -> Result<T, Refusal> {
    Err((at, message.into()))
}

fn truth(value: bool, start: usize) -> Value {
    // Conditionals add a `True` each: its node and tree are built once per thread (see
    // `Expr::number` for why not once per process).
    thread_local! {
        static TRUTHS: [(Expr, u64); 2] = [false, true].map(|v| {
            let expr = Expr::truth(v);
            (expr.clone(), atom_tree(&expr))
        });
    }
    let (expr, tree) = TRUTHS.with(|truths| truths[usize::from(value)].clone());
    Value {
        tree,
        expr,
        shape: Shape::Truth(value),
        names: Names::default(),
        has_piecewise: false,
        has_empty_piecewise: false,
        has_logic: false,
        start,
        form: Form::new(2, Negation::Opaque),
    }
}

impl Value {
    fn combine(expr: Expr, shape: Shape, parts: &[&Value], start: usize) -> Value {
        let mut names = Names::default();
        for p in parts {
            names.extend(&p.names);
        }
        Value {
            expr,
            shape,
            names,
            has_piecewise: parts.iter().any(|p| p.has_piecewise),
            has_empty_piecewise: parts.iter().any(|p| p.has_empty_piecewise),
            has_logic: parts.iter().any(|p| p.has_logic),
            start,
            tree: 0,
            form: Form::new(
                2 + parts.iter().map(|p| p.form.nodes).sum::<u32>(),
                Negation::Opaque,
            ),
        }
    }

    fn is_condition(&self) -> bool {
        matches!(
            self.shape,
            Shape::Symbol
                | Shape::Truth(_)
                | Shape::Rel(..)
                | Shape::And(_)
                | Shape::Or(_)
                | Shape::Xor(_)
                | Shape::Not(_)
        )
    }

    /// Refuses a tuple where a single expression is expected.
    pub fn plain(self) -> Result<Value, Refusal> {
        match self.shape {
            Shape::Tuple(_) => refuse(self.start, "unsupported syntax Tuple"),
            _ => Ok(self),
        }
    }

    /// Refuses anything but a number, symbol or arithmetic expression.
    fn number(self) -> Result<Value, Refusal> {
        self.check_number()?;
        Ok(self)
    }

    /// [`Value::number`] by reference: arithmetic checks its operands without moving them.
    #[inline]
    fn check_number(&self) -> Result<(), Refusal> {
        match self.shape {
            Shape::Int(_) | Shape::Float(_) | Shape::Symbol | Shape::Arith => Ok(()),
            Shape::Tuple(_) => refuse(self.start, "unsupported syntax Tuple"),
            _ => refuse(
                self.start,
                "a condition (comparison, and/or/not, True/False) cannot be used as a number",
            ),
        }
    }

    /// What SymPy's `as_Boolean` accepts: a condition, or the integer literals 1 and 0.
    fn condition(self) -> Result<Value, Refusal> {
        if let Shape::Int(i) = &self.shape {
            if i.is_one() || i.is_zero() {
                return Ok(truth(i.is_one(), self.start));
            }
        }
        if self.is_condition() {
            Ok(self)
        } else if let Shape::Tuple(_) = self.shape {
            refuse(self.start, "unsupported syntax Tuple")
        } else {
            refuse(
                self.start,
                "expected a condition (a comparison, and/or/not, True/False), got a number",
            )
        }
    }

    fn is_relation(&self) -> bool {
        matches!(self.shape, Shape::Rel(..))
    }

    /// What SymPy compares when it drops repeated arguments of `And`/`Or`/`Xor` (a set of
    /// them): the tree.  The canonical encoding is part of the key, so only what is equal
    /// in the canonical form can ever be merged.
    fn key(&self) -> Vec<u8> {
        let mut key = self.tree.to_be_bytes().to_vec();
        self.expr.encode_into(&mut key);
        key
    }

    /// Where `And` visits this relation: SymPy's `ordered` (node count, then class name;
    /// the sort key after those is not modelled, the tree stands in for it).
    fn rank(&self) -> (u32, u8, u64) {
        match &self.shape {
            Shape::Rel(rel) => (self.form.nodes, class_rank(rel.op), self.tree),
            _ => (0, 0, self.tree),
        }
    }
}

/// A canonical relation as SymPy compares it: its operator and the trees of its sides.
///
/// Only the trees: SymPy merges relations its sign rule equates (`-x > 0` and `x < 0`)
/// whose canonical expressions differ, and negating a side twice need not give back its
/// canonical expression (`-(-(0.0))` is `0`), so no canonical encoding can be part of it.
type RelationKey = (RelOp, u64, u64);

/// What `And`, `Or` and `Xor` compare of a relation: `canonical`, and the canonical form
/// of its negation (of `canonical`'s negation for `And`/`Or`, of its own for `Xor`).
struct RelationKeys {
    canonical: RelationKey,
    negated: RelationKey,
}

impl Relation {
    /// The keys, the way SymPy computes them, or as before the sign rule was modelled
    /// (the sides in a fixed order, a relation's negation its negated operator) where
    /// [`relational::keys`] cannot tell.
    fn keys(&self, xor: bool) -> RelationKeys {
        let sides = [self.left.terms(), self.right.terms()];
        match relational::keys(self.op, &sides) {
            Some(k) => RelationKeys {
                canonical: Relation::key(k.canonical, &sides),
                negated: Relation::key(if xor { k.xor_negated } else { k.negated }, &sides),
            },
            None => RelationKeys {
                canonical: relation_key(self.op, &self.left, &self.right),
                negated: relation_key(negate(self.op), &self.left, &self.right),
            },
        }
    }

    /// The key of relation `r` over this relation's sides' trees.
    fn key(r: Rel, sides: &[relational::Side; 2]) -> RelationKey {
        let id = |(s, level): (usize, usize)| sides[s].terms[level].id.expect("a known tree");
        (r.op, id(r.left), id(r.right))
    }
}

/// SymPy's `Relational.canonical` up to its sign rule: a number goes to the right, two
/// literals smaller first, otherwise a fixed order of the sides (SymPy's `ordered`; any fixed
/// order gives the same equalities); equal sides stay.  What relations are compared by
/// where the sign rule cannot be followed.
fn relation_key(op: RelOp, left: &Side, right: &Side) -> RelationKey {
    let reversed = if right.symbol_free {
        match (&left.literal, &right.literal) {
            (Some(l), Some(r)) => l.value() > r.value(),
            _ => false,
        }
    } else if left.symbol_free {
        true
    } else {
        left.tree > right.tree
    };
    let (op, l, r) = if reversed {
        (reverse(op), right, left)
    } else {
        (op, left, right)
    };
    (op, l.tree, r.tree)
}

/// A symbol's node and tree, built once per name and equation; `key` is a word of the
/// name's first bytes (the parser's prefix key), which picks its slot ([`shared_symbol`]).
pub fn symbol_parts(name: &str, key: u64) -> (Expr, u64) {
    shared_symbol(name, key)
}

/// The system being parsed, counted: symbol nodes are shared within one system only.
static SYSTEM: AtomicU64 = AtomicU64::new(0);

/// Starts a new system: from here on, no symbol node built for an earlier one is reused, so
/// parsing a text does the same work however often it was parsed before (nothing is
/// remembered from one system to the next; a benchmark round is a fresh parse).
pub fn new_system() {
    SYSTEM.fetch_add(1, AtomicOrdering::Relaxed);
}

/// The node and tree of symbol `name`: those this thread built for the same system
/// ([`new_system`]), or new ones.  The equations of a system use the same names over and
/// over, so most symbol nodes are shared instead of built (and later freed) once per
/// equation, and their trees looked up instead of hashed again; nodes are immutable and
/// compared by content, so sharing them changes nothing but the cost.  A fixed table of
/// slots, a name per slot, picked by a cheap word of the name (`key`, its first bytes, with
/// its last bytes and length mixed in), bounds what a thread keeps.
fn shared_symbol(name: &str, key: u64) -> (Expr, u64) {
    thread_local! {
        static SYMBOLS: Slots = const { RefCell::new(Vec::new()) };
    }
    let bytes = name.as_bytes();
    let last = match bytes.last_chunk::<8>() {
        Some(tail) if bytes.len() > 8 => u64::from_le_bytes(*tail),
        _ => 0,
    };
    let word = key ^ last.rotate_left(29) ^ bytes.len() as u64;
    let (tree, e) = per_system(
        &SYMBOLS,
        10,
        word,
        |_, e| matches!(e.view(), View::Sym(n) if n == name),
        || (symbol_tree(name), Expr::symbol(name)),
    );
    (e, tree)
}

/// A thread's table of nodes built for one system: slots of (system, a word kept with the
/// node, the node).
type Slots = RefCell<Vec<Option<(u64, u64, Expr)>>>;

/// The (word, node) in the slot of `table` (of `2^log2` slots) that `hash` picks, if it was
/// built for the current system ([`new_system`]) and `same` accepts it; else `build`'s,
/// which takes the slot.
fn per_system(
    table: &'static LocalKey<Slots>,
    log2: u32,
    hash: u64,
    same: impl Fn(u64, &Expr) -> bool,
    build: impl FnOnce() -> (u64, Expr),
) -> (u64, Expr) {
    let index = (hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - log2)) as usize;
    let system = SYSTEM.load(AtomicOrdering::Relaxed);
    table.with_borrow_mut(|slots| {
        if slots.is_empty() {
            slots.resize(1 << log2, None);
        }
        let slot = &mut slots[index];
        if let Some((s, word, e)) = slot {
            if *s == system && same(*word, e) {
                return (*word, e.clone());
            }
        }
        let (word, e) = build();
        *slot = Some((system, word, e.clone()));
        (word, e)
    })
}

/// The symbol with node and tree `parts` ([`symbol_parts`]) and name table index `id`.
pub fn symbol(parts: &(Expr, u64), id: u32, start: usize) -> Value {
    Value {
        tree: parts.1,
        expr: parts.0.clone(),
        shape: Shape::Symbol,
        names: Names::one(id),
        has_piecewise: false,
        has_empty_piecewise: false,
        has_logic: false,
        start,
        form: Form::new(2, Negation::Plain),
    }
}

pub fn int(value: &BigInt, start: usize) -> Value {
    let (number, tree) = match i64::try_from(value) {
        Ok(small) => (Number::int(small), small_int_tree(small)),
        Err(_) => (Number::integer(value.clone()), int_tree(value)),
    };
    Value {
        tree,
        expr: Expr::number(number),
        shape: Shape::Int(Arc::new(value.clone())),
        names: Names::default(),
        has_piecewise: false,
        has_empty_piecewise: false,
        has_logic: false,
        start,
        form: Form::new(2, Negation::Literal),
    }
}

/// An integer literal that fits a `u64`: what [`int`] gives for it, without a big integer
/// built and cloned on the way (the size bound is far above 64 bits).
///
/// Literals below [`SHARED_LITERALS`] (most of those in equations) have their node and value
/// built once per thread and shared, as [`Expr::number`] shares -1, 0 and 1: nodes are
/// immutable and compared by content, so sharing them changes nothing but the cost (two
/// allocations and frees a literal).  The table depends on no input.
pub fn small_int(value: u64, start: usize) -> Value {
    const _: () = assert!(super::super::rules::MAX_INPUT_BITS >= 64);
    thread_local! {
        static SHARED: Vec<(Expr, Arc<BigInt>)> = (0..SHARED_LITERALS)
            .map(|v| (Expr::int(v as i64), Arc::new(BigInt::from(v))))
            .collect();
    }
    let Ok(small) = i64::try_from(value) else {
        return int(&BigInt::from(value), start);
    };
    let (expr, literal) = if value < SHARED_LITERALS {
        SHARED.with(|shared| shared[value as usize].clone())
    } else {
        (
            Expr::number(Number::int(small)),
            Arc::new(BigInt::from(value)),
        )
    };
    Value {
        tree: small_int_tree(small),
        expr,
        shape: Shape::Int(literal),
        names: Names::default(),
        has_piecewise: false,
        has_empty_piecewise: false,
        has_logic: false,
        start,
        form: Form::new(2, Negation::Literal),
    }
}

/// Integer literals [`small_int`] builds once.
const SHARED_LITERALS: u64 = 256;

/// A float literal: the double it denotes; one that overflows is SymPy's `oo`.
pub fn float(value: f64, start: usize) -> Value {
    let (expr, tree) = if value.is_finite() {
        (shared_float(value), mix(&[tag::FLOAT, value.to_bits()]))
    } else {
        let oo = Expr::constant("oo");
        let tree = atom_tree(&oo);
        (oo, tree)
    };
    Value {
        tree,
        expr,
        shape: Shape::Float(value),
        names: Names::default(),
        has_piecewise: false,
        has_empty_piecewise: false,
        has_logic: false,
        start,
        // A `Float` counts half a node in SymPy's `_nodes`; `oo` is no `Float`.
        form: Form::new(if value.is_finite() { 1 } else { 2 }, Negation::Literal),
    }
}

/// The node of the finite float `value`: one this thread built for the same system
/// ([`new_system`]), or a new one, as [`shared_symbol`] shares symbol nodes (a system's
/// equations repeat their constants: `0.5*(x1 - x0)` in each of them).
fn shared_float(value: f64) -> Expr {
    thread_local! {
        static FLOATS: Slots = const { RefCell::new(Vec::new()) };
    }
    let bits = value.to_bits();
    per_system(
        &FLOATS,
        8,
        bits,
        |word, _| word == bits,
        || (bits, Expr::number(Number::Float(value))),
    )
    .1
}

pub fn boolean(value: bool, start: usize) -> Value {
    truth(value, start)
}

pub fn tuple(items: Vec<Value>, start: usize) -> Value {
    Value {
        expr: Expr::truth(false),
        shape: Shape::Tuple(Box::new(items)),
        names: Names::default(),
        has_piecewise: false,
        has_empty_piecewise: false,
        has_logic: false,
        start,
        tree: 0,
        form: Form::default(),
    }
}

fn arith(expr: Expr, parts: &[&Value], start: usize) -> Value {
    Value::combine(expr, Shape::Arith, parts, start)
}

/// An arithmetic node of two numbers, their expressions moved into `build`; `form` gives
/// its [`Form`] from the operands and the node's tree.
fn binary(
    a: Value,
    b: Value,
    build: impl FnOnce(Expr, Expr) -> Expr,
    tree: impl FnOnce(u64, u64) -> u64,
    form: impl FnOnce(&Value, &Value, u64) -> Form,
) -> Result<Value, Refusal> {
    a.check_number()?;
    b.check_number()?;
    let tree = tree(a.tree, b.tree);
    let form = form(&a, &b, tree);
    let mut names = a.names;
    names.extend(&b.names);
    drop_number_shape(a.shape);
    drop_number_shape(b.shape);
    Ok(Value {
        expr: build(a.expr, b.expr),
        shape: Shape::Arith,
        names,
        has_piecewise: a.has_piecewise || b.has_piecewise,
        has_empty_piecewise: a.has_empty_piecewise || b.has_empty_piecewise,
        has_logic: a.has_logic || b.has_logic,
        start: a.start,
        tree,
        form,
    })
}

/// Drops the shape of a value [`Value::check_number`] accepted: only an integer literal's
/// holds memory, and every operand of every operator would otherwise call the general drop.
fn drop_number_shape(shape: Shape) {
    match shape {
        Shape::Int(i) => drop(i),
        other => {
            debug_assert!(matches!(
                other,
                Shape::Float(_) | Shape::Symbol | Shape::Arith
            ));
            std::mem::forget(other)
        }
    }
}

/// Trees of the constants the lowering adds (`-1` of a negation, `1/2` of `sqrt`).
fn constant_tree(e: Expr) -> u64 {
    atom_tree(&e)
}

/// The tree of the `-1` that negations and divisions add, computed once.
fn minus_one_tree() -> u64 {
    static TREE: OnceLock<u64> = OnceLock::new();
    *TREE.get_or_init(|| small_int_tree(-1))
}

fn neg_tree(a: u64) -> u64 {
    mix(&[tag::MUL, minus_one_tree(), a])
}

fn div_tree(a: u64, b: u64) -> u64 {
    mix(&[tag::MUL, a, mix(&[tag::POW, b, minus_one_tree()])])
}

fn func_tree(name: &str, args: &[u64]) -> u64 {
    let mut parts = vec![tag::FUNC, hash_bytes(name.as_bytes())];
    parts.extend_from_slice(args);
    mix(&parts)
}

fn neg_expr(e: Expr) -> Expr {
    Expr::negation(e)
}

fn div_expr(a: Expr, b: Expr) -> Expr {
    Expr::mul(vec![a, Expr::pow(b, Expr::int(-1))])
}

/// A `+`/`-` or `*`/`/` chain being lowered.  Summing or multiplying one operator at a time
/// costs time quadratic in a chain's length, so past its first few operators a chain's
/// operands are collected and built once, at its end ([`end_chain`]), by
/// [`Expr::add_chain`] or [`Expr::mul_chain`], which give what the steps would.  Each
/// operator still checks its operands and hashes the unevaluated tree as it comes.
#[derive(Default)]
pub struct Chain {
    /// Operators of the chain so far (0: no chain is pending).
    operators: usize,
    /// A sum (else a product).
    sum: bool,
    /// The operands collected: the value built by the first steps, then one per operator.
    operands: Vec<Expr>,
}

/// Operators of a chain built one at a time before its operands are collected.
const STEPS: usize = 8;

impl Chain {
    /// Whether an operator (`+`/`-` when `sum`, else `*`/`/`) continues the pending chain.
    pub fn continues(&self, sum: bool) -> bool {
        self.operators == 0 || self.sum == sum
    }

    fn step(&mut self, sum: bool, a: Expr, b: Expr) -> Expr {
        self.operators += 1;
        self.sum = sum;
        if self.operators < STEPS {
            return if sum {
                Expr::add(vec![a, b])
            } else {
                Expr::mul(vec![a, b])
            };
        }
        if self.operands.is_empty() {
            self.operands.push(a);
        }
        self.operands.push(b);
        Expr::int(0) // a placeholder until the chain ends
    }
}

/// `a + b`, or `a - b` when `negate`, continuing `chain`.
pub fn add_to_chain(a: Value, b: Value, negate: bool, chain: &mut Chain) -> Result<Value, Refusal> {
    binary(
        a,
        b,
        |a, b| chain.step(true, a, if negate { neg_expr(b) } else { b }),
        |a, b| mix(&[tag::ADD, a, if negate { neg_tree(b) } else { b }]),
        |a, b, _| Form::sum(a, b, negate),
    )
}

/// `a * b`, or `a / b` when `divide`, continuing `chain`.
pub fn mul_to_chain(a: Value, b: Value, divide: bool, chain: &mut Chain) -> Result<Value, Refusal> {
    binary(
        a,
        b,
        |a, b| {
            let b = if divide {
                Expr::pow(b, Expr::int(-1))
            } else {
                b
            };
            chain.step(false, a, b)
        },
        |a, b| {
            if divide {
                div_tree(a, b)
            } else {
                mix(&[tag::MUL, a, b])
            }
        },
        |a, b, tree| Form::product(a, b, divide, tree),
    )
}

/// `value`, the pending chain's, with its sum or product built; no chain is pending after.
pub fn end_chain(mut value: Value, chain: &mut Chain) -> Value {
    if !chain.operands.is_empty() {
        let operands = std::mem::take(&mut chain.operands);
        value.expr = if chain.sum {
            Expr::add_chain(operands)
        } else {
            Expr::mul_chain(operands)
        };
    }
    chain.operators = 0;
    value
}

pub fn floordiv(a: Value, b: Value) -> Result<Value, Refusal> {
    binary(
        a,
        b,
        |a, b| Expr::func("floor", vec![div_expr(a, b)]),
        |a, b| func_tree("floor", &[div_tree(a, b)]),
        |a, b, _| Form::new(8 + a.form.nodes + b.form.nodes, Negation::Plain),
    )
}

pub fn modulo(a: Value, b: Value) -> Result<Value, Refusal> {
    binary(
        a,
        b,
        |a, b| Expr::func("Mod", vec![a, b]),
        |a, b| func_tree("Mod", &[a, b]),
        |a, b, _| Form::new(2 + a.form.nodes + b.form.nodes, Negation::Plain),
    )
}

pub fn pow(a: Value, b: Value) -> Result<Value, Refusal> {
    binary(
        a,
        b,
        Expr::pow,
        |a, b| mix(&[tag::POW, a, b]),
        |a, b, _| Form::new(2 + a.form.nodes + b.form.nodes, Negation::Plain),
    )
}

pub fn neg(a: Value, start: usize) -> Result<Value, Refusal> {
    a.check_number()?;
    let form = Form::neg(&a);
    drop_number_shape(a.shape);
    Ok(Value {
        expr: neg_expr(a.expr),
        shape: Shape::Arith,
        names: a.names,
        has_piecewise: a.has_piecewise,
        has_empty_piecewise: a.has_empty_piecewise,
        has_logic: a.has_logic,
        start,
        tree: neg_tree(a.tree),
        form,
    })
}

/// `not x` and `~x`: SymPy's `Not`, never evaluated.
pub fn not(a: Value, start: usize) -> Result<Value, Refusal> {
    let a = a.plain()?;
    // SymPy keeps `Not(1)` as it is (the literal is not made True here).
    let zero_or_one = matches!(&a.shape, Shape::Int(i) if i.is_one() || i.is_zero());
    if !a.is_condition() && !zero_or_one {
        return refuse(
            a.start,
            "expected a condition (a comparison, and/or/not, True/False), got a number",
        );
    }
    let expr = Expr::boolean(BoolOp::Not, vec![a.expr.clone()]);
    let mut v = Value::combine(expr, Shape::Arith, &[&a], start);
    v.tree = mix(&[tag::NOT, a.tree]);
    v.has_logic = true;
    v.shape = Shape::Not(Box::new(a));
    Ok(v)
}

/// SymPy's evaluated `Not(a)`, which `Xor` builds: `Not(True)` is False, `Not(Not(a))` is
/// `a`, the negation of a relation is the negated relation.
fn evaluated_not(a: Value, start: usize) -> Value {
    match a.shape {
        Shape::Truth(b) => truth(!b, start),
        Shape::Not(inner) => *inner,
        Shape::Rel(mut rel) => {
            let neg = negate(rel.op);
            let expr = Expr::relation(neg, rel.left.expr.clone(), rel.right.expr.clone());
            let tree = mix(&[tag::REL, neg as u64, rel.left.tree, rel.right.tree]);
            rel.op = neg;
            Value {
                expr,
                tree,
                shape: Shape::Rel(rel),
                ..a
            }
        }
        _ => {
            let expr = Expr::boolean(BoolOp::Not, vec![a.expr.clone()]);
            let mut v = Value::combine(expr, Shape::Arith, &[&a], start);
            v.tree = mix(&[tag::NOT, a.tree]);
            v.has_logic = true;
            v.shape = Shape::Not(Box::new(a));
            v
        }
    }
}

pub fn relation(op: RelOp, a: Value, b: Value) -> Result<Value, Refusal> {
    a.check_number()?;
    b.check_number()?;
    let expr = Expr::relation(op, a.expr.clone(), b.expr.clone());
    let side = |v: &Value| Side {
        expr: v.expr.clone(),
        tree: v.tree,
        symbol_free: v.names.is_empty(),
        literal: literal_of(&v.shape),
        form: v.form.clone(),
    };
    let shape = Shape::Rel(Box::new(Relation {
        op,
        left: side(&a),
        right: side(&b),
    }));
    let mut v = Value::combine(expr, shape, &[&a, &b], a.start);
    v.tree = mix(&[tag::REL, op as u64, a.tree, b.tree]);
    Ok(v)
}

fn dedup(args: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(args.len());
    let mut keys: Vec<Vec<u8>> = Vec::with_capacity(args.len());
    for a in args {
        let key = a.key();
        if !keys.contains(&key) {
            keys.push(key);
            out.push(a);
        }
    }
    out
}

/// The tree of a node whose arguments SymPy keeps as a set (`And`, `Or`, `Xor`, `Min`).
fn unordered_tree(kind: u64, args: &[Value]) -> u64 {
    let mut trees: Vec<u64> = args.iter().map(|a| a.tree).collect();
    trees.sort_unstable();
    trees.dedup();
    trees.insert(0, kind);
    mix(&trees)
}

fn lattice(op: BoolOp, mut args: Vec<Value>, start: usize) -> Value {
    match args.len() {
        0 => truth(op == BoolOp::And, start),
        1 => args.pop().expect("one argument"),
        _ => {
            let expr = Expr::boolean(op, args.iter().map(|a| a.expr.clone()).collect());
            let parts: Vec<&Value> = args.iter().collect();
            let mut v = Value::combine(expr, Shape::Arith, &parts, start);
            v.tree = unordered_tree(tag::LATTICE + op as u64 * 16, &args);
            v.has_logic = true;
            v.shape = if op == BoolOp::And {
                Shape::And(Box::new(args))
            } else {
                Shape::Or(Box::new(args))
            };
            v
        }
    }
}

/// `args` without the relations whose canonical form an earlier one has, or `None` where
/// one's `c.negated.canonical` is an earlier one's (SymPy's `And`/`Or._new_args_filter`).
/// `And` visits them in SymPy's `ordered` order (`sympy_order`), `Or` as given; which is
/// first matters, as `canonical` is not idempotent.
fn relations(args: Vec<Value>, sympy_order: bool) -> Option<Vec<Value>> {
    let mut order: Vec<usize> = (0..args.len()).filter(|&i| args[i].is_relation()).collect();
    if order.len() < 2 {
        return Some(args);
    }
    if sympy_order {
        order.sort_by_key(|&i| args[i].rank());
    }
    let mut seen: Vec<RelationKey> = Vec::with_capacity(order.len());
    let mut dropped = vec![false; args.len()];
    for i in order {
        let Shape::Rel(rel) = &args[i].shape else {
            unreachable!("a relation")
        };
        let keys = rel.keys(false);
        if seen.contains(&keys.canonical) {
            dropped[i] = true;
            continue;
        }
        if seen.contains(&keys.negated) {
            return None;
        }
        seen.push(keys.canonical);
    }
    Some(
        args.into_iter()
            .zip(dropped)
            .filter_map(|(a, d)| (!d).then_some(a))
            .collect(),
    )
}

/// SymPy's `And(*args)`.
pub fn and(args: Vec<Value>, start: usize) -> Result<Value, Refusal> {
    let mut flat = Vec::with_capacity(args.len());
    for a in args {
        let a = a.condition()?;
        match a.shape {
            Shape::Truth(false) => return Ok(truth(false, start)),
            Shape::Truth(true) => {}
            Shape::And(children) => flat.extend(*children),
            _ => flat.push(a),
        }
    }
    let Some(kept) = relations(flat, true) else {
        return Ok(truth(false, start));
    };
    Ok(lattice(BoolOp::And, dedup(kept), start))
}

/// SymPy's `Or(*args)`.
pub fn or(args: Vec<Value>, start: usize) -> Result<Value, Refusal> {
    let args = args
        .into_iter()
        .map(Value::condition)
        .collect::<Result<Vec<_>, _>>()?;
    let Some(kept) = relations(args, false) else {
        return Ok(truth(true, start));
    };
    let mut flat = Vec::with_capacity(kept.len());
    for a in kept {
        match a.shape {
            Shape::Truth(true) => return Ok(truth(true, start)),
            Shape::Truth(false) => {}
            Shape::Or(children) => flat.extend(*children),
            _ => flat.push(a),
        }
    }
    Ok(lattice(BoolOp::Or, dedup(flat), start))
}

fn toggle(set: &mut Vec<Value>, v: Value) {
    let key = v.key();
    match set.iter().position(|o| o.key() == key) {
        Some(i) => {
            set.remove(i);
        }
        None => set.push(v),
    }
}

/// SymPy's `Xor(*args)`: repeated arguments cancel, numbers count by truth.
pub fn xor(args: Vec<Value>, start: usize) -> Result<Value, Refusal> {
    let mut set: Vec<Value> = Vec::new();
    for a in args {
        let a = a.plain()?;
        match &a.shape {
            Shape::Int(i) if i.is_zero() => {}
            Shape::Float(f) if *f == 0.0 => {}
            Shape::Int(_) | Shape::Float(_) | Shape::Truth(true) => {
                toggle(&mut set, truth(true, a.start))
            }
            Shape::Truth(false) => {}
            Shape::Xor(_) => {
                let Shape::Xor(children) = a.shape else {
                    unreachable!("matched")
                };
                for c in *children {
                    toggle(&mut set, c);
                }
            }
            _ if a.is_condition() => toggle(&mut set, a),
            _ => {
                return refuse(
                    a.start,
                    "expected a condition (a comparison, and/or/not, True/False), got a number",
                )
            }
        }
    }
    // A relation and its negation cancel to True, a relation repeated to False.
    let mut odd = false;
    let mut remove: Vec<(usize, usize)> = Vec::new();
    let rels: Vec<usize> = (0..set.len()).filter(|&i| set[i].is_relation()).collect();
    let keys: Vec<RelationKeys> = rels
        .iter()
        .map(|&i| match &set[i].shape {
            Shape::Rel(rel) => rel.keys(true),
            _ => unreachable!("a relation"),
        })
        .collect();
    for (k, &i) in rels.iter().enumerate() {
        let (c, nc) = (&keys[k].canonical, &keys[k].negated);
        for (kj, &j) in rels.iter().enumerate().skip(k + 1) {
            let cj = &keys[kj].canonical;
            if cj == nc {
                odd = !odd;
                remove.push((i, j));
                break;
            }
            if cj == c {
                remove.push((i, j));
                break;
            }
        }
    }
    let mut gone: Vec<usize> = remove.iter().flat_map(|&(i, j)| [i, j]).collect();
    gone.sort_unstable();
    if gone.windows(2).any(|w| w[0] == w[1]) {
        return refuse(start, "Xor of relations that cancel more than once");
    }
    for i in gone.into_iter().rev() {
        set.remove(i);
    }
    if odd {
        toggle(&mut set, truth(true, start));
    }
    Ok(xor_set(set, start))
}

fn xor_set(mut set: Vec<Value>, start: usize) -> Value {
    if let Some(i) = set
        .iter()
        .position(|v| matches!(v.shape, Shape::Truth(true)))
    {
        if set.len() > 1 {
            set.remove(i);
            return evaluated_not(xor_set(set, start), start);
        }
    }
    match set.len() {
        0 => truth(false, start),
        1 => set.pop().expect("one argument"),
        _ => {
            let expr = Expr::boolean(BoolOp::Xor, set.iter().map(|a| a.expr.clone()).collect());
            let parts: Vec<&Value> = set.iter().collect();
            let mut v = Value::combine(expr, Shape::Arith, &parts, start);
            v.tree = unordered_tree(tag::XOR, &set);
            v.has_logic = true;
            v.shape = Shape::Xor(Box::new(set));
            v
        }
    }
}

/// SymPy's `Piecewise(*pairs)` (unevaluated).
pub fn piecewise(pairs: Vec<(Value, Value)>, start: usize) -> Result<Value, Refusal> {
    if pairs.is_empty() {
        return refuse(
            start,
            "Piecewise takes at least one (expression, condition) pair",
        );
    }
    let mut kept: Vec<(Value, Value)> = Vec::with_capacity(pairs.len());
    for (e, c) in pairs {
        let e = e.plain()?;
        let c = match &c.shape {
            Shape::Int(i) if i.is_one() => truth(true, c.start),
            Shape::Int(i) if i.is_zero() => truth(false, c.start),
            Shape::Truth(_) => c,
            _ if c.has_piecewise => {
                return refuse(
                    c.start,
                    "a condition cannot contain a Piecewise or conditional expression",
                )
            }
            _ => c.condition()?,
        };
        match c.shape {
            Shape::Truth(false) => continue,
            Shape::Truth(true) => {
                kept.push((e, c));
                break;
            }
            _ => kept.push((e, c)),
        }
    }
    if kept.len() == 1 && matches!(kept[0].1.shape, Shape::Truth(true)) {
        return Ok(kept.pop().expect("one pair").0);
    }
    let expr = Expr::piecewise(
        kept.iter()
            .map(|(e, c)| (e.expr.clone(), c.expr.clone()))
            .collect(),
    );
    let parts: Vec<&Value> = kept.iter().flat_map(|(e, c)| [e, c]).collect();
    let mut v = arith(expr, &parts, start);
    let mut trees = vec![tag::PIECEWISE];
    trees.extend(parts.iter().map(|p| p.tree));
    v.tree = mix(&trees);
    v.has_piecewise = true;
    v.has_empty_piecewise |= kept.is_empty();
    v.has_logic = true;
    Ok(v)
}

/// `body if test else orelse`: `Piecewise((body, test), (orelse, True))`.
pub fn conditional(body: Value, test: Value, orelse: Value) -> Result<Value, Refusal> {
    let start = body.start;
    let t = truth(true, orelse.start);
    piecewise(vec![(body, test), (orelse, t)], start)
}

fn arity(name: &str) -> Option<(usize, usize)> {
    Some(match name {
        "atan2" | "Mod" | "hypot" | "Eq" | "Ne" | "Lt" | "Le" | "Gt" | "Ge" => (2, 2),
        "log" | "Heaviside" => (1, 2),
        "Min" | "Max" | "min" | "max" | "And" | "Or" | "Xor" => (0, usize::MAX),
        _ if FUNCTIONS.contains(&name) || ALIASES.contains(&name) => (1, 1),
        _ => return None,
    })
}

fn allowed() -> String {
    let mut names: Vec<&str> = FUNCTIONS.iter().chain(ALIASES.iter()).copied().collect();
    names.sort_by_key(|n| n.to_lowercase());
    names.join(", ")
}

fn rational(p: i64, q: i64) -> Expr {
    Expr::number(Number::exact(BigRational::new(p.into(), q.into())))
}

/// A call of a whitelisted function (or `Piecewise`, whose arguments are pairs).
pub fn call(name: &str, args: Vec<Value>, start: usize) -> Result<Value, Refusal> {
    if name == "Piecewise" {
        let mut pairs = Vec::with_capacity(args.len());
        for a in args {
            match a.shape {
                Shape::Tuple(mut items) if items.len() == 2 => {
                    let c = items.pop().expect("two items");
                    pairs.push((items.pop().expect("two items"), c));
                }
                _ => return refuse(a.start, "Piecewise takes (expression, condition) pairs"),
            }
        }
        return piecewise(pairs, start);
    }
    let Some((min, max)) = arity(name) else {
        return refuse(
            start,
            format!("unknown function {name}() (allowed: {})", allowed()),
        );
    };
    if args.len() < min || args.len() > max {
        let takes = match (min, max) {
            (m, n) if m == n => format!("{m}"),
            (m, n) => format!("{m} or {n}"),
        };
        return refuse(
            start,
            format!(
                "bad call to {name}(): takes {takes} argument{} ({} given)",
                if max == 1 { "" } else { "s" },
                args.len()
            ),
        );
    }
    match name {
        "And" => return and(args, start),
        "Or" => return or(args, start),
        "Xor" => return xor(args, start),
        "Not" => {
            let a = args.into_iter().next().expect("one argument");
            return not(a, start);
        }
        "Eq" | "Ne" | "Lt" | "Le" | "Gt" | "Ge" => {
            let op = match name {
                "Eq" => RelOp::Eq,
                "Ne" => RelOp::Ne,
                "Lt" => RelOp::Lt,
                "Le" => RelOp::Le,
                "Gt" => RelOp::Gt,
                _ => RelOp::Ge,
            };
            let mut it = args.into_iter();
            let a = it.next().expect("two arguments");
            let b = it.next().expect("two arguments");
            let mut v = relation(op, a, b)?;
            v.start = start;
            return Ok(v);
        }
        _ => {}
    }
    let args = args
        .into_iter()
        .map(Value::number)
        .collect::<Result<Vec<_>, _>>()?;
    let trees: Vec<u64> = args.iter().map(|a| a.tree).collect();
    let half = || constant_tree(rational(1, 2));
    let tree = match name {
        "sqrt" => mix(&[tag::POW, trees[0], half()]),
        "cbrt" => mix(&[tag::POW, trees[0], constant_tree(rational(1, 3))]),
        "exp2" => mix(&[tag::POW, small_int_tree(2), trees[0]]),
        "Min" | "Max" | "min" | "max" => {
            let head = if name.eq_ignore_ascii_case("min") {
                "Min"
            } else {
                "Max"
            };
            unordered_tree(hash_bytes(head.as_bytes()), &args)
        }
        "Heaviside" if trees.len() == 1 => func_tree("Heaviside", &[trees[0], half()]),
        "abs" => func_tree("Abs", &trees),
        "ceil" => func_tree("ceiling", &trees),
        _ => func_tree(name, &trees),
    };
    let mut exprs: Vec<Expr> = args.iter().map(|a| a.expr.clone()).collect();
    let expr = match name {
        "sqrt" => Expr::pow(exprs.remove(0), rational(1, 2)),
        "cbrt" => Expr::pow(exprs.remove(0), rational(1, 3)),
        "exp2" => Expr::pow(Expr::int(2), exprs.remove(0)),
        "Min" | "Max" | "min" | "max" => {
            let head = if name.eq_ignore_ascii_case("min") {
                "Min"
            } else {
                "Max"
            };
            match exprs.len() {
                // A lone argument is returned as it is, shape and all.
                1 => return Ok(args.into_iter().next().expect("one argument")),
                0 if head == "Min" => Expr::constant("oo"),
                0 => Expr::mul(vec![Expr::int(-1), Expr::constant("oo")]),
                _ => Expr::func(head, exprs),
            }
        }
        "Heaviside" if exprs.len() == 1 => {
            exprs.push(rational(1, 2));
            Expr::func("Heaviside", exprs)
        }
        "abs" => Expr::func("Abs", exprs),
        "ceil" => Expr::func("ceiling", exprs),
        _ => Expr::func(name, exprs),
    };
    // Node counts of SymPy's tree: the call and its arguments (a set for `Min`/`Max`),
    // and the exponent `1/2`, `1/3`, base 2 or `1/2` the spellings add.
    let mut nodes = 2 + match name {
        "Min" | "Max" | "min" | "max" => args
            .iter()
            .enumerate()
            .filter(|(i, a)| !args[..*i].iter().any(|b| b.tree == a.tree))
            .map(|(_, a)| a.form.nodes)
            .sum::<u32>(),
        _ => args.iter().map(|a| a.form.nodes).sum::<u32>(),
    };
    if matches!(name, "sqrt" | "cbrt" | "exp2") || (name == "Heaviside" && args.len() == 1) {
        nodes += 2;
    }
    // `Min()` and `Max()` are the numbers `oo` and `-oo`: not modelled.
    let negation = if args.is_empty() {
        Negation::Opaque
    } else {
        Negation::Plain
    };
    let parts: Vec<&Value> = args.iter().collect();
    let mut v = arith(expr, &parts, start);
    v.tree = tree;
    v.form = Form::new(nodes, negation);
    Ok(v)
}
