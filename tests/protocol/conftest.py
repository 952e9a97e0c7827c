"""Every protocol test checks that it leaves no child process of the test process running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from processes import my_children, wait_gone


@pytest.fixture(autouse=True)
def _quiet_rewrite_warning(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process pytester runs import the already-imported plugin again; pytest warns."""
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")  # first: pytester clears PYTEST_ADDOPTS
        monkeypatch.setenv("PYTEST_ADDOPTS", "-W ignore::pytest.PytestAssertRewriteWarning")


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> Iterator[None]:
    before = set(my_children())
    yield
    left = wait_gone(sorted(set(my_children()) - before), timeout=5.0)
    assert left == [], f"processes left running: {left}"
