"""Declared names (states, parameters, constants, drivers, observables), as given by users.

Shared by the parser and the raw-input prehash, so both read declarations the same way.  No
SymPy here: the prehash must not import it.

Names are NFKC-normalised here, once, as Python normalises identifiers in source code: ``ℌ``
and ``H`` (or ``µ`` U+00B5 and ``μ`` U+03BC) are one variable in generated code, so they are
one name everywhere, and declaring both is refused.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from cubie_hash import _core
from cubie_hash.errors import EquationError, InputTypeError

__all__ = ["Declarations", "check_identifier", "constant_value", "declare"]

Declared = Mapping[str, Any] | Iterable[Any] | None


def check_identifier(name: str, what: str) -> str:
    """Return the NFKC form of ``name`` if it is a Python identifier (not a keyword), else raise.

    Example:
        >>> check_identifier("ℌ", "state")
        'H'
    """
    return _core.ode_identifier(name, what)


class _Layout(NamedTuple):
    """One kind of declaration as given: its items, their checked names, the values given."""

    items: list[Any]
    names: tuple[str, ...]
    values: list[Any] | None


def _split(declared: Declared, what: str) -> _Layout:
    """A dict, a list or None, its names checked in Rust: a whole layout per call, since the
    names of a declaration are most of the work of reading it, on every parse."""
    if declared is None:
        return _Layout([], (), None)
    if isinstance(declared, str):
        raise EquationError(
            f"{what}s must be a list of names or a dict, got the string {declared!r}"
        )
    if isinstance(declared, Mapping):
        pairs = list(declared.items())
        items = [k for k, _ in pairs]
        return _Layout(items, _core.ode_identifiers(items, what), [v for _, v in pairs])
    if not isinstance(declared, Iterable):
        raise InputTypeError(
            f"{what}s must be a list of names or a dict, got {type(declared).__name__}"
        )
    items = list(declared)
    return _Layout(items, _core.ode_identifiers(items, what), None)


def _refuse_twice(layouts: dict[str, _Layout]) -> None:
    """Raise for the first name declared twice (by its normal form), naming both spellings."""
    seen: dict[str, tuple[str, str]] = {}
    for what, layout in layouts.items():
        for item, name in zip(layout.items, layout.names, strict=True):
            spelling = getattr(item, "name", item)
            if name in seen:
                first_what, first = seen[name]
                spellings = "" if first == spelling else f" (spelled {first!r} and {spelling!r})"
                raise EquationError(
                    f"{name!r} is declared twice{spellings}: as {first_what} and as {what}"
                )
            seen[name] = (what, spelling)


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
    given = {
        "state": states,
        "parameter": parameters,
        "constant": constants,
        "observable": observables,
        "driver": drivers,
    }
    layouts = {what: _split(declared, what) for what, declared in given.items()}
    every = [name for layout in layouts.values() for name in layout.names]
    if len(set(every)) != len(every):
        _refuse_twice(layouts)

    def values(what: str) -> dict[str, Any]:
        layout = layouts[what]
        return {} if layout.values is None else dict(zip(layout.names, layout.values, strict=True))

    if isinstance(constants, Mapping):
        c_values = {n: constant_value(n, v) for n, v in values("constant").items()}
    else:
        c_values = dict.fromkeys(layouts["constant"].names, 0.0)
    return Declarations(
        layouts["state"].names,
        layouts["parameter"].names,
        layouts["driver"].names,
        layouts["observable"].names,
        values("state"),
        values("parameter"),
        c_values,
    )
