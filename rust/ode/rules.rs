//! What every front end checks while it lowers input into the canonical form: how deep the
//! canonical tree may nest, how large an input number may be, and that each argument is of the
//! sort its place needs (a number where a number is computed, a truth value where a condition
//! is tested).
//!
//! The canonical constructors ([`super::encoding::Expr`]) are total and never refuse; these
//! rules are what turns hostile input into a clear refusal before it reaches them, the same
//! way for every front end.
//!
//! ```
//! use _core::ode::encoding::Expr;
//! use _core::ode::rules::{check_argument, Sort};
//!
//! let x = Expr::symbol("x");
//! assert!(check_argument(Sort::Number, &x).is_ok()); // a symbol may stand for either
//! assert!(check_argument(Sort::Number, &Expr::truth(true)).is_err()); // `True + x`
//! assert!(check_argument(Sort::Truth, &Expr::int(2)).is_err()); // `2 if 3 else x`
//! ```

use super::encoding::{Expr, View};
use super::number::MAX_FOLD_BITS;

/// Deepest canonical tree accepted ([`Expr::depth`]): it keeps the consumers that recurse
/// over a tree (ordering, encoding, rendering, dropping) within a 1 MiB thread stack; sums and
/// products flatten and do not nest, so a sum of any number of terms has depth 2 however it
/// was bracketed.
pub const MAX_DEPTH: u32 = 1000;

/// Most bits the numerator or denominator of an input number may have: the bound exact
/// folding keeps ([`MAX_FOLD_BITS`]), about 1,233 decimal digits.
pub const MAX_INPUT_BITS: u64 = MAX_FOLD_BITS;

/// The functions the canonical form accepts, by their SymPy class names: those Numba can
/// compile.  One list for every front end (text, SymPy, CuBIE's IR) and the emitter.
pub const FUNCTIONS: [&str; 35] = [
    "exp",
    "log",
    "sin",
    "cos",
    "tan",
    "cot",
    "sec",
    "csc",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "Abs",
    "Min",
    "Max",
    "floor",
    "ceiling",
    "sign",
    "erf",
    "erfc",
    "gamma",
    "loggamma",
    "Mod",
    "Heaviside",
    "expm1",
    "log1p",
    "log10",
    "log2",
    "hypot",
];

/// What a place in an expression computes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    /// An argument of arithmetic, of a function, a side of a relation, a Piecewise value.
    Number,
    /// An argument of `And`/`Or`/`Not`/`Xor`, a Piecewise condition.
    Truth,
}

/// Whether an expression is a truth value (a relation, a boolean operator, `True`/`False`).
fn is_truth(e: &Expr) -> bool {
    matches!(e.view(), View::Rel(..) | View::Bool(..) | View::Truth(_))
}

/// Checks that `arg` may stand where a `sort` is needed; a symbol may stand for either.
pub fn check_argument(sort: Sort, arg: &Expr) -> Result<(), String> {
    if matches!(arg.view(), View::Sym(_)) {
        return Ok(());
    }
    match (sort, is_truth(arg)) {
        (Sort::Number, true) => Err(format!(
            "the truth value {} is used as a number",
            shortened(arg)
        )),
        (Sort::Truth, false) => Err(format!(
            "the number {} is used as a condition",
            shortened(arg)
        )),
        _ => Ok(()),
    }
}

/// The rendering of `e`, cut short for an error message.
fn shortened(e: &Expr) -> String {
    const LONGEST: usize = 80;
    let text = e.render();
    match text.char_indices().nth(LONGEST) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Checks the depth bound ([`MAX_DEPTH`]) on a freshly built node.
pub fn check_depth(e: &Expr) -> Result<(), String> {
    if e.depth() > MAX_DEPTH {
        return Err(format!(
            "the expression nests deeper than {MAX_DEPTH} levels"
        ));
    }
    Ok(())
}

/// The refusal of a `Piecewise` without pairs.
pub const EMPTY_PIECEWISE: &str = "a Piecewise needs at least one (expression, condition) pair";

/// Checks a finished canonical tree: every condition (an argument of `And`/`Or`/`Not`/`Xor`,
/// a Piecewise condition) is a truth value or a symbol, and no Piecewise is left without a
/// pair.  A front end that mirrors SymPy's constructors may build such a node inside a branch
/// that a later `True` condition drops, as SymPy does; only what survives into the equation
/// is refused, as the SymPy walk refuses it (the text front end also refuses an empty one
/// the canonical form folded away, as in `0*Piecewise((a, False))`, which the walk meets in
/// SymPy's tree).  Walks with its own stack.
pub fn check_tree(e: &Expr) -> Result<(), String> {
    let mut stack = vec![e];
    while let Some(node) = stack.pop() {
        match node.view() {
            View::Bool(_, args) => {
                for a in args {
                    check_argument(Sort::Truth, a)?;
                }
                stack.extend(args);
            }
            View::Piecewise(pairs) => {
                if pairs.is_empty() {
                    return Err(EMPTY_PIECEWISE.into());
                }
                for (value, condition) in pairs {
                    check_argument(Sort::Truth, condition)?;
                    stack.push(value);
                    stack.push(condition);
                }
            }
            View::Add(args) | View::Mul(args) | View::Func(_, args) => stack.extend(args),
            View::Pow(b, x) | View::Rel(_, b, x) => stack.extend([b, x]),
            View::Num(_) | View::Sym(_) | View::Const(_) | View::Truth(_) => {}
        }
    }
    Ok(())
}

/// Checks the size bound ([`MAX_INPUT_BITS`]) on an input number's numerator or denominator.
pub fn check_input_bits(bits: u64) -> Result<(), String> {
    if bits > MAX_INPUT_BITS {
        return Err(format!(
            "a number with {bits} bits is larger than the {MAX_INPUT_BITS}-bit limit"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ode::encoding::RelOp;

    #[test]
    fn sorts() {
        let x = Expr::symbol("x");
        let lt = Expr::relation(RelOp::Lt, x.clone(), Expr::int(1));
        assert!(check_argument(Sort::Truth, &lt).is_ok());
        assert!(check_argument(Sort::Truth, &x).is_ok());
        assert!(check_argument(Sort::Number, &lt).is_err());
        assert!(check_argument(Sort::Truth, &Expr::add(vec![x.clone(), Expr::int(1)])).is_err());
        let pw = Expr::piecewise(vec![(x.clone(), lt)]);
        assert!(check_argument(Sort::Truth, &pw).is_err());
        assert!(check_argument(Sort::Number, &pw).is_ok());
    }

    #[test]
    fn depth_is_bounded_and_flattening_does_not_nest() {
        let mut sum = Expr::symbol("x0");
        for i in 1..5000 {
            sum = Expr::add(vec![Expr::symbol(&format!("x{i}")), sum]);
        }
        assert_eq!(sum.depth(), 2);
        let mut e = Expr::symbol("x");
        for _ in 0..MAX_DEPTH {
            assert!(check_depth(&e).is_ok());
            e = Expr::func("sin", vec![e]);
        }
        assert_eq!(e.depth(), MAX_DEPTH + 1);
        assert!(check_depth(&e).is_err());
        drop(e); // dropping the deepest accepted tree must not overflow the stack
    }

    #[test]
    fn input_bits() {
        assert!(check_input_bits(MAX_INPUT_BITS).is_ok());
        assert!(check_input_bits(MAX_INPUT_BITS + 1).is_err());
    }
}
