"""A type1 VFIO container: the DMA mappings of `VFIO_IOMMU_MAP_DMA` / `VFIO_IOMMU_UNMAP_DMA`.

Mappings live in a SortedKeyList keyed by their first IOVA. Because mappings never overlap, the
only one that can hold a byte `x` is the last one starting at or below `x`, and the only one
that can overlap a range `[f, l]` is the last one starting at or below `l`; both are one
bisection, so map, unmap, find and translate are O(log n) (+k for the k mappings removed).

Every operation validates everything before it changes anything, so a failed call leaves the
container exactly as it was (like the kernel, which checks under the iommu lock first).
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sortedcontainers import SortedKeyList

from harness.vfio.address import U64_MAX, Hva, Iova, Range, is_power_of_two
from harness.vfio.catalog import ErrorId, VfioError

# x86 interrupt remapping reserves the MSI doorbell window on every group (IOMMU_RESV_MSI).
X86_MSI_RESERVED: tuple[Range, ...] = (Range(0xFEE0_0000, 0xFEEF_FFFF),)
DEFAULT_PGSIZE = 4096
# vfio_iommu_type1's `dma_entry_limit` module parameter default (U16_MAX).
DEFAULT_LIMIT = 65535


class UnmapMode(enum.Enum):
    """The container's IOMMU type: `VFIO_TYPE1v2_IOMMU` (v2) or the legacy `VFIO_TYPE1_IOMMU`."""

    V1 = "v1"
    V2 = "v2"


class Perm(enum.Enum):
    """Access a mapping grants the device (`VFIO_DMA_MAP_FLAG_READ` / `_WRITE`)."""

    RW = "rw"
    R = "r"
    W = "w"
    NONE = "none"

    @property
    def readable(self) -> bool:
        """Whether the device may read through the mapping."""
        return self in (Perm.RW, Perm.R)

    @property
    def writable(self) -> bool:
        """Whether the device may write through the mapping."""
        return self in (Perm.RW, Perm.W)


@dataclass(frozen=True, slots=True)
class Mapping:
    """One DMA mapping: `size` bytes from `iova`, backed by `vaddr`."""

    iova: Iova
    vaddr: Hva
    size: int
    perm: Perm = Perm.RW
    # The IOVA of the last byte, kept because every lookup compares against it.
    last: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.iova, Iova) or not isinstance(self.vaddr, Hva):
            raise TypeError("a Mapping needs an Iova and an Hva")
        if not isinstance(self.perm, Perm):
            raise TypeError(f"perm must be a Perm, not {self.perm!r}")
        if self.size <= 0:
            raise ValueError(f"mapping size {self.size:#x} must be positive")
        last = self.iova.value + self.size - 1
        if last > U64_MAX or self.vaddr.value + self.size - 1 > U64_MAX:
            raise OverflowError(f"mapping of {self.size:#x} bytes passes 0x{U64_MAX:x}")
        object.__setattr__(self, "last", last)

    @property
    def range(self) -> Range:
        """The IOVA bytes the mapping holds."""
        return Range(self.iova.value, self.last)

    def translate(self, iova: Iova) -> Hva:
        """The vaddr byte an IOVA inside the mapping stands for."""
        return self.vaddr + (iova - self.iova)

    def __str__(self) -> str:
        return (
            f"[{self.iova.value:#x}, {self.last:#x}] -> vaddr {self.vaddr.value:#x}"
            f" ({self.perm.value})"
        )


def _merge(ranges: Iterable[Range]) -> tuple[Range, ...]:
    """Sorted, coalesced ranges (overlapping or adjacent ones joined)."""
    merged: list[Range] = []
    for r in sorted(ranges, key=lambda r: r.first):
        if merged and r.first <= merged[-1].last + 1:
            if r.last > merged[-1].last:
                merged[-1] = Range(merged[-1].first, r.last)
        else:
            merged.append(r)
    return tuple(merged)


def _start(mapping: Mapping) -> int:
    return mapping.iova.value


def _floor(maps: SortedKeyList, x: int) -> Mapping | None:
    """The mapping with the greatest first IOVA at or below `x`, or None.

    Two C bisections over SortedKeyList's two-level layout (`_maxes` holds the last key of
    each sublist, `_keys[i]` the keys of sublist `_lists[i]`, as its implementation notes
    describe) instead of `bisect_key_right` plus positional indexing, which walks the
    positional index and measured 3x slower at 65,535 entries (bench/dma_scaling.py).
    Read-only use of the layout; every update goes through the public API.
    """
    maxes: list[int] = maps._maxes
    if not maxes:
        return None
    lists: list[list[Mapping]] = maps._lists
    pos = bisect_right(maxes, x)
    if pos == len(maxes):
        return lists[-1][-1]
    index = bisect_right(maps._keys[pos], x)
    if index:
        return lists[pos][index - 1]
    return lists[pos - 1][-1] if pos else None


class Container:
    """A type1 IOMMU container: non-overlapping DMA mappings plus reserved IOVA ranges."""

    def __init__(
        self,
        pgsize: int = DEFAULT_PGSIZE,
        limit: int = DEFAULT_LIMIT,
        mode: UnmapMode = UnmapMode.V2,
        reserved: Iterable[Range] = X86_MSI_RESERVED,
    ) -> None:
        if not is_power_of_two(pgsize):
            raise ValueError(f"page size {pgsize:#x} is not a power of two")
        if limit < 0:
            raise ValueError(f"entry limit {limit} is negative")
        if not isinstance(mode, UnmapMode):
            raise TypeError(f"mode must be an UnmapMode, not {mode!r}")
        self.pgsize = pgsize
        self.limit = limit
        self.mode = mode
        self._reserved = _merge(reserved)
        # The mappings in IOVA order, keyed by their first IOVA.
        self._maps: SortedKeyList = SortedKeyList(key=_start)
        self._mapped = 0

    def __repr__(self) -> str:
        return (
            f"Container(pgsize={self.pgsize:#x}, limit={self.limit}, mode={self.mode},"
            f" reserved={self._reserved!r})"
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
        """The IOVA ranges a mapping may lie in: the 64-bit space minus the reserved ranges."""
        valid: list[Range] = []
        start = 0
        for r in self._reserved:
            if r.first > start:
                valid.append(Range(start, r.first - 1))
            start = r.last + 1
        if start <= U64_MAX:
            valid.append(Range(start, U64_MAX))
        return tuple(valid)

    def _at_or_below(self, x: int) -> Mapping | None:
        """The mapping with the greatest first IOVA <= x, if any."""
        return _floor(self._maps, x)

    def _holding(self, x: int) -> Mapping | None:
        mapping = self._at_or_below(x)
        if mapping is not None and x <= mapping.last:
            return mapping
        return None

    def _overlapping(self, first: int, last: int) -> Mapping | None:
        """Some mapping sharing a byte with `[first, last]` (mappings never overlap: one check)."""
        mapping = self._at_or_below(last)
        if mapping is not None and mapping.last >= first:
            return mapping
        return None

    def find(self, iova: Iova) -> Mapping | None:
        """The mapping holding byte `iova`, if any."""
        x = iova.value
        mapping = _floor(self._maps, x)  # inlined _holding: find is the hot lookup
        return mapping if mapping is not None and x <= mapping.last else None

    def translate(self, iova: Iova) -> Hva | None:
        """The vaddr byte `iova` maps to, or None when unmapped."""
        mapping = self._holding(iova.value)
        return None if mapping is None else mapping.translate(iova)

    # -- map -------------------------------------------------------------------------------

    def map(self, iova: Iova, vaddr: Hva, size: int, perm: Perm = Perm.RW) -> Mapping:
        """`VFIO_IOMMU_MAP_DMA`: checks in the order of vfio-semantics.md, then one new entry."""
        if size == 0:
            raise VfioError(
                ErrorId.DMA_MAP_SIZE_ZERO,
                f"map at iova {iova.value:#x} has size 0",
                iova=iova,
                size=size,
            )
        if size < 0:
            raise ValueError(f"map size {size} is negative")
        first = iova.value
        last = first + size - 1
        if last > U64_MAX or vaddr.value + size - 1 > U64_MAX:
            name, start = ("iova", first) if last > U64_MAX else ("vaddr", vaddr.value)
            raise VfioError(
                ErrorId.DMA_MAP_OVERFLOW,
                f"map {name} {start:#x} + size {size:#x} passes 0x{U64_MAX:x}",
                which=name,
                start=start,
                size=size,
            )
        if perm is Perm.NONE:
            raise VfioError(
                ErrorId.DMA_MAP_NO_ACCESS,
                f"map at iova {first:#x} grants neither read nor write",
                iova=iova,
                perm=perm,
            )
        mask = self.pgsize - 1
        if (first | vaddr.value | size) & mask:
            name, value = next(
                (n, v)
                for n, v in (("iova", first), ("vaddr", vaddr.value), ("size", size))
                if v & mask
            )
            raise VfioError(
                ErrorId.DMA_MAP_MISALIGNED,
                f"map {name} {value:#x} is not a multiple of the page size {self.pgsize:#x}",
                which=name,
                value=value,
                pgsize=self.pgsize,
            )
        existing = self._overlapping(first, last)
        if existing is not None:
            new = Range(first, last)
            raise VfioError(
                ErrorId.DMA_MAP_OVERLAP,
                f"map {new} overlaps the existing mapping {existing.range}",
                range=new,
                existing=existing.range,
                mapping=existing,
            )
        if len(self._maps) >= self.limit:
            raise VfioError(
                ErrorId.DMA_MAP_LIMIT_EXCEEDED,
                f"map {Range(first, last)}: the container already holds its limit of"
                f" {self.limit} mappings",
                range=Range(first, last),
                limit=self.limit,
            )
        for r in self._reserved:
            if r.first <= last and first <= r.last:
                new = Range(first, last)
                raise VfioError(
                    ErrorId.DMA_MAP_OUT_OF_RANGE,
                    f"map {new} is not inside one valid IOVA range: it meets reserved {r}",
                    range=new,
                    reserved=r,
                )
        mapping = Mapping(iova, vaddr, size, perm)
        self._maps.add(mapping)
        self._mapped += size
        return mapping

    # -- unmap -----------------------------------------------------------------------------

    def unmap(self, iova: Iova, size: int) -> int:
        """`VFIO_IOMMU_UNMAP_DMA` of `[iova, iova+size-1]`; returns the bytes unmapped.

        Check order follows `vfio_dma_do_unmap` in Linux `drivers/vfio/vfio_iommu_type1.c`
        (2025, with the EOVERFLOW change): iova misaligned (EINVAL); then size 0 or size
        misaligned (EINVAL); then `iova + size - 1` wraps (EOVERFLOW); then, for v2 only, the
        bisection checks (`vfio_find_dma(iova, 1)` starting before iova, or the mapping holding
        the last byte ending after it, EINVAL). Only then is anything removed.
        """
        mask = self.pgsize - 1
        if iova.value & mask:
            raise VfioError(
                ErrorId.DMA_UNMAP_MISALIGNED,
                f"unmap iova {iova.value:#x} is not a multiple of the page size {self.pgsize:#x}",
                which="iova",
                value=iova.value,
                pgsize=self.pgsize,
            )
        if size == 0:
            raise VfioError(
                ErrorId.DMA_UNMAP_SIZE_ZERO,
                f"unmap at iova {iova.value:#x} has size 0",
                iova=iova,
                size=size,
            )
        if size < 0:
            raise ValueError(f"unmap size {size} is negative")
        if size & mask:
            raise VfioError(
                ErrorId.DMA_UNMAP_MISALIGNED,
                f"unmap size {size:#x} is not a multiple of the page size {self.pgsize:#x}",
                which="size",
                value=size,
                pgsize=self.pgsize,
            )
        if iova.value + size - 1 > U64_MAX:
            raise VfioError(
                ErrorId.DMA_UNMAP_OVERFLOW,
                f"unmap iova {iova.value:#x} + size {size:#x} passes 0x{U64_MAX:x}",
                iova=iova,
                size=size,
            )
        target = Range(iova.value, iova.value + size - 1)
        if self.mode is UnmapMode.V2:
            return self._unmap_v2(target)
        return self._unmap_v1(target)

    def _unmap_v2(self, target: Range) -> int:
        first = self._holding(target.first)
        if first is not None and first.iova.value != target.first:
            raise VfioError(
                ErrorId.DMA_UNMAP_BISECTS_MAPPING,
                f"unmap {target} starts inside the mapping {first.range}",
                range=target,
                mapping=first.range,
            )
        last = self._holding(target.last)
        if last is not None and last.last != target.last:
            raise VfioError(
                ErrorId.DMA_UNMAP_BISECTS_MAPPING,
                f"unmap {target} ends inside the mapping {last.range}",
                range=target,
                mapping=last.range,
            )
        return self._remove_starting_in(target)

    def _unmap_v1(self, target: Range) -> int:
        # Legacy type1 coalesced mappings, so a range starting inside one stops the walk
        # (`if (!iommu->v2 && iova > dma->iova) break;`) and nothing is removed; a mapping whose
        # first byte is in range goes whole, even past the range's end.
        first = self._holding(target.first)
        if first is not None and first.iova.value < target.first:
            return 0
        return self._remove_starting_in(target)

    def _remove_starting_in(self, target: Range) -> int:
        lo = self._maps.bisect_key_left(target.first)
        hi = self._maps.bisect_key_right(target.last)
        gone: list[Mapping] = self._maps[lo:hi]
        removed = sum(mapping.size for mapping in gone)
        del self._maps[lo:hi]
        self._mapped -= removed
        return removed

    def unmap_all(self) -> int:
        """`VFIO_IOMMU_UNMAP_DMA` with `VFIO_DMA_UNMAP_FLAG_ALL`; returns the bytes unmapped."""
        removed = self._mapped
        self._maps.clear()
        self._mapped = 0
        return removed

    # -- reserved ranges (attach) ----------------------------------------------------------

    def reserve(self, ranges: Iterable[Range]) -> None:
        """Add reserved ranges, as attaching a group does; a mapping inside one is a conflict."""
        new = tuple(ranges)
        for r in new:
            existing = self._overlapping(r.first, r.last)
            if existing is not None:
                raise VfioError(
                    ErrorId.DEVICE_ATTACH_CONFLICT,
                    f"the existing mapping {existing.range} lies in the reserved range {r}",
                    range=r,
                    existing=existing.range,
                    mapping=existing,
                )
        self._reserved = _merge((*self._reserved, *new))
