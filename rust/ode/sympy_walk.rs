//! Walking a SymPy expression tree through PyO3 into the canonical form.
//!
//! Nodes are recognised by their class, once per class per walk, and only as SymPy's own
//! classes: a class is an `Add` if it is (a subclass of) `sympy.Add`, the function `exp` only
//! if it is `sympy.exp` itself, so an undefined `sympy.Function("exp")` or any look-alike
//! object is refused rather than hashed as something it is not.  Nothing is printed:
//! `str()`/`srepr()` output is a SymPy implementation detail, and reading `args`, `p`, `q` and
//! `name` is what makes the walk fast.  Python `int`/`float`/`bool` are accepted where SymPy
//! would sympify them.
//!
//! The walk is iterative (an explicit stack), so no input depth can overflow the machine's
//! stack, and it checks for signals as it goes, so Ctrl-C interrupts it.  Every refusal is an
//! `EquationError`: the limits and sorts of [`super::rules`], numbers with a zero
//! denominator, `Dummy` and `Wild` symbols (they have no stable identity: two `Dummy("x")` are
//! different symbols with one name).

use std::collections::HashMap;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::Zero;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString, PyTuple, PyType};

use super::encoding::{BoolOp, Expr, RelOp};
use super::names::normalised;
use super::number::Number;
use super::rules::FUNCTIONS;
use super::rules::{check_argument, check_depth, check_input_bits, Sort, MAX_DEPTH};
use crate::errors::EquationError;

#[derive(Clone, Debug)]
enum Class {
    Integer,
    Rational,
    Float,
    Symbol,
    Const(&'static str),
    NegativeInfinity,
    Add,
    Mul,
    Pow,
    Func(&'static str),
    Piecewise,
    Rel(RelOp),
    Bool(BoolOp),
    Truth(bool),
    /// A class the canonical form refuses, with the reason.
    Refused(String),
}

/// SymPy's classes the walk accepts, in the order they are tried: (module, class, what it
/// is, whether subclasses count).  Numbers, symbols and the core operators accept subclasses
/// (`Zero` is an `Integer`); functions, relations and booleans must be the class itself, as
/// `exp_polar` is an `exp` subclass with another meaning.
fn sympy_classes() -> Vec<(&'static str, &'static str, Class, bool)> {
    let numbers = "sympy.core.numbers";
    let relational = "sympy.core.relational";
    let boolalg = "sympy.logic.boolalg";
    let mut table = vec![
        (numbers, "Integer", Class::Integer, true),
        (numbers, "Rational", Class::Rational, true),
        (numbers, "Float", Class::Float, true),
        (
            "sympy.core.symbol",
            "Dummy",
            Class::Refused("a Dummy symbol (it has no stable identity: use Symbol)".into()),
            true,
        ),
        (
            "sympy.core.symbol",
            "Wild",
            Class::Refused("a Wild symbol (a pattern, not a variable: use Symbol)".into()),
            true,
        ),
        ("sympy.core.symbol", "Symbol", Class::Symbol, true),
        ("sympy.core.add", "Add", Class::Add, true),
        ("sympy.core.mul", "Mul", Class::Mul, true),
        ("sympy.core.power", "Pow", Class::Pow, true),
        (numbers, "Infinity", Class::Const("oo"), false),
        (numbers, "NegativeInfinity", Class::NegativeInfinity, false),
        (numbers, "ComplexInfinity", Class::Const("zoo"), false),
        (numbers, "NaN", Class::Const("nan"), false),
        (numbers, "ImaginaryUnit", Class::Const("I"), false),
        (numbers, "Exp1", Class::Const("E"), false),
        (numbers, "Pi", Class::Const("pi"), false),
        (numbers, "EulerGamma", Class::Const("EulerGamma"), false),
        (numbers, "GoldenRatio", Class::Const("GoldenRatio"), false),
        (boolalg, "BooleanTrue", Class::Truth(true), false),
        (boolalg, "BooleanFalse", Class::Truth(false), false),
        (
            "sympy.functions.elementary.piecewise",
            "Piecewise",
            Class::Piecewise,
            false,
        ),
        (relational, "StrictLessThan", Class::Rel(RelOp::Lt), false),
        (relational, "LessThan", Class::Rel(RelOp::Le), false),
        (
            relational,
            "StrictGreaterThan",
            Class::Rel(RelOp::Gt),
            false,
        ),
        (relational, "GreaterThan", Class::Rel(RelOp::Ge), false),
        (relational, "Equality", Class::Rel(RelOp::Eq), false),
        (relational, "Unequality", Class::Rel(RelOp::Ne), false),
        (boolalg, "And", Class::Bool(BoolOp::And), false),
        (boolalg, "Or", Class::Bool(BoolOp::Or), false),
        (boolalg, "Not", Class::Bool(BoolOp::Not), false),
        (boolalg, "Xor", Class::Bool(BoolOp::Xor), false),
    ];
    // `sympy.<name>`, or the C functions (`log10`, `expm1`, …) where SymPy has none.
    for name in FUNCTIONS {
        table.push(("sympy", name, Class::Func(name), false));
        table.push(("sympy.codegen.cfunctions", name, Class::Func(name), false));
    }
    table
}

/// Arguments each function takes (SymPy checks this when it builds a call, but a tree made
/// with `Basic.__new__` skips the check).
fn arity_ok(name: &str, count: usize) -> bool {
    match name {
        "atan2" | "Mod" | "hypot" => count == 2,
        // SymPy's Heaviside(x) carries its value at 0 (x, 1/2); log(x, b) keeps its base.
        "log" | "Heaviside" => (1..=2).contains(&count),
        "Min" | "Max" => count >= 1,
        _ => count == 1,
    }
}

/// SymPy's accepted classes, imported once, on the first object that is not a Python number
/// (so a walk of plain numbers never imports SymPy).
static SYMPY_CLASSES: PyOnceLock<Vec<(Py<PyType>, Class, bool)>> = PyOnceLock::new();

fn accepted_classes(py: Python<'_>) -> &'static [(Py<PyType>, Class, bool)] {
    SYMPY_CLASSES.get_or_init(py, || {
        let mut table = Vec::new();
        for (module, name, class, subclasses) in sympy_classes() {
            // A module or name this SymPy lacks is skipped: nothing can be of that class.
            let Ok(module) = py.import(module) else {
                continue;
            };
            if let Ok(cls) = module.getattr(name) {
                if let Ok(cls) = cls.cast_into::<PyType>() {
                    table.push((cls.unbind(), class, subclasses));
                }
            }
        }
        table
    })
}

/// Converts SymPy trees to canonical expressions, remembering each class it has seen.
pub struct Walker {
    classes: HashMap<usize, Class>,
    /// Nodes walked, for checking signals every so often.
    visited: u64,
    /// The (NFKC) names of the symbols met since [`Walker::take_symbols`] was last called:
    /// what the whole-system checks compare with the declarations, read off the same walk
    /// (SymPy's own `free_symbols` recurses, and reports names before normalisation).
    symbols: Vec<String>,
}

/// One composite node whose arguments are being walked.
struct Frame<'py> {
    class: Class,
    /// The arguments in walk order (a Piecewise's pairs flattened: value, condition, …).
    args: Bound<'py, PyTuple>,
    done: Vec<Expr>,
    /// The operands of a chain of binary sums (or products) nested in this one's first
    /// argument, `Add(Add(Add(a, b), c), d)`, handed over unbuilt ([`Walker::hands_over`]);
    /// `done[0]` only stands for it.  Empty otherwise.
    chain: Vec<Expr>,
}

/// A node either finished at once (a leaf) or opened for its arguments.
enum Step<'py> {
    Leaf(Expr),
    Open(Frame<'py>),
}

fn refuse(problem: impl Into<String>) -> PyErr {
    EquationError::new_err(problem.into())
}

/// A Python int as an exact integer, within the input-size bound every front end applies.
pub(crate) fn big_int(obj: &Bound<'_, PyAny>) -> PyResult<BigInt> {
    let i = match obj.extract::<i64>() {
        Ok(small) => BigInt::from(small),
        Err(_) => obj.extract::<BigInt>()?,
    };
    check_input_bits(i.bits()).map_err(refuse)?;
    Ok(i)
}

/// The double a SymPy Float rounds to, read from its mpmath tuple `(sign, man, exp, bc)`
/// when the mantissa fits a double exactly (every Float made from a double), else via
/// `float()`.
fn sympy_float(obj: &Bound<'_, PyAny>) -> PyResult<f64> {
    let py = obj.py();
    if let Ok(mpf) = obj.getattr(intern!(py, "_mpf_")) {
        // Special values (inf, nan) have a zero mantissa and a negative bit count, which
        // fails the u64 extraction; zero is (0, 0, 0, 0).
        if let Ok((sign, man, exp, _)) = mpf.extract::<(u8, u64, i64, u64)>() {
            if (man == 0 && exp == 0) || (man < (1u64 << 53) && (-1022..=971).contains(&exp)) {
                // man < 2**53 and a power of two within the normal range: the product is
                // exact (at least 2**-1022, below 2**1024).
                let scale = f64::from_bits(((exp + 1023) as u64) << 52);
                let value = man as f64 * scale;
                return Ok(if sign == 1 { -value } else { value });
            }
        }
    }
    obj.extract::<f64>()
}

/// A double as a canonical number; inf and nan become SymPy's `oo`, `-oo` and `nan`.
pub(crate) fn float(value: f64) -> Expr {
    if value.is_finite() {
        Expr::number(Number::Float(value))
    } else if value.is_nan() {
        Expr::constant("nan")
    } else if value > 0.0 {
        Expr::constant("oo")
    } else {
        Expr::mul(vec![Expr::int(-1), Expr::constant("oo")])
    }
}

/// The sort the `i`-th argument of a node of class `class` must be.
fn argument_sort(class: &Class, i: usize) -> Sort {
    match class {
        Class::Bool(_) => Sort::Truth,
        Class::Piecewise if i % 2 == 1 => Sort::Truth,
        _ => Sort::Number,
    }
}

/// How often (in nodes) the walk checks for signals (Ctrl-C).
const SIGNAL_EVERY: u64 = 64;

impl Walker {
    pub fn new() -> Walker {
        Walker {
            classes: HashMap::new(),
            visited: 0,
            symbols: Vec::new(),
        }
    }

    /// The sorted, unique names of the symbols walked since the last call.
    pub fn take_symbols(&mut self) -> Vec<String> {
        let mut names = std::mem::take(&mut self.symbols);
        names.sort_unstable();
        names.dedup();
        names
    }

    fn args<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
        // `_args` is the slot behind SymPy's `args` property: reading it directly skips a
        // Python-level property call per node.
        let py = obj.py();
        let args = match obj.getattr(intern!(py, "_args")) {
            Ok(a) => a,
            Err(_) => obj.getattr(intern!(py, "args"))?,
        };
        args.cast_into::<PyTuple>()
            .map_err(|_| refuse("the arguments of a SymPy node are not a tuple"))
    }

    fn classify(ty: &Bound<'_, PyType>) -> PyResult<Class> {
        let py = ty.py();
        for (cls, class, subclasses) in accepted_classes(py) {
            let cls = cls.bind(py);
            if ty.is(cls) || (*subclasses && ty.is_subclass(cls.as_any())?) {
                return Ok(class.clone());
            }
        }
        let name = ty.name()?.to_string();
        // `sympy.Function("exp")` makes a class named `exp`: say what it really is.
        let undefined = py
            .import(intern!(py, "sympy.core.function"))
            .and_then(|m| m.getattr(intern!(py, "AppliedUndef")))
            .and_then(|cls| ty.is_subclass(&cls))
            .unwrap_or(false);
        let what = if undefined {
            format!("unsupported function or object {name}: an undefined sympy.Function")
        } else {
            format!("unsupported function or object {name}")
        };
        Ok(Class::Refused(format!(
            "{what} (allowed functions: {})",
            FUNCTIONS.join(", ")
        )))
    }

    /// A leaf's canonical form, or a frame for a composite node's arguments.
    fn step<'py>(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<Step<'py>> {
        let py = obj.py();
        // Plain Python values, as they appear in (Symbol, 0) pairs and constant dicts.
        if obj.is_instance_of::<PyBool>() {
            return Ok(Step::Leaf(Expr::truth(obj.extract::<bool>()?)));
        }
        if obj.is_instance_of::<PyInt>() {
            return Ok(Step::Leaf(Expr::number(Number::integer(big_int(obj)?))));
        }
        if obj.is_instance_of::<PyFloat>() {
            return Ok(Step::Leaf(float(obj.extract::<f64>()?)));
        }
        if let Ok(text) = obj.cast::<PyString>() {
            return Err(refuse(format!(
                "expected a SymPy expression, got the string {:?}; parse strings with \
                 parse_equations",
                text.to_str()?
            )));
        }
        let ty = obj.get_type();
        let key = ty.as_ptr() as usize;
        let class = match self.classes.get(&key) {
            Some(c) => c.clone(),
            None => {
                let c = Walker::classify(&ty)?;
                self.classes.insert(key, c.clone());
                c
            }
        };
        let leaf = match class {
            Class::Integer => {
                let p = obj.getattr(intern!(py, "p"))?;
                match p.extract::<i64>() {
                    Ok(small) => Expr::number(Number::Int(small)),
                    Err(_) => Expr::number(Number::integer(big_int(&p)?)),
                }
            }
            Class::Rational => {
                let p = big_int(&obj.getattr(intern!(py, "p"))?)?;
                let q = big_int(&obj.getattr(intern!(py, "q"))?)?;
                if q.is_zero() {
                    return Err(refuse("a Rational with denominator 0"));
                }
                Expr::number(Number::exact(BigRational::new(p, q)))
            }
            // The double the value rounds to: what generated code computes with.
            Class::Float => float(sympy_float(obj)?),
            Class::Symbol => {
                let name = obj.getattr(intern!(py, "name"))?;
                let name = name
                    .cast::<PyString>()
                    .map_err(|_| refuse("a Symbol whose name is not a str"))?;
                let name = match name.to_str()? {
                    ascii if ascii.is_ascii() => ascii.to_owned(), // its own NFKC form
                    _ => normalised(name)?,
                };
                let symbol = Expr::symbol(&name);
                self.symbols.push(name);
                symbol
            }
            Class::Const(name) => Expr::constant(name),
            Class::NegativeInfinity => Expr::mul(vec![Expr::int(-1), Expr::constant("oo")]),
            Class::Truth(v) => Expr::truth(v),
            Class::Refused(why) => return Err(refuse(why)),
            Class::Piecewise => {
                let mut args = Vec::new();
                for pair in Walker::args(obj)?.iter() {
                    let parts = Walker::args(&pair)?;
                    if parts.len() != 2 {
                        return Err(refuse(
                            "Piecewise arguments must be (expression, condition) pairs",
                        ));
                    }
                    args.extend(parts.iter());
                }
                let args = PyTuple::new(py, args)?;
                if args.is_empty() {
                    return Err(refuse(
                        "a Piecewise needs at least one (expression, condition) pair",
                    ));
                }
                return Ok(Step::Open(Frame {
                    class,
                    done: Vec::with_capacity(args.len()),
                    args,
                    chain: Vec::new(),
                }));
            }
            class => {
                let args = Walker::args(obj)?;
                return Ok(Step::Open(Frame {
                    class,
                    done: Vec::with_capacity(args.len()),
                    args,
                    chain: Vec::new(),
                }));
            }
        };
        Ok(Step::Leaf(leaf))
    }

    /// Whether finished `frame` is the first argument of `parent` in a chain of binary sums
    /// (or products), to be built at once when the chain ends: building each level with
    /// `Expr::add` re-sorts the growing sum, quadratic in the chain's length, while
    /// `Expr::add_chain` gives what those steps give.  Only operands at most half the depth
    /// bound go into a chain, so no step it skips could have broken the bound.
    fn hands_over(frame: &Frame<'_>, parent: Option<&Frame<'_>>) -> bool {
        let Some(parent) = parent else {
            return false;
        };
        let same = matches!(
            (&frame.class, &parent.class),
            (Class::Add, Class::Add) | (Class::Mul, Class::Mul)
        );
        let new = if frame.chain.is_empty() {
            &frame.done[..]
        } else {
            &frame.done[1..]
        };
        same && frame.done.len() == 2
            && parent.args.len() == 2
            && parent.done.is_empty()
            && new.iter().all(|e| e.depth() <= MAX_DEPTH / 2)
    }

    /// The operands of finished `frame` as a chain: its own chain, if one, and its last
    /// argument.
    fn chain_operands(frame: Frame<'_>) -> Vec<Expr> {
        let Frame {
            mut chain, done, ..
        } = frame;
        if chain.is_empty() {
            return done;
        }
        chain.extend(done.into_iter().skip(1));
        chain
    }

    /// The canonical form of a node whose arguments are all walked.
    fn close(frame: Frame<'_>) -> PyResult<Expr> {
        if !frame.chain.is_empty() {
            let sum = matches!(frame.class, Class::Add);
            let operands = Walker::chain_operands(frame);
            let expr = if sum {
                Expr::add_chain(operands)
            } else {
                Expr::mul_chain(operands)
            };
            check_depth(&expr).map_err(refuse)?;
            return Ok(expr);
        }
        let Frame {
            class, mut done, ..
        } = frame;
        let expr = match class {
            Class::Add => Expr::add(done),
            Class::Mul => Expr::mul(done),
            Class::Pow => {
                let [b, e]: [Expr; 2] = done
                    .try_into()
                    .map_err(|_| refuse("Pow needs two arguments"))?;
                Expr::pow(b, e)
            }
            Class::Func(name) => {
                if !arity_ok(name, done.len()) {
                    return Err(refuse(format!(
                        "{name} cannot take {} arguments",
                        done.len()
                    )));
                }
                Expr::func(name, done)
            }
            Class::Piecewise => {
                let mut pairs = Vec::with_capacity(done.len() / 2);
                let mut parts = done.into_iter();
                while let (Some(e), Some(c)) = (parts.next(), parts.next()) {
                    pairs.push((e, c));
                }
                Expr::piecewise(pairs)
            }
            Class::Rel(op) => {
                let [left, right]: [Expr; 2] = done
                    .try_into()
                    .map_err(|_| refuse("a relation needs two sides"))?;
                Expr::relation(op, left, right)
            }
            Class::Bool(op) => {
                if done.is_empty() || (op == BoolOp::Not && done.len() != 1) {
                    return Err(refuse(format!(
                        "a boolean operator cannot take {} arguments",
                        done.len()
                    )));
                }
                Expr::boolean(op, std::mem::take(&mut done))
            }
            _ => unreachable!("only composite classes are opened"),
        };
        check_depth(&expr).map_err(refuse)?;
        Ok(expr)
    }

    /// Counts one step of the walk, checking for signals (Ctrl-C) every so often.
    fn tick(&mut self, py: Python<'_>) -> PyResult<()> {
        self.visited += 1;
        if self.visited.is_multiple_of(SIGNAL_EVERY) {
            py.check_signals()?;
        }
        Ok(())
    }

    /// The canonical form of one SymPy expression (or Python number or bool).
    pub fn walk(&mut self, obj: &Bound<'_, PyAny>) -> PyResult<Expr> {
        let py = obj.py();
        let mut stack: Vec<Frame<'_>> = Vec::new();
        let mut next = obj.clone();
        loop {
            self.tick(py)?;
            let mut result = match self.step(&next)? {
                Step::Leaf(expr) => expr,
                Step::Open(frame) if frame.args.is_empty() => Walker::close(frame)?,
                Step::Open(frame) => {
                    next = frame.args.get_item(0)?;
                    stack.push(frame);
                    continue;
                }
            };
            // Hand the finished node to its parent, closing every parent it completes.
            loop {
                let Some(top) = stack.last_mut() else {
                    return Ok(result);
                };
                check_argument(argument_sort(&top.class, top.done.len()), &result)
                    .map_err(refuse)?;
                top.done.push(result);
                if top.done.len() < top.args.len() {
                    next = top.args.get_item(top.done.len())?;
                    break;
                }
                let frame = stack.pop().expect("the frame just used");
                self.tick(py)?;
                if Walker::hands_over(&frame, stack.last()) {
                    let chain = Walker::chain_operands(frame);
                    let top = stack.last_mut().expect("the parent just checked");
                    top.chain = chain;
                    top.done.push(Expr::int(0)); // stands for the chain
                    next = top.args.get_item(1)?;
                    break;
                }
                result = Walker::close(frame)?;
            }
        }
    }
}

impl Default for Walker {
    fn default() -> Self {
        Walker::new()
    }
}
