"""The host tool check of `kernel setup` (`harness.kernel.tools`, `provision.check_tools`)."""

from __future__ import annotations

import pytest

from harness.kernel import provision, tools
from harness.kernel.errors import SetupError


def _absent(*names: str) -> tuple[tools.Tool, ...]:
    return tuple(
        tools.Tool(t.what, t.package, (lambda: False) if t.what in names else (lambda: True))
        for t in tools.TOOLS
    )


def test_install_line_names_each_missing_package_once_in_order() -> None:
    absent = [t for t in _absent(tools.QEMU, "zstd", "gcc") if not t.probe()]
    assert tools.install_line(absent) == (
        "apt-get install -y --no-install-recommends qemu-system-x86 gcc zstd"
    )


def test_check_tools_stops_with_the_exact_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "TOOLS", _absent(tools.QEMU, "<linux/vfio.h>"))
    with pytest.raises(SetupError) as caught:
        provision.check_tools()
    error = caught.value
    assert error.where() == "kernel setup (host tools)"
    assert "qemu-system-x86_64, <linux/vfio.h>" in error.message
    assert error.hint is not None
    assert error.hint.endswith(
        "apt-get install -y --no-install-recommends qemu-system-x86 linux-libc-dev"
    )


def test_check_tools_passes_when_everything_is_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "TOOLS", _absent())
    provision.check_tools()
