"""The whole state a VMM keeps for passthrough: containers, devices, guest windows, attachments.

Attach follows the kernel (`vfio_iommu_type1_attach_group`): the group's reserved regions are
added to the container's, and an existing mapping inside a newly reserved range fails the
attach (EINVAL) with nothing changed. Every device here has the x86 group reserved regions
(the MSI window), so attaching to a container declared `reserved=none` still reserves the MSI
window from then on: `reserved=none` describes a container before any group joined it, which
is the only way an attach conflict can arise. Attaching to a `reserved=x86` container adds
nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.vfio.bars import Placement, Window, WindowKind, Windows
from harness.vfio.catalog import ErrorId, VfioError
from harness.vfio.device import Device, HostSpace
from harness.vfio.dma import Container
from harness.vfio.pci import Bdf


class Vmm:
    """Guest windows, the devices' host side, and the device -> container attachments."""

    def __init__(self, windows: Mapping[WindowKind, Window] | None = None) -> None:
        self.windows = Windows(windows)
        self.host = HostSpace()
        self._attached: dict[Device, Container] = {}

    def new_device(self, bdf: Bdf | None) -> Device:
        """A device of this VMM: its host BAR addresses are distinct from every other's."""
        return Device(bdf, host=self.host)

    def set_window(self, kind: WindowKind, window: Window) -> None:
        """Replace a guest allocation window."""
        self.windows.set(kind, window)

    def attach(self, device: Device, container: Container) -> None:
        """Join the device's group to the container, reserving its reserved regions."""
        current = self._attached.get(device)
        if current is not None:
            same = " (this one)" if current is container else ""
            raise VfioError(
                ErrorId.DEVICE_ATTACH_ALREADY_ATTACHED,
                f"device {device.bdf!s} is already attached to a container{same}",
            )
        container.reserve(device.reserved_regions)
        self._attached[device] = container

    def container_of(self, device: Device) -> Container | None:
        """The container the device is attached to, if any."""
        return self._attached.get(device)

    def alloc(self, device: Device) -> tuple[Placement, ...]:
        """Place every BAR and the ROM of the device in the guest windows (all or nothing)."""
        placements = self.windows.allocate(device.members())
        device.apply(placements)
        return placements
