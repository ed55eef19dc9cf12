"""Shared test settings: hypothesis profiles sized for 2-core CI machines."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# CI runs a fixed set of examples (derandomize): a red CI must mean a change broke something,
# not that the random search got lucky this time.  Local runs (dev) search afresh each time,
# and the counterexamples they find are added as @example regressions.
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
