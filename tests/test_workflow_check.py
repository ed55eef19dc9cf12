"""The pre-flight check `cubie-hash check-workflow` / `check_workflow` (README, "Snakemake").

Real Snakemake dry runs, in temporary copies of the workflows; the executor log folder is
compared with snakemake-executor-plugin-slurm's own function.  The SLURM run that proves the
check right is in tests/test_snakemake_slurm.py.
"""

from __future__ import annotations

import doctest
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
from cubie_hash import WorkflowCheckError
from cubie_hash.snakemake import NAME_MAX, PATH_MAX, compute_hash
from cubie_hash.snakemake import workflow_check as wc
from cubie_hash.snakemake.workflow_check import check_job, check_workflow, slurm_log_folder
from hypothesis import given
from hypothesis import strategies as st

REPO = Path(__file__).parent.parent
EXAMPLE = REPO / "examples" / "snakemake"
LONG_WILDCARDS = REPO / "tests" / "workflows" / "long_wildcards"


def copy_workflow(source: Path, tmp_path: Path) -> Path:
    workdir = tmp_path / source.name
    shutil.copytree(source, workdir, ignore=shutil.ignore_patterns(".*"))
    return workdir


def cli(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cubie_hash.cli", "check-workflow", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )


@given(
    st.dictionaries(
        st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True),
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30),
        max_size=5,
    )
)
def test_log_folder_is_the_plugins(wildcards: dict[str, str]) -> None:
    try:  # where Snakemake keeps the class jobs carry as job.wildcards moved within 9.x
        from snakemake.iocontainers import Wildcards
    except ImportError:
        from snakemake.io import Wildcards
    from snakemake_executor_plugin_slurm.utils import get_job_wildcards

    job = SimpleNamespace(wildcards=Wildcards(fromdict=wildcards))
    assert slurm_log_folder(wildcards) == get_job_wildcards(job)


def test_one_job_every_kind() -> None:
    fits = {"a": "x" * 100, "b": "y" * 100}
    assert check_job("r", fits, ["out/" + "x" * 100 + "/" + "y" * 100]) == []
    over = check_job("r", {"a": "x" * 200, "b": "y" * 100}, ["out/x"])
    assert [(p.kind, p.size, p.hash_wildcards) for p in over] == [("executor-log", 301, ("a",))]
    assert ".snakemake/slurm_logs/rule_r/" in str(over[0]) and "301 bytes" in str(over[0])
    # Both wildcards must go; the longest is named first.
    both = check_job("r", {"a": "x" * 245, "b": "y" * 250}, [])
    assert both[0].hash_wildcards == ("b", "a")
    # A component over the limit because of the fixed text: hashing cannot help.
    fixed = check_job("r", {"a": "x"}, ["logs/" + "L" * 300 + "/x.log"])
    assert [(p.kind, p.hash_wildcards) for p in fixed] == [("component", ())]
    assert "shorten the fixed part" in str(fixed[0])
    deep = "/".join(["d" * 200] * 21)
    (path,) = check_job("r", {"a": "d" * 200}, [deep])
    assert path.kind == "path" and path.limit == PATH_MAX and path.hash_wildcards == ("a",)
    # Whole paths are measured from the workflow folder, not from where the check runs.
    deep_root = "/" + "/".join(["w" * 250] * 17)
    assert check_job("r", {}, ["out/x"]) == []
    assert [p.kind for p in check_job("r", {}, ["out/x"], workdir=deep_root)] == ["path"] * 2
    # Bytes, not characters.
    (wide,) = check_job("r", {"a": "é" * 128}, [])
    assert wide.size == 256 > NAME_MAX


def test_bundled_example_passes_its_checkpoints_pending(tmp_path: Path) -> None:
    report = check_workflow(copy_workflow(EXAMPLE, tmp_path))
    assert report.ok and report.jobs == 4
    assert report.pending_checkpoints == ("train_model",)
    out = cli(copy_workflow(EXAMPLE, tmp_path / "cli"))
    assert out.returncode == 0, out.stderr
    assert "not yet known" in out.stderr and "4 job(s) checked, 0 problem(s)" in out.stderr


def test_long_wildcards_named_with_the_one_to_hash(tmp_path: Path) -> None:
    workdir = copy_workflow(LONG_WILDCARDS, tmp_path)
    report = check_workflow(workdir)
    assert [(p.rule, p.kind, p.size, p.hash_wildcards) for p in report.problems] == [
        ("simulate", "executor-log", 281, ("args",))
    ] * 2
    assert [dict(p.wildcards)["seed"] for p in report.problems] == ["1", "2"]
    assert list(dict(report.problems[0].wildcards)) == ["dataset", "args", "seed"]
    out = cli(workdir)
    assert out.returncode == 1 and out.stdout.count("rule simulate (") == 2
    assert "hash wildcard(s) args with compute_hash" in out.stdout
    args = dict(report.problems[0].wildcards)["args"]
    hashed = check_workflow(workdir, config={"hash": True})
    assert hashed.ok and hashed.jobs == 3
    assert cli(workdir, "--config", "hash=True").returncode == 0
    # Every path of the rule fits: run without a cluster executor, the workflow goes through.
    local = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert local.returncode == 0, local.stderr
    assert len(list((workdir / "results").rglob("seed*.txt"))) == 2
    # The fix the report names is what the workflow does: compute_hash of the value.
    assert len(slurm_log_folder({"d": "d" * 63, "a": compute_hash(args), "s": 1})) < 255


def test_outputs_logs_and_benchmarks_are_checked(tmp_path: Path) -> None:
    (tmp_path / "Snakefile").write_text(
        textwrap.dedent(
            """
            rule all:
                input: expand("out/{x}.txt", x=["".join(map(str, range(25)))])
            rule make:
                output: "out/{x}.txt"
                log: "logs/" + "L" * 300 + "/{x}.log"
                benchmark: "bench/{x}" + "_" * 230 + ".tsv"
                shell: "touch {output}"
            """
        )
    )
    report = check_workflow(tmp_path)
    kinds = sorted((p.path.split("/")[0], p.hash_wildcards) for p in report.problems)
    assert kinds == [("bench", ("x",)), ("logs", ())]
    assert cli(tmp_path).returncode == 1
    assert cli(tmp_path, "--forceall", "all").returncode == 1
    assert not list(tmp_path.glob("out/*"))  # a dry run makes nothing


@pytest.mark.parametrize(
    ("snakefile", "args", "message"),
    [
        pytest.param("rule all:\n    input: 'x'\n", (), "Missing input", id="missing-input"),
        pytest.param("rule all\n  oops(\n", (), "cannot be checked", id="syntax-error"),
        # Snakemake's own message for an unknown target differs between 9.x releases.
        pytest.param("rule all:\n    input: []\n", ("nope",), "cannot be checked", id="target"),
        pytest.param("import sys\nsys.exit(3)\n", (), "sys.exit(3)", id="sys-exit"),
        pytest.param("", ("-s", "Nope"), "not found", id="no-snakefile"),
        pytest.param("", ("--configfile", "no.yaml"), "no.yaml", id="no-configfile"),
        pytest.param("", ("--config", "=1"), "--config", id="bad-config"),
    ],
)
def test_broken_workflow_is_status_2_without_traceback(
    tmp_path: Path, snakefile: str, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "Snakefile").write_text(snakefile)
    out = cli(tmp_path, *args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr
    assert out.stderr.startswith("cubie-hash check-workflow: error: ")


def test_broken_workflow_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(WorkflowCheckError, match="is not a folder"):
        check_workflow(tmp_path / "missing")
    with pytest.raises(WorkflowCheckError, match="No Snakefile found"):
        check_workflow(tmp_path)


def test_importing_the_package_does_not_import_snakemake() -> None:
    code = "import sys, cubie_hash.snakemake; print('snakemake' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_module_docstring_examples() -> None:
    assert doctest.testmod(wc).failed == 0
