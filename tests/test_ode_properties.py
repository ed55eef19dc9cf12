"""Hypothesis properties of the canonical ODE hash: what must not change it."""

from __future__ import annotations

import ast
import random

import pytest
import sympy as sp
from cubie_hash import _core
from cubie_hash.ode import parse_equations, prehash
from cubie_hash.ode.examples import hodgkin_huxley, lorenz
from cubie_hash.ode.expressions import parse_expression
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from ode_importer import build

SYSTEMS = [lorenz(), hodgkin_huxley()]
HASHES = [parse_equations(**kw).fn_hash for kw in SYSTEMS]


def respace(line: str, rng: random.Random) -> str:
    """Random spaces and tabs around every operator and bracket."""
    out = []
    for ch in line.replace("**", "^"):
        if ch in "+-*/()=,<>^":
            out.append(rng.choice(["", " ", "  ", "\t"]) + ch + rng.choice(["", " ", "\t"]))
        else:
            out.append(ch)
    return rng.choice(["", "  "]) + "".join(out).replace("^", "**")


@settings(max_examples=25)
@given(st.integers(0, len(SYSTEMS) - 1), st.randoms(use_true_random=False))
def test_shuffled_respaced_equations(index: int, rng: random.Random) -> None:
    kw = dict(SYSTEMS[index])
    lines = [line for line in kw["dxdt"].splitlines() if line.strip()]
    rng.shuffle(lines)
    text = "\n".join(respace(line, rng) for line in lines)
    kw["dxdt"] = text
    assert parse_equations(**kw).fn_hash == HASHES[index]
    assert prehash(**kw) == prehash(**SYSTEMS[index])


# Exact numbers only: SymPy folds floats pairwise in argument order while parsing, so
# `3*3*0.1` and `0.1*3*3` can differ in the last bit before the canonical form sees them
# (documented in docs/canonical-format.md, "Limits").
atoms = st.sampled_from(["a", "b", "c", "x", "2", "3", "7", "1/3"])


@st.composite
def sums_of_products(draw: st.DrawFn) -> list[list[str]]:
    return draw(st.lists(st.lists(atoms, min_size=1, max_size=4), min_size=1, max_size=5))


@settings(max_examples=60)
@given(sums_of_products(), st.randoms(use_true_random=False))
def test_shuffled_commutative_arguments(terms: list[list[str]], rng: random.Random) -> None:
    text = " + ".join("*".join(t) for t in terms)
    shuffled = [rng.sample(t, len(t)) for t in terms]
    rng.shuffle(shuffled)
    other = " + ".join("*".join(t) for t in shuffled)
    a = _core.ode_encode_expr(parse_expression(text, "t"))
    assert a == _core.ode_encode_expr(parse_expression(other, "t"))


def expressions(
    depth: int, numbers: list[str], exponents: tuple[str, ...] = ("2", "-1", "3")
) -> st.SearchStrategy[str]:
    leaf = st.sampled_from(["a", "b", "C", "x", *numbers])
    if depth == 0:
        return leaf
    sub = expressions(depth - 1, numbers, exponents)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/"]), sub).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        sub.map(lambda s: f"-{s}"),
        st.tuples(sub, st.sampled_from(exponents)).map(lambda t: f"({t[0]} ** {t[1]})"),
    )


# Text and importer trees must agree bit for bit for any float, dyadic or not: the text front
# door leaves all folding to the canonical form, which folds exactly and rounds once.
FLOATS = ["2", "4", "3", "0.5", "1.5", "40.0", "0.1", "1e-3", "0.3", "7.25"]


def exp_calls(sub: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(sub, sub.map(lambda s: f"exp({s})"))


@settings(max_examples=200)
@given(exp_calls(expressions(3, FLOATS, ("2", "-1", "3", "0.5", "-2.0"))))
@example("(40.0 / 1.5)")
@example("((x / 1.5) * 40.0)")
@example("(a / ((a + b) * -a))")
@example("exp((-(x + 40.0) / 10.0))")
def test_text_hashes_like_importer_tree(text: str) -> None:
    typed = parse_expression(text, "t")
    imported = build(ast.parse(text, mode="eval").body)
    try:
        expected = _core.ode_encode_expr(imported)
    except OverflowError:  # noqa: PERF203 - a power too large to be a model: both must refuse
        with pytest.raises(OverflowError):
            _core.ode_encode_expr(typed)
        return
    assert _core.ode_encode_expr(typed) == expected, text


# SymPy's own evaluation is taken as given (docs/canonical-format.md, "Limits"): it folds
# Float*Rational by rounding the rational first and floats pairwise in argument order, and
# evaluates numbers to float powers, which no canonical form can undo; and where a float sum
# cancels against a power of itself the canonical form cannot know which coefficients were
# floats.  Evaluated input agrees with unevaluated trees for exact numbers.
EXACT_NUMBERS = ["2", "4", "3", "7", "(1 / 3)"]


def evaluate(node: ast.expr) -> sp.Expr:
    """The tree SymPy's evaluating operators build for ``node`` (as ``sympify`` would)."""
    if isinstance(node, ast.Name):
        return sp.Symbol(node.id)
    if isinstance(node, ast.Constant):
        return sp.Integer(node.value) if isinstance(node.value, int) else sp.Float(node.value)
    if isinstance(node, ast.UnaryOp):
        return -evaluate(node.operand)
    if isinstance(node, ast.Call):
        return sp.exp(evaluate(node.args[0]))
    assert isinstance(node, ast.BinOp)
    a, b = evaluate(node.left), evaluate(node.right)
    ops = {ast.Add: a.__add__, ast.Sub: a.__sub__, ast.Mult: a.__mul__, ast.Div: a.__truediv__}
    return a**b if isinstance(node.op, ast.Pow) else ops[type(node.op)](b)


@settings(max_examples=200)
@given(expressions(3, EXACT_NUMBERS))
@example("(a / ((a + b) * -a))")
@example("((a + b) * (a / ((a + b) * -a)))")
@example("(((a + b) * 2) / ((a + b) * a))")
@example("(-(a + C) * ((a + b) * -a))")
def test_unevaluated_trees_hash_like_evaluated(text: str) -> None:
    node = ast.parse(text, mode="eval").body
    evaluated = evaluate(node)
    assume(not evaluated.has(sp.zoo, sp.nan, sp.oo))  # division by zero: not a model
    unevaluated = build(node)
    assert _core.ode_render_expr(unevaluated) == _core.ode_render_expr(evaluated), text


@st.composite
def signed_chains(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    """A product (or sum) of numbers and symbols, each with its own operator."""
    kind = draw(st.sampled_from(["*", "+"]))
    ops = ["*", "/"] if kind == "*" else ["+", "-"]
    items = draw(
        st.lists(
            st.tuples(st.sampled_from(ops), st.sampled_from([*FLOATS, "x", "a"])),
            min_size=2,
            max_size=6,
        )  # fmt: skip
    )
    return kind, items


def chain_text(kind: str, items: list[tuple[str, str]]) -> str:
    unit = "1" if kind == "*" else "0"
    return unit + "".join(f" {op} {value}" for op, value in items)


@settings(max_examples=150)
@given(signed_chains(), st.randoms(use_true_random=False))
@example(("*", [("*", "x"), ("/", "1.5"), ("*", "40.0")]), random.Random(0))
@example(("+", [("+", "0.1"), ("+", "0.2"), ("+", "x"), ("+", "0.3")]), random.Random(1))
def test_folding_order_cannot_change_a_bit(
    chain: tuple[str, list[tuple[str, str]]], rng: random.Random
) -> None:
    kind, items = chain
    shuffled = rng.sample(items, len(items))
    a = _core.ode_encode_expr(parse_expression(chain_text(kind, items), "t"))
    assert a == _core.ode_encode_expr(parse_expression(chain_text(kind, shuffled), "t"))
