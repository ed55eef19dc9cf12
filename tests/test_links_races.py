"""Hashed links under races, in real child processes: many jobs of a cluster at once.

The link is made with a primitive that fails when the name exists (``symlink`` to the final
name), so of N jobs linking different models that share one short hash exactly one wins and
the others get ``HashCollisionError``, and only the winner's folder gets a ``.hash`` file.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import warnings
from pathlib import Path
from typing import Any

import pytest
from cubie_hash.snakemake import LinkFallbackWarning, ModelIdentifier, link_hashed

JOBS = 16
TRIALS = 40  # the old check-then-replace lost about one trial in seven; 40 all but catch it


def sharing_one_hash(count: int, length: int = 1) -> list[str]:
    """``count`` different full identifiers of one model name whose hashes are equal."""
    by_hash: dict[str, list[str]] = {}
    i = 0
    while True:
        full = f"M:a={i}_1_d"
        group = by_hash.setdefault(ModelIdentifier.parse(full).hash(length), [])
        group.append(full)
        if len(group) == count:
            return group
        i += 1


def no_symlinks(*args: object, **kwargs: object) -> None:
    raise OSError(errno.EPERM, "Operation not permitted")


def worker(
    root: str, job: int, full: str, trials: int, symlinks: bool, start: Any, results: Any
) -> None:
    if not symlinks:  # a file system without symlinks: stand-in folders race instead
        warnings.simplefilter("ignore", LinkFallbackWarning)
        os.symlink = no_symlinks
    for trial in range(trials):
        folder = Path(root, str(trial), full)
        start.wait()  # every job links at the same moment
        try:
            link_hashed(folder, length=1)
            results.put((trial, job, "won"))
        except Exception as err:  # noqa: BLE001 - the parent checks which
            results.put((trial, job, type(err).__name__))


def race(root: Path, fulls: list[str], trials: int, symlinks: bool = True) -> list[list[str]]:
    """Job ``j`` links model ``fulls[j]`` in ``root/<trial>`` for every trial, all jobs at once
    (real processes); what each got, per trial, in job order."""
    for trial in range(trials):
        for full in fulls:
            (root / str(trial) / full).mkdir(parents=True, exist_ok=True)
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads
    start, results = ctx.Barrier(len(fulls), timeout=120), ctx.Queue()
    jobs = [
        ctx.Process(target=worker, args=(str(root), j, full, trials, symlinks, start, results))
        for j, full in enumerate(fulls)
    ]
    for job in jobs:
        job.start()
    outcome = [[""] * len(fulls) for _ in range(trials)]
    for _ in range(trials * len(fulls)):
        trial, j, what = results.get(timeout=120)
        outcome[trial][j] = what
    for job in jobs:
        job.join(timeout=60)
        assert job.exitcode == 0  # a crashed job is a failure, not a missing line
    return outcome


@pytest.mark.parametrize("symlinks", [True, False], ids=["symlinks", "stand-in folders"])
def test_different_models_sharing_a_hash_have_exactly_one_winner(
    tmp_path: Path, symlinks: bool
) -> None:
    fulls = sharing_one_hash(JOBS)
    token = ModelIdentifier.parse(fulls[0]).hash(1).removeprefix(":hash=")
    trials = TRIALS if symlinks else TRIALS // 4  # stand-ins: copies, slower
    outcome = race(tmp_path, fulls, trials, symlinks)
    # First the race itself, over every trial: one winner, every other job told of the collision.
    lost = [(t, r) for t, r in enumerate(outcome) if r.count("won") != 1]
    assert lost == [], f"{len(lost)} of {trials} trials without exactly one winner"
    assert all(r.count("HashCollisionError") == JOBS - 1 for r in outcome), outcome
    for trial, results in enumerate(outcome):
        (winner,) = [f for f, what in zip(fulls, results, strict=True) if what == "won"]
        folder = tmp_path / str(trial)
        link = folder / f"M:hash={token}"
        if symlinks:
            assert os.readlink(link) == winner
        else:
            assert (link / f"{token}.hash").read_text() == winner + "\n"
        claims = [p.parent.name for p in folder.glob(f"*/{token}.hash")]
        claims = [name for name in claims if name != link.name]
        assert claims == [winner], f"trial {trial}: losers wrote .hash files"
        leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".")]
        assert leftovers == []


@pytest.mark.parametrize("symlinks", [True, False], ids=["symlinks", "stand-in folders"])
def test_jobs_linking_one_model_all_succeed(tmp_path: Path, symlinks: bool) -> None:
    full = "M:a=1_1_d"
    # Stand-ins once failed here: a job rewrote a .hash shared by hard link in place, and
    # another read it empty (a "collision" with the model '').
    assert race(tmp_path, [full] * 8, 5, symlinks) == [["won"] * 8] * 5
    token = ModelIdentifier.parse(full).hash(1).removeprefix(":hash=")
    for trial in range(5):
        assert (tmp_path / str(trial) / full / f"{token}.hash").read_text() == full + "\n"
