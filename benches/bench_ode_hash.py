"""hash_system_definition and prehash against CuBIE's str()-based hash, side by side.

Targets (issue 4): at least 50x faster than the reference on an already-parsed 340-equation
system; the raw-input prehash at least 100x faster than parse + hash.
Run with ``python benches/ratios.py benches/bench_ode_hash.py``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cubie_hash.ode import hash_system_definition, parse_equations, prehash
from cubie_hash.ode.examples import generated

SIZES = [3, 40, 340, 5000]
_PARSED: dict[int, Any] = {}


def parsed(n: int) -> Any:
    if n not in _PARSED:
        _PARSED[n] = parse_equations(**generated(n))
    return _PARSED[n]


def reference_hash(equations: Any, constants: dict[str, float]) -> str:
    """What CuBIE's hash_system_definition does: sort by lhs, str() each rhs, join, sha256."""
    pairs = sorted(equations, key=lambda pair: str(pair[0]))
    text = "|".join(f"{lhs}={rhs}" for lhs, rhs in pairs)
    text += "|" + "|".join(f"{k}={v}" for k, v in sorted(constants.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def mark(benchmark, group: str, impl: str) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = group
    benchmark.extra_info["impl"] = impl


@pytest.mark.parametrize("n", SIZES)
def test_hash_reference(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    p = parsed(n)
    mark(benchmark, f"hash parsed system: {n:>4} eqs", "reference")
    benchmark(reference_hash, p.ordered, dict(p.constants))


@pytest.mark.parametrize("n", SIZES)
def test_hash_ours(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    p = parsed(n)
    mark(benchmark, f"hash parsed system: {n:>4} eqs", "cubie_hash")
    result = benchmark(
        hash_system_definition,
        p,
        constants=p.constants,
        states=p.states,
        parameters=p.parameters,
        drivers=p.drivers,
        observables=p.observable_names,
    )
    assert result == p.fn_hash


@pytest.mark.parametrize("n", [40, 340])
def test_parse_and_hash(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    mark(benchmark, f"warm start: {n:>4} eqs (prehash vs parse+hash)", "reference")
    kwargs = generated(n)
    benchmark.pedantic(lambda: parse_equations(**kwargs), rounds=3, iterations=1)


@pytest.mark.parametrize("n", [40, 340])
def test_prehash(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    mark(benchmark, f"warm start: {n:>4} eqs (prehash vs parse+hash)", "cubie_hash")
    kwargs = generated(n)
    benchmark(lambda: prehash(**kwargs))
