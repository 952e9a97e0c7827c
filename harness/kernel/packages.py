"""Debian packages for the guest: which ones, fetched with `apt-get download`, unpacked.

Neither step needs root: `apt-get download` writes the `.deb` into the current folder and
`dpkg -x` unpacks it anywhere. The kernel image of a series is whatever its meta-package
depends on today, so the cache key (package name and version) follows Debian's updates.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.kernel.errors import SetupError

_APT_HINT = "run `apt-get update` (as root) so that apt knows Debian 12's packages"


@dataclass(frozen=True, slots=True)
class Package:
    """A Debian package at one version."""

    name: str
    version: str

    @property
    def key(self) -> str:
        """`name_version`, as in the .deb's file name."""
        return f"{self.name}_{self.version}"


def _run(step: str, argv: Sequence[str], cwd: Path | None = None) -> str:
    try:
        result = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise SetupError(step, f"{argv[0]} is not installed", _APT_HINT) from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        tail = detail[-1] if detail else f"exit status {result.returncode}"
        raise SetupError(step, f"`{' '.join(argv)}` failed: {tail}", _APT_HINT)
    return result.stdout


def depends(meta: str) -> str:
    """The package a meta-package depends on (`linux-image-amd64`: `linux-image-6.1.0-NN-amd64`)."""
    out = _run("packages", ["apt-cache", "depends", meta])
    for line in out.splitlines():
        kind, _, target = line.strip().partition(":")
        if kind == "Depends" and target.strip().startswith("linux-image-"):
            return target.strip()
    raise SetupError("packages", f"{meta} depends on no linux-image package", _APT_HINT)


def candidate(name: str) -> Package:
    """The version `apt-get download NAME` fetches."""
    out = _run("packages", ["apt-cache", "show", "--no-all-versions", name])
    for line in out.splitlines():
        if line.startswith("Version:"):
            return Package(name, line.split(":", 1)[1].strip())
    raise SetupError("packages", f"apt knows no version of {name}", _APT_HINT)


def download(package: Package, folder: Path) -> Path:
    """Fetch the package's .deb into `folder`; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    _run("download", ["apt-get", "download", f"{package.name}={package.version}"], cwd=folder)
    debs = sorted(folder.glob(f"{package.name}_*.deb"))
    if not debs:
        raise SetupError("download", f"apt-get download left no {package.name} .deb in {folder}")
    return debs[-1]


def unpack(deb: Path, target: Path) -> None:
    """`dpkg -x DEB TARGET`: the package's files under `target`, without installing it."""
    _run("unpack", ["dpkg", "-x", str(deb), str(target)])
