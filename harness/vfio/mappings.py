"""The DMA mappings of one container, as data: `Mapping`, and `MappingIndex` that finds them.

The rules of mapping and unmapping (which call fails, and why) are in `dma.py`; this module
only stores non-overlapping mappings and answers position questions in O(log n).

Mappings live in a SortedKeyList keyed by their first IOVA. Because mappings never overlap, the
only one that can hold a byte `x` is the last one starting at or below `x`, and the only one
that can overlap a range `[f, l]` is the last one starting at or below `l`: both are one
bisection.
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter

from sortedcontainers import SortedKeyList

from harness.vfio.address import U64_MAX, Hva, Iova, Range


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


def merge_ranges(ranges: Iterable[Range]) -> tuple[Range, ...]:
    """Sorted, coalesced ranges (overlapping or adjacent ones joined)."""
    merged: list[Range] = []
    for r in sorted(ranges, key=lambda r: r.first):
        if merged and r.first <= merged[-1].last + 1:
            if r.last > merged[-1].last:
                merged[-1] = Range(merged[-1].first, r.last)
        else:
            merged.append(r)
    return tuple(merged)


class MappingIndex:
    """Non-overlapping mappings in IOVA order (the caller keeps them from overlapping)."""

    def __init__(self) -> None:
        # The key is a mapping's first IOVA (a C getter: the key is taken on every insert).
        self._maps: SortedKeyList = SortedKeyList(key=attrgetter("iova.value"))

    def __len__(self) -> int:
        return len(self._maps)

    def __iter__(self) -> Iterator[Mapping]:
        return iter(self._maps)

    def floor(self, x: int) -> Mapping | None:
        """The mapping with the greatest first IOVA at or below `x`, or None.

        Two C bisections over SortedKeyList's two-level layout (`_maxes` holds the last key of
        each sublist, `_keys[i]` the keys of sublist `_lists[i]`, as its implementation notes
        describe) instead of `bisect_key_right` plus positional indexing, which walks the
        positional index on every lookup (bench/dma_scaling.py times lookups). Read-only use
        of the layout; every update goes through the public API.
        """
        maps = self._maps
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

    def holding(self, x: int) -> Mapping | None:
        """The mapping holding byte `x`, if any."""
        mapping = self.floor(x)
        return mapping if mapping is not None and x <= mapping.last else None

    def overlapping(self, first: int, last: int) -> Mapping | None:
        """Some mapping sharing a byte with `[first, last]` (mappings never overlap: one check)."""
        mapping = self.floor(last)
        return mapping if mapping is not None and mapping.last >= first else None

    def add(self, mapping: Mapping) -> None:
        """Insert a mapping that overlaps none held."""
        self._maps.add(mapping)

    def remove_starting_in(self, target: Range) -> list[Mapping]:
        """Remove and return every mapping whose first IOVA lies in `target`."""
        lo = self._maps.bisect_key_left(target.first)
        hi = self._maps.bisect_key_right(target.last)
        gone: list[Mapping] = self._maps[lo:hi]
        del self._maps[lo:hi]
        return gone

    def clear(self) -> None:
        """Remove every mapping."""
        self._maps.clear()
