"""The host tools the kernel backend needs, and the one command that installs what is missing.

Each tool is found the way the setup uses it (a program on PATH, a header or static library
gcc reads), so a tool installed some other way counts too; what is missing is named with the
Debian 12 package that provides it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

QEMU = "qemu-system-x86_64"


@dataclass(frozen=True, slots=True)
class Tool:
    """Something the setup or a session runs or compiles against, and its Debian package."""

    what: str
    package: str
    probe: Callable[[], bool]


def _program(name: str) -> Callable[[], bool]:
    return lambda: shutil.which(name) is not None


def _file(*candidates: str) -> Callable[[], bool]:
    return lambda: any(Path(c).exists() for c in candidates)


TOOLS: tuple[Tool, ...] = (
    Tool(QEMU, "qemu-system-x86", _program(QEMU)),
    Tool("gcc", "gcc", _program("gcc")),
    Tool(
        "the static C library (libc.a)",
        "libc6-dev",
        _file("/usr/lib/x86_64-linux-gnu/libc.a", "/usr/lib64/libc.a", "/usr/lib/libc.a"),
    ),
    Tool("<linux/vfio.h>", "linux-libc-dev", _file("/usr/include/linux/vfio.h")),
    Tool("zstd", "zstd", _program("zstd")),
    Tool("setpriv", "util-linux", _program("setpriv")),
    Tool("apt-get", "apt", _program("apt-get")),
    Tool("dpkg", "dpkg", _program("dpkg")),
)


def missing(candidates: Sequence[Tool] | None = None) -> list[Tool]:
    """The tools (by default all of `TOOLS`) not found on this machine."""
    return [tool for tool in (TOOLS if candidates is None else candidates) if not tool.probe()]


def install_line(absent: Sequence[Tool]) -> str:
    """The exact command that installs them (each package once, in the table's order)."""
    packages = list(dict.fromkeys(tool.package for tool in absent))
    return "apt-get install -y --no-install-recommends " + " ".join(packages)
