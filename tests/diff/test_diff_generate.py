"""The generator: only the methods asked for, reproducible, and biased towards the edges.

The edge test draws a few hundred programs from a fixed seed and checks that each edge the
VFIO semantics name shows up: a generator that lost one would never find its bugs.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from harness.diff import generate
from harness.diff import program as p
from harness.diff.dma_programs import MSI_END, MSI_FIRST, TOP
from harness.diff.generate import AREAS, programs
from harness.sessions import BACKEND_METHODS
from harness.vfio.address import U64_MAX

METHODS = frozenset(BACKEND_METHODS)


def sample(strategy: st.SearchStrategy[p.Program], count: int, seed: int) -> list[p.Program]:
    """`count` programs as the search generates them, from one seed."""
    drawn: list[p.Program] = []

    def keep(program: p.Program) -> bool:
        drawn.append(program)
        return False

    config = settings(
        settings.get_profile("default"),
        max_examples=count,
        database=None,
        deadline=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    with pytest.raises(NoSuchExample):
        find(strategy, keep, settings=config, random=random.Random(seed))
    return drawn


@given(st.data())
def test_only_the_methods_given_are_called(data: st.DataObject) -> None:
    methods = frozenset(data.draw(st.sets(st.sampled_from(sorted(METHODS)))))
    methods |= {"container", "map", "device", "device_bar", "device_msix", "msix_entry"}
    methods |= {"cfg_read", "cfg_write"}
    program = data.draw(programs(AREAS, methods))
    assert {call.method for _, call in program.calls()} <= methods


def test_every_value_fits_its_64_bit_field() -> None:
    # A value above 2^64-1 would be the language's scenario.error:value.range in the file and
    # invalid parameters on the wire: the two sides would not even see the same call.
    for program in sample(programs(AREAS, METHODS), 600, seed=11):
        for _, call in program.calls():
            values = [*call.args, *(v for _, v in call.kwargs)]
            ints = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
            assert all(0 <= v <= U64_MAX for v in ints), (program.text(), call)


def test_an_area_whose_methods_are_missing_is_not_usable() -> None:
    methods = frozenset({"container", "map", "unmap"})
    assert generate.usable(AREAS, methods) == ["dma"]
    assert generate.missing("msix", methods) == [
        "device",
        "device_bar",
        "device_msix",
        "msix_entry",
    ]
    with pytest.raises(ValueError, match="no area"):
        programs(["msix"], methods)


def test_the_same_seed_draws_the_same_programs() -> None:
    strategy = programs(AREAS, METHODS)
    assert sample(strategy, 40, seed=7) == sample(strategy, 40, seed=7)
    assert sample(strategy, 40, seed=7) != sample(strategy, 40, seed=8)


def _maps(program: p.Program) -> list[p.Map]:
    return [s for s in program.statements if isinstance(s, p.Map)]


def _pg(program: p.Program, container: str) -> int:
    for s in program.statements:
        if isinstance(s, p.Container) and s.name == container:
            return s.pgsize or 4096
    raise AssertionError(container)


def _pairs(program: p.Program) -> list[tuple[p.Map, p.Map | p.Unmap, int]]:
    """(an earlier map, a later map or unmap of the same container, the page size)."""
    pairs = []
    seen: list[p.Map] = []
    for s in program.statements:
        if isinstance(s, p.Map | p.Unmap):
            pg = _pg(program, s.container)
            pairs += [(m, s, pg) for m in seen if m.container == s.container]
        if isinstance(s, p.Map):
            seen.append(s)
    return pairs


def _any_pair(test: Callable[[p.Map, p.Map | p.Unmap, int], bool]) -> Callable[[p.Program], bool]:
    return lambda program: any(test(m, s, pg) for m, s, pg in _pairs(program))


def _any(kind: type, test: Callable[..., bool] = lambda s: True) -> Callable[[p.Program], bool]:
    return lambda program: any(isinstance(s, kind) and test(s) for s in program.statements)


def _end(s: p.Map | p.Unmap) -> int:
    return s.iova + s.size


DMA_EDGES: dict[str, Callable[[p.Program], bool]] = {
    "map overlapping the last page of an earlier one": _any_pair(
        lambda m, s, pg: isinstance(s, p.Map) and s.iova == _end(m) - pg and s.size >= pg
    ),
    "identical re-map": _any_pair(lambda m, s, pg: isinstance(s, p.Map) and s == m),
    "adjacent map": _any_pair(
        lambda m, s, pg: isinstance(s, p.Map) and (s.iova == _end(m) or _end(s) == m.iova)
    ),
    "two IOVAs aliasing one vaddr": _any_pair(
        lambda m, s, pg: isinstance(s, p.Map) and s.vaddr == m.vaddr and s.iova != m.iova
    ),
    "unmap starting inside a map": _any_pair(
        lambda m, s, pg: isinstance(s, p.Unmap) and m.iova < s.iova < _end(m) and s.size > 0
    ),
    "unmap ending inside a map": _any_pair(
        lambda m, s, pg: isinstance(s, p.Unmap) and s.iova == m.iova and 0 < s.size < m.size
    ),
    "unmap covering a map and more": _any_pair(
        lambda m, s, pg: isinstance(s, p.Unmap) and s.iova < m.iova and _end(s) > _end(m)
    ),
    "holed unmap spanning two maps": lambda program: any(
        isinstance(u, p.Unmap)
        and len([m for m in _maps(program) if u.iova <= m.iova and _end(m) <= _end(u)]) >= 2
        for u in program.statements
    ),
    "map of size 0": _any(p.Map, lambda s: s.size == 0),
    "unmap of size 0": _any(p.Unmap, lambda s: s.size == 0),
    "misaligned iova": _any(p.Map, lambda s: s.iova % 4096 != 0),
    "misaligned vaddr": _any(p.Map, lambda s: s.vaddr % 4096 != 0),
    "misaligned size": _any(p.Map, lambda s: s.size % 4096 != 0),
    "map in the MSI window": _any(p.Map, lambda s: s.iova < MSI_END and _end(s) > MSI_FIRST),
    "map ending where the MSI window starts": _any(p.Map, lambda s: _end(s) == MSI_FIRST),
    "map at the top of a 39-bit aperture": _any(p.Map, lambda s: _end(s) == 1 << 39),
    "map above a 39-bit aperture": _any(p.Map, lambda s: s.iova == 1 << 39),
    "map of the last page below 2^64": _any(p.Map, lambda s: _end(s) == TOP and s.size > 0),
    "map wrapping past 2^64": _any(p.Map, lambda s: _end(s) > TOP),
    "map whose vaddr wraps past 2^64": _any(p.Map, lambda s: s.vaddr + s.size > TOP),
    "unmap ending at 2^64-1": _any(p.Unmap, lambda s: _end(s) == TOP),
    "unmap wrapping past 2^64": _any(p.Unmap, lambda s: _end(s) > TOP),
    "read-only, write-only and no-access maps": lambda program: (
        {"r", "w", "none"} <= {m.perm for m in _maps(program)}
    ),
    "unmap all": _any(p.UnmapAll),
    "v1 container": _any(p.Container, lambda s: s.mode == "v1"),
    "64K pages": _any(p.Container, lambda s: s.pgsize == 64 << 10),
    "entry limit of 1": _any(p.Container, lambda s: s.limit == 1),
    "entry limit of 64": _any(p.Container, lambda s: s.limit == 64),
    "nothing reserved": _any(p.Container, lambda s: s.reserved == "none"),
    "attach": _any(p.Attach),
    "an IOMMU address width of 39": _any(p.Container, lambda s: s.aw == 39),
    "unmap all with iova=0 size=0": _any(p.UnmapAll, lambda s: s.iova == 0 and s.size == 0),
    "unmap all with a range": _any(p.UnmapAll, lambda s: bool(s.iova) and s.size is not None),
}


def _bar_write(s: p.Statement) -> bool:
    return isinstance(s, p.CfgWrite) and 0x10 <= s.offset <= 0x24 and s.value == 0xFFFF_FFFF


CONFIG_EDGES: dict[str, Callable[[p.Program], bool]] = {
    "BAR sizing write": _any(p.CfgWrite, _bar_write),
    "ROM sizing write with the enable bit clear": _any(
        p.CfgWrite, lambda s: s.offset == 0x30 and s.value == 0xFFFF_F800
    ),
    "sub-dword read": _any(p.CfgRead, lambda s: s.size in (1, 2)),
    "access of size 3": _any(p.CfgWrite, lambda s: s.size == 3),
    "access crossing a dword": _any(p.CfgRead, lambda s: s.offset % 4 + s.size > 4),
    "access past 4 KiB": _any(p.CfgRead, lambda s: s.offset + s.size > 4096),
    "command register": _any(p.CfgWrite, lambda s: s.offset == 0x04),
    "alloc": _any(p.Alloc),
    "64-bit prefetchable BAR": _any(
        p.Device, lambda d: any(b.kind == "mem64" and b.prefetch for b in d.bars)
    ),
    "8 GiB BAR": _any(p.Device, lambda d: any(b.size == 8 << 30 for b in d.bars)),
    "I/O BAR": _any(p.Device, lambda d: any(b.kind == "io" for b in d.bars)),
    "64-bit BAR in slot 5": _any(
        p.Device, lambda d: any(b.kind == "mem64" and b.index == 5 for b in d.bars)
    ),
    "BAR size not a power of two": _any(p.Device, lambda d: any(b.size == 24 for b in d.bars)),
    "ROM": _any(p.Device, lambda d: d.rom is not None),
    "Memory Space and Bus Master on": _any(p.CfgWrite, lambda s: s.offset == 4 and s.value == 6),
    "MMIO write of 8 bytes": _any(p.MmioWrite, lambda s: s.size == 8),
    "MMIO read past the BAR's end": lambda program: any(
        isinstance(r, p.MmioRead)
        and any(
            isinstance(d, p.Device) and any(b.index == r.bar and r.offset >= b.size for b in d.bars)
            for d in program.statements
        )
        for r in program.statements
    ),
    "unaligned MMIO": _any(p.MmioRead, lambda s: s.offset % s.size != 0),
    "MMIO to an absent BAR": _any(p.MmioWrite, lambda s: s.bar == 5),
    "reset": _any(p.Reset),
}

MSIX_EDGES: dict[str, Callable[[p.Program], bool]] = {
    "one vector": _any(p.Device, lambda d: d.msix is not None and d.msix.vectors == 1),
    "2048 vectors": _any(p.Device, lambda d: d.msix is not None and d.msix.vectors == 2048),
    "vectors 31 to 33 and 63 to 65": lambda program: any(
        isinstance(d, p.Device) and d.msix is not None and d.msix.vectors in (33, 65)
        for d in program.statements
    ),
    "table and PBA in two BARs": _any(
        p.Device, lambda d: d.msix is not None and d.msix.table_bar != d.msix.pba_bar
    ),
    "valid MSI address": _any(p.MsixEntry, lambda s: s.addr >> 20 == 0xFEE),
    "address with a high dword": _any(p.MsixEntry, lambda s: s.addr >> 32 != 0),
    "invalid low address": _any(p.MsixEntry, lambda s: s.addr == 0xFED0_0000),
    "unmask": _any(p.MsixVector, lambda s: s.action == "unmask"),
    "mask": _any(p.MsixVector, lambda s: s.action == "mask"),
    "enable": _any(p.MsixEnable, lambda s: s.on),
    "disable": _any(p.MsixEnable, lambda s: not s.on),
    "function mask on": _any(p.MsixFmask, lambda s: s.on),
    "function mask off": _any(p.MsixFmask, lambda s: not s.on),
    "irq": _any(p.Irq),
    "vector out of range": lambda program: any(
        isinstance(s, p.Irq | p.MsixVector | p.MsixEntry)
        and any(
            isinstance(d, p.Device) and d.msix is not None and s.vector == d.msix.vectors
            for d in program.statements
        )
        for s in program.statements
    ),
    "Bus Master left off": lambda program: (
        not any(isinstance(s, p.CfgWrite) and s.offset == 4 for s in program.statements)
    ),
    "a vector control word written through MMIO": lambda program: any(
        isinstance(s, p.MmioWrite)
        and any(
            isinstance(d, p.Device)
            and d.msix is not None
            and s.bar == 0
            and s.offset >= 16
            and s.offset % 16 == 12
            and s.offset < 16 * d.msix.vectors
            for d in program.statements
        )
        for s in program.statements
    ),
    "a PBA read through MMIO": lambda program: any(
        isinstance(s, p.MmioRead)
        and any(
            isinstance(d, p.Device)
            and d.msix is not None
            and d.msix.pba_bar == 0
            and s.bar == 0
            and s.offset == d.msix.pba_offset
            for d in program.statements
        )
        for s in program.statements
    ),
    "reset": _any(p.Reset),
    "irq, then unmask": lambda program: any(
        isinstance(a, p.Irq) and isinstance(b, p.MsixVector) and b.action == "unmask"
        for i, a in enumerate(program.statements)
        for b in program.statements[i + 1 :]
    ),
}


@pytest.mark.parametrize(
    ("area", "edges"), [("dma", DMA_EDGES), ("config", CONFIG_EDGES), ("msix", MSIX_EDGES)]
)
def test_every_edge_the_semantics_name_is_drawn(
    area: str, edges: dict[str, Callable[[p.Program], bool]]
) -> None:
    drawn = sample(programs([area], METHODS), 300, seed=1)
    missed = [name for name, seen in edges.items() if not any(map(seen, drawn))]
    assert not missed


def test_queries_end_every_program_and_read_what_it_used() -> None:
    for program in sample(programs(AREAS, METHODS), 60, seed=3):
        kinds = [isinstance(s, p.Query) for s in program.statements]
        first = kinds.index(True) if True in kinds else len(kinds)
        assert all(kinds[first:]), "queries come after every operation"
        names = {p.declared(s) for s in program.statements} - {None}
        assert {q.name for q in program.statements if isinstance(q, p.Query)} <= names
