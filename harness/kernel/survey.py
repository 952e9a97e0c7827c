"""What the guest has, asked once at setup and saved with the snapshot: `GuestFacts`.

The kernel release, the IOMMU's page sizes and valid IOVA ranges (`VFIO_IOMMU_GET_INFO`; the
top of the ranges gives the real address width `aw`), the IOMMU groups, and each device bound
to vfio-pci as `harness.kernel.devices` describes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from harness.kernel.devices import BAR_COUNT, ROM_REGION, GuestDevice, describe

FACTS_FORMAT = 2  # part of the snapshot's key: bump it when what `survey` records changes
VFIO_TYPE1v2_IOMMU = 3
VFIO_TYPE1_IOMMU = 1
VFIO_GROUP_FLAGS_VIABLE = 0x1
VFIO_PCI_MSIX_IRQ_INDEX = 2


class Caller(Protocol):
    """Anything that runs agent requests (a `Guest`)."""

    def call(self, op: str, *args: int | str) -> list[str]:
        """One request; its answer's values."""
        ...


@dataclass(frozen=True, slots=True)
class GuestFacts:
    """The guest as the snapshot holds it."""

    release: str
    pgsizes: int  # VFIO_IOMMU_GET_INFO's iova_pgsizes bitmap
    ranges: tuple[tuple[int, int], ...]  # valid IOVA ranges, inclusive
    default_limit: int  # dma_entry_limit as the guest booted
    devices: tuple[GuestDevice, ...]

    @property
    def min_pgsize(self) -> int:
        """The IOMMU's smallest page size."""
        return self.pgsizes & -self.pgsizes

    @property
    def aw(self) -> int:
        """The IOMMU's address width: IOVAs lie below 2^aw."""
        top = max(last for _, last in self.ranges)
        return (top + 1).bit_length() - 1

    @property
    def groups(self) -> tuple[int, ...]:
        """The IOMMU groups of the devices, in order."""
        return tuple(sorted({d.group for d in self.devices}))

    def to_json(self) -> dict[str, Any]:
        """Plain data for the manifest."""
        return {
            "release": self.release,
            "pgsizes": self.pgsizes,
            "ranges": [list(r) for r in self.ranges],
            "default_limit": self.default_limit,
            "devices": [d.to_json() for d in self.devices],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GuestFacts:
        """The facts `to_json` wrote (KeyError/TypeError/ValueError when malformed)."""
        return cls(
            str(data["release"]),
            int(data["pgsizes"]),
            tuple((int(a), int(b)) for a, b in data["ranges"]),
            int(data["default_limit"]),
            tuple(GuestDevice.from_json(d) for d in data["devices"]),
        )


def _int(values: list[str], index: int = 0) -> int:
    return int(values[index], 16)


def survey(guest: Caller) -> GuestFacts:
    """Ask the running guest what it has; leaves no handle open (it resets the agent)."""
    release = guest.call("uname")[0]
    listing = guest.call("devices")
    found = [(listing[i], int(listing[i + 1])) for i in range(0, len(listing) - 2, 3)]
    container = _int(guest.call("container"))
    group_fds: dict[int, int] = {}
    for group in sorted({g for _, g in found}):
        answer = guest.call("group", group)
        if not _int(answer, 1) & VFIO_GROUP_FLAGS_VIABLE:
            continue  # a device of the group has another driver: the group cannot be used
        group_fds[group] = _int(answer)
        guest.call("set-container", group_fds[group], container)
    guest.call("set-iommu", container, VFIO_TYPE1v2_IOMMU)
    info = guest.call("iommu-info", container)
    pgsizes, avail, count = _int(info, 0), _int(info, 1), _int(info, 2)
    ranges = tuple((_int(info, 3 + 2 * i), _int(info, 4 + 2 * i)) for i in range(count))
    devices = []
    for bdf, group in sorted(found):
        if group not in group_fds:
            continue
        device = _int(guest.call("device", group_fds[group], bdf))
        sizes = {i: _int(guest.call("region", device, i)) for i in (*range(BAR_COUNT), ROM_REGION)}

        def read(offset: int, size: int, device: int = device) -> int:
            return _int(guest.call("cfg-read", device, offset, size))

        found_device = describe(bdf, group, read, sizes)
        msix = found_device.layout.msix
        if msix is not None:
            # the vector count the kernel gives (VFIO_DEVICE_GET_IRQ_INFO), not the capability's
            vectors = _int(guest.call("irq-info", device, VFIO_PCI_MSIX_IRQ_INDEX))
            layout = replace(found_device.layout, msix=replace(msix, vectors=vectors))
            found_device = replace(found_device, layout=layout)
        devices.append(found_device)
    guest.call("reset")
    return GuestFacts(release, pgsizes, ranges, avail, tuple(devices))
