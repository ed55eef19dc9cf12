"""The SymPy-based text parser the project used before the Rust front end: the oracle.

Lines are read with Python's ``ast`` and built into unevaluated SymPy trees by
``cubie_hash.ode.expressions`` (which the package still uses to build the SymPy fields of a
text-parsed system lazily); the trees are then walked into the canonical form by
``sympy_walk``.  The text front end must give the same canonical form for every text this
accepts.
"""

from __future__ import annotations

import ast
import heapq
from typing import Any

import sympy
from cubie_hash import _core
from cubie_hash.errors import EquationError
from cubie_hash.ode.declarations import Declarations, check_identifier, declare
from cubie_hash.ode.expressions import parse_expression


def oracle_pairs(dxdt: str | list[str]) -> list[tuple[Any, Any]]:
    """(Symbol, unevaluated rhs) for every equation line, as the old ``_lines`` read them."""
    text = dxdt if isinstance(dxdt, str) else "\n".join(dxdt)
    pairs = []
    for line in text.splitlines():
        if not line.split("#", 1)[0].strip():
            continue
        label = line.strip()
        try:
            module = ast.parse(label)
        except SyntaxError as err:
            raise EquationError(
                f"equation {label!r}: syntax error at column {err.offset}: {err.msg}"
            ) from None
        body = module.body
        if (
            len(body) != 1
            or not isinstance(body[0], ast.Assign)
            or len(body[0].targets) != 1
            or not isinstance(body[0].targets[0], ast.Name)
        ):
            raise EquationError(f"equation {label!r}: expected one 'name = expression'")
        target = body[0].targets[0].id
        pairs.append((sympy.Symbol(target), parse_expression(body[0].value, label)))
    return pairs


def oracle_system(kwargs: dict[str, Any]) -> tuple[str, str]:
    """(fn_hash, canonical_text) of a text system, the SymPy way."""
    d = declare(
        kwargs["states"],
        kwargs.get("parameters"),
        kwargs.get("constants"),
        kwargs.get("observables"),
        kwargs.get("drivers"),
    )
    pairs = oracle_pairs(kwargs["dxdt"])
    layouts = (d.constants, d.states, d.parameters, d.drivers, d.observables)
    return (
        _core.ode_hash_system(pairs, *layouts, "blake3"),
        _core.ode_canonical_text(pairs, *layouts),
    )


def oracle_encoding(text: str) -> bytes:
    """Canonical encoding of one right-hand side, the SymPy way."""
    return _core.ode_encode_expr(parse_expression(text, "e"))


# The whole-system checks and ordering as parse_equations did them on SymPy free_symbols.
def _order(rhs: dict[str, Any], deps: dict[str, set[str]]) -> list[str]:
    waiting = {n: len(d) for n, d in deps.items()}
    users: dict[str, list[str]] = {n: [] for n in deps}
    for n, d in deps.items():
        for dep in d:
            users[dep].append(n)
    ready = [n for n, k in waiting.items() if k == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        n = heapq.heappop(ready)
        order.append(n)
        for user in users[n]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, user)
    if len(order) < len(deps):
        stuck = sorted(n for n, k in waiting.items() if k > 0)
        raise EquationError(
            f"cycle among assignments: {', '.join(stuck)} depend on each other "
            f"(e.g. {stuck[0]} = {rhs[stuck[0]]})"
        )
    return order


def _check_names(
    d: Declarations, rhs: dict[str, Any], labels: dict[str, str]
) -> dict[str, set[str]]:
    states = set(d.states)
    fixed = {*d.states, *d.parameters, *d.constants, *d.drivers}
    for name, label in labels.items():
        if name in fixed:
            raise EquationError(f"equation {label!r}: assigns to {name}, which is declared")
    missing = [s for s in d.states if f"d{s}" not in rhs]
    if missing:
        raise EquationError(
            f"state {missing[0]} has no derivative: add an equation 'd{missing[0]} = ...'"
        )
    unassigned = [o for o in d.observables if o not in rhs]
    if unassigned:
        raise EquationError(f"observable {unassigned[0]} is declared but never assigned")
    free = {n: {s.name for s in e.free_symbols} for n, e in rhs.items()}
    used = set().union(*free.values()) if free else set()
    known = fixed | set(rhs) | {"t"}
    for name, label in labels.items():
        target = name[1:]
        if (
            name.startswith("d")
            and target not in states
            and name not in d.observables
            and target.isidentifier()
            and target not in known
            and (target in used or name not in used)
        ):
            raise EquationError(
                f"equation {label!r}: {name} looks like the derivative of {target}, "
                f"which is not a declared state"
            )
    for name, symbols in free.items():
        for s in sorted(symbols):
            check_identifier(s, f"symbol in equation {labels[name]!r}:")
            if s not in known:
                raise EquationError(
                    f"equation {labels[name]!r}: {s} is not declared (declare it as a state, "
                    f"parameter, constant or driver, or assign it)"
                )
    return {n: symbols & set(rhs) for n, symbols in free.items()}


def oracle_parse(kwargs: dict[str, Any], algorithm: str = "blake3") -> tuple[str, list[str]]:
    """(fn_hash, evaluation order) of a text system as ``parse_equations`` computed them
    before the Rust front end: SymPy trees, checks on their free symbols, then the walker."""
    d = declare(
        kwargs["states"],
        kwargs.get("parameters"),
        kwargs.get("constants"),
        kwargs.get("observables"),
        kwargs.get("drivers"),
    )
    rhs: dict[str, Any] = {}
    labels: dict[str, str] = {}
    text = kwargs["dxdt"] if isinstance(kwargs["dxdt"], str) else "\n".join(kwargs["dxdt"])
    lines = [line.strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]
    for label, (symbol, expr) in zip(lines, oracle_pairs(text), strict=True):
        if symbol.name in rhs:
            raise EquationError(
                f"{symbol.name} is assigned twice: {labels[symbol.name]!r} and {label!r}"
            )
        labels[symbol.name] = label
        rhs[symbol.name] = expr
    order = _order(rhs, _check_names(d, rhs, labels))
    pairs = [(sympy.Symbol(n), rhs[n]) for n in order]
    layouts = (d.constants, d.states, d.parameters, d.drivers, d.observables)
    return _core.ode_hash_system(pairs, *layouts, algorithm), order
