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
