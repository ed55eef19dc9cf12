"""Text -> fn_hash: the Rust text front end against SymPy-based parsers, side by side.

Target (issue 9): at least 100x faster than the SymPy-based ``parse_equations`` (kept as the
oracle in ``tests/ode_oracle.py``) and than CuBIE 0.17's ``parse_system(...).definition_hash``
on a 340-equation system.  SymPy is imported (warm) for the references, its expression cache
cleared before each round; the text path never imports it.
Run with ``python benches/ratios.py benches/bench_ode_text.py``.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cubie_hash.ode import parse_equations
from cubie_hash.ode.examples import generated

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from ode_oracle import oracle_parse  # noqa: E402

SIZES = [40, 340]


def mark(benchmark, group: str, impl: str) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = group
    benchmark.extra_info["impl"] = impl


def ours(kwargs: dict[str, Any]) -> str:
    return parse_equations(**kwargs).fn_hash


@pytest.mark.parametrize("n", SIZES)
def test_text_sympy_reference(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    kwargs = generated(n)
    mark(benchmark, f"text -> fn_hash: {n:>3} eqs (vs SymPy-based parse_equations)", "reference")
    from sympy.core.cache import clear_cache

    # Each round parses the system as a new one: SymPy's cache would otherwise remember the
    # trees of the previous round (the text front end keeps nothing between calls).
    result = benchmark.pedantic(
        oracle_parse, args=(kwargs,), setup=clear_cache, rounds=7, iterations=1
    )
    assert result[0] == ours(kwargs)


@pytest.mark.parametrize("n", SIZES)
def test_text_ours(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    kwargs = generated(n)
    mark(benchmark, f"text -> fn_hash: {n:>3} eqs (vs SymPy-based parse_equations)", "cubie_hash")
    benchmark(ours, kwargs)


#: Pairs of (one reference parse, then a batch of ours) timed in turn.
PAIRS = 15
BATCH = 20


def in_turn(kwargs: dict[str, Any]) -> dict[str, float]:
    """Medians of both sides and of their per-pair ratios, timed in turn.

    The groups above time each side in a stretch of its own.  This machine's speed changes
    from one second to the next (the same loop ran at ~560 µs and ~950 µs in consecutive
    half-second runs), and the phases need not slow both sides alike, so a ratio of two
    stretches can move by a factor of two.  Timed in turn, each pair sees one phase.
    """
    from sympy.core.cache import clear_cache

    ours(kwargs)
    refs, mine = [], []
    for _ in range(PAIRS):
        clear_cache()
        start = time.perf_counter()
        oracle_parse(kwargs)
        refs.append(time.perf_counter() - start)
        batch = []
        for _ in range(BATCH):
            start = time.perf_counter()
            ours(kwargs)
            batch.append(time.perf_counter() - start)
        mine.append(statistics.median(batch))
    return {
        "reference_s": statistics.median(refs),
        "cubie_hash_s": statistics.median(mine),
        "ratio": statistics.median(r / m for r, m in zip(refs, mine, strict=True)),
    }


def test_text_in_turn(benchmark) -> None:  # type: ignore[no-untyped-def]
    kwargs = generated(340)
    mark(benchmark, "text -> fn_hash: 340 eqs, timed in turn", "in turn")
    result = benchmark.pedantic(in_turn, args=(kwargs,), rounds=1, iterations=1)
    benchmark.extra_info.update(result)


def rust_front_end(kwargs: dict[str, Any]) -> Callable[[], object]:
    """The Rust part alone: ``CanonicalSystem(text, ...)`` on names already declared."""
    from cubie_hash import _core
    from cubie_hash.ode.declarations import declare

    d = declare(kwargs["states"], kwargs["parameters"], None, kwargs["observables"], None)
    text = kwargs["dxdt"]
    return lambda: _core.CanonicalSystem(
        text, d.states, d.parameters, d.constants, d.drivers, d.observables
    )


@pytest.mark.parametrize("n", SIZES)
def test_rust_front_end_sympy_reference(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    kwargs = generated(n)
    mark(benchmark, f"text -> CanonicalSystem (Rust alone): {n:>3} eqs", "reference")
    from sympy.core.cache import clear_cache

    benchmark.pedantic(oracle_parse, args=(kwargs,), setup=clear_cache, rounds=7, iterations=1)


@pytest.mark.parametrize("n", SIZES)
def test_rust_front_end(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    mark(benchmark, f"text -> CanonicalSystem (Rust alone): {n:>3} eqs", "cubie_hash")
    benchmark(rust_front_end(generated(n)))


def cubie_hash_of(kwargs: dict[str, Any]) -> str:
    from cubie.odesystems.symbolic.parsing.parser import parse_system

    parsed = parse_system(
        kwargs["dxdt"],
        states=kwargs["states"],
        parameters=kwargs["parameters"],
        observables=kwargs["observables"],
    )
    return str(parsed.definition_hash)


def test_text_cubie_reference(benchmark) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("cubie", minversion="0.17")
    kwargs = generated(340)
    mark(benchmark, "text -> fn_hash: 340 eqs (vs CuBIE 0.17 parse_system)", "reference")
    benchmark.pedantic(cubie_hash_of, args=(kwargs,), rounds=3, iterations=1)


def test_text_ours_against_cubie(benchmark) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("cubie", minversion="0.17")
    kwargs = generated(340)
    mark(benchmark, "text -> fn_hash: 340 eqs (vs CuBIE 0.17 parse_system)", "cubie_hash")
    benchmark(ours, kwargs)


ONE_THREAD = r"""
import json, statistics, sys, time
sys.path.insert(0, {tests!r})
from cubie_hash.ode import parse_equations
from cubie_hash.ode.examples import generated
kwargs = generated(340)
if {impl!r} == "reference":
    from ode_oracle import oracle_parse
    from sympy.core.cache import clear_cache
    def once():
        clear_cache()
        start = time.perf_counter()
        oracle_parse(kwargs)
        return time.perf_counter() - start
    times = [once() for _ in range(7)]
else:
    def once():
        start = time.perf_counter()
        for _ in range(100):
            parse_equations(**kwargs).fn_hash
        return (time.perf_counter() - start) / 100
    times = [once() for _ in range(15)]
print(json.dumps(statistics.median(times)))
"""


@pytest.mark.parametrize("impl", ["reference", "cubie_hash"])
def test_text_one_thread(benchmark, impl: str) -> None:  # type: ignore[no-untyped-def]
    """The same comparison with rayon held to one worker (a child process each, since the
    pool is sized once per process): what one core gives, without the parallel parse."""
    import json
    import os
    import subprocess

    mark(benchmark, "text -> fn_hash: 340 eqs, one thread (child)", impl)
    code = ONE_THREAD.format(tests=str(Path(__file__).parents[1] / "tests"), impl=impl)
    env = {**os.environ, "RAYON_NUM_THREADS": "1"}

    def child() -> float:
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        return float(json.loads(done.stdout))

    benchmark.extra_info["ready_s"] = benchmark.pedantic(child, rounds=1, iterations=1)
