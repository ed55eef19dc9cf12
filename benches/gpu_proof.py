"""The CUDA kernel printed from the canonical form, on a real GPU (issue 9, item 6).

For each model (Lorenz; the synthetic ``generated(340)`` system) this measures:

* **cold**: a child process on an empty cache: import, parse, generate, compile (the kernel
  has a signature, so Numba compiles it when the module is loaded), one tiny launch;
* **warm**: a second child process on the same cache: the same steps, the kernel loaded
  from the entry Numba's cache files are kept in;
* **GPU rate**: systems x steps per second of the kernel over ``--*-systems`` systems
  (after a warm-up launch; transfers timed apart);
* **CPU rate**: the CPU variant (one core, as ``integrate`` runs it) on a subset;
* **agreement**: GPU against CPU on that subset, as the largest relative difference and
  the largest distance in units in the last place.

Run it on a machine with an NVIDIA GPU (``scripts/device-proof.sh``), or anywhere under
Numba's CUDA simulator with tiny sizes (``--simulator``; ``tests/test_gpu_proof.py`` does).
Writes one JSON file and prints a table.

Example:
    python benches/gpu_proof.py --simulator --lorenz-systems 64 --lorenz-steps 5 \\
        --model-equations 20 --model-systems 16 --model-steps 2 --cpu-systems 8 \\
        --out /tmp/gpu_proof.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LORENZ = {
    "dxdt": ["dx = s*(y - x)", "dy = x*(r - z) - y", "dz = x*y - b*z"],
    "states": {"x": 1.0, "y": 1.0, "z": 1.0},
    "parameters": {"s": 10.0, "r": 28.0, "b": 8.0 / 3.0},
}
DT = 1e-3


def spec(model: str) -> dict[str, Any]:
    """The keyword arguments of ``parse_equations`` for ``lorenz`` or ``generated:N``."""
    if model == "lorenz":
        return LORENZ
    from cubie_hash.ode.examples import generated

    return generated(int(model.split(":", 1)[1]))


def inputs(model: str, n: int, n_states: int, n_parameters: int) -> tuple[Any, Any]:
    """Initial states and parameters for ``n`` systems: seeded, so every run is the same."""
    import numpy as np

    rng = np.random.default_rng(2026)
    if model == "lorenz":
        y0 = rng.normal(1.0, 0.1, (n, 3))
        params = np.broadcast_to([10.0, 28.0, 8.0 / 3.0], (n, 3)) * rng.uniform(0.9, 1.1, (n, 3))
    else:
        y0 = rng.uniform(0.4, 0.6, (n, n_states))
        params = rng.uniform(0.8, 1.2, (n, n_parameters))
    return np.ascontiguousarray(y0), np.ascontiguousarray(params)


# -- the child: one process's cold or warm start -------------------------------------------------


def child(model: str, cache_dir: str) -> dict[str, Any]:
    """Import, parse, load and launch once in this process; the seconds each took."""
    started = time.perf_counter()
    from cubie_hash.codegen import CodegenCache, Variant
    from cubie_hash.ode import parse_equations

    imported = time.perf_counter()
    parsed = parse_equations(**spec(model))
    parse_done = time.perf_counter()
    system = CodegenCache(cache_dir).load(parsed, Variant("cuda", "float64"))
    loaded = time.perf_counter()
    y0, params = inputs(model, 1, len(system.states), len(system.parameters))
    system.integrate(y0, params, dt=DT, n_steps=1, threads_per_block=32)
    launched = time.perf_counter()
    return {
        "event": system.event.kind,
        "reason": system.event.reason,
        "import_s": imported - started,
        "parse_s": parse_done - imported,
        "load_s": loaded - parse_done,
        "first_launch_s": launched - loaded,
        "total_s": launched - started,
        "sympy_imported": "sympy" in sys.modules,
    }


def run_child(model: str, cache_dir: str, simulator: bool) -> dict[str, Any]:
    env = dict(os.environ)
    if simulator:
        env["NUMBA_ENABLE_CUDASIM"] = "1"
    out = subprocess.run(
        [sys.executable, __file__, "--child", model, "--cache", cache_dir],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    if out.returncode != 0:
        raise SystemExit(f"child for {model} failed:\n{out.stdout}\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return result


# -- the parent: rates and agreement -------------------------------------------------------------


def ulps(a: Any, b: Any) -> int:
    """The largest distance between ``a`` and ``b`` in float64 units in the last place."""
    import numpy as np

    def ordered(x: Any) -> Any:
        # Map the doubles onto integers that order as they do (negatives mirrored), as
        # Python ints: two far-apart values of opposite sign differ by more than int64 holds.
        i = np.ascontiguousarray(x, np.float64).view(np.int64)
        return np.where(i < 0, np.int64(-(2**63)) - i, i).astype(object)

    return int(np.max(np.abs(ordered(a) - ordered(b)))) if np.size(a) else 0


def measure(
    model: str, systems: int, steps: int, cpu_systems: int, cache_dir: str
) -> dict[str, Any]:
    """GPU and CPU rates on ``model`` and how far their results are apart."""
    import numpy as np
    from cubie_hash.codegen import CodegenCache, Variant
    from cubie_hash.ode import parse_equations
    from numba import cuda

    parsed = parse_equations(**spec(model))
    cache = CodegenCache(cache_dir)
    gpu = cache.load(parsed, Variant("cuda", "float64"))
    cpu = cache.load(parsed, Variant("cpu", "float64"))
    y0, params = inputs(model, systems, len(gpu.states), len(gpu.parameters))
    drivers = np.zeros((systems, len(gpu.drivers)))
    threads = 128
    blocks = (systems + threads - 1) // threads

    moved = time.perf_counter()
    d_y0, d_params, d_drivers = (cuda.to_device(a) for a in (y0, params, drivers))
    d_out = cuda.device_array_like(y0)
    cuda.synchronize()
    to_device = time.perf_counter() - moved
    args = (np.float64(0.0), np.float64(DT))
    # A warm-up launch of one step, then the timed one.
    gpu.integrate_batch[blocks, threads](d_y0, d_params, d_drivers, *args, np.int64(1), d_out)
    cuda.synchronize()
    timed = time.perf_counter()
    gpu.integrate_batch[blocks, threads](d_y0, d_params, d_drivers, *args, np.int64(steps), d_out)
    cuda.synchronize()
    kernel = time.perf_counter() - timed
    back = time.perf_counter()
    gpu_out = d_out.copy_to_host()
    to_host = time.perf_counter() - back

    m = min(cpu_systems, systems)
    cpu.integrate(y0[:1], params[:1], dt=DT, n_steps=1)  # compiled already; warm the caches
    timed = time.perf_counter()
    cpu_out = cpu.integrate(y0[:m], params[:m], dt=DT, n_steps=steps)
    cpu_s = time.perf_counter() - timed

    a, b = gpu_out[:m], cpu_out
    scale = np.maximum(np.abs(b), np.finfo(np.float64).tiny)
    return {
        "systems": systems,
        "steps": steps,
        "states": len(gpu.states),
        "gpu_kernel_s": kernel,
        "gpu_rate": systems * steps / kernel,
        "to_device_s": to_device,
        "to_host_s": to_host,
        "cpu_systems": m,
        "cpu_s": cpu_s,
        "cpu_rate": m * steps / cpu_s,
        "speedup": (systems * steps / kernel) / (m * steps / cpu_s),
        "finite": bool(np.isfinite(gpu_out).all() and np.isfinite(cpu_out).all()),
        "max_rel_diff": float(np.max(np.abs(a - b) / scale)),
        "max_ulps": ulps(a, b),
        "identical": bool(np.array_equal(a, b)),
    }


def table(results: dict[str, Any]) -> str:
    rows = [
        "| model | cold: total (load) | warm: total (load) | GPU systems·steps/s"
        " | CPU (one core) | GPU/CPU | max rel diff (ulps) |",
        "|---|---|---|---|---|---|---|",
    ]
    for model, r in results["models"].items():
        c, w, m = r["cold"], r["warm"], r["rates"]
        rows.append(
            f"| {model} ({m['states']} states)"
            f" | {c['total_s']:.2f} s ({c['load_s']:.2f} s, {c['event']})"
            f" | {w['total_s']:.2f} s ({w['load_s']:.2f} s, {w['event']})"
            f" | {m['gpu_rate']:.3g}/s | {m['cpu_rate']:.3g}/s | {m['speedup']:.3g}x"
            f" | {m['max_rel_diff']:.2g} ({m['max_ulps']}) |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulator", action="store_true", help="Numba's CUDA simulator")
    parser.add_argument("--lorenz-systems", type=int, default=1_000_000)
    parser.add_argument("--lorenz-steps", type=int, default=1000)
    parser.add_argument("--model-equations", type=int, default=340)
    parser.add_argument("--model-systems", type=int, default=100_000)
    parser.add_argument("--model-steps", type=int, default=100)
    parser.add_argument("--cpu-systems", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("gpu_proof.json"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.cache)))
        return 0
    if args.simulator:
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"  # before Numba is imported, below
    models = {
        "lorenz": (args.lorenz_systems, args.lorenz_steps),
        f"generated:{args.model_equations}": (args.model_systems, args.model_steps),
    }
    from numba import cuda

    name = "simulator" if args.simulator else cuda.get_current_device().name
    results: dict[str, Any] = {
        "device": name.decode() if isinstance(name, bytes) else name,
        "models": {},
        "errors": {},
    }
    for model, (systems, steps) in models.items():
        # A stage that fails is recorded and the rest still run: a device lease is short,
        # and what did run is written out after each model.
        try:
            with tempfile.TemporaryDirectory(prefix="gpu-proof-") as cache_dir:
                cold = run_child(model, cache_dir, args.simulator)
                warm = run_child(model, cache_dir, args.simulator)
                rates = measure(model, systems, steps, args.cpu_systems, cache_dir)
        except (Exception, SystemExit) as err:
            results["errors"][model] = f"{type(err).__name__}: {err}"
            print(model, "failed:", results["errors"][model], flush=True)
        else:
            results["models"][model] = {"cold": cold, "warm": warm, "rates": rates}
            print(model, json.dumps(results["models"][model]), flush=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
