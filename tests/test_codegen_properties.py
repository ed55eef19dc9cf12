"""Hypothesis properties of the emitter: whatever the expressions, the module compiles, and
computing common subexpressions once gives the bits of inline code (or the same refusal).

Numba would spend a second per example compiling, so the modules run as plain Python in a
child process with ``NUMBA_DISABLE_JIT=1``: the same formulas, in the same order, on IEEE
doubles.  (The compiled path is checked bit for bit in ``test_codegen_canonical.py``.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

CHILD = """
import math, struct
import numpy as np
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from cubie_hash import EquationError
from cubie_hash.codegen import Variant, generate_source
from cubie_hash.ode import parse_equations

leaves = st.sampled_from(["x", "y", "a", "t", "0.5", "2", "3", "1/3", "0.1", "-1.5"])

def combine(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["sin", "cos", "exp", "sqrt", "Abs", "log"]), children).map(
            lambda t: f"{t[0]}({t[1]})"),
        st.tuples(children, st.sampled_from(["2", "3", "-1", "-2", "0.5"])).map(
            lambda t: f"({t[0]})**{t[1]}"),
        st.tuples(children, children, children, children).map(
            lambda t: f"({t[0]} if {t[1]} > {t[2]} else {t[3]})"),
    )

exprs = st.recursive(leaves, combine, max_leaves=12)
POINTS = [(0.0, 0.0, 0.0, 0.0), (1.5, -2.0, 0.25, 1.0), (-3.0, 0.5, 2.0, 0.1),
          (1e-3, 1e3, -1.0, 5.0)]

def run(module, y, a, t):
    out = np.zeros(2)
    try:
        module["dxdt"](np.array(y), np.array([a]), np.empty(0), t, out)
    except (ArithmeticError, ValueError):
        return "raises"
    return out.tobytes().hex()

def load(source):
    compile(source, "m", "exec")  # what Python must accept, before Numba sees it
    namespace = {"__name__": "m"}
    exec(source, namespace)
    return namespace

checked = []

@settings(max_examples=int(__import__("sys").argv[1]), deadline=None, database=None,
          derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(exprs, min_size=3, max_size=3))
def check(pool):
    p0, p1, p2 = pool
    lines = [f"u = {p0}", f"dx = {p1} + u*{p0}", f"dy = ({p2} if {p0} > {p1} else {p1}*{p2})"]
    try:
        system = parse_equations(lines, states=["x", "y"], parameters=["a"])
        shared = generate_source(system, Variant())
    except EquationError:
        assume(False)
    inline = generate_source(system, Variant(), cse=False)
    a, b = load(shared), load(inline)
    for x, y, p, t in POINTS:
        assert run(a, (x, y), p, t) == run(b, (x, y), p, t), (lines, x, y, p, t)
    checked.append(shared.count("_c"))

check()
print(__import__("json").dumps([len(checked), sum(1 for c in checked if c)]))
"""


def test_cse_and_inline_code_agree_bit_for_bit() -> None:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), "200"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
        env={**os.environ, "NUMBA_DISABLE_JIT": "1"},
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    examples, with_temporaries = json.loads(out.stdout.splitlines()[-1])
    assert examples >= 100 and with_temporaries >= examples // 2
