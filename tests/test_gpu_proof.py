"""The prepared GPU check (benches/gpu_proof.py) runs end to end under Numba's CUDA simulator.

The real run needs a lent GPU (scripts/device-proof.sh); this keeps the script from rotting
between the sessions that have one, and checks what it reports on the way: a cold child
process compiles (a miss), a second one loads the kernel from the cache (a hit), neither
imports SymPy for a text system, and the kernel agrees with the CPU variant.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benches" / "gpu_proof.py"


def test_gpu_proof_runs_under_the_simulator(tmp_path: Path) -> None:
    out = tmp_path / "gpu_proof.json"
    sizes = ["--lorenz-systems", "48", "--lorenz-steps", "4", "--model-equations", "20"]
    sizes += ["--model-systems", "12", "--model-steps", "2", "--cpu-systems", "8"]
    run = subprocess.run(
        [sys.executable, str(BENCH), "--simulator", *sizes, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(out.read_text())
    assert results["device"] == "simulator"
    assert results["errors"] == {}
    assert set(results["models"]) == {"lorenz", "generated:20"}
    for model, r in results["models"].items():
        assert (r["cold"]["event"], r["warm"]["event"]) == ("miss", "hit"), model
        assert r["warm"]["reason"] == "entry on disk", model
        assert not r["cold"]["sympy_imported"] and not r["warm"]["sympy_imported"], model
        rates = r["rates"]
        assert rates["finite"], model
        assert rates["max_rel_diff"] <= 1e-12, (model, rates)
        assert rates["gpu_rate"] > 0 and rates["cpu_rate"] > 0
    assert "| lorenz (3 states) |" in run.stdout
