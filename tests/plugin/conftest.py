"""Shared helpers of the plugin tests: small scenarios written into pytester's folder."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

import pytest
from plugin_scenarios import TEST_BACKEND

# Imported here, before any pytester snapshot of sys.modules: an in-process run that first
# imports the core would have its submodules removed from sys.modules afterwards while they
# stay attributes of the `harness.vfio` package, and the next run would mix two copies of a
# module (seen as `VfioError: <WindowKind.MMIO32>` when tests/plugin ran after other tests).
import harness.model  # noqa: F401

WriteScenarios = Callable[[dict[str, str | bytes]], Path]


@pytest.fixture
def write_scenarios(pytester: pytest.Pytester) -> WriteScenarios:
    """Write files (path relative to pytester's folder -> text or bytes); return the folder."""

    def write(files: dict[str, str | bytes]) -> Path:
        for relpath, content in files.items():
            path = pytester.path / relpath
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return pytester.path

    return write


@pytest.fixture(autouse=True)
def _quiet_rewrite_warning(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs import the already-imported plugin again; pytest warns it can't rewrite."""
    backend = ["-D", f"backend={TEST_BACKEND}"] if TEST_BACKEND != "model" else []
    monkeypatch.setenv(
        "PYTEST_ADDOPTS",
        shlex.join(["-W", "ignore::pytest.PytestAssertRewriteWarning", *backend]),
    )
