"""How bracketing a chain changes its canonical form, and how it does not.

The text front end collects a chain `t0 + t1 - ... + tn` and normalises it in one call instead
of one call per operator (which costs time quadratic in the length of the chain).  That is
sound because sums are associative in the canonical form while their numbers cannot overflow:
normalising the left-nested tree (what the SymPy-based parser built) and the flat one give the
same bytes.  The property checks it on SymPy trees built unevaluated in both shapes, over
terms that reach every normalisation rule (merging, contents and primitive parts of sums,
distribution of coefficients, powers, exp, exact and float folding).

Products are not associative (`exp(u)*exp(u)` is `exp(2*u)`, and `exp(2*u)*exp(u)` stays a
product, while the three together are `exp(3*u)`), nor are sums past the double range (a
prefix that overflows leaves `oo` as a term): there the text front end keeps the nesting.
"""

from __future__ import annotations

import sympy as sp
from cubie_hash import CubieHashError, _core
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ode_oracle import oracle_encoding

SYMBOLS = [sp.Symbol(n) for n in ("a", "b", "c", "x")]
# Numbers stay well inside the fold bound (past it, argument order decides the rounding,
# as docs/canonical-format.md says under "Limits").
NUMBERS = [sp.Integer(n) for n in (0, 1, -1, 2, -2, 3, 12)] + [
    sp.Rational(1, 3),
    sp.Rational(-5, 2),
    sp.Float(0.3),
    sp.Float(-0.3),
    sp.Float(0.5),
    sp.Float(0.1),
    sp.Float(0.0),
    sp.Float(1e300),
    sp.Float(-1e300),
    sp.Float(2.5e-200),
]


def terms(depth: int) -> st.SearchStrategy[sp.Expr]:
    leaf = st.sampled_from(SYMBOLS + NUMBERS)
    if depth == 0:
        return leaf
    sub = terms(depth - 1)
    return st.one_of(
        leaf,
        st.lists(sub, min_size=2, max_size=3).map(lambda a: sp.Add(*a, evaluate=False)),
        st.lists(sub, min_size=2, max_size=3).map(lambda a: sp.Mul(*a, evaluate=False)),
        st.tuples(sub, st.sampled_from([2, -1, 3, -2])).map(
            lambda p: sp.Pow(p[0], sp.Integer(p[1]), evaluate=False)
        ),
        sub.map(lambda a: sp.exp(a, evaluate=False)),
    )


def encoded(expr: sp.Expr) -> bytes | str:
    try:
        return _core.ode_encode_expr(expr)
    except CubieHashError as err:
        return type(err).__name__


def nested(op: type[sp.Add] | type[sp.Mul], items: list[sp.Expr], cuts: list[int]) -> sp.Expr:
    """`items` bracketed from the left, with the sub-chains between `cuts` flat."""
    bounds = sorted({c % len(items) for c in cuts} - {0}) + [len(items)]
    out, start = None, 0
    for end in bounds:
        part = items[start:end]
        group = part[0] if len(part) == 1 else op(*part, evaluate=False)
        out = group if out is None else op(out, group, evaluate=False)
        start = end
    return out


@settings(max_examples=400, deadline=None)
@given(st.lists(terms(2), min_size=3, max_size=6), st.lists(st.integers(0, 10), max_size=4))
@example([sp.Float(0.3), SYMBOLS[3], sp.Float(-0.3)], [1, 2])
@example([SYMBOLS[3] * (SYMBOLS[0] + SYMBOLS[1]), SYMBOLS[1], 2 * SYMBOLS[3] * SYMBOLS[0]], [])
def test_sums_normalise_alike_however_bracketed(items: list[sp.Expr], cuts: list[int]) -> None:
    flat = sp.Add(*items, evaluate=False)
    left = nested(sp.Add, items, list(range(1, len(items))))
    assert encoded(left) == encoded(flat)
    assert encoded(nested(sp.Add, items, cuts)) == encoded(flat)


def test_a_distributed_coefficient_that_collapses_a_sum_leaves_a_canonical_product() -> None:
    # -(a + 0.0) is -a (the float zero times -1 is an exact zero, dropped): the product of
    # that with a is -a**2, however the three factors were bracketed.  It used to keep the
    # nested product Mul(a, Mul(-1, a)), which no other form of -a**2 gives.
    a = SYMBOLS[0]
    items = [sp.Integer(-1), sp.Add(a, sp.Float(0.0), evaluate=False), a]
    flat = sp.Mul(*items, evaluate=False)
    assert encoded(flat) == encoded(nested(sp.Mul, items, [1, 2])) == encoded(-(a**2))
    assert _core.ode_render_expr(flat) == "Mul(-1, Pow(a, 2))"


# Terms of typed chains: cancelling coefficients (0.1*x - 0.1*x + x is x), floats that
# overflow in a running total, lone sums, sums in brackets, powers and calls.
CHAIN_TERMS = st.sampled_from(
    ["x", "a", "0.1*x", "0.1*x", "2*a", "1.5e308", "0.3", "1/3", "0.0", "x**2", "a*x",
     "0.1*a*x", "(a + x)", "(a - 0.1*x)", "x*(a + b)", "2*x*(a + b)", "exp(x)", "1"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["+", "-"]), CHAIN_TERMS), min_size=3, max_size=30))
@example([("+", "0.1*x"), ("-", "0.1*x"), ("+", "x")])
@example([("+", "1.5e308"), ("+", "1.5e308"), ("-", "1.5e308"), ("+", "x")])
def test_typed_chains_encode_like_the_oracle(items: list[tuple[str, str]]) -> None:
    # The text front end sums a chain once (Expr::add_chain); the oracle's SymPy tree nests
    # it, one operator at a time.
    text = items[0][1] + "".join(f" {op} {term}" for op, term in items[1:])
    assert _core.ode_encode_text(text) == oracle_encoding(text), text


def test_a_long_chain_is_summed_in_one_pass() -> None:
    # 20,000 terms: one operator at a time took seconds here (quadratic).
    text = " + ".join(f"p{i % 50}*x{i % 400}" for i in range(20_000))
    assert _core.ode_render_text(text).startswith("Add(")


PRODUCT_TERMS = st.sampled_from(
    ["x", "a", "x**2", "x**-1", "(1/x)", "0.1", "1e200", "1e-200", "3", "0", "exp(x)",
     "exp(-x)", "(a + x)", "(2*a + 2*x)", "(a - x)**-1", "a**0.5", "sin(x)"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["*", "/"]), PRODUCT_TERMS), min_size=3, max_size=20))
@example([("*", "exp(x)"), ("*", "exp(x)"), ("*", "exp(x)")])
@example([("*", "1e200"), ("*", "1e200"), ("/", "1e200"), ("*", "x")])
def test_typed_products_encode_like_the_oracle(items: list[tuple[str, str]]) -> None:
    # Expr::mul_chain multiplies a chain at once only where that is what one factor at a
    # time gives (plain symbols, integer powers, numbers that do not overflow).
    text = items[0][1] + "".join(f" {op} {term}" for op, term in items[1:])
    assert _core.ode_encode_text(text) == oracle_encoding(text), text


def test_a_long_product_is_multiplied_in_one_pass() -> None:
    # 10,000 distinct factors: one operator at a time took about 2.4 s here (quadratic).
    text = "*".join(f"p{i}" for i in range(10_000)) + "/p3"
    assert _core.ode_render_text(text).startswith("Mul(")


def test_an_equation_of_many_distinct_names_is_linear() -> None:
    # Past a few names an equation looks its names up by hash: 100,000 distinct names took
    # seconds with a scan per symbol (quadratic), about 0.2 s now.
    names = [f"p{i}" for i in range(100_000)]
    assert _core.ode_render_text(" + ".join(names)).count("p") == len(names)


def left_nested(op: type[sp.Add] | type[sp.Mul], items: list[sp.Expr]) -> sp.Expr:
    out = items[0]
    for item in items[1:]:
        out = op(out, item, evaluate=False)
    return out


def test_a_deeply_nested_sympy_chain_is_walked_in_one_pass() -> None:
    # Add(Add(Add(...))) 10,000 levels deep: closing each level with Expr::add re-sorted the
    # growing sum (12 s here for distinct terms); the walk now hands the operands up and
    # builds the chain once (Expr::add_chain / mul_chain give what the steps give).
    names = [sp.Symbol(f"y{i}") for i in range(10_000)]
    for op, sep in ((sp.Add, " + "), (sp.Mul, "*")):
        text = sep.join(str(n) for n in names)
        assert _core.ode_encode_expr(left_nested(op, names)) == _core.ode_encode_text(text)
    # Repeated and cancelling terms, floats, exact numbers and products in one long chain.
    terms = ["x", "0.1*x", "-0.1*x", "a*x", "1/3", "0.3", "exp(x)", "2*a", "a"]
    items = [terms[(i * 7) % len(terms)] for i in range(3_000)]
    text = " + ".join(f"({t})" for t in items)
    nested_sum = left_nested(sp.Add, [sp.sympify(t) for t in items])
    assert _core.ode_encode_expr(nested_sum) == _core.ode_encode_text(text)
