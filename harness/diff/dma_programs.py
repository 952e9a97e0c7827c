"""Programs of the `dma` area: containers, maps and unmaps near each other and at the edges.

One or two containers (v1 or v2, 4K or 64K pages, entry limits 1-64, the x86 MSI window
reserved or not, an IOMMU address width of 39 or 48 bits), then maps and unmaps whose
addresses are drawn relative to the maps drawn before (identical, adjacent, overlapping by one
page, inside) or at the edges (the MSI window, the VT-d aperture tops 2^39 and 2^48, the last
pages below 2^64 and ranges wrapping past it), sizes of 0, misaligned and huge, bisecting,
covering and holed unmaps, unmap-all (also with `iova=0 size=0`, and with a range, which is an
error), and an attach that may conflict with a map in the MSI window; then `mappings`,
`mapped`, `avail`, `mapped_at` and `translate` are read.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from harness.diff import program as p
from harness.diff.draws import MAX_OPS, Avoid, boolean, integer, operations, pick
from harness.vfio.address import U64_MAX

TOP = U64_MAX + 1
MSI_FIRST, MSI_END = 0xFEE0_0000, 0xFEF0_0000  # the x86 MSI window [first, end)
VADDR_BASE = 0x7F00_0000_0000  # where a VMM's guest RAM usually lives in its address space
K64 = 64 << 10
NO_ATTACH = ("attach", True)  # in `avoid`: declare no device to attach


@dataclass(frozen=True, slots=True)
class _Mapped:
    """A plausible map drawn earlier: what later addresses are drawn near."""

    container: str
    iova: int
    size: int
    vaddr: int


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
    return 0x100000 + integer(draw, 0, 15) * pg


def _near(draw: st.DrawFn, pg: int, size: int, near: list[_Mapped]) -> int:
    m = pick(draw, near)
    end = m.iova + m.size
    how = pick(draw, ("start", "after", "before", "last-page", "inside", "page-before"))
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
    size_how = pick(draw, ("pages",) * 6 + ("big", "zero", "odd", "top", "wrap"))
    if size_how in ("top", "wrap"):
        pages = integer(draw, 1, 4)
        iova = TOP - pages * pg
        size = pages * pg if size_how == "top" else (pages + 1) * pg
    else:
        if size_how == "pages":
            size = pg * integer(draw, 1, 4)
        elif size_how == "big":
            size = pick(draw, (2 << 20, 1 << 30))
        elif size_how == "odd":
            size = pick(draw, (pg + 0x800, 0x800))
        else:
            size = 0
        where = pick(draw, ("low", "near", "near", "near", "edge", "to-edge", "odd"))
        if where == "near" and near:
            iova = _near(draw, pg, size, near)
        elif where == "edge":
            iova = pick(draw, _edges(pg))  # starting at an edge
        elif where == "to-edge":
            iova = max(pick(draw, _edges(pg)) - size, 0)  # ending just below one
        elif where == "odd":
            iova = _low(draw, pg) + pick(draw, (0x800, 1))
        else:
            iova = _low(draw, pg)
    vaddr_how = pick(draw, ("follow",) * 5 + ("alias", "top", "odd"))
    if vaddr_how == "alias" and near:
        vaddr = pick(draw, near).vaddr
    elif vaddr_how == "top":
        vaddr = TOP - integer(draw, 1, 2) * pg
    else:
        vaddr = (VADDR_BASE + iova) % TOP // pg * pg
        if vaddr_how == "odd":
            vaddr += 0x800
    perm = pick(draw, ("rw",) * 6 + ("r", "w", "none"))
    return p.Map(c.name, iova, vaddr, size, perm)  # type: ignore[arg-type]


def _plausible(op: p.Map, pg: int) -> bool:
    """Whether a map passes the checks that need no state (so that it may well be mapped)."""
    aligned = (op.iova | op.vaddr | op.size) % pg == 0
    fits = op.iova + op.size <= TOP and op.vaddr + op.size <= TOP
    return op.size > 0 and aligned and fits and op.perm != "none"


def _unmap(draw: st.DrawFn, c: p.Container, pg: int, near: list[_Mapped]) -> p.Unmap:
    how = pick(
        draw,
        ("exact", "low", "span", "cut-start", "cut-end", "cover", "top", "zero", "odd", "wrap"),
    )
    mine = [m for m in near if m.container == c.name]
    if how in ("top", "wrap"):
        pages = integer(draw, 1, 4)
        extra = 0 if how == "top" else 1
        return p.Unmap(c.name, TOP - pages * pg, (pages + extra) * pg)
    if not mine or how == "low":
        return p.Unmap(c.name, _low(draw, pg), pg * integer(draw, 0, 4))
    m = pick(draw, mine)
    if how == "span":  # from one map's start to another's end: holed when they are apart
        other = pick(draw, mine)
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


def _unmap_all(draw: st.DrawFn, c: p.Container, pg: int) -> p.UnmapAll:
    how = pick(draw, ("plain", "plain", "zero", "range"))
    if how == "zero":  # iova=0 size=0: accepted, as the kernel accepts them
        return p.UnmapAll(c.name, 0, 0)
    if how == "range":  # a non-zero range with ALL: EINVAL (dma.unmap.failed:all.with.range)
        return p.UnmapAll(c.name, _low(draw, pg), pg * integer(draw, 0, 2))
    return p.UnmapAll(c.name)


_CONTAINER_OPTIONS: dict[str, tuple[object, ...]] = {
    "mode": (None, "v1"),
    "pgsize": (None, None, K64),
    "limit": (None, None, None, 4, 1, 2, 3, 64),
    "reserved": (None, "none"),
    "aw": (None, None, None, None, 39, 48),  # VT-d's address widths
}


def _container(draw: st.DrawFn, name: str, avoid: Avoid) -> p.Container:
    options = {
        # An avoided value becomes the default: the choices keep their number and meaning.
        key: pick(draw, tuple(None if (key, v) in avoid else v for v in values))
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
    containers = [_container(draw, f"c{i}", avoid) for i in range(pick(draw, (1, 1, 2)))]
    statements: list[p.Statement] = list(containers)
    kinds: list[str] = [k for k in ("map", "map", "map", "unmap", "unmap") if k in methods]
    if "unmap_all" in methods:
        kinds.append("unmap_all")
    device = None
    if {"device", "attach"} <= methods and NO_ATTACH not in avoid and boolean(draw):
        device = p.Device("dev0", "0000:02:00.0")
        statements.append(device)
        kinds.append("attach")
    near: list[_Mapped] = []
    for _ in operations(draw, max_ops if kinds else 0):
        c = pick(draw, containers)
        pg = c.pgsize or 4096
        kind = pick(draw, kinds)
        if kind == "map":
            op = _map(draw, c, pg, near)
            if _plausible(op, pg):
                near.append(_Mapped(c.name, op.iova, op.size, op.vaddr))
            statements.append(op)
        elif kind == "unmap":
            statements.append(_unmap(draw, c, pg, near))
        elif kind == "unmap_all":
            statements.append(_unmap_all(draw, c, pg))
        elif device is not None:
            statements.append(p.Attach(device.name, c.name))
    statements += _dma_queries(containers, near, methods)
    return p.Program("dma", tuple(statements))
