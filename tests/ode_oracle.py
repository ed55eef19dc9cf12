"""The SymPy-based text parser the project used before the Rust front end: the oracle.

Lines are read with Python's ``ast`` and built into unevaluated SymPy trees by
``cubie_hash.ode.expressions`` (which the package still uses to build the SymPy fields of a
text-parsed system lazily); the trees are then walked into the canonical form by
``sympy_walk``.  The text front end must give the same canonical form for every text this
accepts.
"""

from __future__ import annotations

import ast
from typing import Any

import sympy
from cubie_hash import _core
from cubie_hash.errors import EquationError
from cubie_hash.ode.declarations import declare
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
