"""A ParsedEquations's identity for dask, joblib, pickle, == and hash(): its fn_hash."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import dask.base
import joblib
import pytest
import sympy as sp
from cubie_hash.errors import EquationError
from cubie_hash.ode import parse_equations
from cubie_hash.ode.examples import EXAMPLES
from cubie_hash.ode.expressions import parse_expression
from cubie_hash.ode.identity import reduction, restore
from cubie_hash.ode.trees import canonical_trees, to_sympy
from hypothesis import example, given, settings
from ode_importer import unevaluated_pairs
from test_ode_properties import FLOATS, exp_calls, expressions


def text_of(kw: dict[str, Any]) -> str:
    return kw["dxdt"] if isinstance(kw["dxdt"], str) else "\n".join(kw["dxdt"])


def forms(kw: dict[str, Any]) -> list[Any]:
    """Text, shuffled text, a list of strings, a dict of pairs, importer trees, sympy.Eq."""
    lines = [line for line in text_of(kw).splitlines() if line.strip()]
    pairs = unevaluated_pairs("\n".join(lines))
    return [
        "\n".join(lines),
        "\n".join("  " + line.replace("=", " = ") for line in reversed(lines)),
        lines,
        {str(lhs): rhs for lhs, rhs in pairs},
        pairs,
        [sp.Eq(lhs, rhs, evaluate=False) for lhs, rhs in pairs],
    ]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_input_form_has_one_token(name: str) -> None:
    kw = EXAMPLES[name]()
    parsed = [parse_equations(**{**kw, "dxdt": form}) for form in forms(kw)]
    assert len({dask.base.tokenize(p) for p in parsed}) == 1
    assert len({joblib.hash(p) for p in parsed}) == 1
    assert len(set(parsed)) == 1
    assert all(p == parsed[0] for p in parsed)


def changed(kw: dict[str, Any]) -> list[dict[str, Any]]:
    """Lotka-Volterra with one thing changed each time."""
    text = text_of(kw)
    states = kw["states"]
    return [
        {**kw, "dxdt": text.replace("alpha*x", "alpha*x*1.0000000000000002")},
        {**kw, "dxdt": text.replace("gamma*y", "gamma*x")},
        {**kw, "states": list(reversed(states))},
        {**kw, "parameters": dict(reversed(list(kw["parameters"].items())))},
        {
            **kw,
            "dxdt": text.replace("alpha", "c"),
            "constants": {"c": 1.1},
            "parameters": {k: v for k, v in kw["parameters"].items() if k != "alpha"},
        },
        {
            **kw,
            "dxdt": text.replace("alpha", "c"),
            "constants": {"c": 1.2},
            "parameters": {k: v for k, v in kw["parameters"].items() if k != "alpha"},
        },
    ]


def test_any_change_changes_the_tokens() -> None:
    kw = EXAMPLES["lotka_volterra"]()
    systems = [parse_equations(**kw)] + [parse_equations(**k) for k in changed(kw)]
    assert len({p.fn_hash for p in systems}) == len(systems)
    assert len({dask.base.tokenize(p) for p in systems}) == len(systems)
    assert len({joblib.hash(p) for p in systems}) == len(systems)
    assert len(set(systems)) == len(systems)


def test_pickle_round_trip_keeps_the_system() -> None:
    kw = EXAMPLES["hodgkin_huxley"]()
    p = parse_equations(**kw)
    back = pickle.loads(pickle.dumps(p))
    assert back == p and back.fn_hash == p.fn_hash
    assert back.states == p.states and back.parameters == p.parameters
    assert back.state_values == p.state_values and back.parameter_values == p.parameter_values
    assert back.constants == p.constants and back.drivers == p.drivers
    assert back.prehash is None  # the raw-input key names a form; the canonical data has none
    # Another algorithm's fn_hash is restored too.
    md5 = parse_equations(**kw, algorithm="md5")
    assert pickle.loads(pickle.dumps(md5)).fn_hash == md5.fn_hash


def test_corrupt_reduction_is_refused() -> None:
    fn, args = reduction(parse_equations("dx = -k*x", states=["x"], parameters=["k"]))
    with pytest.raises(EquationError, match="does not hash to 0000"):
        fn(args[0], "0000", *args[2:])
    with pytest.raises(EquationError, match="version 99"):
        restore(99, *args[1:])


def test_parsed_equations_is_not_equal_to_other_types() -> None:
    p = parse_equations("dx = -x", states=["x"])
    assert p != p.fn_hash and p != object()


CHILD = """
import json, sys
import dask.base, joblib
sys.path.insert(0, {tests!r})
from test_ode_identity import forms
from cubie_hash.ode import parse_equations
from cubie_hash.ode.examples import EXAMPLES
out = {{}}
for name, make in sorted(EXAMPLES.items()):
    kw = make()
    p = parse_equations(**{{**kw, "dxdt": forms(kw)[{form}]}})
    out[name] = [dask.base.tokenize(p), joblib.hash(p)]
print(json.dumps(out))
"""


def test_tokens_are_stable_across_processes_and_hash_seeds() -> None:
    tests = str(Path(__file__).parent)
    seen = []
    for seed, form in (("0", 0), ("1", 4), ("12345", 1)):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": tests}
        code = CHILD.format(tests=tests, form=form)
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        seen.append(json.loads(done.stdout))
    assert seen[0] == seen[1] == seen[2]


@settings(max_examples=150)
@given(exp_calls(expressions(3, FLOATS, ("2", "-1", "3", "0.5", "-2.0"))))
@example("(1.0 / (1.0 + exp((-(x + 35.0) / 10.0))))")
def test_canonical_trees_are_a_fixed_point(text: str) -> None:
    """SymPy rebuilt from the canonical trees walks back to the very same trees."""
    pairs = [(sp.Symbol("dx"), parse_expression(text, "t"))]
    try:
        trees = canonical_trees(pairs)
    except OverflowError:  # a power too large to be a model: refused, nothing to rebuild
        return
    rebuilt = [(sp.Symbol(name), to_sympy(tree)) for name, tree in trees]
    assert canonical_trees(rebuilt) == trees, text


def test_docstring_examples() -> None:
    import doctest

    import cubie_hash.ode.identity
    import cubie_hash.ode.trees

    for module in (cubie_hash.ode.identity, cubie_hash.ode.trees):
        assert doctest.testmod(module).failed == 0, module.__name__
