"""A :class:`~cubie_hash.ode.ParsedEquations`'s identity outside cubie_hash: dask, joblib, pickle.

A parsed system is identified by its ``fn_hash``: :func:`token` is what
``dask.base.tokenize`` hashes, and :func:`reduction` is its pickle reduction, a re-parse of
its *canonical* data (the canonical trees sorted by name, layouts, values, constants), so
``joblib.hash`` (which hashes the pickle stream) gives one value for every input form of one
system, in every process and under any ``PYTHONHASHSEED``, and unpickling gives a system with
the same ``fn_hash`` (its equations in canonical form; ``prehash`` is not kept, as it names
the input form).

Example:
    >>> import pickle
    >>> from cubie_hash.ode import parse_equations
    >>> p = parse_equations("dx = -k*x", states=["x"], parameters=["k"])
    >>> pickle.loads(pickle.dumps(p)) == p
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cubie_hash import _core
from cubie_hash.errors import EquationError

if TYPE_CHECKING:
    from cubie_hash.ode.parsed import ParsedEquations

__all__ = ["reduction", "restore", "token"]

#: Version of the reduced data below; part of every pickle and joblib hash of a system.
REDUCTION_VERSION = 1


def token(parsed: ParsedEquations) -> tuple[str, str]:
    """What ``dask.base.tokenize`` hashes for ``parsed``: its type and ``fn_hash``.

    Example:
        >>> from cubie_hash.ode import parse_equations
        >>> token(parse_equations("dx = -x", states=["x"]))[0]
        'cubie_hash.ode.ParsedEquations'
    """
    return ("cubie_hash.ode.ParsedEquations", parsed.fn_hash)


def _values(names: tuple[str, ...], values: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple((n, values[n]) for n in names if n in values)


def _canonical(parsed: ParsedEquations) -> _core.CanonicalSystem:
    if parsed.canonical is None:
        raise EquationError("a ParsedEquations not built by parse_equations has no identity")
    return parsed.canonical


def reduction(parsed: ParsedEquations) -> tuple[Any, tuple[Any, ...]]:
    """``parsed.__reduce__()``: :func:`restore` and the canonical data it re-parses.

    Example:
        >>> from cubie_hash.ode import parse_equations
        >>> restore_fn, args = reduction(parse_equations("dx = -x", states=["x"]))
        >>> args[2]
        (('dx', ('mul', (('int', -1), ('sym', 'x')))),)
    """
    trees = tuple(_canonical(parsed).trees())
    return (
        restore,
        (
            REDUCTION_VERSION,
            parsed.fn_hash,
            trees,
            parsed.states,
            parsed.parameters,
            parsed.drivers,
            parsed.observable_names,
            _values(parsed.states, parsed.state_values),
            _values(parsed.parameters, parsed.parameter_values),
            tuple(sorted(parsed.constants.items())),
        ),
    )


def restore(
    version: int,
    fn_hash: str,
    trees: tuple[tuple[str, Any], ...],
    states: tuple[str, ...],
    parameters: tuple[str, ...],
    drivers: tuple[str, ...],
    observables: tuple[str, ...],
    state_values: tuple[tuple[str, Any], ...],
    parameter_values: tuple[tuple[str, Any], ...],
    constants: tuple[tuple[str, Any], ...],
) -> ParsedEquations:
    """Re-parse a system from :func:`reduction`'s data, checking it hashes to ``fn_hash``.

    Raises:
        EquationError: an unknown reduction version, or data that no longer hashes to
            ``fn_hash`` under any algorithm (corrupt, or from another format version).

    Example:
        >>> from cubie_hash.ode import parse_equations
        >>> p = parse_equations("dx = -x", states=["x"])
        >>> fn, args = reduction(p)
        >>> fn(*args).fn_hash == p.fn_hash
        True
    """
    import sympy

    from cubie_hash.ode.parsing import parse_equations
    from cubie_hash.ode.trees import to_sympy

    if version != REDUCTION_VERSION:
        raise EquationError(f"cannot restore a ParsedEquations reduced with version {version}")
    pairs = [(sympy.Symbol(name), to_sympy(tree)) for name, tree in trees]
    s_values, p_values = dict(state_values), dict(parameter_values)
    for algorithm in _core.ALGORITHMS:
        parsed = parse_equations(
            pairs,
            states={s: s_values[s] for s in states} if s_values else list(states),
            parameters={p: p_values[p] for p in parameters} if p_values else list(parameters),
            constants=dict(constants),
            observables=list(observables),
            drivers=list(drivers),
            algorithm=algorithm,
        )
        if parsed.fn_hash == fn_hash:
            return parsed
    raise EquationError(f"restored system does not hash to {fn_hash}: corrupt pickle data")
