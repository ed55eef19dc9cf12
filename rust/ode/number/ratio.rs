//! Rationals whose numerator and denominator fit an `i64`, in machine integers.
//!
//! Most exact numbers of a model are small (`1/4` from `x**2/4`, `-1/2` from `exp(-x/2)`, the
//! exact value `3602879701896397/2^55` of the double `0.1`), and folding them through
//! `BigRational` costs about ten allocations and a `BigInt` gcd per step.  A [`Ratio`] does
//! the same arithmetic in `u64`/`i128` and says `None` when the exact result does not fit, so
//! that the caller falls back to `BigRational`: either way the value is the exact one.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::ToPrimitive;

/// `numer / denom` in lowest terms, `denom > 0` (zero is `0/1`): one representation per
/// value, so equal ratios compare equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ratio {
    numer: i64,
    denom: i64,
}

impl Ratio {
    pub const ZERO: Ratio = Ratio { numer: 0, denom: 1 };

    pub fn integer(i: i64) -> Ratio {
        Ratio { numer: i, denom: 1 }
    }

    pub fn numer(self) -> i64 {
        self.numer
    }

    /// The denominator, at least 1.
    pub fn denom(self) -> i64 {
        self.denom
    }

    pub fn is_integer(self) -> bool {
        self.denom == 1
    }

    /// `±magnitude / denom` for a fraction already in lowest terms with `denom > 0`, when
    /// both fit.
    fn signed(negative: bool, magnitude: u64, denom: u64) -> Option<Ratio> {
        let numer = if negative {
            0i64.checked_sub_unsigned(magnitude)?
        } else {
            i64::try_from(magnitude).ok()?
        };
        let denom = i64::try_from(denom).ok()?;
        Some(Ratio { numer, denom })
    }

    /// The exact sum, when it fits (Knuth, TAOCP 4.5.1: with `g = gcd(b, d)`,
    /// `a/b + c/d = t / (b/g * d)` for `t = a*(d/g) + c*(b/g)`, and only `gcd(t, g)` is left
    /// to cancel).
    pub fn checked_add(self, other: Ratio) -> Option<Ratio> {
        let (b, d) = (self.denom as u64, other.denom as u64);
        let g1 = gcd(b, d);
        // Each product is below 2^126 in magnitude, so the sum is below 2^127.
        let t = i128::from(self.numer) * i128::from(d / g1)
            + i128::from(other.numer) * i128::from(b / g1);
        let magnitude = t.unsigned_abs();
        if g1 == 1 {
            // Coprime denominators leave the sum in lowest terms.
            return Ratio::signed(t < 0, u64::try_from(magnitude).ok()?, b.checked_mul(d)?);
        }
        if t == 0 {
            return Some(Ratio::ZERO);
        }
        let g2 = gcd(u64::try_from(magnitude % u128::from(g1)).ok()?, g1);
        Ratio::signed(
            t < 0,
            u64::try_from(magnitude / u128::from(g2)).ok()?,
            (b / g1).checked_mul(d / g2)?,
        )
    }

    /// The exact product, when it fits: cross-cancelling first leaves it in lowest terms.
    pub fn checked_mul(self, other: Ratio) -> Option<Ratio> {
        let (a, c) = (self.numer.unsigned_abs(), other.numer.unsigned_abs());
        let (b, d) = (self.denom as u64, other.denom as u64);
        let (g1, g2) = (gcd(a, d), gcd(c, b));
        Ratio::signed(
            (self.numer < 0) != (other.numer < 0),
            (a / g1).checked_mul(c / g2)?,
            (b / g2).checked_mul(d / g1)?,
        )
    }

    /// `self ** e` for `|e| <= 64`, when it fits; `None` also for zero to a negative power.
    pub fn checked_pow(self, e: i64) -> Option<Ratio> {
        let k = u32::try_from(e.unsigned_abs()).ok().filter(|k| *k <= 64)?;
        // The powers of a fraction in lowest terms are in lowest terms.  Magnitudes in `u64`,
        // so that `(-1/2^21)**-3 = -2^63` fits.
        let n = self.numer.unsigned_abs().checked_pow(k)?;
        let d = (self.denom as u64).checked_pow(k)?;
        let negative = self.numer < 0 && k % 2 == 1;
        if e >= 0 {
            Ratio::signed(negative, n, d)
        } else if n == 0 {
            None
        } else {
            Ratio::signed(negative, d, n)
        }
    }

    /// The ratio a `BigRational` (in lowest terms) is, when it fits.
    pub fn from_big(r: &BigRational) -> Option<Ratio> {
        Some(Ratio {
            numer: r.numer().to_i64()?,
            denom: r.denom().to_i64()?,
        })
    }

    pub fn to_big(self) -> BigRational {
        BigRational::new_raw(BigInt::from(self.numer), BigInt::from(self.denom))
    }

    /// The exact value of a finite double, when it fits: every double from about `2^-10`
    /// (with 53 significant bits; smaller ones with fewer) up to `2^63`.
    pub fn from_f64(f: f64) -> Option<Ratio> {
        let (mantissa, exponent) = super::f64_parts(f);
        let (negative, m) = (mantissa < 0, mantissa.unsigned_abs());
        match exponent {
            // An integer: a nonzero mantissa shifted by 64 or more never fits.
            0..=63 => Ratio::signed(negative, u64::try_from(u128::from(m) << exponent).ok()?, 1),
            64.. => (m == 0).then_some(Ratio::ZERO),
            -62..=-1 => Ratio::signed(negative, m, 1 << -exponent),
            _ => None,
        }
    }

    /// The double nearest to the ratio (ties to even).
    pub fn to_f64(self) -> f64 {
        const EXACT: u64 = 1 << 53;
        let m = self.numer.unsigned_abs();
        if m <= EXACT && self.denom as u64 <= EXACT {
            // Both are doubles, and IEEE division rounds the exact quotient correctly (zero,
            // `0/1`, always ends here).
            return self.numer as f64 / self.denom as f64;
        }
        // Scaled so the integer quotient has 55 or 56 bits: the shifted operand has at most
        // 55 + 63 bits.
        let (n, d) = (u128::from(m), self.denom as u128);
        let shift = 55 - (bits(n) as i64 - bits(d) as i64);
        let (num, den) = if shift >= 0 {
            (n << shift, d)
        } else {
            (n, d << -shift)
        };
        let q = u64::try_from(num / den).expect("at most 56 bits");
        super::round_scaled(self.numer < 0, q, num % den != 0, -shift)
    }
}

fn bits(x: u128) -> u32 {
    128 - x.leading_zeros()
}

/// Greatest common divisor (binary), `gcd(0, x) = x`.
fn gcd(a: u64, b: u64) -> u64 {
    if a == 0 || b == 0 {
        return a | b;
    }
    let shift = (a | b).trailing_zeros();
    let (mut a, mut b) = (a >> a.trailing_zeros(), b);
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ode::number::{f64_to_rational, rational_to_f64};

    /// SplitMix64: every bit of the output is well mixed (the operands pick cases by `% 8`).
    fn mix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }

    /// Integers that stress the overflow edges as often as ordinary small ones.
    fn edgy(state: &mut u64) -> i64 {
        let r = mix(state);
        let near = |base: i64| base.wrapping_add((r >> 8) as i64 % 5);
        match r % 8 {
            0 => (r >> 8) as i64 % 13 - 6,
            1 => (r >> 8) as i64 % 2000 - 1000,
            2 => near(i64::MIN),
            3 => near(i64::MAX - 4),
            4 => near(1 << 62) * if r & 1 << 40 == 0 { 1 } else { -1 },
            5 => (1i64 << ((r >> 8) % 63)) * if r & 1 << 40 == 0 { 1 } else { -1 },
            6 => (r >> 8) as i64 % (1 << 32),
            _ => mix(state) as i64,
        }
    }

    fn random_ratio(state: &mut u64) -> Ratio {
        loop {
            if let Some(q) = ratio(edgy(state), edgy(state)) {
                return q;
            }
        }
    }

    fn big(q: Ratio) -> BigRational {
        q.to_big()
    }

    /// `n / d` through `BigRational`, when it fits a ratio.
    fn ratio(n: i64, d: i64) -> Option<Ratio> {
        (d != 0)
            .then(|| Ratio::from_big(&BigRational::new(n.into(), d.into())))
            .flatten()
    }

    #[test]
    fn big_round_trip() {
        let mut s = 3;
        for _ in 0..20_000 {
            let q = random_ratio(&mut s);
            assert!(q.denom() > 0);
            assert_eq!(Ratio::from_big(&big(q)), Some(q));
            assert_eq!(big(q), BigRational::new(q.numer().into(), q.denom().into()));
        }
        assert_eq!(ratio(i64::MIN, -1), None);
        assert_eq!(ratio(1, i64::MIN), None);
        assert_eq!(ratio(i64::MIN, 2), Some(Ratio::integer(-(1 << 62))));
        assert_eq!(ratio(i64::MIN, 3).map(Ratio::numer), Some(i64::MIN));
        assert_eq!(ratio(0, -7), Some(Ratio::ZERO));
    }

    #[test]
    fn arithmetic_is_the_big_arithmetic() {
        let mut s = 17;
        for _ in 0..20_000 {
            let (a, b) = (random_ratio(&mut s), random_ratio(&mut s));
            for (got, want) in [
                (a.checked_add(b), big(a) + big(b)),
                (a.checked_mul(b), big(a) * big(b)),
            ] {
                // `None` exactly when the exact result does not fit.
                assert_eq!(got, Ratio::from_big(&want), "{a:?} {b:?}");
            }
            let e = (mix(&mut s) % 11) as i64 - 5;
            let want = (!(a == Ratio::ZERO && e < 0)).then(|| {
                let p = num_traits::pow(big(a), e.unsigned_abs() as usize);
                if e < 0 {
                    p.recip()
                } else {
                    p
                }
            });
            assert_eq!(
                a.checked_pow(e),
                want.as_ref().and_then(Ratio::from_big),
                "{a:?}**{e}"
            );
        }
        let two = Ratio::integer(2);
        assert_eq!(two.checked_pow(62), Some(Ratio::integer(1 << 62)));
        assert_eq!(two.checked_pow(63), None);
        assert_eq!(
            Ratio::integer(-2).checked_pow(63),
            Some(Ratio::integer(i64::MIN))
        );
        assert_eq!(Ratio::integer(-2).checked_pow(-63), None);
        assert_eq!(two.checked_pow(65), None);
        let min = Ratio::integer(i64::MIN);
        assert_eq!(min.checked_add(Ratio::integer(-1)), None);
        assert_eq!(min.checked_mul(Ratio::integer(-1)), None);
        assert_eq!(min.checked_pow(-1), None);
    }

    #[test]
    fn doubles_are_the_big_doubles() {
        let mut s = 29;
        for i in 0..20_000 {
            let f = if i % 2 == 0 {
                f64::from_bits(mix(&mut s))
            } else {
                edgy(&mut s) as f64 * 2f64.powi(-((mix(&mut s) % 140) as i32) + 40)
            };
            if !f.is_finite() {
                continue;
            }
            assert_eq!(
                Ratio::from_f64(f),
                Ratio::from_big(&f64_to_rational(f)),
                "{f}"
            );
            let q = random_ratio(&mut s);
            assert_eq!(
                q.to_f64().to_bits(),
                rational_to_f64(&big(q)).to_bits(),
                "{q:?}"
            );
        }
        assert_eq!(Ratio::from_f64(-0.0), Some(Ratio::ZERO));
        assert_eq!(
            Ratio::from_f64(-(2f64.powi(63))),
            Some(Ratio::integer(i64::MIN))
        );
        assert_eq!(Ratio::from_f64(2f64.powi(63)), None);
        assert_eq!(
            Ratio::from_f64(0.25f64.powi(31)),
            Some(Ratio {
                numer: 1,
                denom: 1 << 62
            })
        );
        assert_eq!(Ratio::from_f64(0.5f64.powi(63)), None);
    }
}
