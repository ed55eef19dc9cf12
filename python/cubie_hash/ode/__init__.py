"""Canonical hashing of ODE systems: one hash for one system, whatever form it came in.

Public surface (imported lazily: ``import cubie_hash.ode``, :func:`prehash` and
:func:`parse_equations` of text do not import SymPy, so warm starts skip it)::

    from cubie_hash.ode import (
        parse_equations, ParsedEquations, hash_system_definition, prehash, canonical_text,
    )

* :func:`parse_equations` reads a multi-line string, ``"lhs = rhs"`` strings, ``sympy.Eq``,
  (lhs, rhs) pairs or a dict, checks the system and returns a frozen :class:`ParsedEquations`
  whose ``fn_hash`` is computed once, after parsing.
* :func:`hash_system_definition` hashes the canonical form: a versioned, typed,
  length-prefixed byte encoding built in Rust, from text by the Rust front end and from
  SymPy trees by walking them (never printing them).  Equation order, whitespace, input
  form, dict order of equations and constants, and ``PYTHONHASHSEED`` do not change it;
  any equation, constant value or layout change does.
* :func:`canonical_text` renders the same canonical form readably, for diffing cache misses.
* :func:`prehash` keys raw text input without SymPy, so a cache can skip parsing on a hit.

Canonical format version 2 (``cubie_hash._core.ODE_FORMAT_VERSION``): see
``docs/canonical-format.md`` for the byte layout and the normalisation rules (flattening,
exact folding of numbers with one rounding to double, merging like terms and powers,
distributing a numeric coefficient over a lone sum factor, ordering commutative arguments by
their encodings), which make importer-built unevaluated trees hash like the typed strings.

Example:
    >>> import sympy as sp
    >>> from cubie_hash.ode import parse_equations
    >>> text = parse_equations("dx = 0.001*(-a - b)/C", states=["x"], parameters=["a", "b", "C"])
    >>> a, b, C = sp.symbols("a b C")
    >>> tree = sp.Mul(sp.Float(0.001), sp.Pow(C, -1), sp.Add(-a, -b), evaluate=False)
    >>> parse_equations([(sp.Symbol("dx"), tree)], states=["x"],
    ...                 parameters=["a", "b", "C"]).fn_hash == text.fn_hash
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cubie_hash.ode.hashing import canonical_text, hash_system_definition
    from cubie_hash.ode.parsed import ParsedEquations
    from cubie_hash.ode.parsing import parse_equations
    from cubie_hash.ode.raw import prehash

__all__ = [
    "ParsedEquations",
    "canonical_text",
    "hash_system_definition",
    "parse_equations",
    "prehash",
]

_HOMES = {
    "ParsedEquations": "cubie_hash.ode.parsed",
    "canonical_text": "cubie_hash.ode.hashing",
    "hash_system_definition": "cubie_hash.ode.hashing",
    "parse_equations": "cubie_hash.ode.parsing",
    "prehash": "cubie_hash.ode.raw",
}


def __getattr__(name: str) -> Any:
    # Lazy: only SymPy input (and the SymPy fields of a parsed system) needs SymPy, and
    # importing it costs ~0.5 s.
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'cubie_hash.ode' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)
