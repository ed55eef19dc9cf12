"""The code-generation cache on a cluster: a SLURM job array, one shared cache root.

Every array task calls `load_system` on the same system with CUBIE_HASH_CACHE_DIR pointing at
one root, integrates with its own parameters and prints the result: exactly one task generates
(`generations.log` has one line), the others load what it built, and every result matches a
NumPy RK4 reference computed here.  Marked `slurm`; skipped without a cluster
(tests/slurm_cluster.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from slurm_cluster import require_slurm

pytestmark = pytest.mark.slurm

TASKS = 6  # two cores: enough for tasks that really run at once and wait on the build lock
LORENZ: dict[str, Any] = {
    "dxdt": ["dx = sigma*(y - x)", "dy = x*(rho - z) - y", "dz = x*y - beta*z"],
    "states": ["x", "y", "z"],
    "parameters": ["sigma", "rho", "beta"],
}
DT, STEPS = 1e-3, 400

TASK = """
import json, os
import numpy as np
from cubie_hash.codegen import load_system

task = int(os.environ["SLURM_ARRAY_TASK_ID"])
spec = json.loads({spec!r})
system = load_system(**spec)
params = [10.0, 20.0 + task, 8.0 / 3.0]
final = system.integrate(np.ones((1, 3)), params, dt={dt!r}, n_steps={steps!r})
print(json.dumps({{
    "task": task, "job": os.environ["SLURM_JOB_ID"], "kind": system.event.kind,
    "fn_hash": system.fn_hash, "final": final.tolist(),
}}))
"""


def lorenz_rk4(params: list[float]) -> np.ndarray:
    """Fixed-step RK4 of Lorenz in NumPy, written out here: the independent reference."""
    sigma, rho, beta = params

    def f(v: np.ndarray) -> np.ndarray:
        x, y, z = v
        return np.array([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])

    v = np.ones(3)
    for _ in range(STEPS):
        k1 = f(v)
        k2 = f(v + DT / 2 * k1)
        k3 = f(v + DT / 2 * k2)
        k4 = f(v + DT * k3)
        v = v + DT / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return v


def test_job_array_generates_once_into_a_shared_root(tmp_path: Path) -> None:
    require_slurm()
    root = tmp_path / "cache"
    script = tmp_path / "task.py"
    spec = json.dumps(LORENZ)
    script.write_text(textwrap.dedent(TASK).format(spec=spec, dt=DT, steps=STEPS))
    logs = tmp_path / "logs"
    logs.mkdir()
    submit = [
        "timeout",
        "-k",
        "10",
        "540",
        "sbatch",
        "--wait",  # returns when every task has ended; non-zero if any failed
        f"--array=1-{TASKS}",
        "--job-name=cubie-hash-codegen",
        f"--chdir={tmp_path}",
        f"--output={logs}/%A_%a.out",
        f"--export=ALL,CUBIE_HASH_CACHE_DIR={root}",
        f"--wrap={sys.executable} {script}",
    ]
    run = subprocess.run(submit, capture_output=True, text=True, timeout=570)
    outs = sorted(logs.glob("*.out"))
    detail = run.stdout + run.stderr + "".join(p.read_text() for p in outs)
    assert run.returncode == 0, detail
    results = [json.loads(p.read_text().splitlines()[-1]) for p in outs]

    assert sorted(r["task"] for r in results) == list(range(1, TASKS + 1)), detail
    assert len({r["job"] for r in results}) == TASKS  # each task its own SLURM job
    kinds = [r["kind"] for r in results]
    assert kinds.count("miss") == 1 and kinds.count("hit") == TASKS - 1, kinds
    (fn_hash,) = {r["fn_hash"] for r in results}
    generations = (root / "entries" / fn_hash / "generations.log").read_text().splitlines()
    assert len(generations) == 1, generations
    for r in results:
        reference = lorenz_rk4([10.0, 20.0 + r["task"], 8.0 / 3.0])
        np.testing.assert_allclose(np.array(r["final"][0]), reference, rtol=1e-12, atol=0)
    assert os.listdir(root / "entries") == [fn_hash]
