"""Hashed folder links ``NAME:hash=<hex>`` → ``NAME:ARGS_SEED_DATA`` and the way back.

:func:`link_hashed` is the side effect of the seed's ``train_model`` checkpoint, made safe: the
link is relative, appears atomically, is left alone when it already points to the same folder,
and is never moved to another folder (that is a :class:`HashCollisionError`).  Where symlinks
cannot be made, a real folder of hard links (copies where those fail) stands in for it.
:func:`resolve` and :func:`scan_links` read links back to full identifiers.

Example:
    >>> link = link_hashed("models/DyRCNNx8:tsteps=20+dt=2_42_imagenette")  # doctest: +SKIP
    >>> link.name, os.readlink(link)                                        # doctest: +SKIP
    ('DyRCNNx8:hash=3fce9ecb', 'DyRCNNx8:tsteps=20+dt=2_42_imagenette')
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cubie_hash.errors import HashCollisionError, IdentifierError, LinkError
from cubie_hash.snakemake.identifiers import ModelIdentifier

if TYPE_CHECKING:
    from cubie_hash._core import AlgorithmName

__all__ = ["LinkFallbackWarning", "ResolvedLink", "link_hashed", "resolve", "scan_links"]

#: The name of a hashed link: model name, then the hash token.
HASHED_NAME = re.compile(r"(?P<name>[^/]*):hash=(?P<hex>[0-9a-f]+)")


class LinkFallbackWarning(UserWarning):
    """Symlinks could not be made; hashed names are real folders of hard links or copies."""


_fallback_warned = False


@dataclass(frozen=True)
class ResolvedLink:
    """A hashed link (or stand-in folder) and the full identifier it stands for."""

    link: Path
    identifier: ModelIdentifier
    is_symlink: bool

    @property
    def full(self) -> str:
        """The full identifier text."""
        return str(self.identifier)


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename: never half written."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _claimed_by(link: Path) -> str | None:
    """The full identifier ``link`` stands for now, or None when nothing is there."""
    if link.is_symlink():
        return os.path.basename(os.readlink(link).rstrip("/\\"))
    if link.is_dir():
        return _read_hash_file(link, HASHED_NAME.fullmatch(link.name))
    if link.exists():
        raise LinkError(f"{link} exists and is neither a link nor a folder")
    return None


def _read_hash_file(folder: Path, match: re.Match[str] | None) -> str:
    hex_ = match["hex"] if match else "*"
    found = sorted(folder.glob(f"{hex_}.hash"))
    if len(found) != 1:
        raise LinkError(f"{folder}: expected one {hex_}.hash file naming the full identifier")
    return found[0].read_text("utf-8").strip()


def _check_claim(link: Path, full: Path) -> bool:
    """True when ``link`` already stands for ``full``; HashCollisionError when for another."""
    claimed = _claimed_by(link)
    if claimed is None:
        return False
    if claimed == full.name or (link.is_symlink() and link.resolve() == full.resolve()):
        return True
    raise HashCollisionError(
        f"{link.name} is claimed by two models: {claimed!r} (existing) and {full.name!r} "
        f"(new) under {link.parent}; use a longer hash length"
    )


def _symlink_atomic(link: Path, target: str) -> None:
    """Make ``link`` → ``target`` under a temporary name, then rename it into place."""
    tmp = link.parent / f".{link.name}.{secrets.token_hex(4)}.tmp"
    os.symlink(target, tmp, target_is_directory=True)
    try:
        os.replace(tmp, link)
    except BaseException:
        os.unlink(tmp)
        raise


def _hardlink_or_copy(src: str, dst: str) -> None:
    if os.path.exists(dst) and os.path.samefile(src, dst):
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _mirror_folder(link: Path, full: Path, reason: BaseException) -> None:
    """Stand-in for a symlink: a real folder of hard links (or copies) of ``full``'s files."""
    global _fallback_warned
    if not _fallback_warned:
        _fallback_warned = True
        warnings.warn(
            f"cannot make symlinks under {link.parent} ({reason}); hashed names are folders of "
            "hard links (copies where those fail) from now on",
            LinkFallbackWarning,
            stacklevel=3,
        )
    if link.is_dir():  # an earlier stand-in for this very model: bring it up to date
        shutil.copytree(full, link, copy_function=_hardlink_or_copy, dirs_exist_ok=True)
        return
    tmp = Path(tempfile.mkdtemp(dir=link.parent, prefix=f".{link.name}."))
    try:
        shutil.copytree(full, tmp, copy_function=_hardlink_or_copy, dirs_exist_ok=True)
        os.rename(tmp, link)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def link_hashed(
    full_dir: str | os.PathLike[str],
    *,
    length: int = 8,
    algorithm: AlgorithmName = "md5",
    canonical: bool = False,
) -> Path:
    """Give the model folder ``full_dir`` its short name ``NAME:hash=<hex>`` beside it.

    Writes ``<hex>.hash`` (holding the full identifier) into ``full_dir`` and makes the
    relative symlink ``NAME:hash=<hex>`` → ``full_dir``'s name, atomically.  Idempotent when
    the link already points there.  Returns the link's path.

    Raises:
        IdentifierError: ``full_dir``'s name is not a full identifier.
        HashCollisionError: the hashed name already stands for another model (both named).
        LinkError: ``full_dir`` is not a folder, or neither a link nor a stand-in can be made.

    Example:
        >>> link_hashed("models/DyRCNNx8:tsteps=20+dt=2_42_imagenette")  # doctest: +SKIP
        PosixPath('models/DyRCNNx8:hash=3fce9ecb')
    """
    full = Path(full_dir)
    ident = ModelIdentifier.parse(full.name)
    if not full.is_dir():
        raise LinkError(f"{full} is not a folder; make the model folder before linking it")
    token = ident.hash(length, algorithm, canonical)
    hash_file = full / f"{token.removeprefix(':hash=')}.hash"
    if not hash_file.is_file() or hash_file.read_text("utf-8").strip() != full.name:
        _write_atomic(hash_file, full.name + "\n")
    link = full.parent / f"{ident.name}{token}"
    if _check_claim(link, full):
        if not link.is_symlink():
            _mirror_folder(link, full, LinkError("stand-in folder"))
        return link
    try:
        _symlink_atomic(link, full.name)
    except (OSError, NotImplementedError) as err:
        if isinstance(err, FileExistsError):
            raise
        try:
            _mirror_folder(link, full, err)
        except OSError as second:
            raise LinkError(f"cannot make {link}: symlink failed ({err}), {second}") from second
    # Two jobs racing to claim one name for different models: the loser sees it here.
    if not _check_claim(link, full):
        raise LinkError(f"{link} vanished right after it was made")
    return link


def _resolve_entry(link: Path, algorithm: AlgorithmName) -> ResolvedLink:
    match = HASHED_NAME.fullmatch(link.name)
    if match is None:
        raise LinkError(f"{link} is not a hashed name NAME:hash=<hex>")
    claimed = _claimed_by(link)
    if claimed is None:
        raise LinkError(f"{link} does not exist")
    try:
        ident = ModelIdentifier.parse(claimed)
    except IdentifierError as err:
        raise LinkError(f"{link} points to {claimed!r}, not a full identifier: {err}") from err
    hex_ = match["hex"]
    hashes = {ident.hash(len(hex_), algorithm, canonical) for canonical in (False, True)}
    if ident.name != match["name"] or f":hash={hex_}" not in hashes:
        raise LinkError(f"{link} points to {claimed!r}, whose hash is not {hex_}")
    return ResolvedLink(link, ident, link.is_symlink())


def scan_links(
    root: str | os.PathLike[str], *, algorithm: AlgorithmName = "md5"
) -> list[ResolvedLink]:
    """Every hashed link (or stand-in folder) under ``root``, with its full form, by path.

    Links are not followed, so each model is listed once.

    Example:
        >>> [r.full for r in scan_links("models")]  # doctest: +SKIP
        ['DyRCNNx8:tsteps=20+dt=2_42_imagenette']
    """
    found = []
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            if HASHED_NAME.fullmatch(name):
                found.append(_resolve_entry(Path(folder, name), algorithm))
        # Do not descend into stand-in folders: their content is the model's, listed once.
        dirs[:] = [d for d in dirs if not HASHED_NAME.fullmatch(d)]
    return sorted(found, key=lambda r: str(r.link))


def resolve(
    target: str | os.PathLike[str],
    root: str | os.PathLike[str] | None = None,
    *,
    algorithm: AlgorithmName = "md5",
) -> ResolvedLink:
    """The full identifier behind a hashed path, or behind a hash looked up under ``root``.

    ``target`` is a path to a hashed link (``models/DyRCNNx8:hash=3fce9ecb``), or a hash in any
    of the forms ``3fce9ecb``, ``hash=3fce9ecb``, ``:hash=3fce9ecb``, ``NAME:hash=3fce9ecb``,
    searched for under ``root``.  The link's hash is checked against its target.

    Raises:
        LinkError: nothing found, a broken link, or a hash that matches several models.

    Example:
        >>> resolve("models/DyRCNNx8:hash=3fce9ecb").identifier.params  # doctest: +SKIP
        (('tsteps', '20'), ('dt', '2'))
    """
    path = Path(target)
    if root is not None and not path.is_absolute():
        candidate = Path(root, path)
        path = candidate if os.path.lexists(candidate) else path
    if os.path.lexists(path):
        return _resolve_entry(path, algorithm)
    text = os.fspath(target)
    name, _, hex_ = text.rpartition("hash=")
    name = name.removesuffix(":")
    if not re.fullmatch(r"[0-9a-f]+", hex_) or "/" in text:
        raise LinkError(f"{text!r} is neither an existing path nor a hash")
    if root is None:
        raise LinkError(f"{text!r} is a hash: give the folder to search with root=")
    matches = [
        r
        for r in scan_links(root, algorithm=algorithm)
        if r.link.name.endswith(f":hash={hex_}") and (not name or r.identifier.name == name)
    ]
    if not matches:
        raise LinkError(f"no hashed link for {text!r} under {root}")
    if len({r.full for r in matches}) > 1:
        listed = ", ".join(repr(r.full) for r in matches)
        raise LinkError(f"{text!r} matches several models under {root}: {listed}")
    return matches[0]
