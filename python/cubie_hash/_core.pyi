"""Type stubs for the compiled core, ``cubie_hash._core`` (built from ``rust/``)."""

from collections.abc import Iterable
from typing import Final, Literal

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
