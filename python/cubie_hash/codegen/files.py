"""File-system primitives for the cache, all relative to a directory descriptor held open.

Every name is opened with ``O_NOFOLLOW`` under a directory that was checked once and is then
used by descriptor, never by path: a symlink inside the cache is refused, and a path component
re-pointed after the check changes nothing this process reads or writes.  A reader never sees
a half-written file: content goes to a temporary file in the same directory, is flushed, and is
renamed over the target in one step.  Every directory made here is mode 0700 and every file
0600, whatever the umask.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat

__all__ = [
    "MAX_FILE_BYTES",
    "append_at",
    "atomic_write_at",
    "list_at",
    "open_dir_at",
    "read_at",
    "remove_tree_at",
]

#: Largest file the cache reads back (a compiled 340-equation entry is about 1 MB).
MAX_FILE_BYTES = 512 * 1024 * 1024

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0)


def open_dir_at(parent: int, name: str, *, create: bool = False) -> int:
    """A descriptor of the directory ``name`` under ``parent`` (made 0700 if ``create``).

    Raises ``OSError`` (``ELOOP``/``ENOTDIR``) when ``name`` is a symlink or not a directory.

    Example:
        >>> import os, tempfile
        >>> top = os.open(tempfile.mkdtemp(), os.O_RDONLY)
        >>> fd = open_dir_at(top, "sub", create=True)
        >>> oct(os.fstat(fd).st_mode & 0o777)
        '0o700'
    """
    if create:
        try:
            os.mkdir(name, 0o700, dir_fd=parent)
        except FileExistsError:
            pass
        else:
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
            os.fchmod(fd, 0o700)  # mkdir's mode is masked by the umask; this is not
            return fd
    return os.open(name, _DIR_FLAGS, dir_fd=parent)


def read_at(parent: int, name: str) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file ``name`` under ``parent``, and its status.

    A symlink, a FIFO, a device or a file over :data:`MAX_FILE_BYTES` is an ``OSError``.
    """
    fd = os.open(name, _READ_FLAGS, dir_fd=parent)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{name} is not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise OSError(f"{name} is larger than {MAX_FILE_BYTES} bytes")
        chunks = []
        while chunk := os.read(fd, max(st.st_size, 1 << 16)):
            chunks.append(chunk)
        # One chunk is the usual case: return it as it is rather than copy a megabyte again.
        return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), st
    finally:
        os.close(fd)


def atomic_write_at(parent: int, name: str, data: bytes) -> None:
    """Write ``data`` to ``name`` under ``parent`` atomically (temporary file, fsync, rename).

    Example:
        >>> import os, tempfile
        >>> top = os.open(tempfile.mkdtemp(), os.O_RDONLY)
        >>> atomic_write_at(top, "meta.json", b"{}")
        >>> read_at(top, "meta.json")[0]
        b'{}'
    """
    tmp = f".{name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(
        tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
        dir_fd=parent,
    )  # fmt: skip
    try:
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=parent)
        raise
    with contextlib.suppress(OSError):
        os.fsync(parent)  # the rename itself must survive a crash too


def append_at(parent: int, name: str, text: str) -> None:
    """Append ``text`` to ``name`` under ``parent`` (made 0600 if new; never through a link)."""
    fd = os.open(
        name, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
        dir_fd=parent,
    )  # fmt: skip
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def list_at(parent: int) -> list[os.DirEntry[str]]:
    """The entries of the directory ``parent`` (a descriptor), sorted by name."""
    # scandir duplicates the descriptor itself: ``parent`` stays open for the caller.
    with os.scandir(parent) as it:
        return sorted(it, key=lambda e: e.name)


def remove_tree_at(parent: int, name: str) -> None:
    """Remove ``name`` under ``parent`` so that it disappears at once: rename aside, then delete.

    Symlinks inside are removed, never followed.
    """
    trash = f".trash-{name}-{os.getpid()}-{secrets.token_hex(4)}"
    os.rename(name, trash, src_dir_fd=parent, dst_dir_fd=parent)
    _remove_contents_at(parent, trash)


def _remove_contents_at(parent: int, name: str) -> None:
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=parent)
        return
    try:
        for entry in list_at(fd):
            if entry.is_dir(follow_symlinks=False):
                _remove_contents_at(fd, entry.name)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.name, dir_fd=fd)
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.rmdir(name, dir_fd=parent)
