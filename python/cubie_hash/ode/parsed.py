"""The parsed form of an ODE system: :class:`ParsedEquations`, frozen once built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from cubie_hash import _core

if TYPE_CHECKING:  # SymPy is only imported where expressions are built.
    import sympy

    from cubie_hash._core import CanonicalSystem

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
        canonical: the checked canonical form (a :class:`cubie_hash._core.CanonicalSystem`)
            that ``fn_hash``, ``canonical_text`` and generated code are computed from.
        ordered: every assignment (auxiliaries, observables, derivatives) as (Symbol, Expr),
            in a dependency-valid evaluation order (each symbol assigned before it is used;
            ties broken by name).  Like the three below, built with SymPy when first read
            (text is parsed without SymPy).
        state_derivatives: (``dX``, rhs) for every state ``X``, in declared state order.
        observables: (Symbol, Expr) for every declared observable, in declared order.
        auxiliaries: every other assignment, in evaluation order.
        states, parameters, drivers, observable_names: layouts (declaration order = array
            order in generated code).
        state_values, parameter_values: defaults given as dicts (else empty).
        constants: name -> value, embedded in generated code as literals.
        fn_hash: the canonical hash (``hash_system_definition`` of this system).
        prehash: the raw-input prehash when the system was parsed from text, else None;
            computed (in Rust) from ``raw_lines`` when first read.
        raw_lines: the equation text as given, when it was text, else None.
        sympy_inputs: left-hand side -> (Symbol or None, SymPy rhs or None) for the
            equations given as SymPy objects (kept as given).

    Example:
        >>> from cubie_hash.ode import parse_equations
        >>> p = parse_equations("dx = -k*x", states=["x"], parameters=["k"])
        >>> p.canonical.lhs
        ['dx']
        >>> [str(lhs) for lhs, _ in p.ordered]
        ['dx']
    """

    states: tuple[str, ...]
    parameters: tuple[str, ...]
    drivers: tuple[str, ...]
    observable_names: tuple[str, ...]
    state_values: Mapping[str, float] = field(default_factory=dict)
    parameter_values: Mapping[str, float] = field(default_factory=dict)
    constants: Mapping[str, float] = field(default_factory=dict)
    fn_hash: str = ""
    raw_lines: tuple[str, ...] | None = field(default=None, repr=False, compare=False)
    canonical: CanonicalSystem | None = field(default=None, compare=False)
    sympy_inputs: Mapping[str, tuple[Any, Any]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @cached_property
    def prehash(self) -> str | None:
        # Lazily: most parses never ask for it, and it reads all of the text again.
        if self.raw_lines is None:
            return None
        return _core.ode_prehash(
            list(self.raw_lines),
            self.states,
            self.parameters,
            self.drivers,
            self.observable_names,
            self.constants,
        )

    @cached_property
    def _pairs(self) -> dict[str, Pair]:
        import sympy

        from cubie_hash.ode.expressions import parse_expression

        assert self.canonical is not None, "built by parse_equations"
        pairs: dict[str, Pair] = {}
        canonical = self.canonical
        for lhs, text, label in zip(
            canonical.lhs, canonical.rhs_texts, canonical.labels, strict=True
        ):
            symbol, rhs = self.sympy_inputs.get(lhs, (None, None))
            if text is not None:
                rhs = parse_expression(text, label)
            elif not isinstance(rhs, sympy.Basic):
                rhs = sympy.sympify(rhs)
            pairs[lhs] = (symbol if symbol is not None else sympy.Symbol(lhs), rhs)
        return pairs

    @cached_property
    def ordered(self) -> tuple[Pair, ...]:
        return tuple(self._pairs.values())

    @cached_property
    def state_derivatives(self) -> tuple[Pair, ...]:
        return tuple(self._pairs[f"d{s}"] for s in self.states)

    @cached_property
    def observables(self) -> tuple[Pair, ...]:
        return tuple(self._pairs[o] for o in self.observable_names)

    @cached_property
    def auxiliaries(self) -> tuple[Pair, ...]:
        skip = {*(f"d{s}" for s in self.states), *self.observable_names}
        return tuple(pair for name, pair in self._pairs.items() if name not in skip)

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
