"""Repository-level pytest setup: Hypothesis profiles, and the scenario root's defaults.

The scenario plugin itself is registered through the `pytest11` entry point (see
pyproject.toml), so an installed project works in any folder; this file only sets what this
repository prefers.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# The plugin's own tests (tests/plugin) drive pytest in temporary folders.
pytest_plugins = ["pytester"]

# quick: the default for a developer's edit-test loop.
settings.register_profile("quick", max_examples=30, deadline=None)
# ci: what .ci/run uses (CI=true); more examples, still well inside CI's time.
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# thorough: 256 examples per property, as in the seed report.
settings.register_profile(
    "thorough", max_examples=256, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "quick")
)
