"""Pre-flight check of a Snakemake workflow: every path a job will make, before it is submitted.

A dry run through Snakemake's own API lists the jobs a run would execute.  Each job's outputs,
logs and benchmarks are measured against NAME_MAX (255 bytes per component) and PATH_MAX (4096
bytes per path), and so is the folder a cluster executor makes for the job's own log:
snakemake-executor-plugin-slurm (2.x) writes it to
``.snakemake/slurm_logs/rule_<rule>/<wildcard values joined by "_", "/" made "_">/%j.log`` and
creates that folder before ``sbatch`` is called, so wildcards that each fit can still join to
more than 255 bytes, and the job fails with ``[Errno 36] File name too long`` although every
path of the rule fits.  ``--slurm-logdir`` moves the tree but keeps that folder.  The check
is conservative: it holds every job to that, also jobs of local rules (never submitted) and
jobs sent as array jobs (``--slurm-array-jobs``, whose logs go straight into ``rule_<rule>/``).

Jobs behind a checkpoint that has not run yet are not known before it runs: they are counted
in :attr:`WorkflowReport.pending_checkpoints`, and a second check after the checkpoints ran
covers them.  Snakemake is imported only when :func:`check_workflow` is called.

Example:
    >>> from cubie_hash.snakemake.workflow_check import slurm_log_folder
    >>> slurm_log_folder({"model": "AlexNet", "args": "a/b"})
    'AlexNet_a_b'
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cubie_hash.errors import WorkflowCheckError
from cubie_hash.snakemake.paths import NAME_MAX, PATH_MAX

__all__ = [
    "SLURM_LOGDIR",
    "JobPathProblem",
    "WorkflowReport",
    "check_job",
    "check_workflow",
    "parse_config",
    "slurm_log_folder",
]

#: Where snakemake-executor-plugin-slurm puts job logs, relative to the working directory.
SLURM_LOGDIR = ".snakemake/slurm_logs"

# What a hashed value costs: compute_hash's ":hash=" plus 8 hex digits.
_HASHED_BYTES = len(":hash=") + 8

# Snakemake's dry run annotates some files after the path ("x (pipe)"); these are its labels.
_ANNOTATION = re.compile(r" \((?:pipe|service|nodelocal|update|before update|access: [^()]*)\)$")


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def _shown(value: str) -> str:
    """A wildcard value for a message: whole when short, else its start and its size."""
    if _nbytes(value) <= 40:
        return repr(value)
    return f"{value[:32]!r}... ({_nbytes(value)} bytes)"


def slurm_log_folder(wildcards: Mapping[str, object]) -> str:
    """The folder name snakemake-executor-plugin-slurm makes for one job's log.

    The plugin's ``get_job_wildcards``: the job's wildcard values in the order the rule's
    output pattern names them, joined by ``_``, every ``/`` replaced by ``_``; empty (no
    folder) for a job without wildcards.  The folder above it is ``rule_<rule>``.

    Example:
        >>> slurm_log_folder({"model_name": "AlexNet", "seed": "7"})
        'AlexNet_7'
    """
    return "_".join(str(v) for v in wildcards.values()).replace("/", "_")


@dataclass(frozen=True)
class JobPathProblem:
    """One job of a workflow with a path that cannot be made.

    ``kind`` is ``"component"`` (a path component over NAME_MAX), ``"path"`` (a whole path
    over PATH_MAX) or ``"executor-log"`` (the cluster executor's log folder for the job over
    NAME_MAX).  ``hash_wildcards`` names the wildcards whose values, hashed with
    ``compute_hash``, bring it under the limit (longest first); it is empty when hashing
    wildcards cannot help (the fixed part of the path is over already).
    """

    rule: str
    wildcards: tuple[tuple[str, str], ...]
    kind: Literal["component", "path", "executor-log"]
    path: str
    size: int
    limit: int
    hash_wildcards: tuple[str, ...] = ()

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={_shown(v)}" for k, v in self.wildcards) or "no wildcards"
        if self.kind == "executor-log":
            above = posixpath.dirname(self.path)
            what = (
                f'cluster executor log folder {above}/<wildcard values joined by "_"> is '
                f"{self.size} bytes, over {self.limit}"
            )
        elif self.kind == "component":
            what = f"a component of {self.path!r} is {self.size} bytes, over {self.limit}"
        else:
            what = f"path {self.path!r} is {self.size} bytes, over {self.limit}"
        if self.hash_wildcards:
            fix = "hash wildcard(s) " + ", ".join(self.hash_wildcards) + " with compute_hash"
        else:
            fix = "no wildcard hash brings it under the limit: shorten the fixed part"
        return f"rule {self.rule} ({shown}): {what}; {fix}"


@dataclass(frozen=True)
class WorkflowReport:
    """What :func:`check_workflow` found: jobs checked, problems, checkpoints still to run."""

    jobs: int
    problems: tuple[JobPathProblem, ...]
    pending_checkpoints: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when no job has a path over the limits."""
        return not self.problems


def _fix(
    wildcards: Mapping[str, str], size: int, limit: int, candidates: Iterable[str]
) -> tuple[str, ...]:
    """The fewest wildcards (longest first) whose hashing brings ``size`` under ``limit``."""
    chosen: list[str] = []
    for name in sorted(candidates, key=lambda n: -_nbytes(wildcards[n])):
        if size <= limit:
            break
        saved = _nbytes(wildcards[name]) - _HASHED_BYTES
        if saved <= 0:
            break
        chosen.append(name)
        size -= saved
    return tuple(chosen) if size <= limit else ()


def _path_problems(
    rule: str,
    wildcards: Mapping[str, str],
    path: str,
    workdir: str,
    name_max: int,
    path_max: int,
) -> list[JobPathProblem]:
    pairs = tuple(wildcards.items())
    found = []
    for part in path.split("/"):
        size = _nbytes(part)
        if size > name_max:
            inside = [n for n, v in wildcards.items() if v and v in part]
            fix = _fix(wildcards, size, name_max, inside)
            found.append(JobPathProblem(rule, pairs, "component", path, size, name_max, fix))
    size = _nbytes(os.path.join(workdir, path))  # an absolute path stays as it is
    if size > path_max:
        inside = [n for n, v in wildcards.items() if v and v in path]
        fix = _fix(wildcards, size, path_max, inside)
        found.append(JobPathProblem(rule, pairs, "path", path, size, path_max, fix))
    return found


def check_job(
    rule: str,
    wildcards: Mapping[str, object],
    paths: Iterable[str],
    *,
    logdir: str = SLURM_LOGDIR,
    workdir: str | os.PathLike[str] | None = None,
    name_max: int = NAME_MAX,
    path_max: int = PATH_MAX,
) -> list[JobPathProblem]:
    """The problems of one job: its ``paths`` (outputs, logs, benchmarks) and its log folder.

    Relative paths (and ``logdir``) are measured from ``workdir`` (default: the current
    folder), as the plugin resolves them.

    Example:
        >>> [p.kind for p in check_job("r", {"a": "x" * 200, "b": "y" * 100}, ["out/x.txt"])]
        ['executor-log']
    """
    values = {k: str(v) for k, v in wildcards.items()}
    base = os.path.abspath(workdir if workdir is not None else os.curdir)
    found = []
    for path in paths:
        found.extend(_path_problems(rule, values, path, base, name_max, path_max))
    folder = slurm_log_folder(values)
    size = _nbytes(folder)
    log_path = f"{logdir}/rule_{rule}/{folder}".rstrip("/")  # no folder without wildcards
    if size > name_max:
        fix = _fix(values, size, name_max, values)
        pairs = tuple(values.items())
        found.append(JobPathProblem(rule, pairs, "executor-log", log_path, size, name_max, fix))
    found.extend(
        p
        for p in _path_problems(
            rule, values, f"{log_path}/0000000000.log", base, name_max, path_max
        )
        if p.kind == "path"
    )
    return found


class _JobInfoCollector(logging.Handler):
    """Keeps the JOB_INFO records a dry run logs (the logger plugins' interface)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.jobs: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if str(getattr(record, "event", "")) == "job_info":
            self.jobs.append(dict(record.__dict__))


def _plain_paths(files: Sequence[object] | None) -> list[str]:
    # <TBD> marks an input behind a checkpoint; outputs never carry it, but skip it anyway.
    names = [_ANNOTATION.sub("", str(f)) for f in files or ()]
    return [n for n in names if n and n != "<TBD>"]


def parse_config(entries: Sequence[str]) -> dict[str, Any]:
    """``--config KEY=VALUE`` entries as Snakemake parses them (numbers, YAML, strings).

    Raises:
        WorkflowCheckError: an entry is not ``KEY=VALUE`` with KEY an identifier.

    Example:
        >>> parse_config(["seed=42", "name=lorenz"])
        {'seed': 42, 'name': 'lorenz'}
    """
    from snakemake.cli import parse_config as snakemake_parse_config

    try:
        parsed: dict[str, Any] = snakemake_parse_config(list(entries))
    except Exception as err:  # Snakemake raises ValueError or its own WorkflowError
        raise WorkflowCheckError(f"--config {' '.join(entries)!r}: {err}") from None
    return parsed


def check_workflow(
    workdir: str | os.PathLike[str] = ".",
    *,
    snakefile: str | os.PathLike[str] | None = None,
    configfiles: Sequence[str | os.PathLike[str]] = (),
    config: Mapping[str, Any] | None = None,
    targets: Sequence[str] = (),
    forceall: bool = False,
    logdir: str | None = None,
    name_max: int = NAME_MAX,
    path_max: int = PATH_MAX,
) -> WorkflowReport:
    """Dry-run the workflow in ``workdir`` and report every job with a path over the limits.

    ``snakefile``, ``configfiles``, ``config`` (a dict, as ``--config`` gives) and ``targets``
    are what ``snakemake`` takes; relative paths are relative to ``workdir``.  Only jobs a
    run would execute are listed (jobs whose outputs exist have made their paths already);
    ``forceall=True`` lists them all.  ``logdir`` is ``--slurm-logdir`` if you give one.
    Like ``snakemake -n``, it runs the Snakefile's code and may leave ``.snakemake/`` behind.

    Raises:
        WorkflowCheckError: the workflow cannot be loaded or its DAG built (syntax error,
            missing input, no Snakefile); the message is Snakemake's.

    Example:
        >>> report = check_workflow("examples/snakemake")  # doctest: +SKIP
        >>> report.ok, report.pending_checkpoints  # doctest: +SKIP
        (True, ('train_model',))
    """
    try:
        from snakemake.api import SnakemakeApi
        from snakemake.settings.enums import Quietness
        from snakemake.settings.types import (
            ConfigSettings,
            DAGSettings,
            OutputSettings,
            ResourceSettings,
        )
    except ImportError as err:  # pragma: no cover - snakemake is a test dependency
        raise WorkflowCheckError(f"check_workflow needs Snakemake (>= 9): {err}") from None

    root = Path(workdir).resolve()
    if not root.is_dir():
        raise WorkflowCheckError(f"{os.fspath(workdir)!r} is not a folder: no workflow to check")
    collector = _JobInfoCollector()
    # dryrun=False here only lets quiet=ALL silence the stream; the executor makes it dry.
    output = OutputSettings(quiet={Quietness.ALL}, enable_file_logging=False)
    snakemake_logger = logging.getLogger("snakemake.logging")
    before = os.getcwd()
    # Snakemake looks for the Snakefile (and reads relative paths) in the current folder.
    os.chdir(root)
    try:
        with SnakemakeApi(output) as api:
            snakemake_logger.addHandler(collector)
            try:
                workflow = api.workflow(
                    resource_settings=ResourceSettings(cores=1),
                    config_settings=ConfigSettings(
                        config=dict(config or {}),
                        configfiles=[Path(f).resolve() for f in configfiles],
                    ),
                    snakefile=None if snakefile is None else Path(snakefile).resolve(),
                    workdir=root,
                )
                dag = workflow.dag(DAGSettings(targets=frozenset(targets), forceall=forceall))
                dag.execute_workflow(executor="dryrun")
            finally:
                snakemake_logger.removeHandler(collector)
    except (Exception, SystemExit) as err:  # Snakemake's errors share no useful base class
        message = " ".join(str(err).split()) or type(err).__name__
        if isinstance(err, SystemExit):
            message = f"it called sys.exit({err.code!r})"
        raise WorkflowCheckError(f"workflow in {root} cannot be checked: {message}") from None
    finally:
        os.chdir(before)

    problems: list[JobPathProblem] = []
    pending: list[str] = []
    for job in collector.jobs:
        rule = str(job.get("rule_name"))
        wildcards = {str(k): str(v) for k, v in (job.get("wildcards") or {}).items()}
        paths = [
            *_plain_paths(job.get("output")),
            *_plain_paths(job.get("log")),
            *_plain_paths([job["benchmark"]] if job.get("benchmark") else []),
        ]
        problems.extend(
            check_job(
                rule,
                wildcards,
                paths,
                logdir=logdir or SLURM_LOGDIR,
                workdir=root,
                name_max=name_max,
                path_max=path_max,
            )
        )
        if job.get("is_checkpoint"):
            pending.append(rule)
    # Snakemake's dry run lists jobs in no set order: sort, so that two checks read the same.
    problems.sort(key=lambda p: (p.rule, p.wildcards, p.kind, p.path))
    return WorkflowReport(len(collector.jobs), tuple(problems), tuple(sorted(pending)))
