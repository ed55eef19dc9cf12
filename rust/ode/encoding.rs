//! The canonical form of an expression: normalising constructors, the versioned byte encoding
//! and a readable rendering of the same form.
//!
//! Every constructor returns an already-normalised node; a parent orders commutative
//! arguments as their encodings would be ordered, without writing any encoding (see
//! Representation below).
//!
//! # Encoding (format version [`FORMAT_VERSION`])
//!
//! A node is one tag byte and a payload; every variable-length part is prefixed with its length
//! (u32, big-endian), every list with its count, so the encoding is prefix-free:
//!
//! | tag | node | payload |
//! | --- | --- | --- |
//! | `I` | integer | sign byte (1 = negative), len, big-endian magnitude |
//! | `Q` | rational p/q (q > 1, lowest terms) | sign byte, len, p magnitude, len, q magnitude |
//! | `F` | finite double | 8 bytes, IEEE-754 bits big-endian |
//! | `S` | symbol | len, UTF-8 name |
//! | `K` | named constant (`pi`, `E`, `I`, `oo`, `nan`, …) | len, UTF-8 name |
//! | `A` / `M` | sum / product | count, arguments sorted by encoding |
//! | `P` | power | base, exponent |
//! | `f` | function call | len, name, count, arguments (sorted for `Min`/`Max`) |
//! | `W` | piecewise | count, (expression, condition) pairs in order |
//! | `R` | relation | one byte `<` `{` (≤) `=` `!`, left, right |
//! | `B` | boolean operator | one byte `&` `|` `~` `^`, count, arguments (sorted for `&` `|` `^`) |
//! | `T` / `U` | true / false | — |
//!
//! # Normalisation rules
//!
//! 1. Nested sums and products are flattened.
//! 2. Numbers are folded exactly, as rationals (a double is the dyadic rational it denotes),
//!    and keep their exact value through later folds ([`Number::Approx`]); a number a float
//!    took part in is encoded as the double it rounds to, so it is rounded once and folding
//!    order cannot move the last bit.  Exact zero terms and exact-one factors are dropped (a
//!    float zero term stays); a zero factor makes the product 0.
//! 3. Terms of a sum that differ only in their numeric coefficient are merged (`a + 2*a` →
//!    `3*a`); factors of a product with the same base are merged by adding exponents
//!    (`x*x**-1` → 1, `x*x` → `x**2`).
//! 4. Sums as factors are normalised by content and primitive part (`primitive`): a sum to
//!    an integer power is `content**n * primitive**n`; sum factors of a product are grouped by
//!    primitive part; a numeric coefficient other than 1 of a product with exactly one power-1
//!    sum factor is distributed over that sum (`0.001*(-a - b)/C` ≡ `(-0.001*a - 0.001*b)/C`);
//!    the coefficient of a term `x*S` is the content of `S`; two or more power-1 sum factors
//!    are all primitive, their contents in the coefficient.  So the form does not depend on
//!    where a coefficient sits (`(-a*(a + b))**-1*a` ≡ `-1/(a + b)`).
//! 5. Powers: `x**0` → 1, `x**1` → x, a number to a small integer power is folded exactly,
//!    `(x**a)**n` → `x**(a*n)` and `(x*y)**n` → `x**n*y**n` and `exp(u)**n` → `exp(n*u)` for integer n,
//!    `E**x` → `exp(x)`.
//! 6. Arguments of commutative operators (sum, product, `Min`, `Max`, `And`, `Or`, `Xor`, the
//!    two sides of `Eq`/`Ne`) are ordered by their encodings; `a > b` is written `b < a` and
//!    `a >= b` is written `b <= a`.
//! 7. `exp` of a float is evaluated (correctly rounded, as SymPy's mpmath does), and a float
//!    term of a sum inside `exp` is taken out as a factor: `exp(-4.0 - 0.1*V)` →
//!    `0.01831563888873418*exp(-0.1*V)`, which is what SymPy makes of the typed string.
//!
//! # Representation
//!
//! A node is shared (`Arc`): copying a subtree, as merging terms and taking a sum's content
//! do, is a reference count.  Nodes do not hold their encodings; a parent orders its
//! arguments by comparing nodes structurally ([`order`]), which orders them exactly as their
//! encodings would, and an encoding is written once, when it is asked for.

mod order;

use std::fmt::Write as _;
use std::sync::Arc;

use num_traits::One;

use super::number::{exp_rounded, pow_int, Acc, Number};
use order::Key;

/// Version of the canonical byte format; it is part of every hashed system encoding, so a
/// change to the rules above must bump it.
pub const FORMAT_VERSION: u32 = 2;

/// Chains shorter than this are built one operator at a time: checking whether they may be
/// built at once costs more than the steps.
const LONG_CHAIN: usize = 8;

/// Functions whose arguments may be reordered.
const COMMUTATIVE_FUNCTIONS: [&str; 2] = ["Min", "Max"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoolOp {
    And,
    Or,
    Not,
    Xor,
}

/// What a normalised node is, read-only (exported as a tree by `tree`): build nodes with
/// the normalising constructors of [`Expr`], never from a `Kind`.
#[derive(Clone, Debug)]
enum Kind {
    Num(Number),
    Sym(String),
    Const(String),
    Add(Vec<Expr>),
    Mul(Vec<Expr>),
    Pow(Expr, Expr),
    Func(String, Vec<Expr>),
    Piecewise(Vec<(Expr, Expr)>),
    Rel(RelOp, Expr, Expr),
    Bool(BoolOp, Vec<Expr>),
    Truth(bool),
}

#[derive(Debug)]
struct Node {
    kind: Kind,
    /// Nesting depth of the canonical tree (a leaf is 1): walks over the tree recurse this
    /// deep, so front ends bound it (`rules::MAX_DEPTH`).
    depth: u32,
    /// The first bytes of the encoding, which decide most comparisons ([`order::Head`]).
    head: order::Head,
}

impl Node {
    #[inline]
    fn depth_of(kind: &Kind) -> u32 {
        let below = |args: &[Expr]| args.iter().map(|a| a.depth()).max().unwrap_or(0);
        1 + match kind {
            Kind::Add(args) | Kind::Mul(args) | Kind::Bool(_, args) | Kind::Func(_, args) => {
                below(args)
            }
            Kind::Pow(b, e) | Kind::Rel(_, b, e) => b.depth().max(e.depth()),
            Kind::Piecewise(pairs) => pairs
                .iter()
                .map(|(e, c)| e.depth().max(c.depth()))
                .max()
                .unwrap_or(0),
            Kind::Num(_) | Kind::Sym(_) | Kind::Const(_) | Kind::Truth(_) => 0,
        }
    }
}

/// A normalised expression, ordered and compared as its canonical encoding.
#[derive(Clone, Debug)]
pub struct Expr(Arc<Node>);

/// A read-only view of one normalised node, for back ends that print the canonical form
/// (the code emitter): the children are the canonical children, in canonical order.
#[derive(Clone, Copy, Debug)]
pub enum View<'a> {
    Num(&'a Number),
    Sym(&'a str),
    Const(&'a str),
    Add(&'a [Expr]),
    Mul(&'a [Expr]),
    Pow(&'a Expr, &'a Expr),
    Func(&'a str, &'a [Expr]),
    Piecewise(&'a [(Expr, Expr)]),
    /// Only `Lt`, `Le`, `Eq` and `Ne` occur (rule 6).
    Rel(RelOp, &'a Expr, &'a Expr),
    Bool(BoolOp, &'a [Expr]),
    Truth(bool),
}

pub fn put_len(out: &mut Vec<u8>, n: usize) {
    let n = u32::try_from(n).expect("canonical parts are shorter than 4 GiB");
    out.extend_from_slice(&n.to_be_bytes());
}

pub fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// The four layouts (states, parameters, drivers, observables), each tagged and in layout
/// order: array order changes generated indices, so both the system encoding and the prehash
/// hash it the same way.
pub fn put_layouts(out: &mut Vec<u8>, layouts: [&Vec<String>; 4]) {
    for (tag, names) in [b's', b'p', b'd', b'o'].into_iter().zip(layouts) {
        out.push(tag);
        put_len(out, names.len());
        for n in names {
            put_str(out, n);
        }
    }
}

fn rel_byte(op: RelOp) -> u8 {
    match op {
        RelOp::Lt => b'<',
        RelOp::Le => b'{',
        RelOp::Eq => b'=',
        RelOp::Ne => b'!',
        RelOp::Gt | RelOp::Ge => unreachable!("normalised to Lt/Le"),
    }
}

fn bool_byte(op: BoolOp) -> u8 {
    match op {
        BoolOp::And => b'&',
        BoolOp::Or => b'|',
        BoolOp::Not => b'~',
        BoolOp::Xor => b'^',
    }
}

/// (content, primitive part) of a sum, or `None` when it is primitive already.
///
/// The content is the coefficient of the term whose non-numeric part has the smallest
/// encoding (a numeric term counts as the smallest); it is inexact if any coefficient is.  The
/// primitive part holds the exact ratios of the coefficients to the content, so it is the same
/// for `S` and `c*S` whatever the number `c`: `2*a + 2*b` → (2, `a + b`),
/// `-a - b` → (-1, `a + b`), `0.5*a + b` → (0.5, `a + 2*b`).
fn primitive(terms: &[Expr]) -> Option<(Number, Expr)> {
    let split: Vec<(Number, Option<Expr>)> = terms
        .iter()
        .map(|t| match t.kind() {
            Kind::Num(n) => (n.clone(), None),
            _ => {
                let (c, rest) = t.clone().split_coefficient();
                (c, Some(rest))
            }
        })
        .collect();
    // A float zero term (rule 2) has no ratio: it is left out of the primitive part, as
    // multiplying it by any coefficient would drop it.
    let lead = split
        .iter()
        .filter(|(c, _)| !c.is_zero())
        .min_by(|a, b| a.1.cmp(&b.1))
        .map(|(c, _)| c.value())?;
    let inexact = split.iter().any(|(c, _)| c.is_inexact());
    if !inexact && lead.is_one() && !split.iter().any(|(c, _)| c.is_zero()) {
        return None;
    }
    let content = Acc::of(lead.clone(), inexact).finish()?;
    let prim = split
        .into_iter()
        .filter(|(c, _)| !c.is_zero())
        .map(|(c, rest)| {
            let ratio = Number::exact(c.value() / &lead);
            match rest {
                None => Expr::number(ratio),
                Some(rest) if ratio.is_exact_one() => rest,
                Some(rest) => Expr::mul(vec![Expr::number(ratio), rest]),
            }
        })
        .collect();
    Some((content, Expr::add(prim)))
}

/// `args` with the arguments of every nested node of the same operator (`nested`) in its
/// place (rule 1); `args` itself when none is nested, as in most calls.
///
/// A nested node nothing else holds gives up its arguments instead of copying them, and a
/// leading one its whole vector: a chain `((a + b) + c) + d` built left to right moves its
/// growing sum along instead of copying (and later freeing) every term at every step.
fn flattened(args: Vec<Expr>, nested: impl Fn(&Kind) -> bool) -> Vec<Expr> {
    if !args.iter().any(|a| nested(a.kind())) {
        return args;
    }
    let mut flat = Vec::new();
    let rest = args.len();
    for (i, a) in args.into_iter().enumerate() {
        if !nested(a.kind()) {
            flat.push(a);
            continue;
        }
        let children = match Arc::try_unwrap(a.0) {
            Ok(Node {
                kind: Kind::Add(children) | Kind::Mul(children),
                ..
            }) => children,
            Ok(_) => unreachable!("only sums and products nest"),
            Err(shared) => match &shared.kind {
                Kind::Add(children) | Kind::Mul(children) => children.clone(),
                _ => unreachable!("only sums and products nest"),
            },
        };
        if flat.is_empty() {
            flat = children;
            flat.reserve(rest - i - 1);
        } else {
            flat.extend(children);
        }
    }
    flat
}

/// What a fold past the double range stands for: `oo`, or `-oo` (`-1*oo`, as SymPy and
/// the text front end write a negative infinity).
fn infinity(negative: bool) -> Expr {
    let oo = Expr::constant("oo");
    if negative {
        Expr::mul(vec![Expr::int(-1), oo])
    } else {
        oo
    }
}

/// `v` sorted stably by `cmp`: as `sort_by`, with the two-item case (most sums and products
/// the front ends build) settled by one comparison instead of the general sort's set-up.
fn sort_stable<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> std::cmp::Ordering) {
    match v {
        [] | [_] => {}
        [a, b] => {
            if cmp(b, a).is_lt() {
                v.swap(0, 1);
            }
        }
        _ => v.sort_by(cmp),
    }
}

/// What a term of a sum merges by (rule 3): its non-numeric part.
enum Rest {
    /// The term itself.
    Own,
    /// Factor `i` of a product of two whose other factor is a number.
    Factor(usize),
    /// A product of three or more without its numeric factor `i`.
    Without(usize),
    /// A product with a lone sum factor, made primitive ([`Expr::split_coefficient`]).
    Split(Expr),
}

/// A term of a sum and what it merges by.
type Keyed = (Expr, Rest);

fn key_of(t: &Keyed) -> Key<'_> {
    key_parts(&t.0, &t.1)
}

fn key_parts<'a>(term: &'a Expr, rest: &'a Rest) -> Key<'a> {
    match (rest, term.kind()) {
        (Rest::Own, _) => Key::Node(term),
        (Rest::Split(e), _) => Key::Node(e),
        (Rest::Factor(i), Kind::Mul(f)) => Key::Node(&f[*i]),
        (Rest::Without(i), Kind::Mul(f)) => Key::Without(f, *i),
        _ => unreachable!("only products have a numeric factor"),
    }
}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        order::cmp(self, other).is_eq()
    }
}

impl Eq for Expr {}

impl PartialOrd for Expr {
    fn partial_cmp(&self, other: &Expr) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The order of the canonical encodings, computed without them.
impl Ord for Expr {
    fn cmp(&self, other: &Expr) -> std::cmp::Ordering {
        order::cmp(self, other)
    }
}

impl Expr {
    fn new(kind: Kind) -> Expr {
        let depth = Node::depth_of(&kind);
        let head = order::Head::of(&kind);
        Expr(Arc::new(Node { kind, depth, head }))
    }

    /// A sum or product `e` with its arguments edited by `edit`: in `e`'s own node where
    /// nothing else holds it (a chain `a*b*c` or `a + b + c` grows one node instead of
    /// building and freeing one per step), else in a copy.  `edit` must leave a normalised
    /// list of two or more arguments.
    fn with_args(mut e: Expr, edit: impl FnOnce(&mut Vec<Expr>)) -> Expr {
        if let Some(node) = Arc::get_mut(&mut e.0) {
            let (Kind::Add(args) | Kind::Mul(args)) = &mut node.kind else {
                unreachable!("only sums and products")
            };
            edit(args);
            node.depth = Node::depth_of(&node.kind);
            node.head = order::Head::of(&node.kind);
            return e;
        }
        let (old, sum) = match e.kind() {
            Kind::Add(args) => (args, true),
            Kind::Mul(args) => (args, false),
            _ => unreachable!("only sums and products"),
        };
        // Room for the one argument most edits add.
        let mut args = Vec::with_capacity(old.len() + 1);
        args.extend_from_slice(old);
        edit(&mut args);
        Expr::new(if sum {
            Kind::Add(args)
        } else {
            Kind::Mul(args)
        })
    }

    fn kind(&self) -> &Kind {
        &self.0.kind
    }

    /// The canonical encoding of this expression.
    pub fn encoding(&self) -> Vec<u8> {
        let mut out = Vec::new();
        order::write(self, &mut out);
        out
    }

    /// Appends the canonical encoding to `out`, without keeping a copy.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        order::write(self, out);
    }

    /// What this node is, and its children, read-only.
    pub fn view(&self) -> View<'_> {
        match self.kind() {
            Kind::Num(n) => View::Num(n),
            Kind::Sym(name) => View::Sym(name),
            Kind::Const(name) => View::Const(name),
            Kind::Add(args) => View::Add(args),
            Kind::Mul(args) => View::Mul(args),
            Kind::Pow(b, e) => View::Pow(b, e),
            Kind::Func(name, args) => View::Func(name, args),
            Kind::Piecewise(pairs) => View::Piecewise(pairs),
            Kind::Rel(op, l, r) => View::Rel(*op, l, r),
            Kind::Bool(op, args) => View::Bool(*op, args),
            Kind::Truth(v) => View::Truth(*v),
        }
    }

    /// Nesting depth of the canonical tree: 1 for a leaf (flattened sums and products do not
    /// nest, so `a + b + c` has depth 2 however it was bracketed).
    pub fn depth(&self) -> u32 {
        self.0.depth
    }

    pub fn number(n: Number) -> Expr {
        // Every negation, division and merged exponent adds one of these: shared, not built.
        // Shared per thread, not per process: threads parsing one system at once would
        // otherwise update the same reference counts, a cache line the cores take from each
        // other thousands of times a system.
        thread_local! {
            static SMALL: [Expr; 3] = [-1, 0, 1].map(|i| Expr::new(Kind::Num(Number::Int(i))));
        }
        match n {
            Number::Int(i @ -1..=1) => SMALL.with(|small| small[(i + 1) as usize].clone()),
            n => Expr::new(Kind::Num(n)),
        }
    }

    pub fn int(n: i64) -> Expr {
        Expr::number(Number::int(n))
    }

    pub fn symbol(name: &str) -> Expr {
        Expr::new(Kind::Sym(name.to_owned()))
    }

    /// A named mathematical constant (`pi`, `E`, `I`, `oo`, …), distinct from a symbol of the
    /// same name.
    pub fn constant(name: &str) -> Expr {
        Expr::new(Kind::Const(name.to_owned()))
    }

    pub fn truth(value: bool) -> Expr {
        Expr::new(Kind::Truth(value))
    }

    fn as_number(&self) -> Option<&Number> {
        match self.kind() {
            Kind::Num(n) => Some(n),
            _ => None,
        }
    }

    fn is_sum(&self) -> bool {
        matches!(self.kind(), Kind::Add(_))
    }

    /// A sum, normalised by rules 1–3 and 6.
    pub fn add(args: Vec<Expr>) -> Expr {
        match Expr::added_apart(args) {
            Ok(sum) => sum,
            Err(args) => Expr::add_general(args),
        }
    }

    /// `a + b` of two terms that are neither numbers nor sums and do not merge (most sums the
    /// text front end builds), or of a sum and such a term ([`Expr::added_to_sum`]): what
    /// [`Expr::add`] gives, the terms in order, without its keyed sort and runs.  The
    /// arguments back where they might merge or flatten.
    fn added_apart(mut args: Vec<Expr>) -> Result<Expr, Vec<Expr>> {
        let [a, b] = args.as_slice() else {
            return Err(args);
        };
        if a.is_sum() != b.is_sum() {
            return Expr::added_to_sum(args);
        }
        let plain = |e: &Expr| !matches!(e.kind(), Kind::Num(_) | Kind::Add(_));
        // Two products with lone sum factors are keyed by their primitive forms: `add` then.
        if !plain(a) || !plain(b) || (a.lone_sum().is_some() && b.lone_sum().is_some()) {
            return Err(args);
        }
        let (rest_a, rest_b) = (a.rest(), b.rest());
        if order::cmp_keys(key_parts(a, &rest_a), key_parts(b, &rest_b)).is_eq() {
            return Err(args);
        }
        if order::cmp(b, a).is_lt() {
            args.swap(0, 1);
        }
        Ok(Expr::new(Kind::Add(args)))
    }

    /// `S + t` or `t + S` of a short sum `S` without a numeric term and a term `t` that is
    /// neither a number nor a sum, where no two of the terms merge (their keys differ) and at
    /// most one is a product with a lone sum factor: then every term stays as it is, and the
    /// sum is `S`'s terms with `t` put in its place.  The arguments back otherwise.
    fn added_to_sum(args: Vec<Expr>) -> Result<Expr, Vec<Expr>> {
        /// Longer sums go the general way: the keys are compared pairwise here.
        const SHORT: usize = 6;
        let sum_first = args[0].is_sum();
        let (s, t) = if sum_first {
            (&args[0], &args[1])
        } else {
            (&args[1], &args[0])
        };
        let Kind::Add(terms) = s.kind() else {
            unreachable!("one of the two is a sum")
        };
        let term = |i: usize| terms.get(i).unwrap_or(t);
        let all = terms.len() + 1;
        if terms.len() > SHORT
            || (0..all).any(|i| term(i).as_number().is_some())
            || (0..all)
                .filter(|&i| term(i).lone_sum().is_some())
                .nth(1)
                .is_some()
        {
            return Err(args);
        }
        let mut rests: [Rest; SHORT + 1] = std::array::from_fn(|_| Rest::Own);
        for (i, rest) in rests.iter_mut().enumerate().take(all) {
            *rest = term(i).rest();
        }
        let key = |i: usize| key_parts(term(i), &rests[i]);
        if (0..all).any(|i| (i + 1..all).any(|j| order::cmp_keys(key(i), key(j)).is_eq())) {
            return Err(args);
        }
        let at = terms.partition_point(|x| order::cmp(x, t).is_lt());
        let [a, b]: [Expr; 2] = args.try_into().expect("two arguments");
        let (s, t) = if sum_first { (a, b) } else { (b, a) };
        Ok(Expr::with_args(s, |terms| terms.insert(at, t)))
    }

    /// [`Expr::add`] without the shortcut of [`Expr::added_apart`].
    fn add_general(args: Vec<Expr>) -> Expr {
        let mut flat = flattened(args, |k| matches!(k, Kind::Add(_)));
        let mut constant = Acc::zero();
        // Terms that may merge (rule 3) need the same key: their non-numeric part.  A product
        // with a lone sum factor is keyed by its primitive form only when another such term
        // could merge with it; keys are compared in place, without copying terms.
        let lone = flat.iter().filter(|t| t.lone_sum().is_some()).count();
        let mut keyed: Vec<Keyed> = Vec::with_capacity(flat.len());
        for term in flat.drain(..) {
            if let Kind::Num(n) = term.kind() {
                constant.add(n);
                continue;
            }
            let rest = if lone > 1 && term.lone_sum().is_some() {
                Rest::Split(term.clone().split_coefficient().1)
            } else {
                term.rest()
            };
            keyed.push((term, rest));
        }
        sort_stable(&mut keyed, |a, b| order::cmp_keys(key_of(a), key_of(b)));
        // The terms take the room the arguments had (there are no more of them).
        let mut terms = flat;
        let mut run: Vec<Expr> = Vec::new();
        let mut iter = keyed.into_iter().peekable();
        while let Some(item) = iter.next() {
            let same = |next: &Keyed| order::cmp_keys(key_of(next), key_of(&item)).is_eq();
            if !iter.peek().is_some_and(same) {
                terms.push(item.0); // alone: already canonical, kept as it is
                continue;
            }
            run.clear();
            while let Some(next) = iter.next_if(same) {
                run.push(next.0);
            }
            run.push(item.0);
            if run[0].lone_sum().is_some() {
                // x*S1 + x*S2 → x*(S1 + S2), the sums added term by term: what SymPy's
                // (c1 + c2)*x*S distributed gives, floats staying where they were.
                let mut others = Vec::new();
                let mut summed = Vec::new();
                for t in run.drain(..) {
                    let i = t.lone_sum().expect("kept products have a lone sum");
                    let Kind::Mul(factors) = t.kind() else {
                        unreachable!("a product")
                    };
                    let mut factors = factors.clone();
                    let sum = factors.remove(i);
                    let Kind::Add(inner) = sum.kind() else {
                        unreachable!("a sum")
                    };
                    summed.extend_from_slice(inner);
                    others = factors;
                }
                others.push(Expr::add(summed));
                terms.push(Expr::mul(others));
                continue;
            }
            let mut coeff = Acc::zero();
            let mut rest = None;
            for t in run.drain(..) {
                let (c, r) = t.split_coefficient();
                coeff.add(&c);
                rest = Some(r);
            }
            let rest = rest.expect("a run has terms");
            let Some(c) = coeff.finish() else {
                terms.push(Expr::mul(vec![infinity(coeff.overflows_negative()), rest]));
                continue;
            };
            if c.is_zero() {
                continue;
            }
            if c.is_exact_one() {
                terms.push(rest);
            } else {
                terms.push(Expr::mul(vec![Expr::number(c), rest]));
            }
        }
        match constant.finish() {
            Some(c) if terms.is_empty() => return Expr::number(c),
            // A float zero stays: dropping it would lose that a float took part, and
            // `(0.3 + x - 0.3) + 3` would fold to `x + 3` but `0.3 + x - 0.3 + 3` to `x + 3.0`.
            Some(c) if !c.is_exact_zero() => terms.push(Expr::number(c)),
            Some(_) => {}
            None => terms.push(infinity(constant.overflows_negative())),
        }
        // Merging can leave sums inside (a merged coefficient distributed over a sum).
        if terms.iter().any(Expr::is_sum) {
            return Expr::add(terms);
        }
        match terms.len() {
            1 => terms.pop().expect("one term"),
            _ => {
                sort_stable(&mut terms, Expr::cmp);
                Expr::new(Kind::Add(terms))
            }
        }
    }

    /// The sum `((t0 + t1) + t2) + ... + tn` of a chain of operands, as adding them one at
    /// a time gives it, in time `O(n log n)` instead of `O(n^2)`.
    ///
    /// Adding the operands one at a time and adding them all at once agree except where a
    /// running total loses what the whole would keep: a term's coefficients cancelling before
    /// its last one comes (`0.1*x - 0.1*x + x` is `x`, while the three at once are `1.0*x`),
    /// a running total overflowing the double range, or a product with a lone sum factor
    /// (whose merging depends on what else is in the sum).  The chain is added at once only
    /// after checking that none of these can happen; otherwise one at a time, as before.
    ///
    /// ```
    /// use _core::ode::encoding::Expr;
    /// let x = || Expr::symbol("x");
    /// let chain = vec![x(), Expr::symbol("y"), Expr::mul(vec![Expr::int(2), x()])];
    /// assert_eq!(Expr::add_chain(chain).render(), "Add(Mul(3, x), y)");
    /// ```
    pub fn add_chain(operands: Vec<Expr>) -> Expr {
        fn terms(k: &Kind) -> Option<&[Expr]> {
            match k {
                Kind::Add(terms) => Some(terms),
                _ => None,
            }
        }
        Expr::chain(operands, Expr::add, terms, Expr::adds_alike_at_once)
    }

    /// The product `((f0*f1)*f2)*...*fn` of a chain of operands, as multiplying them one at a
    /// time gives it, at once where that is the same (see [`Expr::add_chain`]).
    ///
    /// Products are not associative in general (`exp(u)*exp(u)` is `exp(2*u)`, which a third
    /// `exp(u)` does not merge with), so a chain is multiplied at once only when every factor
    /// is a number, a symbol or a symbol to an integer power and no running coefficient
    /// overflows: then merging is adding integer exponents and folding numbers, both exact.
    pub fn mul_chain(operands: Vec<Expr>) -> Expr {
        fn factors(k: &Kind) -> Option<&[Expr]> {
            match k {
                Kind::Mul(factors) => Some(factors),
                _ => None,
            }
        }
        Expr::chain(operands, Expr::mul, factors, Expr::multiplies_alike_at_once)
    }

    /// A chain of `operands` of the operator `build`: at once, over the arguments of its
    /// operands (`args` of a node of that operator), where `alike` says that gives what the
    /// steps give; else one operand at a time.
    fn chain(
        operands: Vec<Expr>,
        build: fn(Vec<Expr>) -> Expr,
        args: fn(&Kind) -> Option<&[Expr]>,
        alike: fn(&[Expr]) -> bool,
    ) -> Expr {
        if operands.len() >= LONG_CHAIN {
            let mut flat = Vec::with_capacity(operands.len());
            for o in &operands {
                match args(o.kind()) {
                    Some(inner) => flat.extend_from_slice(inner),
                    None => flat.push(o.clone()),
                }
            }
            if alike(&flat) {
                return build(flat);
            }
        }
        let mut operands = operands.into_iter();
        let Some(first) = operands.next() else {
            return build(Vec::new()); // 0 or 1
        };
        operands.fold(first, |done, o| build(vec![done, o]))
    }

    fn multiplies_alike_at_once(factors: &[Expr]) -> bool {
        let mut coeff = Acc::one();
        for f in factors {
            match f.kind() {
                Kind::Num(n) => {
                    coeff.mul(n);
                    if coeff.finish().is_none() {
                        return false;
                    }
                }
                Kind::Sym(_) => {}
                Kind::Pow(b, e)
                    if matches!(b.kind(), Kind::Sym(_))
                        && matches!(e.kind(), Kind::Num(Number::Int(_))) => {}
                _ => return false,
            }
        }
        true
    }

    /// Whether adding `terms` (the terms of a chain's operands, in order) at once gives what
    /// adding them operand by operand gives (see [`Expr::add_chain`]).
    fn adds_alike_at_once(terms: &[Expr]) -> bool {
        if terms.iter().any(|t| t.lone_sum().is_some()) {
            return false;
        }
        let mut constant = Acc::zero();
        let mut keyed: Vec<Keyed> = Vec::with_capacity(terms.len());
        for t in terms {
            match t.kind() {
                Kind::Num(n) => {
                    constant.add(n);
                    if constant.finish().is_none() {
                        return false;
                    }
                }
                _ => keyed.push((t.clone(), t.rest())),
            }
        }
        // Stable: the terms of one key stay in chain order, the order they are added in.
        sort_stable(&mut keyed, |a, b| order::cmp_keys(key_of(a), key_of(b)));
        let mut start = 0;
        while start < keyed.len() {
            let mut end = start + 1;
            while end < keyed.len()
                && order::cmp_keys(key_of(&keyed[end]), key_of(&keyed[start])).is_eq()
            {
                end += 1;
            }
            let mut running = Acc::zero();
            for (i, (t, _)) in keyed[start..end].iter().enumerate() {
                running.add(&t.clone().split_coefficient().0);
                match running.finish() {
                    None => return false,
                    Some(c) if c.is_zero() && start + i + 1 < end => return false,
                    Some(_) => {}
                }
            }
            start = end;
        }
        true
    }

    /// What a term merges by in a sum: its non-numeric part, which is the term itself unless
    /// it is a product with a numeric factor (`2*x*y` → `x*y`).
    fn rest(&self) -> Rest {
        let Kind::Mul(factors) = self.kind() else {
            return Rest::Own;
        };
        match factors.iter().position(|f| f.as_number().is_some()) {
            None => Rest::Own,
            Some(i) if factors.len() == 2 => Rest::Factor(1 - i),
            Some(i) => Rest::Without(i),
        }
    }

    /// The position of the lone sum factor of a product with no numeric factor (where rule 4
    /// distributed the coefficient).
    fn lone_sum(&self) -> Option<usize> {
        let Kind::Mul(factors) = self.kind() else {
            return None;
        };
        if factors.iter().any(|f| f.as_number().is_some()) {
            return None;
        }
        let mut sums = factors.iter().enumerate().filter(|(_, f)| f.is_sum());
        match (sums.next(), sums.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    }

    /// (numeric coefficient, the rest) of a term: `-2*x*y` → (-2, `x*y`).  The coefficient of
    /// a product with a lone sum factor includes that sum's content (rule 4 distributed it
    /// there): `x*(2*a + 2*b)` → (2, `x*(a + b)`), so that the coefficient of `c*t` is always
    /// `c` times the coefficient of `t`.
    fn split_coefficient(self) -> (Number, Expr) {
        let Kind::Mul(factors) = self.kind() else {
            return (Number::int(1), self);
        };
        if let Some(i) = factors.iter().position(|f| f.as_number().is_some()) {
            let coeff = factors[i].as_number().expect("a number").clone();
            let rest = if factors.len() == 2 {
                factors[1 - i].clone()
            } else {
                // Still sorted and normalised: only the number was taken out.
                let mut rest = factors.clone();
                rest.remove(i);
                Expr::new(Kind::Mul(rest))
            };
            return (coeff, rest);
        }
        let mut sums = factors.iter().enumerate().filter(|(_, f)| f.is_sum());
        if let (Some((i, sum)), None) = (sums.next(), sums.next()) {
            let Kind::Add(terms) = sum.kind() else {
                unreachable!("selected sums only")
            };
            if let Some((content, prim)) = primitive(terms) {
                let mut factors = factors.clone();
                factors[i] = prim;
                sort_stable(&mut factors, Expr::cmp);
                return (content, Expr::new(Kind::Mul(factors)));
            }
        }
        (Number::int(1), self)
    }

    /// A product, normalised by rules 1–4 and 6.
    pub fn mul(args: Vec<Expr>) -> Expr {
        match Expr::mul_apart(args) {
            Ok(product) => product,
            Err(args) => Expr::mul_general(args),
        }
    }

    /// [`Expr::mul`] without the shortcut of [`Expr::mul_apart`].
    fn mul_general(args: Vec<Expr>) -> Expr {
        let mut factors = flattened(args, |k| matches!(k, Kind::Mul(_)));
        // Numbers fold in argument order (past the fold bound, order decides the rounding).
        let mut coeff = Acc::one();
        if factors.iter().any(|f| f.as_number().is_some()) {
            for n in factors.iter().filter_map(Expr::as_number) {
                coeff.mul(n);
            }
            factors.retain(|f| f.as_number().is_none());
        }
        // A sum factor is grouped by its primitive part (rule 4), so that
        // `(a + b)*(2*a + 2*b)**-1` cancels whichever form each sum came in; that is only
        // needed when another factor is a sum or a power of one.
        if factors.iter().filter(|f| f.is_sum_base()).nth(1).is_some() {
            return Expr::mul_merging(coeff, factors, true);
        }
        // Most products have no two factors of one base: nothing merges (`mul_merging` would
        // keep every factor as it is), so they go straight to the coefficient rules.
        sort_stable(&mut factors, |a, b| a.power_base().cmp(b.power_base()));
        if factors
            .windows(2)
            .any(|w| w[0].power_base() == w[1].power_base())
        {
            return Expr::mul_merging(coeff, factors, false);
        }
        Expr::mul_coefficient(coeff, factors, None)
    }

    /// `a*b` whose factors merge with nothing: no two share a base and at most one is a sum
    /// or a power of one (negations, coefficients, a coefficient distributed over a sum's
    /// terms, most products the text front end builds).  What [`Expr::mul`] gives, without
    /// its flattening, sorting and merge checks; the arguments back where those could matter.
    fn mul_apart(mut args: Vec<Expr>) -> Result<Expr, Vec<Expr>> {
        let [a, b] = args.as_slice() else {
            return Err(args);
        };
        if !matches!(a.kind(), Kind::Mul(_)) && !matches!(b.kind(), Kind::Mul(_)) {
            // Two factors: the product keeps the arguments' room.
            let pair = match (a.as_number(), b.as_number()) {
                (None, None) if !Expr::merge_nothing(&[a, b]) => return Err(args),
                (None, None) => true,
                (Some(n), None) | (None, Some(n)) => {
                    Expr::folds_to_itself(n) && !n.is_exact_one() && !a.is_sum() && !b.is_sum()
                }
                (Some(_), Some(_)) => false,
            };
            if pair {
                // Nothing to fold, merge or distribute: the two in order.
                sort_stable(&mut args, Expr::cmp);
                return Ok(Expr::new(Kind::Mul(args)));
            }
            let mut coeff = Acc::one();
            for n in args.iter().filter_map(Expr::as_number) {
                coeff.mul(n);
            }
            let given = match (a.as_number(), b.as_number()) {
                (Some(_), None) => Some(a.clone()),
                (None, Some(_)) => Some(b.clone()),
                _ => None,
            };
            args.retain(|f| f.as_number().is_none());
            return Ok(Expr::mul_coefficient(coeff, args, given));
        }
        if !matches!((a.kind(), b.kind()), (Kind::Mul(_), Kind::Mul(_))) {
            args = match Expr::multiplied_into(args) {
                Ok(product) => return Ok(product),
                Err(args) => args,
            };
        }
        let [a, b] = args.as_slice() else {
            unreachable!("two arguments")
        };
        let (fa, fb) = (a.factors(), b.factors());
        if fa.len() + fb.len() > 5 {
            return Err(args);
        }
        // Numbers fold in argument order, as in `mul`.
        let mut coeff = Acc::one();
        let mut rest = Vec::with_capacity(fa.len() + fb.len() + 1);
        for f in fa.iter().chain(fb) {
            match f.as_number() {
                Some(n) => coeff.mul(n),
                None => rest.push(f.clone()),
            }
        }
        if !Expr::merge_nothing(&rest) {
            return Err(args);
        }
        Ok(Expr::mul_coefficient(coeff, rest, None))
    }

    /// `p*f` or `f*p` of a short product `p` and a factor `f` that is neither a number nor a
    /// product, where nothing merges and the coefficient is distributed over no sum (rule 4):
    /// then the product is `p`'s factors with `f` put in its place (`-p*x`, `a*b*c`).  The
    /// arguments back otherwise.
    fn multiplied_into(args: Vec<Expr>) -> Result<Expr, Vec<Expr>> {
        /// At most this many factors are checked pairwise, as in `mul_apart`.
        const SHORT: usize = 4;
        let product_first = matches!(args[0].kind(), Kind::Mul(_));
        let (p, f) = if product_first {
            (&args[0], &args[1])
        } else {
            (&args[1], &args[0])
        };
        let Kind::Mul(factors) = p.kind() else {
            unreachable!("one of the two is a product")
        };
        if factors.len() > SHORT || matches!(f.kind(), Kind::Num(_) | Kind::Mul(_)) {
            return Err(args);
        }
        let mut others: [&Expr; SHORT + 1] = [f; SHORT + 1];
        let mut count = 1;
        let mut coefficient = false;
        for x in factors {
            if x.as_number().is_some() {
                coefficient = true;
            } else {
                others[count] = x;
                count += 1;
            }
        }
        let others = &others[..count];
        if (coefficient && others.iter().any(|x| x.is_sum())) || !Expr::merge_nothing(others) {
            return Err(args);
        }
        let at = factors.partition_point(|x| order::cmp(x, f).is_lt());
        let [a, b]: [Expr; 2] = args.try_into().expect("two arguments");
        let (p, f) = if product_first { (a, b) } else { (b, a) };
        Ok(Expr::with_args(p, |factors| factors.insert(at, f)))
    }

    /// `-e`: the product `-1*e`, as [`Expr::mul`] gives it.
    pub fn negation(e: Expr) -> Expr {
        let minus_one = Expr::int(-1);
        match Expr::scaled(&minus_one, e) {
            Ok(product) => product,
            Err(e) => Expr::mul(vec![minus_one, e]),
        }
    }

    /// `c*t` for a number `c` where only the coefficient changes: `t` is neither a number
    /// nor a sum, has at most five factors, none of them a sum (which would take the
    /// coefficient, rule 4), and its factors merge with nothing.  What [`Expr::mul`] gives,
    /// built from `t`'s factors (in `t`'s own node where nothing else holds it) without its
    /// argument vectors and checks: negations, a coefficient distributed over a sum's terms.
    /// `t` back where those could matter, or the coefficient is 0 or overflows.
    fn scaled(c: &Expr, t: Expr) -> Result<Expr, Expr> {
        const SHORT: usize = 5;
        let Some(n) = c.as_number() else {
            return Err(t);
        };
        match t.kind() {
            Kind::Num(_) | Kind::Add(_) => return Err(t),
            Kind::Mul(_) => {}
            // `c*t` is the two in order.
            _ if Expr::folds_to_itself(n) => {
                if n.is_exact_one() {
                    return Ok(t);
                }
                let mut factors = Vec::with_capacity(2);
                if order::cmp(&t, c).is_lt() {
                    factors.extend([t, c.clone()]);
                } else {
                    factors.extend([c.clone(), t]);
                }
                return Ok(Expr::new(Kind::Mul(factors)));
            }
            _ => {}
        }
        let factors = t.factors();
        if factors.len() > SHORT {
            return Err(t);
        }
        // Numbers fold in argument order, as in `mul`: `c` first.
        let mut coeff = Acc::one();
        coeff.mul(n);
        let mut number = None;
        let mut others: [&Expr; SHORT] = [c; SHORT];
        let mut count = 0;
        for (i, f) in factors.iter().enumerate() {
            match f.kind() {
                Kind::Num(k) => {
                    coeff.mul(k);
                    number = Some(i);
                }
                Kind::Add(_) => return Err(t),
                _ => {
                    others[count] = f;
                    count += 1;
                }
            }
        }
        if count == 0 || (count > 1 && !Expr::merge_nothing(&others[..count])) {
            return Err(t);
        }
        let Some(folded) = coeff.finish().filter(|k| !k.is_zero()) else {
            return Err(t);
        };
        if folded.is_exact_one() {
            return Ok(match (number, count) {
                (None, _) => t,
                (Some(i), 1) => factors[1 - i].clone(),
                (Some(i), _) => Expr::with_args(t, |factors| {
                    factors.remove(i);
                }),
            });
        }
        let node = if c.is_number_exactly(&folded) {
            c.clone()
        } else {
            Expr::number(folded)
        };
        // The other factors stay sorted; a number's tag is no other factor's, so it goes
        // where the sort would put it.
        let place = move |factors: &mut Vec<Expr>| {
            if let Some(i) = number {
                factors.remove(i);
            }
            let at = factors.partition_point(|f| order::cmp(f, &node).is_lt());
            factors.insert(at, node);
        };
        Ok(match t.kind() {
            Kind::Mul(_) => Expr::with_args(t, place),
            _ => {
                let mut factors = Vec::with_capacity(2);
                factors.push(t);
                place(&mut factors);
                Expr::new(Kind::Mul(factors))
            }
        })
    }

    /// Whether a lone number of a product folds to itself (the coefficient `mul` gives it is
    /// this number): not 0, and not `Exact` or `Approx`, which may be past the fold bound.
    fn folds_to_itself(n: &Number) -> bool {
        matches!(n, Number::Int(_) | Number::Ratio(_) | Number::Float(_)) && !n.is_zero()
    }

    /// `c*S` of a number `c` other than 0 and 1 and a sum `S`, term by term (rule 4), in
    /// `S`'s own vector where nothing else holds it.
    fn distributed(c: &Expr, sum: Expr) -> Expr {
        let scale = |t: Expr| match Expr::scaled(c, t) {
            Ok(product) => product,
            Err(t) => Expr::mul(vec![c.clone(), t]),
        };
        let terms: Vec<Expr> = match Arc::try_unwrap(sum.0) {
            Ok(Node {
                kind: Kind::Add(terms),
                ..
            }) => terms.into_iter().map(scale).collect(),
            Ok(_) => unreachable!("a sum"),
            Err(shared) => match &shared.kind {
                Kind::Add(terms) => terms.iter().cloned().map(scale).collect(),
                _ => unreachable!("a sum"),
            },
        };
        Expr::add(terms)
    }

    /// Whether the non-numeric `factors` of a product merge with nothing: no two share a
    /// base and at most one is a sum or a power of one.
    fn merge_nothing<F: std::borrow::Borrow<Expr>>(factors: &[F]) -> bool {
        let factor = |i: usize| factors[i].borrow();
        (0..factors.len())
            .filter(|&i| factor(i).is_sum_base())
            .nth(1)
            .is_none()
            && (0..factors.len()).all(|i| {
                (i + 1..factors.len()).all(|j| factor(i).power_base() != factor(j).power_base())
            })
    }

    /// Whether this is the number `n` as it is held (a double bit for bit), so that it can
    /// stand for a node of `n`.
    fn is_number_exactly(&self, n: &Number) -> bool {
        match (self.as_number(), n) {
            (Some(Number::Int(a)), Number::Int(b)) => a == b,
            (Some(Number::Float(a)), Number::Float(b)) => a.to_bits() == b.to_bits(),
            (Some(Number::Ratio(a)), Number::Ratio(b)) => a == b,
            _ => false,
        }
    }

    /// The factors of a product, or this one factor.
    fn factors(&self) -> &[Expr] {
        match self.kind() {
            Kind::Mul(f) => f,
            _ => std::slice::from_ref(self),
        }
    }

    /// A sum, or a power of one (grouped by primitive part in a product, rule 4).
    fn is_sum_base(&self) -> bool {
        match self.kind() {
            Kind::Add(_) => true,
            Kind::Pow(b, _) => b.is_sum(),
            _ => false,
        }
    }

    /// What a factor merges by in a product: the base of a power, else the factor.
    fn power_base(&self) -> &Expr {
        match self.kind() {
            Kind::Pow(b, _) => b,
            _ => self,
        }
    }

    /// A product's non-numeric factors merged by base (`x*x**-1` → 1, `x*x` → `x**2`), sums
    /// grouped by primitive part when `group_sums`; `coeff` holds its numbers.
    fn mul_merging(mut coeff: Acc, flat: Vec<Expr>, group_sums: bool) -> Expr {
        // (factor, (content, primitive part) of a sum factor)
        type Keyed = (Expr, Option<(Number, Expr)>);
        let mut keyed: Vec<Keyed> = Vec::with_capacity(flat.len());
        for factor in flat {
            let prim = match factor.kind() {
                Kind::Add(terms) if group_sums => primitive(terms),
                _ => None,
            };
            keyed.push((factor, prim));
        }
        fn base_of(k: &Keyed) -> &Expr {
            match (&k.1, k.0.kind()) {
                (Some((_, prim)), _) => prim,
                (None, Kind::Pow(b, _)) => b,
                (None, _) => &k.0,
            }
        }
        sort_stable(&mut keyed, |a, b| base_of(a).cmp(base_of(b)));
        let mut factors = Vec::with_capacity(keyed.len());
        let mut iter = keyed.into_iter().peekable();
        while let Some(item) = iter.next() {
            let same = |next: &Keyed| base_of(next) == base_of(&item);
            if !iter.peek().is_some_and(same) {
                // Alone: already canonical; a sum keeps its own coefficients (rule 4 below).
                factors.push(item.0);
                continue;
            }
            let mut run = vec![item];
            while let Some(next) = iter.next_if(|n| base_of(n) == base_of(&run[0])) {
                run.push(next);
            }
            let mut base = None;
            let mut exps = Vec::with_capacity(run.len());
            for (factor, prim) in run {
                let (b, e) = match (prim, factor.kind()) {
                    // Merging: a sum gives up its content to the coefficient.
                    (Some((content, prim)), _) => {
                        coeff.mul(&content);
                        (prim, Expr::int(1))
                    }
                    (None, Kind::Pow(b, e)) => (b.clone(), e.clone()),
                    (None, _) => (factor, Expr::int(1)),
                };
                base.get_or_insert(b);
                exps.push(e);
            }
            let f = Expr::pow(base.expect("a run has factors"), Expr::add(exps));
            match f.kind() {
                Kind::Num(n) => coeff.mul(n),
                _ => factors.push(f), // a product ((x*y)**n, c*S**n) is flattened below
            }
        }
        if factors.iter().any(|f| matches!(f.kind(), Kind::Mul(_))) {
            let mut again = factors;
            again.push(match coeff.finish() {
                Some(c) => Expr::number(c),
                None => infinity(coeff.overflows_negative()),
            });
            return Expr::mul(again);
        }
        // Two or more sums at power 1: nothing is distributed, so each gives its content to
        // the coefficient (`-(a + C)*(-a)*(a + b)` ≡ `a*(-a - b)*(-a - C)`).
        if factors.iter().filter(|f| f.is_sum()).nth(1).is_some() {
            for f in factors.iter_mut() {
                if let Kind::Add(terms) = f.kind() {
                    if let Some((content, prim)) = primitive(terms) {
                        coeff.mul(&content);
                        *f = prim;
                    }
                }
            }
        }
        Expr::mul_coefficient(coeff, factors, None)
    }

    /// A product of merged non-numeric `factors` (none of them a product) and the number
    /// `coeff`: a zero coefficient gives 0, a coefficient other than 1 is distributed over a
    /// lone power-1 sum (rule 4) or kept as a factor.
    ///
    /// `given` is a number node the coefficient may equal (the one number of `c*x`): then it
    /// is that node, not a new one.
    fn mul_coefficient(coeff: Acc, mut factors: Vec<Expr>, given: Option<Expr>) -> Expr {
        let Some(c) = coeff.finish() else {
            // An infinite coefficient is a factor `oo` (or `-oo`), normalised with the others
            // (`oo` alone is not a product); its own coefficient is ±1, which cannot overflow.
            factors.push(infinity(coeff.overflows_negative()));
            return Expr::mul(factors);
        };
        if c.is_zero() {
            return Expr::int(0);
        }
        let node = |c: Number| match given {
            Some(node) if node.is_number_exactly(&c) => node,
            _ => Expr::number(c),
        };
        if factors.is_empty() {
            return node(c);
        }
        if !c.is_exact_one() {
            let mut sums = factors.iter().enumerate().filter(|(_, f)| f.is_sum());
            match (sums.next(), sums.next()) {
                (Some((i, _)), None) => {
                    let sum = factors.remove(i);
                    // Assembled directly: a second pass would take the content out again.
                    let distributed = Expr::distributed(&node(c), sum);
                    let collapsed = !distributed.is_sum();
                    factors.push(distributed);
                    if collapsed {
                        // A term vanished (`-(a + 0.0)` is `-a`): what is left is normalised
                        // with the other factors, as though it had been given so.
                        return Expr::mul(factors);
                    }
                }
                _ => factors.push(node(c)),
            }
        }
        if factors.len() == 1 {
            return factors.pop().expect("one factor");
        }
        sort_stable(&mut factors, Expr::cmp);
        Expr::new(Kind::Mul(factors))
    }

    /// A power, normalised by rule 5.
    pub fn pow(base: Expr, exp: Expr) -> Expr {
        if let Some(e) = exp.as_number() {
            if e.is_exact_zero() {
                return Expr::int(1);
            }
            if e.is_exact_one() {
                return base;
            }
            if let Some(n) = &e.as_exact_integer() {
                if let Some(b) = base.as_number() {
                    if let Some(folded) = pow_int(b, n) {
                        return Expr::number(folded);
                    }
                }
                match base.kind() {
                    // (c*S)**n → c**n * S**n for a primitive sum S (rule 4).
                    Kind::Add(terms) => {
                        if let Some((content, prim)) = primitive(terms) {
                            if let Some(cn) = pow_int(&content, n) {
                                let power = Expr::new(Kind::Pow(prim, exp));
                                return Expr::mul(vec![Expr::number(cn), power]);
                            }
                        }
                    }
                    Kind::Pow(inner_base, inner_exp) => {
                        let exp = Expr::mul(vec![inner_exp.clone(), exp]);
                        return Expr::pow(inner_base.clone(), exp);
                    }
                    Kind::Mul(factors) => {
                        let n = Expr::number(e.clone());
                        return Expr::mul(
                            factors
                                .iter()
                                .map(|f| Expr::pow(f.clone(), n.clone()))
                                .collect(),
                        );
                    }
                    // SymPy: exp(u)**n == exp(n*u) for integer n.
                    Kind::Func(name, args) if name == "exp" && args.len() == 1 => {
                        return Expr::func("exp", vec![Expr::mul(vec![args[0].clone(), exp])]);
                    }
                    _ => {}
                }
                // An integer power of anything else stays as it is (`E**2` too).
                return Expr::new(Kind::Pow(base, exp));
            }
            if let Some(b) = base.as_number() {
                if b.is_exact_one() {
                    return Expr::int(1);
                }
            }
        }
        if matches!(base.kind(), Kind::Const(name) if name == "E") {
            return Expr::func("exp", vec![exp]);
        }
        Expr::new(Kind::Pow(base, exp))
    }

    /// A function call; arguments of `Min`/`Max` are flattened and ordered, and `exp` of a
    /// float (or of a sum with a float term) is evaluated as SymPy does (rule 7).
    pub fn func(name: &str, mut args: Vec<Expr>) -> Expr {
        if name == "exp" && args.len() == 1 {
            if let Some(folded) = Expr::exp_of_float(&args[0]) {
                return folded;
            }
        }
        if COMMUTATIVE_FUNCTIONS.contains(&name) {
            let mut flat = Vec::with_capacity(args.len());
            for a in args {
                match a.kind() {
                    Kind::Func(n, inner) if n == name => flat.extend_from_slice(inner),
                    _ => flat.push(a),
                }
            }
            sort_stable(&mut flat, Expr::cmp);
            flat.dedup();
            if flat.len() == 1 {
                return flat.pop().expect("one argument");
            }
            args = flat;
        }
        Expr::new(Kind::Func(name.to_owned(), args))
    }

    /// `exp(c)` → its double, `exp(c + rest)` → `exp(c)*exp(rest)` for a float `c`.
    fn exp_of_float(arg: &Expr) -> Option<Expr> {
        let double = |e: &Expr| e.as_number().and_then(Number::as_double);
        match arg.kind() {
            Kind::Num(n) => exp_rounded(n.as_double()?).map(|v| Expr::number(Number::Float(v))),
            Kind::Add(terms) => {
                let i = terms.iter().position(|t| double(t).is_some())?;
                let factor = exp_rounded(double(&terms[i])?)?;
                let mut rest = terms.clone();
                rest.remove(i);
                Some(Expr::mul(vec![
                    Expr::number(Number::Float(factor)),
                    Expr::func("exp", vec![Expr::add(rest)]),
                ]))
            }
            _ => None,
        }
    }

    /// A piecewise expression; its (expression, condition) pairs keep their order.
    pub fn piecewise(pairs: Vec<(Expr, Expr)>) -> Expr {
        Expr::new(Kind::Piecewise(pairs))
    }

    /// A relation; `>`/`>=` are written as `<`/`<=` with the sides swapped, and the sides of
    /// `==`/`!=` are ordered by encoding.
    pub fn relation(op: RelOp, left: Expr, right: Expr) -> Expr {
        let (op, left, right) = match op {
            RelOp::Gt => (RelOp::Lt, right, left),
            RelOp::Ge => (RelOp::Le, right, left),
            RelOp::Eq | RelOp::Ne if right < left => (op, right, left),
            _ => (op, left, right),
        };
        Expr::new(Kind::Rel(op, left, right))
    }

    /// A boolean operator; `And`/`Or`/`Xor` arguments are flattened and ordered.
    pub fn boolean(op: BoolOp, args: Vec<Expr>) -> Expr {
        if op == BoolOp::Not {
            return Expr::new(Kind::Bool(op, args));
        }
        let mut flat = Vec::with_capacity(args.len());
        for a in args {
            match a.kind() {
                Kind::Bool(inner, children) if *inner == op && op != BoolOp::Xor => {
                    flat.extend_from_slice(children)
                }
                _ => flat.push(a),
            }
        }
        sort_stable(&mut flat, Expr::cmp);
        Expr::new(Kind::Bool(op, flat))
    }

    /// The readable rendering of the canonical form: SymPy-like function notation, arguments
    /// in canonical order, doubles in their shortest round-trip decimal form.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) {
        fn list(out: &mut String, head: &str, args: &[Expr]) {
            out.push_str(head);
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                a.render_into(out);
            }
            out.push(')');
        }
        match self.kind() {
            Kind::Num(Number::Float(f) | Number::Approx(_, f)) => {
                let _ = write!(out, "{f:?}");
            }
            Kind::Num(Number::Int(i)) => {
                let _ = write!(out, "{i}");
            }
            Kind::Num(Number::Exact(r)) if r.denom().is_one() => {
                let _ = write!(out, "{}", r.numer());
            }
            Kind::Num(Number::Ratio(q)) => {
                let _ = write!(out, "{}/{}", q.numer(), q.denom());
            }
            Kind::Num(Number::Exact(r)) => {
                let _ = write!(out, "{}/{}", r.numer(), r.denom());
            }
            Kind::Sym(name) => out.push_str(name),
            Kind::Const(name) => {
                let _ = write!(out, "<{name}>");
            }
            Kind::Add(args) => list(out, "Add", args),
            Kind::Mul(args) => list(out, "Mul", args),
            Kind::Pow(b, e) => list(out, "Pow", &[b.clone(), e.clone()]),
            Kind::Func(name, args) => list(out, name, args),
            Kind::Piecewise(pairs) => {
                out.push_str("Piecewise(");
                for (i, (e, c)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push('(');
                    e.render_into(out);
                    out.push_str(", ");
                    c.render_into(out);
                    out.push(')');
                }
                out.push(')');
            }
            Kind::Rel(op, l, r) => {
                let head = match op {
                    RelOp::Lt => "Lt",
                    RelOp::Le => "Le",
                    RelOp::Eq => "Eq",
                    RelOp::Ne => "Ne",
                    RelOp::Gt | RelOp::Ge => unreachable!("normalised to Lt/Le"),
                };
                list(out, head, &[l.clone(), r.clone()]);
            }
            Kind::Bool(op, args) => {
                let head = match op {
                    BoolOp::And => "And",
                    BoolOp::Or => "Or",
                    BoolOp::Not => "Not",
                    BoolOp::Xor => "Xor",
                };
                list(out, head, args);
            }
            Kind::Truth(v) => out.push_str(if *v { "True" } else { "False" }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigInt;
    use num_rational::BigRational;

    /// A chain of random simple terms (symbols, numbers, products with a coefficient, powers,
    /// sums), with the cancellations and overflows that make bracketing matter.
    fn random_chain(state: &mut u64) -> Vec<Expr> {
        let mut next = || {
            *state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (*state >> 33) as usize
        };
        let numbers = [
            Expr::int(1),
            Expr::int(-1),
            Expr::int(2),
            q(1, 3),
            f(0.1),
            f(-0.1),
            f(0.0),
            f(1.5e308),
            f(-1.5e308),
            f(1e-320),
        ];
        let symbols = [s("a"), s("b"), s("x")];
        let len = 3 + next() % 18;
        (0..len)
            .map(|_| {
                let sym = symbols[next() % symbols.len()].clone();
                let num = numbers[next() % numbers.len()].clone();
                match next() % 7 {
                    6 => Expr::mul(vec![sym, Expr::add(vec![num, s("c")])]),
                    0 => num,
                    1 => sym,
                    2 => Expr::mul(vec![num, sym]),
                    3 => Expr::pow(sym, Expr::int(2)),
                    4 => Expr::add(vec![num, sym]),
                    _ => Expr::mul(vec![num, sym, s("b")]),
                }
            })
            .collect()
    }

    #[test]
    fn plain_chains_multiply_as_one_at_a_time() {
        let mut state = 9u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        let pieces = [
            s("a"),
            s("x"),
            Expr::pow(s("x"), Expr::int(-1)),
            Expr::pow(s("a"), Expr::int(2)),
            Expr::int(0),
            Expr::int(-1),
            q(1, 3),
            f(0.1),
            f(1e200),
            f(1e-200),
            Expr::func("exp", vec![s("x")]),
            Expr::add(vec![s("a"), s("x")]),
            Expr::mul(vec![f(2.5), s("a")]),
        ];
        for _ in 0..4_000 {
            let chain: Vec<Expr> = (0..3 + next() % 16)
                .map(|_| pieces[next() % pieces.len()].clone())
                .collect();
            let nested = chain
                .iter()
                .cloned()
                .reduce(|p, f| Expr::mul(vec![p, f]))
                .unwrap();
            assert_eq!(
                Expr::mul_chain(chain).encoding(),
                nested.encoding(),
                "{}",
                nested.render()
            );
        }
    }

    #[test]
    fn chains_add_as_one_at_a_time() {
        let mut state = 3;
        let mut at_once = 0;
        for _ in 0..4_000 {
            let chain = random_chain(&mut state);
            let nested = chain
                .iter()
                .cloned()
                .reduce(|sum, t| Expr::add(vec![sum, t]))
                .unwrap();
            let terms: Vec<Expr> = chain
                .iter()
                .flat_map(|o| match o.view() {
                    View::Add(terms) => terms.to_vec(),
                    _ => vec![o.clone()],
                })
                .collect();
            at_once += usize::from(Expr::adds_alike_at_once(&terms));
            let got = Expr::add_chain(chain);
            assert_eq!(got.encoding(), nested.encoding(), "{}", nested.render());
        }
        // Most chains are added at once; the check is not refusing everything.
        assert!(at_once > 500, "{at_once}");
        // The three cases that must go one at a time.
        let x = || s("x");
        let cancel = vec![
            Expr::mul(vec![f(0.1), x()]),
            Expr::mul(vec![f(-0.1), x()]),
            x(),
        ];
        assert_eq!(Expr::add_chain(cancel).render(), "x");
        let overflow = vec![f(1.5e308), f(1.5e308), f(-1.5e308), x()];
        assert_eq!(
            Expr::add_chain(overflow).encoding(),
            Expr::add(vec![
                Expr::add(vec![Expr::add(vec![f(1.5e308), f(1.5e308)]), f(-1.5e308)]),
                x()
            ])
            .encoding()
        );
    }

    fn s(name: &str) -> Expr {
        Expr::symbol(name)
    }
    fn f(x: f64) -> Expr {
        Expr::number(Number::Float(x))
    }
    fn q(p: i64, d: i64) -> Expr {
        Expr::number(Number::exact(BigRational::new(
            BigInt::from(p),
            BigInt::from(d),
        )))
    }
    fn neg(e: Expr) -> Expr {
        Expr::mul(vec![Expr::int(-1), e])
    }
    fn div(a: Expr, b: Expr) -> Expr {
        Expr::mul(vec![a, Expr::pow(b, Expr::int(-1))])
    }

    /// Terms of every kind a coefficient may meet: numbers of each representation, symbols,
    /// powers, calls, sums, products with and without a coefficient, with a sum factor, and
    /// products whose factors would merge again (`exp(2*x)*exp(2*x)`).
    fn assorted_terms() -> Vec<Expr> {
        let x = || s("x");
        let exp_x = Expr::func("exp", vec![x()]);
        let exp_2x = Expr::mul(vec![exp_x.clone(), exp_x.clone()]);
        let numbers = [
            Expr::int(-1),
            Expr::int(2),
            Expr::int(i64::MIN),
            Expr::int(i64::MAX),
            q(1, 3),
            q(-3, 2),
            f(0.5),
            f(-0.1),
            f(0.0),
            f(1.5e308),
            f(1e-320),
            Expr::mul(vec![f(0.1), q(1, 3)]), // an approximate number
        ];
        let mut terms: Vec<Expr> = numbers.to_vec();
        let atoms = [
            x(),
            s("a"),
            Expr::constant("pi"),
            Expr::pow(x(), Expr::int(2)),
            Expr::pow(x(), q(1, 2)),
            Expr::pow(Expr::add(vec![x(), s("a")]), Expr::int(-1)),
            exp_x.clone(),
            Expr::add(vec![x(), s("a")]),
            Expr::add(vec![f(0.5), x()]),
            Expr::piecewise(vec![(x(), Expr::truth(true))]),
        ];
        terms.extend(atoms.iter().cloned());
        for (i, a) in atoms.iter().enumerate() {
            for b in &atoms[i + 1..] {
                terms.push(Expr::mul(vec![a.clone(), b.clone()]));
                for n in &numbers {
                    terms.push(Expr::mul(vec![n.clone(), a.clone(), b.clone()]));
                }
            }
        }
        // Factors of one base a product keeps apart: `mul` would merge them again.
        terms.push(Expr::new(Kind::Mul(vec![exp_2x.clone(), exp_2x.clone()])));
        terms.push(Expr::mul(vec![exp_x, exp_2x]));
        terms
    }

    #[test]
    fn scaled_terms_are_what_mul_gives() {
        let terms = assorted_terms();
        let mut shortcuts = 0;
        for c in terms.iter().filter(|t| t.as_number().is_some()) {
            for t in &terms {
                let general = Expr::mul(vec![c.clone(), t.clone()]);
                let owned = matches!(t.kind(), Kind::Mul(_)).then(|| fresh(t));
                if let Ok(got) = Expr::scaled(c, owned.unwrap_or_else(|| t.clone())) {
                    shortcuts += 1;
                    assert_eq!(
                        got.encoding(),
                        general.encoding(),
                        "{} * {}",
                        c.render(),
                        t.render()
                    );
                }
            }
        }
        assert!(shortcuts > 1000, "{shortcuts}");
        for t in &terms {
            let general = Expr::mul(vec![Expr::int(-1), t.clone()]);
            assert_eq!(Expr::negation(t.clone()).encoding(), general.encoding());
        }
    }

    #[test]
    fn sums_and_terms_add_apart_as_add_general_adds_them() {
        let terms = assorted_terms();
        let sums: Vec<Expr> = terms
            .iter()
            .filter(|t| t.is_sum())
            .cloned()
            .chain(terms.iter().flat_map(|a| {
                [
                    Expr::add_general(vec![a.clone(), s("y")]),
                    Expr::add_general(vec![a.clone(), s("x"), s("b")]),
                ]
            }))
            .filter(Expr::is_sum)
            .step_by(5)
            .collect();
        let mut apart = 0;
        for sum in &sums {
            for t in terms.iter().step_by(3) {
                for args in [vec![fresh(sum), t.clone()], vec![t.clone(), sum.clone()]] {
                    let general = Expr::add_general(args.clone());
                    if let Ok(got) = Expr::added_apart(args) {
                        apart += 1;
                        assert_eq!(
                            got.encoding(),
                            general.encoding(),
                            "{} + {}",
                            sum.render(),
                            t.render()
                        );
                    }
                }
            }
        }
        assert!(apart > 5_000, "{apart}");
    }

    /// A copy of `e` in a node nothing else holds (so that it is edited in place).
    fn fresh(e: &Expr) -> Expr {
        Expr::new(e.kind().clone())
    }

    #[test]
    fn products_and_factors_multiply_apart_as_mul_general_multiplies_them() {
        let terms = assorted_terms();
        let products: Vec<&Expr> = terms
            .iter()
            .filter(|t| matches!(t.kind(), Kind::Mul(_)))
            .collect();
        let mut apart = 0;
        for p in &products {
            for f in terms.iter().step_by(2) {
                for (args, general) in [
                    (vec![fresh(p), f.clone()], vec![(*p).clone(), f.clone()]),
                    (vec![f.clone(), (*p).clone()], vec![f.clone(), (*p).clone()]),
                ] {
                    let want = Expr::mul_general(general).encoding();
                    if let Ok(got) = Expr::multiplied_into(args) {
                        apart += 1;
                        assert_eq!(got.encoding(), want, "{} * {}", p.render(), f.render());
                    }
                }
            }
        }
        assert!(apart > 2_000, "{apart}");
    }

    #[test]
    fn pairs_multiply_apart_as_mul_general_multiplies_them() {
        let terms = assorted_terms();
        let mut apart = 0;
        for (i, a) in terms.iter().enumerate().step_by(3) {
            for b in terms.iter().skip(i % 2).step_by(2) {
                let want = Expr::mul_general(vec![a.clone(), b.clone()]).encoding();
                if let Ok(got) = Expr::mul_apart(vec![fresh(a), b.clone()]) {
                    apart += 1;
                    assert_eq!(got.encoding(), want, "{} * {}", a.render(), b.render());
                }
            }
        }
        assert!(apart > 5_000, "{apart}");
    }

    #[test]
    fn commutative_order_does_not_matter() {
        let a = Expr::add(vec![s("x"), s("y"), Expr::mul(vec![s("z"), Expr::int(2)])]);
        let b = Expr::add(vec![Expr::mul(vec![Expr::int(2), s("z")]), s("y"), s("x")]);
        assert_eq!(a.encoding(), b.encoding());
        assert_eq!(a.render(), "Add(Mul(2, z), x, y)");
    }

    #[test]
    fn importer_tree_matches_parsed_string() {
        // Importer: Mul(0.001, Pow(C, -1), Add(-a, -b)).
        let importer = Expr::mul(vec![
            f(0.001),
            Expr::pow(s("C"), Expr::int(-1)),
            Expr::add(vec![neg(s("a")), neg(s("b"))]),
        ]);
        // SymPy's parse of 0.001*(-a - b)/C: Mul(Pow(C, -1), Add(-0.001*a, -0.001*b)).
        let parsed = Expr::mul(vec![
            Expr::pow(s("C"), Expr::int(-1)),
            Expr::add(vec![
                Expr::mul(vec![f(-0.001), s("a")]),
                Expr::mul(vec![f(-0.001), s("b")]),
            ]),
        ]);
        assert_eq!(importer.encoding(), parsed.encoding());
    }

    #[test]
    fn numbers_fold_exactly() {
        let a = Expr::mul(vec![f(0.1), Expr::int(3), s("x")]);
        let b = Expr::mul(vec![f(0.1 * 3.0), s("x")]);
        assert_eq!(a.encoding(), b.encoding());
        let sum = Expr::add(vec![q(1, 3), q(1, 6), s("x")]);
        assert_eq!(sum.render(), "Add(1/2, x)");
        assert_eq!(Expr::add(vec![s("x"), neg(s("x"))]).render(), "0");
        assert_eq!(
            Expr::mul(vec![s("x"), div(Expr::int(1), s("x"))]).render(),
            "1"
        );
        assert_eq!(Expr::mul(vec![s("x"), s("x")]).render(), "Pow(x, 2)");
        assert_eq!(
            Expr::add(vec![s("a"), Expr::mul(vec![Expr::int(2), s("a")])]).render(),
            "Mul(3, a)"
        );
    }

    #[test]
    fn floats_and_rationals_stay_distinct() {
        assert_ne!(f(0.5).encoding(), q(1, 2).encoding());
        assert_ne!(f(1.0).encoding(), Expr::int(1).encoding());
        assert_ne!(s("pi").encoding(), Expr::constant("pi").encoding());
    }

    #[test]
    fn powers() {
        let x = s("x");
        assert_eq!(Expr::pow(x.clone(), Expr::int(1)).render(), "x");
        assert_eq!(Expr::pow(x.clone(), Expr::int(0)).render(), "1");
        assert_eq!(Expr::pow(Expr::int(2), Expr::int(-2)).render(), "1/4");
        assert_eq!(
            Expr::pow(Expr::pow(x.clone(), q(1, 2)), Expr::int(2)).render(),
            "x"
        );
        assert_eq!(
            Expr::pow(Expr::mul(vec![Expr::int(2), x.clone()]), Expr::int(2)).render(),
            "Mul(4, Pow(x, 2))"
        );
        assert_eq!(Expr::pow(Expr::constant("E"), x).render(), "exp(x)");
    }

    #[test]
    fn relations_and_booleans() {
        let gt = Expr::relation(RelOp::Gt, s("x"), Expr::int(0));
        let lt = Expr::relation(RelOp::Lt, Expr::int(0), s("x"));
        assert_eq!(gt.encoding(), lt.encoding());
        let eq1 = Expr::relation(RelOp::Eq, s("x"), s("y"));
        let eq2 = Expr::relation(RelOp::Eq, s("y"), s("x"));
        assert_eq!(eq1.encoding(), eq2.encoding());
        let and1 = Expr::boolean(BoolOp::And, vec![gt.clone(), eq1.clone()]);
        let and2 = Expr::boolean(BoolOp::And, vec![eq2, lt]);
        assert_eq!(and1.encoding(), and2.encoding());
        let pw = Expr::piecewise(vec![(s("a"), gt), (s("b"), Expr::truth(true))]);
        assert_eq!(pw.render(), "Piecewise((a, Lt(0, x)), (b, True))");
    }

    #[test]
    fn min_max_are_commutative() {
        let a = Expr::func("Max", vec![s("x"), Expr::func("Max", vec![s("z"), s("y")])]);
        let b = Expr::func("Max", vec![s("y"), s("z"), s("x")]);
        assert_eq!(a.encoding(), b.encoding());
        let sin1 = Expr::func("atan2", vec![s("y"), s("x")]);
        let sin2 = Expr::func("atan2", vec![s("x"), s("y")]);
        assert_ne!(sin1.encoding(), sin2.encoding());
    }

    #[test]
    fn encoding_is_typed_and_length_prefixed() {
        assert_eq!(s("ab").encoding(), b"S\x00\x00\x00\x02ab");
        assert_eq!(Expr::int(-3).encoding(), b"I\x01\x00\x00\x00\x01\x03");
        assert_eq!(Expr::int(0).encoding(), b"I\x00\x00\x00\x00\x00");
        let mut float = vec![b'F'];
        float.extend_from_slice(&0.5f64.to_bits().to_be_bytes());
        assert_eq!(f(0.5).encoding(), &float[..]);
    }
}
