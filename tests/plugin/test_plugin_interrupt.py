"""Ctrl-C in the middle of a run: the summary counts only the scenarios that ran, serial and
under pytest-xdist alike; a scenario interrupted while it ran is "Not run", never "Passed"."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from plugin_scenarios import PASSING

# A backend whose `container gate` marks that it started (a file per process), then waits for a
# file named `open` (at most 30 s): the test interrupts the run while scenarios wait there.
GATE_BACKEND = """
import os
import time
from pathlib import Path

from harness.model import ModelBackend


class Gate(ModelBackend):
    def container(self, name, **options):
        if name == "gate":
            Path(f"started-{os.getpid()}").touch()
            deadline = time.monotonic() + 30
            while not Path("open").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        return super().container(name, **options)
"""


def interrupted_run(folder: Path, *args: str, waiting: int) -> str:
    """Run pytest in `folder` until `waiting` processes wait at a gate, then press Ctrl-C (to
    the whole process group, as a terminal does); its output."""
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly",
         "-D", "backend=gate_backend:Gate", *args, "scenarios"],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(folder), "PYTEST_ADDOPTS": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(folder.glob("started-*"))) < waiting and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # let the scenarios' setup reports reach the controller
        os.killpg(run.pid, signal.SIGINT)
        output, _ = run.communicate(timeout=90)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    return output


@pytest.mark.parametrize(
    ("workers", "waiting"), [((), 1), (("-n", "2"), 2)], ids=["serial", "xdist"]
)
def test_ctrl_c_counts_scenarios_that_never_finished_as_not_run(
    tmp_path: Path, workers: tuple[str, ...], waiting: int
) -> None:
    (tmp_path / "gate_backend.py").write_text(GATE_BACKEND)
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "a.vfio").write_text(PASSING)
    for n in range(4):
        (tmp_path / "scenarios" / f"gate{n}.vfio").write_text("container gate\n")
    output = interrupted_run(tmp_path, *workers, waiting=waiting)
    assert "KeyboardInterrupt" in output, output
    counts = re.search(r"^Total (\d+), .*Passed (\d+).*$", output, re.MULTILINE)
    assert counts is not None, output
    passed = int(counts.group(2))
    # pytest's own line counts the scenarios whose call passed; ours must agree with it.
    final = re.search(r"=+ (\d+) passed", output)
    assert final is not None, output
    assert passed == int(final.group(1)) <= 1, output
    assert counts.group(0).endswith(f", Not run {waiting}"), output
