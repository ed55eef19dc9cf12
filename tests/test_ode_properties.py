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


def expressions(depth: int) -> st.SearchStrategy[str]:
    # exp is covered by the importer-built Hodgkin-Huxley model in test_ode.py; SymPy's
    # merging of exp products is not mirrored (see docs/canonical-format.md, "Limits").
    # Dyadic numbers: SymPy folds Float*Rational by rounding the rational first (two
    # roundings), which the canonical form cannot undo; with these, every fold is exact.
    leaf = st.sampled_from(["a", "b", "C", "x", "2", "4", "0.5", "0.25", "40.0", "1.5"])
    if depth == 0:
        return leaf
    sub = expressions(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/"]), sub).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        sub.map(lambda s: f"-{s}"),
    )


@pytest.mark.xfail(
    strict=True,
    reason="known canonical-form gaps (issue 4 note): SymPy folds 40.0/1.5 with two roundings "
    "where the exact fold gives one; a/((a + b)*-a) cancels to -1/(a + b) in SymPy but the "
    "coefficient is distributed into the sum's power in the canonical form",
)
@settings(max_examples=150)
@given(expressions(3))
@example("(40.0 / 1.5)")
@example("(a / ((a + b) * -a))")
def test_unevaluated_trees_hash_like_evaluated(text: str) -> None:
    evaluated = parse_expression(text, "t")
    assume(not evaluated.has(sp.zoo, sp.nan, sp.oo))  # division by zero: not a model
    unevaluated = build(ast.parse(text, mode="eval").body)
    assert _core.ode_render_expr(unevaluated) == _core.ode_render_expr(evaluated), text
