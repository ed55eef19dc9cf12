"""Path length checks: find what overflows 255 bytes per component or 4096 per path.

Lengths are counted in bytes of UTF-8 (what Linux file systems limit), not characters.

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
    """One path, or one component of it, over its limit."""

    path: str
    kind: Literal["component", "path"]
    size: int
    limit: int
    component: str = ""

    def __str__(self) -> str:
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


def check_paths(
    root: str | os.PathLike[str], *, name_max: int = NAME_MAX, path_max: int = PATH_MAX
) -> list[PathProblem]:
    """Every file or folder under ``root`` with a component or whole path over the limits.

    Symlinks are listed but not followed.  Full paths are measured absolute.

    Raises:
        PathError: ``root`` is not an existing folder (an empty list would read as "all fine").

    Example:
        >>> check_paths("results")  # doctest: +SKIP
        []
    """
    if not os.path.isdir(root):
        raise PathError(f"{os.fspath(root)!r} is not a folder: nothing to check")
    found = []
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            found.extend(_problems(os.path.join(folder, name), name_max, path_max))
    return found


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
