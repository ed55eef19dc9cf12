"""The parsed form of an ODE system: :class:`ParsedEquations`, frozen once built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # SymPy is only imported where expressions are built.
    import sympy

    Pair = tuple[sympy.Symbol, sympy.Expr]
else:
    Pair = tuple[Any, Any]

__all__ = ["ParsedEquations"]


@dataclass(frozen=True)
class ParsedEquations:
    """A parsed system: its assignments in evaluation order, its layouts and its hash.

    Built by :func:`cubie_hash.ode.parse_equations`; never mutated afterwards, so ``fn_hash``
    (computed once, after parsing) always describes the object that carries it.

    Attributes:
        ordered: every assignment (auxiliaries, observables, derivatives) as (Symbol, Expr),
            in a dependency-valid evaluation order (each symbol assigned before it is used;
            ties broken by name).
        state_derivatives: (``dX``, rhs) for every state ``X``, in declared state order.
        observables: (Symbol, Expr) for every declared observable, in declared order.
        auxiliaries: every other assignment, in evaluation order.
        states, parameters, drivers, observable_names: layouts (declaration order = array
            order in generated code).
        state_values, parameter_values: defaults given as dicts (else empty).
        constants: name -> value, embedded in generated code as literals.
        fn_hash: the canonical hash (``hash_system_definition`` of this system).
        prehash: the raw-input prehash when the system was parsed from text, else None.

    Example:
        >>> from cubie_hash.ode import parse_equations
        >>> p = parse_equations("dx = -k*x", states=["x"], parameters=["k"])
        >>> [str(lhs) for lhs, _ in p.ordered]
        ['dx']
    """

    ordered: tuple[Pair, ...]
    state_derivatives: tuple[Pair, ...]
    observables: tuple[Pair, ...]
    auxiliaries: tuple[Pair, ...]
    states: tuple[str, ...]
    parameters: tuple[str, ...]
    drivers: tuple[str, ...]
    observable_names: tuple[str, ...]
    state_values: Mapping[str, float] = field(default_factory=dict)
    parameter_values: Mapping[str, float] = field(default_factory=dict)
    constants: Mapping[str, float] = field(default_factory=dict)
    fn_hash: str = ""
    prehash: str | None = None

    # Identity: one system is one fn_hash, whatever form it was parsed from.

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParsedEquations):
            return NotImplemented
        return self.fn_hash == other.fn_hash

    def __hash__(self) -> int:
        return hash(self.fn_hash)

    def __dask_tokenize__(self) -> tuple[str, str]:
        from cubie_hash.ode.identity import token

        return token(self)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # A re-parse of the canonical data, so the pickle stream (what joblib.hash hashes)
        # is the same for every input form of one system.
        from cubie_hash.ode.identity import reduction

        return reduction(self)
