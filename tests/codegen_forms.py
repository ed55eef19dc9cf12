"""One system in the input forms that must give one module: typed text, the same lines
shuffled, an importer's unevaluated SymPy trees and the same trees evaluated by SymPy.

Imported by tests and by the child processes they start (each form is built in a process and
cache root of its own).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import sympy as sp
from cubie_hash.ode import parse_equations
from cubie_hash.ode.examples import EXAMPLES, generated
from ode_importer import unevaluated_pairs

FORMS = ("text", "shuffled", "importer", "evaluated")

SPECS: dict[str, dict[str, Any]] = {name: make() for name, make in EXAMPLES.items()}
SPECS["generated"] = generated(40)
# SymPy rounds `65.0/18.0` to a Float before the walker sees the evaluated tree, so that form
# of Hodgkin-Huxley holds another double (beta_m's coefficient): another system, another hash.
OTHER_SYSTEM = {("hodgkin_huxley", "evaluated")}
# Built and integrated in every form: a Piecewise with a driver, and exp-heavy kinetics.
INTEGRATED = ("three_chamber", "hodgkin_huxley")


def lines(spec: dict[str, Any]) -> list[str]:
    text = spec["dxdt"]
    items = text.splitlines() if isinstance(text, str) else list(text)
    return [line for line in items if line.strip()]


def evaluated(expr: Any) -> Any:
    """``expr`` rebuilt node by node with SymPy's evaluation switched on."""
    if not expr.args:
        return expr
    return expr.func(*(evaluated(a) for a in expr.args))


def equations(spec: dict[str, Any], form: str) -> Any:
    """The ``dxdt`` argument of ``spec`` in input form ``form``."""
    if form == "text":
        return spec["dxdt"]
    if form == "shuffled":
        shuffled = lines(spec)
        random.Random(9).shuffle(shuffled)
        return "\n".join(f"  {line}   # shuffled" for line in shuffled) + "\n\n"
    pairs = unevaluated_pairs("\n".join(lines(spec)))
    if form == "importer":
        return pairs
    assert form == "evaluated", form
    return [sp.Eq(lhs, evaluated(rhs)) for lhs, rhs in pairs]


def in_form(spec: dict[str, Any], form: str) -> dict[str, Any]:
    return dict(spec, dxdt=equations(spec, form))


def inputs(spec: dict[str, Any], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deterministic y0, parameters, drivers near the spec's defaults."""
    p = parse_equations(**spec)
    rng = np.random.default_rng(7)
    y0 = np.array([spec["states"].get(s, 1.0) if isinstance(spec["states"], dict) else 1.0
                   for s in p.states])  # fmt: skip
    params = spec.get("parameters") or {}
    pv = np.array([params.get(k, 1.0) if isinstance(params, dict) else 1.0
                   for k in p.parameters])  # fmt: skip
    scale = rng.uniform(0.9, 1.1, (n, len(p.states)))
    drivers = rng.uniform(0.0, 1.0, (n, len(p.drivers)))
    return y0 * scale, np.broadcast_to(pv, (n, len(pv))).copy(), drivers
