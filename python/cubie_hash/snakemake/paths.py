"""Path length checks: find what overflows 255 bytes per component or 4096 per path.

Lengths are counted in bytes of UTF-8 (what Linux file systems limit), not characters.
:func:`check_paths` reads every folder through a handle on its parent, so it reaches (and
reports) what lies below a path already over PATH_MAX, and it reports a folder it cannot read
as a problem of its own: an empty list always means "all checked, all fine".

Example:
    >>> [p.kind for p in check_identifier("reports/{model}/out.csv", model="M" * 300)]
    ['component']
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal

from cubie_hash.errors import IdentifierError, PathError

__all__ = ["NAME_MAX", "PATH_MAX", "PathProblem", "check_identifier", "check_paths"]

NAME_MAX = 255
PATH_MAX = 4096

_WILDCARD = re.compile(r"\{(\w+)(?:,[^{}]*)?\}")


@dataclass(frozen=True)
class PathProblem:
    """One path, or one component of it, over its limit; or a folder that could not be read.

    ``kind`` is ``"component"`` or ``"path"`` (``size`` bytes over ``limit``), or
    ``"unreadable"``: the folder at ``path`` could not be listed (``reason`` says why), so
    nothing under it was checked.
    """

    path: str
    kind: Literal["component", "path", "unreadable"]
    size: int
    limit: int
    component: str = ""
    reason: str = ""

    def __str__(self) -> str:
        if self.kind == "unreadable":
            return f"{self.path}: cannot be read ({self.reason}); nothing under it was checked"
        what = f"component {self.component!r}" if self.kind == "component" else "path"
        return f"{self.path}: {what} is {self.size} bytes, over {self.limit}"


def _problems(path: str, name_max: int, path_max: int) -> list[PathProblem]:
    found = []
    for part in path.split(os.sep):
        size = len(part.encode("utf-8", "surrogateescape"))
        if size > name_max:
            found.append(PathProblem(path, "component", size, name_max, part))
    size = len(os.path.abspath(path).encode("utf-8", "surrogateescape"))
    if size > path_max:
        found.append(PathProblem(path, "path", size, path_max))
    return found


def _unreadable(path: str, err: OSError) -> PathProblem:
    return PathProblem(path, "unreadable", 0, 0, reason=os.strerror(err.errno or 0))


#: Open a folder to list it: never through a symlink (they are listed, not followed).
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def check_paths(
    root: str | os.PathLike[str], *, name_max: int = NAME_MAX, path_max: int = PATH_MAX
) -> list[PathProblem]:
    """Every file or folder under ``root`` with a component or whole path over the limits,
    and every folder that could not be read (kind ``"unreadable"``), by path.

    Symlinks are listed but not followed.  Full paths are measured absolute.  Each folder is
    opened relative to its parent's handle, so nothing below a path over PATH_MAX is missed.

    Raises:
        PathError: ``root`` is not an existing folder (an empty list would read as "all fine").

    Example:
        >>> check_paths("results")  # doctest: +SKIP
        []
    """
    if not os.path.isdir(root):
        raise PathError(f"{os.fspath(root)!r} is not a folder: nothing to check")
    top = os.fspath(root)
    found: list[PathProblem] = []
    try:
        top_fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        return [_unreadable(top, err)]
    # Depth first with an explicit stack (a deep tree is no RecursionError): one open handle
    # per level, each closed once its folder's sub-folders are done.
    stack: list[tuple[str, int, list[str]]] = []
    pending: list[tuple[str, int]] = [(top, top_fd)]
    try:
        while pending or stack:
            if pending:
                path, fd = pending.pop()
                try:
                    with os.scandir(fd) as entries:
                        listed = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
                except OSError as err:
                    found.append(_unreadable(path, err))
                    os.close(fd)
                    continue
                for name, _ in listed:
                    found.extend(_problems(os.path.join(path, name), name_max, path_max))
                stack.append((path, fd, sorted(n for n, is_dir in listed if is_dir)))
            path, fd, subdirs = stack[-1]
            if not subdirs:
                os.close(fd)
                stack.pop()
                continue
            name = subdirs.pop()
            child = os.path.join(path, name)
            try:
                pending.append((child, os.open(name, _OPEN_DIR, dir_fd=fd)))
            except OSError as err:
                found.append(_unreadable(child, err))
    finally:  # an interrupt, say: no handle is left open
        for fd in [fd for _, fd, _ in stack] + [fd for _, fd in pending]:
            os.close(fd)
    return sorted(found, key=lambda p: (p.path, p.kind))


def check_identifier(
    pattern: str, /, *, name_max: int = NAME_MAX, path_max: int = PATH_MAX, **wildcards: object
) -> list[PathProblem]:
    """Say before a run whether ``pattern`` filled with ``wildcards`` overflows.

    ``pattern`` is a Snakemake path pattern (``{name}`` or ``{name,regex}`` wildcards).

    Raises:
        IdentifierError: a wildcard of the pattern has no value.

    Example:
        >>> check_identifier("models/{model_name}{model_args}/x", model_name="M",
        ...                  model_args=":a=1")
        []
    """

    def fill(match: re.Match[str]) -> str:
        name = match[1]
        if name not in wildcards:
            raise IdentifierError(f"wildcard {{{name}}} of {pattern!r} has no value")
        return str(wildcards[name])

    return _problems(_WILDCARD.sub(fill, pattern), name_max, path_max)
