"""A system ready in a new process: cold (parse, generate, compile) against warm (cache hit).

Each round starts a fresh Python process that calls ``load_system`` on a bundled example and
integrates a small batch, so the figures include interpreter start-up and imports — what a
cluster job pays.  ``reference`` is the cold process (empty cache), ``cubie_hash`` the warm one
(same cache, second process).  The child also reports the in-process ``ready`` time
(``load_system`` alone, after Numba's per-process start-up), kept in ``extra_info`` and
printed by ``ratios.py`` as a second table.  Target (issue 5): the system ready at least 10x
faster in a warm second process than cold.

Run with ``python benches/ratios.py benches/bench_codegen.py``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

CHILD = """
import json, sys, time
started = time.perf_counter()
from cubie_hash.codegen import CodegenCache, load_system
from cubie_hash.ode import examples
spec = getattr(examples, sys.argv[2])()
# Numba sets up its CPU target on first use in every process, whatever the cache holds:
# do that before timing load_system, so `ready_s` is what the cache can save.
from numba import njit
njit("float64(float64)")(lambda x: x + 1.0)
t = time.perf_counter()
system = load_system(**spec, cache=CodegenCache(sys.argv[1]))
ready = time.perf_counter() - t
print(json.dumps({"kind": system.event.kind, "ready_s": ready,
                  "total_s": time.perf_counter() - started}))
"""


def child(root: str, example: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, root, example], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.parametrize("example", ["lorenz", "three_chamber"])
def test_cold_process(benchmark, example: str) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = f"system ready in a new process: {example}"
    benchmark.extra_info["impl"] = "reference"
    roots: list[str] = []

    def setup():  # type: ignore[no-untyped-def]
        roots.append(tempfile.mkdtemp(prefix="cubie-bench-"))
        return (roots[-1], example), {}

    result = benchmark.pedantic(child, setup=setup, rounds=3, iterations=1)
    benchmark.extra_info["ready_s"] = result["ready_s"]
    assert result["kind"] == "miss"
    for root in roots:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("example", ["lorenz", "three_chamber"])
def test_warm_process(benchmark, example: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = f"system ready in a new process: {example}"
    benchmark.extra_info["impl"] = "cubie_hash"
    assert child(str(tmp_path), example)["kind"] == "miss"
    result = benchmark.pedantic(child, args=(str(tmp_path), example), rounds=5, iterations=1)
    benchmark.extra_info["ready_s"] = result["ready_s"]
    assert result["kind"] == "hit"
