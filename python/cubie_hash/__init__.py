"""cubie_hash: short, deterministic, canonical identifiers and cache keys.

The public surface is small and re-exported here:

* :func:`digest`, :func:`digest_many` — hashlib-compatible hex digests computed in Rust;
* the exception hierarchy rooted at :class:`CubieHashError`.

Example:
    >>> import cubie_hash
    >>> cubie_hash.digest("tsteps=20+dt=2_42_imagenette", length=8)
    '3fce9ecb'
"""

from __future__ import annotations

from cubie_hash._core import ALGORITHMS, digest, digest_many
from cubie_hash.errors import (
    AlgorithmError,
    BufferLayoutError,
    CacheError,
    CubieHashError,
    DigestLengthError,
    EquationError,
    HashCollisionError,
    IdentifierError,
    InputTypeError,
    LinkError,
    PathError,
    WorkflowCheckError,
)

__version__ = "0.1.0"

__all__ = [
    "ALGORITHMS",
    "AlgorithmError",
    "BufferLayoutError",
    "CacheError",
    "CubieHashError",
    "DigestLengthError",
    "EquationError",
    "HashCollisionError",
    "IdentifierError",
    "InputTypeError",
    "LinkError",
    "PathError",
    "WorkflowCheckError",
    "__version__",
    "digest",
    "digest_many",
]
