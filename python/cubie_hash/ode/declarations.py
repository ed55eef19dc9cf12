"""Declared names (states, parameters, constants, drivers, observables), as given by users.

Shared by the parser and the raw-input prehash, so both read declarations the same way.  No
SymPy here: the prehash must not import it.

Names are NFKC-normalised here, once, as Python normalises identifiers in source code: ``ℌ``
and ``H`` (or ``µ`` U+00B5 and ``μ`` U+03BC) are one variable in generated code, so they are
one name everywhere, and declaring both is refused.  The names are read and checked in Rust
(``_core.ode_declare``, ``rust/ode/names.rs``), which uses Python's own ``str.isidentifier``,
``unicodedata`` and ``keyword.kwlist`` wherever ASCII rules do not decide.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cubie_hash import _core
from cubie_hash.errors import EquationError

__all__ = ["Declarations", "check_identifier", "constant_value", "declare"]

Declared = Mapping[str, Any] | Iterable[Any] | None


def check_identifier(name: str, what: str) -> str:
    """Return the NFKC form of ``name`` if it is a Python identifier (not a keyword), else raise.

    Example:
        >>> check_identifier("ℌ", "state")
        'H'
    """
    return _core.ode_identifier(name, what)


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
    # Read and checked in Rust, in one call: the names of a declaration are most of the work
    # of reading it, and it is read on every parse.
    (s_names, s_values), (p_names, p_values), (c_names, c_values), (o_names, _), (d_names, _) = (
        _core.ode_declare(states, parameters, constants, observables, drivers)
    )
    return Declarations(
        s_names,
        p_names,
        d_names,
        o_names,
        {} if s_values is None else dict(zip(s_names, s_values, strict=True)),
        {} if p_values is None else dict(zip(p_names, p_values, strict=True)),
        dict.fromkeys(c_names, 0.0)
        if c_values is None
        else {n: constant_value(n, v) for n, v in zip(c_names, c_values, strict=True)},
    )
