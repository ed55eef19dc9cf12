"""The code-generation cache: one entry per system hash, built once, loaded everywhere.

Layout under the cache root (every directory 0700, every file 0600)::

    entries/<fn_hash>/<target>_<precision>.py     generated module (what Numba compiles)
    entries/<fn_hash>/<target>_<precision>.<tag>.pyc  its compiled Python code, per interpreter
    entries/<fn_hash>/__pycache__/                Numba's machine code: <module>.<fn>-<line>.pyXY
                                                  .nbi (index) and .<n>.nbc (data) per function
    entries/<fn_hash>/<target>-<precision>.json   sidecar: identity + manifest, the commit marker
    entries/<fn_hash>/prehashes.json              raw-input prehashes known to parse to fn_hash
    entries/<fn_hash>/generations.log             one line per generation (audit trail)
    prehash/<prehash>.json                        warm-start index: raw input -> fn_hash (a hint)
    locks/<fn_hash>.lock                          inter-process build lock

An entry counts only once its sidecar exists, is intact (it is sealed with a BLAKE3 digest of
its own fields), names this system and variant, and every file its manifest lists (module, its
compiled code, every Numba cache file) has the recorded size and BLAKE3 digest.  Files are read
once, through descriptors of directories checked at start-up (:mod:`cubie_hash.codegen.root`),
verified in memory; the module and Numba's files are written into a private directory, as
which the module's code is executed and from which Numba loads its cache
(:mod:`cubie_hash.codegen.staging`): no byte that failed or skipped verification is ever
executed, unmarshalled or unpickled.  A damaged entry, or one whose Numba cache fails to load, is
rebuilt under the entry's build lock with a :class:`CacheWarning`; the sidecar is written
last, so a process that sees it never reads a half-written entry.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import sys
import time
import types
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cubie_hash._core import digest
from cubie_hash.codegen import bytecode, lock, staging
from cubie_hash.codegen.files import (
    append_at,
    atomic_write_at,
    list_at,
    open_dir_at,
    read_at,
    remove_tree_at,
)
from cubie_hash.codegen.manifest import check_files, file_record, seal, unseal, valid_file_name
from cubie_hash.codegen.root import ENV_ALLOW_SHARED, check_private, open_checked_dir
from cubie_hash.codegen.source import GENERATOR_VERSION, SystemLike, Variant, generate_source
from cubie_hash.errors import CacheError

__all__ = [
    "CACHE_FORMAT",
    "CacheEvent",
    "CacheWarning",
    "CodegenCache",
    "CompiledSystem",
    "EntryInfo",
    "default_root",
]

#: Version of the on-disk layout and sidecar schema; entries of another version are rebuilt.
CACHE_FORMAT = 2
ENV_ROOT = "CUBIE_HASH_CACHE_DIR"
NO_ENTRY = "no entry for this hash and variant"
INPUTS = "prehashes.json"
_HEX = frozenset("0123456789abcdef")


class CacheWarning(UserWarning):
    """A cache entry was unusable (tampered, truncated, stale) and has been rebuilt."""


def default_root() -> Path:
    """The cache root: ``$CUBIE_HASH_CACHE_DIR``, else the platform's user cache directory.

    Example:
        >>> import os
        >>> os.environ["CUBIE_HASH_CACHE_DIR"] = "/tmp/cubie-cache"
        >>> str(default_root())
        '/tmp/cubie-cache'
    """
    configured = os.environ.get(ENV_ROOT)
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_cache_dir("cubie_hash")) / "codegen"


@dataclass(frozen=True)
class CacheEvent:
    """One load: a ``hit`` or a ``miss``, and why."""

    kind: str
    fn_hash: str
    variant: str
    reason: str
    seconds: float
    parsed: bool = False
    generated: bool = False
    pid: int = field(default_factory=os.getpid)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class EntryInfo:
    """What ``cache ls`` and ``cache info`` show about one compiled variant."""

    fn_hash: str
    variant: str
    path: Path
    created: str
    size_bytes: int
    metadata: dict[str, Any]


@dataclass
class CompiledSystem:
    """A loaded system: the compiled functions and the layout they index.

    ``dxdt(state, parameters, drivers, t, out)`` and ``observables(...)`` are Numba functions
    (CPU ``njit``, or CUDA device functions); ``integrate_batch`` is the fixed-step RK4 batch
    (an ``njit`` function, or a CUDA kernel to launch as ``integrate_batch[blocks, threads]``).
    :meth:`integrate` runs it for you on either target.
    """

    fn_hash: str
    variant: Variant
    module: types.ModuleType
    event: CacheEvent

    @property
    def dxdt(self) -> Any:
        return self.module.dxdt

    @property
    def observables(self) -> Any:
        return self.module.observables

    @property
    def integrate_batch(self) -> Any:
        return self.module.integrate_batch

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(self.module.STATES)

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(self.module.PARAMETERS)

    @property
    def drivers(self) -> tuple[str, ...]:
        return tuple(self.module.DRIVERS)

    def integrate(
        self,
        y0: Any,
        parameters: Any,
        *,
        dt: float,
        n_steps: int,
        t0: float = 0.0,
        drivers: Any = None,
        threads_per_block: int = 128,
    ) -> Any:
        """Integrate every row of ``y0`` (with its row of ``parameters``) by fixed-step RK4.

        Example:
            >>> final = system.integrate(y0, params, dt=0.01, n_steps=100)  # doctest: +SKIP
        """
        import numpy as np

        dtype = np.dtype(self.variant.precision)
        y0 = np.ascontiguousarray(np.atleast_2d(y0), dtype=dtype)
        n = y0.shape[0]
        if y0.ndim != 2 or y0.shape[1] != len(self.states):
            raise CacheError(
                f"system {self.fn_hash[:12]}: y0 has shape {y0.shape}, expected "
                f"(n, {len(self.states)}) for the states {self.states}"
            )

        def rows(values: Any, names: tuple[str, ...], what: str) -> Any:
            # np.array copies: broadcast views are read-only, and Numba's signatures want
            # writable C-contiguous rows.
            try:
                return np.array(np.broadcast_to(values, (n, len(names))), dtype, order="C")
            except ValueError:
                raise CacheError(
                    f"system {self.fn_hash[:12]}: {what} of shape {np.shape(values)} do not "
                    f"fit ({n}, {len(names)}) for {names}"
                ) from None

        params = rows(parameters, self.parameters, "parameters")
        drv = rows(0.0 if drivers is None else drivers, self.drivers, "drivers")
        out = np.empty_like(y0)
        args = (dtype.type(t0), dtype.type(dt), np.int64(n_steps))
        if self.variant.target == "cpu":
            self.integrate_batch(y0, params, drv, *args, out)
            return out
        from numba import cuda

        blocks = (n + threads_per_block - 1) // threads_per_block
        d_out = cuda.device_array_like(out)
        self.integrate_batch[blocks, threads_per_block](
            cuda.to_device(y0), cuda.to_device(params), cuda.to_device(drv), *args, d_out
        )
        return d_out.copy_to_host()


def _runtime_versions() -> dict[str, str]:
    """What decides whether Numba's cache files apply: Numba's and Python's versions."""
    import numba

    return {"numba": numba.__version__, "python": ".".join(map(str, sys.version_info[:3]))}


def _versions() -> dict[str, str]:
    # SymPy is not listed: the module is printed from the canonical form, and a text system
    # is generated without importing it.
    from cubie_hash import __version__

    return {"cubie_hash": __version__, **_runtime_versions()}


def _identity(fn_hash: str, variant: Variant) -> dict[str, Any]:
    """What an entry must record, field for field, to be used for ``fn_hash`` and ``variant``.

    Anything that changes the generated module without changing ``fn_hash`` belongs here.
    """
    return {
        "format": CACHE_FORMAT,
        "fn_hash": fn_hash,
        "variant": variant.name,
        "generator": GENERATOR_VERSION,
    }


def _is_hash(text: object) -> bool:
    return isinstance(text, str) and 0 < len(text) <= 128 and set(text) <= _HEX


def _stem(variant: Variant) -> str:
    return variant.name.replace("-", "_")


@dataclass(frozen=True)
class _Entry:
    """An entry read and verified in memory: the bytes to execute and load, nothing else."""

    meta: dict[str, Any]
    files: dict[str, bytes]
    seal: str

    def derived(self, stem: str) -> dict[str, bytes]:
        """Every file made from the module (compiled code, Numba's cache): all but its source."""
        return {name: data for name, data in self.files.items() if name != f"{stem}.py"}


class CodegenCache:
    """Generated and compiled ODE systems, keyed by their canonical hash.

    The root is resolved and checked once, here, and then used through open directory
    descriptors: re-pointing its path afterwards changes nothing this object reads.

    Args:
        root: cache directory; default :func:`default_root`.
        allow_shared: accept a root that other users can write to.  Off by default: whoever
            can write to the cache can make this process execute their code.
        lock_timeout: seconds to wait for another process's build of the same entry before
            a :class:`CacheError`; default ``$CUBIE_HASH_CACHE_LOCK_TIMEOUT``, else 600.

    Raises:
        CacheError: the root is not a directory (a file, ``/dev/null``, a dangling symlink),
            or is not private and ``allow_shared`` is off; nothing is created in a refused root.

    Example:
        >>> from cubie_hash.ode import parse_equations
        >>> cache = CodegenCache("/tmp/cubie-doc-cache")  # doctest: +SKIP
        >>> lorenz = parse_equations(...)                 # doctest: +SKIP
        >>> cache.load(lorenz).event.kind                  # doctest: +SKIP
        'miss'
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        allow_shared: bool = False,
        lock_timeout: float | None = None,
    ):
        self.root = Path(root) if root is not None else default_root()
        self.allow_shared = allow_shared or os.environ.get(ENV_ALLOW_SHARED) == "1"
        self.lock_timeout = lock.lock_timeout(lock_timeout)
        self.events: list[CacheEvent] = []
        self._loaded: dict[tuple[str, str], CompiledSystem] = {}
        # Seals of entries whose Numba cache failed to load in this process: rebuilt, not retried.
        self._failed: dict[str, str] = {}
        root_fd, self.resolved_root = open_checked_dir(
            self.root, create=True, allow_shared=self.allow_shared, what="cache root"
        )
        fds = [root_fd]
        self._finalizer = weakref.finalize(self, _close_all, fds)
        for sub in ("entries", "prehash", "locks"):
            fds.append(self._open_private(root_fd, sub, self.root / sub))
        self._entries_fd, self._prehash_fd, self._locks_fd = fds[1:]

    # -- safety -----------------------------------------------------------------------------

    def _open_private(self, parent: int, name: str, shown: Path, *, create: bool = True) -> int:
        """A descriptor of ``parent/name``, a real directory checked like the root."""
        try:
            fd = open_dir_at(parent, name, create=create)
        except FileNotFoundError:
            if not create:
                raise
            raise CacheError(f"cache directory {shown} vanished while being made") from None
        except OSError as err:
            raise CacheError(
                f"cache directory {shown} cannot be used: {err.strerror or err} (a symlink or "
                f"a file where a directory belongs?)"
            ) from None
        if not self.allow_shared:
            try:
                check_private(os.fstat(fd), shown, "cache directory")
            except CacheError:
                os.close(fd)
                raise
        return fd

    # -- paths ------------------------------------------------------------------------------

    def entry_dir(self, fn_hash: str) -> Path:
        """The directory of ``fn_hash``'s entry (for people: the cache reads it by descriptor)."""
        if not _is_hash(fn_hash):
            raise CacheError(f"not a system hash: {fn_hash!r} (expected lower-case hex)")
        return self.root / "entries" / fn_hash

    @contextlib.contextmanager
    def _lock(self, fn_hash: str) -> Iterator[None]:
        name = f"{fn_hash}.lock"
        with lock.hold(self._locks_fd, name, str(self.root / "locks" / name), self.lock_timeout):
            yield

    # -- reading an entry -------------------------------------------------------------------

    def _open_entry(self, fn_hash: str) -> int | str:
        """A descriptor of the entry directory, or why there is no usable one."""
        try:
            return self._open_private(
                self._entries_fd, fn_hash, self.entry_dir(fn_hash), create=False
            )
        except FileNotFoundError:
            return NO_ENTRY
        except CacheError as err:
            return f"entry directory refused: {err}"

    def _read(self, fn_hash: str, variant: Variant) -> _Entry | str:
        """The verified entry, or the reason it is not usable."""
        fd = self._open_entry(fn_hash)
        if isinstance(fd, str):
            return fd
        try:
            return self._read_in(fd, fn_hash, variant)
        finally:
            os.close(fd)

    def _read_in(self, fd: int, fn_hash: str, variant: Variant) -> _Entry | str:
        sidecar = f"{variant.name}.json"
        try:
            raw = read_at(fd, sidecar)[0]
        except FileNotFoundError:
            return NO_ENTRY
        except OSError as err:
            return f"metadata {sidecar} unreadable: {err}"
        meta = unseal(raw)
        if isinstance(meta, str):
            return f"metadata {sidecar}: {meta}"
        if meta.get("identity") != _identity(fn_hash, variant):
            return (
                f"metadata {sidecar} records another identity {meta.get('identity')!r} than "
                f"this cubie_hash expects {_identity(fn_hash, variant)!r}"
            )
        manifest = check_files(meta.get("files"), _stem(variant))
        if isinstance(manifest, str):
            return f"metadata {sidecar}: {manifest}"
        files: dict[str, bytes] = {}
        pycache: int | str | None = None
        try:
            for name, record in sorted(manifest.items()):
                folder, _, base = name.rpartition("/")
                where = fd
                if folder:
                    if pycache is None:
                        pycache = self._open_pycache(fd, fn_hash)
                    if isinstance(pycache, str):
                        return pycache
                    where = pycache
                try:
                    data = read_at(where, base)[0]
                except FileNotFoundError:
                    return f"{name} is missing"
                except OSError as err:
                    return f"{name} unreadable: {err}"
                if file_record(data) != {"bytes": record["bytes"], "blake3": record["blake3"]}:
                    return f"{name} does not match its recorded digest (tampered or truncated)"
                files[name] = data
        finally:
            if isinstance(pycache, int):
                os.close(pycache)
        sealed = digest(raw, "blake3")
        if sealed in self._failed:
            return self._failed[sealed]
        return _Entry(meta, files, sealed)

    def _open_pycache(self, entry_fd: int, fn_hash: str) -> int | str:
        try:
            return self._open_private(
                entry_fd, staging.PYCACHE, self.entry_dir(fn_hash) / staging.PYCACHE, create=False
            )
        except FileNotFoundError:
            return f"{staging.PYCACHE}/ is missing"
        except CacheError as err:
            return f"Numba cache directory refused: {err}"

    def _run(
        self, entry: _Entry, fn_hash: str, variant: Variant, *, locked: bool
    ) -> types.ModuleType | None:
        """Execute a verified entry from a private copy; None if Numba could not load it.

        ``locked``: this process holds the entry's build lock already (flock is per open
        file, so taking it again here would wait for ourselves).
        """
        stem = _stem(variant)
        source = entry.files[f"{stem}.py"]
        code_file = bytecode.file_name(stem)
        # Numba reads its files from the copy; the compiled code is read from memory only.
        copy = staging.stage(
            f"{stem}.py", {n: d for n, d in entry.files.items() if "/" in n or n == f"{stem}.py"}
        )
        try:
            module_file = copy.path / f"{stem}.py"
            stored_code = entry.files.get(code_file) if code_file else None
            code = bytecode.load(stored_code, source, str(module_file))
            produced = {n: d for n, d in entry.derived(stem).items() if "/" not in n}
            if code is None:
                code, stored = bytecode.compiled(source, str(module_file))
                if code_file is not None:
                    produced[code_file] = stored
            module = staging.execute(
                _module_name(fn_hash, variant), code, module_file, cuda=variant.target == "cuda"
            )
            produced.update(copy.collect())
        except Exception as err:
            self._failed[entry.seal] = (
                f"Numba could not load the entry's cache: {type(err).__name__}: {err}"
            )
            return None
        finally:
            copy.discard()
        if produced != entry.derived(stem):
            # Numba compiled what the entry lacked (another CPU, another Numba), or this
            # interpreter's compiled code was missing: keep it.
            with contextlib.suppress(OSError, CacheError):
                self._extend(fn_hash, variant, entry, produced, locked=locked)
        return module

    # -- loading ----------------------------------------------------------------------------

    def load(
        self, system: SystemLike, variant: Variant | None = None, *, parsed: bool = False
    ) -> CompiledSystem:
        """The compiled ``system``: loaded from the cache on a hit, generated once on a miss.

        ``parsed``: the caller parsed ``system`` for this load (recorded in the event).
        """
        variant = variant or Variant()
        return self._load(
            system.fn_hash, variant, system, parsed=parsed, started=time.perf_counter()
        )

    def load_hash(self, fn_hash: str, variant: Variant | None = None) -> CompiledSystem | None:
        """The compiled system stored under ``fn_hash``, or None when there is no usable entry."""
        variant = variant or Variant()
        try:
            return self._load(fn_hash, variant, None, parsed=False, started=time.perf_counter())
        except _NoEntry:
            return None

    def _load(
        self,
        fn_hash: str,
        variant: Variant,
        system: SystemLike | None,
        *,
        parsed: bool,
        started: float,
        reason_prefix: str = "",
    ) -> CompiledSystem:
        key = (fn_hash, variant.name)
        if key in self._loaded:
            return self._record(
                self._loaded[key], "hit", "already loaded in this process", started, parsed
            )
        self.entry_dir(fn_hash)  # validates the hash
        state = self._read(fn_hash, variant)
        if isinstance(state, _Entry):
            module = self._run(state, fn_hash, variant, locked=False)
            if module is not None:
                reason = reason_prefix + "entry on disk"
                return self._remember(fn_hash, variant, module, "hit", reason, started, parsed)
            state = self._failed[state.seal]
        if system is None:
            raise _NoEntry(state)
        with self._lock(fn_hash):
            state = self._read(fn_hash, variant)
            if isinstance(state, _Entry):
                module = self._run(state, fn_hash, variant, locked=True)
                if module is not None:
                    reason = "built by another process while this one waited"
                    return self._remember(fn_hash, variant, module, "hit", reason, started, parsed)
                state = self._failed[state.seal]
            if state != NO_ENTRY:
                warnings.warn(
                    f"codegen cache entry {fn_hash[:12]} ({variant.name}) rebuilt: {state}",
                    CacheWarning,
                    stacklevel=3,
                )
            module = self._generate(system, variant)
            return self._remember(fn_hash, variant, module, "miss", state, started, parsed)

    def _generate(self, system: SystemLike, variant: Variant) -> types.ModuleType:
        """Generate and compile in a private copy, then store the entry (under the lock)."""
        stem = _stem(variant)
        source = generate_source(system, variant).encode("utf-8")
        copy = staging.stage(f"{stem}.py", {f"{stem}.py": source})
        try:
            code, stored = bytecode.compiled(source, str(copy.path / f"{stem}.py"))
            try:
                module = staging.execute(
                    _module_name(system.fn_hash, variant),
                    code,
                    copy.path / f"{stem}.py",
                    cuda=variant.target == "cuda",
                )
            except Exception as err:
                raise CacheError(
                    f"compiling system {system.fn_hash[:12]} for {variant.name} failed: {err}"
                ) from err
            produced = copy.collect()
            code_file = bytecode.file_name(stem)
            if code_file is not None:
                produced[code_file] = stored
        finally:
            copy.discard()
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        meta = {
            "fn_hash": system.fn_hash,
            "variant": variant.name,
            "target": variant.target,
            "precision": variant.precision,
            "created": created,
            "versions": _versions(),
            "canonical": _canonical(system),
        }
        fd = self._store(system.fn_hash, variant, source, produced, meta)
        try:
            append_at(fd, "generations.log", f"{created} pid={os.getpid()} {variant.name}\n")
        finally:
            os.close(fd)
        return module

    def _extend(
        self,
        fn_hash: str,
        variant: Variant,
        entry: _Entry,
        produced: dict[str, bytes],
        *,
        locked: bool,
    ) -> None:
        """Store the Numba files this process added to ``entry``, if it is still current."""
        with contextlib.nullcontext() if locked else self._lock(fn_hash):
            current = self._read(fn_hash, variant)
            if not isinstance(current, _Entry) or current.seal != entry.seal:
                return  # rebuilt or extended meanwhile: that version stands
            meta = dict(entry.meta)
            meta["versions"] = {**meta.get("versions", {}), **_runtime_versions()}
            source = entry.files[f"{_stem(variant)}.py"]
            os.close(self._store(fn_hash, variant, source, produced, meta))

    def _store(
        self,
        fn_hash: str,
        variant: Variant,
        source: bytes,
        produced: dict[str, bytes],
        meta: dict[str, Any],
    ) -> int:
        """Write an entry's files, then its sidecar; returns the entry directory's descriptor."""
        stem = _stem(variant)
        derived = {n: d for n, d in produced.items() if valid_file_name(n, stem)}
        derived.pop(f"{stem}.py", None)
        fd = self._entry_for_writing(fn_hash)
        try:
            sidecar = f"{variant.name}.json"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(sidecar, dir_fd=fd)  # invalid until the new sidecar lands
            pycache = self._pycache_for_writing(fd, fn_hash)
            try:
                for folder, prefix in ((pycache, f"{staging.PYCACHE}/"), (fd, "")):
                    for e in list_at(folder):
                        stale = f"{prefix}{e.name}" not in derived
                        if (
                            valid_file_name(f"{prefix}{e.name}", stem)
                            and e.name != f"{stem}.py"
                            and stale
                        ):
                            os.unlink(e.name, dir_fd=folder)
                for name, data in derived.items():
                    folder_name, _, base = name.rpartition("/")
                    atomic_write_at(pycache if folder_name else fd, base, data)
            finally:
                os.close(pycache)
            atomic_write_at(fd, f"{stem}.py", source)
            files = {f"{stem}.py": file_record(source)}
            files.update((name, file_record(data)) for name, data in derived.items())
            record = {
                **meta,
                "format": CACHE_FORMAT,
                "identity": _identity(fn_hash, variant),
                "files": files,
                "source_blake3": files[f"{stem}.py"]["blake3"],
                "source_bytes": len(source),
            }
            atomic_write_at(fd, sidecar, seal(record))
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _entry_for_writing(self, fn_hash: str) -> int:
        """The entry directory, made if missing and replaced if it is not a private directory."""
        try:
            return self._open_private(self._entries_fd, fn_hash, self.entry_dir(fn_hash))
        except CacheError:
            remove_tree_at(self._entries_fd, fn_hash)
            return self._open_private(self._entries_fd, fn_hash, self.entry_dir(fn_hash))

    def _pycache_for_writing(self, entry_fd: int, fn_hash: str) -> int:
        shown = self.entry_dir(fn_hash) / staging.PYCACHE
        try:
            return self._open_private(entry_fd, staging.PYCACHE, shown)
        except CacheError:
            remove_tree_at(entry_fd, staging.PYCACHE)
            return self._open_private(entry_fd, staging.PYCACHE, shown)

    def _remember(
        self,
        fn_hash: str,
        variant: Variant,
        module: types.ModuleType,
        kind: str,
        reason: str,
        started: float,
        parsed: bool,
    ) -> CompiledSystem:
        # Every miss generates (and compiles) the entry; a hit never does.
        event = CacheEvent(
            kind,
            fn_hash,
            variant.name,
            reason,
            time.perf_counter() - started,
            parsed,
            generated=kind == "miss",
        )
        compiled = CompiledSystem(fn_hash, variant, module, event)
        self._loaded[(fn_hash, variant.name)] = compiled
        self.events.append(event)
        with contextlib.suppress(OSError, NotImplementedError):
            # Last use, for `prune --older-than`.
            os.utime(fn_hash, dir_fd=self._entries_fd, follow_symlinks=False)
        return compiled

    def _record(
        self, compiled: CompiledSystem, kind: str, reason: str, started: float, parsed: bool
    ) -> CompiledSystem:
        event = CacheEvent(
            kind,
            compiled.fn_hash,
            compiled.variant.name,
            reason,
            time.perf_counter() - started,
            parsed,
        )
        self.events.append(event)
        return CompiledSystem(compiled.fn_hash, compiled.variant, compiled.module, event)

    # -- warm-start index -------------------------------------------------------------------

    def lookup_prehash(self, prehash: str) -> str | None:
        """The fn_hash recorded for a raw-input prehash, or None.

        The index is a hint: its record counts only if it is well-formed and the entry it
        names lists ``prehash`` among the inputs that were parsed to it.
        """
        if not _is_hash(prehash):
            return None
        try:
            record = json.loads(read_at(self._prehash_fd, f"{prehash}.json")[0])
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("prehash") != prehash:
            return None
        fn_hash = record.get("fn_hash")
        if not isinstance(fn_hash, str) or not _is_hash(fn_hash):
            return None
        return fn_hash if prehash in self._inputs(fn_hash) else None

    def _inputs(self, fn_hash: str) -> set[str]:
        """The prehashes the entry ``fn_hash`` records as parsed to it."""
        fd = self._open_entry(fn_hash)
        if isinstance(fd, str):
            return set()
        try:
            record = unseal(read_at(fd, INPUTS)[0])
        except OSError:
            return set()
        finally:
            os.close(fd)
        if isinstance(record, str) or record.get("fn_hash") != fn_hash:
            return set()
        known = record.get("prehashes")
        return {p for p in known if _is_hash(p)} if isinstance(known, list) else set()

    def record_prehash(self, prehash: str, fn_hash: str) -> None:
        """Remember that raw input with ``prehash`` parses to the system ``fn_hash``."""
        self.entry_dir(fn_hash)  # validates the hash
        if not _is_hash(prehash):
            raise CacheError(f"not a prehash: {prehash!r} (expected lower-case hex)")
        with self._lock(fn_hash):
            known = self._inputs(fn_hash)
            if prehash not in known:
                fd = self._entry_for_writing(fn_hash)
                try:
                    body = {"fn_hash": fn_hash, "prehashes": sorted(known | {prehash})}
                    atomic_write_at(fd, INPUTS, seal(body))
                finally:
                    os.close(fd)
        record = json.dumps({"fn_hash": fn_hash, "prehash": prehash}).encode("utf-8")
        atomic_write_at(self._prehash_fd, f"{prehash}.json", record)

    # -- inspection and maintenance ---------------------------------------------------------

    def _entry_names(self) -> list[str]:
        return [e.name for e in list_at(self._entries_fd) if _is_hash(e.name)]

    def entries(self) -> list[EntryInfo]:
        """Every compiled variant in the cache, newest first."""
        infos = []
        for fn_hash in self._entry_names():
            fd = self._open_entry(fn_hash)
            if isinstance(fd, str):
                continue
            try:
                size = _tree_size(fd)
                for e in list_at(fd):
                    if not e.name.endswith(".json") or e.name in (INPUTS,):
                        continue
                    with contextlib.suppress(OSError, KeyError, TypeError, AttributeError):
                        meta = unseal(read_at(fd, e.name)[0])
                        if isinstance(meta, str) or meta["fn_hash"] != fn_hash:
                            continue
                        module = self.entry_dir(fn_hash) / (
                            meta["variant"].replace("-", "_") + ".py"
                        )
                        infos.append(
                            EntryInfo(fn_hash, meta["variant"], module, meta["created"], size, meta)
                        )
            finally:
                os.close(fd)
        return sorted(infos, key=lambda e: (e.created, e.fn_hash), reverse=True)

    def info(self, prefix: str) -> list[EntryInfo]:
        """The entries whose hash starts with ``prefix`` (at least 4 hex characters)."""
        if len(prefix) < 4:
            raise CacheError(f"hash prefix {prefix!r} is too short: give at least 4 characters")
        found = [e for e in self.entries() if e.fn_hash.startswith(prefix)]
        if not found:
            raise CacheError(f"no cache entry under {self.root} matches {prefix!r}")
        return found

    def prune(self, older_than_days: float) -> list[str]:
        """Remove entries unused for more than ``older_than_days``; returns their hashes.

        Raises:
            CacheError: ``older_than_days`` is negative or not a number.
        """
        if not older_than_days >= 0:
            raise CacheError(
                f"prune: the age must be a number of days >= 0, got {older_than_days!r}"
            )
        cutoff = time.time() - older_than_days * 86400
        removed = []
        for fn_hash in self._entry_names():
            try:
                used = os.stat(fn_hash, dir_fd=self._entries_fd, follow_symlinks=False).st_mtime
            except FileNotFoundError:
                continue
            if used >= cutoff:
                continue
            with self._lock(fn_hash):
                remove_tree_at(self._entries_fd, fn_hash)
            removed.append(fn_hash)
        for e in list_at(self._entries_fd):
            if e.name.startswith(".trash-"):  # left by a removal that was killed halfway
                with contextlib.suppress(OSError):
                    remove_tree_at(self._entries_fd, e.name)
        self._drop_prehashes(set(removed))
        self._loaded = {k: v for k, v in self._loaded.items() if k[0] not in removed}
        return removed

    def clear(self) -> int:
        """Remove every entry and index record; returns the number of entries removed."""
        names = self._entry_names()
        for name in names:
            with self._lock(name):
                remove_tree_at(self._entries_fd, name)
        for record in list_at(self._prehash_fd):
            with contextlib.suppress(OSError):
                os.unlink(record.name, dir_fd=self._prehash_fd)
        self._loaded.clear()
        return len(names)

    def _drop_prehashes(self, removed: set[str]) -> None:
        for record in list_at(self._prehash_fd):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                if json.loads(read_at(self._prehash_fd, record.name)[0]).get("fn_hash") in removed:
                    os.unlink(record.name, dir_fd=self._prehash_fd)

    def explain_miss(self, system: SystemLike) -> str:
        """Why ``system`` would miss: the canonical-form diff against the nearest entry.

        Example:
            >>> print(cache.explain_miss(changed_lorenz))  # doctest: +SKIP
            nearest entry 3f2a9c0d1b7e (cpu-float64), similarity 0.97:
            --- cached 3f2a9c0d1b7e
            +++ requested 8be1...
            -  dx = sigma*(-x + y)
            +  dx = sigma*(-x + 2*y)
        """
        wanted = _canonical(system)
        best: tuple[float, EntryInfo] | None = None
        for entry in self.entries():
            if entry.fn_hash == system.fn_hash:
                return f"no miss: entry {entry.fn_hash[:12]} ({entry.variant}) holds this system"
            ratio = difflib.SequenceMatcher(
                None, entry.metadata.get("canonical", ""), wanted
            ).ratio()
            if best is None or ratio > best[0]:
                best = (ratio, entry)
        if best is None:
            return f"the cache under {self.root} is empty"
        ratio, entry = best
        diff = difflib.unified_diff(
            str(entry.metadata.get("canonical", "")).splitlines(),
            wanted.splitlines(),
            f"cached {entry.fn_hash[:12]}",
            f"requested {system.fn_hash[:12]}",
            lineterm="",
        )
        header = f"nearest entry {entry.fn_hash[:12]} ({entry.variant}), similarity {ratio:.2f}:"
        return "\n".join([header, *diff])


class _NoEntry(Exception):
    """Internal: no usable entry and nothing to build it from."""


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _module_name(fn_hash: str, variant: Variant) -> str:
    return f"_cubie_hash_generated_{fn_hash}_{_stem(variant)}"


def _tree_size(fd: int) -> int:
    """Bytes in the regular files of the directory ``fd`` and its subdirectories."""
    total = 0
    for e in list_at(fd):
        with contextlib.suppress(OSError):
            if e.is_dir(follow_symlinks=False):
                sub = open_dir_at(fd, e.name)
                try:
                    total += _tree_size(sub)
                finally:
                    os.close(sub)
            elif e.is_file(follow_symlinks=False):
                total += e.stat(follow_symlinks=False).st_size
    return total


def _canonical(system: SystemLike) -> str:
    from cubie_hash.ode import canonical_text

    # canonical_text reads exactly the fields SystemLike promises.
    return str(canonical_text(system))
