"""Declared names (states, parameters, constants, drivers, observables), as given by users.

Shared by the parser and the raw-input prehash, so both read declarations the same way.  No
SymPy here: the prehash must not import it.

Names are NFKC-normalised here, once, as Python normalises identifiers in source code: ``ℌ``
and ``H`` (or ``µ`` U+00B5 and ``μ`` U+03BC) are one variable in generated code, so they are
one name everywhere, and declaring both is refused.
"""

from __future__ import annotations

import keyword
import math
import operator
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cubie_hash.errors import EquationError, InputTypeError

__all__ = ["Declarations", "check_identifier", "constant_value", "declare"]

Declared = Mapping[str, Any] | Iterable[Any] | None


def check_identifier(name: str, what: str) -> str:
    """Return the NFKC form of ``name`` if it is a Python identifier (not a keyword), else raise.

    Example:
        >>> check_identifier("ℌ", "state")
        'H'
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise EquationError(f"{what} name {name!r} is not an identifier")
    normal = unicodedata.normalize("NFKC", name)
    if keyword.iskeyword(normal):
        raise EquationError(f"{what} name {name!r} is not an identifier")
    return normal


def _name(item: Any, what: str) -> tuple[str, str]:
    """(normalised name, spelling given) of a declared item."""
    spelling = getattr(item, "name", item)
    return check_identifier(spelling, what), spelling


def _split(declared: Declared, what: str) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """((name, spelling) in declaration order, values given) for a dict, a list or None."""
    if declared is None:
        return [], {}
    if isinstance(declared, str):
        raise EquationError(
            f"{what}s must be a list of names or a dict, got the string {declared!r}"
        )
    if isinstance(declared, Mapping):
        named = [(_name(k, what), v) for k, v in declared.items()]
        return [n for n, _ in named], {n[0]: v for n, v in named}
    if not isinstance(declared, Iterable):
        raise InputTypeError(
            f"{what}s must be a list of names or a dict, got {type(declared).__name__}"
        )
    return [_name(item, what) for item in declared], {}


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

    Names are NFKC-normalised (as Python does for identifiers); two spellings of one
    normalised name are a name declared twice.  Constants given as a list of names get the
    value 0.0.

    Example:
        >>> declare(["µ"], parameters=["k"]).states
        ('μ',)
    """
    declared = {
        "state": _split(states, "state"),
        "parameter": _split(parameters, "parameter"),
        "constant": _split(constants, "constant"),
        "observable": _split(observables, "observable"),
        "driver": _split(drivers, "driver"),
    }
    seen: dict[str, tuple[str, str]] = {}
    for what, (named, _) in declared.items():
        for name, spelling in named:
            if name in seen:
                first_what, first = seen[name]
                spellings = "" if first == spelling else f" (spelled {first!r} and {spelling!r})"
                raise EquationError(
                    f"{name!r} is declared twice{spellings}: as {first_what} and as {what}"
                )
            seen[name] = (what, spelling)
    names = {what: tuple(n for n, _ in named) for what, (named, _) in declared.items()}
    c_values = declared["constant"][1]
    if isinstance(constants, Mapping):
        c_values = {n: constant_value(n, v) for n, v in c_values.items()}
    else:
        c_values = dict.fromkeys(names["constant"], 0.0)
    return Declarations(
        names["state"],
        names["parameter"],
        names["driver"],
        names["observable"],
        declared["state"][1],
        declared["parameter"][1],
        c_values,
    )
