"""Where the cache lives: a directory resolved and checked component by component, then held open.

Whoever can write to a directory the cache reads from can make this process run their code,
so the root is resolved here without trusting any path: starting at ``/``, each component is
looked at (``lstat``) and opened with ``O_NOFOLLOW`` relative to its parent's descriptor.
A directory on the way must belong to this user or to root and must not be writable by anyone
else unless it is sticky (like ``/tmp``: others cannot rename what is ours there); a symlink
on the way must belong to this user or to root (someone else's symlink can be re-pointed after
the check).  The root itself must belong to this user and be writable by no one else.
The descriptor that comes back is what the cache uses from then on: re-pointing a path
component afterwards changes nothing this process reads.

``allow_shared`` turns the ownership and mode checks off (symlinks inside the cache are still
refused); it is the explicit opt-in for a cache that a team shares.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from pathlib import Path

from cubie_hash.codegen.files import open_dir_at
from cubie_hash.errors import CacheError

__all__ = ["ENV_ALLOW_SHARED", "check_private", "open_checked_dir"]

ENV_ALLOW_SHARED = "CUBIE_HASH_CACHE_ALLOW_SHARED"
_MAX_SYMLINKS = 40
_WRITE_OTHERS = stat.S_IWGRP | stat.S_IWOTH


def _private_group(gid: int) -> bool:
    """Whether ``gid`` is this user's private group (the user-private-group convention).

    Under that convention (RHEL, Debian) every user has a group of their own name with no
    other member, and the umask is 002: group write on such a group lets no one else in.
    """
    import grp
    import pwd

    try:
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(gid)
    except KeyError:
        return False
    return gid == os.getgid() and group.gr_name == user and set(group.gr_mem) <= {user}


def _redirectable(st: os.stat_result) -> str | None:
    """Why another user could replace what lies under the directory ``st``, or None."""
    if st.st_uid not in (0, os.getuid()):
        return f"it belongs to another user (uid {st.st_uid})"
    if st.st_mode & stat.S_ISVTX:
        return None  # sticky: others may add names but not rename or remove ours
    if st.st_mode & stat.S_IWOTH:
        return f"other users can write to it (mode {stat.filemode(st.st_mode)})"
    if st.st_mode & stat.S_IWGRP and not _private_group(st.st_gid):
        return f"its group (gid {st.st_gid}) can write to it (mode {stat.filemode(st.st_mode)})"
    return None


def check_private(st: os.stat_result, path: str | os.PathLike[str], what: str) -> None:
    """Raise :class:`CacheError` unless ``st`` is a directory of this user no one else can write.

    A directory that is group-writable only because of the umask (002) is refused too: the
    message says how to fix it.

    Example:
        >>> import os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> check_private(os.stat(d), d, "cache root")
        >>> os.chmod(d, 0o775)
        >>> check_private(os.stat(d), d, "cache root")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        cubie_hash.errors.CacheError: cache root ... is writable by its group ...
    """
    fix = (
        f"make it private with `chmod go-w {path}`, or opt in to a shared cache with "
        f"allow_shared=True or {ENV_ALLOW_SHARED}=1"
    )
    if not stat.S_ISDIR(st.st_mode):
        raise CacheError(f"{what} {path} is not a directory")
    if st.st_uid != os.getuid():
        raise CacheError(
            f"{what} {path} belongs to another user (uid {st.st_uid}): whoever owns it can "
            f"make this process run their code; use a directory of your own, or opt in with "
            f"allow_shared=True or {ENV_ALLOW_SHARED}=1"
        )
    if st.st_mode & stat.S_IWOTH:
        raise CacheError(
            f"{what} {path} is writable by other users (mode {stat.filemode(st.st_mode)}): "
            f"anyone who can write there can make this process run their code; {fix}"
        )
    if st.st_mode & stat.S_IWGRP:
        raise CacheError(
            f"{what} {path} is writable by its group (gid {st.st_gid}, mode "
            f"{stat.filemode(st.st_mode)}; a umask of 002 makes directories so): group members "
            f"could make this process run their code; {fix}"
        )


def _parts(path: str, *, from_link: bool) -> list[tuple[str, bool]]:
    return [(part, from_link) for part in path.split("/") if part not in ("", ".")]


def open_checked_dir(
    path: str | os.PathLike[str], *, create: bool, allow_shared: bool, what: str
) -> tuple[int, Path]:
    """A descriptor of the directory ``path`` and its resolved path, every component checked.

    Missing components are made (mode 0700) when ``create`` is set, but only below components
    that passed the check, and never at the end of a symlink (a dangling link is an error).

    Raises:
        CacheError: ``path`` is not a directory, is a dangling symlink, or passes through a
            component another user could redirect; the message names the component.

    Example:
        >>> import os, tempfile
        >>> fd, resolved = open_checked_dir(tempfile.mkdtemp() + "/a/b", create=True,
        ...                                 allow_shared=False, what="cache root")
        >>> resolved.name, oct(os.fstat(fd).st_mode & 0o777)
        ('b', '0o700')
    """
    given = os.fspath(path)
    if not given:
        raise CacheError(f"{what} must not be an empty path")
    absolute = given if os.path.isabs(given) else os.path.join(os.getcwd(), given)
    pending = deque(_parts(absolute, from_link=False))
    stack: list[tuple[int, str]] = [(os.open("/", os.O_RDONLY | os.O_DIRECTORY), "")]
    links = 0

    def here() -> str:
        return "/".join(name for _, name in stack) or "/"

    try:
        while pending:
            name, from_link = pending.popleft()
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop()[0])
                continue
            parent = stack[-1][0]
            shown = f"{here().rstrip('/')}/{name}"
            try:
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                if from_link:
                    raise CacheError(
                        f"{what} {given} is a dangling symlink: {shown} does not exist"
                    ) from None
                if not create:
                    raise CacheError(f"{what} {given} does not exist ({shown})") from None
                stack.append((open_dir_at(parent, name, create=True), name))
                continue
            if stat.S_ISLNK(st.st_mode):
                if not allow_shared and st.st_uid not in (0, os.getuid()):
                    raise CacheError(
                        f"{what} {given} goes through {shown}, a symlink owned by another user "
                        f"(uid {st.st_uid}) who could re-point it; use the real path, or opt "
                        f"in with allow_shared=True or {ENV_ALLOW_SHARED}=1"
                    )
                links += 1
                if links > _MAX_SYMLINKS:
                    raise CacheError(f"{what} {given}: too many levels of symlinks")
                target = os.readlink(name, dir_fd=parent)
                if target.startswith("/"):
                    while len(stack) > 1:
                        os.close(stack.pop()[0])
                pending.extendleft(reversed(_parts(target, from_link=True)))
                continue
            if not stat.S_ISDIR(st.st_mode):
                raise CacheError(f"{what} {given} is not a directory ({shown} is not one)")
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
            stack.append((fd, name))
            opened = os.fstat(fd)
            if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
                raise CacheError(f"{what} {given}: {shown} changed while it was being checked")
            if pending and not allow_shared and (why := _redirectable(opened)) is not None:
                raise CacheError(
                    f"{what} {given} goes through {shown}, which another user could redirect: "
                    f"{why}; use a path of your own, or opt in with allow_shared=True or "
                    f"{ENV_ALLOW_SHARED}=1"
                )
        resolved = Path(here())
        fd = stack.pop()[0]
        if not allow_shared:
            try:
                check_private(os.fstat(fd), given, what)
            except CacheError:
                os.close(fd)
                raise
        return fd, resolved
    except OSError as err:
        raise CacheError(f"{what} {given} cannot be opened: {err.strerror or err}") from None
    finally:
        for fd, _ in stack:
            os.close(fd)
