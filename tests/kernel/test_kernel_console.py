"""The guest console watch (`harness.kernel.console`): fault banners, growth, kept incidents."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.kernel import console
from harness.kernel.console import Console, find_fault

OOPS = """\
[   12.5] BUG: kernel NULL pointer dereference, address: 0000000000000030
[   12.5] #PF: supervisor read access in kernel mode
[   12.6] Oops: 0000 [#1] PREEMPT SMP NOPTI
"""


@pytest.mark.parametrize(
    "line",
    [
        "[    5.1] BUG: kernel NULL pointer dereference, address: 0000000000000030",
        "[    5.1] Oops: 0000 [#1] PREEMPT SMP NOPTI",
        "[    7.2] WARNING: CPU: 0 PID: 1 at drivers/vfio/vfio_iommu_type1.c:1234 f+0x1/0x2",
        "[    9.0] traps: PANIC: double fault, error_code: 0x0 -- Oops: double fault",
    ],
)
def test_find_fault_sees_the_kernels_fault_banners(line: str) -> None:
    found = find_fault(f"[    1.0] vfio-agent: scenario 3\n{line}\n[    9.9] next\n")
    assert found is not None and found.banner == line.strip()


@pytest.mark.parametrize(
    "text",
    [
        "[    1.0] vfio-agent: scenario 3\n",
        "[    2.0] vfio-pci 0000:00:01.0: enabling device (0000 -> 0003)\n",
        "[    3.0] calling BUG_ON_helper debugging Oopsie WARNINGS\n",
    ],
)
def test_find_fault_ignores_ordinary_console_lines(text: str) -> None:
    assert find_fault(text) is None


def test_find_fault_keeps_the_lines_after_the_banner() -> None:
    found = find_fault(OOPS)
    assert found is not None
    assert found.excerpt.splitlines()[-1].endswith("Oops: 0000 [#1] PREEMPT SMP NOPTI")


def test_console_fresh_returns_only_whole_new_lines(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    watch = Console(path)
    assert watch.fresh() == ""  # QEMU has not created it yet
    path.write_text("one\ntw")
    assert watch.fresh() == "one\n"
    with path.open("a") as stream:
        stream.write("o\nthree\n")
    assert watch.fresh() == "two\nthree\n"
    assert watch.fresh() == ""


def test_console_check_sees_a_banner_written_in_two_pieces(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    watch = Console(path)
    path.write_text("[ 1.0] WARN")
    assert watch.check() is None
    with path.open("a") as stream:
        stream.write("ING: CPU: 0 PID: 1 at x\n")
    found = watch.check()
    assert found is not None and found.banner == "[ 1.0] WARNING: CPU: 0 PID: 1 at x"


def test_keep_copies_the_whole_console_and_prunes_old_incidents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "KEEP", 3)
    path = tmp_path / "console.log"
    path.write_text(OOPS)
    kept = [console.keep(Console(path), tmp_path / "incidents", f"map {n}") for n in range(5)]
    assert all(p is not None for p in kept)
    remaining = sorted((tmp_path / "incidents").iterdir())
    assert len(remaining) == 3
    assert remaining[-1].read_text() == OOPS
    assert remaining[-1].name.endswith("-map-4.log")


def test_keep_returns_none_when_the_folder_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert console.keep(Console(tmp_path / "console.log"), blocker / "incidents", "x") is None
