"""Every protocol test checks that it leaves no child process of the test process running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from processes import my_children, wait_gone


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> Iterator[None]:
    before = set(my_children())
    yield
    left = wait_gone(sorted(set(my_children()) - before), timeout=5.0)
    assert left == [], f"processes left running: {left}"
