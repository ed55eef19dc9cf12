"""``parse_equations``: the front door from any input form to :class:`ParsedEquations`.

Text (a string, ``"lhs = rhs"`` strings, str pairs or a str dict, the str right-hand side of a
(Symbol, str) pair) is parsed in Rust, straight to the canonical form: no SymPy is imported.
SymPy input (``sympy.Eq``, pairs with SymPy right-hand sides) is walked into the same form.
The whole-system checks and the evaluation order are computed in Rust on the names either
front end reports (:class:`cubie_hash._core.CanonicalSystem`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from cubie_hash import _core
from cubie_hash.errors import EquationError, InputTypeError
from cubie_hash.integrations import cubie
from cubie_hash.ode.declarations import Declared, check_identifier, declare
from cubie_hash.ode.parsed import ParsedEquations
from cubie_hash.ode.raw import raw_lines

__all__ = ["TIME", "parse_equations"]

#: The independent variable: usable in every equation without being declared.
TIME = "t"

# What CanonicalSystem takes: a str (lines), or (lhs, rhs, label or None) with a str, SymPy
# or number rhs.
_Entry = Any


def _sympy() -> Any:
    """SymPy if something already imported it, else None: no object can be SymPy's then."""
    return sys.modules.get("sympy")


class _Given:
    """The equations given as SymPy (or with a SymPy left-hand side), by left-hand side."""

    def __init__(self) -> None:
        self.pairs: dict[str, tuple[Any, Any]] = {}

    def pair(self, lhs: Any, rhs: Any) -> _Entry:
        if isinstance(lhs, str):
            lhs = lhs.strip()  # whitespace never matters, in pairs as in lines
        name = check_identifier(getattr(lhs, "name", lhs), "left-hand side")
        sp = _sympy()
        symbol = lhs if sp is not None and isinstance(lhs, sp.Symbol) else None
        # No label: CanonicalSystem writes `lhs = rhs`, printing a SymPy rhs once (or a
        # placeholder where SymPy's recursive printer gives up on a deep tree).
        if isinstance(rhs, str):
            if symbol is not None:
                self.pairs[name] = (symbol, None)
            return (name, rhs, None)
        is_sympy = sp is not None and isinstance(rhs, sp.Basic)
        if not is_sympy and not (isinstance(rhs, (int, float)) and not isinstance(rhs, bool)):
            raise EquationError(
                f"equation {f'{name} = {rhs}'!r}: right-hand side {rhs!r} is not an expression"
            )
        self.pairs[name] = (symbol, rhs)
        return (name, rhs, None)


def _entries(dxdt: Any, given: _Given) -> str | list[_Entry]:
    """Every equation of any accepted input form, as CanonicalSystem entries."""
    if isinstance(dxdt, ParsedEquations):
        return _reentries(dxdt, given)
    if isinstance(dxdt, str):
        return dxdt
    items = dxdt.items() if isinstance(dxdt, Mapping) else dxdt
    if not isinstance(items, Iterable):
        raise InputTypeError(
            "equations must be text, a list of 'lhs = rhs' strings, sympy.Eq objects or "
            f"(lhs, rhs) pairs, a dict, or a ParsedEquations; got {type(dxdt).__name__}"
        )
    sp = _sympy()
    entries: list[_Entry] = []
    for item in items:
        if isinstance(item, str):
            entries.append(item)
        elif sp is not None and isinstance(item, sp.Eq):
            entries.append(given.pair(item.lhs, item.rhs))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            entries.append(given.pair(*item))
        else:
            raise EquationError(
                f"cannot read {item!r} as an equation: give 'lhs = rhs' strings, sympy.Eq, "
                "or (lhs, rhs) pairs"
            )
    return entries


def _reentries(parsed: ParsedEquations, given: _Given) -> list[_Entry]:
    """A parsed system's equations again: text as text, SymPy as SymPy."""
    canonical = parsed.canonical
    if canonical is None:
        return [given.pair(lhs, rhs) for lhs, rhs in parsed.ordered]
    entries: list[_Entry] = []
    for lhs, text, label in zip(canonical.lhs, canonical.rhs_texts, canonical.labels, strict=True):
        symbol, rhs = parsed.sympy_inputs.get(lhs, (None, None))
        if text is None:
            entries.append(given.pair(symbol if symbol is not None else lhs, rhs))
        else:
            if symbol is not None:
                given.pairs[lhs] = (symbol, None)
            entries.append((lhs, text, label))
    return entries


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
    used without being declared.  Text is parsed in Rust without importing SymPy; the SymPy
    fields of the result (``ordered``, …) are built from it when first read.

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
    if isinstance(dxdt, Iterator):
        dxdt = list(dxdt)  # read once: the parse and the raw text (prehash) both need it
    d = declare(states, parameters, constants, observables, drivers)
    given = _Given()
    canonical = _core.CanonicalSystem(
        _entries(dxdt, given), d.states, d.parameters, d.constants, d.drivers, d.observables
    )
    lines = raw_lines(dxdt) if not isinstance(dxdt, ParsedEquations) else None
    return ParsedEquations(
        states=d.states,
        parameters=d.parameters,
        drivers=d.drivers,
        observable_names=d.observables,
        state_values=d.state_values,
        parameter_values=d.parameter_values,
        constants=d.constants,
        fn_hash=canonical.fn_hash(algorithm),
        raw_lines=None if lines is None else tuple(lines),
        canonical=canonical,
        sympy_inputs=given.pairs,
    )
