"""Which IOMMU group each container uses and which guest device each declaration stands for.

A type1 container needs a group before it can have an IOMMU (`VFIO_SET_IOMMU` fails on an
empty container), and a group belongs to one container at a time. So every scenario container
takes a group of its own (its anchor) when it is declared, and every scenario device is a real
guest device whose group is no container's anchor; `attach` then joins the device's group to
the container, as a VMM does.

Anchors are taken from the groups least likely to be declared (the one with the most functions,
the ICH9 group on q35, then the highest-numbered), devices from the lowest BDF up, so that the
usual scenarios (a container or two, a device or two) fit the guest's five groups. When they do
not fit, the call is `Unsupported` with the count, never a guess.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.backend import Unsupported
from harness.kernel.devices import Declaration, GuestDevice, candidates, no_match_reason

PRIVATE = "(a container of the backend's own)"  # owner of a group opened for device access


class Assignment:
    """The groups and devices of one scenario."""

    def __init__(self, devices: Sequence[GuestDevice]) -> None:
        self.devices = tuple(devices)
        self.owner: dict[int, str] = {}  # group -> the container that holds it
        self.assigned: dict[str, GuestDevice] = {}  # declaration name -> guest device
        self._anchors: dict[str, int] = {}  # container -> its anchor group

    def _groups_by_preference(self) -> list[int]:
        sizes: dict[int, int] = {}
        for device in self.devices:
            sizes[device.group] = sizes.get(device.group, 0) + 1
        return sorted(sizes, key=lambda g: (-sizes[g], -g))

    def _busy(self) -> set[int]:
        return set(self.owner) | {d.group for d in self.assigned.values()}

    def anchor(self, container: str) -> int:
        """A free group for a new container (now owned by it), or Unsupported."""
        busy = self._busy()
        for group in self._groups_by_preference():
            if group not in busy:
                self.owner[group] = container
                self._anchors[container] = group
                return group
        total = len(self._groups_by_preference())
        raise Unsupported(
            f"container {container}: every one of the guest's {total} IOMMU groups is taken by"
            f" this scenario's {len(self._anchors)} containers and {len(self.assigned)} devices,"
            " and a type1 container needs a group of its own"
        )

    def release(self, container: str) -> None:
        """Forget a container whose creation failed (its group is free again)."""
        group = self._anchors.pop(container, None)
        if group is not None:
            self.owner.pop(group, None)

    def assign(self, declaration: Declaration) -> GuestDevice:
        """The guest device a complete declaration stands for (now taken), or Unsupported."""
        matching = candidates(declaration.layout, self.devices, complete=True)
        if not matching:
            raise Unsupported(no_match_reason(declaration, self.devices, complete=True))
        taken = {d.bdf for d in self.assigned.values()}
        anchors = set(self._anchors.values())
        free = [d for d in matching if d.bdf not in taken and d.group not in anchors]
        if not free:
            raise Unsupported(
                f"device {declaration.name}: the guest's {len(matching)} devices of that layout"
                " are all in use by this scenario's other devices and containers"
            )
        shared = {d.group for d in self.assigned.values()}
        # a group of its own when possible: attaching it then concerns this device alone
        chosen = min(free, key=lambda d: (d.group in shared, d.bdf))
        self.assigned[declaration.name] = chosen
        return chosen

    def check_partial(self, declaration: Declaration) -> None:
        """Unsupported as soon as the members so far fit no guest device."""
        if not candidates(declaration.layout, self.devices, complete=False):
            raise Unsupported(no_match_reason(declaration, self.devices, complete=False))
