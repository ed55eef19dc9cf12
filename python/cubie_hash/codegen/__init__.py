"""Code generation and its cache: a system hashed once is generated and compiled once.

* :func:`load_system` — raw equations in, compiled Numba functions out, through the cache.
* :class:`CodegenCache` — the on-disk cache (``ls``/``info``/``prune``/``clear``, ``explain_miss``).
* :func:`generate_source` — the Python source Numba compiles, for ``cpu`` or ``cuda``.

Example:
    >>> from cubie_hash.codegen import load_system
    >>> lv = load_system(["dx = a*x - b*x*y", "dy = -c*y + d*x*y"],
    ...                  states=["x", "y"], parameters=["a", "b", "c", "d"])  # doctest: +SKIP
    >>> lv.event.kind  # doctest: +SKIP
    'miss'
"""

from __future__ import annotations

from cubie_hash.codegen.cache import (
    CACHE_FORMAT,
    CacheEvent,
    CacheWarning,
    CodegenCache,
    CompiledSystem,
    EntryInfo,
    default_root,
)
from cubie_hash.codegen.loader import load_system
from cubie_hash.codegen.source import (
    GENERATOR_VERSION,
    PRECISIONS,
    TARGETS,
    Variant,
    generate_source,
)

__all__ = [
    "CACHE_FORMAT",
    "GENERATOR_VERSION",
    "PRECISIONS",
    "TARGETS",
    "CacheEvent",
    "CacheWarning",
    "CodegenCache",
    "CompiledSystem",
    "EntryInfo",
    "Variant",
    "default_root",
    "generate_source",
    "load_system",
]
