"""The canonical form as a tree of ``(tag, payload)`` tuples, and SymPy built back from it.

:func:`canonical_trees` exports, from Rust, the very expressions ``fn_hash`` is computed from
(numbers folded and rounded once, arguments in canonical order); :func:`to_sympy` rebuilds
one as an *unevaluated* SymPy tree, so SymPy folds and reorders nothing and walking it again
gives the same canonical form (``fn_hash`` is a fixed point).  Consumers that rebuild the form
in their own terms (CuBIE's IR in :mod:`cubie_hash.integrations.cubie`, the pickle reduction
of :class:`~cubie_hash.ode.ParsedEquations`) read the same tuples.  Tags: ``int``, ``rat``
(``(p, q)``), ``float``, ``sym``, ``const``, ``add``, ``mul``, ``pow``, ``func`` (``(name,
args)``), ``piecewise``, ``rel`` (``(op, left, right)``), ``bool`` (``(op, args)``),
``truth``.

Example:
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> [(name, tree)] = canonical_trees([(sp.Symbol("dx"), -x / 2)])
    >>> name, tree
    ('dx', ('mul', (('rat', (-1, 2)), ('sym', 'x'))))
    >>> to_sympy(tree)
    -x/2
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sympy
from sympy.codegen import cfunctions

from cubie_hash import _core
from cubie_hash.errors import EquationError

__all__ = ["Tree", "canonical_trees", "to_sympy"]

#: One canonical node: ``(tag, payload)``.
Tree = tuple[str, Any]

_CONSTANTS = {
    "pi": sympy.pi,
    "E": sympy.E,
    "I": sympy.I,
    "oo": sympy.oo,
    "zoo": sympy.zoo,
    "nan": sympy.nan,
    "EulerGamma": sympy.EulerGamma,
    "GoldenRatio": sympy.GoldenRatio,
}
_RELATIONS = {"<": sympy.Lt, "<=": sympy.Le, "==": sympy.Eq, "!=": sympy.Ne}
_BOOLEANS = {"and": sympy.And, "or": sympy.Or, "not": sympy.Not, "xor": sympy.Xor}


def canonical_trees(equations: Iterable[Any]) -> list[tuple[str, Tree]]:
    """``[(name, tree), ...]`` of (lhs, SymPy rhs) pairs, sorted by name."""
    return _core.ode_canonical_trees(equations)


def _function(name: str) -> Callable[..., Any]:
    make = getattr(sympy, name, None) or getattr(cfunctions, name, None)
    if make is None:
        raise EquationError(f"canonical tree names an unknown function {name!r}")
    return make  # type: ignore[no-any-return]


def to_sympy(tree: Tree) -> Any:
    """The unevaluated SymPy expression of one canonical tree."""
    tag, payload = tree
    if tag == "int":
        return sympy.Integer(payload)
    if tag == "rat":
        return sympy.Rational(*payload)
    if tag == "float":
        return sympy.Float(payload)
    if tag == "sym":
        return sympy.Symbol(payload)
    if tag == "const":
        return _CONSTANTS[payload]
    if tag == "add":
        return sympy.Add(*map(to_sympy, payload), evaluate=False)
    if tag == "mul":
        return sympy.Mul(*map(to_sympy, payload), evaluate=False)
    if tag == "pow":
        return sympy.Pow(*map(to_sympy, payload), evaluate=False)
    if tag == "func":
        name, args = payload
        return _function(name)(*map(to_sympy, args), evaluate=False)
    if tag == "piecewise":
        pairs = [(to_sympy(v), to_sympy(c)) for v, c in payload]
        return sympy.Piecewise(*pairs, evaluate=False)
    if tag == "rel":
        op, left, right = payload
        return _RELATIONS[op](to_sympy(left), to_sympy(right), evaluate=False)
    if tag == "bool":
        op, args = payload
        return _BOOLEANS[op](*map(to_sympy, args), evaluate=False)
    if tag == "truth":
        return sympy.true if payload else sympy.false
    raise EquationError(f"unknown canonical tree tag {tag!r}")
