"""Properties of the type1 container (`harness/vfio/dma.py`) against a list-of-intervals oracle.

The oracle is a plain list of `(first, last, vaddr)` tuples searched linearly, and error
predictions follow the check order of vfio-semantics.md written out again here, so none of
the container's sorted-dict bisection is trusted by the expectations.
"""

from __future__ import annotations

import itertools

import pytest
from dma_oracle import map_error
from hypothesis import given
from hypothesis import strategies as st
from vfio_errors import error_of

from harness.vfio.address import U64_MAX, Hva, Iova, Range
from harness.vfio.catalog import ErrorId, VfioError
from harness.vfio.dma import X86_MSI_RESERVED, Container, Perm, UnmapMode

PG = 4096
MSI_FIRST, MSI_LAST = 0xFEE0_0000, 0xFEEF_FFFF

# A small page universe so that random requests collide often.
pages = st.integers(min_value=0, max_value=31)
lengths = st.integers(min_value=1, max_value=4)
# (first page, page count) pairs, precomputed so that each request is a single cheap draw.
PAIRS = tuple((page, n) for page in range(32) for n in range(1, 5))
requests = st.lists(st.sampled_from(PAIRS), max_size=10)
modes = st.sampled_from([UnmapMode.V1, UnmapMode.V2])
mapping_perms = st.sampled_from([Perm.RW, Perm.R, Perm.W])


def _snapshot(c: Container) -> tuple[object, ...]:
    return (tuple((m.iova, m.vaddr, m.size, m.perm) for m in c), c.mapped, len(c), c.avail)


def _fill(
    c: Container, reqs: list[tuple[int, int]], limit: int = 65535
) -> list[tuple[int, int, int]]:
    """Map each request whose pages are free (per the oracle); returns the oracle's intervals."""
    oracle: list[tuple[int, int, int]] = []
    for page, n in reqs:
        first, last = page * PG, (page + n) * PG - 1
        vaddr = 0x7F00_0000_0000 + first * 3
        clash = any(f <= last and first <= lst for f, lst, _ in oracle)
        if clash:  # overlap is checked before the entry limit
            error_of(ErrorId.DMA_MAP_OVERLAP, c.map, Iova(first), Hva(vaddr), n * PG)
        elif len(oracle) >= limit:
            error_of(ErrorId.DMA_MAP_LIMIT_EXCEEDED, c.map, Iova(first), Hva(vaddr), n * PG)
        else:
            c.map(Iova(first), Hva(vaddr), n * PG)
            oracle.append((first, last, vaddr))
    return oracle


@given(requests)
def test_prop_dma_no_overlaps_maintained(reqs: list[tuple[int, int]]) -> None:
    """A map succeeds only if no byte is taken; mappings stay disjoint, listed in IOVA order."""
    c = Container(pgsize=PG)
    oracle = _fill(c, reqs)
    held = [m.range for m in c]
    for i, a in enumerate(held):
        for b in held[i + 1 :]:
            assert a.last < b.first or b.last < a.first
    assert [r.first for r in held] == sorted(first for first, _, _ in oracle)


@given(requests, st.integers(min_value=0, max_value=12))
def test_prop_dma_total_size_correct(reqs: list[tuple[int, int]], limit: int) -> None:
    """`mapped` is the sum of accepted sizes, `len` their count, `avail` what the limit leaves."""
    c = Container(pgsize=PG, limit=limit)
    oracle = _fill(c, reqs, limit)
    assert c.mapped == sum(last - first + 1 for first, last, _ in oracle)
    assert len(c) == len(oracle) <= limit and c.avail == limit - len(oracle)
    assert len(list(c)) == len(oracle)


@given(requests, st.lists(st.integers(min_value=0, max_value=40 * PG - 1), max_size=8))
def test_prop_dma_find_containing_correct(reqs: list[tuple[int, int]], probes: list[int]) -> None:
    """`find`/`translate` return the one mapping holding a byte (and its vaddr), else None."""
    c = Container(pgsize=PG)
    oracle = _fill(c, reqs)
    for probe in probes:
        holders = [(f, lst, v) for f, lst, v in oracle if f <= probe <= lst]
        found = c.find(Iova(probe))
        if holders:
            ((first, last, vaddr),) = holders
            assert found is not None and found.range == Range(first, last)
            assert c.translate(Iova(probe)) == Hva(vaddr + probe - first)
        else:
            assert found is None and c.translate(Iova(probe)) is None


@given(pages.map(lambda p: p + 8), lengths, lengths, lengths, modes)
def test_prop_dma_adjacent_allowed(
    page: int, before: int, middle: int, after: int, mode: UnmapMode
) -> None:
    """Ranges that touch but do not overlap coexist as separate entries (never merged)."""
    c = Container(pgsize=PG, mode=mode)
    start = page * PG
    c.map(Iova(start), Hva(0x10_0000), middle * PG)
    c.map(Iova(start + middle * PG), Hva(0x20_0000), after * PG)
    c.map(Iova(start - before * PG), Hva(0x30_0000), before * PG)
    assert len(c) == 3
    assert [m.size for m in c] == [before * PG, middle * PG, after * PG]
    assert c.mapped == (before + middle + after) * PG


@given(requests, st.integers(min_value=0, max_value=15))
def test_prop_dma_map_unmap_remap(reqs: list[tuple[int, int]], pick: int) -> None:
    """Re-mapping a mapping overlaps; unmapping it returns its size; then the map succeeds."""
    c = Container(pgsize=PG)
    oracle = _fill(c, reqs)
    if not oracle:
        return
    first, last, vaddr = oracle[pick % len(oracle)]
    size = last - first + 1
    before = _snapshot(c)
    # An identical re-map is an overlap, not a no-op success.
    error_of(ErrorId.DMA_MAP_OVERLAP, c.map, Iova(first), Hva(vaddr), size)
    assert c.unmap(Iova(first), size) == size
    assert c.find(Iova(first)) is None and len(c) == len(oracle) - 1
    again = c.map(Iova(first), Hva(vaddr), size)
    assert (again.iova, again.vaddr, again.size) == (Iova(first), Hva(vaddr), size)
    assert _snapshot(c) == before


@given(
    st.one_of(st.integers(0, U64_MAX), st.integers(0, 64).map(lambda k: k * 0x800)),
    st.one_of(st.integers(0, U64_MAX), st.integers(0, 64).map(lambda k: k * 0x800)),
    st.one_of(st.integers(0, 2**64), st.integers(0, 8).map(lambda k: k * 0x800)),
    st.sampled_from(list(Perm)),
    st.sampled_from([0x1000, 0x2000, 0x10000]),
)
def test_prop_dma_map_check_order(iova: int, vaddr: int, size: int, perm: Perm, pg: int) -> None:
    """On an empty container the error is the first failing check in the kernel's order."""
    c = Container(pgsize=pg)
    reserved = ((MSI_FIRST, MSI_LAST),)  # x86: the MSI window, and nothing else
    assert (Range(MSI_FIRST, MSI_LAST),) == X86_MSI_RESERVED
    expected = map_error(
        iova,
        vaddr,
        size,
        perm,
        pgsize=pg,
        overlaps=lambda first, last: False,
        full=False,
        valid=lambda first, last: not any(f <= last and first <= lst for f, lst in reserved),
    )
    if expected is None:
        mapping = c.map(Iova(iova), Hva(vaddr), size, perm)
        assert (mapping.iova.value, mapping.vaddr.value, mapping.size) == (iova, vaddr, size)
        assert mapping.perm is perm and len(c) == 1
    else:
        error_of(expected, c.map, Iova(iova), Hva(vaddr), size, perm)
        assert len(c) == 0 and c.mapped == 0


@given(
    st.sampled_from([32, 39, 48, 57, 64]),
    st.integers(-8, 8),
    st.integers(1, 16),
    st.sampled_from([(), X86_MSI_RESERVED]),
    st.booleans(),
)
def test_prop_dma_address_width(
    aw: int, pages_from_top: int, pages: int, reserved: tuple[Range, ...], full: bool
) -> None:
    """A map is inside the aperture [0, 2^aw - 1] or fails out.of.range, after overlap and
    limit (the kernel's iova list check comes last); unmaps ignore the aperture."""
    c = Container(aw=aw, reserved=reserved, limit=0 if full else 4)
    top = min(1 << aw, U64_MAX + 1)
    iova = min(max(top + pages_from_top * PG, 0), U64_MAX + 1 - PG)
    size = pages * PG
    expected = map_error(
        iova,
        0,
        size,
        Perm.RW,
        pgsize=PG,
        overlaps=lambda first, last: False,
        full=full,
        valid=lambda first, last: (
            last < top and not any(r.first <= last and first <= r.last for r in reserved)
        ),
    )
    if expected is None:
        c.map(Iova(iova), Hva(0), size)
        assert c.find(Iova(iova + size - 1)) is not None
    else:
        error_of(expected, c.map, Iova(iova), Hva(0), size)
        assert len(c) == 0
    if iova + size - 1 <= U64_MAX:
        assert c.unmap(Iova(iova), size) == (size if expected is None else 0)
    valid = c.valid_ranges()
    assert valid[-1].last == top - 1 and all(r.last < top for r in valid)


@given(requests, pages, lengths, st.sampled_from(list(Perm)), st.integers(0, 3))
def test_prop_dma_failed_map_leaves_no_state(
    reqs: list[tuple[int, int]], page: int, n: int, perm: Perm, flaw: int
) -> None:
    """A map that fails for any reason leaves mappings, bytes and entry count unchanged."""
    c = Container(pgsize=PG, limit=6)
    _fill(c, reqs[:6])
    before = _snapshot(c)
    size = (0, n * PG + 1, n * PG, n * PG)[flaw]
    perm = Perm.NONE if flaw == 2 else perm
    try:
        c.map(Iova(page * PG), Hva(0x5000_0000), size, perm)
    except VfioError:
        assert _snapshot(c) == before
    else:
        assert len(c) == len(before[0]) + 1  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=8), pages, lengths)
def test_prop_dma_limit_exceeded_at_limit(limit: int, page: int, n: int) -> None:
    """`limit` disjoint maps succeed, the next fails with limit.exceeded, overlap comes first."""
    c = Container(pgsize=PG, limit=limit)
    for i in range(limit):
        c.map(Iova((100 + 2 * i) * PG), Hva(0), PG)
    assert c.avail == 0 and len(c) == limit
    error_of(ErrorId.DMA_MAP_LIMIT_EXCEEDED, c.map, Iova(page * PG), Hva(0), n * PG)
    if limit:
        error_of(ErrorId.DMA_MAP_OVERLAP, c.map, Iova(100 * PG), Hva(0), PG)
        # A freed entry is usable again.
        c.unmap(Iova(100 * PG), PG)
        c.map(Iova(page * PG), Hva(0), n * PG)
        assert c.avail == 0


@given(st.integers(min_value=-64, max_value=320), st.integers(min_value=1, max_value=64))
def test_prop_dma_out_of_range_msi_window(page_offset: int, n: int) -> None:
    """On x86 a range meeting 0xfee00000-0xfeefffff is out.of.range; outside it maps."""
    c = Container(pgsize=PG)
    iova = MSI_FIRST + page_offset * PG
    last = iova + n * PG - 1
    if last < MSI_FIRST or iova > MSI_LAST:
        c.map(Iova(iova), Hva(0), n * PG)
        assert len(c) == 1
    else:
        error_of(ErrorId.DMA_MAP_OUT_OF_RANGE, c.map, Iova(iova), Hva(0), n * PG)
        assert len(c) == 0


TOP_PAGE = (U64_MAX + 1) // PG - 8


@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(1, 8)), max_size=4),
    st.sampled_from([None, 0, 4, 7]),
    st.lists(st.integers(min_value=0, max_value=63 * PG), max_size=16),
)
def test_prop_dma_valid_ranges_complement_reserved(
    reserved_pages: list[tuple[int, int]], top: int | None, probes: list[int]
) -> None:
    """Valid ranges are sorted, disjoint, and hold exactly the bytes no reserved range holds."""
    reserved = [Range.from_size(p * PG, n * PG) for p, n in reserved_pages]
    if top is not None:  # a reserved range running to the last byte of the space
        reserved.append(Range((TOP_PAGE + top) * PG, U64_MAX))
    c = Container(pgsize=PG, reserved=reserved)
    valid = c.valid_ranges()
    for a, b in itertools.pairwise(valid):
        assert a.last + 1 < b.first  # sorted, disjoint, and never adjacent (else one range)
    top_probes = [(TOP_PAGE + k) * PG - 1 for k in range(9)]
    for x in [*probes, *top_probes, 0, U64_MAX]:
        in_reserved = any(r.first <= x <= r.last for r in reserved)
        assert sum(v.first <= x <= v.last for v in valid) == (0 if in_reserved else 1)


@given(requests, pages, lengths)
def test_prop_dma_reserve_conflicts_with_existing_mapping(
    reqs: list[tuple[int, int]], page: int, n: int
) -> None:
    """Reserving a range that holds a mapped byte fails (attach conflict) and changes nothing."""
    c = Container(pgsize=PG, reserved=())
    oracle = _fill(c, reqs)
    want = Range.from_size(page * PG, n * PG)
    before = _snapshot(c)
    if any(f <= want.last and want.first <= lst for f, lst, _ in oracle):
        error_of(ErrorId.DEVICE_ATTACH_CONFLICT, c.reserve, [want])
        assert c.valid_ranges() == (Range(0, U64_MAX),)
    else:
        c.reserve([want])
        error_of(ErrorId.DMA_MAP_OUT_OF_RANGE, c.map, Iova(want.first), Hva(0), PG)
    assert _snapshot(c) == before


def _v2_oracle(oracle: list[tuple[int, int, int]], first: int, last: int) -> int | None:
    """v2 unmap: None for bisects.mapping, else the bytes of mappings inside the range."""
    for f, lst, _ in oracle:
        if (f < first <= lst) or (f <= last < lst):
            return None
    return sum(lst - f + 1 for f, lst, _ in oracle if first <= f and lst <= last)


@given(requests, pages, lengths)
def test_prop_dma_unmap_v2_matches_oracle(reqs: list[tuple[int, int]], page: int, n: int) -> None:
    """v2: a range cutting a mapping is bisects.mapping (nothing removed), else whole ones go."""
    c = Container(pgsize=PG, mode=UnmapMode.V2)
    oracle = _fill(c, reqs)
    first, last = page * PG, (page + n) * PG - 1
    expected = _v2_oracle(oracle, first, last)
    before = _snapshot(c)
    if expected is None:
        error_of(ErrorId.DMA_UNMAP_BISECTS_MAPPING, c.unmap, Iova(first), n * PG)
        assert _snapshot(c) == before
    else:
        assert c.unmap(Iova(first), n * PG) == expected
        kept = [(f, lst) for f, lst, _ in oracle if not (first <= f and lst <= last)]
        assert [(m.range.first, m.range.last) for m in c] == sorted(kept)


@given(requests, pages, lengths)
def test_prop_dma_unmap_v1_matches_oracle(reqs: list[tuple[int, int]], page: int, n: int) -> None:
    """v1: starting inside a mapping removes nothing; else mappings starting in range go whole."""
    c = Container(pgsize=PG, mode=UnmapMode.V1)
    oracle = _fill(c, reqs)
    first, last = page * PG, (page + n) * PG - 1
    starts_inside = any(f < first <= lst for f, lst, _ in oracle)
    gone = [] if starts_inside else [(f, lst) for f, lst, _ in oracle if first <= f <= last]
    assert c.unmap(Iova(first), n * PG) == sum(lst - f + 1 for f, lst in gone)
    kept = sorted((f, lst) for f, lst, _ in oracle if (f, lst) not in gone)
    assert [(m.range.first, m.range.last) for m in c] == kept


@given(
    st.integers(min_value=0, max_value=64).map(lambda k: k * 0x800),
    st.integers(min_value=0, max_value=8).map(lambda k: k * 0x800),
    st.booleans(),
)
def test_prop_dma_unmap_fails_bad_arguments(iova: int, size: int, near_top: bool) -> None:
    """Unmap refuses size 0, misalignment and wrap-around, naming the right reason."""
    c = Container(pgsize=PG)
    for page in range(0, 32, 2):  # one-page mappings: no aligned unmap can bisect them
        c.map(Iova(page * PG), Hva(0), PG)
    if near_top:
        iova = U64_MAX + 1 - PG
    before = _snapshot(c)
    wraps = iova + size - 1 > U64_MAX
    if size == 0:
        expected: ErrorId | None = ErrorId.DMA_UNMAP_SIZE_ZERO
    elif iova % PG or size % PG:
        expected = ErrorId.DMA_UNMAP_MISALIGNED
    elif wraps:
        expected = ErrorId.DMA_UNMAP_OVERFLOW
    else:
        expected = None
    if size == 0 and iova % PG:
        # Both are EINVAL in the kernel and the spec does not order them: accept either.
        with pytest.raises(VfioError) as caught:
            c.unmap(Iova(iova), size)
        assert caught.value.kind in (ErrorId.DMA_UNMAP_SIZE_ZERO, ErrorId.DMA_UNMAP_MISALIGNED)
    elif expected is None:
        inside = [p for p in range(0, 32, 2) if iova <= p * PG and (p + 1) * PG <= iova + size]
        assert c.unmap(Iova(iova), size) == PG * len(inside)
        return
    else:
        error_of(expected, c.unmap, Iova(iova), size)
    assert _snapshot(c) == before


@given(requests, modes)
def test_prop_dma_unmap_all_returns_mapped(reqs: list[tuple[int, int]], mode: UnmapMode) -> None:
    """`unmap all` returns every mapped byte and leaves an empty container with full avail."""
    c = Container(pgsize=PG, limit=50, mode=mode)
    oracle = _fill(c, reqs)
    assert c.unmap_all() == sum(lst - f + 1 for f, lst, _ in oracle)
    assert len(c) == 0 and c.mapped == 0 and c.avail == 50 and list(c) == []
    assert c.unmap_all() == 0


@given(st.lists(pages, min_size=1, max_size=8, unique=True), mapping_perms)
def test_prop_dma_vaddr_aliasing_allowed(iovas: list[int], perm: Perm) -> None:
    """Several IOVAs may map one vaddr; each translates to it (and read-only/write-only map)."""
    c = Container(pgsize=PG)
    for page in iovas:
        c.map(Iova(page * PG), Hva(0x4000_0000), PG, perm)
    assert len(c) == len(iovas)
    for page in iovas:
        assert c.translate(Iova(page * PG + 5)) == Hva(0x4000_0005)
        found = c.find(Iova(page * PG))
        assert found is not None and found.perm is perm


@given(st.sampled_from([0x1000, 0x10000, 0x200000]), st.integers(min_value=1, max_value=16))
def test_prop_dma_last_page_of_space_mappable(pg: int, n: int) -> None:
    """The top pages of the 64-bit space map; one more page wraps (overflow)."""
    c = Container(pgsize=pg)
    top = U64_MAX + 1 - n * pg
    c.map(Iova(top), Hva(top), n * pg)
    assert c.translate(Iova(U64_MAX)) == Hva(U64_MAX)
    error_of(ErrorId.DMA_MAP_OVERFLOW, c.map, Iova(top - pg), Hva(0), (n + 1) * pg + pg)
    assert c.unmap(Iova(top), n * pg) == n * pg
