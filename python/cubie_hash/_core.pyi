"""Type stubs for the compiled core, ``cubie_hash._core`` (built from ``rust/``)."""

from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

from typing_extensions import Buffer

AlgorithmName = Literal["md5", "sha256", "blake2b", "blake2s", "blake3"]

ALGORITHMS: Final[list[str]]
GIL_RELEASE_BYTES: Final[int]

def digest(data: str | Buffer, algorithm: AlgorithmName = "md5", length: int | None = None) -> str:
    """Hex digest of ``data`` (a str is hashed as UTF-8), cut to ``length`` hex characters."""

def digest_many(
    items: Iterable[str | Buffer], algorithm: AlgorithmName = "md5", length: int | None = None
) -> list[str]:
    """Hex digests of every item, in input order; large batches run in parallel."""

ODE_FORMAT_VERSION: Final[int]
ODE_PREHASH_VERSION: Final[int]
ODE_FUNCTIONS: Final[list[str]]

def ode_hash_system(
    equations: Iterable[Any],
    constants: Mapping[Any, Any] | None,
    states: Iterable[Any],
    parameters: Iterable[Any],
    drivers: Iterable[Any],
    observables: Iterable[Any],
    algorithm: str = "blake3",
) -> str:
    """Hex digest of a system's canonical encoding (``cubie_hash.ode.hash_system_definition``)."""

def ode_canonical_text(
    equations: Iterable[Any],
    constants: Mapping[Any, Any] | None,
    states: Iterable[Any],
    parameters: Iterable[Any],
    drivers: Iterable[Any],
    observables: Iterable[Any],
) -> str:
    """Readable rendering of a system's canonical form (``cubie_hash.ode.canonical_text``)."""

def ode_encode_expr(expr: Any) -> bytes:
    """Canonical encoding of one SymPy expression (or Python number)."""

def ode_render_expr(expr: Any) -> str:
    """Readable canonical form of one SymPy expression."""

def ode_prehash(
    lines: list[str],
    states: Iterable[str],
    parameters: Iterable[str],
    drivers: Iterable[str],
    observables: Iterable[str],
    constants: Mapping[str, int | float] | None,
) -> str:
    """BLAKE3 raw-input prehash (``cubie_hash.ode.prehash``)."""
