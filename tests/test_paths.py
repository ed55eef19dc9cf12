"""Path checks on real trees, and the limit this file system really enforces."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from cubie_hash import IdentifierError
from cubie_hash.snakemake import check_identifier, check_paths


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
