"""The id, link, resolve and check-paths sub-commands, run as real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FULL = "DyRCNNx8:tsteps=20+dt=2_42_imagenette"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cubie_hash.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def test_id() -> None:
    assert run("id", ":tsteps=20+dt=2", "42", "imagenette").stdout == ":hash=3fce9ecb\n"
    assert run("id", "--full", FULL).stdout == "DyRCNNx8:hash=3fce9ecb\n"
    assert run("id", "-n", "12", "x").stdout.startswith(":hash=9dd4e461268c")
    bad = run("id", "--full", "M:a==1_2_d")
    assert bad.returncode == 2 and "position 4" in bad.stderr and "Traceback" not in bad.stderr


def test_link_then_resolve(tmp_path: Path) -> None:
    (tmp_path / "models" / FULL).mkdir(parents=True)
    out = run("link", str(tmp_path / "models" / FULL))
    assert out.returncode == 0 and out.stdout.endswith(f":hash=3fce9ecb -> {FULL}\n")
    assert os.readlink(tmp_path / "models" / "DyRCNNx8:hash=3fce9ecb") == FULL
    found = run("resolve", "3fce9ecb", "--root", str(tmp_path))
    assert found.stdout.strip().endswith(f"\t{FULL}")
    listed = run("resolve", "--root", str(tmp_path))
    assert listed.stdout.count("\n") == 1
    missing = run("resolve", "deadbeef", "--root", str(tmp_path))
    assert missing.returncode == 2 and "no hashed link" in missing.stderr


def test_check_paths_exit_status(tmp_path: Path) -> None:
    (tmp_path / "fine").mkdir()
    assert run("check-paths", str(tmp_path)).returncode == 0
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(21):  # a path over 4096 bytes, made one level at a time
            os.mkdir("d" * 200, dir_fd=fd)
            fd, parent = os.open("d" * 200, os.O_RDONLY, dir_fd=fd), fd
            os.close(parent)
    finally:
        os.close(fd)
    over = run("check-paths", str(tmp_path))
    assert over.returncode == 1 and "over 4096" in over.stdout
