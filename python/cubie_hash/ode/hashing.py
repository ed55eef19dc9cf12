"""``hash_system_definition`` and ``canonical_text``: the canonical form, computed in Rust."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from cubie_hash import _core
from cubie_hash.integrations import cubie

if TYPE_CHECKING:
    from cubie_hash.ode.parsed import ParsedEquations

__all__ = ["canonical_text", "hash_system_definition"]


def hash_system_definition(
    equations: Any,
    *,
    constants: Mapping[str, Any] | None = None,
    states: Iterable[Any] = (),
    parameters: Iterable[Any] = (),
    drivers: Iterable[Any] = (),
    observables: Iterable[Any] = (),
    algorithm: str = "blake3",
) -> str:
    """Hash of the canonical form of a system: equations, constants with values, layouts.

    ``equations`` is anything with an ``ordered`` attribute holding (lhs, rhs) pairs (our
    :class:`ParsedEquations`), an iterable of (Symbol, Expr) pairs, or a CuBIE object
    (``ParsedSystem``, ``SpecialisedSystem``, IR pairs: see
    :mod:`cubie_hash.integrations.cubie`; a system's layouts then come from it).  Equations
    are sorted by left-hand-side name, so their order never matters; the order of
    ``states``, ``parameters``, ``drivers`` and ``observables`` is the array layout of
    generated code and does.  ``hash_system_definition(p, constants=p.constants,
    states=p.states, parameters=p.parameters, drivers=p.drivers,
    observables=p.observable_names) == p.fn_hash`` for a parsed system ``p``.

    Raises:
        EquationError: an unsupported function, a non-numeric constant, or two equations for
            one left-hand side.  AlgorithmError: unknown algorithm.

    Example:
        >>> import sympy as sp
        >>> x, k = sp.symbols("x k")
        >>> a = hash_system_definition([(sp.Symbol("dx"), -k * x)], states=["x"])
        >>> b = hash_system_definition([(sp.Symbol("dx"), sp.Mul(-1, x, k, evaluate=False))],
        ...                            states=["x"])
        >>> a == b
        True
    """
    if cubie.is_cubie_object(equations):
        return cubie.hash_system(
            equations,
            constants=constants,
            states=states,
            parameters=parameters,
            drivers=drivers,
            observables=observables,
            algorithm=algorithm,
        )
    canonical = getattr(equations, "canonical", None)
    if isinstance(canonical, _core.CanonicalSystem):  # already canonical: no SymPy needed
        return canonical.fn_hash_with(
            constants, states, parameters, drivers, observables, algorithm
        )
    pairs = getattr(equations, "ordered", equations)
    return _core.ode_hash_system(
        pairs, constants, states, parameters, drivers, observables, algorithm
    )


def canonical_text(parsed: ParsedEquations | Any) -> str:
    """Readable rendering of the canonical form ``parsed.fn_hash`` was computed from.

    One line per layout, constant and equation (sorted by name), expressions in SymPy-like
    function notation with arguments in canonical order: diff two renderings to see why two
    systems hash differently.  A CuBIE ``ParsedSystem`` or ``SpecialisedSystem`` renders
    the same way (see :mod:`cubie_hash.integrations.cubie`).

    Example:
        >>> from cubie_hash.ode import parse_equations
        >>> print(canonical_text(parse_equations("dx = -k*x", states=["x"], parameters=["k"])))
        cubie_hash/ode v2
        states: [x]
        parameters: [k]
        drivers: []
        observables: []
        dx = Mul(-1, k, x)
        <BLANKLINE>
    """
    if cubie.is_cubie_object(parsed):
        return cubie.canonical_text(parsed)
    if parsed.canonical is not None:
        return parsed.canonical.canonical_text()
    return _core.ode_canonical_text(
        parsed.ordered,
        parsed.constants,
        parsed.states,
        parsed.parameters,
        parsed.drivers,
        parsed.observable_names,
    )
