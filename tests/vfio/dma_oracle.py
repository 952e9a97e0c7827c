"""The DMA oracle the core's tests share: the kernel's map checks, written out plainly.

`vfio_dma_do_map` (drivers/vfio/vfio_iommu_type1.c) checks in this order; the oracle asks the
caller only what it keeps its own way (which bytes are mapped, whether the entry limit is
reached, which ranges are valid), so none of the container's own lookups is trusted.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.vfio.address import U64_MAX
from harness.vfio.catalog import ErrorId
from harness.vfio.dma import Perm

# (first, last) -> whether the caller's state says so
Span = Callable[[int, int], bool]


def map_error(
    iova: int,
    vaddr: int,
    size: int,
    perm: Perm,
    *,
    pgsize: int,
    overlaps: Span,
    full: bool,
    valid: Span,
) -> ErrorId | None:
    """The error a map must fail with, or None when it must succeed."""
    if size == 0:
        return ErrorId.DMA_MAP_SIZE_ZERO
    last = iova + size - 1
    if last > U64_MAX or vaddr + size - 1 > U64_MAX:
        return ErrorId.DMA_MAP_OVERFLOW
    if perm is Perm.NONE:
        return ErrorId.DMA_MAP_NO_ACCESS
    if iova % pgsize or vaddr % pgsize or size % pgsize:
        return ErrorId.DMA_MAP_MISALIGNED
    if overlaps(iova, last):
        return ErrorId.DMA_MAP_OVERLAP
    if full:
        return ErrorId.DMA_MAP_LIMIT_EXCEEDED
    if not valid(iova, last):
        return ErrorId.DMA_MAP_OUT_OF_RANGE
    return None
