"""The exceptions cubie_hash raises: every one is a :class:`CubieHashError`.

Catch ``CubieHashError`` to handle anything this library refuses; catch a subclass to handle
one kind of problem.  The Rust core raises these very classes (it imports them from here).

Example:
    >>> import cubie_hash
    >>> try:
    ...     cubie_hash.digest("x", algorithm="crc32")
    ... except cubie_hash.CubieHashError as err:
    ...     print(type(err).__name__)
    AlgorithmError
"""

from __future__ import annotations

__all__ = [
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
]


class CubieHashError(ValueError):
    """Base class: cubie_hash refused an input rather than produce a wrong hash."""


class AlgorithmError(CubieHashError):
    """An unknown digest algorithm name; the message lists the allowed ones."""


class DigestLengthError(CubieHashError):
    """A hex length outside 1..(full digest length) for the chosen algorithm."""


class InputTypeError(CubieHashError, TypeError):
    """An input that is neither ``str`` nor a bytes-like object."""


class BufferLayoutError(CubieHashError, BufferError):
    """A bytes-like object that is not one contiguous block (a strided array, say)."""


class IdentifierError(CubieHashError):
    """A malformed model identifier or wildcard; the message names the position."""


class HashCollisionError(CubieHashError):
    """One short hash claimed by two different full identifiers; both are named."""


class LinkError(CubieHashError):
    """A hashed folder link that cannot be made or read; the message names the path."""


class PathError(CubieHashError):
    """A folder to check or scan that does not exist or is not a folder; the message names it."""


class EquationError(CubieHashError):
    """An equation that cannot be parsed or does not fit the declared system."""


class CacheError(CubieHashError):
    """A code-generation cache that is unsafe or unusable; the message names the path."""


class WorkflowCheckError(CubieHashError):
    """A Snakemake workflow that cannot be loaded or dry-run; the message is Snakemake's."""
