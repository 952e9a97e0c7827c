"""Stateful test of the type1 container against a page-set oracle.

The oracle knows only which pages are mapped (`pages`), which of them start a mapping
(`starts`, with the mapping's page count and vaddr) and which pages are reserved. Every error
id the container raises is compared with what the oracle predicts from those sets, checking in
the order vfio-semantics.md gives. The IOVA universe is tiny (48 low pages and the 4 top pages
of the 64-bit space) and the entry limit small, so overlaps, bisections, limit and overflow
errors all happen within a few steps.
"""

from __future__ import annotations

from dma_oracle import map_error
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)
from vfio_errors import outcome

from harness.vfio.address import U64_MAX, Hva, Iova, Range
from harness.vfio.catalog import ErrorId
from harness.vfio.dma import Container, Perm, UnmapMode

PG = 0x1000
LOW_PAGES = 48
TOP_PAGE = (U64_MAX + 1) // PG - 4  # the first of the last four pages of the 64-bit space
RESERVED_PAGES = range(32, 36)

# sampled_from over small precomputed tuples: one cheap draw per argument keeps 256 x 30
# steps fast under the thorough profile.
LOW = tuple(range(LOW_PAGES))
TOP = tuple(range(TOP_PAGE, TOP_PAGE + 4))
low_page = st.sampled_from(LOW)
any_page = st.sampled_from(LOW + TOP[:2] + TOP[2:])
page_counts = st.integers(min_value=1, max_value=4)
iovas = st.sampled_from(
    (*(p * PG for p in LOW + TOP), 1, 0x800, PG - 1, 5 * PG + 0x800, 40 * PG + 8)
)
vaddrs = st.sampled_from(
    (
        *(0x7F00_0000_0000 + p * PG for p in range(16)),
        *(U64_MAX + 1 - k * PG for k in (1, 2, 3)),
        0x7F00_0000_0800,
    )
)
sizes = st.sampled_from((PG, 2 * PG, 3 * PG, 4 * PG, PG, 2 * PG, 0, 0x800, PG + 1))


class DmaMachine(RuleBasedStateMachine):
    """A `Container` driven by random map/unmap/reserve calls, shadowed by page sets."""

    mapped = Bundle("mapped")

    def __init__(self) -> None:
        super().__init__()
        self.container: Container | None = None
        self.limit = 0
        self.mode = UnmapMode.V2
        self.pages: set[int] = set()
        self.starts: dict[int, tuple[int, int]] = {}  # first page -> (pages, vaddr)
        self.reserved: set[int] = set(RESERVED_PAGES)

    # -- the oracle ------------------------------------------------------------------------

    def _map_error(self, iova: int, vaddr: int, size: int, perm: Perm) -> ErrorId | None:
        def pages(first: int, last: int) -> set[int]:
            return set(range(first // PG, last // PG + 1))

        return map_error(
            iova,
            vaddr,
            size,
            perm,
            pgsize=PG,
            overlaps=lambda first, last: bool(pages(first, last) & self.pages),
            full=len(self.starts) >= self.limit,
            valid=lambda first, last: not pages(first, last) & self.reserved,
        )

    def _unmap_error(self, iova: int, size: int) -> ErrorId | None:
        # The generators never pair size 0 with a misaligned iova (both EINVAL, order unset).
        if size == 0:
            return ErrorId.DMA_UNMAP_SIZE_ZERO
        if iova % PG or size % PG:
            return ErrorId.DMA_UNMAP_MISALIGNED
        if iova + size - 1 > U64_MAX:
            return ErrorId.DMA_UNMAP_OVERFLOW
        if self.mode is UnmapMode.V2:
            first, last = iova // PG, (iova + size - 1) // PG
            if first in self.pages and first not in self.starts:
                return ErrorId.DMA_UNMAP_BISECTS_MAPPING
            if last in self.pages and last + 1 in self.pages and last + 1 not in self.starts:
                return ErrorId.DMA_UNMAP_BISECTS_MAPPING
        return None

    def _unmap_removes(self, iova: int, size: int) -> list[int]:
        first, last = iova // PG, (iova + size - 1) // PG
        if first in self.pages and first not in self.starts:
            return []  # v1: starting inside a mapping removes nothing (v2 raised already)
        return [s for s in self.starts if first <= s <= last]

    def _drop(self, start: int) -> int:
        count, _ = self.starts.pop(start)
        self.pages.difference_update(range(start, start + count))
        return count * PG

    # -- rules -----------------------------------------------------------------------------

    @initialize(
        limit=st.integers(min_value=2, max_value=8),
        mode=st.sampled_from([UnmapMode.V2, UnmapMode.V1]),
    )
    def create(self, limit: int, mode: UnmapMode) -> None:
        """A fresh container with one reserved hole in the low universe."""
        self.limit, self.mode = limit, mode
        reserved = [Range(RESERVED_PAGES[0] * PG, RESERVED_PAGES[-1] * PG + PG - 1)]
        self.container = Container(pgsize=PG, limit=limit, mode=mode, reserved=reserved)

    @rule(target=mapped, iova=iovas, vaddr=vaddrs, size=sizes, perm=st.sampled_from(list(Perm)))
    def map(self, iova: int, vaddr: int, size: int, perm: Perm) -> object:
        """Map anything; the oracle predicts the first failing check or success."""
        assert self.container is not None
        expected = self._map_error(iova, vaddr, size, perm)
        result = outcome(expected, self.container.map, Iova(iova), Hva(vaddr), size, perm)
        if expected is not None:
            return multiple()
        assert result is not None
        self.starts[iova // PG] = (size // PG, vaddr)
        self.pages.update(range(iova // PG, (iova + size) // PG))
        return (iova, size)

    @rule(target=mapped, existing=mapped)
    def map_again(self, existing: tuple[int, int]) -> object:
        """Re-map a range mapped earlier: an overlap while any of its pages is still mapped."""
        iova, size = existing
        return self.map(iova, 0x7F00_0000_0000, size, Perm.RW)

    @rule(existing=consumes(mapped))
    def unmap_mapping(self, existing: tuple[int, int]) -> None:
        """Unmap exactly a range mapped earlier (it may since have been unmapped or replaced)."""
        self.unmap_range(existing[0] // PG, existing[1] // PG)

    @rule(page=any_page, count=page_counts)
    def unmap_range(self, page: int, count: int) -> None:
        """Unmap any aligned range: bisects (v2) or removes what the oracle says."""
        assert self.container is not None
        iova, size = page * PG, count * PG
        expected = self._unmap_error(iova, size)
        removed = outcome(expected, self.container.unmap, Iova(iova), size)
        if expected is None:
            gone = self._unmap_removes(iova, size)
            assert removed == sum(self._drop(start) for start in gone)

    @rule(
        flaw=st.sampled_from(["zero", "iova", "size", "wrap"]),
        page=any_page,
        count=page_counts,
    )
    def unmap_bad(self, flaw: str, page: int, count: int) -> None:
        """Unmap with one malformed argument; the error is the oracle's, nothing changes."""
        assert self.container is not None
        iova, size = page * PG, count * PG
        if flaw == "zero":
            size = 0
        elif flaw == "iova":
            iova += 0x800
        elif flaw == "size":
            size += 0x800
        else:
            iova, size = TOP_PAGE * PG, (4 + count) * PG
        expected = self._unmap_error(iova, size)
        assert expected is not None and expected is not ErrorId.DMA_UNMAP_BISECTS_MAPPING
        outcome(expected, self.container.unmap, Iova(iova), size)

    @precondition(lambda self: len(self.starts) > 0)
    @rule()
    def unmap_all(self) -> None:
        """Unmap everything: returns every mapped byte."""
        assert self.container is not None
        assert self.container.unmap_all() == len(self.pages) * PG
        self.pages.clear()
        self.starts.clear()

    @precondition(lambda self: len(self.reserved) < 12)
    @rule(page=low_page, count=page_counts)
    def reserve(self, page: int, count: int) -> None:
        """Reserve pages as an attach would: conflict if any is mapped, else out of range later."""
        assert self.container is not None
        wanted = set(range(page, page + count))
        expected = ErrorId.DEVICE_ATTACH_CONFLICT if wanted & self.pages else None
        outcome(expected, self.container.reserve, [Range.from_size(page * PG, count * PG)])
        if expected is None:
            self.reserved |= wanted
            valid = self.container.valid_ranges()
            for p in range(LOW_PAGES + 4):
                holders = sum(v.contains(p * PG) and v.contains(p * PG + PG - 1) for v in valid)
                assert holders == (0 if p in self.reserved else 1)

    @rule(page=any_page, offset=st.integers(min_value=0, max_value=PG - 1))
    def probe(self, page: int, offset: int) -> None:
        """`find` and `translate` agree with the page set for any byte."""
        assert self.container is not None
        iova = page * PG + offset
        found = self.container.find(Iova(iova))
        if page not in self.pages:
            assert found is None and self.container.translate(Iova(iova)) is None
            return
        start = max(s for s in self.starts if s <= page)
        count, vaddr = self.starts[start]
        assert found is not None and (found.iova.value, found.size) == (start * PG, count * PG)
        assert self.container.translate(Iova(iova)) == Hva(vaddr + iova - start * PG)

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def accounting_matches(self) -> None:
        """Entry count, bytes mapped and entries available agree with the oracle."""
        if self.container is None:
            return
        assert len(self.container) == len(self.starts)
        assert self.container.mapped == len(self.pages) * PG
        assert self.container.avail == self.limit - len(self.starts)

    @invariant()
    def mappings_match(self) -> None:
        """The container holds exactly the oracle's mappings, in IOVA order."""
        if self.container is None:
            return
        actual = [(m.iova.value, m.size, m.vaddr.value) for m in self.container]
        expected = [(s * PG, n * PG, v) for s, (n, v) in sorted(self.starts.items())]
        assert actual == expected


DmaMachine.TestCase.settings = settings(DmaMachine.TestCase.settings, stateful_step_count=20)
test_stateful_dma = DmaMachine.TestCase
