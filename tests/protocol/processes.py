"""Helpers of the protocol tests: the misbehaving adapter's command, and checks for leftovers."""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

ADAPTERS = Path(__file__).resolve().parent / "adapters"
FAULTY = ADAPTERS / "faulty.py"


def faulty_command(action: str, method: str, folder: Path, *, once: bool = True) -> str:
    """The command of the faulty adapter; its pids are appended to `folder/pids`."""
    words = [sys.executable, str(FAULTY), action, method, "--pids", str(folder / "pids")]
    if once:
        words += ["--once", str(folder / "misbehaved")]
    return shlex.join(words)


def serve_command() -> str:
    """`python -m harness serve` with this interpreter."""
    return shlex.join([sys.executable, "-m", "harness", "serve"])


def started_pids(folder: Path) -> list[int]:
    """The pids the faulty adapters (and their grandchildren) wrote to `folder/pids`."""
    path = folder / "pids"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def running(pid: int) -> bool:
    """Whether a process with this pid exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    """The pids still running after up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (alive := [p for p in pids if running(p)]) and time.monotonic() < deadline:
        time.sleep(0.02)
    return alive


def children_of(pid: int) -> list[int]:
    """The pids of the running children of `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def my_children() -> list[int]:
    """The running children of this test process."""
    return children_of(os.getpid())
