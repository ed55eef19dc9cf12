"""The id, link, resolve and check-paths sub-commands, run as real subprocesses."""

from __future__ import annotations

import hashlib
import os
import shutil
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


def run_bytes(*args: str | bytes, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "cubie_hash.cli", *args], capture_output=True, cwd=cwd
    )


def test_a_dangling_link_is_reported_by_resolve(tmp_path: Path) -> None:
    models = tmp_path / "models"
    (models / FULL).mkdir(parents=True)
    assert run("link", str(models / FULL)).returncode == 0
    shutil.rmtree(models / FULL)  # the model folder, with its .hash file, is deleted
    for args in (
        ["resolve", "--root", str(tmp_path)],
        ["resolve", "3fce9ecb", "--root", str(tmp_path)],
        ["resolve", str(models / "DyRCNNx8:hash=3fce9ecb")],
    ):
        out = run(*args)
        assert out.returncode == 2, args
        assert "dangling link" in out.stderr and FULL in out.stderr, args
        assert out.stdout == "" and "Traceback" not in out.stderr


def test_a_symlink_loop_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / FULL).mkdir()
    os.symlink("DyRCNNx8:hash=3fce9ecb", tmp_path / "DyRCNNx8:hash=3fce9ecb")
    out = run("link", str(tmp_path / FULL))
    assert out.returncode == 2 and "symlink loop" in out.stderr and "Traceback" not in out.stderr


def test_resolve_under_a_missing_root_is_an_error(tmp_path: Path) -> None:
    for args in (
        ["resolve", "--root", str(tmp_path / "nope")],
        ["resolve", "3fce9ecb", "--root", str(tmp_path / "nope")],
    ):
        out = run(*args)
        assert out.returncode == 2 and "not a folder" in out.stderr, args


def test_demo_refuses_counts_below_one() -> None:
    for args in (["--systems", "-5"], ["--steps", "0"], ["--systems", "many"]):
        out = run("demo", *args)
        assert out.returncode == 2 and "Traceback" not in out.stderr, args
        assert "positive count" in out.stderr or "not a whole number" in out.stderr, args


def test_arguments_that_are_not_utf8_never_give_a_traceback(tmp_path: Path) -> None:
    # Python hands such bytes over as lone surrogates (surrogateescape).
    bad = b"M:a=\xff_1_d"
    (tmp_path / os.fsdecode(bad)).mkdir()
    cases: list[list[str | bytes]] = [
        [b"\xff"],
        ["id", bad],
        ["id", "--full", bad],
        ["link", os.fsencode(tmp_path) + b"/" + bad],
        ["resolve", bad, "--root", str(tmp_path)],
        ["resolve", "--root", os.fsencode(tmp_path) + b"/\xfe"],
        ["check-paths", b"\xff"],
        ["demo", "--systems", b"\xff"],
        ["cache", "--root", str(tmp_path / "cache"), "info", b"\xff\xff\xff\xff"],
    ]
    for args in cases:
        out = run_bytes(*args)
        assert out.returncode == 2, args
        assert b"Traceback" not in out.stderr, (args, out.stderr)
        # One message: the library's "cubie-hash CMD: error: ..." or argparse's usage line.
        assert out.stderr.startswith((b"cubie-hash", b"usage:")), (args, out.stderr)
    # digest hashes the argument's bytes, as `printf %s ARG | md5sum` would, and echoes them.
    out = run_bytes("digest", b"caf\xe9")
    assert out.returncode == 0
    assert out.stdout == hashlib.md5(b"caf\xe9").hexdigest().encode() + b"  caf\xe9\n"


def test_check_paths_reports_what_lies_below_path_max(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(30):  # 6,000 bytes deep
            os.mkdir(b"\xff" * 200, dir_fd=fd)  # not UTF-8 either: printed as the same bytes
            fd, parent = os.open(b"\xff" * 200, os.O_RDONLY, dir_fd=fd), fd
            os.close(parent)
    finally:
        os.close(fd)
    out = run_bytes("check-paths", str(tmp_path))
    assert out.returncode == 1 and b"Traceback" not in out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == sum(len(str(tmp_path)) + 201 * i > 4096 for i in range(1, 31))
    assert (
        lines[-1]
        == os.fsencode(tmp_path)
        + (b"/" + b"\xff" * 200) * 30
        + b": path is "
        + str(len(str(tmp_path)) + 6030).encode()
        + b" bytes, over 4096"
    )
