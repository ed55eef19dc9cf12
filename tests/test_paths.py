"""Path checks on real trees, and the limit this file system really enforces."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import pwd
import tempfile
import warnings
from pathlib import Path

import pytest
from cubie_hash import IdentifierError
from cubie_hash.snakemake import PathProblem, check_identifier, check_paths


def test_this_file_system_refuses_long_components(tmp_path: Path) -> None:
    # What the seed hit: ENAMETOOLONG for a component over 255 bytes.
    with pytest.raises(OSError) as info:
        (tmp_path / ("x" * 256)).mkdir()
    assert info.value.errno == errno.ENAMETOOLONG


def test_check_paths_finds_components_and_bytes_not_characters(tmp_path: Path) -> None:
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / ("é" * 100)).write_text("")  # 100 characters, 200 bytes
    assert check_paths(tmp_path) == []
    found = check_paths(tmp_path, name_max=150)
    assert [(p.kind, p.size) for p in found] == [("component", 200)]
    assert "200 bytes, over 150" in str(found[0])


def test_check_paths_finds_long_paths(tmp_path: Path) -> None:
    # 21 x 201 bytes: over 4096 in total, so it is made one level at a time, relative to the
    # folder above (an absolute path that long is refused by the kernel).
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(21):
            os.mkdir("d" * 200, dir_fd=fd)
            fd, parent = os.open("d" * 200, os.O_RDONLY, dir_fd=fd), fd
            os.close(parent)
    finally:
        os.close(fd)
    found = [p for p in check_paths(tmp_path) if p.kind == "path"]
    assert found and all(p.size > 4096 for p in found)


def test_check_identifier_before_a_run() -> None:
    pattern = "reports/{model_name}{model_identifier,[^/]+}_{status}/out.csv"
    long_args = ":" + "+".join(f"key{i}=value{i}" for i in range(30))
    found = check_identifier(
        pattern, model_name="M", model_identifier=f"{long_args}_42_data", status="trained"
    )
    assert [p.kind for p in found] == ["component"]
    short = check_identifier(
        pattern, model_name="M", model_identifier=":hash=3fce9ecb", status="trained"
    )
    assert short == []
    with pytest.raises(IdentifierError, match="status"):
        check_identifier(pattern, model_name="M", model_identifier="x")


def test_a_missing_root_is_an_error_not_an_empty_report(tmp_path: Path) -> None:
    from cubie_hash import PathError

    with pytest.raises(PathError, match="not a folder"):
        check_paths(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(PathError, match="file"):
        check_paths(tmp_path / "file")


def deep_tree(root: Path, levels: int, name: str = "d" * 200) -> str:
    """``levels`` folders of ``name`` nested under ``root``, then a file ``bottom``: made one
    level at a time relative to the folder above (the kernel refuses a path that long whole).
    Returns the bottom file's path."""
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(levels):
            os.mkdir(name, dir_fd=fd)
            fd, parent = os.open(name, os.O_RDONLY, dir_fd=fd), fd
            os.close(parent)
        os.close(os.open("bottom", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
    finally:
        os.close(fd)
    return os.path.join(root, *[name] * levels, "bottom")


def test_nothing_below_path_max_is_skipped(tmp_path: Path) -> None:
    # os.walk cannot list a folder whose path is over PATH_MAX and silently skipped it: the
    # bottom file, 6,000 bytes down, was never reported.
    bottom = deep_tree(tmp_path, 30)
    found = check_paths(tmp_path)
    levels = [os.path.join(tmp_path, *["d" * 200] * i) for i in range(1, 31)]
    expected = [p for p in [*levels, bottom] if len(os.path.abspath(p)) > 4096]
    assert [p.path for p in found] == sorted(expected)
    assert {p.kind for p in found} == {"path"}
    assert bottom in expected


UNPRIVILEGED = "nobody"


def check_paths_unprivileged(root: Path) -> list[PathProblem]:
    """``check_paths(root)`` in a forked child that permissions apply to: switched to the user
    ``nobody`` when the tests run as root (root reads a chmod 000 folder anyway).

    Forked, not spawned: a new interpreter run as nobody may not be able to read this one's
    files (a Python under /root, say)."""
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam(UNPRIVILEGED)
        except KeyError:
            pytest.skip(f"running as root and there is no user {UNPRIVILEGED!r} to drop to")
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns about forking a threaded process
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: drop privileges, check, report, and exit without cleanup
        status = 1
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)
            problems = [dataclasses.asdict(p) for p in check_paths(root)]
            with os.fdopen(write_end, "w") as out:
                json.dump(problems, out)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as report:
        text = report.read()
    _, wait_status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(wait_status) == 0, "the child crashed"
    return [PathProblem(**p) for p in json.loads(text)]


def test_a_folder_it_cannot_read_is_reported_not_skipped() -> None:
    # Not tmp_path: pytest makes its base folder 0700, so nobody could reach anything in it.
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        (root / "ok").mkdir()
        (root / "ok" / "file").write_text("x")
        locked = root / "locked"
        (locked / ("x" * 250)).mkdir(parents=True)
        (locked / ("x" * 250) / ("y" * 250)).write_text("would be fine, but is never seen")
        locked.chmod(0o000)
        try:
            found = check_paths_unprivileged(root)
        finally:
            locked.chmod(0o755)
    assert found == [PathProblem(str(locked), "unreadable", 0, 0, reason="Permission denied")]
    assert str(found[0]).endswith(
        ": cannot be read (Permission denied); nothing under it was checked"
    )


def test_an_unreadable_root_is_reported_too() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o000)
        try:
            found = check_paths_unprivileged(root)
        finally:
            root.chmod(0o755)
    assert [(p.path, p.kind) for p in found] == [(str(root), "unreadable")]
