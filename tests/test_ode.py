"""cubie_hash.ode: golden vectors, input forms, importer trees, errors and sensitivity."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sympy as sp
from cubie_hash import EquationError, InputTypeError, _core
from cubie_hash.ode import (
    ParsedEquations,
    canonical_text,
    hash_system_definition,
    parse_equations,
    prehash,
)
from cubie_hash.ode.examples import EXAMPLES, generated, lorenz, three_chamber
from ode_importer import unevaluated_pairs

HERE = Path(__file__).parent
GOLDEN = json.loads((HERE / "golden" / "ode_systems.json").read_text("utf-8"))


def text_of(kwargs: dict[str, Any]) -> str:
    dxdt = kwargs["dxdt"]
    return dxdt if isinstance(dxdt, str) else "\n".join(dxdt)


def spec_inputs(spec: dict[str, Any]) -> dict[str, Any]:
    return generated(spec["generated"]) if "generated" in spec else dict(spec)


def test_golden_file_matches_format_version() -> None:
    assert GOLDEN["format_version"] == _core.ODE_FORMAT_VERSION == 2
    assert GOLDEN["prehash_version"] == _core.ODE_PREHASH_VERSION == 1
    assert len(GOLDEN["vectors"]) >= 12


@pytest.mark.parametrize("vector", GOLDEN["vectors"], ids=lambda v: v["name"])
def test_golden_vectors(vector: dict[str, Any]) -> None:
    kwargs = spec_inputs(vector["input"])
    parsed = parse_equations(**kwargs)
    assert parsed.fn_hash == vector["blake3"]
    assert parsed.prehash == vector["prehash"]
    assert prehash(**kwargs) == vector["prehash"]
    for algorithm in ("md5", "sha256"):
        assert parse_equations(**kwargs, algorithm=algorithm).fn_hash == vector[algorithm]


def test_golden_hashes_are_all_different() -> None:
    hashes = [v["blake3"] for v in GOLDEN["vectors"]]
    assert len(set(hashes)) == len(hashes)


def forms(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The same system in every accepted input form."""
    text = text_of(kwargs)
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = parse_equations(**kwargs)
    # Not str(rhs): SymPy prints floats with 15 digits, which is not the same double.
    pairs = [tuple(line.split("=", 1)) for line in lines]
    return {
        "string": text,
        "lines": lines,
        "str_pairs": pairs,
        "dict": dict(reversed(pairs)),
        "eq": [sp.Eq(lhs, rhs, evaluate=False) for lhs, rhs in parsed.ordered],
        "sympy_pairs": list(reversed(parsed.ordered)),
        "parsed": parsed,
        "unevaluated": unevaluated_pairs(text),
    }


@pytest.mark.parametrize("name", [*EXAMPLES, "generated_40"])
def test_every_input_form_gives_one_hash(name: str) -> None:
    kwargs = generated(40) if name == "generated_40" else EXAMPLES[name]()
    expected = parse_equations(**kwargs).fn_hash
    for form, dxdt in forms(kwargs).items():
        assert parse_equations(**{**kwargs, "dxdt": dxdt}).fn_hash == expected, form


@pytest.mark.parametrize("name", [n for n in EXAMPLES if n != "hodgkin_huxley"])
def test_sympy_evaluated_input_hashes_like_text(name: str) -> None:
    # Text is parsed unevaluated; SymPy's own evaluation of the same trees (what a user
    # passing sympy.Eq of evaluated expressions hands over) must give the same hash.
    # Hodgkin-Huxley is left out: SymPy folds -(V + 65.0)/18.0 with two roundings (1/18.0
    # first), the documented limit for floats SymPy already folded.
    kwargs = EXAMPLES[name]()
    parsed = parse_equations(**kwargs)
    evaluated = [sp.Eq(lhs, rhs.doit(), evaluate=False) for lhs, rhs in parsed.ordered]
    assert parse_equations(**{**kwargs, "dxdt": evaluated}).fn_hash == parsed.fn_hash


def test_text_is_parsed_unevaluated_and_folded_exactly() -> None:
    # SymPy would fold x/1.5*40.0 as (x*0.666…6)*40.0 and 40.0/1.5*x as 26.666…68*x.
    a = parse_equations("dx = x/1.5*40.0", states=["x"])
    b = parse_equations("dx = 40.0/1.5*x", states=["x"])
    assert a.fn_hash == b.fn_hash
    assert canonical_text(a).splitlines()[-1] == f"dx = Mul({40.0 / 1.5!r}, x)"
    rhs = a.ordered[0][1]
    assert isinstance(rhs, sp.Mul) and rhs.has(sp.Float(1.5))  # nothing folded by SymPy


def test_importer_tree_hashes_like_typed_string() -> None:
    a, b, C = sp.symbols("a b C")
    tree = sp.Mul(sp.Float(0.001), sp.Pow(C, -1), sp.Add(-a, -b), evaluate=False)
    typed = sp.sympify("0.001*(-a - b)/C")
    assert _core.ode_encode_expr(tree) == _core.ode_encode_expr(typed)
    assert sp.srepr(tree) != sp.srepr(typed)  # SymPy itself does not reconcile them


def test_hash_of_parsed_equals_fn_hash_and_accepts_ordered_objects() -> None:
    p = parse_equations(**three_chamber())
    layout = {
        "constants": p.constants,
        "states": p.states,
        "parameters": p.parameters,
        "drivers": p.drivers,
        "observables": p.observable_names,
    }
    assert hash_system_definition(p, **layout) == p.fn_hash
    assert hash_system_definition(list(reversed(p.ordered)), **layout) == p.fn_hash

    class CubieLike:  # any object with .ordered, like CuBIE's ParsedEquations
        ordered = p.ordered

    assert hash_system_definition(CubieLike(), **layout) == p.fn_hash


def test_parsed_equations_fields() -> None:
    p = parse_equations(**three_chamber())
    assert isinstance(p, ParsedEquations)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.fn_hash = "x"  # type: ignore[misc]
    names = [str(lhs) for lhs, _ in p.ordered]
    for i, (_, rhs) in enumerate(p.ordered):
        assert {s.name for s in rhs.free_symbols}.isdisjoint(names[i:])
    assert [str(lhs) for lhs, _ in p.state_derivatives] == ["dV_h", "dV_a", "dV_v"]
    assert [str(lhs) for lhs, _ in p.observables] == list(p.observable_names)
    assert p.auxiliaries == ()
    assert p.states == ("V_h", "V_a", "V_v") and p.drivers == ("e_t",)
    assert p.state_values["V_h"] == 1.0 and p.constants == {"R_c": 1.0 / 114.0}
    q1 = parse_equations(**lorenz())
    assert q1.prehash is not None
    assert parse_equations(q1, states=q1.states, parameters=q1.parameters,
                           constants=q1.constants).fn_hash == q1.fn_hash  # fmt: skip


def test_special_names_are_symbols_and_printed_forms_round_trip() -> None:
    p = parse_equations(
        "dx = beta*x + gamma + E + I + N + S + Q + O + pi + gamma(x)",
        states=["x"],
        parameters=["beta", "gamma", "E", "I", "N", "S", "Q", "O", "pi"],
    )
    rhs = p.ordered[0][1]
    assert {s.name for s in rhs.free_symbols} == {"x", "beta", "gamma", "E", "I", "N", "S",
                                                 "Q", "O", "pi"}  # fmt: skip
    kwargs = {"states": ["x"], "parameters": ["a", "b"]}
    for text in [
        "dx = a if x > 0 else b",
        "dx = Piecewise((a, x > 0), (b, Eq(x, a)), (0, True))",
        "dx = Max(x, a) - Min(a, b)*exp(-x)/sqrt(a) + Abs(x)",
        "dx = a if (x > 0) & (a < 1) else b",
    ]:
        first = parse_equations(text, **kwargs)
        again = parse_equations(f"dx = {first.ordered[0][1]}", **kwargs)
        assert again.fn_hash == first.fn_hash, text


@pytest.mark.parametrize(
    ("dxdt", "kwargs", "message"),
    [
        ("dx = (x +", {}, "syntax error"),
        ("dx = x\ndx = 2*x", {}, "assigned twice"),
        ("dy = -x", {}, "x has no derivative"),
        ("dx = -x\ndy = -y", {}, "derivative of y"),
        ("dx = foo(x)", {}, "unknown function foo"),
        ("dx = a\na = b\nb = a", {}, "cycle"),
        ("dx = x + k", {}, "k is not declared"),
        ("dx = x", {"parameters": ["bad name"]}, "not an identifier"),
        ("x = 1\ndx = x", {}, "declared"),
        ("dx = x", {"constants": {"c": "abc"}}, "must be a number"),
        ("dx = 'text'", {}, "unsupported constant"),
        ("dx = x.real", {}, "unsupported syntax"),
        ("dx = x\ny = 1\nq", {}, "expected one"),
    ],
)
def test_bad_input_names_the_problem(dxdt: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(EquationError, match=message):
        parse_equations(dxdt, states=["x"], **kwargs)


def test_bad_sympy_input_is_refused() -> None:
    x = sp.Symbol("x")
    with pytest.raises(EquationError, match="dx.*unsupported function or object f"):
        hash_system_definition([(sp.Symbol("dx"), sp.Function("f")(x))])
    with pytest.raises(EquationError, match="not an identifier"):
        parse_equations([(sp.Symbol("dx"), sp.Symbol("x y"))], states=["x"])
    with pytest.raises(InputTypeError):
        prehash([(sp.Symbol("dx"), x)], states=["x"])


def test_sensitivity() -> None:
    base = parse_equations(**lorenz()).fn_hash
    changed = [
        {**lorenz(), "dxdt": lorenz()["dxdt"].replace("beta*z", "beta*z*1.0000001")},
        {**lorenz(), "dxdt": lorenz()["dxdt"].replace("x*y", "x*y + 0")},
        {**lorenz(), "constants": {"rho": 28.000000000000004}},
        {**lorenz(), "states": ["x", "z", "y"]},
        {**lorenz(), "parameters": ["beta", "sigma"]},
        {**lorenz(), "parameters": ["sigma"], "constants": {"rho": 28.0, "beta": 8 / 3}},
    ]
    hashes = [parse_equations(**kw).fn_hash for kw in changed]
    assert hashes[1] == base  # "+ 0" is not a change
    del hashes[1]
    assert base not in hashes and len(set(hashes)) == len(hashes)


def test_dict_order_of_equations_and_constants_does_not_matter() -> None:
    kw = lorenz()
    kw["constants"] = {"rho": 28.0, "c2": 1.5}
    a = parse_equations(**kw).fn_hash
    kw["constants"] = {"c2": 1.5, "rho": 28.0}
    assert parse_equations(**kw).fn_hash == a


def test_canonical_text_shows_the_difference() -> None:
    a = canonical_text(parse_equations(**lorenz()))
    b = canonical_text(parse_equations(**{**lorenz(), "constants": {"rho": 29.0}}))
    assert a.splitlines()[0] == "cubie_hash/ode v2"
    assert [line for line in b.splitlines() if line not in a.splitlines()] == [
        "constant rho = 29.0"
    ]


SCRIPT = """
import json, sys
from cubie_hash.ode import prehash
from cubie_hash.ode.examples import lorenz
key = prehash(**lorenz())
assert 'sympy' not in sys.modules, 'prehash imported sympy'
from cubie_hash.ode import parse_equations
print(json.dumps([key, parse_equations(**lorenz()).fn_hash]))
"""


def test_hashes_do_not_depend_on_pythonhashseed_and_prehash_skips_sympy() -> None:
    results = set()
    for seed in ("0", "1", "12345", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
        )
        results.add(out.stdout.strip())
    assert len(results) == 1
    key, fn_hash = json.loads(results.pop())
    golden = {v["name"]: v for v in GOLDEN["vectors"]}["lorenz"]
    assert (key, fn_hash) == (golden["prehash"], golden["blake3"])


def test_prehash_normalises_text_but_not_layout() -> None:
    kw = lorenz()
    a = prehash(**kw)
    messy = "\n\n  dz = x * y-beta*z   # comment\ndx=sigma*(y - x)\n   dy = x*(rho-z) - y\n"
    assert prehash(**{**kw, "dxdt": messy}) == a
    assert prehash(**{**kw, "dxdt": messy.splitlines()}) == a
    assert prehash(**{**kw, "states": ["y", "x", "z"]}) != a
    assert prehash(**{**kw, "constants": {"rho": 28.5}}) != a
    assert prehash(**{**kw, "constants": {"rho": 28}}) != a


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dxdt": 123, "states": ["x"]}, "equations must be text"),
        ({"dxdt": "dx = -x", "states": 5}, "states must be a list of names or a dict"),
        ({"dxdt": "dx = -x", "states": ["x"], "parameters": 2.0}, "parameters must be"),
    ],
)
def test_inputs_of_the_wrong_type_are_typed_errors(kwargs: dict[str, Any], message: str) -> None:
    from cubie_hash import InputTypeError
    from cubie_hash.ode import parse_equations

    with pytest.raises(InputTypeError, match=message):
        parse_equations(**kwargs)
