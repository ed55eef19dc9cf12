"""Tail latency of text -> fn_hash: batches of back-to-back calls, medians and p90.

pytest-benchmark reports one median per run; a slow mode of the parallel parse shows only
across batches.  Until the caller stopped waiting for workers and freed systems itself, a
batch's median was often ~2.5x the fast mode's and its p90 up to 4 ms.  Compare a build's
batches with ``RAYON_NUM_THREADS=1`` (one thread) in the same minutes, or two builds by
swapping ``cubie_hash/_core.abi3.so`` between runs:

    .venv/bin/python benches/tail_ode_text.py
    RAYON_NUM_THREADS=1 .venv/bin/python benches/tail_ode_text.py
"""

from __future__ import annotations

import time

from cubie_hash.ode import parse_equations
from cubie_hash.ode.examples import generated

BATCHES = 6
CALLS = 200


def main() -> None:
    kwargs = generated(340)
    for batch in range(BATCHES):
        times = []
        for _ in range(CALLS):
            start = time.perf_counter()
            parse_equations(**kwargs).fn_hash  # noqa: B018 - the call is what is timed
            times.append(time.perf_counter() - start)
        times.sort()
        us = [t * 1e6 for t in (times[0], times[CALLS // 2], times[CALLS * 9 // 10])]
        print(f"batch {batch}: min {us[0]:.0f}  median {us[1]:.0f}  p90 {us[2]:.0f} us")
        time.sleep(0.3)  # as between a workflow's calls


if __name__ == "__main__":
    main()
