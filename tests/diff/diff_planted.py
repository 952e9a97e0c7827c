"""Backends with one planted bug each: the model, wrong in one known way.

They are what the differential tests must find: each bug is a plausible slip in a VMM's or a
kernel's DMA code, and each is visible only in some programs (an overlap of exactly one page; a
v1 unmap that cuts a mapping), so finding them takes the generator's edge bias.
"""

from __future__ import annotations

from harness.backend import PermName
from harness.model import ModelBackend
from harness.vfio.address import U64_MAX, Iova
from harness.vfio.dma import UnmapMode


class OverlapByOnePage(ModelBackend):
    """Accepts a map whose first page is the last page of an existing mapping.

    The overlap check starts one page late: the map succeeds, and only its pages after the
    first are mapped (the shared page stays with the older mapping).
    """

    name = "planted-overlap"

    def map(self, container: str, iova: int, vaddr: int, size: int, perm: PermName = "rw") -> None:
        """VFIO_IOMMU_MAP_DMA, with the bug."""
        c = self.containers[container]
        pg = c.pgsize
        inside = iova % pg == 0 and pg <= size and iova + size <= U64_MAX
        held = c.find(Iova(iova)) if inside else None
        if held is not None and held.last == iova + pg - 1:
            if size > pg:
                super().map(container, iova + pg, vaddr + pg, size - pg, perm)
            return
        super().map(container, iova, vaddr, size, perm)


class V1MiscountsBytes(ModelBackend):
    """On a v1 container, an unmap counts the bytes of its range, not of what it removed.

    v1 removes a mapping whose first byte is in the range whole, even past the range's end, and
    must return its full size; this backend returns the range's size instead.
    """

    name = "planted-v1count"

    def unmap(self, container: str, iova: int, size: int) -> int:
        """VFIO_IOMMU_UNMAP_DMA, with the bug."""
        removed = super().unmap(container, iova, size)
        if self.containers[container].mode is UnmapMode.V1 and removed > size:
            return size
        return removed
