"""A process forked after rayon's pool started still hashes and parses (it has no workers).

``multiprocessing``'s fork start method, pytest-xdist and workflow engines fork workers from
a parent that may already have used the parallel paths.  A forked child inherits the pool's
bookkeeping but not its threads, so a job handed to the pool there never runs: waiting for
one hung ``digest_many`` for ever.  Each case runs in a child process with a timeout, so a
hang or a crash fails the test instead of stalling the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="os.fork is POSIX")

# The parent uses every parallel path (a batch big enough to be cut into chunks, inputs big
# enough for the per-item split, a text long enough for the threaded parse, a big system
# dropped), then forks; the child does the same and must match the parent.
SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from cubie_hash import digest_many
    from cubie_hash.ode import parse_equations
    from cubie_hash.ode.examples import generated

    many = [b"%d" % i for i in range(5000)]
    big = [bytes(600_000), bytes(700_000)]
    system = generated(340)

    def work():
        return (digest_many(many), digest_many(big), parse_equations(**system).fn_hash)

    before = work()

    def child_ok():
        return work() == before and work() == before
    """
)

# Ends every script: runs its `child_ok()` in a forked child, which an alarm kills (SIGALRM's
# default action) rather than let it hang, and exits with the child's status.
IN_A_FORKED_CHILD = textwrap.dedent(
    """
    pid = os.fork()
    if pid == 0:
        signal.alarm(60)
        os._exit(0 if child_ok() else 3)
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))
    """
)


def run_forking(script: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", script + IN_A_FORKED_CHILD],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_a_forked_child_hashes_and_parses_as_its_parent() -> None:
    run_forking(SCRIPT)


# Each system is freed when dropped, in a parent whose parse uses workers as in a forked
# child that has none.  Were any kept, 300 parses of a 340-equation system would keep about
# 300 MB.
FREED = textwrap.dedent(
    """
    import os, resource, signal, sys
    from cubie_hash.ode import parse_equations
    from cubie_hash.ode.examples import generated

    system = generated(340)

    def grown_mb():
        parse_equations(**system)
        start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for _ in range(300):
            parse_equations(**system)
        return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start) / 1024

    assert grown_mb() < 60, "the parent keeps what it parsed"

    def child_ok():
        return grown_mb() < 60
    """
)


def test_dropped_systems_are_freed_with_and_without_workers() -> None:
    run_forking(FREED)
