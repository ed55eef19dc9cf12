"""compute_hash / compute_hashes against the DynVision seed's pure-Python compute_hash.

Targets (issue 3): a single call at least 3.5x faster; a 1M-row batch at least 6x faster
(ceiling ~7x on 2 cores: MD5 itself is ~250 ns of the reference's ~1.6 us per row).
Run with ``python benches/ratios.py benches/bench_compute_hash.py``.
"""

from __future__ import annotations

import hashlib

from cubie_hash.snakemake import compute_hash, compute_hashes

ARGS = (
    ":tsteps=20+dt=2+tau=5+tff=0+trc=6+tsk=0+lossrt=4+energyloss=0.1+pattern=1+rctype=full"
    "+rctarget=output+skip=true+feedback=false"
)
ROWS = [(ARGS.replace("20", str(i), 1), str(i % 5), "imagenette") for i in range(1_000_000)]


def seed_compute_hash(*args: object, length: int = 8) -> str:
    """The seed's reference implementation, verbatim."""
    for arg in args:
        if "hash=" in str(arg):
            return str(arg)
    combined = "_".join(str(arg).lstrip(":") for arg in args)
    hash_val = hashlib.md5(combined.encode()).hexdigest()[:length]
    return f":hash={hash_val}"


# A sub-microsecond call timed one at a time carries ~100 ns of timer and loop overhead on
# both sides, which compresses the ratio; 1000 calls per round measure the calls themselves.
ARGS_SINGLE = (ARGS, "42", "imagenette")
SINGLE = {"iterations": 1000, "rounds": 200, "warmup_rounds": 10}


def mark(benchmark, group: str, impl: str) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = group
    benchmark.extra_info["impl"] = impl


def test_single_reference(benchmark) -> None:  # type: ignore[no-untyped-def]
    mark(benchmark, "compute_hash: one call", "reference")
    assert benchmark.pedantic(seed_compute_hash, ARGS_SINGLE, **SINGLE) == ":hash=e422434b"


def test_single_ours(benchmark) -> None:  # type: ignore[no-untyped-def]
    mark(benchmark, "compute_hash: one call", "cubie_hash")
    assert benchmark.pedantic(compute_hash, ARGS_SINGLE, **SINGLE) == ":hash=e422434b"


def test_batch_reference(benchmark) -> None:  # type: ignore[no-untyped-def]
    mark(benchmark, "compute_hashes: 1M rows", "reference")
    result = benchmark.pedantic(
        lambda: [seed_compute_hash(*row) for row in ROWS], rounds=3, iterations=1
    )
    assert len(result) == len(ROWS)


def test_batch_ours(benchmark) -> None:  # type: ignore[no-untyped-def]
    mark(benchmark, "compute_hashes: 1M rows", "cubie_hash")
    result = benchmark.pedantic(lambda: compute_hashes(ROWS), rounds=3, iterations=1)
    assert result[:3] == [seed_compute_hash(*row) for row in ROWS[:3]]
