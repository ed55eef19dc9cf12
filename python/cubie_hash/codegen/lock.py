"""The inter-process build lock of one cache entry, with a bounded wait.

``flock`` on ``locks/<fn_hash>.lock``, opened under the checked ``locks/`` descriptor with
``O_NOFOLLOW`` (a planted symlink is refused, never truncated through).  The holder writes its
pid and host into the file, so that a waiter that gives up can say who holds it.  The lock is
released by the kernel when its holder dies, however it dies.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator

from cubie_hash.errors import CacheError

__all__ = ["DEFAULT_TIMEOUT", "ENV_LOCK_TIMEOUT", "hold", "lock_timeout"]

ENV_LOCK_TIMEOUT = "CUBIE_HASH_CACHE_LOCK_TIMEOUT"
#: Seconds a process waits for another one's build of the same entry before giving up.
DEFAULT_TIMEOUT = 600.0


def lock_timeout(value: float | None) -> float:
    """``value``, else ``$CUBIE_HASH_CACHE_LOCK_TIMEOUT``, else :data:`DEFAULT_TIMEOUT`.

    Example:
        >>> lock_timeout(2.5)
        2.5
    """
    if value is None:
        configured = os.environ.get(ENV_LOCK_TIMEOUT)
        try:
            value = float(configured) if configured else DEFAULT_TIMEOUT
        except ValueError:
            raise CacheError(
                f"{ENV_LOCK_TIMEOUT}={configured!r} is not a number of seconds"
            ) from None
    if not value >= 0:
        raise CacheError(f"lock timeout must be a number of seconds >= 0, got {value!r}")
    return value


@contextlib.contextmanager
def hold(locks_fd: int, name: str, shown: str, timeout: float) -> Iterator[None]:
    """Hold the lock file ``name`` under ``locks_fd`` (``shown`` is its path, for messages)."""
    import fcntl

    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, 0o600, dir_fd=locks_fd)
    except OSError as err:
        raise CacheError(f"cannot open the build lock {shown}: {err.strerror or err}") from None
    try:
        deadline = time.monotonic() + timeout
        pause = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                    raise CacheError(
                        f"gave up after {timeout:g} s waiting for the build lock {shown} "
                        f"(held by {holder or 'another process'}); raise the wait with "
                        f"lock_timeout= or {ENV_LOCK_TIMEOUT}, or end the holder"
                    ) from None
                time.sleep(min(pause, max(deadline - time.monotonic(), 0.0)))
                pause = min(pause * 2, 0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock
