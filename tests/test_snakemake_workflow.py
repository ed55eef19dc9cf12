"""The example workflow (examples/snakemake), run by real Snakemake in a temporary folder.

init_model -> checkpoint train_model (links the hashed name) -> test_model on the hashed path
-> collect.  The first model's identifier fits in its own folder name, but the report folder
that would carry it in full is over 255 bytes: the run can only succeed through the hash.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cubie_hash.snakemake import ModelIdentifier, check_identifier, check_paths, resolve

EXAMPLE = Path(__file__).parent.parent / "examples" / "snakemake"
REPORT = "reports/{model_name}{model_identifier}_{status}_{data_loader}{data_args}/test_outputs.csv"
TEST_LOADER = "StimulusNoise"
TEST_ARGS = ":dsteps=20+noisetype=uniform+ssnr=0.6+tempmode=dynamic+idle=20"


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def workflow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("workflow")
    shutil.copytree(EXAMPLE, workdir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".*"))
    run = snakemake(workdir)
    assert run.returncode == 0, run.stdout + run.stderr
    return workdir


def model_folders(workdir: Path) -> list[Path]:
    return sorted(p for p in (workdir / "models").iterdir() if not p.is_symlink())


def test_only_the_hashed_path_fits(workflow: Path) -> None:
    long_model = next(p for p in model_folders(workflow) if p.name.startswith("DyRCNNx8"))
    ident = ModelIdentifier.parse(long_model.name)
    assert len(long_model.name.encode()) <= 255
    full_form = {"model_name": ident.name, "status": "trained", "data_loader": TEST_LOADER}
    full_form |= {"data_args": TEST_ARGS, "model_identifier": str(ident)[len(ident.name) :]}
    assert [p.kind for p in check_identifier(REPORT, **full_form)] == ["component"]
    with pytest.raises(OSError) as info:  # what the workflow would hit without the hash
        (workflow / "reports" / Path(REPORT.format(**full_form)).parent.name).mkdir()
    assert info.value.errno == errno.ENAMETOOLONG
    hashed = full_form | {"model_identifier": ident.hash()}
    assert (workflow / REPORT.format(**hashed)).is_file()


def test_links_are_relative_and_documented(workflow: Path) -> None:
    for folder in model_folders(workflow):
        ident = ModelIdentifier.parse(folder.name)
        link = folder.parent / ident.hashed_name()
        assert link.is_symlink()
        assert os.readlink(link) == folder.name  # relative, same folder
        assert (link / "trained.pt").is_file()
        hex_ = ident.hash().removeprefix(":hash=")
        assert (folder / f"{hex_}.hash").read_text().strip() == folder.name
        assert resolve(link).identifier == ident


def test_nothing_over_the_limits_and_results_collected(workflow: Path) -> None:
    assert check_paths(workflow) == []
    summary = (workflow / "results" / "summary.tsv").read_text().splitlines()
    assert len(summary) == 1 + len(model_folders(workflow))
    assert all(":hash=" in line for line in summary[1:])


def test_second_run_has_nothing_to_do(workflow: Path) -> None:
    again = snakemake(workflow)
    assert again.returncode == 0, again.stderr
    assert "Nothing to be done" in again.stdout + again.stderr
