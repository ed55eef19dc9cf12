"""Snakemake on a real SLURM cluster (README, "Running on SLURM"); marked `slurm`.

The bundled example goes through `snakemake --executor slurm`: every job a SLURM job, links
and `.hash` files right, a second run with nothing to do.  A workflow whose wildcards join to
more than 255 bytes fails there with `[Errno 36] File name too long` (the plugin's log folder),
`cubie-hash check-workflow` says so beforehand, and with the long wildcard hashed both pass.
Skipped, with the reason, where no cluster answers (tests/slurm_cluster.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cubie_hash.snakemake import ModelIdentifier, check_paths, compute_hash, resolve
from cubie_hash.snakemake.workflow_check import check_workflow
from slurm_cluster import REPO, require_slurm, slurm_states, snakemake_slurm, submitted_jobs

pytestmark = pytest.mark.slurm

EXAMPLE = REPO / "examples" / "snakemake"
LONG_WILDCARDS = REPO / "tests" / "workflows" / "long_wildcards"
# The example's jobs other than the local `all`: 2 x (init_model, train_model, test_model),
# collect.
EXAMPLE_SLURM_JOBS = 7


def copy_workflow(source: Path, tmp: pytest.TempPathFactory, name: str) -> Path:
    workdir = tmp.mktemp(name)
    shutil.copytree(source, workdir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".*"))
    return workdir


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    require_slurm()
    workdir = copy_workflow(EXAMPLE, tmp_path_factory, "slurm-example")
    # Kept logs are SLURM's own evidence: slurmd writes <slurm job id>.log for each job.
    run = snakemake_slurm(workdir, "--slurm-keep-successful-logs")
    assert run.returncode == 0, run.stdout + run.stderr
    return workdir, run.stdout + run.stderr


def test_every_example_job_ran_as_a_slurm_job(example_run: tuple[Path, str]) -> None:
    workdir, output = example_run
    jobs = submitted_jobs(output)
    assert len(jobs) == EXAMPLE_SLURM_JOBS, output
    states = slurm_states(sorted(jobs.values()))
    assert states == dict.fromkeys(jobs.values(), "COMPLETED"), states
    logs = sorted((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert sorted(int(p.stem) for p in logs) == sorted(jobs.values())
    rules = {"rule_init_model", "rule_train_model", "rule_test_model", "rule_collect"}
    assert {p.relative_to(workdir / ".snakemake" / "slurm_logs").parts[0] for p in logs} == rules


def test_example_links_and_hash_files_on_slurm(example_run: tuple[Path, str]) -> None:
    workdir, _ = example_run
    folders = sorted(p for p in (workdir / "models").iterdir() if not p.is_symlink())
    assert len(folders) == 2
    for folder in folders:
        ident = ModelIdentifier.parse(folder.name)
        link = folder.parent / ident.hashed_name()
        assert os.readlink(link) == folder.name
        hex_ = ident.hash().removeprefix(":hash=")
        assert (folder / f"{hex_}.hash").read_text().strip() == folder.name
        assert resolve(link).identifier == ident
    assert check_paths(workdir / "models") == []
    summary = (workdir / "results" / "summary.tsv").read_text().splitlines()
    assert len(summary) == 3 and all(":hash=" in line for line in summary[1:])


def test_example_second_slurm_run_has_nothing_to_do(example_run: tuple[Path, str]) -> None:
    workdir, _ = example_run
    again = snakemake_slurm(workdir)
    assert again.returncode == 0, again.stderr
    assert "Nothing to be done" in again.stdout + again.stderr
    assert submitted_jobs(again.stdout + again.stderr) == {}


def check_workflow_cli(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cubie_hash.cli", "check-workflow", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_long_wildcards_fail_on_slurm_unless_hashed(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    require_slurm()
    workdir = copy_workflow(LONG_WILDCARDS, tmp_path_factory, "slurm-long")

    # The pre-flight check names the rule, the wildcards, the byte count and what to hash.
    report = check_workflow(workdir)
    assert report.jobs == 3 and not report.pending_checkpoints
    assert [(p.rule, p.kind, p.hash_wildcards) for p in report.problems] == [
        ("simulate", "executor-log", ("args",))
    ] * 2
    assert {p.size for p in report.problems} == {281}
    cli = check_workflow_cli(workdir)
    assert cli.returncode == 1, cli.stderr
    assert "rule simulate" in cli.stdout and "281 bytes" in cli.stdout
    assert "hash wildcard(s) args" in cli.stdout

    # It is right: SLURM refuses the run before sbatch is called ...
    failed = snakemake_slurm(workdir)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0, output
    assert "[Errno 36] File name too long" in output
    assert "rule_simulate/" in output
    assert submitted_jobs(output) == {}
    assert not (workdir / "results").exists()

    # ... and with {args} hashed, the check passes and so does the SLURM run.
    hashed = check_workflow_cli(workdir, "--config", "hash=True")
    assert hashed.returncode == 0, hashed.stdout + hashed.stderr
    run = snakemake_slurm(workdir, "--config", "hash=True")
    assert run.returncode == 0, run.stdout + run.stderr
    jobs = submitted_jobs(run.stdout + run.stderr)
    assert len(jobs) == 2
    assert set(slurm_states(sorted(jobs.values())).values()) == {"COMPLETED"}
    full_args = dict(report.problems[0].wildcards)["args"]
    results = sorted((workdir / "results").rglob("seed*.txt"))
    assert [p.parent.name for p in results] == [compute_hash(full_args)] * 2
    assert [p.read_text().split() for p in results] == [[full_args, "1"], [full_args, "2"]]
