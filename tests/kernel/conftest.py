"""Fixtures of the kernel backend's tests that need QEMU and a set-up guest.

Without QEMU or without `python -m harness kernel setup` having run, these tests are skipped
with one reason that says what is missing; with `CI` set they fail instead, because CI
installs QEMU and runs the setup first (`.ci/kernel`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from harness.backend import CoreDefaults
from harness.kernel import artifacts
from harness.kernel.config import KernelConfig
from harness.kernel.errors import SetupError
from harness.kernel.session import KernelSession
from harness.kernel.tools import QEMU


def unavailable() -> str | None:
    """Why the kernel backend cannot run here, or None."""
    if shutil.which(QEMU) is None:
        return f"the kernel backend needs QEMU ({QEMU} is not installed); see docs/kernel.md"
    try:
        artifacts.installed(KernelConfig())
    except SetupError as error:
        return (
            f"the kernel backend is not set up: {error.message}; run python -m harness kernel setup"
        )
    return None


@pytest.fixture(scope="session")
def kernel_ready() -> None:
    """Skip (fail under CI) when the kernel backend cannot run."""
    reason = unavailable()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the kernel tests: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def kernel_session(kernel_ready: None) -> Iterator[KernelSession]:
    """One guest for a module's tests; each test takes `session.fresh()` itself."""
    session = KernelSession(CoreDefaults(), watchdog=20.0)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def own_session(kernel_ready: None) -> Iterator[KernelSession]:
    """A guest of the test's own, for tests that break it."""
    session = KernelSession(CoreDefaults(), watchdog=2.0)
    try:
        yield session
    finally:
        session.close()
