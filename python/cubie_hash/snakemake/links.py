"""Hashed folder links ``NAME:hash=<hex>`` → ``NAME:ARGS_SEED_DATA`` and the way back.

:func:`link_hashed` is the side effect of the seed's ``train_model`` checkpoint, made safe: the
link is relative and made by ``symlink`` straight to its final name, which fails when the name
exists, so of many jobs racing to claim one hash exactly one wins (the others get
:class:`HashCollisionError`, or success when they link the very same model).  The ``.hash``
file is written only by a job whose link stands.  A link is never moved to another folder,
and a dangling, looping or stale link is a :class:`LinkError` naming it, never taken as valid.
Where symlinks cannot be made, a real folder of hard links (copies where those fail) stands in
for it.  :func:`resolve` and :func:`scan_links` read links back to full identifiers.

Example:
    >>> link = link_hashed("models/DyRCNNx8:tsteps=20+dt=2_42_imagenette")  # doctest: +SKIP
    >>> link.name, os.readlink(link)                                        # doctest: +SKIP
    ('DyRCNNx8:hash=3fce9ecb', 'DyRCNNx8:tsteps=20+dt=2_42_imagenette')
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cubie_hash.errors import (
    CubieHashError,
    HashCollisionError,
    IdentifierError,
    LinkError,
    PathError,
)
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


#: The temporary names this module makes beside what it writes (never copied into stand-ins:
#: another job may be about to rename or remove them).
_TEMPORARY = re.compile(r"\..*\.[0-9a-f]{8}\.tmp")


def _temporary(path: str | os.PathLike[str]) -> Path:
    """A fresh temporary name beside ``path``, matching ``_TEMPORARY``."""
    path = Path(path)
    return path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename: never half written.

    The file is created with mode 0666 less the umask, like any file the user makes (so group
    members can read it where the umask lets them); ``mkstemp`` would make it 0600.  A rename,
    not a rewrite in place: ``path`` may be a hard link shared with a stand-in folder, and a
    reader must never see it empty.
    """
    tmp = _temporary(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _claimed_by(link: Path) -> str | None:
    """The full identifier ``link`` stands for now, or None when nothing is there.

    Raises:
        LinkError: ``link`` is a dangling symlink (its model folder is gone), a symlink loop,
            or neither a link nor a folder.
    """
    try:
        mode = os.lstat(link).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(mode):
        target = os.readlink(link)
        try:
            followed = os.stat(link).st_mode
        except OSError as err:
            if err.errno == errno.ENOENT:
                raise LinkError(
                    f"{link} is a dangling link: it points to {target!r}, which does not exist "
                    "(model folder deleted or moved?); remove the link or restore the folder"
                ) from None
            if err.errno == errno.ELOOP:
                raise LinkError(
                    f"{link} is a symlink loop (it points to {target!r}); remove it"
                ) from None
            raise LinkError(f"{link} -> {target!r} cannot be followed: {err}") from err
        if not stat.S_ISDIR(followed):
            raise LinkError(f"{link} points to {target!r}, which is not a folder")
        return os.path.basename(target.rstrip("/\\"))
    if stat.S_ISDIR(mode):
        return _read_hash_file(link, HASHED_NAME.fullmatch(link.name))
    raise LinkError(f"{link} exists and is neither a link nor a folder")


def _read_hash_file(folder: Path, match: re.Match[str] | None) -> str:
    hex_ = match["hex"] if match else "*"
    found = sorted(folder.glob(f"{hex_}.hash"))
    if len(found) != 1:
        raise LinkError(f"{folder}: expected one {hex_}.hash file naming the full identifier")
    try:
        return found[0].read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise LinkError(f"{found[0]} cannot be read as the full identifier: {err}") from err


def _stands_for(link: Path, full: Path) -> bool:
    """True when ``link`` already stands for ``full``, False when nothing is there.

    Raises:
        HashCollisionError: ``link`` stands for another model.
        LinkError: ``link`` is dangling or a loop, or points to a folder of ``full``'s name
            elsewhere (a stale link, from a copied tree say): taking it would read another
            model's files.
    """
    claimed = _claimed_by(link)
    if claimed is None:
        return False
    if claimed != full.name:
        raise HashCollisionError(
            f"{link.name} is claimed by two models: {claimed!r} (existing) and {full.name!r} "
            f"(new) under {link.parent}; use a longer hash length"
        )
    if link.is_symlink() and not os.path.samefile(link, full):
        raise LinkError(
            f"{link} points to {os.readlink(link)!r}, a folder of that name elsewhere, not to "
            f"{full}: a stale link; remove it and link again"
        )
    return True


def _hardlink_or_copy(src: str, dst: str) -> None:
    """Put a hard link to ``src`` (a copy where that fails) at ``dst``, replacing what is there
    by a rename: another job may be reading ``dst`` (a stand-in's ``.hash``) right now."""
    if os.path.exists(dst) and os.path.samefile(src, dst):
        return
    tmp = _temporary(dst)
    try:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copy2(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def _skip_temporary(_folder: str, names: list[str]) -> list[str]:
    return [n for n in names if _TEMPORARY.fullmatch(n)]


def _copy_into(full: Path, folder: Path) -> None:
    """Mirror ``full``'s files into ``folder`` as hard links (or copies)."""
    shutil.copytree(
        full, folder, copy_function=_hardlink_or_copy, ignore=_skip_temporary, dirs_exist_ok=True
    )


def _warn_fallback(link: Path, reason: BaseException) -> None:
    global _fallback_warned
    if not _fallback_warned:
        _fallback_warned = True
        warnings.warn(
            f"cannot make symlinks under {link.parent} ({reason}); hashed names are folders of "
            "hard links (copies where those fail) from now on",
            LinkFallbackWarning,
            stacklevel=4,
        )


def _make_stand_in(link: Path, full: Path, hash_name: str, reason: BaseException) -> None:
    """Stand-in for a symlink: a real folder of hard links (or copies) of ``full``'s files.

    Built under a temporary name with its ``.hash`` file, then renamed into place; the rename
    fails when another job's stand-in got there first (a folder that is not empty), and the
    caller then reads whose it is.
    """
    _warn_fallback(link, reason)
    tmp = _temporary(link)
    try:
        _copy_into(full, tmp)
        _write_atomic(tmp / hash_name, full.name + "\n")
        os.rename(tmp, link)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise LinkError(f"cannot make {link}: symlink failed ({reason}), {err}") from err
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

    Makes the relative symlink ``NAME:hash=<hex>`` → ``full_dir``'s name with one ``symlink``
    call that fails if the name exists, then writes ``<hex>.hash`` (holding the full
    identifier) into ``full_dir``.  Idempotent when the link already points there; safe when
    many jobs link at once: one model wins a hash, every other gets HashCollisionError and
    writes nothing.  Returns the link's path.

    Raises:
        IdentifierError: ``full_dir``'s name is not a full identifier.
        HashCollisionError: the hashed name already stands for another model (both named).
        LinkError: ``full_dir`` is not a folder; the hashed name is a dangling link, a loop or
            a stale link to a folder of that name elsewhere; or no link can be made.

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
    link = full.parent / f"{ident.name}{token}"
    if _stands_for(link, full):
        if not link.is_symlink():  # an earlier stand-in for this very model: bring it up to date
            _warn_fallback(link, LinkError("stand-in folder"))
            _copy_into(full, link)
    else:
        try:
            os.symlink(full.name, link, target_is_directory=True)
        except FileExistsError:
            pass  # another job was first: whose link it is is read below
        except (OSError, NotImplementedError) as err:
            _make_stand_in(link, full, hash_file.name, err)
        if not _stands_for(link, full):
            raise LinkError(f"{link} vanished right after it was made")
    # Only now, the link standing for this model: a job that lost the race writes nothing.
    try:
        written = hash_file.read_text("utf-8").strip() if hash_file.is_file() else None
    except UnicodeDecodeError:  # corrupt: written anew below
        written = None
    if written != full.name:
        _write_atomic(hash_file, full.name + "\n")
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
    try:
        hashes = {ident.hash(len(hex_), algorithm, canonical) for canonical in (False, True)}
    except CubieHashError as err:  # more hex digits than the algorithm has
        raise LinkError(f"{link}: {err}") from err
    if ident.name != match["name"] or f":hash={hex_}" not in hashes:
        raise LinkError(f"{link} points to {claimed!r}, whose hash is not {hex_}")
    return ResolvedLink(link, ident, link.is_symlink())


def _scan(root: str | os.PathLike[str], algorithm: AlgorithmName) -> _Scan:
    if not os.path.isdir(root):
        raise PathError(f"{os.fspath(root)!r} is not a folder: no links to scan")
    scan = _Scan([], [])

    def unreadable(err: OSError) -> None:
        scan.broken.append((Path(err.filename or root), LinkError(f"cannot read: {err}")))

    for folder, dirs, files in os.walk(root, onerror=unreadable):
        for name in (*dirs, *files):
            if HASHED_NAME.fullmatch(name):
                try:
                    scan.found.append(_resolve_entry(Path(folder, name), algorithm))
                except LinkError as err:
                    scan.broken.append((Path(folder, name), err))
        # Do not descend into stand-in folders: their content is the model's, listed once.
        dirs[:] = [d for d in dirs if not HASHED_NAME.fullmatch(d)]
    scan.found.sort(key=lambda r: str(r.link))
    return scan


@dataclass
class _Scan:
    found: list[ResolvedLink]
    #: Hashed names that do not resolve (dangling, loops, lying names) and unreadable folders.
    broken: list[tuple[Path, LinkError]]


def _broken_error(broken: list[tuple[Path, LinkError]], where: object) -> LinkError:
    lines = "".join(f"\n  {err}" for _, err in broken)
    return LinkError(f"{len(broken)} broken hashed link(s) under {where}:{lines}")


def scan_links(
    root: str | os.PathLike[str], *, algorithm: AlgorithmName = "md5"
) -> list[ResolvedLink]:
    """Every hashed link (or stand-in folder) under ``root``, with its full form, by path.

    Links are not followed, so each model is listed once.  Nothing is skipped: a dangling link
    (its model folder deleted), a loop, a name whose hash does not match, or a folder that
    cannot be read makes the scan fail with one error listing every such path.

    Raises:
        PathError: ``root`` is not a folder.
        LinkError: broken links under ``root``, all named.

    Example:
        >>> [r.full for r in scan_links("models")]  # doctest: +SKIP
        ['DyRCNNx8:tsteps=20+dt=2_42_imagenette']
    """
    scan = _scan(root, algorithm)
    if scan.broken:
        raise _broken_error(scan.broken, os.fspath(root))
    return scan.found


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
        PathError: ``root`` is given but is not a folder.
        LinkError: nothing found; a dangling link (its model folder deleted), a loop or a
            link whose hash does not match; or a hash that matches several models.

    Example:
        >>> resolve("models/DyRCNNx8:hash=3fce9ecb").identifier.params  # doctest: +SKIP
        (('tsteps', '20'), ('dt', '2'))
    """
    if root is not None and not os.path.isdir(root):
        raise PathError(f"{os.fspath(root)!r} is not a folder: nothing to resolve under it")
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

    def wanted(link: Path, model: str) -> bool:
        return link.name.endswith(f":hash={hex_}") and (not name or model == name)

    scan = _scan(root, algorithm)
    matches = [r for r in scan.found if wanted(r.link, r.identifier.name)]
    # A broken link of that hash may be the answer (dangling: its model was deleted), so it
    # is reported; broken links of other hashes are none of this lookup's business.
    broken = [(p, e) for p, e in scan.broken if wanted(p, p.name.partition(":")[0])]
    if broken:
        raise _broken_error(broken, root)
    if not matches:
        raise LinkError(f"no hashed link for {text!r} under {root}")
    if len({r.full for r in matches}) > 1:
        listed = ", ".join(repr(r.full) for r in matches)
        raise LinkError(f"{text!r} matches several models under {root}: {listed}")
    return matches[0]
