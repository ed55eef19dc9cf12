"""The main job, end to end: parse, hash, generate, compile and integrate, then do it again.

``cubie-hash demo`` takes the bundled example systems (Lorenz and a three-chamber
cardiovascular model), loads each through the code-generation cache in a fresh cache directory
— parsing, canonical hashing, code generation and Numba compilation all happen — integrates a
batch of independent systems on the CPU, and then runs the very same steps in a second Python
process, which finds everything in the cache: it skips SymPy and loads machine code instead of
compiling.  The table at the end shows both, and the time saved.

Example:
    $ cubie-hash demo --systems 2000 --steps 1000
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from typing import Any

__all__ = ["run_demo"]


def _examples() -> dict[str, dict[str, Any]]:
    from cubie_hash.ode import examples

    return {"lorenz": examples.lorenz(), "three_chamber": examples.three_chamber()}


def _numba_startup() -> float:
    """Seconds Numba needs to set up its CPU target, paid once by every process that uses it.

    Timed apart so that the table compares what the cache can save, not Numba's start-up.
    """
    started = time.perf_counter()
    from numba import njit

    njit("float64(float64)")(lambda x: x + 1.0)
    return time.perf_counter() - started


def _one_process(cache_root: str, n_systems: int, n_steps: int) -> list[dict[str, Any]]:
    """Load and integrate every example; one record per system."""
    import numpy as np

    from cubie_hash.codegen import CodegenCache, load_system

    startup = _numba_startup()
    cache = CodegenCache(cache_root)
    records = []
    for name, spec in _examples().items():
        started = time.perf_counter()
        system = load_system(**spec, cache=cache)
        ready = time.perf_counter() - started
        rng = np.random.default_rng(0)
        y0 = np.asarray([spec_value(spec, "states", s) for s in system.states], dtype=float)
        params = np.asarray([spec_value(spec, "parameters", p) for p in system.parameters])
        y0s = y0 * (1.0 + 0.01 * rng.standard_normal((n_systems, len(y0))))
        started = time.perf_counter()
        final = system.integrate(y0s, params, dt=spec.get("dt", 1e-3), n_steps=n_steps)
        run = time.perf_counter() - started
        records.append(
            {
                "system": name,
                "fn_hash": system.fn_hash,
                "event": system.event.kind,
                "reason": system.event.reason,
                "parsed": system.event.parsed,
                "generated": system.event.generated,
                "ready_s": ready,
                "integrate_s": run,
                "checksum": float(np.round(np.sum(final), 6)),
                "numba_startup_s": startup,
            }
        )
    return records


def spec_value(spec: dict[str, Any], field: str, name: str) -> float:
    """The example's default value for a state or parameter (1.0 where none is given)."""
    values = spec.get(field)
    return float(values[name]) if isinstance(values, dict) and name in values else 1.0


def run_demo(n_systems: int = 2000, n_steps: int = 1000, cache_root: str | None = None) -> int:
    """Run the demo and print its report; returns the exit status."""
    with tempfile.TemporaryDirectory(prefix="cubie-hash-demo-") as tmp:
        root = cache_root or tmp
        print(f"codegen cache: {root}")
        print(f"batch: {n_systems} independent systems x {n_steps} RK4 steps, CPU\n")
        first = _one_process(root, n_systems, n_steps)
        second_run = subprocess.run(
            [
                sys.executable,
                "-m",
                "cubie_hash.demo",
                "--child",
                root,
                str(n_systems),
                str(n_steps),
            ],  # fmt: skip
            capture_output=True,
            text=True,
            check=True,
        )
        second = json.loads(second_run.stdout.splitlines()[-1])
    startups = [f"{run[0]['numba_startup_s'] * 1e3:.0f} ms" for run in (first, second)]
    print(
        "Numba start-up, paid once per process whatever the cache holds: "
        f"first {startups[0]}, second {startups[1]}"
    )
    print("ready = load_system(): parse, hash, generate and compile, or load from the cache\n")
    header = f"{'system':<14} {'process':<8} {'cache':<5} {'parsed':<6} {'ready':>9} {'run':>9}"
    print(header)
    print("-" * len(header))
    for a, b in zip(first, second, strict=True):
        for label, rec in (("first", a), ("second", b)):
            print(
                f"{rec['system']:<14} {label:<8} {rec['event']:<5} {str(rec['parsed']):<6} "
                f"{rec['ready_s'] * 1e3:7.1f}ms {rec['integrate_s'] * 1e3:7.1f}ms"
            )
        speedup = a["ready_s"] / b["ready_s"]
        same = "identical" if a["checksum"] == b["checksum"] else "DIFFERENT"
        print(
            f"{'':<14} hash {a['fn_hash'][:16]}: ready {speedup:.1f}x faster in the second "
            f"process ({b['reason']}); results {same}"
        )
    return (
        0 if all(a["checksum"] == b["checksum"] for a, b in zip(first, second, strict=True)) else 1
    )


def _child(argv: list[str]) -> None:
    root, n_systems, n_steps = argv[0], int(argv[1]), int(argv[2])
    print(json.dumps(_one_process(root, n_systems, n_steps)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2:])
    else:
        sys.exit(run_demo())
