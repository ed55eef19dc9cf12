"""cubie_hash with the real CuBIE 0.17: its objects as input, and the canonical front door.

CuBIE needs Python 3.11+; on 3.10 this module skips with that reason (CI runs 3.11, where
the test extra installs ``cubie==0.17.0``, so there a broken CuBIE import fails loudly).
The cache tests build every system in its own process under ``NUMBA_ENABLE_CUDASIM=1``,
sharing one ``CUBIE_CACHE_DIR`` (CuBIE's own variable, read by ``cubie._env``).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

if sys.version_info < (3, 11):
    pytest.skip("CuBIE 0.17 needs Python >= 3.11", allow_module_level=True)

import mpmath
import sympy as sp
from cubie.odesystems.symbolic.engine import expr as ir
from cubie.odesystems.symbolic.parsing import parse_system
from cubie_hash.errors import EquationError, InputTypeError
from cubie_hash.integrations import cubie as integration
from cubie_hash.ode import canonical_text, hash_system_definition, parse_equations
from cubie_hash.ode.examples import EXAMPLES, generated
from cubie_hash.ode.expressions import parse_expression
from cubie_hash.ode.trees import canonical_trees
from hypothesis import example, given, settings
from test_ode_properties import FLOATS, exp_calls, expressions

HERE = Path(__file__).parent
# Systems whose text CuBIE reads without changing the mathematics.
SAME_MATH = ["lorenz", "three_chamber", "lotka_volterra", "sir"]


def cubie_declarations(kw: dict[str, Any]) -> dict[str, Any]:
    """CuBIE has no constants: they are parameters with values there."""
    parameters = kw.get("parameters") or {}
    if not isinstance(parameters, dict):
        parameters = dict.fromkeys(parameters, 0.0)
    return {
        "states": kw["states"],
        "parameters": {**parameters, **kw.get("constants", {})},
        "observables": kw.get("observables"),
        "drivers": kw.get("drivers"),
    }


def both(kw: dict[str, Any]) -> tuple[Any, Any]:
    """(CuBIE's ParsedSystem, cubie_hash's ParsedEquations) of one text and declarations."""
    declared = cubie_declarations(kw)
    ours = parse_equations(kw["dxdt"], **declared)
    return parse_system(kw["dxdt"], **declared), ours


# --- CuBIE objects as input ---------------------------------------------------------------


@pytest.mark.parametrize("name", [*SAME_MATH, "generated340"])
def test_parsed_system_hashes_like_the_same_text(name: str) -> None:
    kw = generated(340) if name == "generated340" else EXAMPLES[name]()
    theirs, ours = both(kw)
    assert hash_system_definition(theirs) == ours.fn_hash
    assert canonical_text(theirs) == canonical_text(ours)
    # parse_equations reads it too, into the same canonical system, with CuBIE's values.
    parsed = parse_equations(theirs)
    assert parsed.fn_hash == ours.fn_hash
    assert parsed.state_values == dict(theirs.states)


def test_derivative_symbols_map_back_through_the_registry() -> None:
    # x_t is taken by a parameter, so CuBIE names the derivative of x "x_t_".
    theirs = parse_system("dx = -x_t*x", states=["x"], parameters=["x_t"])
    assert [lhs.name for lhs, _ in theirs.normalised.equations] == ["x_t_"]
    ours = parse_equations("dx = -x_t*x", states=["x"], parameters=["x_t"])
    assert hash_system_definition(theirs) == ours.fn_hash
    # An equation that reads a derivative reads dx in the canonical form too.
    theirs = parse_system("dx = -x\ny = 2*dx", states=["x"], observables=["y"])
    ours = parse_equations("dx = -x\ny = 2*dx", states=["x"], observables=["y"])
    assert "y = Mul(2, dx)" in canonical_text(theirs)
    assert hash_system_definition(theirs) == ours.fn_hash


def test_specialised_system_lists_and_containers() -> None:
    kw = EXAMPLES["lotka_volterra"]()
    theirs, ours = both(kw)
    swept = theirs.specialise(swept=list(theirs.parameters))
    # Its layout is CuBIE's buffer order (sorted, here the declared order too).
    assert swept.layout.state_names == ours.states
    assert hash_system_definition(swept) == ours.fn_hash
    assert parse_equations(swept).fn_hash == ours.fn_hash
    layouts = {"states": ours.states, "parameters": ours.parameters}
    # Its equation container and a plain IR list take layouts from the arguments.
    assert hash_system_definition(swept.equations, **layouts) == ours.fn_hash
    pairs = list(swept.equations.ordered)
    assert hash_system_definition(pairs, **layouts) == ours.fn_hash
    assert parse_equations(pairs, **layouts).fn_hash == ours.fn_hash
    assert hash_system_definition(theirs.normalised, **layouts) == ours.fn_hash
    # Compiled parameters are numbers in the equations, not parameters.
    compiled = theirs.specialise()
    assert compiled.layout.swept_names == ()
    folded = parse_equations("dx = 1.1*x - 0.4*x*y\ndy = 0.1*x*y - 0.4*y", states=kw["states"])
    assert hash_system_definition(compiled) == folded.fn_hash


def test_exact_numbers_from_the_ir() -> None:
    x, k = ir.sym("x"), ir.sym("k")
    pairs = [(ir.sym("dx"), ir.mul(ir.num(Fraction(1, 3)), k, x))]
    assert hash_system_definition(pairs, states=["x"], parameters=["k"]) == (
        parse_equations("dx = k*x/3", states=["x"], parameters=["k"]).fn_hash
    )
    big = 10**30 + 1
    pairs = [(ir.sym("dx"), ir.mul(ir.num(big), x))]
    assert hash_system_definition(pairs, states=["x"]) == (
        parse_equations(f"dx = {big}*x", states=["x"]).fn_hash
    )
    pairs = [(ir.sym("dx"), ir.pow_(x, ir.num(0.1)))]
    assert hash_system_definition(pairs, states=["x"]) == (
        parse_equations("dx = x**0.1", states=["x"]).fn_hash
    )
    # CuBIE's sqrt call is SymPy's (and the canonical) power of one half.
    pairs = [(ir.sym("dx"), ir.call("sqrt", x))]
    assert hash_system_definition(pairs, states=["x"]) == (
        parse_equations("dx = sqrt(x)", states=["x"]).fn_hash
    )


def test_piecewise_relations_and_booleans() -> None:
    text = "dx = (x if (x > 0) & Not(x >= 1) else -x) if Eq(x, 0.5) | (x < 2) else 0"
    ours = parse_equations(text, states=["x"])
    x = ir.sym("x")
    cond = ir.bool_op("and", ir.rel(">", x, ir.ZERO), ir.bool_op("not", ir.rel(">=", x, ir.ONE)))
    inner = ir.piecewise((x, cond), (ir.neg(x), ir.TRUE))
    outer = ir.bool_op("or", ir.rel("==", x, ir.num(0.5)), ir.rel("<", x, ir.num(2)))
    pairs = [(ir.sym("dx"), ir.piecewise((inner, outer), (ir.ZERO, ir.TRUE)))]
    assert hash_system_definition(pairs, states=["x"]) == ours.fn_hash


# --- where CuBIE changes the mathematics (documented in the README) ---------------------


def diff(theirs: Any, ours: Any) -> list[tuple[str, str]]:
    a, b = canonical_text(theirs).splitlines(), canonical_text(ours).splitlines()
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def test_cubie_rounds_text_numbers_twice_hodgkin_huxley() -> None:
    """CuBIE's text path folds 4.0*exp(-65.0/18.0) at SymPy's 15 digits: 3 ulps off."""
    theirs, ours = both(EXAMPLES["hodgkin_huxley"]())
    assert hash_system_definition(theirs) != ours.fn_hash
    [(cubie_line, our_line)] = diff(theirs, ours)
    assert cubie_line.startswith("beta_m = Mul(0.10808722380483629,")
    assert our_line.startswith("beta_m = Mul(0.10808722380483625,")
    ulp = math.ulp(0.10808722380483625)
    assert round((0.10808722380483629 - 0.10808722380483625) / ulp) == 3
    # Ours is 4*exp(-65.0/18.0) correctly rounded (200-bit reference).
    with mpmath.workprec(200):
        assert float(4 * mpmath.exp(mpmath.mpf(-65.0 / 18.0))) == 0.10808722380483625


def test_cubie_misreads_a_float_literal() -> None:
    """SymPy reads a 16-digit literal at 16-digit precision; float() then rounds again."""
    literal = "0.2786838738069560"
    theirs = parse_system(f"dx = {literal}*x", states=["x"])
    ours = parse_equations(f"dx = {literal}*x", states=["x"])
    assert hash_system_definition(theirs) != ours.fn_hash
    [(cubie_line, our_line)] = diff(theirs, ours)
    assert cubie_line == "dx = Mul(0.27868387380695603, x)"
    assert our_line == f"dx = Mul({float(literal)!r}, x)"


def test_cubie_drops_a_float_one() -> None:
    theirs = parse_system("dx = 1.0*x", states=["x"])
    assert hash_system_definition(theirs) != parse_equations("dx = 1.0*x", states=["x"]).fn_hash
    assert hash_system_definition(theirs) == parse_equations("dx = x", states=["x"]).fn_hash


def test_structural_simplification_substitutes_aliases() -> None:
    text = "a = x\nb = 2*a\ndx = -b*k"
    theirs = parse_system(text, states=["x"], parameters=["k"])
    ours = parse_equations(text, states=["x"], parameters=["k"])
    assert hash_system_definition(theirs) == ours.fn_hash
    specialised = theirs.specialise(swept=["k"])
    assert hash_system_definition(specialised) != ours.fn_hash
    assert "b = Mul(2, x)" in canonical_text(specialised)


# --- refusals ------------------------------------------------------------------------------


def test_constructs_without_a_canonical_form_are_refused() -> None:
    x = ir.sym("x")
    with pytest.raises(EquationError, match=r"equation for dx: array element"):
        hash_system_definition([(ir.sym("dx"), ir.arr("y", 0))], states=["x"])
    with pytest.raises(EquationError, match="unsupported function foo_"):
        hash_system_definition([(ir.sym("dx"), ir.call("foo_", x))], states=["x"])
    with pytest.raises(EquationError, match="implicit equations"):
        hash_system_definition([(ir.add(x, ir.ONE), ir.ZERO)], states=["x"])
    with pytest.raises(EquationError, match="expected a CuBIE IR node"):
        hash_system_definition([(ir.sym("dx"), sp.Symbol("x"))], states=["x"])
    with pytest.raises(EquationError, match="left-hand side .dx. is given twice"):
        hash_system_definition([(ir.sym("dx"), x), (ir.sym("dx"), x)], states=["x"])


def test_an_ir_number_beyond_the_input_bound_is_refused_like_text() -> None:
    # Every front end applies one input-size bound: CuBIE IR, SymPy trees and text alike.
    x, huge = ir.sym("x"), 2**5000 + 1
    with pytest.raises(EquationError, match="4096-bit limit"):
        parse_equations(f"dx = {huge}*x", states=["x"])
    with pytest.raises(EquationError, match="4096-bit limit"):
        hash_system_definition([(ir.sym("dx"), ir.mul(ir.num(huge), x))], states=["x"])


def test_deep_ir_is_refused_not_a_crash() -> None:
    deep = ir.sym("x")
    for _ in range(1500):
        deep = ir.call("sin", deep)
    assert hash_system_definition([(ir.sym("dx"), deep)], states=["x"])
    for _ in range(100_000):
        deep = ir.call("sin", deep)
    with pytest.raises(EquationError, match="nested deeper than 2000 levels"):
        hash_system_definition([(ir.sym("dx"), deep)], states=["x"])


def test_deep_ir_in_a_small_thread_stack_is_not_a_crash() -> None:
    # The walk recurses once a level: on a thread with a small stack (threading.stack_size, or
    # a platform whose threads get 512 KiB) it must grow its stack, not overflow it.  In a child
    # process, so that a crash is a failed test.
    code = (
        "import threading\n"
        "from cubie.odesystems.symbolic.engine import expr as ir\n"
        "from cubie_hash.ode import hash_system_definition\n"
        "deep = ir.sym('x')\n"
        "for _ in range(1999):\n"
        "    deep = ir.call('sin', deep)\n"
        "out = []\n"
        "threading.stack_size(256 * 1024)\n"
        "t = threading.Thread(target=lambda: out.append(\n"
        "    hash_system_definition([(ir.sym('dx'), deep)], states=['x'])))\n"
        "t.start(); t.join()\n"
        "assert len(out) == 1, out\n"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr[-2000:]


def test_pairs_may_be_lists() -> None:
    pairs = [[ir.sym("dx"), ir.neg(ir.sym("x"))]]
    assert hash_system_definition(pairs, states=["x"]) == (
        parse_equations("dx = -x", states=["x"]).fn_hash
    )
    with pytest.raises(EquationError, match=r"must be \(lhs, rhs\) pairs"):
        hash_system_definition([(ir.sym("dx"), ir.sym("x")), (ir.sym("dy"),)], states=["x"])


def test_layouts_come_from_the_object() -> None:
    theirs = parse_system("dx = -k*x", states=["x"], parameters=["k"])
    with pytest.raises(InputTypeError, match="layouts come from the CuBIE object"):
        hash_system_definition(theirs, states=["x"])
    with pytest.raises(InputTypeError, match="layouts come from the CuBIE object"):
        parse_equations(theirs, parameters=["k"])


def test_cubie_is_imported_only_for_cubie_objects() -> None:
    code = (
        "import sys\n"
        "from cubie_hash.ode import parse_equations, hash_system_definition, canonical_text\n"
        "p = parse_equations('dx = -k*x', states=['x'], parameters=['k'])\n"
        "hash_system_definition(p.ordered, states=p.states); canonical_text(p)\n"
        "import cubie_hash.integrations.cubie\n"
        "assert not [m for m in sys.modules if m == 'cubie' or m.startswith('cubie.')]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --- the front door ----------------------------------------------------------------------


def test_front_door_names_the_system_from_the_fn_hash(tmp_path: Path) -> None:
    from cubie.cache_root import set_cache_root

    set_cache_root(tmp_path)
    try:
        kw = EXAMPLES["lotka_volterra"]()
        declared = {"states": kw["states"], "parameters": kw["parameters"]}
        ours = parse_equations(**kw)
        names = {
            integration.create_ODE_system(form, **declared).name
            for form in (kw["dxdt"], list(reversed(kw["dxdt"])), ours)
        }
        # A CuBIE ParsedSystem brings its own declarations.
        names.add(integration.create_ODE_system(parse_system(**kw)).name)
        assert names == {f"ch_{ours.fn_hash[:16]}"}
        # Swept, every parameter is in the layout: the CuBIE system hashes back to its name.
        ode = integration.create_ODE_system(
            kw["dxdt"], swept_parameters=list(kw["parameters"]), **declared
        )
        assert hash_system_definition(ode) == ours.fn_hash
        # A name given is kept; refusals are typed.
        ode = integration.create_ODE_system(
            kw["dxdt"], states=kw["states"], parameters=kw["parameters"], name="mine"
        )
        assert ode.name == "mine"
    finally:
        set_cache_root(None)
    with pytest.raises(InputTypeError, match="user_functions"):
        integration.create_ODE_system("dx = -x", states=["x"], user_functions={"f": abs})
    with pytest.raises(InputTypeError, match="callable dxdt"):
        integration.create_ODE_system(lambda t, y: [-y[0]], states=["x"])
    with pytest.raises(EquationError, match="k is not declared"):
        integration.create_ODE_system("dx = -k*x", states=["x"])


def test_front_door_hands_cubie_the_hashed_doubles() -> None:
    literal = "0.2786838738069560"
    parsed = parse_equations(f"dx = {literal}*x", states=["x"])
    [(lhs, rhs)] = integration.cubie_equations(parsed)
    assert lhs is ir.sym("dx")
    assert rhs is ir.mul(ir.num(float(literal)), ir.sym("x"))
    # The IR handed over hashes back to the same fn_hash.
    assert hash_system_definition([(lhs, rhs)], states=["x"]) == parsed.fn_hash


def child(mode: str, system: str, form: str, cache: Path) -> subprocess.Popen[str]:
    """One CuBIE build in its own process (tests/cubie_child.py)."""
    env = {
        **os.environ,
        "NUMBA_ENABLE_CUDASIM": "1",
        "CUBIE_CACHE_DIR": str(cache),
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, str(HERE / "cubie_child.py"), mode, system, form],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def results(children: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    """Each child's report; a crash or a non-zero exit fails the test."""
    out = []
    for proc in children:
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


FORMS = ["text", "shuffled", "importer"]


def test_one_cache_entry_per_system_across_input_forms(tmp_path: Path) -> None:
    """Every form of every bundled system: one folder, one file, generated once.

    The first form of each system builds alone (the five systems at once); the other two
    forms of all five then start together, racing to read what the first ones wrote.
    """
    systems = list(EXAMPLES)
    first = results([child("front", s, FORMS[0], tmp_path) for s in systems])
    rest = results([child("front", s, f, tmp_path) for s in systems for f in FORMS[1:]])
    for i, system in enumerate(systems):
        runs = [first[i], *rest[2 * i : 2 * i + 2]]
        assert len({r["name"] for r in runs}) == 1, (system, runs)
        assert len({r["file"] for r in runs}) == 1, (system, runs)
        assert [r["cached_before"] for r in runs] == [False, True, True], (system, runs)
        # Never regenerated: the file the first process wrote is the one the others read.
        assert len({(r["sha256"], r["mtime_ns"]) for r in runs}) == 1, (system, runs)
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.py"))
    assert len(files) == len(systems), files


def test_stock_cubie_makes_two_entries_for_the_same_systems(tmp_path: Path) -> None:
    """The before: CuBIE's text and tree paths differ for these two systems."""
    systems = ("three_chamber", "hodgkin_huxley")
    runs = results([child("stock", s, f, tmp_path) for s in systems for f in FORMS])
    sources = {s: {r["sha256"] for r in runs[3 * i : 3 * i + 3]} for i, s in enumerate(systems)}
    assert {s: len(v) for s, v in sources.items()} == {"three_chamber": 2, "hodgkin_huxley": 2}
    assert len(list(tmp_path.rglob("*.py"))) == 4


NUMBERS = ("int", "rat", "float")


def children(tree: Any) -> list[Any]:
    tag, payload = tree
    if tag in ("add", "mul", "pow"):
        return list(payload)
    if tag in ("func", "bool"):
        return list(payload[1])
    if tag == "rel":
        return [payload[1], payload[2]]
    if tag == "piecewise":
        return [part for pair in payload for part in pair]
    return []


def symbol_free(tree: Any) -> bool:
    """Whether CuBIE folds ``tree`` to a number: no symbol, or a power ``x**0.0`` (1)."""
    if tree[0] == "pow" and tree[1][1] == ("float", 0.0):
        return True
    return tree[0] not in ("sym", "const") and all(map(symbol_free, children(tree)))


def hashed_floats(tree: Any) -> set[float]:
    """The doubles of a canonical tree that CuBIE must keep: all but those it folds itself.

    CuBIE evaluates symbol-free sub-expressions in double arithmetic (``exp(0)``,
    ``0.5 + 2**0.5``) and drops a float term 0.0, a float factor 1.0 and float exponents 1.0
    and 0.0 (``x*1.0`` and ``x**1.0`` are ``x``, ``x**0.0`` is 1 bit for bit, ``x + 0.0`` is
    ``x`` but for ``x = -0.0``); every other double must arrive unchanged.
    """
    tag, payload = tree
    if tag == "float":
        return {payload}
    if symbol_free(tree):
        return set()
    parts = children(tree)
    if tag in ("add", "mul"):
        if any(symbol_free(a) and a[0] not in NUMBERS for a in parts):
            parts = [a for a in parts if not symbol_free(a)]  # they fold together
        neutral = ("float", 1.0) if tag == "mul" else ("float", 0.0)
        parts = [a for a in parts if a != neutral]
    if tag == "pow" and parts[1] in (("float", 1.0), ("float", 0.0)):
        parts = parts[:1]  # x**1.0 is x, x**0.0 is 1, bit for bit
    return set().union(*map(hashed_floats, parts))


def ir_floats(node: Any) -> set[float]:
    if isinstance(node, ir.Num):
        return {node.value} if isinstance(node.value, float) else set()
    children = [
        *getattr(node, "args", ()),
        *(getattr(node, a) for a in ("base", "exp", "lhs", "rhs") if hasattr(node, a)),
    ]
    for value, cond in getattr(node, "pairs", ()):
        children += [value, cond]
    return set().union(*map(ir_floats, children))


@settings(max_examples=200)
@given(exp_calls(expressions(3, FLOATS, ("2", "-1", "3", "0.5", "-2.0"))))
@example("(1.0 / (1.0 + exp((-(x + 35.0) / 10.0))))")
@example("exp(-(a + (2 ** 0.5)))")
@example("exp(--(a - a))")
@example("-(0.5 + (2 ** 0.5))")
@example("-((a ** 0.5) ** 2)")
@example("(-0.5 + -(a - 0.5))")
@example("(((x ** 0.5) / (x ** 0.5)) ** 0.5)")
def test_cubie_gets_every_hashed_double(text: str) -> None:
    """The IR the front door builds holds each double of the canonical form unchanged."""
    pairs = [(sp.Symbol("dx"), parse_expression(text, "t"))]
    try:
        [(_, tree)] = canonical_trees(pairs)
        built = integration.to_cubie_ir(tree)
    except (OverflowError, EquationError):  # oo/nan/zoo: no IR in CuBIE either
        return
    assert hashed_floats(tree) <= ir_floats(built), text


def test_docstring_examples(tmp_path: Path) -> None:
    import doctest

    from cubie.cache_root import set_cache_root

    set_cache_root(tmp_path)
    try:
        globs = {"parse_system": parse_system, "parse_equations": parse_equations}
        assert doctest.testmod(integration, extraglobs=globs).failed == 0
    finally:
        set_cache_root(None)
