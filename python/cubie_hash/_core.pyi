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

def compute_hash(
    *args: object, length: int = 8, algorithm: AlgorithmName = "md5", canonical: bool = False
) -> str:
    """``':hash=<hex>'`` of the args (str()-ed, leading ':' stripped, joined with '_')."""

def compute_hashes(
    rows: Iterable[Iterable[object]],
    length: int = 8,
    algorithm: AlgorithmName = "md5",
    canonical: bool = False,
) -> list[str]:
    """``compute_hash(*row)`` for every row, in order; large batches run in parallel."""

def parse_identifier(
    identifier: str,
) -> tuple[str, str, list[tuple[str, str]], str, str]:
    """``(name, args, params, seed, data)`` of ``NAME[:k=v+...]_SEED_DATA``."""

def parse_args(args: str) -> list[tuple[str, str]]:
    """The ``(key, value)`` pairs of ``k=v+k=v`` text (leading ':' / '+' skipped)."""

def format_identifier(name: str, params: list[tuple[str, str]], seed: str, data: str) -> str:
    """``NAME[:k=v+...]_SEED_DATA``; refuses parts that would not parse back unchanged."""

def canonical_args(args: str) -> str:
    """``k=v+...`` text with its keys sorted."""

def args_to_flags(args: str) -> list[str]:
    """``['--k', 'v', ...]`` for ``k=v+...`` text."""

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

def ode_canonical_trees(equations: Iterable[Any]) -> list[tuple[str, tuple[str, Any]]]:
    """``[(name, canonical tree)]`` of (lhs, SymPy rhs) pairs, sorted by name."""

def ode_cubie_hash(
    equations: Iterable[Any],
    derivatives: Any,
    constants: Mapping[Any, Any] | None,
    states: Iterable[Any],
    parameters: Iterable[Any],
    drivers: Iterable[Any],
    observables: Iterable[Any],
    algorithm: str = "blake3",
) -> str:
    """Hex digest of the canonical form of CuBIE IR (lhs, rhs) pairs."""

def ode_cubie_canonical_text(
    equations: Iterable[Any],
    derivatives: Any,
    constants: Mapping[Any, Any] | None,
    states: Iterable[Any],
    parameters: Iterable[Any],
    drivers: Iterable[Any],
    observables: Iterable[Any],
) -> str:
    """Readable canonical form of CuBIE IR (lhs, rhs) pairs."""

def ode_cubie_trees(
    equations: Iterable[Any], derivatives: Any
) -> list[tuple[str, tuple[str, Any]]]:
    """``[(name, canonical tree)]`` of CuBIE IR (lhs, rhs) pairs, in input order."""
