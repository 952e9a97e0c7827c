"""A type1 VFIO container: the rules of `VFIO_IOMMU_MAP_DMA` / `VFIO_IOMMU_UNMAP_DMA`.

The mappings are kept by `mappings.MappingIndex`, where map, unmap, find and translate are
O(log n) (+k for the k mappings removed).

Every operation validates everything before it changes anything, so a failed call leaves the
container exactly as it was (like the kernel, which checks under the iommu lock first).

The values a container may be created with are checked here too, once for every caller (the
model backend, `-D vfio:*` options, the scenario checker): `page_size_error`,
`address_width_error` and `limit_error` say what is wrong with a value, or None.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from harness.vfio.address import U64_MAX, Hva, Iova, Range, is_power_of_two
from harness.vfio.catalog import Detail, ErrorId, VfioError
from harness.vfio.mappings import Mapping, MappingIndex, Perm, merge_ranges

# x86 interrupt remapping reserves the MSI doorbell window on every group (IOMMU_RESV_MSI).
X86_MSI_RESERVED: tuple[Range, ...] = (Range(0xFEE0_0000, 0xFEEF_FFFF),)
DEFAULT_PGSIZE = 4096
# type1 never reports an IOMMU page size below the CPU's PAGE_SIZE: `vfio_update_pgsize_bitmap`
# (drivers/vfio/vfio_iommu_type1.c) folds smaller ones into PAGE_SIZE. 4K on x86 and arm64-4K.
MIN_PGSIZE = 4096
MAX_PGSIZE = 1 << 30  # the largest IOMMU page x86 has (a 1G super page)
# vfio_iommu_type1's `dma_entry_limit` module parameter: an unsigned int, default U16_MAX.
DEFAULT_LIMIT = 65535
MAX_LIMIT = (1 << 32) - 1
# The IOMMU's address width: IOVAs lie below 2^aw. VT-d reports 39 or 48 (QEMU's intel-iommu
# `aw-bits`); 64 is an IOMMU with the whole space (virtio-iommu), the default.
DEFAULT_AW = 64
MIN_AW = 32
MAX_AW = 64


def page_size_error(pgsize: int) -> VfioError | None:
    """Why `pgsize` cannot be a container's page size, or None.

    Not a power of two: `scenario.error:bad.option` (no IOMMU has such a page). A power of two
    outside MIN_PGSIZE..MAX_PGSIZE: `scenario.error:value.range` (the kernel shows no page
    size below PAGE_SIZE, see `vfio_update_pgsize_bitmap`).
    """
    if not is_power_of_two(pgsize):
        return VfioError(ErrorId.SCENARIO_BAD_OPTION, f"pgsize {pgsize:#x} is not a power of two")
    if pgsize < MIN_PGSIZE:
        return VfioError(
            ErrorId.SCENARIO_VALUE_RANGE,
            f"pgsize {pgsize:#x} is below 4K: type1 reports no IOMMU page size below PAGE_SIZE",
        )
    if pgsize > MAX_PGSIZE:
        return VfioError(
            ErrorId.SCENARIO_VALUE_RANGE, f"pgsize {pgsize:#x} is above 1G, the largest IOMMU page"
        )
    return None


def address_width_error(aw: int) -> VfioError | None:
    """Why `aw` cannot be an IOMMU address width (`scenario.error:value.range`), or None."""
    if not MIN_AW <= aw <= MAX_AW:
        return VfioError(
            ErrorId.SCENARIO_VALUE_RANGE, f"aw {aw} is outside {MIN_AW}..{MAX_AW} (bits)"
        )
    return None


def limit_error(limit: int) -> VfioError | None:
    """Why `limit` cannot be an entry limit (`scenario.error:value.range`), or None."""
    if not 0 <= limit <= MAX_LIMIT:
        return VfioError(
            ErrorId.SCENARIO_VALUE_RANGE,
            f"limit {limit} is outside 0..{MAX_LIMIT} (dma_entry_limit is an unsigned int)",
        )
    return None


@dataclass(frozen=True, slots=True)
class Operand(Detail):
    """A bad argument of a call: which one (`iova`, `vaddr`, `size`) and its value."""

    which: str
    value: int


@dataclass(frozen=True, slots=True)
class Misaligned(Detail):
    """An argument that is not a multiple of the page size."""

    which: str
    value: int
    pgsize: int


@dataclass(frozen=True, slots=True)
class Wraps(Detail):
    """`start + size - 1` passes 2^64-1; `which` names the start (`iova` or `vaddr`)."""

    which: str
    start: int
    size: int


@dataclass(frozen=True, slots=True)
class Conflict(Detail):
    """The call's `range` meets `other`: a mapping, a reserved range, or space above `aw`."""

    range: Range
    other: Range


@dataclass(frozen=True, slots=True)
class LimitReached(Detail):
    """A map of `range` found the container holding `limit` mappings."""

    range: Range
    limit: int


class UnmapMode(enum.Enum):
    """The container's IOMMU type: `VFIO_TYPE1v2_IOMMU` (v2) or the legacy `VFIO_TYPE1_IOMMU`."""

    V1 = "v1"
    V2 = "v2"


class Container:
    """A type1 IOMMU container: non-overlapping DMA mappings plus reserved IOVA ranges."""

    def __init__(
        self,
        pgsize: int = DEFAULT_PGSIZE,
        limit: int = DEFAULT_LIMIT,
        mode: UnmapMode = UnmapMode.V2,
        reserved: Iterable[Range] = X86_MSI_RESERVED,
        aw: int = DEFAULT_AW,
    ) -> None:
        for error in (page_size_error(pgsize), limit_error(limit), address_width_error(aw)):
            if error is not None:
                raise error
        if not isinstance(mode, UnmapMode):
            raise TypeError(f"mode must be an UnmapMode, not {mode!r}")
        self.pgsize = pgsize
        self.limit = limit
        self.mode = mode
        self.aw = aw
        # The IOMMU's aperture: what the address width can reach.
        self.aperture = Range(0, (1 << aw) - 1)
        self._reserved = merge_ranges(reserved)
        self._maps = MappingIndex()
        self._mapped = 0

    def __repr__(self) -> str:
        return (
            f"Container(pgsize={self.pgsize:#x}, limit={self.limit}, mode={self.mode},"
            f" reserved={self._reserved!r}, aw={self.aw})"
        )

    # -- queries ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._maps)

    def __iter__(self) -> Iterator[Mapping]:
        return iter(self._maps)

    @property
    def mapped(self) -> int:
        """Total bytes mapped."""
        return self._mapped

    @property
    def avail(self) -> int:
        """Mappings still available before the entry limit (the kernel's `dma_avail`)."""
        return self.limit - len(self._maps)

    @property
    def reserved(self) -> tuple[Range, ...]:
        """The reserved IOVA ranges, sorted and coalesced."""
        return self._reserved

    def valid_ranges(self) -> tuple[Range, ...]:
        """The IOVA ranges a mapping may lie in: the aperture minus the reserved ranges.

        The kernel's `iova_list` (`vfio_iommu_iova_get_copy`, `vfio_iommu_aper_resize` and
        `vfio_iommu_resv_exclude` in drivers/vfio/vfio_iommu_type1.c).
        """
        valid: list[Range] = []
        start = 0
        for r in self._reserved:
            if r.first > self.aperture.last:
                break
            if r.first > start:
                valid.append(Range(start, r.first - 1))
            start = r.last + 1
        if start <= self.aperture.last:
            valid.append(Range(start, self.aperture.last))
        return tuple(valid)

    def find(self, iova: Iova) -> Mapping | None:
        """The mapping holding byte `iova`, if any."""
        return self._maps.holding(iova.value)

    def translate(self, iova: Iova) -> Hva | None:
        """The vaddr byte `iova` maps to, or None when unmapped."""
        mapping = self._maps.holding(iova.value)
        return None if mapping is None else mapping.translate(iova)

    # -- map -------------------------------------------------------------------------------

    def _misaligned(self, error: ErrorId, call: str, **operands: int) -> VfioError:
        """The misaligned error for the first operand that is not a multiple of the page size
        (the caller found that one is)."""
        mask = self.pgsize - 1
        which, value = next((name, v) for name, v in operands.items() if v & mask)
        return VfioError(
            error,
            f"{call} {which} {value:#x} is not a multiple of the page size {self.pgsize:#x}",
            Misaligned(which, value, self.pgsize),
        )

    def map(self, iova: Iova, vaddr: Hva, size: int, perm: Perm = Perm.RW) -> Mapping:
        """`VFIO_IOMMU_MAP_DMA`: the checks of `vfio_dma_do_map`, in its order, then one entry.

        Order (drivers/vfio/vfio_iommu_type1.c `vfio_dma_do_map`, 2025): size 0 (EINVAL); a
        wrap of iova or vaddr + size - 1 (EOVERFLOW; EINVAL before v6.18); no permission
        (EINVAL); iova, vaddr or size not a multiple of the smallest page size (EINVAL); any
        byte already mapped (`vfio_find_dma`, EEXIST); no entry left (`dma_avail`, ENOSPC);
        the range not inside one valid IOVA range, that is a reserved range met or the range
        above the aperture `aw` gives (`vfio_iommu_iova_dma_valid`, EINVAL).
        """
        first = iova.value
        if size == 0:
            raise VfioError(
                ErrorId.DMA_MAP_SIZE_ZERO,
                f"map at iova {first:#x} has size 0",
                Operand("size", 0),
            )
        if size < 0:
            raise ValueError(f"map size {size} is negative")
        last = first + size - 1
        if last > U64_MAX or vaddr.value + size - 1 > U64_MAX:
            which, start = ("iova", first) if last > U64_MAX else ("vaddr", vaddr.value)
            raise VfioError(
                ErrorId.DMA_MAP_OVERFLOW,
                f"map {which} {start:#x} + size {size:#x} passes 0x{U64_MAX:x}",
                Wraps(which, start, size),
            )
        if perm is Perm.NONE:
            raise VfioError(
                ErrorId.DMA_MAP_NO_ACCESS, f"map at iova {first:#x} grants neither read nor write"
            )
        if (first | vaddr.value | size) & (self.pgsize - 1):
            raise self._misaligned(
                ErrorId.DMA_MAP_MISALIGNED, "map", iova=first, vaddr=vaddr.value, size=size
            )
        existing = self._maps.overlapping(first, last)
        if existing is not None:
            new = Range(first, last)
            raise VfioError(
                ErrorId.DMA_MAP_OVERLAP,
                f"map {new} overlaps the existing mapping {existing.range}",
                Conflict(new, existing.range),
            )
        if len(self._maps) >= self.limit:
            new = Range(first, last)
            raise VfioError(
                ErrorId.DMA_MAP_LIMIT_EXCEEDED,
                f"map {new}: the container already holds its limit of {self.limit} mappings",
                LimitReached(new, self.limit),
            )
        self._check_valid(first, last)
        mapping = Mapping(iova, vaddr, size, perm)
        self._maps.add(mapping)
        self._mapped += size
        return mapping

    def _check_valid(self, first: int, last: int) -> None:
        """Raise out.of.range unless `[first, last]` lies in one valid range: below the
        aperture's end and clear of every reserved range (`vfio_iommu_iova_dma_valid`)."""
        if last > self.aperture.last:
            new = Range(first, last)
            raise VfioError(
                ErrorId.DMA_MAP_OUT_OF_RANGE,
                f"map {new} is not inside one valid IOVA range: it passes the IOMMU's"
                f" {self.aw}-bit address width (last IOVA {self.aperture.last:#x})",
                Conflict(new, Range(self.aperture.last + 1, U64_MAX)),
            )
        for r in self._reserved:
            if r.first <= last and first <= r.last:
                new = Range(first, last)
                raise VfioError(
                    ErrorId.DMA_MAP_OUT_OF_RANGE,
                    f"map {new} is not inside one valid IOVA range: it meets reserved {r}",
                    Conflict(new, r),
                )

    # -- unmap -----------------------------------------------------------------------------

    def unmap(self, iova: Iova, size: int) -> int:
        """`VFIO_IOMMU_UNMAP_DMA` of `[iova, iova+size-1]`; returns the bytes unmapped.

        Check order follows `vfio_dma_do_unmap` in Linux `drivers/vfio/vfio_iommu_type1.c`
        (2025, with the EOVERFLOW change): iova misaligned (EINVAL); then size 0 or size
        misaligned (EINVAL); then `iova + size - 1` wraps (EOVERFLOW); then, for v2 only, the
        bisection checks (`vfio_find_dma(iova, 1)` starting before iova, or the mapping holding
        the last byte ending after it, EINVAL). Only then is anything removed. The unmap checks
        no IOVA range, so nothing here depends on `aw` or the reserved ranges.
        """
        if iova.value & (self.pgsize - 1):
            raise self._misaligned(ErrorId.DMA_UNMAP_MISALIGNED, "unmap", iova=iova.value)
        if size == 0:
            raise VfioError(
                ErrorId.DMA_UNMAP_SIZE_ZERO,
                f"unmap at iova {iova.value:#x} has size 0",
                Operand("size", 0),
            )
        if size < 0:
            raise ValueError(f"unmap size {size} is negative")
        if size & (self.pgsize - 1):
            raise self._misaligned(ErrorId.DMA_UNMAP_MISALIGNED, "unmap", size=size)
        if iova.value + size - 1 > U64_MAX:
            raise VfioError(
                ErrorId.DMA_UNMAP_OVERFLOW,
                f"unmap iova {iova.value:#x} + size {size:#x} passes 0x{U64_MAX:x}",
                Wraps("iova", iova.value, size),
            )
        target = Range(iova.value, iova.value + size - 1)
        if self.mode is UnmapMode.V2:
            return self._unmap_v2(target)
        return self._unmap_v1(target)

    def _unmap_v2(self, target: Range) -> int:
        first = self._maps.holding(target.first)
        last = self._maps.holding(target.last)
        if first is not None and first.iova.value != target.first:
            cut, where = first, "starts"
        elif last is not None and last.last != target.last:
            cut, where = last, "ends"
        else:
            return self._remove_starting_in(target)
        raise VfioError(
            ErrorId.DMA_UNMAP_BISECTS_MAPPING,
            f"unmap {target} {where} inside the mapping {cut.range}",
            Conflict(target, cut.range),
        )

    def _unmap_v1(self, target: Range) -> int:
        # Legacy type1 coalesced mappings, so a range starting inside one stops the walk
        # (`if (!iommu->v2 && iova > dma->iova) break;`) and nothing is removed; a mapping whose
        # first byte is in range goes whole, even past the range's end.
        first = self._maps.holding(target.first)
        if first is not None and first.iova.value < target.first:
            return 0
        return self._remove_starting_in(target)

    def _remove_starting_in(self, target: Range) -> int:
        removed = sum(mapping.size for mapping in self._maps.remove_starting_in(target))
        self._mapped -= removed
        return removed

    def unmap_all(self, iova: int = 0, size: int = 0) -> int:
        """`VFIO_IOMMU_UNMAP_DMA` with `VFIO_DMA_UNMAP_FLAG_ALL`; returns the bytes unmapped.

        The flag takes no range: a non-zero iova or size is EINVAL before anything is removed
        (`vfio_iommu_type1_unmap_dma` in drivers/vfio/vfio_iommu_type1.c).
        """
        for which, value in (("iova", iova), ("size", size)):
            if value:
                raise VfioError(
                    ErrorId.DMA_UNMAP_ALL_WITH_RANGE,
                    f"unmap all takes no range, but {which} is {value:#x}",
                    Operand(which, value),
                )
        removed = self._mapped
        self._maps.clear()
        self._mapped = 0
        return removed

    # -- reserved ranges (attach) ----------------------------------------------------------

    def reserve(self, ranges: Iterable[Range]) -> None:
        """Add reserved ranges, as attaching a group does; a mapping inside one is a conflict."""
        new = tuple(ranges)
        for r in new:
            existing = self._maps.overlapping(r.first, r.last)
            if existing is not None:
                raise VfioError(
                    ErrorId.DEVICE_ATTACH_CONFLICT,
                    f"the existing mapping {existing.range} lies in the reserved range {r}",
                    Conflict(r, existing.range),
                )
        self._reserved = merge_ranges((*self._reserved, *new))
