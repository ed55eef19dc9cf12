"""``load_system``: from raw equations to compiled functions, skipping all work already done.

The warm path never imports SymPy: the raw-input prehash (computed in Rust) is looked up in the
cache's index, and a hit loads the compiled module straight away.  The index is only a hint:
its record counts when the entry it names lists that prehash too; otherwise the input is parsed
and the record rewritten.  Only on a miss is the system
parsed, hashed canonically and — if no other raw form of the same system was compiled before —
generated and compiled.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from cubie_hash.codegen.cache import CodegenCache, CompiledSystem
from cubie_hash.codegen.source import Variant
from cubie_hash.errors import InputTypeError

__all__ = ["load_system"]


def load_system(
    dxdt: Any,
    *,
    states: Sequence[str] | Mapping[str, float],
    parameters: Sequence[str] | Mapping[str, float] | None = None,
    constants: Sequence[str] | Mapping[str, float] | None = None,
    observables: Sequence[str] | None = None,
    drivers: Sequence[str] | None = None,
    target: str = "cpu",
    precision: str = "float64",
    cache: CodegenCache | None = None,
) -> CompiledSystem:
    """Compiled functions for an ODE system given as raw equations (strings, SymPy, pairs).

    The returned object's ``event`` says whether it was a cache ``hit`` or ``miss`` and why;
    ``event.parsed`` tells whether SymPy parsing was needed at all.

    Example:
        >>> lorenz = load_system(
        ...     ["dx = sigma*(y - x)", "dy = x*(rho - z) - y", "dz = x*y - beta*z"],
        ...     states=["x", "y", "z"], parameters=["sigma", "rho", "beta"],
        ... )  # doctest: +SKIP
        >>> lorenz.event.kind, lorenz.states  # doctest: +SKIP
        ('miss', ('x', 'y', 'z'))
    """
    from cubie_hash.ode import prehash

    started = time.perf_counter()
    if isinstance(dxdt, Iterator):
        dxdt = list(dxdt)  # read once: the prehash and the parse both need it
    variant = Variant(target, precision)
    cache = cache if cache is not None else CodegenCache()
    declared: dict[str, Any] = {
        "states": states,
        "parameters": parameters,
        "constants": constants,
        "observables": observables,
        "drivers": drivers,
    }
    try:
        key: str | None = prehash(dxdt, **declared)
    except InputTypeError:
        key = None  # SymPy objects or pairs: no raw text to key on, so always parse
    fn_hash = cache.lookup_prehash(key) if key is not None else None
    if fn_hash is not None:
        compiled = cache.load_hash(fn_hash, variant)
        if compiled is not None:
            return _restamp(cache, compiled, started, "prehash index: parsing skipped; ")
    from cubie_hash.ode import parse_equations

    system = parse_equations(dxdt, **declared)
    compiled = _restamp(cache, cache.load(system, variant, parsed=True), started, "")
    if key is not None:
        # Recorded once the entry exists: the entry's own list of prehashes is what makes the
        # index record count (a record alone, forged or corrupt, is never trusted).
        cache.record_prehash(key, system.fn_hash)
    return compiled


def _restamp(
    cache: CodegenCache, compiled: CompiledSystem, started: float, prefix: str
) -> CompiledSystem:
    """Credit the whole call (prehash + lookup + load) to the event, and say how it hit."""
    old = compiled.event
    event = dataclasses.replace(
        old, reason=prefix + old.reason, seconds=time.perf_counter() - started
    )
    cache.events[-1] = event
    compiled.event = event
    return compiled
