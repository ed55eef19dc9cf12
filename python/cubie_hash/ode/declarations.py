"""Declared names (states, parameters, constants, drivers, observables), as given by users.

Shared by the parser and the raw-input prehash, so both read declarations the same way.  No
SymPy here: the prehash must not import it.
"""

from __future__ import annotations

import keyword
import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cubie_hash.errors import EquationError, InputTypeError

__all__ = ["Declarations", "check_identifier", "constant_value", "declare"]

Declared = Mapping[str, Any] | Iterable[Any] | None


def check_identifier(name: str, what: str) -> str:
    """Return ``name`` if it is a Python identifier (and not a keyword), else raise."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise EquationError(f"{what} name {name!r} is not an identifier")
    return name


def _name(item: Any, what: str) -> str:
    return check_identifier(getattr(item, "name", item), what)


def _split(declared: Declared, what: str) -> tuple[tuple[str, ...], dict[str, Any]]:
    """(names in declaration order, values given) for a dict, a list of names or None."""
    if declared is None:
        return (), {}
    if isinstance(declared, str):
        raise EquationError(
            f"{what}s must be a list of names or a dict, got the string {declared!r}"
        )
    if isinstance(declared, Mapping):
        values = {_name(k, what): v for k, v in declared.items()}
        return tuple(values), values
    if not isinstance(declared, Iterable):
        raise InputTypeError(
            f"{what}s must be a list of names or a dict, got {type(declared).__name__}"
        )
    names = tuple(_name(item, what) for item in declared)
    return names, {}


def constant_value(name: str, value: Any) -> int | float:
    """A constant's value as an exact ``int`` (any integer type) or a ``float``.

    Normalising here means the parser, the hash and the prehash all see the same two kinds.
    """
    if isinstance(value, bool):
        raise EquationError(f"constant {name} must be a number, got {value!r}")
    if isinstance(value, int):
        return value
    if hasattr(value, "__index__") and not isinstance(value, float):
        return operator.index(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise EquationError(f"constant {name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise EquationError(f"constant {name} must be finite, got {value!r}")
    return number


@dataclass(frozen=True)
class Declarations:
    """Every declared name, in layout order, with the values given for them."""

    states: tuple[str, ...]
    parameters: tuple[str, ...]
    drivers: tuple[str, ...]
    observables: tuple[str, ...]
    state_values: dict[str, Any]
    parameter_values: dict[str, Any]
    constants: dict[str, int | float]


def declare(
    states: Declared,
    parameters: Declared = None,
    constants: Declared = None,
    observables: Declared = None,
    drivers: Declared = None,
) -> Declarations:
    """Read the declarations, refusing non-identifiers and a name declared twice.

    Constants given as a list of names get the value 0.0.
    """
    s_names, s_values = _split(states, "state")
    p_names, p_values = _split(parameters, "parameter")
    c_names, c_values = _split(constants, "constant")
    o_names, _ = _split(observables, "observable")
    d_names, _ = _split(drivers, "driver")
    if isinstance(constants, Mapping):
        c_values = {n: constant_value(n, v) for n, v in c_values.items()}
    else:
        c_values = dict.fromkeys(c_names, 0.0)
    seen: dict[str, str] = {}
    for what, names in (
        ("state", s_names),
        ("parameter", p_names),
        ("constant", c_names),
        ("observable", o_names),
        ("driver", d_names),
    ):
        for n in names:
            if n in seen:
                raise EquationError(f"{n!r} is declared twice (as {seen[n]} and as {what})")
            seen[n] = what
    return Declarations(s_names, p_names, d_names, o_names, s_values, p_values, c_values)
