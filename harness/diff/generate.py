"""Hypothesis strategies for programs, biased towards the edges the VFIO semantics name.

One program exercises one area:

- `dma`: one or two containers (v1 or v2, 4K or 64K pages, entry limits 1-64, the x86 MSI
  window reserved or not), then maps and unmaps whose addresses are drawn relative to the maps
  drawn before (identical, adjacent, overlapping by one page, inside) or at the edges (the MSI
  window, the VT-d aperture tops 2^39 and 2^48, the last pages below 2^64 and ranges wrapping
  past it), sizes of 0, misaligned and huge, bisecting, covering and holed unmaps, unmap-all,
  and an attach that may conflict with a map in the MSI window; then `mappings`, `mapped`,
  `avail`, `mapped_at` and `translate` are read.
- `config`: a device with random BARs (32/64-bit, prefetchable, I/O, ROM, and a few invalid
  ones), then BAR sizing writes (all ones, ROM enable), address writes, sub-dword and
  misaligned accesses, accesses past 4 KiB, `alloc`; then every BAR's size and address.
- `msix`: a device with 1 to 2048 vectors (table and PBA in one BAR or two), then entries
  programmed with valid and invalid MSI addresses, masks, unmasks, Enable, Function Mask and
  interrupts in any order, vectors in and out of range; then the state of every vector used.

Only statements whose backend methods are in `methods` are drawn (the methods both backends
implement). Choices are listed simplest first, so Hypothesis shrinks towards plain maps of one
page at low addresses.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from hypothesis import strategies as st

from harness.diff import program as p
from harness.vfio.address import U64_MAX

AREAS = ("dma", "config", "msix")
MAX_OPS = 24  # operations per program, before the queries

TOP = U64_MAX + 1
MSI_FIRST, MSI_END = 0xFEE0_0000, 0xFEF0_0000  # the x86 MSI window [first, end)
VADDR_BASE = 0x7F00_0000_0000  # where a VMM's guest RAM usually lives in its address space
K64 = 64 << 10

T = TypeVar("T")
Avoid = frozenset[tuple[str, object]]  # container options, as (key, value), not to draw
NO_ATTACH = ("attach", True)  # in `avoid`: dma programs declare no device to attach


@dataclass(frozen=True, slots=True)
class _Mapped:
    """A plausible map drawn earlier: what later addresses are drawn near."""

    container: str
    iova: int
    size: int
    vaddr: int


# Strategies are built once per bound: building one costs more than drawing from it. A choice
# among options is an integer index (cheaper to draw than `sampled_from`, and it shrinks the
# same way: towards the first option).
@functools.cache
def _integers(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


def _pick(draw: st.DrawFn, options: Sequence[T]) -> T:
    return options[draw(_integers(0, len(options) - 1))]


def _int(draw: st.DrawFn, low: int, high: int) -> int:
    return draw(_integers(low, high))


_BOOLEANS = st.booleans()


def _operations(draw: st.DrawFn, most: int) -> Iterator[None]:
    """Loop over a program's operations: at least one, at most `most`.

    Before each operation after the first, one draw says whether to go on (15 in 16: a mean
    near 16 operations). So an operation is a block of choices of its own, which Hypothesis's
    shrinker deletes whole, and shrinking that draw to 0 ends the program there; a count drawn
    up front would tie every operation to it.
    """
    for done in range(most):
        if done and not _int(draw, 0, 15):
            return
        yield None


def _bool(draw: st.DrawFn) -> bool:
    return draw(_BOOLEANS)


# --------------------------------------------------------------------------------- dma


def _edges(pg: int) -> tuple[int, ...]:
    return (
        MSI_FIRST - pg,
        MSI_FIRST,
        MSI_END - pg,
        MSI_END,
        (1 << 39) - pg,
        1 << 39,
        (1 << 48) - pg,
        1 << 48,
        TOP - pg,
        TOP - 2 * pg,
        0,
    )


def _low(draw: st.DrawFn, pg: int) -> int:
    return 0x100000 + _int(draw, 0, 15) * pg


def _near(draw: st.DrawFn, pg: int, size: int, near: list[_Mapped]) -> int:
    m = _pick(draw, near)
    end = m.iova + m.size
    how = _pick(draw, ("start", "after", "before", "last-page", "inside", "page-before"))
    value = {
        "start": m.iova,  # identical or same start
        "after": end,  # adjacent after
        "before": m.iova - size,  # adjacent before
        "last-page": end - pg,  # overlaps its last page
        "inside": m.iova + pg,
        "page-before": m.iova - pg,  # overlaps its first page
    }[how]
    return value if 0 <= value < TOP else m.iova


def _map(draw: st.DrawFn, c: p.Container, pg: int, near: list[_Mapped]) -> p.Map:
    size_how = _pick(draw, ("pages",) * 6 + ("big", "zero", "odd", "top", "wrap"))
    if size_how in ("top", "wrap"):
        pages = _int(draw, 1, 4)
        iova = TOP - pages * pg
        size = pages * pg if size_how == "top" else (pages + 1) * pg
    else:
        if size_how == "pages":
            size = pg * _int(draw, 1, 4)
        elif size_how == "big":
            size = _pick(draw, (2 << 20, 1 << 30))
        elif size_how == "odd":
            size = _pick(draw, (pg + 0x800, 0x800))
        else:
            size = 0
        where = _pick(draw, ("low", "near", "near", "near", "edge", "to-edge", "odd"))
        if where == "near" and near:
            iova = _near(draw, pg, size, near)
        elif where == "edge":
            iova = _pick(draw, _edges(pg))  # starting at an edge
        elif where == "to-edge":
            iova = max(_pick(draw, _edges(pg)) - size, 0)  # ending just below one
        elif where == "odd":
            iova = _low(draw, pg) + _pick(draw, (0x800, 1))
        else:
            iova = _low(draw, pg)
    vaddr_how = _pick(draw, ("follow",) * 5 + ("alias", "top", "odd"))
    if vaddr_how == "alias" and near:
        vaddr = _pick(draw, near).vaddr
    elif vaddr_how == "top":
        vaddr = TOP - _int(draw, 1, 2) * pg
    else:
        vaddr = (VADDR_BASE + iova) % TOP // pg * pg
        if vaddr_how == "odd":
            vaddr += 0x800
    perm = _pick(draw, ("rw",) * 6 + ("r", "w", "none"))
    return p.Map(c.name, iova, vaddr, size, perm)  # type: ignore[arg-type]


def _plausible(op: p.Map, pg: int) -> bool:
    """Whether a map passes the checks that need no state (so that it may well be mapped)."""
    aligned = (op.iova | op.vaddr | op.size) % pg == 0
    fits = op.iova + op.size <= TOP and op.vaddr + op.size <= TOP
    return op.size > 0 and aligned and fits and op.perm != "none"


def _unmap(draw: st.DrawFn, c: p.Container, pg: int, near: list[_Mapped]) -> p.Unmap:
    how = _pick(
        draw,
        ("exact", "low", "span", "cut-start", "cut-end", "cover", "top", "zero", "odd", "wrap"),
    )
    mine = [m for m in near if m.container == c.name]
    if how in ("top", "wrap"):
        pages = _int(draw, 1, 4)
        extra = 0 if how == "top" else 1
        return p.Unmap(c.name, TOP - pages * pg, (pages + extra) * pg)
    if not mine or how == "low":
        return p.Unmap(c.name, _low(draw, pg), pg * _int(draw, 0, 4))
    m = _pick(draw, mine)
    if how == "span":  # from one map's start to another's end: holed when they are apart
        other = _pick(draw, mine)
        first, end = min(m.iova, other.iova), max(m.iova + m.size, other.iova + other.size)
        # From 0 to the top of the space is 2^64 bytes: one page less is the most a size holds.
        return p.Unmap(c.name, first, min(end - first, TOP - pg))
    iova, size = {
        "exact": (m.iova, m.size),
        "cut-start": (m.iova + pg, m.size),  # starts inside: v2 bisects, v1 removes nothing
        "cut-end": (m.iova, m.size - pg),  # ends inside: v2 bisects, v1 removes it whole
        "cover": (m.iova - pg, m.size + 2 * pg),
        "zero": (m.iova, 0),
        "odd": (m.iova + 0x800, m.size),
    }[how]
    if iova < 0 or size < 0 or size > U64_MAX:
        iova, size = m.iova, m.size
    return p.Unmap(c.name, iova % TOP, size)


_CONTAINER_OPTIONS: dict[str, tuple[object, ...]] = {
    "mode": (None, "v1"),
    "pgsize": (None, None, K64),
    "limit": (None, None, None, 4, 1, 2, 3, 64),
    "reserved": (None, "none"),
}


def _container(draw: st.DrawFn, name: str, avoid: Avoid) -> p.Container:
    options = {
        # An avoided value becomes the default: the choices keep their number and meaning.
        key: _pick(draw, tuple(None if (key, v) in avoid else v for v in values))
        for key, values in _CONTAINER_OPTIONS.items()
    }
    return p.Container(name, **options)  # type: ignore[arg-type]


def _dma_queries(
    containers: list[p.Container], near: list[_Mapped], methods: frozenset[str]
) -> list[p.Statement]:
    queries: list[p.Query] = []
    for c in containers:
        queries += [p.Query(c.name, attr, attr) for attr in ("mappings", "mapped", "avail")]
        starts = sorted({m.iova for m in near if m.container == c.name})[:2]
        for iova in starts:
            queries.append(p.Query(c.name, "mapped_at", "mapped_at", iova, True, boolean=True))
        for iova in starts[:1]:
            queries.append(p.Query(c.name, "translate", "translate", iova, True))
    return [q for q in queries if q.method in methods]


@st.composite
def dma_programs(
    draw: st.DrawFn, methods: frozenset[str], max_ops: int = MAX_OPS, avoid: Avoid = frozenset()
) -> p.Program:
    """Containers, maps and unmaps near each other and near the edges, then the queries."""
    containers = [_container(draw, f"c{i}", avoid) for i in range(_pick(draw, (1, 1, 2)))]
    statements: list[p.Statement] = list(containers)
    kinds: list[str] = [k for k in ("map", "map", "map", "unmap", "unmap") if k in methods]
    if "unmap_all" in methods:
        kinds.append("unmap_all")
    device = None
    if {"device", "attach"} <= methods and NO_ATTACH not in avoid and _bool(draw):
        device = p.Device("dev0", "0000:02:00.0")
        statements.append(device)
        kinds.append("attach")
    near: list[_Mapped] = []
    for _ in _operations(draw, max_ops if kinds else 0):
        c = _pick(draw, containers)
        pg = c.pgsize or 4096
        kind = _pick(draw, kinds)
        if kind == "map":
            op = _map(draw, c, pg, near)
            if _plausible(op, pg):
                near.append(_Mapped(c.name, op.iova, op.size, op.vaddr))
            statements.append(op)
        elif kind == "unmap":
            statements.append(_unmap(draw, c, pg, near))
        elif kind == "unmap_all":
            statements.append(p.UnmapAll(c.name))
        elif device is not None:
            statements.append(p.Attach(device.name, c.name))
    statements += _dma_queries(containers, near, methods)
    return p.Program("dma", tuple(statements))


# ------------------------------------------------------------------------------ config

_MEM_SIZES = (4096, 16, 1 << 20, 16 << 20, 256 << 20, 24)  # 24: not a power of two
_MEM64_SIZES = (4096, 16 << 20, 8 << 30, 16)
_IO_SIZES = (256, 4, 16, 512)  # 512: above the I/O maximum
_ROMS = (None, 2048, 64 << 10, 1024)  # 1024: below the ROM minimum
_BAR_REG = 0x10
_ROM_REG = 0x30
_CFG_OFFSETS = (0x10, 0x14, 0x18, 0x1C, 0x20, 0x24, 0x30, 0x04, 0x0C, 0x3C, 0x12, 0x11, 0x13)
_CFG_EDGES = (0xFFC, 0xFFE, 0x1000, 0xFFF)
_CFG_VALUES = (0xFFFF_FFFF, 0, 0xC000_0000, 0xE000_0000, 0x1000_0000, 0x1000, 0xFFFF_F800, 7)


def _bars(draw: st.DrawFn) -> tuple[p.Bar, ...]:
    bars: list[p.Bar] = []
    index = 0
    while index < 6:
        kind = _pick(draw, ("none", "mem32", "mem64", "io"))
        if kind == "mem32":
            bars.append(p.Bar(index, "mem32", _pick(draw, _MEM_SIZES), _bool(draw)))
        elif kind == "mem64":
            bars.append(p.Bar(index, "mem64", _pick(draw, _MEM64_SIZES), _bool(draw)))
            index += 1  # slot n+1 holds the high dword
        elif kind == "io":
            bars.append(p.Bar(index, "io", _pick(draw, _IO_SIZES)))
        index += 1
    return tuple(bars)


def _cfg_offset(draw: st.DrawFn, size: int) -> int:
    if _pick(draw, ("register", "register", "register", "edge")) == "edge":
        return _pick(draw, _CFG_EDGES)
    offset: int = _pick(draw, _CFG_OFFSETS)
    return offset - offset % size if size in (2, 4) and _bool(draw) else offset


def _config_op(draw: st.DrawFn, device: p.Device, kinds: list[str]) -> p.Statement:
    kind = _pick(draw, kinds)
    if kind == "sizing":
        bar = _int(draw, 0, 6)
        if bar == 6:
            return p.CfgWrite(device.name, _ROM_REG, _pick(draw, (0xFFFF_F800, 0xFFFF_FFFF)))
        return p.CfgWrite(device.name, _BAR_REG + 4 * bar, 0xFFFF_FFFF)
    if kind == "alloc":
        return p.Alloc(device.name)
    size = _pick(draw, (4, 4, 4, 2, 1, 3))
    offset = _cfg_offset(draw, size)
    if kind == "read":
        return p.CfgRead(device.name, offset, size)
    bits = 8 * min(size, 4)
    value = _pick(draw, _CFG_VALUES) & ((1 << bits) - 1)
    return p.CfgWrite(device.name, offset, value, size)


@st.composite
def config_programs(
    draw: st.DrawFn, methods: frozenset[str], max_ops: int = MAX_OPS, avoid: Avoid = frozenset()
) -> p.Program:
    """A device with random BARs, sizing and address writes, reads, alloc; then its BARs."""
    rom = _pick(draw, _ROMS) if "device_rom" in methods else None
    bars = _bars(draw) if "device_bar" in methods else ()
    device = p.Device("gpu0", "0000:01:00.0", bars, rom)
    kinds = [
        kind
        for kind, method in (
            ("read", "cfg_read"),
            ("sizing", "cfg_write"),
            ("write", "cfg_write"),
            ("read", "cfg_read"),
            ("alloc", "alloc"),
        )
        if method in methods
    ]
    statements: list[p.Statement] = [device]
    for _ in _operations(draw, max_ops if kinds else 0):
        statements.append(_config_op(draw, device, kinds))
    queries = [
        p.Query(device.name, f"bar{bar.index}.{what}", f"bar_{what}", bar.index)
        for bar in bars
        for what in ("size", "gpa")
    ]
    if rom is not None:
        queries += [p.Query(device.name, f"rom.{what}", f"rom_{what}") for what in ("size", "gpa")]
    statements += [q for q in queries if q.method in methods]
    return p.Program("config", tuple(statements))


# -------------------------------------------------------------------------------- msix

_VECTORS = (1, 2, 4, 31, 32, 33, 63, 64, 65, 128, 2048)
_MSI_ADDRS = (0xFEE0_0000, 0xFEE0_1000, 0xFEEF_F000, 0, 0xFED0_0000, 0x1_FEE0_0000)
_MSI_DATA = (0x4041, 0, 0xFFFF_FFFF)


def _msix_device(draw: st.DrawFn, vectors: int) -> p.Device:
    table_size = 16 * vectors
    pba_size = 8 * -(-vectors // 64)
    if _pick(draw, ("shared", "split")) == "shared":
        pba_offset = -(-table_size // 4096) * 4096
        bar_size = max(4096, 1 << (pba_offset + pba_size - 1).bit_length())
        kind = _pick(draw, ("mem32", "mem64"))
        bars: tuple[p.Bar, ...] = (p.Bar(0, kind, bar_size),)  # type: ignore[arg-type]
        msix = p.MsixCap(vectors, 0, 0, 0, pba_offset)
    else:
        table_bar = max(4096, 1 << (table_size - 1).bit_length())
        bars = (p.Bar(0, "mem64", table_bar, prefetch=True), p.Bar(2, "mem32", 4096))
        msix = p.MsixCap(vectors, 0, 0, 2, 0)
    return p.Device("gpu0", "0000:01:00.0", bars, None, msix)


def _msix_op(draw: st.DrawFn, name: str, pool: Sequence[int], kinds: list[str]) -> p.Statement:
    kind = _pick(draw, kinds)
    vector = _pick(draw, pool)
    if kind == "entry":
        return p.MsixEntry(name, vector, _pick(draw, _MSI_ADDRS), _pick(draw, _MSI_DATA))
    if kind in ("mask", "unmask"):
        return p.MsixVector(name, kind, vector)  # type: ignore[arg-type]
    if kind in ("enable", "disable"):
        return p.MsixEnable(name, kind == "enable")
    if kind in ("fmask-on", "fmask-off"):
        return p.MsixFmask(name, kind == "fmask-on")
    return p.Irq(name, vector)


_MSIX_KINDS = (
    ("entry", "msix_entry"),
    ("unmask", "msix_unmask"),
    ("irq", "irq"),
    ("enable", "msix_enable"),
    ("mask", "msix_mask"),
    ("disable", "msix_enable"),
    ("fmask-on", "msix_fmask"),
    ("fmask-off", "msix_fmask"),
)


@st.composite
def msix_programs(
    draw: st.DrawFn, methods: frozenset[str], max_ops: int = MAX_OPS, avoid: Avoid = frozenset()
) -> p.Program:
    """A device with MSI-X; entries, masks, Enable, Function Mask, irqs; then every vector."""
    vectors = _pick(draw, _VECTORS)
    device = _msix_device(draw, vectors)
    pool = sorted({0, min(1, vectors - 1), vectors - 1, vectors})  # `vectors`: out of range
    kinds = [kind for kind, method in _MSIX_KINDS if method in methods]
    statements: list[p.Statement] = [device]
    for _ in _operations(draw, max_ops if kinds else 0):
        statements.append(_msix_op(draw, device.name, pool, kinds))
    queries = [
        p.Query(device.name, "msix.enabled", "msix_enabled", boolean=True),
        p.Query(device.name, "msix.fmask", "msix_function_masked", boolean=True),
        p.Query(device.name, "msix.configured", "msix_configured"),
    ]
    for vector in pool[:-1]:
        queries += [
            p.Query(device.name, "msix.masked", "msix_masked", vector, True, boolean=True),
            p.Query(device.name, "msix.pending", "msix_pending", vector, True, boolean=True),
            p.Query(device.name, "msix.delivered", "msix_delivered", vector, True),
        ]
    statements += [q for q in queries if q.method in methods]
    return p.Program("msix", tuple(statements))


# ------------------------------------------------------------------------------ areas

_NEEDS = {
    "dma": {"container", "map"},
    "config": {"device", "cfg_write", "cfg_read"},
    "msix": {"device", "device_bar", "device_msix", "msix_entry"},
}
_STRATEGIES = {"dma": dma_programs, "config": config_programs, "msix": msix_programs}


def usable(areas: Sequence[str], methods: frozenset[str]) -> list[str]:
    """The areas whose declarations and first operations the backends implement."""
    return [area for area in areas if _NEEDS[area] <= methods]


def missing(area: str, methods: frozenset[str]) -> list[str]:
    """The methods an area needs that are not in `methods`."""
    return sorted(_NEEDS[area] - methods)


def programs(
    areas: Sequence[str],
    methods: frozenset[str],
    max_ops: int = MAX_OPS,
    avoid: Avoid = frozenset(),
) -> st.SearchStrategy[p.Program]:
    """Programs of the given areas (each program one area), using only `methods`, and no
    container option in `avoid` ((key, value) pairs a target cannot run)."""
    chosen = usable(areas, methods)
    if not chosen:
        raise ValueError(f"no area of {', '.join(areas)} can run with these methods")
    return st.one_of([_STRATEGIES[area](methods, max_ops, avoid) for area in chosen])
