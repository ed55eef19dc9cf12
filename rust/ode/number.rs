//! Exact numbers for the canonical form: rationals, and IEEE-754 doubles treated as the exact
//! dyadic rationals they are.
//!
//! Numeric sub-expressions are folded exactly (as rationals) and rounded to a double once, at
//! the end, when a float took part.  Folding order therefore cannot move the last bit: an
//! importer's `Mul(0.1, 3, x)` and a parser's `Mul(0.3000…04, x)` agree because IEEE
//! multiplication is itself the correctly rounded exact product.

use num_bigint::{BigInt, BigUint, Sign};
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{FromPrimitive, One, Signed, ToPrimitive, Zero};

mod ratio;

pub use ratio::Ratio;

/// A folded number: exact (integer or rational), a finite double, or the exact value of a
/// fold a float took part in that is not itself a double (`Approx`).
///
/// Each value has one representation (so equal numbers compare equal): an exact number is
/// `Int` when it is an integer that fits an `i64`, else `Ratio` when its numerator and
/// denominator fit, else `Exact`.  Build them with [`Number::exact`] or [`Number::ratio`].
///
/// `Approx` keeps the exact value so that a later fold (a parent product, a power, a merged
/// coefficient) still rounds only once; it is encoded and rendered as the double it rounds to.
#[derive(Clone, Debug, PartialEq)]
pub enum Number {
    /// An integer that fits an `i64`.
    Int(i64),
    /// A rational that is not an integer, its numerator and denominator fitting an `i64`
    /// (the denominator is above 1).
    Ratio(Ratio),
    /// Any other exact rational.
    Exact(Box<BigRational>),
    Float(f64),
    Approx(Rational, f64),
}

/// The exact value of an [`Number::Approx`]: small when its numerator and denominator fit an
/// `i64` (one representation per value), so that most folds stay in machine integers.
#[derive(Clone, Debug, PartialEq)]
pub enum Rational {
    Small(Ratio),
    Big(Box<BigRational>),
}

impl Rational {
    fn new(r: BigRational) -> Rational {
        match Ratio::from_big(&r) {
            Some(q) => Rational::Small(q),
            None => Rational::Big(Box::new(r)),
        }
    }

    fn to_big(&self) -> BigRational {
        match self {
            Rational::Small(q) => q.to_big(),
            Rational::Big(r) => (**r).clone(),
        }
    }
}

impl Number {
    pub fn int(n: i64) -> Number {
        Number::Int(n)
    }

    /// An exact number, as `Int` or `Ratio` when it fits.
    pub fn exact(r: BigRational) -> Number {
        match Ratio::from_big(&r) {
            Some(q) => Number::ratio(q),
            None => Number::Exact(Box::new(r)),
        }
    }

    /// An exact number from a small ratio: `Int` when it is an integer.
    pub fn ratio(q: Ratio) -> Number {
        if q.is_integer() {
            Number::Int(q.numer())
        } else {
            Number::Ratio(q)
        }
    }

    /// An exact integer.
    pub fn integer(i: BigInt) -> Number {
        match i.to_i64() {
            Some(small) => Number::Int(small),
            None => Number::Exact(Box::new(BigRational::from_integer(i))),
        }
    }

    pub fn is_exact_zero(&self) -> bool {
        matches!(self, Number::Int(0))
    }

    pub fn is_zero(&self) -> bool {
        match self {
            Number::Int(i) => *i == 0,
            Number::Ratio(_) => false,
            Number::Exact(r) | Number::Approx(Rational::Big(r), _) => r.is_zero(),
            Number::Approx(Rational::Small(q), _) => q.numer() == 0,
            Number::Float(f) => *f == 0.0,
        }
    }

    /// Whether a float took part in this number (it is encoded as a double).
    pub fn is_inexact(&self) -> bool {
        !matches!(self, Number::Exact(_) | Number::Ratio(_) | Number::Int(_))
    }

    /// The double this number is encoded as, for a float or approximate number.
    pub fn as_double(&self) -> Option<f64> {
        match self {
            Number::Float(f) | Number::Approx(_, f) => Some(*f),
            Number::Exact(_) | Number::Ratio(_) | Number::Int(_) => None,
        }
    }

    /// The exact value.
    pub fn value(&self) -> BigRational {
        match self {
            Number::Int(i) => BigRational::from_integer(BigInt::from(*i)),
            Number::Ratio(q) => q.to_big(),
            Number::Exact(r) => (**r).clone(),
            Number::Approx(r, _) => r.to_big(),
            Number::Float(f) => f64_to_rational(*f),
        }
    }

    /// The exact value as a [`Ratio`], when it fits one.
    pub fn small(&self) -> Option<Ratio> {
        match self {
            Number::Int(i) => Some(Ratio::integer(*i)),
            Number::Ratio(q) | Number::Approx(Rational::Small(q), _) => Some(*q),
            Number::Float(f) => Ratio::from_f64(*f),
            Number::Exact(_) | Number::Approx(Rational::Big(_), _) => None,
        }
    }

    pub fn is_negative(&self) -> bool {
        match self {
            Number::Int(i) => *i < 0,
            Number::Ratio(q) | Number::Approx(Rational::Small(q), _) => q.numer() < 0,
            Number::Exact(r) | Number::Approx(Rational::Big(r), _) => r.is_negative(),
            Number::Float(f) => *f < 0.0,
        }
    }

    pub fn is_exact_one(&self) -> bool {
        matches!(self, Number::Int(1))
    }

    /// The integer value, when this is an exact integer.
    pub fn as_exact_integer(&self) -> Option<BigInt> {
        match self {
            Number::Int(i) => Some(BigInt::from(*i)),
            Number::Exact(r) if r.is_integer() => Some(r.numer().clone()),
            _ => None,
        }
    }
}

/// Most bits an exact fold may give a numerator or a denominator.
///
/// Exact folding is bounded so that no input can make it slow: a fold whose exact value
/// would need more bits is rounded to the nearest double at that step (as though a float had
/// taken part; beyond the double range it overflows, see [`Acc::finish`]), and a number to an
/// integer power `n` is folded only while `|n|` times the bits of its numerator or
/// denominator stays within the bound ([`pow_int`]).  Every double, every sum of doubles and
/// every product of a few dozen of them fit, so ordinary models never meet it.
pub const MAX_FOLD_BITS: u64 = 4096;

/// Whether an exact value is within [`MAX_FOLD_BITS`].
pub fn fits(r: &BigRational) -> bool {
    r.numer().bits() <= MAX_FOLD_BITS && r.denom().bits() <= MAX_FOLD_BITS
}

/// Accumulates a sum or product exactly, remembering whether a float took part.
///
/// While every step is exact in double arithmetic (checked with error-free transformations:
/// the rounding error of `a + b` and, by a fused multiply-add, of `a * b` is zero) the value is
/// kept as an `f64`; the first step that would round switches to exact rationals, in machine
/// integers ([`Ratio`]) while numerator and denominator fit an `i64` and as `BigRational`
/// from the first step that would not.  Either way the result is the exact value, so the fast
/// paths cannot change a bit.  A value that outgrows [`MAX_FOLD_BITS`] is rounded to a double
/// (and stays rounded), so every step costs at most a few operations on numbers of that size.
#[derive(Clone, Debug)]
pub struct Acc {
    value: Fold,
    inexact: bool,
}

/// The exact value an [`Acc`] holds.
#[derive(Clone, Debug)]
enum Fold {
    /// Exactly this double.
    Double(f64),
    Small(Ratio),
    Big(BigRational),
    /// The value was rounded past the double range: the fold is infinite from then on,
    /// negative when this holds `true` (a sign, as IEEE infinities keep one).
    Overflow(bool),
}

impl Fold {
    /// The value as a [`Ratio`], when it fits one.  A `Big` value is not checked: it came
    /// from a step that did not fit, and seldom shrinks back (`finish` still gives it its one
    /// representation).
    fn small(&self) -> Option<Ratio> {
        match self {
            Fold::Double(f) => Ratio::from_f64(*f),
            Fold::Small(q) => Some(*q),
            Fold::Big(_) | Fold::Overflow(_) => None,
        }
    }

    fn into_big(self) -> BigRational {
        match self {
            Fold::Double(f) => f64_to_rational(f),
            Fold::Small(q) => q.to_big(),
            Fold::Big(r) => r,
            Fold::Overflow(_) => unreachable!("an overflowed fold takes no more steps"),
        }
    }
}

/// Every integer of smaller magnitude is a double.
const EXACT_INT: u64 = 1 << 53;

/// Below this magnitude a product's rounding error may be subnormal, so a zero fused
/// multiply-add error no longer proves the product exact.
const TINY: f64 = 1e-290;

impl Acc {
    pub fn zero() -> Acc {
        Acc {
            value: Fold::Double(0.0),
            inexact: false,
        }
    }

    pub fn one() -> Acc {
        Acc {
            value: Fold::Double(1.0),
            inexact: false,
        }
    }

    pub fn from_number(n: &Number) -> Acc {
        let mut acc = Acc::zero();
        acc.add(n);
        acc
    }

    /// An accumulator holding `value`, inexact if `inexact`.
    pub fn of(value: BigRational, inexact: bool) -> Acc {
        let value = match Ratio::from_big(&value) {
            Some(q) => Fold::Small(q),
            None => Fold::Big(value),
        };
        let mut acc = Acc { value, inexact };
        acc.bound();
        acc
    }

    /// Rounds a value that outgrew [`MAX_FOLD_BITS`] to the nearest double.
    fn bound(&mut self) {
        let Fold::Big(value) = &self.value else {
            return;
        };
        if fits(value) {
            return;
        }
        let f = rational_to_f64(value);
        self.inexact = true;
        self.value = if f.is_finite() {
            Fold::Double(f) // now exactly the value
        } else {
            Fold::Overflow(f < 0.0)
        };
    }

    /// The double a number exactly is, for the fast path: a float, or a small integer.
    fn fast_of(n: &Number) -> Option<f64> {
        match n {
            Number::Float(f) => Some(*f),
            // Below 2^53 in magnitude, where `as` is exact (2^53 + 1 would round to 2^53).
            Number::Int(i) => (i.unsigned_abs() < EXACT_INT).then_some(*i as f64),
            _ => None,
        }
    }

    /// One exact step: in machine integers when both operands and the result fit, else in
    /// `BigRational`.  `identity` is the value (zero for a sum, one for a product) that the
    /// first term or factor of most folds meets: it is taken as it is, without a gcd.
    fn exact_step(
        &mut self,
        n: &Number,
        identity: f64,
        small: fn(Ratio, Ratio) -> Option<Ratio>,
        big: fn(&mut BigRational, &BigRational),
    ) {
        let b = n.small();
        if matches!(self.value, Fold::Double(a) if a == identity) {
            self.value = match b {
                Some(q) => Fold::Small(q),
                None => Fold::Big(n.value()),
            };
            self.bound();
            return;
        }
        if let (Some(a), Some(b)) = (self.value.small(), b) {
            if let Some(q) = small(a, b) {
                self.value = Fold::Small(q);
                return;
            }
        }
        let mut acc = std::mem::replace(&mut self.value, Fold::Overflow(false)).into_big();
        match n {
            Number::Exact(r) | Number::Approx(Rational::Big(r), _) => big(&mut acc, r),
            _ => big(&mut acc, &n.value()),
        }
        self.value = Fold::Big(acc);
        self.bound();
    }

    pub fn add(&mut self, n: &Number) {
        self.inexact |= n.is_inexact();
        // An infinite total stays as it is: what adding a finite double to it gives.
        if let Fold::Overflow(_) = self.value {
            return;
        }
        if let (Fold::Double(a), Some(b)) = (&self.value, Acc::fast_of(n)) {
            let a = *a;
            if a == 0.0 {
                self.value = Fold::Double(b);
                return;
            }
            let s = a + b;
            let bb = s - a;
            if s.is_finite() && (a - (s - bb)) + (b - bb) == 0.0 {
                self.value = Fold::Double(s);
                return;
            }
        }
        self.exact_step(n, 0.0, Ratio::checked_add, |acc, r| *acc += r);
    }

    pub fn mul(&mut self, n: &Number) {
        self.inexact |= n.is_inexact();
        // An infinite product keeps its magnitude and takes the factor's sign.
        if let Fold::Overflow(negative) = &mut self.value {
            *negative ^= n.is_negative();
            return;
        }
        if let (Fold::Double(a), Some(b)) = (&self.value, Acc::fast_of(n)) {
            let a = *a;
            if a == 1.0 {
                // The first factor of most products: exact without a fused multiply-add.
                self.value = Fold::Double(b);
                return;
            }
            let p = a * b;
            let exact = if p == 0.0 {
                a == 0.0 || b == 0.0
            } else {
                p.is_finite() && p.abs() >= TINY && a.mul_add(b, -p) == 0.0
            };
            if exact {
                self.value = Fold::Double(p);
                return;
            }
        }
        self.exact_step(n, 1.0, Ratio::checked_mul, |acc, r| *acc *= r);
    }

    /// Whether a fold [`Acc::finish`] gives no number for (it overflows the double range)
    /// is negative: the sign of the infinity it stands for.
    pub fn overflows_negative(&self) -> bool {
        match &self.value {
            Fold::Overflow(negative) => *negative,
            Fold::Big(value) => value.is_negative(),
            Fold::Double(v) => *v < 0.0,
            Fold::Small(q) => q.numer() < 0,
        }
    }

    /// The folded number: exact, or (if a float took part) its exact value together with the
    /// nearest double (ties to even), which is what it is encoded as; `None` when that double
    /// would overflow to infinity.
    pub fn finish(&self) -> Option<Number> {
        match &self.value {
            Fold::Overflow(_) => None,
            Fold::Double(v) => {
                let v = if *v == 0.0 { 0.0 } else { *v }; // the value is exact: no signed zero
                Some(if self.inexact {
                    Number::Float(v)
                } else {
                    // Only integers enter the fast path exactly, and their sums and products
                    // are integers.
                    const I64_BOUND: f64 = 9_223_372_036_854_775_808.0; // 2^63
                    if v.abs() < I64_BOUND {
                        Number::Int(v as i64)
                    } else {
                        Number::integer(BigInt::from_f64(v).expect("a finite integer"))
                    }
                })
            }
            Fold::Small(q) if self.inexact => {
                let f = q.to_f64();
                Some(if Ratio::from_f64(f) == Some(*q) {
                    Number::Float(f)
                } else {
                    Number::Approx(Rational::Small(*q), f)
                })
            }
            Fold::Small(q) => Some(Number::ratio(*q)),
            Fold::Big(value) if self.inexact => {
                let f = rational_to_f64(value);
                if !f.is_finite() {
                    return None;
                }
                Some(if f64_to_rational(f) == *value {
                    Number::Float(f)
                } else {
                    Number::Approx(Rational::new(value.clone()), f)
                })
            }
            Fold::Big(value) => Some(Number::exact(value.clone())),
        }
    }
}

/// `base ** exp` for an integer exponent, folded exactly; `None` when it cannot be (division
/// by zero, an exponent too large to be worth expanding, a result beyond [`MAX_FOLD_BITS`],
/// or an overflowing double).
pub fn pow_int(base: &Number, exp: &BigInt) -> Option<Number> {
    // Beyond this, exact expansion costs more than it is worth (and SymPy's evaluated trees
    // hold such powers folded as floats anyway): leave the power symbolic.
    const MAX_EXP: u32 = 64;
    let e = exp.to_i64()?;
    if e.unsigned_abs() > u64::from(MAX_EXP) {
        return None;
    }
    let inexact = base.is_inexact();
    // A ratio has at most 64 bits, so its powers (at most the 64th) pass the bound below.
    if let Some(p) = base.small().and_then(|q| q.checked_pow(e)) {
        let acc = Acc {
            value: Fold::Small(p),
            inexact,
        };
        return acc.finish();
    }
    let r = base.value();
    if r.is_zero() && e < 0 {
        return None;
    }
    // Decided before expanding, from the operands alone: the power would have at most this
    // many bits (`(1.1**64)**64` stays a power instead of a 200,000-bit fold).
    let bits = r.numer().bits().max(r.denom().bits());
    if bits.saturating_mul(e.unsigned_abs()) > MAX_FOLD_BITS {
        return None;
    }
    let mut value = num_traits::pow(r, e.unsigned_abs() as usize);
    if e < 0 {
        value = value.recip();
    }
    Acc::of(value, inexact).finish()
}

/// `e**x` for a double `x`, correctly rounded to a double: what SymPy (mpmath) computes when
/// it evaluates `exp(Float)`.  Computed in 256-bit fixed point rather than with the
/// platform's `exp`, whose last bit differs between C libraries (a hash must not).  `None`
/// when the result overflows or underflows a double.
pub fn exp_rounded(x: f64) -> Option<f64> {
    const P: i64 = 256;
    if x == 0.0 {
        return Some(1.0);
    }
    if !(-745.2..=709.8).contains(&x) {
        return None;
    }
    let one = BigInt::one() << P;
    // |x| = fixed / 2^P (rounded down), then halved k times so the series converges in a
    // few dozen terms.
    let (mantissa, exponent) = f64_parts(x.abs());
    let shift = P + exponent;
    let fixed = if shift >= 0 {
        BigInt::from(mantissa) << shift
    } else {
        BigInt::from(mantissa) >> -shift
    };
    let k = (x.abs().log2().floor() as i64 + 9).max(0) as u64;
    let r = fixed >> k;
    let mut sum = one.clone();
    let mut term = one.clone();
    let mut n = 1u32;
    while !term.is_zero() {
        term = ((term * &r) >> P) / BigInt::from(n);
        sum += &term;
        n += 1;
    }
    for _ in 0..k {
        sum = (&sum * &sum) >> P;
    }
    // e^|x| >= 1 keeps full relative precision; e^-|x| is its exact reciprocal.
    let value = if x > 0.0 {
        BigRational::new(sum, one)
    } else {
        BigRational::new(one, sum)
    };
    let f = rational_to_f64(&value);
    (f.is_finite() && f != 0.0).then_some(f)
}

/// A finite double as `mantissa * 2^exponent` in lowest terms (the mantissa is odd where the
/// exponent is negative); zero is `(0, 0)`.
fn f64_parts(f: f64) -> (i64, i64) {
    debug_assert!(f.is_finite());
    if f == 0.0 {
        return (0, 0);
    }
    let bits = f.to_bits();
    let negative = bits >> 63 == 1;
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mantissa, exponent) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    // Lowest terms without a gcd: the denominator is a power of two.
    let tz = mantissa
        .trailing_zeros()
        .min(exponent.unsigned_abs() as u32) as i64;
    let (mantissa, exponent) = if exponent < 0 {
        (mantissa >> tz, exponent + tz)
    } else {
        (mantissa, exponent)
    };
    let m = mantissa as i64; // at most 53 bits
    (if negative { -m } else { m }, exponent)
}

/// The exact rational value of a finite double.
pub fn f64_to_rational(f: f64) -> BigRational {
    let (mantissa, exponent) = f64_parts(f);
    let m = BigInt::from(mantissa);
    if exponent >= 0 {
        BigRational::from_integer(m << exponent as usize)
    } else {
        BigRational::new_raw(m, BigInt::one() << (-exponent) as usize)
    }
}

/// The double nearest to `r` (round half to even), as IEEE-754 arithmetic would produce it.
pub fn rational_to_f64(r: &BigRational) -> f64 {
    if r.is_zero() {
        return 0.0;
    }
    let negative = r.is_negative();
    let n: BigUint = r.numer().abs().to_biguint().expect("absolute value");
    let d: BigUint = r.denom().abs().to_biguint().expect("absolute value");
    // Scale so that the integer quotient q has 55 or 56 bits: two more than a double holds,
    // so the round bit is exact and the remainder is the sticky bit.
    let shift = 55 - (n.bits() as i64 - d.bits() as i64);
    let (num, den) = if shift >= 0 {
        (n << shift as usize, d)
    } else {
        (n, d << (-shift) as usize)
    };
    let (q, rem) = num.div_rem(&den);
    let q = q.to_u64().expect("at most 56 bits");
    round_scaled(negative, q, !rem.is_zero(), -shift)
}

/// The double nearest to `(q + t) * 2^e` (ties to even), negated if `negative`, for an
/// integer `q` of 55 or 56 bits and a fraction `0 <= t < 1` that is nonzero when `sticky`.
fn round_scaled(negative: bool, q: u64, sticky: bool, e: i64) -> f64 {
    let q_bits = i64::from(64 - q.leading_zeros());
    // Keep 53 significant bits, or fewer where the result is subnormal (lowest bit 2^-1074).
    let k = (q_bits - 53).max(-1074 - e);
    if k > q_bits + 1 {
        // Far below the smallest subnormal: rounds to zero.
        return if negative { -0.0 } else { 0.0 };
    }
    // 2 <= k <= 57: every shift below stays within a u64.
    let mut m = q >> k;
    let dropped = q - (m << k);
    let half = 1u64 << (k - 1);
    let round_up = dropped > half || (dropped == half && (sticky || m & 1 == 1));
    if round_up {
        m += 1;
    }
    let mut e = e + k;
    if m == 1u64 << 53 {
        m >>= 1;
        e += 1;
    }
    let magnitude = if m >= 1u64 << 52 {
        // m * 2^e with m in [2^52, 2^53) is 1.f * 2^(e + 52).
        let biased = e + 52 + 1023;
        if biased >= 0x7ff {
            f64::INFINITY
        } else {
            f64::from_bits(((biased as u64) << 52) | (m - (1u64 << 52)))
        }
    } else {
        // Subnormal (e == -1074) or zero after rounding.
        f64::from_bits(m)
    };
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// Sign byte and big-endian magnitude of an integer, for the canonical encoding.
pub fn int_parts(i: &BigInt) -> (u8, Vec<u8>) {
    let (sign, bytes) = i.to_bytes_be();
    let sign_byte = u8::from(sign == Sign::Minus);
    let bytes = if i.is_zero() { Vec::new() } else { bytes };
    (sign_byte, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state
    }

    fn random_double(state: &mut u64) -> f64 {
        loop {
            let f = f64::from_bits(lcg(state));
            if f.is_finite() {
                return f;
            }
        }
    }

    fn bounded(acc: &Acc) -> bool {
        !matches!(&acc.value, Fold::Big(r) if !fits(r))
    }

    #[test]
    fn doubles_round_trip() {
        let mut s = 7;
        for f in [
            0.1,
            -0.1,
            1.0,
            3.0,
            5e-324,
            -2.2250738585072014e-308,
            f64::MAX,
            1e-300,
        ] {
            assert_eq!(rational_to_f64(&f64_to_rational(f)).to_bits(), f.to_bits());
        }
        for _ in 0..20_000 {
            let f = random_double(&mut s);
            assert_eq!(rational_to_f64(&f64_to_rational(f)).to_bits(), f.to_bits());
        }
    }

    #[test]
    fn exact_sum_and_product_round_like_ieee() {
        // IEEE + and * are correctly rounded exact results, so folding exactly must agree.
        let mut s = 11;
        for i in 0..20_000 {
            let (a, b) = if i % 2 == 0 {
                (random_double(&mut s), random_double(&mut s))
            } else {
                // Nearby magnitudes, where sums actually round.
                let a = (lcg(&mut s) % 1_000_000) as f64 / 997.0;
                (a, -((lcg(&mut s) % 1_000) as f64) / 13.0)
            };
            let mut sum = Acc::zero();
            sum.add(&Number::Float(a));
            sum.add(&Number::Float(b));
            if (a + b).is_finite() {
                assert_eq!(
                    sum.finish().and_then(|n| n.as_double()),
                    Some(a + b),
                    "{a} + {b}"
                );
            }
            let mut prod = Acc::one();
            prod.mul(&Number::Float(a));
            prod.mul(&Number::Float(b));
            let p = a * b;
            if p.is_finite() && p != 0.0 {
                assert_eq!(
                    prod.finish().and_then(|n| n.as_double()),
                    Some(p),
                    "{a} * {b}"
                );
            }
        }
    }

    #[test]
    fn fast_path_is_the_exact_value() {
        // Mixed chains of doubles and integers: the accumulator must hold exactly what
        // rational arithmetic gives, whether or not it stayed on the f64 fast path.
        let mut s = 5;
        for i in 0..5_000 {
            let mut acc = if i % 2 == 0 { Acc::zero() } else { Acc::one() };
            let mut exact = if i % 2 == 0 {
                BigRational::zero()
            } else {
                BigRational::one()
            };
            let mut inexact = false;
            for _ in 0..4 {
                let n = match lcg(&mut s) % 4 {
                    0 => Number::int((lcg(&mut s) % 2000) as i64 - 1000),
                    1 => Number::Float(((lcg(&mut s) % 4096) as f64 - 2048.0) / 64.0),
                    2 => Number::Float(random_double(&mut s).clamp(-1e100, 1e100)),
                    _ => Number::Float((lcg(&mut s) % 1000) as f64 / 10.0),
                };
                inexact |= n.is_inexact();
                if i % 2 == 0 {
                    acc.add(&n);
                    exact += n.value();
                } else {
                    acc.mul(&n);
                    exact *= n.value();
                }
            }
            let expected = Acc::of(exact, inexact).finish();
            assert_eq!(acc.finish(), expected);
        }
    }

    #[test]
    fn folding_order_does_not_matter() {
        let nums = [Number::Float(0.1), Number::Float(0.2), Number::Float(0.3)];
        let mut forward = Acc::zero();
        let mut backward = Acc::zero();
        for n in &nums {
            forward.add(n);
        }
        for n in nums.iter().rev() {
            backward.add(n);
        }
        assert_eq!(forward.finish(), backward.finish());
        // One rounding of the exact 0.6000000000000000055…: not (0.1 + 0.2) + 0.3.
        assert_eq!(forward.finish().and_then(|n| n.as_double()), Some(0.6));
    }

    #[test]
    fn integer_powers_fold_exactly() {
        let third = Number::exact(BigRational::new(1.into(), 3.into()));
        assert_eq!(pow_int(&third, &BigInt::from(-2)), Some(Number::Int(9)));
        assert_eq!(
            pow_int(&Number::Float(2.0), &BigInt::from(-1)),
            Some(Number::Float(0.5))
        );
        // 1/1.5 is kept exact (encoded as its double), so 40.0/1.5 rounds once.
        let third = pow_int(&Number::Float(1.5), &BigInt::from(-1)).unwrap();
        assert_eq!(third.as_double(), Some(1.0 / 1.5));
        let mut acc = Acc::one();
        acc.mul(&Number::Float(40.0));
        acc.mul(&third);
        assert_eq!(acc.finish().and_then(|n| n.as_double()), Some(40.0 / 1.5));
        assert_eq!(pow_int(&Number::int(0), &BigInt::from(-1)), None);
        assert_eq!(pow_int(&Number::int(2), &BigInt::from(1000)), None);
    }

    #[test]
    fn exp_is_correctly_rounded() {
        // Reference values: mpmath at 53 bits (what SymPy's exp(Float) gives).
        let cases = [
            (1.0, std::f64::consts::E),
            (-4.0, 0.01831563888873418),
            (-3.25, 0.03877420783172201),
            (-3.6111111111111107, 0.027021805951209073),
            (700.0, 1.0142320547350045e304),
            (-700.0, 9.85967654375977e-305),
            (1e-10, 1.0000000001),
        ];
        for (x, expected) in cases {
            assert_eq!(exp_rounded(x), Some(expected), "exp({x})");
        }
        assert_eq!(exp_rounded(710.0), None);
    }

    #[test]
    fn folding_is_bounded() {
        // 1.1**64 folds (3,392 bits); its 64th power would need 217,000 and stays a power.
        let p = pow_int(&Number::Float(1.1), &BigInt::from(64)).unwrap();
        assert!(fits(&p.value()));
        assert_eq!(pow_int(&p, &BigInt::from(64)), None);
        assert_eq!(
            pow_int(&Number::int(3), &BigInt::from(64)).map(|n| n.is_inexact()),
            Some(false)
        );
        // A product of big folds is rounded once it outgrows the bound, and overflows.
        let mut acc = Acc::one();
        for _ in 0..200 {
            acc.mul(&p); // 1.1**12800, about 1e530
            assert!(bounded(&acc));
        }
        assert_eq!(acc.finish(), None);
        // An exact sum of many fractions stays exact while it fits, then becomes a double
        // close to the exact value.
        let mut acc = Acc::zero();
        let mut small = Acc::zero();
        for q in 2..3000 {
            let term = Number::exact(BigRational::new(1.into(), q.into()));
            acc.add(&term);
            assert!(bounded(&acc));
            if q < 20 {
                small.add(&term);
            }
        }
        assert!(!small.finish().unwrap().is_inexact());
        let sum = acc.finish().unwrap().as_double().unwrap();
        let harmonic: f64 = (1..3000).map(|q| 1.0 / q as f64).sum::<f64>() - 1.0;
        assert!((sum - harmonic).abs() < 1e-12, "{sum} vs {harmonic}");
    }

    /// What a fold of exact value `v` finishes as, computed in `BigRational` alone.
    fn reference(v: &BigRational, inexact: bool) -> Option<Number> {
        if !inexact {
            return Some(Number::exact(v.clone()));
        }
        let f = rational_to_f64(v);
        if !f.is_finite() {
            None
        } else if f64_to_rational(f) == *v {
            Some(Number::Float(f))
        } else {
            Some(Number::Approx(Rational::new(v.clone()), f))
        }
    }

    /// A number of every representation, small ones near the `i64` edges as often as not.
    fn random_number(s: &mut u64) -> Number {
        let edge = |s: &mut u64| -> i64 {
            let r = lcg(s) >> 16;
            match r % 6 {
                0 => (r >> 8) as i64 % 9 - 4,
                1 => i64::MIN + (r >> 8) as i64 % 3,
                2 => i64::MAX - (r >> 8) as i64 % 3,
                3 => (1 << 53) + (r >> 8) as i64 % 3 - 1,
                4 => (r >> 8) as i64 % 1000 + 1,
                _ => lcg(s) as i64,
            }
        };
        let fold = |v: BigRational, inexact: bool| Acc::of(v, inexact).finish().unwrap();
        match (lcg(s) >> 16) % 7 {
            0 => Number::int(edge(s)),
            1 | 2 => fold(
                BigRational::new(edge(s).into(), edge(s).max(1).into()),
                false,
            ),
            3 => Number::Float(((lcg(s) >> 16) % 4096) as f64 / 64.0 - 32.0),
            4 => Number::Float(random_double(s).clamp(-1e30, 1e30)),
            5 => fold(
                BigRational::new(edge(s).into(), edge(s).max(1).into()),
                true,
            ),
            _ => fold(
                BigRational::new(BigInt::from(edge(s)) << 70u32, edge(s).max(1).into()),
                lcg(s) & 1 << 40 == 0,
            ),
        }
    }

    #[test]
    fn small_folds_are_the_big_folds() {
        // Whatever path a fold takes (doubles, machine integers, BigRational), it finishes as
        // the one representation of the exact value.
        let mut s = 23;
        for i in 0..10_000 {
            let mut acc = if i % 2 == 0 { Acc::zero() } else { Acc::one() };
            let mut exact = if i % 2 == 0 {
                BigRational::zero()
            } else {
                BigRational::one()
            };
            let mut inexact = false;
            for _ in 0..1 + (lcg(&mut s) >> 16) % 4 {
                let n = random_number(&mut s);
                inexact |= n.is_inexact();
                if i % 2 == 0 {
                    acc.add(&n);
                    exact += n.value();
                } else {
                    acc.mul(&n);
                    exact *= n.value();
                }
            }
            if !fits(&exact) {
                continue;
            }
            let got = acc.finish();
            assert_eq!(got, reference(&exact, inexact), "{exact}");
            if let Some(n) = &got {
                assert_eq!(Number::exact(n.value()) == *n, !inexact);
                match n {
                    Number::Exact(r) | Number::Approx(Rational::Big(r), _) => {
                        assert_eq!(Ratio::from_big(r), None)
                    }
                    Number::Ratio(q) => assert!(!q.is_integer()),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn small_powers_are_the_big_powers() {
        let mut s = 31;
        for _ in 0..10_000 {
            let base = random_number(&mut s);
            let e = (lcg(&mut s) >> 16) as i64 % 13 - 6;
            let v = base.value();
            let want = if v.is_zero() && e < 0 {
                None
            } else {
                let p = num_traits::pow(v, e.unsigned_abs() as usize);
                let p = if e < 0 { p.recip() } else { p };
                let bits = base.value().numer().bits().max(base.value().denom().bits());
                if bits * e.unsigned_abs() > MAX_FOLD_BITS {
                    None
                } else {
                    reference(&p, base.is_inexact())
                }
            };
            assert_eq!(pow_int(&base, &BigInt::from(e)), want, "{base:?}**{e}");
        }
    }

    #[test]
    fn ratios_encode_and_order_as_big_rationals() {
        use crate::ode::encoding::Expr;
        let encode = |n: Number| {
            let mut out = Vec::new();
            Expr::number(n).encode_into(&mut out);
            out
        };
        let mut s = 37;
        let mut ratios = vec![];
        while ratios.len() < 300 {
            if let Some(Number::Ratio(q)) = Some(random_number(&mut s)) {
                ratios.push(q);
            }
        }
        let big = |q: &Ratio| Expr::number(Number::Exact(Box::new(q.to_big())));
        let small = |q: &Ratio| Expr::number(Number::Ratio(*q));
        for a in &ratios {
            assert_eq!(
                encode(Number::Ratio(*a)),
                encode(Number::Exact(Box::new(a.to_big())))
            );
            for b in &ratios[..30] {
                assert_eq!(small(a).cmp(&small(b)), big(a).cmp(&big(b)), "{a:?} {b:?}");
                assert_eq!(small(a).cmp(&big(b)), big(a).cmp(&big(b)), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn integers_past_2_53_fold_exactly() {
        // 2^53 + 1 is no double: it must not enter the double fast path as 2^53.
        for i in [(1i64 << 53) + 1, -(1 << 53) - 1, i64::MAX, i64::MIN + 1] {
            let mut sum = Acc::zero();
            sum.add(&Number::int(i));
            assert_eq!(sum.finish(), Some(Number::int(i)));
            let mut prod = Acc::one();
            prod.mul(&Number::int(i));
            prod.mul(&Number::int(1));
            assert_eq!(prod.finish(), Some(Number::int(i)));
            let mut sum = Acc::zero();
            sum.add(&Number::int(i));
            sum.add(&Number::int(-1));
            assert_eq!(sum.finish(), Some(Number::int(i - 1)));
        }
    }

    #[test]
    fn overflow_is_not_a_number() {
        let mut acc = Acc::one();
        acc.mul(&Number::Float(f64::MAX));
        acc.mul(&Number::Float(2.0));
        assert_eq!(acc.finish(), None);
    }
}
