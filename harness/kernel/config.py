"""What a kernel run is made of: the kernel series, the IOMMU, the accelerator.

`KernelConfig` is the value the `kernel.*` keys (`-D kernel.version=6.12`) and the command
line of `python -m harness kernel ...` (`--version 6.12`) produce; everything else (packages,
the QEMU command line, cache keys) is derived from it. This module imports only the standard
library: the run's option parsing uses it.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from typing import Literal

SeriesName = Literal["6.1", "6.12"]
IommuName = Literal["vtd", "virtio"]
AccelName = Literal["auto", "tcg", "kvm"]

SERIES: tuple[SeriesName, ...] = ("6.1", "6.12")
IOMMUS: tuple[IommuName, ...] = ("vtd", "virtio")
ACCELS: tuple[AccelName, ...] = ("auto", "tcg", "kvm")

# The Debian 12 meta-package that depends on the newest image of each series: the image is
# whatever it depends on today (`apt-cache depends`), so a kernel security update is a new
# cache key, never a stale guest.
META_PACKAGES: dict[str, str] = {"6.1": "linux-image-amd64", "6.12": "linux-image-6.12-amd64"}
BUSYBOX_PACKAGE = "busybox-static"

# Debian's 6.1 builds virtio-iommu out (CONFIG_VIRTIO_IOMMU is not set); 6.12 has it.
_VIRTIO_SERIES = frozenset({"6.12"})


class ConfigError(ValueError):
    """A combination of keys no guest can be built for; the message names the keys."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True, slots=True)
class KernelConfig:
    """One guest: a Debian kernel series, the emulated IOMMU and how QEMU runs it."""

    version: SeriesName = "6.1"
    iommu: IommuName = "vtd"
    accel: AccelName = "auto"

    def __post_init__(self) -> None:
        if self.version not in SERIES:
            raise ConfigError(
                f"kernel.version={self.version!r} is not a series the backend builds",
                "choose " + " or ".join(SERIES),
            )
        if self.iommu not in IOMMUS:
            raise ConfigError(
                f"kernel.iommu={self.iommu!r} is not an IOMMU the backend emulates",
                "choose " + " or ".join(IOMMUS),
            )
        if self.accel not in ACCELS:
            raise ConfigError(
                f"kernel.accel={self.accel!r} is not an accelerator",
                "choose " + ", ".join(ACCELS),
            )
        if self.iommu == "virtio" and self.version not in _VIRTIO_SERIES:
            raise ConfigError(
                f"kernel.iommu=virtio needs kernel.version={sorted(_VIRTIO_SERIES)[0]}: Debian's"
                f" {self.version} kernel is built without virtio-iommu",
                "write -D kernel.version=6.12 -D kernel.iommu=virtio, or use kernel.iommu=vtd",
            )

    @property
    def meta_package(self) -> str:
        """The package whose dependency names this series' kernel image."""
        return META_PACKAGES[self.version]

    def args(self) -> list[str]:
        """The same configuration as options of `python -m harness kernel ...`."""
        return ["--version", self.version, "--iommu", self.iommu, "--accel", self.accel]

    def serve_spec(self, timeout: float) -> str:
        """The process backend `-D backend=kernel` stands for: this interpreter running
        `python -m harness kernel serve` with this configuration and the run's timeout."""
        words = [sys.executable, "-m", "harness", "kernel", "serve", *self.args()]
        return "exec:" + shlex.join([*words, "--timeout", f"{timeout:g}"])

    def describe(self) -> str:
        """`kernel.version=6.1 kernel.iommu=vtd kernel.accel=auto`, for messages."""
        return f"kernel.version={self.version} kernel.iommu={self.iommu} kernel.accel={self.accel}"
