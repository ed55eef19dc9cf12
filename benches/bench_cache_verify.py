"""What verifying an entry costs on a warm load: issue 10's target is at most 10 %.

A fresh process loads a 340-equation system (``examples.generated(340)``, about 1 MB of Numba
cache files) from a warm cache.  ``cubie_hash`` is today's ``load_system``: the index record
checked against the entry, the sealed sidecar, every file read through checked descriptors and
BLAKE3-verified, Numba's files copied into a private directory, the module's stored compiled
code (``codegen.bytecode``, verified like the rest) executed there.  ``reference`` is what a warm
load did before: the index record, the sidecar, the module's digest, then ``exec`` in place so
that Numba unpickles straight from the entry's ``__pycache__`` (unverified), after compiling
the module's source (about 12 ms of it).  Both are timed
inside the child (``ready_s``, after Numba's per-process start-up), medians over the rounds.

Run with ``python benches/bench_cache_verify.py [ROUNDS]`` (prints the ratio), or through
``python benches/ratios.py benches/bench_cache_verify.py``.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

CHILD = """
import json, sys, time
from cubie_hash.codegen import CodegenCache, load_system
from cubie_hash.ode import examples
mode, root = sys.argv[1], sys.argv[2]
spec = examples.generated(340)
from numba import njit
njit("float64(float64)")(lambda x: x + 1.0)  # Numba's per-process start-up, not timed
if mode == "cubie_hash":
    t = time.perf_counter()
    system = load_system(**spec, cache=CodegenCache(root))
    ready = time.perf_counter() - t
    assert system.event.kind == "hit" and not system.event.parsed, system.event
else:
    import types
    from cubie_hash._core import digest
    from cubie_hash.ode import prehash
    t = time.perf_counter()
    key = prehash(spec["dxdt"], states=spec["states"], parameters=spec["parameters"],
                  constants=None, observables=spec["observables"], drivers=None)
    fn_hash = json.loads(open(f"{root}/prehash/{key}.json").read())["fn_hash"]
    entry = f"{root}/entries/{fn_hash}"
    meta = json.loads(open(f"{entry}/cpu-float64.json").read())
    source = open(f"{entry}/cpu_float64.py", "rb").read()
    assert digest(source, "blake3") == meta["source_blake3"]
    name = f"_cubie_hash_generated_{fn_hash}_cpu_float64"
    module = types.ModuleType(name)
    module.__file__ = f"{entry}/cpu_float64.py"
    sys.modules[name] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    ready = time.perf_counter() - t
    assert ready < 2.0, "the reference compiled instead of loading Numba's cache"
print(json.dumps({"ready_s": ready}))
"""


def warm_roots(tmp: Path) -> dict[str, str]:
    """A warm cache for each side (the reference's in-place loads must not touch ours)."""
    ours = tmp / "cubie_hash"
    build = "from cubie_hash.codegen import CodegenCache, load_system\n"
    build += "from cubie_hash.ode import examples\n"
    build += f"load_system(**examples.generated(340), cache=CodegenCache({str(ours)!r}))\n"
    subprocess.run([sys.executable, "-c", build], check=True)
    shutil.copytree(ours, tmp / "reference", symlinks=True)
    return {"cubie_hash": str(ours), "reference": str(tmp / "reference")}


def ready(mode: str, root: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, root], capture_output=True, text=True, check=True
    )
    return float(json.loads(out.stdout.splitlines()[-1])["ready_s"])


@pytest.fixture(scope="module")
def roots():  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory(prefix="cubie-bench-verify-") as tmp:
        yield warm_roots(Path(tmp))


@pytest.mark.parametrize("mode", ["reference", "cubie_hash"])
def test_warm_load_340_equations(benchmark, roots, mode: str) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "warm load_system, 340 equations (verification cost)"
    benchmark.extra_info["impl"] = mode
    times: list[float] = []
    benchmark.pedantic(lambda: times.append(ready(mode, roots[mode])), rounds=7, iterations=1)
    benchmark.extra_info["ready_s"] = statistics.median(times)


def main(rounds: int) -> int:
    with tempfile.TemporaryDirectory(prefix="cubie-bench-verify-") as tmp:
        roots = warm_roots(Path(tmp))
        times: dict[str, list[float]] = {"reference": [], "cubie_hash": []}
        for _ in range(rounds):  # alternate, so that machine noise hits both alike
            for mode in times:
                times[mode].append(ready(mode, roots[mode]))
    print(f"warm load of a 340-equation system, {rounds} fresh processes each:")
    print(f"{'':62} {'median':>9} {'fastest':>9}")
    for mode, label in (
        ("reference", "before (module digest only, Numba reads its cache in place)"),
        ("cubie_hash", "now (every file verified, private copy, stored code)"),
    ):
        med, best = statistics.median(times[mode]), min(times[mode])
        print(f"  {label:60} {med * 1e3:6.2f} ms {best * 1e3:6.2f} ms")
    for stat in (statistics.median, min):
        ref, ours = stat(times["reference"]), stat(times["cubie_hash"])
        name = stat.__name__
        print(f"  overhead ({name}): {100 * (ours / ref - 1):+.1f} % (ratio {ours / ref:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 15))
