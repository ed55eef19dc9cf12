"""The code-generation cache: one entry per system hash, built once, loaded everywhere.

Layout under the cache root::

    entries/<fn_hash>/<target>-<precision>.py     generated module (what Numba compiles)
    entries/<fn_hash>/<target>-<precision>.json   metadata sidecar: the entry's commit marker
    entries/<fn_hash>/__pycache__/                Numba's own on-disk cache (machine code)
    entries/<fn_hash>/generations.log             one line per generation (audit trail)
    prehash/<prehash>.json                        warm-start index: raw input -> fn_hash
    locks/<fn_hash>.lock                          inter-process build lock

An entry counts only once its sidecar exists and the module's BLAKE3 digest matches the one
the sidecar records; the sidecar is written last, after the first compile, so a process that
sees it never imports a half-written file nor compiles what another process is compiling.
Concurrent builders of one key are serialised with a file lock: N processes, one generation.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import stat
import sys
import time
import types
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cubie_hash._core import digest
from cubie_hash.codegen.files import atomic_write, remove_tree
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
CACHE_FORMAT = 1
ENV_ROOT = "CUBIE_HASH_CACHE_DIR"
ENV_ALLOW_SHARED = "CUBIE_HASH_CACHE_ALLOW_SHARED"


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


def _versions() -> dict[str, str]:
    import numba
    import sympy

    from cubie_hash import __version__

    return {
        "cubie_hash": __version__,
        "sympy": sympy.__version__,
        "numba": numba.__version__,
        "python": ".".join(map(str, sys.version_info[:3])),
    }


class CodegenCache:
    """Generated and compiled ODE systems, keyed by their canonical hash.

    Args:
        root: cache directory; default :func:`default_root`.
        allow_shared: accept a root that other users can write to.  Off by default: whoever
            can write to the cache can make this process execute their code.

    Example:
        >>> from cubie_hash.ode import parse_equations
        >>> cache = CodegenCache("/tmp/cubie-doc-cache")  # doctest: +SKIP
        >>> lorenz = parse_equations(...)                 # doctest: +SKIP
        >>> cache.load(lorenz).event.kind                  # doctest: +SKIP
        'miss'
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, *, allow_shared: bool = False):
        self.root = Path(root) if root is not None else default_root()
        self.allow_shared = allow_shared or os.environ.get(ENV_ALLOW_SHARED) == "1"
        self.events: list[CacheEvent] = []
        self._loaded: dict[tuple[str, str], CompiledSystem] = {}
        for sub in ("entries", "prehash", "locks"):
            (self.root / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        self._check_permissions()

    # -- safety -----------------------------------------------------------------------------

    def _check_permissions(self) -> None:
        if self.allow_shared:
            return
        for path in (self.root, self.root / "entries", self.root / "prehash"):
            st = path.stat()
            if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                raise CacheError(
                    f"cache root {path} is writable by other users (mode "
                    f"{stat.filemode(st.st_mode)}): anyone who can write there can make this "
                    f"process run their code. Use a private directory, or opt in with "
                    f"allow_shared=True or {ENV_ALLOW_SHARED}=1"
                )
            if hasattr(os, "getuid") and st.st_uid != os.getuid():
                raise CacheError(
                    f"cache root {path} belongs to another user (uid {st.st_uid}); opt in with "
                    f"allow_shared=True or {ENV_ALLOW_SHARED}=1"
                )

    # -- paths ------------------------------------------------------------------------------

    def entry_dir(self, fn_hash: str) -> Path:
        if not fn_hash or not all(c in "0123456789abcdef" for c in fn_hash):
            raise CacheError(f"not a system hash: {fn_hash!r} (expected lower-case hex)")
        return self.root / "entries" / fn_hash

    def _paths(self, fn_hash: str, variant: Variant) -> tuple[Path, Path]:
        entry = self.entry_dir(fn_hash)
        return entry / f"{variant.name.replace('-', '_')}.py", entry / f"{variant.name}.json"

    @contextlib.contextmanager
    def _lock(self, fn_hash: str) -> Iterator[None]:
        import filelock

        with filelock.FileLock(str(self.root / "locks" / f"{fn_hash}.lock")):
            yield

    # -- reading an entry -------------------------------------------------------------------

    def _valid(self, fn_hash: str, variant: Variant) -> tuple[bytes, dict[str, Any]] | str:
        """(module source, metadata) of a usable entry, or the reason it is not usable."""
        module_path, meta_path = self._paths(fn_hash, variant)
        try:
            meta = json.loads(meta_path.read_text("utf-8"))
        except FileNotFoundError:
            return "no entry for this hash and variant"
        except (OSError, ValueError) as err:
            return f"corrupt metadata {meta_path.name}: {err}"
        if not isinstance(meta, dict) or meta.get("format") != CACHE_FORMAT:
            return f"metadata {meta_path.name} is not cache format {CACHE_FORMAT}"
        if meta.get("fn_hash") != fn_hash or meta.get("variant") != variant.name:
            return f"metadata {meta_path.name} describes another entry"
        if meta.get("generator") != GENERATOR_VERSION:
            return (
                f"module {module_path.name} was printed by code generator version "
                f"{meta.get('generator')}, this is version {GENERATOR_VERSION}"
            )
        try:
            source = module_path.read_bytes()
        except OSError as err:
            return f"module {module_path.name} unreadable: {err}"
        if digest(source, "blake3") != meta.get("source_blake3"):
            return (
                f"module {module_path.name} does not match its recorded digest "
                f"(tampered or truncated)"
            )
        return source, meta

    def _execute(self, fn_hash: str, variant: Variant, source: bytes) -> types.ModuleType:
        """Execute verified source bytes as a module (Numba compiles or loads its cache here)."""
        module_path, _ = self._paths(fn_hash, variant)
        name = f"_cubie_hash_generated_{fn_hash}_{variant.name.replace('-', '_')}"
        module = types.ModuleType(name)
        module.__file__ = str(module_path)
        # Numba's cache pickles the module name and re-imports it on load, so the module must be
        # reachable in sys.modules while it executes.
        sys.modules[name] = module
        try:
            # The bytes executed are the bytes whose digest was checked: no window in which
            # the file could be swapped between check and use.
            exec(compile(source, str(module_path), "exec"), module.__dict__)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module

    # -- loading ----------------------------------------------------------------------------

    def load(self, system: SystemLike, variant: Variant | None = None) -> CompiledSystem:
        """The compiled ``system``: loaded from the cache on a hit, generated once on a miss."""
        variant = variant or Variant()
        return self._load(
            system.fn_hash, variant, system, parsed=False, started=time.perf_counter()
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
        state = self._valid(fn_hash, variant)
        if isinstance(state, tuple):
            module = self._execute(fn_hash, variant, state[0])
            return self._remember(
                fn_hash, variant, module, "hit", reason_prefix + "entry on disk", started, parsed
            )
        if system is None:
            raise _NoEntry(state)
        with self._lock(fn_hash):
            state = self._valid(fn_hash, variant)
            if isinstance(state, tuple):
                module = self._execute(fn_hash, variant, state[0])
                reason = "built by another process while this one waited"
                return self._remember(fn_hash, variant, module, "hit", reason, started, parsed)
            if not state.startswith("no entry"):
                warnings.warn(
                    f"codegen cache entry {fn_hash[:12]} ({variant.name}) rebuilt: {state}",
                    CacheWarning,
                    stacklevel=3,
                )
            module = self._generate(system, variant)
            return self._remember(fn_hash, variant, module, "miss", state, started, parsed)

    def _generate(self, system: SystemLike, variant: Variant) -> types.ModuleType:
        """Write the module, compile it (under the lock), then commit the sidecar."""
        entry = self.entry_dir(system.fn_hash)
        entry.mkdir(parents=True, exist_ok=True, mode=0o700)
        module_path, meta_path = self._paths(system.fn_hash, variant)
        meta_path.unlink(missing_ok=True)  # the entry is invalid until the new sidecar lands
        source = generate_source(system, variant).encode("utf-8")
        atomic_write(module_path, source)
        try:
            module = self._execute(system.fn_hash, variant, source)
        except Exception as err:
            # No half entry: without its sidecar the module is never loaded, and it goes too.
            module_path.unlink(missing_ok=True)
            raise CacheError(
                f"compiling system {system.fn_hash[:12]} for {variant.name} failed: {err}"
            ) from err
        meta = {
            "format": CACHE_FORMAT,
            "fn_hash": system.fn_hash,
            "variant": variant.name,
            "target": variant.target,
            "precision": variant.precision,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "generator": GENERATOR_VERSION,
            "versions": _versions(),
            "canonical": _canonical(system),
            "source_blake3": digest(source, "blake3"),
            "source_bytes": len(source),
        }
        atomic_write(meta_path, json.dumps(meta, indent=1, sort_keys=True).encode("utf-8"))
        with open(entry / "generations.log", "a", encoding="utf-8") as log:
            log.write(f"{meta['created']} pid={os.getpid()} {variant.name}\n")
        return module

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
        with contextlib.suppress(OSError):
            os.utime(self.entry_dir(fn_hash))  # last use, for `prune --older-than`
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
        """The fn_hash recorded for a raw-input prehash, or None."""
        path = self.root / "prehash" / f"{prehash}.json"
        try:
            record = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return None
        fn_hash = record.get("fn_hash") if isinstance(record, dict) else None
        return fn_hash if isinstance(fn_hash, str) else None

    def record_prehash(self, prehash: str, fn_hash: str) -> None:
        """Remember that raw input with ``prehash`` parses to the system ``fn_hash``."""
        self.entry_dir(fn_hash)  # validates the hash
        path = self.root / "prehash" / f"{prehash}.json"
        atomic_write(path, json.dumps({"fn_hash": fn_hash, "prehash": prehash}).encode("utf-8"))

    # -- inspection and maintenance ---------------------------------------------------------

    def entries(self) -> list[EntryInfo]:
        """Every compiled variant in the cache, newest first."""
        infos = []
        for meta_path in (self.root / "entries").glob("*/*.json"):
            try:
                meta = json.loads(meta_path.read_text("utf-8"))
                module_path = meta_path.with_name(meta["variant"].replace("-", "_") + ".py")
                size = sum(p.stat().st_size for p in meta_path.parent.rglob("*") if p.is_file())
                infos.append(
                    EntryInfo(
                        meta["fn_hash"], meta["variant"], module_path, meta["created"], size, meta
                    )
                )
            except (OSError, ValueError, KeyError, TypeError):
                continue
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
        """Remove entries unused for more than ``older_than_days``; returns their hashes."""
        cutoff = time.time() - older_than_days * 86400
        removed = []
        for entry in sorted((self.root / "entries").iterdir()):
            if entry.name.startswith(".") or entry.stat().st_mtime >= cutoff:
                continue
            with self._lock(entry.name):
                remove_tree(entry)
            removed.append(entry.name)
        self._drop_prehashes(set(removed))
        self._loaded = {k: v for k, v in self._loaded.items() if k[0] not in removed}
        return removed

    def clear(self) -> int:
        """Remove every entry and index record; returns the number of entries removed."""
        names = [e.name for e in (self.root / "entries").iterdir() if not e.name.startswith(".")]
        for name in names:
            with self._lock(name):
                remove_tree(self.root / "entries" / name)
        for record in (self.root / "prehash").glob("*.json"):
            record.unlink(missing_ok=True)
        self._loaded.clear()
        return len(names)

    def _drop_prehashes(self, removed: set[str]) -> None:
        for record in (self.root / "prehash").glob("*.json"):
            if self.lookup_prehash(record.stem) in removed:
                record.unlink(missing_ok=True)

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


def _canonical(system: SystemLike) -> str:
    from cubie_hash.ode import canonical_text

    # canonical_text reads exactly the fields SystemLike promises.
    return str(canonical_text(system))
