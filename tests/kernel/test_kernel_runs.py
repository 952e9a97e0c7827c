"""Whole pytest runs with -D backend=kernel: outputs, and no QEMU left after any ending
(a normal end, -x, Ctrl-C, xdist workers) (needs QEMU)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

FAILING = """\
container c0
map c0 iova=0x100000 vaddr=0x7f0000000000 size=4K
map c0 iova=0x100000 vaddr=0x7f0000000000 size=4K
"""
PASSING = """\
container c0
map c0 iova=0x100000 vaddr=0x7f0000000000 size=4K
//:: ExpectedOutput(dma.map.failed:overlap)
map c0 iova=0x100000 vaddr=0x7f0000000000 size=4K
assert c0.mappings == 1 and c0.avail == 65534
"""


def _qemus_of(marker: str) -> list[int]:
    """The QEMU processes whose environment carries `marker` (the run that started them)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if "qemu-system" not in (entry / "cmdline").read_bytes().decode(errors="replace"):
                continue
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
            if state not in "ZX" and marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _run(folder: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    marker = f"VFIO_KERNEL_TEST_RUN={uuid.uuid4().hex}"
    env = dict(os.environ, VFIO_KERNEL_TEST_RUN=marker.split("=", 1)[1])
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            str(folder),
            "-D",
            "backend=kernel",
            *args,
        ],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return child, marker


def _scenarios(tmp_path: Path, count: int, text: str = PASSING) -> Path:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for n in range(count):
        (folder / f"s{n:02}.vfio").write_text(text)
    return folder


def _wait_gone(marker: str, within: float = 10.0) -> list[int]:
    deadline = time.monotonic() + within
    while (left := _qemus_of(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_a_run_reports_the_kernels_outputs_and_leaves_no_qemu(
    kernel_ready: None, tmp_path: Path
) -> None:
    folder = _scenarios(tmp_path, 2)
    (folder / "fails.vfio").write_text(FAILING)
    child, marker = _run(folder, "-rfs")
    out, _ = child.communicate(timeout=120)
    assert child.returncode == 1, out
    assert "2 passed" in out and "1 failed" in out
    assert "[dma.map.failed:overlap]" in out and "errno 17" in out
    assert _wait_gone(marker) == []


def test_exitfirst_leaves_no_qemu(kernel_ready: None, tmp_path: Path) -> None:
    folder = _scenarios(tmp_path, 5, FAILING)
    child, marker = _run(folder, "-x")
    out, _ = child.communicate(timeout=120)
    assert "stopping after 1 failures" in out, out
    assert _wait_gone(marker) == []


def test_xdist_workers_leave_no_qemu(kernel_ready: None, tmp_path: Path) -> None:
    folder = _scenarios(tmp_path, 6)
    child, marker = _run(folder, "-n", "2")
    out, _ = child.communicate(timeout=180)
    assert child.returncode == 0, out
    assert "6 passed" in out
    assert _wait_gone(marker) == []


def test_ctrl_c_leaves_no_qemu(kernel_ready: None, tmp_path: Path) -> None:
    folder = _scenarios(tmp_path, 1)
    slow = "container c0\n" + "".join(
        f"map c0 iova={0x100000 + n * 0x2000:#x} vaddr=0x7f0000000000 size=4K\n"
        for n in range(20000)
    )
    (folder / "slow.vfio").write_text(slow)
    child, marker = _run(folder)
    deadline = time.monotonic() + 60
    while not _qemus_of(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _qemus_of(marker), "the run never started its guest"
    time.sleep(1.0)  # inside the slow scenario
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=60)
    assert "KeyboardInterrupt" in out or "Interrupted" in out, out
    assert _wait_gone(marker) == []


def test_a_run_without_setup_stops_with_the_setup_command(tmp_path: Path) -> None:
    folder = _scenarios(tmp_path, 1)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "empty-cache"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(folder), "-D", "backend=kernel"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "no guest is set up for kernel.version=6.1" in result.stdout + result.stderr
    assert "python -m harness kernel setup" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
