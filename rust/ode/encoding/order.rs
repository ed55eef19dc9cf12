//! The canonical order of nodes, and the writer of their encodings.
//!
//! Commutative arguments are sorted by their encodings (rule 6).  The encoding is prefix-free
//! (a tag, then counts and lengths before what they count), so two encodings compare as
//! their first difference, which lies in the tag, in a count or length (a big-endian `u32`,
//! so compared as a number), in a name's bytes, in a number's parts, or inside the first
//! child that differs, where the same holds again.  [`cmp`] walks two nodes that way, so it
//! orders them exactly as comparing their encodings byte by byte would, without writing them.
//! The tests check that against the bytes.

use std::cmp::Ordering;
use std::sync::Arc;

use num_bigint::{BigUint, Sign};
use num_traits::{Signed, ToPrimitive};

use super::super::number::Number;
use super::{bool_byte, put_len, rel_byte, Expr, Kind};

/// Nodes this shallow are walked without checking the stack; deeper ones grow it on the heap
/// when it runs low (a walk recurses as deep as the tree, which `rules::MAX_DEPTH` bounds but
/// a small thread stack might not hold).
const SHALLOW: u32 = 32;
const RED_ZONE: usize = 64 * 1024;
const GROWTH: usize = 1024 * 1024;

fn number_tag(n: &Number) -> u8 {
    match n {
        Number::Float(_) | Number::Approx(..) => b'F',
        Number::Int(_) => b'I',
        Number::Exact(r) if r.is_integer() => b'I',
        Number::Ratio(_) | Number::Exact(_) => b'Q',
    }
}

/// The first byte of a node's encoding.
pub(super) fn tag(e: &Expr) -> u8 {
    match e.kind() {
        Kind::Num(n) => number_tag(n),
        Kind::Sym(_) => b'S',
        Kind::Const(_) => b'K',
        Kind::Add(_) => b'A',
        Kind::Mul(_) => b'M',
        Kind::Pow(..) => b'P',
        Kind::Func(..) => b'f',
        Kind::Piecewise(_) => b'W',
        Kind::Rel(..) => b'R',
        Kind::Bool(..) => b'B',
        Kind::Truth(true) => b'T',
        Kind::Truth(false) => b'U',
    }
}

/// A length-prefixed string: length first, then bytes.
fn cmp_str(a: &str, b: &str) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

/// Two numbers of the same tag: a double by its bits; an integer by sign byte (negative
/// last), then magnitude (its length in bytes, then its big-endian bytes: as a number); a
/// rational by sign, numerator's magnitude, then denominator.
fn cmp_number(a: &Number, b: &Number) -> Ordering {
    match (a, b) {
        (Number::Float(x) | Number::Approx(_, x), Number::Float(y) | Number::Approx(_, y)) => {
            x.to_bits().cmp(&y.to_bits())
        }
        (Number::Int(x), Number::Int(y)) => (*x < 0)
            .cmp(&(*y < 0))
            .then_with(|| x.unsigned_abs().cmp(&y.unsigned_abs())),
        (Number::Ratio(x), Number::Ratio(y)) => (x.numer() < 0)
            .cmp(&(y.numer() < 0))
            .then_with(|| x.numer().unsigned_abs().cmp(&y.numer().unsigned_abs()))
            .then_with(|| x.denom().cmp(&y.denom())),
        _ => {
            let (x, y) = (a.value(), b.value());
            x.is_negative()
                .cmp(&y.is_negative())
                .then_with(|| x.numer().magnitude().cmp(y.numer().magnitude()))
                .then_with(|| x.denom().magnitude().cmp(y.denom().magnitude()))
        }
    }
}

fn cmp_seq<'a>(
    a: impl Iterator<Item = &'a Expr>,
    mut b: impl Iterator<Item = &'a Expr>,
) -> Ordering {
    for x in a {
        let Some(y) = b.next() else {
            return Ordering::Greater;
        };
        match cmp(x, y) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    if b.next().is_some() {
        Ordering::Less
    } else {
        Ordering::Equal
    }
}

/// A counted list: count first, then the items in order.
fn cmp_list(a: &[Expr], b: &[Expr]) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| cmp_seq(a.iter(), b.iter()))
}

/// The first (up to) eight bytes of a node's encoding, kept in the node: two nodes whose
/// known first bytes differ are ordered by them alone, which settles most comparisons
/// (different tags, names, numbers) without walking either node.
///
/// `known` counts the bytes of `bytes` (big-endian, zero-padded) that are the encoding's: all
/// eight, or fewer where the encoding is shorter or a child's known bytes ran out first.
#[derive(Clone, Copy, Debug)]
pub(super) struct Head {
    bytes: u64,
    known: u8,
}

impl Head {
    /// `tag` then `rest` (the next seven bytes, big-endian in the low 56 bits), of which
    /// `known` bytes in all are the encoding's.
    fn new(tag: u8, rest: u64, known: usize) -> Head {
        Head {
            bytes: u64::from(tag) << 56 | rest,
            known: known.min(8) as u8,
        }
    }

    /// A node's head after `used` bytes of its own: the child's first bytes fill the rest,
    /// known as far as the child's are.
    fn with_child(tag: u64, used: usize, child: &Expr) -> Head {
        let head = child.0.head;
        let room = 8 - used;
        Head {
            bytes: tag | head.bytes >> (8 * used),
            known: (used + usize::from(head.known).min(room)) as u8,
        }
    }

    /// A sign byte, then a magnitude (`u32` length, big-endian bytes without leading zeros):
    /// the head of an integer or of a rational's numerator.
    fn signed(tag: u8, negative: bool, mag: u64) -> Head {
        let len = 8 - (mag.leading_zeros() / 8) as usize;
        let top = if len == 0 {
            0
        } else {
            mag << (64 - 8 * len) >> 48
        };
        let rest = u64::from(negative) << 48 | (len as u64) << 16 | top;
        Head::new(tag, rest, 6 + len)
    }

    /// A length-prefixed name: tag, `u32` length, the first three bytes of the name.
    fn named(tag: u8, name: &str) -> Head {
        let mut first = [0u8; 3];
        let n = name.len().min(3);
        first[..n].copy_from_slice(&name.as_bytes()[..n]);
        let rest = u64::from(name.len() as u32) << 24
            | u64::from(first[0]) << 16
            | u64::from(first[1]) << 8
            | u64::from(first[2]);
        Head::new(tag, rest, 5 + name.len())
    }

    /// A counted list's own bytes (tag, `u32` count) and its first item's.
    fn list(tag: u8, count: usize, first: Option<&Expr>) -> Head {
        let own = u64::from(tag) << 56 | u64::from(count as u32) << 24;
        match first {
            Some(first) => Head::with_child(own, 5, first),
            None => Head {
                bytes: own,
                known: 5,
            },
        }
    }

    /// The head of a node of this kind (its children's heads are already known).
    #[inline]
    pub(super) fn of(kind: &Kind) -> Head {
        match kind {
            Kind::Num(Number::Float(f) | Number::Approx(_, f)) => {
                Head::new(b'F', f.to_bits() >> 8, 9)
            }
            Kind::Num(Number::Int(i)) => Head::signed(b'I', *i < 0, i.unsigned_abs()),
            Kind::Num(Number::Ratio(q)) => {
                Head::signed(b'Q', q.numer() < 0, q.numer().unsigned_abs())
            }
            Kind::Num(Number::Exact(r)) if r.numer().magnitude().bits() <= 64 => {
                // An integer's magnitude, or a rational's numerator: its first bytes decide.
                let tag = if r.is_integer() { b'I' } else { b'Q' };
                let mag = r.numer().magnitude().to_u64().expect("at most 64 bits");
                Head::signed(tag, r.is_negative(), mag)
            }
            Kind::Num(n) => {
                let mut bytes = Vec::with_capacity(24);
                write_number(n, &mut bytes);
                let mut first = [0u8; 8];
                let known = bytes.len().min(8);
                first[..known].copy_from_slice(&bytes[..known]);
                Head {
                    bytes: u64::from_be_bytes(first),
                    known: known as u8,
                }
            }
            Kind::Sym(name) => Head::named(b'S', name),
            Kind::Const(name) => Head::named(b'K', name),
            Kind::Add(args) => Head::list(b'A', args.len(), args.first()),
            Kind::Mul(args) => Head::list(b'M', args.len(), args.first()),
            Kind::Pow(base, _) => Head::with_child(u64::from(b'P') << 56, 1, base),
            // The name's first bytes only: what follows a short name is not kept.
            Kind::Func(name, _) => Head::named(b'f', name),
            Kind::Piecewise(pairs) => Head::list(b'W', pairs.len(), pairs.first().map(|p| &p.0)),
            Kind::Rel(op, left, _) => Head::with_child(
                u64::from(b'R') << 56 | u64::from(rel_byte(*op)) << 48,
                2,
                left,
            ),
            Kind::Bool(op, args) => {
                let own = u64::from(b'B') << 56
                    | u64::from(bool_byte(*op)) << 48
                    | u64::from(args.len() as u32) << 16;
                match args.first() {
                    Some(first) => Head::with_child(own, 6, first),
                    None => Head {
                        bytes: own,
                        known: 6,
                    },
                }
            }
            Kind::Truth(true) => Head::new(b'T', 0, 1),
            Kind::Truth(false) => Head::new(b'U', 0, 1),
        }
    }

    /// The order of two encodings as far as both heads know them: `Equal` when that does not
    /// decide (encodings are prefix-free, so a difference within the known bytes is theirs).
    fn cmp(self, other: Head) -> Ordering {
        let known = u32::from(self.known.min(other.known));
        let mask = if known == 0 {
            0
        } else {
            u64::MAX << (64 - 8 * known)
        };
        (self.bytes & mask).cmp(&(other.bytes & mask))
    }
}

/// The order of the encodings of `a` and `b`.
pub(super) fn cmp(a: &Expr, b: &Expr) -> Ordering {
    if Arc::ptr_eq(&a.0, &b.0) {
        return Ordering::Equal;
    }
    match a.0.head.cmp(b.0.head) {
        Ordering::Equal => {}
        decided => return decided,
    }
    // Every head knows its tag: the kinds are the same from here on.
    if a.depth().min(b.depth()) > SHALLOW {
        stacker::maybe_grow(RED_ZONE, GROWTH, || cmp_same_tag(a, b))
    } else {
        cmp_same_tag(a, b)
    }
}

fn cmp_same_tag(a: &Expr, b: &Expr) -> Ordering {
    match (a.kind(), b.kind()) {
        (Kind::Num(x), Kind::Num(y)) => cmp_number(x, y),
        (Kind::Sym(x), Kind::Sym(y)) | (Kind::Const(x), Kind::Const(y)) => cmp_str(x, y),
        (Kind::Add(x), Kind::Add(y)) | (Kind::Mul(x), Kind::Mul(y)) => cmp_list(x, y),
        (Kind::Pow(b1, e1), Kind::Pow(b2, e2)) => cmp(b1, b2).then_with(|| cmp(e1, e2)),
        (Kind::Func(n1, a1), Kind::Func(n2, a2)) => cmp_str(n1, n2).then_with(|| cmp_list(a1, a2)),
        (Kind::Piecewise(p1), Kind::Piecewise(p2)) => p1.len().cmp(&p2.len()).then_with(|| {
            cmp_seq(
                p1.iter().flat_map(|(e, c)| [e, c]),
                p2.iter().flat_map(|(e, c)| [e, c]),
            )
        }),
        (Kind::Rel(o1, l1, r1), Kind::Rel(o2, l2, r2)) => rel_byte(*o1)
            .cmp(&rel_byte(*o2))
            .then_with(|| cmp(l1, l2))
            .then_with(|| cmp(r1, r2)),
        (Kind::Bool(o1, a1), Kind::Bool(o2, a2)) => bool_byte(*o1)
            .cmp(&bool_byte(*o2))
            .then_with(|| cmp_list(a1, a2)),
        (Kind::Truth(_), Kind::Truth(_)) => Ordering::Equal,
        _ => unreachable!("equal tags are equal kinds"),
    }
}

/// What a sum's term merges by (rule 3), compared without building it: a node, or a product
/// of three or more factors without its numeric factor `i`.
#[derive(Clone, Copy)]
pub(super) enum Key<'a> {
    Node(&'a Expr),
    Without(&'a [Expr], usize),
}

fn without(factors: &[Expr], i: usize) -> impl Iterator<Item = &Expr> {
    factors
        .iter()
        .enumerate()
        .filter(move |(j, _)| *j != i)
        .map(|(_, f)| f)
}

/// The product `factors` without factor `i` (encoded `M`, count, the rest), against `e`.
fn cmp_without(factors: &[Expr], i: usize, e: &Expr) -> Ordering {
    match e.kind() {
        Kind::Mul(other) => (factors.len() - 1)
            .cmp(&other.len())
            .then_with(|| cmp_seq(without(factors, i), other.iter())),
        _ => b'M'.cmp(&tag(e)),
    }
}

/// The order of two keys' encodings.
pub(super) fn cmp_keys(a: Key<'_>, b: Key<'_>) -> Ordering {
    match (a, b) {
        (Key::Node(x), Key::Node(y)) => cmp(x, y),
        (Key::Without(f, i), Key::Node(y)) => cmp_without(f, i, y),
        (Key::Node(x), Key::Without(f, i)) => cmp_without(f, i, x).reverse(),
        (Key::Without(f, i), Key::Without(g, j)) => f
            .len()
            .cmp(&g.len())
            .then_with(|| cmp_seq(without(f, i), without(g, j))),
    }
}

/// Appends the encoding of `e` (see the table in the parent module).
pub(super) fn write(e: &Expr, out: &mut Vec<u8>) {
    write_child(e, out);
}

/// Writes one node where its parent is written.  Most nodes of a system are leaves (symbols,
/// numbers), so a leaf is written in its parent's loop and only an inner node takes a call of
/// [`write_node`]; a node's own bytes (a tag and a count or length) go in as one fixed-size
/// run.
#[inline(always)]
fn write_child(e: &Expr, out: &mut Vec<u8>) {
    match e.kind() {
        Kind::Sym(name) => write_named(b'S', name, out),
        Kind::Num(Number::Float(f)) => write_float(*f, out),
        Kind::Num(Number::Int(i)) => write_int(*i, out),
        Kind::Num(n) => write_number(n, out),
        _ if e.depth() > SHALLOW => {
            stacker::maybe_grow(RED_ZONE, GROWTH, || write_node(e, out));
        }
        _ => write_node(e, out),
    }
}

/// A tag and a big-endian `u32` (a count or a length): the start of most nodes.
#[inline]
fn counted(tag: u8, n: usize) -> [u8; 5] {
    let mut bytes = [tag; 5];
    bytes[1..].copy_from_slice(
        &u32::try_from(n)
            .expect("canonical parts are shorter than 4 GiB")
            .to_be_bytes(),
    );
    bytes
}

fn write_all(args: &[Expr], out: &mut Vec<u8>) {
    for a in args {
        write_child(a, out);
    }
}

/// A tag and a length-prefixed name.
#[inline]
fn write_named(tag: u8, name: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&counted(tag, name.len()));
    out.extend_from_slice(name.as_bytes());
}

/// `F` and the double's bits.
#[inline]
fn write_float(f: f64, out: &mut Vec<u8>) {
    let mut bytes = [b'F'; 9];
    bytes[1..].copy_from_slice(&f.to_bits().to_be_bytes());
    out.extend_from_slice(&bytes);
}

/// A magnitude below 2^64 as the encoding holds one: its length in bytes, then its big-endian
/// bytes without leading zeros (zero has none).  Written as a fixed twelve bytes, the
/// magnitude shifted to their front, then cut to length: no copy of a variable length.
#[inline]
fn write_u64(m: u64, out: &mut Vec<u8>) {
    let skip = m.leading_zeros() / 8;
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&(8 - skip).to_be_bytes());
    // A zero is shifted by 64 bits, which wraps to 0: zero all the same.
    bytes[4..].copy_from_slice(&m.wrapping_shl(8 * skip).to_be_bytes());
    out.extend_from_slice(&bytes);
    out.truncate(out.len() - skip as usize);
}

/// `I`, sign byte and magnitude.
#[inline]
fn write_int(i: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(&[b'I', u8::from(i < 0)]);
    write_u64(i.unsigned_abs(), out);
}

/// Any magnitude, as [`write_u64`] writes the small ones.
fn write_magnitude(m: &BigUint, out: &mut Vec<u8>) {
    match m.to_u64() {
        Some(small) => write_u64(small, out),
        None => {
            // Not zero, so its bytes have no leading zero.
            let bytes = m.to_bytes_be();
            put_len(out, bytes.len());
            out.extend_from_slice(&bytes);
        }
    }
}

/// `F` and the double's bits; `I`, sign byte and magnitude; or `Q`, sign byte and the
/// magnitudes of numerator and denominator.
fn write_number(n: &Number, out: &mut Vec<u8>) {
    match n {
        Number::Float(f) | Number::Approx(_, f) => write_float(*f, out),
        Number::Int(i) => write_int(*i, out),
        Number::Ratio(q) => {
            out.extend_from_slice(&[b'Q', u8::from(q.numer() < 0)]);
            write_u64(q.numer().unsigned_abs(), out);
            write_u64(q.denom().unsigned_abs(), out);
        }
        Number::Exact(r) => {
            let tag = if r.is_integer() { b'I' } else { b'Q' };
            out.extend_from_slice(&[tag, u8::from(r.numer().sign() == Sign::Minus)]);
            write_magnitude(r.numer().magnitude(), out);
            if !r.is_integer() {
                write_magnitude(r.denom().magnitude(), out);
            }
        }
    }
}

/// An inner node, or a leaf that [`write_child`] does not write itself.
fn write_node(e: &Expr, out: &mut Vec<u8>) {
    match e.kind() {
        Kind::Num(n) => write_number(n, out),
        Kind::Sym(name) => write_named(b'S', name, out),
        Kind::Const(name) => write_named(b'K', name, out),
        Kind::Add(args) | Kind::Mul(args) => {
            let tag = if matches!(e.kind(), Kind::Add(_)) {
                b'A'
            } else {
                b'M'
            };
            out.extend_from_slice(&counted(tag, args.len()));
            write_all(args, out);
        }
        Kind::Pow(b, x) => {
            out.push(b'P');
            write_child(b, out);
            write_child(x, out);
        }
        Kind::Func(name, args) => {
            write_named(b'f', name, out);
            put_len(out, args.len());
            write_all(args, out);
        }
        Kind::Piecewise(pairs) => {
            out.extend_from_slice(&counted(b'W', pairs.len()));
            for (x, c) in pairs {
                write_child(x, out);
                write_child(c, out);
            }
        }
        Kind::Rel(op, l, r) => {
            out.extend_from_slice(&[b'R', rel_byte(*op)]);
            write_child(l, out);
            write_child(r, out);
        }
        Kind::Bool(op, args) => {
            out.extend_from_slice(&[b'B', bool_byte(*op)]);
            put_len(out, args.len());
            write_all(args, out);
        }
        Kind::Truth(true) => out.push(b'T'),
        Kind::Truth(false) => out.push(b'U'),
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::number::Number;
    use super::super::{BoolOp, Expr, RelOp};
    use num_bigint::BigInt;
    use num_rational::BigRational;

    /// A spread of nodes of every kind, with numbers around the edges of each encoding.
    fn nodes() -> Vec<Expr> {
        let s = Expr::symbol;
        let q = |p: i64, d: i64| {
            Expr::number(Number::exact(BigRational::new(
                BigInt::from(p),
                BigInt::from(d),
            )))
        };
        let big = |e: u32, neg: bool| {
            let v: BigInt = BigInt::from(2).pow(e) + 1;
            Expr::number(Number::integer(if neg { -v } else { v }))
        };
        let mut leaves = vec![
            s("x"),
            s("y"),
            s("xy"),
            s("ab"),
            s("µ"),
            Expr::constant("pi"),
            Expr::constant("E"),
            Expr::int(0),
            Expr::int(1),
            Expr::int(-1),
            Expr::int(255),
            Expr::int(256),
            Expr::int(-256),
            Expr::int(i64::MAX),
            Expr::int(i64::MIN),
            big(63, false),
            big(64, true),
            big(200, false),
            q(1, 2),
            q(-1, 2),
            q(1, 3),
            q(255, 256),
            q(256, 255),
            Expr::number(Number::Float(0.5)),
            Expr::number(Number::Float(-0.5)),
            Expr::number(Number::Float(0.0)),
            Expr::number(Number::Float(1e300)),
            Expr::truth(true),
            Expr::truth(false),
        ];
        let n = leaves.len();
        for i in 0..n {
            let (a, b) = (leaves[i].clone(), leaves[(i * 7 + 3) % n].clone());
            let c = leaves[(i * 5 + 1) % n].clone();
            leaves.push(Expr::add(vec![a.clone(), b.clone()]));
            leaves.push(Expr::mul(vec![a.clone(), b.clone(), c.clone()]));
            leaves.push(Expr::pow(a.clone(), b.clone()));
            leaves.push(Expr::func("sin", vec![a.clone()]));
            leaves.push(Expr::func("atan2", vec![a.clone(), c.clone()]));
            leaves.push(Expr::piecewise(vec![
                (a.clone(), b.clone()),
                (c.clone(), s("x")),
            ]));
            leaves.push(Expr::relation(RelOp::Lt, a.clone(), c.clone()));
            leaves.push(Expr::relation(RelOp::Eq, a.clone(), b.clone()));
            leaves.push(Expr::boolean(BoolOp::Or, vec![a.clone(), b.clone()]));
            leaves.push(Expr::boolean(BoolOp::Not, vec![c]));
        }
        leaves
    }

    /// The encoding of a number as the format table spells it out, built the plain way.
    fn spelled_out(n: &Number) -> Vec<u8> {
        use super::super::super::number::int_parts;
        let mut out = Vec::new();
        let magnitude = |out: &mut Vec<u8>, i: &BigInt| {
            let (sign, bytes) = int_parts(i);
            out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            out.extend_from_slice(&bytes);
            sign
        };
        match n {
            Number::Float(f) | Number::Approx(_, f) => {
                out.push(b'F');
                out.extend_from_slice(&f.to_bits().to_be_bytes());
            }
            _ => {
                let r = n.value();
                let exact = r.is_integer();
                out.extend_from_slice(&[if exact { b'I' } else { b'Q' }, 0]);
                out[1] = magnitude(&mut out, r.numer());
                if !exact {
                    magnitude(&mut out, r.denom());
                }
            }
        }
        out
    }

    #[test]
    fn numbers_are_written_as_the_format_spells_them() {
        let mut ints: Vec<BigInt> = vec![0.into(), 1.into(), 255.into(), 256.into()];
        for bits in [7, 8, 31, 32, 55, 56, 63, 64, 65, 127, 128, 200] {
            let p = BigInt::from(2).pow(bits);
            ints.extend([&p - 1, p.clone(), &p + 1]);
        }
        ints.extend([BigInt::from(i64::MAX), BigInt::from(i64::MIN)]);
        let ints: Vec<BigInt> = ints.iter().flat_map(|i| [i.clone(), -i]).collect();
        let mut numbers: Vec<Number> = ints.iter().map(|i| Number::integer(i.clone())).collect();
        for p in &ints {
            for q in ints.iter().filter(|q| **q > BigInt::from(0)) {
                numbers.push(Number::exact(BigRational::new(p.clone(), q.clone())));
            }
        }
        numbers.extend([0.0, -0.0, 0.5, 1e300, f64::MIN_POSITIVE].map(Number::Float));
        for n in &numbers {
            let e = Expr::number(n.clone());
            assert_eq!(e.encoding(), spelled_out(n), "{}", e.render());
        }
    }

    #[test]
    fn heads_are_the_first_bytes_of_the_encodings() {
        for e in nodes() {
            let bytes = e.encoding();
            let head = e.0.head;
            let known = usize::from(head.known);
            assert!(known <= bytes.len().min(8), "{}", e.render());
            assert_eq!(
                &head.bytes.to_be_bytes()[..known],
                &bytes[..known],
                "{}",
                e.render()
            );
            // Only an encoding shorter than eight bytes, or a short first child, leaves
            // bytes unknown.
            if bytes.len() >= 8 && known < 8 {
                assert!(!matches!(e.view(), super::super::View::Sym(_)));
            }
        }
    }

    #[test]
    fn products_apart_are_the_general_product() {
        let all = nodes();
        let numbers: Vec<&Expr> = all.iter().filter(|e| e.as_number().is_some()).collect();
        let mut terms = all.clone();
        for t in &all {
            terms.push(Expr::mul(vec![t.clone(), Expr::symbol("z")]));
            terms.push(Expr::mul(vec![
                Expr::number(Number::Float(0.25)),
                t.clone(),
                Expr::symbol("x"),
            ]));
        }
        let pairs = numbers
            .iter()
            .flat_map(|n| terms.iter().map(move |t| (*n, t)))
            .chain(all.iter().flat_map(|a| all.iter().map(move |b| (a, b))));
        for (a, b) in pairs {
            for args in [vec![a.clone(), b.clone()], vec![b.clone(), a.clone()]] {
                let fast = Expr::mul(args.clone()).encoding();
                let general = Expr::mul_general(args.clone()).encoding();
                assert_eq!(fast, general, "{} * {}", args[0].render(), args[1].render());
            }
        }
    }

    #[test]
    fn two_terms_apart_are_the_general_sum() {
        let all = nodes();
        let mut terms = all.clone();
        for t in &all {
            terms.push(Expr::mul(vec![Expr::int(3), t.clone()]));
            terms.push(Expr::mul(vec![
                Expr::number(Number::Float(-0.5)),
                t.clone(),
                Expr::symbol("x"),
            ]));
        }
        for a in &terms {
            for b in &terms {
                let args = vec![a.clone(), b.clone()];
                let fast = Expr::add(args.clone()).encoding();
                let general = Expr::add_general(args).encoding();
                assert_eq!(fast, general, "{} + {}", a.render(), b.render());
            }
        }
    }

    #[test]
    fn nodes_order_as_their_encodings() {
        let all = nodes();
        for a in &all {
            for b in &all {
                let bytes = a.encoding().cmp(&b.encoding());
                assert_eq!(a.cmp(b), bytes, "{} vs {}", a.render(), b.render());
            }
        }
    }
}
