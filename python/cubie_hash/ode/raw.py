"""``prehash``: a warm-start key computed from raw equation text, without SymPy (module `raw`,
not `prehash`, so that it does not shadow the function on the package)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cubie_hash import _core
from cubie_hash.errors import InputTypeError
from cubie_hash.ode.declarations import Declared, declare

__all__ = ["prehash", "raw_lines"]


def raw_lines(dxdt: Any) -> list[str] | None:
    """The equation text of raw input (a string, strings, or str pairs), else None."""
    if isinstance(dxdt, str):
        return [dxdt]
    items: Any = dxdt.items() if isinstance(dxdt, Mapping) else dxdt
    try:
        items = list(items)
    except TypeError:
        return None
    lines = []
    for item in items:
        if isinstance(item, str):
            lines.append(item)
        elif (
            isinstance(item, (tuple, list))
            and len(item) == 2
            and all(isinstance(side, str) for side in item)
        ):
            lines.append(f"{item[0]} = {item[1]}")
        else:
            return None
    return lines


def prehash(
    dxdt: Any,
    *,
    states: Declared,
    parameters: Declared = None,
    constants: Declared = None,
    observables: Declared = None,
    drivers: Declared = None,
) -> str:
    """BLAKE3 key of raw input, for mapping raw input -> ``fn_hash`` without parsing.

    Takes what :func:`parse_equations` takes, as text: a multi-line string, a list of
    ``"lhs = rhs"`` strings, or (str, str) pairs / a str -> str dict.  Whitespace, comments,
    blank lines and equation order do not matter; layouts and constant values do.  Equal
    prehashes imply equal ``fn_hash``; the converse does not hold (``x+y`` vs ``y+x``).
    Computed in Rust; SymPy is not imported.

    Raises:
        InputTypeError: input that is not text (SymPy objects need parsing anyway).
        EquationError: a declared name that is not an identifier, or declared twice.

    Example:
        >>> prehash("dx = -k*x", states=["x"], parameters=["k"]) == prehash(
        ...     "  dx=-k *x  # decay", states=["x"], parameters=["k"])
        True
    """
    lines = raw_lines(dxdt)
    if lines is None:
        raise InputTypeError(
            "prehash takes raw text: a string, a list of 'lhs = rhs' strings, or (str, str) "
            f"pairs; got {type(dxdt).__name__} holding other objects"
        )
    d = declare(states, parameters, constants, observables, drivers)
    return _core.ode_prehash(lines, d.states, d.parameters, d.drivers, d.observables, d.constants)
