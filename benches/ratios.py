"""Run the benchmark suites and print, per group, how much faster cubie_hash is than the reference.

Every benchmark in ``benches/`` sets ``benchmark.group`` and ``benchmark.extra_info["impl"]`` to
``"cubie_hash"`` or ``"reference"``; both sides of a group run in the same session, so the ratio
compares like with like on the same (noisy, shared) machine.  A benchmark of impl ``"in turn"``
times both sides alternately itself and records ``reference_s``, ``cubie_hash_s`` and ``ratio``.

Usage:
    python benches/ratios.py                      # every suite
    python benches/ratios.py benches/bench_digest.py -k batch
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def table(report: dict, stat: str = "median") -> list[tuple[str, float, float, float]]:
    """(group, reference s, cubie_hash s, speed-up) for each complete group.

    ``stat`` is the benchmark's median, or the name of a time a benchmark recorded itself in
    ``extra_info`` (for timings taken inside a child process).
    """
    groups: dict[str, dict[str, float]] = {}
    for bench in report["benchmarks"]:
        impl = bench["extra_info"].get("impl")
        value = bench["stats"]["median"] if stat == "median" else bench["extra_info"].get(stat)
        if value is not None:
            groups.setdefault(bench["group"], {})[impl] = value
    rows = []
    for group, impls in sorted(groups.items()):
        if "reference" in impls and "cubie_hash" in impls:
            ref, ours = impls["reference"], impls["cubie_hash"]
            rows.append((group, ref, ours, ref / ours))
    return rows


def fmt_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:8.2f} {unit}"
    return f"{seconds * 1e9:8.2f} ns"


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        cmd = [
            sys.executable, "-m", "pytest", *(argv or [str(here)]),
            "-p", "no:cacheprovider", "-q", "--benchmark-enable", "--benchmark-only",
            f"--benchmark-json={out}", "-o", "addopts=", "-o", "testpaths=benches",
            "-o", "python_files=bench_*.py",
        ]  # fmt: skip
        status = subprocess.call(cmd)
        if status != 0 or not out.exists():
            return status or 1
        report = json.loads(out.read_text())
        rows = table(report)
    print()
    print(f"{'group':<44} {'reference':>12} {'cubie_hash':>12} {'speed-up':>9}")
    for group, ref, ours, ratio in rows:
        print(f"{group:<44} {fmt_time(ref):>12} {fmt_time(ours):>12} {ratio:8.2f}x")
    inner = table(report, stat="ready_s")
    if inner:
        print("\nmeasured inside the process (extra_info['ready_s'], last round):")
        for group, ref, ours, ratio in inner:
            print(f"{group:<44} {fmt_time(ref):>12} {fmt_time(ours):>12} {ratio:8.2f}x")
    paired = [b for b in report["benchmarks"] if b["extra_info"].get("impl") == "in turn"]
    if paired:
        print("\ntimed in turn (reference, then a batch of ours, repeated; median per-pair ratio):")
        for bench in paired:
            info = bench["extra_info"]
            ref, ours = fmt_time(info["reference_s"]), fmt_time(info["cubie_hash_s"])
            print(f"{bench['group']:<44} {ref:>12} {ours:>12} {info['ratio']:8.2f}x")
    sizes = table(report, stat="source_chars")
    if sizes:
        print("\ngenerated module length (extra_info['source_chars']):")
        for group, ref, ours, ratio in sizes:
            print(f"{group:<44} {ref:>10.0f} ch {ours:>10.0f} ch {ratio:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
