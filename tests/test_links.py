"""Hashed folder links on the real file system: relative, atomic, idempotent, collision-safe."""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from cubie_hash import CubieHashError, HashCollisionError, IdentifierError, LinkError, PathError
from cubie_hash.snakemake import (
    LinkFallbackWarning,
    check_paths,
    link_hashed,
    resolve,
    scan_links,
)
from cubie_hash.snakemake import links as links_module
from hypothesis import example, given
from hypothesis import strategies as st

FULL = "DyRCNNx8:tsteps=20+dt=2_42_imagenette"


def model(root: Path, name: str = FULL) -> Path:
    folder = root / "models" / name
    folder.mkdir(parents=True)
    (folder / "trained.pt").write_text("weights")
    return folder


def test_link_is_relative_and_documented(tmp_path: Path) -> None:
    full = model(tmp_path)
    link = link_hashed(full)
    assert link == tmp_path / "models" / "DyRCNNx8:hash=3fce9ecb"
    assert os.readlink(link) == FULL  # relative: survives moving the whole folder
    assert (link / "trained.pt").read_text() == "weights"
    assert (full / "3fce9ecb.hash").read_text() == FULL + "\n"
    leftovers = [p.name for p in full.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temporary names left behind


def test_idempotent(tmp_path: Path) -> None:
    full = model(tmp_path)
    first = link_hashed(full)
    inode = os.lstat(first).st_ino
    assert link_hashed(full) == first
    assert os.lstat(first).st_ino == inode  # left alone, not re-made


def test_collision_names_both_and_keeps_the_old_link(tmp_path: Path) -> None:
    full = model(tmp_path)
    other = "DyRCNNx8:tsteps=99_1_other"
    model(tmp_path, other)
    link = full.parent / "DyRCNNx8:hash=3fce9ecb"
    os.symlink(other, link)  # as if `other` had hashed to the same name
    with pytest.raises(HashCollisionError) as info:
        link_hashed(full)
    assert FULL in str(info.value) and other in str(info.value)
    assert os.readlink(link) == other


def test_refuses_bad_folders(tmp_path: Path) -> None:
    with pytest.raises(LinkError, match="not a folder"):
        link_hashed(tmp_path / FULL)
    bad = tmp_path / "M:a==1_2_d"
    bad.mkdir()
    with pytest.raises(IdentifierError, match="position 4"):
        link_hashed(bad)


def test_fallback_without_symlinks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Stands in for file systems without symlinks (some network shares, Windows).
    def no_symlinks(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    monkeypatch.setattr(links_module, "_fallback_warned", False)
    full = model(tmp_path)
    with pytest.warns(LinkFallbackWarning, match="hard links"):
        link = link_hashed(full)
    assert link.is_dir() and not link.is_symlink()
    assert os.path.samefile(link / "trained.pt", full / "trained.pt")
    (full / "more.pt").write_text("x")
    assert link_hashed(full) == link  # no second warning; brought up to date
    assert (link / "more.pt").exists()
    assert resolve(link).full == FULL
    assert [r.full for r in scan_links(tmp_path)] == [FULL]


def test_resolve_by_path_and_by_hash(tmp_path: Path) -> None:
    full = model(tmp_path)
    link = link_hashed(full)
    second = link_hashed(model(tmp_path, "AlexNet:tsteps=5_7_cifar"))
    resolved = resolve(link)
    assert resolved.full == FULL and resolved.is_symlink
    assert resolved.identifier.params == (("tsteps", "20"), ("dt", "2"))
    for form in ("3fce9ecb", "hash=3fce9ecb", ":hash=3fce9ecb", "DyRCNNx8:hash=3fce9ecb"):
        assert resolve(form, tmp_path).link == link
    assert [r.link for r in scan_links(tmp_path)] == sorted([link, second])
    with pytest.raises(LinkError, match="no hashed link"):
        resolve("deadbeef", tmp_path)
    with pytest.raises(LinkError, match="root="):
        resolve("deadbeef")


def test_resolve_refuses_a_link_whose_name_lies(tmp_path: Path) -> None:
    model(tmp_path)
    liar = tmp_path / "models" / "DyRCNNx8:hash=00000000"
    os.symlink(FULL, liar)
    with pytest.raises(LinkError, match="whose hash is not 00000000"):
        resolve(liar)


def test_a_dangling_link_is_reported_not_resolved(tmp_path: Path) -> None:
    full = model(tmp_path)
    link = link_hashed(full)
    kept = link_hashed(model(tmp_path, "AlexNet:tsteps=5_7_cifar"))
    shutil.rmtree(full)  # the model folder is deleted, its link left behind
    dangling = rf"{re.escape(str(link))} is a dangling link: .*{re.escape(FULL)}"
    with pytest.raises(LinkError, match=dangling):
        resolve(link)
    with pytest.raises(LinkError, match="1 broken hashed link.*dangling"):
        scan_links(tmp_path)
    with pytest.raises(LinkError, match="dangling"):
        resolve("3fce9ecb", tmp_path)
    assert resolve(kept.name.partition(":")[2], tmp_path).link == kept  # others still resolve
    (tmp_path / "models" / FULL).mkdir()
    assert link_hashed(full) == link  # the same model, back again: fine
    # A dead link of another model is no free name either: it is named, not replaced.
    os.unlink(link)
    os.symlink("DyRCNNx8:tsteps=99_1_deleted", link)
    with pytest.raises(LinkError, match="dangling link: it points to 'DyRCNNx8:tsteps=99"):
        link_hashed(full)
    assert os.readlink(link) == "DyRCNNx8:tsteps=99_1_deleted"


def test_a_stale_link_to_another_folder_of_the_same_name_is_refused(tmp_path: Path) -> None:
    old_tree = model(tmp_path / "old")
    full = model(tmp_path)
    link = full.parent / "DyRCNNx8:hash=3fce9ecb"
    os.symlink(os.path.relpath(old_tree, link.parent), link)  # same basename, other folder
    with pytest.raises(LinkError, match="a folder of that name elsewhere.*stale"):
        link_hashed(full)
    assert os.readlink(link) == os.path.relpath(old_tree, link.parent)
    assert not list(full.glob("*.hash"))
    os.unlink(link)
    os.symlink(full.resolve(), link)  # absolute, but to this very folder: accepted
    assert link_hashed(full) == link


@pytest.mark.parametrize("loop", ["self", "pair"])
def test_a_symlink_loop_is_a_link_error_naming_it(tmp_path: Path, loop: str) -> None:
    full = model(tmp_path)
    link = full.parent / "DyRCNNx8:hash=3fce9ecb"
    if loop == "self":
        os.symlink(link.name, link)
    else:
        os.symlink("other", link)
        os.symlink(link.name, full.parent / "other")
    with pytest.raises(LinkError, match=rf"{re.escape(str(link))} is a symlink loop"):
        link_hashed(full)
    with pytest.raises(LinkError, match="symlink loop"):
        resolve(link)
    with pytest.raises(LinkError, match="symlink loop"):
        scan_links(tmp_path)
    looped_model = tmp_path / "models" / "M:a=1_1_d"
    os.symlink(looped_model.name, looped_model)
    with pytest.raises(LinkError, match="not a folder"):
        link_hashed(looped_model)


@pytest.mark.parametrize("umask", [0o002, 0o022, 0o077])
def test_hash_files_follow_the_umask(tmp_path: Path, umask: int) -> None:
    full = model(tmp_path)
    old = os.umask(umask)
    try:
        link_hashed(full)
    finally:
        os.umask(old)
    mode = stat.S_IMODE(os.stat(full / "3fce9ecb.hash").st_mode)
    assert mode == 0o666 & ~umask  # group members read it where the umask lets them


def test_scan_and_resolve_refuse_a_missing_root(tmp_path: Path) -> None:
    with pytest.raises(PathError, match="not a folder"):
        scan_links(tmp_path / "missing")
    with pytest.raises(PathError, match="not a folder"):
        resolve("3fce9ecb", tmp_path / "missing")


# Folder names as Linux hands them to Python: any text, with non-UTF-8 bytes as lone surrogates.
odd_names = st.lists(
    st.one_of(
        st.characters(exclude_categories=()),
        st.sampled_from(["\udcff", "\ud800", "_", ":", "+", "=", "a=1", "hash=", "é", "\u202e"]),
    ),
    min_size=1,
    max_size=40,
).map("".join)


# ... and names shaped like full identifiers, so that many of them link.
shaped_names = st.tuples(odd_names, odd_names, odd_names).map(lambda t: "M:a={}_{}_{}".format(*t))


@given(name=st.one_of(odd_names, shaped_names), query=odd_names)
@example(name="M:a=\udcff_1_d", query="\udcff").via("a non-UTF-8 folder name")
def test_odd_folder_names_link_resolve_or_refuse(name: str, query: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp, name)
        try:
            folder.mkdir()
        except (OSError, ValueError):  # "/", NUL, "." or over 255 bytes: no such folder
            return
        try:
            link = link_hashed(folder)
        except CubieHashError:
            link = None
        if link is not None:
            assert resolve(link).full == name
            assert [r.full for r in scan_links(tmp)] == [name]
            assert resolve(link.name.partition(":hash=")[2], tmp).link == link
        try:
            resolve(query, tmp)
        except CubieHashError:
            pass
        assert all(p.kind != "unreadable" for p in check_paths(tmp))


def test_corrupt_hash_files_are_rewritten_or_reported(tmp_path: Path) -> None:
    full = model(tmp_path)
    (full / "3fce9ecb.hash").write_bytes(b"\xff\xfe garbage")
    link = link_hashed(full)
    assert (full / "3fce9ecb.hash").read_text() == FULL + "\n"  # the model's own: rewritten
    os.unlink(link)
    stand_in = full.parent / "DyRCNNx8:hash=3fce9ecb"
    stand_in.mkdir()
    (stand_in / "3fce9ecb.hash").write_bytes(b"\xff")
    with pytest.raises(LinkError, match="cannot be read as the full identifier"):
        resolve(stand_in)
