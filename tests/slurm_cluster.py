"""The SLURM cluster the `slurm` tests run on, and how to run Snakemake on it.

`.ci/run` starts a single-node cluster with scripts/slurm-up.sh (root, Debian packages) and sets
CUBIE_HASH_REQUIRE_SLURM=1, so that there a cluster that does not answer fails the tests
instead of skipping them.  Elsewhere the tests skip with the reason.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent
# The plugin can wait forever for a job it lost track of (and ignores SIGTERM meanwhile):
# every Snakemake run goes through `timeout -k`, which kills it for good.
SNAKEMAKE_LIMIT_S = 300
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) ")


@functools.cache
def _why_not() -> str | None:
    """Why no SLURM cluster can be used here, or None when one answers (asked once)."""
    for tool in ("sbatch", "squeue", "sinfo", "timeout"):
        if shutil.which(tool) is None:
            start = "" if os.geteuid() == 0 else " (needs root)"
            return f"no {tool} on PATH: no SLURM here; scripts/slurm-up.sh starts one{start}"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm is not installed (pip install '.[test]')"
    try:
        state = subprocess.run(
            ["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        return "sinfo did not answer in 30 s: slurmctld is not running"
    states = state.stdout.split()
    if state.returncode != 0 or not any(s in ("idle", "mix", "alloc") for s in states):
        detail = (state.stderr.strip() or " ".join(states) or "no node").splitlines()[0]
        return f"no SLURM node ready ({detail}); start one with scripts/slurm-up.sh (as root)"
    return None


def require_slurm() -> None:
    """Skip the calling test (fail it, under CUBIE_HASH_REQUIRE_SLURM=1) without a cluster."""
    reason = _why_not()
    if reason is None:
        return
    if os.environ.get("CUBIE_HASH_REQUIRE_SLURM") == "1":
        pytest.fail(f"CUBIE_HASH_REQUIRE_SLURM=1 but {reason}")
    pytest.skip(reason)


def snakemake_slurm(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`snakemake --executor slurm` in ``workdir``, under `timeout -k`, output captured.

    No accounting database here, so job status comes from squeue; SLURM keeps finished jobs
    for MinJobAge (3600 s in scripts/slurm-up.sh), well over 3x the first status check.
    """
    command = [
        "timeout",
        "-k",
        "10",
        str(SNAKEMAKE_LIMIT_S),
        sys.executable,
        "-m",
        "snakemake",
        "--executor",
        "slurm",
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--jobs",
        "4",
        *args,
    ]
    run = subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=SNAKEMAKE_LIMIT_S + 30
    )
    assert run.returncode not in (124, 137), "snakemake hung; killed by timeout:\n" + run.stderr
    return run


def submitted_jobs(output: str) -> dict[int, int]:
    """Snakemake job id -> SLURM job id, from the plugin's "has been submitted" lines."""
    return {int(job): int(slurm) for job, slurm in SUBMITTED.findall(output)}


def slurm_states(job_ids: list[int]) -> dict[int, str]:
    """SLURM's state of each job (squeue keeps finished jobs for MinJobAge)."""
    out = subprocess.run(
        ["squeue", "-h", "-t", "all", "-j", ",".join(map(str, job_ids)), "-o", "%i %T"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    return {int(i): state for i, state in (line.split() for line in out.splitlines())}
