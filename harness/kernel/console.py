"""The guest's console: read as it grows, scanned for kernel faults, kept when one happens.

The guest kernel writes to its first serial port, which QEMU appends to a file. After every
request the host reads what is new and looks for the kernel's own fault banners: `Oops`,
`BUG` (`BUG: kernel NULL pointer dereference`, `BUG: unable to handle page fault`) and
`WARNING` (`WARNING: CPU: 0 PID: 1 at ...`). Any of them fails the scenario, whatever the
call returned: a kernel that warned is not a kernel whose answer can be trusted.

An incident (a fault banner, a hang, QEMU gone) keeps the whole console in a file of its own
under the cache directory, named in the failure message; the newest `KEEP` are kept.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

FAULT = re.compile(r"\b(Oops|BUG|WARNING)\b")
KEEP = 50
_TAIL_LINES = 40


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault banner the guest kernel printed: the banner's line and the lines after it."""

    banner: str
    excerpt: str


def find_fault(text: str) -> Fault | None:
    """The first fault banner in console text, with up to 40 lines from it on."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if FAULT.search(line):
            return Fault(line.strip(), "\n".join(lines[i : i + _TAIL_LINES]))
    return None


class Console:
    """A console file that grows: `fresh()` returns what was appended since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._pending = ""  # an incomplete last line, scanned again once it is whole

    def fresh(self) -> str:
        """The whole lines written since the last call (an unfinished line waits)."""
        try:
            with self.path.open("rb") as stream:
                stream.seek(self._offset)
                data = stream.read()
        except FileNotFoundError:
            return ""
        self._offset += len(data)
        text = self._pending + data.decode("utf-8", "replace")
        whole, newline, rest = text.rpartition("\n")
        self._pending = rest
        return whole + newline

    def check(self) -> Fault | None:
        """A fault banner in what is new, if any."""
        return find_fault(self.fresh())

    def text(self) -> str:
        """Everything the console holds."""
        try:
            return self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = _TAIL_LINES) -> str:
        """The console's last lines."""
        return "\n".join(self.text().splitlines()[-lines:])


def keep(console: Console, folder: Path, what: str) -> Path | None:
    """Copy the console into `folder` as one incident file; its path (None if it cannot)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^A-Za-z0-9]+", "-", what).strip("-")[:40] or "incident"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = folder / f"{stamp}-{time.monotonic_ns() % 10**9:09d}-{slug}.log"
        path.write_text(console.text(), encoding="utf-8")
        _prune(folder)
        return path
    except OSError:
        return None


def _prune(folder: Path) -> None:
    files = sorted(folder.glob("*.log"))
    for old in files[:-KEEP]:
        old.unlink(missing_ok=True)
