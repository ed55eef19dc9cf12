"""``parse_equations``: the front door from any input form to :class:`ParsedEquations`."""

from __future__ import annotations

import ast
import heapq
from collections.abc import Iterable, Mapping
from typing import Any

import sympy

from cubie_hash.errors import EquationError, InputTypeError
from cubie_hash.integrations import cubie
from cubie_hash.ode.declarations import Declarations, Declared, check_identifier, declare
from cubie_hash.ode.expressions import parse_expression
from cubie_hash.ode.hashing import hash_system_definition
from cubie_hash.ode.parsed import ParsedEquations
from cubie_hash.ode.raw import prehash as raw_prehash
from cubie_hash.ode.raw import raw_lines

__all__ = ["TIME", "parse_equations"]

#: The independent variable: usable in every equation without being declared.
TIME = "t"

# (left-hand-side name, left-hand-side symbol or None, right-hand side, label for errors)
_Item = tuple[str, Any, Any, str]


def _lines(text: str) -> Iterable[_Item]:
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
        yield body[0].targets[0].id, None, body[0].value, label


def _pair(lhs: Any, rhs: Any) -> _Item:
    if isinstance(lhs, str):
        lhs = lhs.strip()  # whitespace never matters, in pairs as in lines
    name = check_identifier(getattr(lhs, "name", lhs), "left-hand side")
    symbol = lhs if isinstance(lhs, sympy.Symbol) else None
    return name, symbol, rhs, f"{name} = {rhs}"


def _items(dxdt: Any) -> Iterable[_Item]:
    """Every equation of any accepted input form, as (name, symbol, rhs, label)."""
    if isinstance(dxdt, ParsedEquations):
        dxdt = dxdt.ordered
    if isinstance(dxdt, str):
        yield from _lines(dxdt)
        return
    items = dxdt.items() if isinstance(dxdt, Mapping) else dxdt
    if not isinstance(items, Iterable):
        raise InputTypeError(
            "equations must be text, a list of 'lhs = rhs' strings, sympy.Eq objects or "
            f"(lhs, rhs) pairs, a dict, or a ParsedEquations; got {type(dxdt).__name__}"
        )
    for item in items:
        if isinstance(item, str):
            yield from _lines(item)
        elif isinstance(item, sympy.Eq):
            yield _pair(item.lhs, item.rhs)
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            yield _pair(*item)
        else:
            raise EquationError(
                f"cannot read {item!r} as an equation: give 'lhs = rhs' strings, sympy.Eq, "
                "or (lhs, rhs) pairs"
            )


def _rhs(rhs: Any, label: str) -> Any:
    if isinstance(rhs, (str, ast.expr)):
        return parse_expression(rhs, label)
    if isinstance(rhs, sympy.Basic):
        return rhs
    if isinstance(rhs, (int, float)) and not isinstance(rhs, bool):
        return sympy.sympify(rhs)
    raise EquationError(f"equation {label!r}: right-hand side {rhs!r} is not an expression")


def _order(rhs: dict[str, Any], deps: dict[str, set[str]]) -> list[str]:
    """Assignments in dependency order, ties by name; a cycle is an error."""
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
    """Validate the system's names; return each assignment's dependencies on other ones."""
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
    known = fixed | set(rhs) | {TIME}
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


def parse_equations(
    dxdt: Any,
    *,
    states: Declared = None,
    parameters: Declared = None,
    constants: Declared = None,
    observables: Declared = None,
    drivers: Declared = None,
    algorithm: str = "blake3",
) -> ParsedEquations:
    """Parse a system given in any supported form and hash it once.

    ``dxdt`` is a multi-line string, a list of ``"lhs = rhs"`` strings, a list of
    ``sympy.Eq``, a list or dict of (lhs, rhs) pairs (strings or SymPy), or a
    :class:`ParsedEquations`, or a CuBIE system (``ParsedSystem``, ``SpecialisedSystem``,
    IR pairs; its declarations come from it: see :mod:`cubie_hash.integrations.cubie`).
    ``dX`` on the left is the derivative of declared state ``X``;
    other left-hand sides are observables (if declared so) or auxiliaries.  ``states``,
    ``parameters`` and ``constants`` take a dict of name -> value or a list of names (list
    constants are 0.0); ``observables`` and ``drivers`` a list of names.  ``t`` (time) may be
    used without being declared.

    Raises:
        EquationError: naming the equation and the problem: a syntax error, an unknown
            function, an undeclared symbol, a state with no derivative, a derivative of an
            undeclared state, two assignments to one symbol, a cycle, a non-identifier name.

    Example:
        >>> import sympy as sp
        >>> a = parse_equations("dx = -k*x", states=["x"], parameters=["k"])
        >>> x, k = sp.symbols("x k")
        >>> b = parse_equations([sp.Eq(sp.Symbol("dx"), -k * x)], states=["x"], parameters=["k"])
        >>> a.fn_hash == b.fn_hash
        True
    """
    if cubie.is_cubie_object(dxdt):
        return cubie.parse(
            dxdt,
            states=states,
            parameters=parameters,
            constants=constants,
            observables=observables,
            drivers=drivers,
            algorithm=algorithm,
        )
    if states is None:
        raise InputTypeError("parse_equations() needs states= (a list of names or a dict)")
    d = declare(states, parameters, constants, observables, drivers)
    rhs: dict[str, Any] = {}
    labels: dict[str, str] = {}
    symbols: dict[str, Any] = {}
    for name, symbol, value, label in _items(dxdt):
        if name in rhs:
            raise EquationError(f"{name} is assigned twice: {labels[name]!r} and {label!r}")
        labels[name] = label
        rhs[name] = _rhs(value, label)
        symbols[name] = symbol if symbol is not None else sympy.Symbol(name)
    deps = _check_names(d, rhs, labels)
    order = _order(rhs, deps)
    pair = {n: (symbols[n], rhs[n]) for n in rhs}
    derivative_names = {f"d{s}" for s in d.states}
    ordered = tuple(pair[n] for n in order)
    fn_hash = hash_system_definition(
        ordered,
        constants=d.constants,
        states=d.states,
        parameters=d.parameters,
        drivers=d.drivers,
        observables=d.observables,
        algorithm=algorithm,
    )
    lines = raw_lines(dxdt) if not isinstance(dxdt, ParsedEquations) else None
    return ParsedEquations(
        ordered=ordered,
        state_derivatives=tuple(pair[f"d{s}"] for s in d.states),
        observables=tuple(pair[o] for o in d.observables),
        auxiliaries=tuple(
            pair[n] for n in order if n not in derivative_names and n not in d.observables
        ),
        states=d.states,
        parameters=d.parameters,
        drivers=d.drivers,
        observable_names=d.observables,
        state_values=d.state_values,
        parameter_values=d.parameter_values,
        constants=d.constants,
        fn_hash=fn_hash,
        prehash=None
        if lines is None
        else raw_prehash(
            lines,
            states=d.states,
            parameters=d.parameters,
            constants=d.constants,
            observables=d.observables,
            drivers=d.drivers,
        ),
    )
