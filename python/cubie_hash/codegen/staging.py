"""Private copies: where Numba compiles a module, or loads its cache, from verified bytes only.

Numba reads its cache by path (``__pycache__/`` next to the module's ``__file__``) and unpickles
what it finds, so it must never look inside the shared cache directory itself: the cache
verifies an entry's bytes in memory, writes them into a fresh directory that only this process
can write to, and executes the module from there.  What Numba writes there (on a build, or
when the entry lacked code for this machine) is read back and stored by the cache.

The per-process staging directory is made with :func:`tempfile.mkdtemp` (mode 0700) in
``/dev/shm`` where it exists (memory: the copy costs a memcpy), else in ``TMPDIR``; its path is
checked like the cache root, so no other user can redirect it.  A load's copy is removed by
the next load (so that no load waits for its own clean-up) and the staging directory, with
whatever is left in it, at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sys
import tempfile
import threading
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cubie_hash.codegen.files import list_at, read_at
from cubie_hash.codegen.root import open_checked_dir
from cubie_hash.errors import CacheError

__all__ = ["Copy", "execute", "stage"]

PYCACHE = "__pycache__"
# numba-cuda stamps its index with the module's (mtime, size): every private copy of a module
# gets this one mtime, so an index written in one copy is fresh in the next.
_MTIME_NS = 1_000_000_000 * 10**9
_SHM = "/dev/shm"
_lock = threading.Lock()
_exec_lock = threading.Lock()  # the Numba configuration is process-wide
_staging: tuple[int, Path] | None = None  # (owner pid, directory)
_discarded: Path | None = None  # the last copy, removed at the next discard or at exit


def _staging_dir() -> Path:
    global _staging
    with _lock:
        if _staging is None or _staging[0] != os.getpid():  # a forked child makes its own
            # In memory where there is a usable tmpfs for it (the copy then costs a memcpy),
            # else in TMPDIR; a base that fails the check is not used.
            try:
                resolved = _private_dir_in(_SHM)
            except (OSError, CacheError):
                resolved = _private_dir_in(tempfile.gettempdir())
            _staging = (os.getpid(), resolved)
            atexit.register(_remove_staging, os.getpid(), resolved)
        return _staging[1]


def _private_dir_in(base: str) -> Path:
    made = tempfile.mkdtemp(prefix="cubie-hash-staging-", dir=base)
    try:
        fd, resolved = open_checked_dir(
            made, create=False, allow_shared=False, what=f"temporary directory in {base}"
        )
    except CacheError:
        os.rmdir(made)
        raise
    os.close(fd)
    return resolved


def _remove_staging(pid: int, path: Path) -> None:
    if os.getpid() == pid:
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class Copy:
    """A private copy of an entry's files in a fresh directory (see :func:`stage`)."""

    path: Path
    files: dict[str, bytes]
    stamps: dict[str, tuple[int, int, int]]

    def collect(self) -> dict[str, bytes]:
        """Every file now in ``__pycache__/``, as ``{"__pycache__/<name>": bytes}``.

        Files Numba left as they were staged are not read again (same inode, size, mtime).
        """
        fd = os.open(self.path / PYCACHE, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            found = {}
            for e in list_at(fd):
                name = f"{PYCACHE}/{e.name}"
                if e.name.startswith(".") or not e.is_file(follow_symlinks=False):
                    continue
                if self.stamps.get(name) == _stamp(e.stat(follow_symlinks=False)):
                    found[name] = self.files[name]
                else:
                    found[name] = read_at(fd, e.name)[0]
            return found
        finally:
            os.close(fd)

    def discard(self) -> None:
        """Remove the copy: the one discarded before now, this one at the next call or at exit.

        One copy at most outlives its load, and the load does not wait for its removal.
        """
        global _discarded
        with _lock:
            previous, _discarded = _discarded, self.path
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)


def _stamp(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def stage(module_name: str, files: dict[str, bytes]) -> Copy:
    """A fresh private directory holding ``files`` (names relative to it)."""
    where = Path(tempfile.mkdtemp(dir=_staging_dir()))
    (where / PYCACHE).mkdir(mode=0o700)
    stamps = {}
    for name, data in files.items():
        fd = os.open(where / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if name == module_name:
                os.utime(fd, ns=(_MTIME_NS, _MTIME_NS))
            stamps[name] = _stamp(os.fstat(fd))
        finally:
            os.close(fd)
    return Copy(where, files, stamps)


def execute(name: str, code: types.CodeType, module_file: Path, *, cuda: bool) -> types.ModuleType:
    """Execute ``code`` (compiled for ``module_file``) as the module ``name``.

    Numba compiles (or loads its cache) while the module executes; its cache is kept next to
    ``module_file`` whatever ``NUMBA_CACHE_DIR`` says, so it is read from the private copy only.
    ``cuda``: the module uses ``numba.cuda``, whose configuration is set up the same way.
    """
    module = types.ModuleType(name)
    module.__file__ = str(module_file)
    # Numba's cache pickles the module name and re-imports it on load, so the module must be
    # reachable in sys.modules while it executes.
    sys.modules[name] = module
    try:
        with _numba_cache_in_tree(cuda):
            exec(code, module.__dict__)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


@contextlib.contextmanager
def _numba_cache_in_tree(cuda: bool) -> Iterator[None]:
    """Numba's cache locator for the next module: ``__pycache__`` beside it, nothing else."""
    import importlib

    names = ["numba.core.config"] + (["numba.cuda.core.config"] if cuda else [])
    configs = []
    for name in names:
        # Imported now, so that the module's own `import numba` cannot read NUMBA_CACHE_DIR
        # after the override.  The CUDA simulator has no such module (and no cache).
        with contextlib.suppress(ImportError):
            configs.append(importlib.import_module(name))
    with _exec_lock:
        saved = [
            (c, attr, getattr(c, attr))
            for c in configs
            for attr in ("CACHE_DIR", "CACHE_LOCATOR_CLASSES")
            if hasattr(c, attr)
        ]
        for config, attr, _ in saved:
            setattr(config, attr, "")
        try:
            yield
        finally:
            for config, attr, value in saved:
                setattr(config, attr, value)
