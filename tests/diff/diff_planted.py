"""Backends with one planted bug each: the model, wrong in one known way.

They are what the differential tests must find: each bug is a plausible slip in a VMM's or a
kernel's DMA code, and each is visible only in some programs (an overlap of exactly one page; a
v1 unmap that cuts a mapping), so finding them takes the generator's edge bias.
"""

from __future__ import annotations

from typing import Any

from harness.backend import BackendFault, CoreDefaults, PermName, Unsupported
from harness.model import ModelBackend
from harness.vfio.address import U64_MAX, Iova
from harness.vfio.catalog import VfioError, kind_of
from harness.vfio.dma import UnmapMode
from harness.vfio.linux_errno import Errno


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
        # Only a map that passes every check needing no state reaches the overlap check.
        aligned = (iova | vaddr | size) % pg == 0
        fits = iova + size <= U64_MAX and vaddr + size <= U64_MAX
        inside = aligned and pg <= size and fits and perm != "none"
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


class OldKernelErrnos:
    """A kernel-like backend: failures come back as errnos only (`kernel.errno:EINVAL`), and a
    range wrapping past 2^64 is EINVAL, not EOVERFLOW, as on kernels before 6.18 (class D1).

    Every other answer is the model's: compared by errno, it agrees with the model everywhere
    except on wrapping ranges.
    """

    name = "planted-errno"

    def __init__(self, defaults: CoreDefaults = CoreDefaults()) -> None:  # noqa: B008
        self._model = ModelBackend(defaults)

    def __getattr__(self, method: str) -> Any:
        call = getattr(self._model, method)
        if not callable(call):
            return call

        def errno_only(*args: Any, **kwargs: Any) -> Any:
            try:
                return call(*args, **kwargs)
            except VfioError as error:
                kind = kind_of(error.id)
                errno = kind.errno if kind is not None else None
                if errno is None:
                    raise
                if errno is Errno.EOVERFLOW:
                    errno = Errno.EINVAL
                raise VfioError.from_errno(int(errno), error.message) from None

        return errno_only


class Restricted(V1MiscountsBytes):
    """The v1 miscount, on a system that, like the kernel backend, cannot run some containers
    (64K pages, nothing reserved), maps above a 39-bit aperture, nor any device it was not
    built with (it has none): those are `Unsupported`."""

    name = "planted-restricted"

    def container(self, name: str, **options: Any) -> None:
        """A container, unless it asks for what this system does not have."""
        if options.get("pgsize") not in (None, 4096) or options.get("reserved") == "none":
            raise Unsupported(f"container {name}: this system has 4K pages and reserves MSI")
        super().container(name, **options)

    def map(self, container: str, iova: int, vaddr: int, size: int, perm: PermName = "rw") -> None:
        """A map, unless it reaches above the 39-bit aperture."""
        if iova + size > 1 << 39:
            raise Unsupported("above the IOMMU's 39-bit address width")
        super().map(container, iova, vaddr, size, perm)

    def device(self, name: str, bdf: str) -> None:
        """No device of a scenario matches one of this system's."""
        raise Unsupported(f"no device of this system matches {name} {bdf}")


class DiesOnWrap(ModelBackend):
    """Breaks down (as a guest that double-faults) on a map whose range wraps past 2^64.

    Served over the protocol, the `BackendFault` ends the child (exit status 3): the harness
    sees a process that died during a call, and must start a new one for the next program.
    """

    name = "planted-dies"

    def map(self, container: str, iova: int, vaddr: int, size: int, perm: PermName = "rw") -> None:
        """A map, or a breakdown when it wraps."""
        if iova + size > U64_MAX + 1:
            raise BackendFault("the guest double-faulted", "Oops: double fault")
        super().map(container, iova, vaddr, size, perm)


class LeaksUnsupported(ModelBackend):
    """Cannot run a map above a 39-bit aperture, yet keeps it: it answers `Unsupported` after
    mapping, as a backend whose own bookkeeping runs before its refusal does. The contract
    (harness.backend) says a call that cannot run changes nothing."""

    name = "planted-leak"

    def map(self, container: str, iova: int, vaddr: int, size: int, perm: PermName = "rw") -> None:
        """A map, kept even when it is refused as above the aperture."""
        super().map(container, iova, vaddr, size, perm)
        if iova + size > 1 << 39:
            raise Unsupported("above the IOMMU's 39-bit address width")
