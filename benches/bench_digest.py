"""digest / digest_many against hashlib and the blake3 package, side by side.

Targets (issue 2): a tiny single call no slower than hashlib; a 1M-item batch of 140-byte
strings at least 2x faster than a Python loop over hashlib (ceiling ~3x on 2 cores); 64 MiB
BLAKE3 within 10% of the blake3 package, MD5 within 10% of OpenSSL's single core.
Run with ``python benches/ratios.py benches/bench_digest.py``.
"""

from __future__ import annotations

import hashlib

import blake3
import numpy as np
import pytest
from cubie_hash import digest, digest_many

TINY = (
    "tsteps=20+dt=2+tau=5+tff=0+trc=6+tsk=0+lossrt=4+energyloss=0.1+pattern=1+rctype=full"
    "+rctarget=output+skip=true+feedback=false_42_imagenette_all"
)[:140].ljust(140, "x")
BATCH = [f"{i:08d}{TINY[8:]}" for i in range(1_000_000)]
BIG = np.random.default_rng(0).integers(0, 256, 64 << 20, dtype=np.uint8).tobytes()


# Sub-microsecond calls: 1000 per round, so timer overhead does not compress the ratio.
SINGLE = {"iterations": 1000, "rounds": 200, "warmup_rounds": 10}


def mark(benchmark, group: str, impl: str) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = group
    benchmark.extra_info["impl"] = impl


def test_tiny_md5_reference(benchmark) -> None:  # type: ignore[no-untyped-def]
    mark(benchmark, "digest: 140 B str, md5", "reference")
    benchmark.pedantic(lambda: hashlib.md5(TINY.encode()).hexdigest(), **SINGLE)


def test_tiny_md5_ours(benchmark) -> None:  # type: ignore[no-untyped-def]
    mark(benchmark, "digest: 140 B str, md5", "cubie_hash")
    benchmark.pedantic(digest, (TINY,), **SINGLE)


def test_batch_md5_reference(benchmark) -> None:  # type: ignore[no-untyped-def]
    mark(benchmark, "digest_many: 1M x 140 B, md5", "reference")
    result = benchmark.pedantic(
        lambda: [hashlib.md5(s.encode()).hexdigest() for s in BATCH], rounds=3, iterations=1
    )
    assert len(result) == len(BATCH)


def test_batch_md5_ours(benchmark) -> None:  # type: ignore[no-untyped-def]
    mark(benchmark, "digest_many: 1M x 140 B, md5", "cubie_hash")
    result = benchmark.pedantic(lambda: digest_many(BATCH), rounds=3, iterations=1)
    assert result[:3] == [hashlib.md5(s.encode()).hexdigest() for s in BATCH[:3]]


@pytest.mark.parametrize("algorithm", ["md5", "sha256", "blake3"])
def test_big_reference(benchmark, algorithm: str) -> None:  # type: ignore[no-untyped-def]
    mark(benchmark, f"digest: 64 MiB, {algorithm}", "reference")
    if algorithm == "blake3":
        benchmark.pedantic(lambda: blake3.blake3(BIG).hexdigest(), rounds=5, iterations=1)
    else:
        benchmark.pedantic(lambda: hashlib.new(algorithm, BIG).hexdigest(), rounds=5, iterations=1)


@pytest.mark.parametrize("algorithm", ["md5", "sha256", "blake3"])
def test_big_ours(benchmark, algorithm: str) -> None:  # type: ignore[no-untyped-def]
    mark(benchmark, f"digest: 64 MiB, {algorithm}", "cubie_hash")
    benchmark.pedantic(lambda: digest(BIG, algorithm), rounds=5, iterations=1)
