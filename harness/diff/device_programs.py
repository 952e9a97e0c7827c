"""Programs of the `config` and `msix` areas: a device, its registers and its interrupts.

- `config`: a device with random BARs (32/64-bit, prefetchable, I/O, ROM, and a few invalid
  ones), then BAR sizing writes (all ones, ROM enable), address writes, sub-dword and
  misaligned accesses, accesses past 4 KiB, `alloc`, Command register writes (Memory and I/O
  decode, Bus Master), MMIO reads and writes of 1 to 8 bytes (at a BAR's start and end, past
  it, misaligned, to an absent BAR), `reset`; then every BAR's size and address and `command`.
- `msix`: a device with 1 to 2048 vectors (table and PBA in one BAR or two), usually with Bus
  Master Enable set first, then entries programmed with valid and invalid MSI addresses,
  masks, unmasks, Enable, Function Mask and interrupts in any order, vectors in and out of
  range, table fields and the PBA read and written through MMIO, Bus Master toggled, `reset`;
  then the state of every vector used (mask, pending, deliveries, the last message).
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from harness.diff import program as p
from harness.diff.draws import MAX_OPS, Avoid, boolean, integer, mostly, operations, pick

_MEM_SIZES = (4096, 16, 1 << 20, 16 << 20, 256 << 20, 24)  # 24: not a power of two
_MEM64_SIZES = (4096, 16 << 20, 8 << 30, 16)
_IO_SIZES = (256, 4, 16, 512)  # 512: above the I/O maximum
_ROMS = (None, 2048, 64 << 10, 1024)  # 1024: below the ROM minimum
_COMMAND_REG = 0x04
_BAR_REG = 0x10
_ROM_REG = 0x30
_CFG_OFFSETS = (0x10, 0x14, 0x18, 0x1C, 0x20, 0x24, 0x30, 0x04, 0x0C, 0x3C, 0x12, 0x11, 0x13)
_CFG_EDGES = (0xFFC, 0xFFE, 0x1000, 0xFFF)
_CFG_VALUES = (0xFFFF_FFFF, 0, 0xC000_0000, 0xE000_0000, 0x1000_0000, 0x1000, 0xFFFF_F800, 7)


def _bars(draw: st.DrawFn) -> tuple[p.Bar, ...]:
    bars: list[p.Bar] = []
    index = 0
    while index < 6:
        kind = pick(draw, ("none", "mem32", "mem64", "io"))
        if kind == "mem32":
            bars.append(p.Bar(index, "mem32", pick(draw, _MEM_SIZES), boolean(draw)))
        elif kind == "mem64":
            bars.append(p.Bar(index, "mem64", pick(draw, _MEM64_SIZES), boolean(draw)))
            index += 1  # slot n+1 holds the high dword
        elif kind == "io":
            bars.append(p.Bar(index, "io", pick(draw, _IO_SIZES)))
        index += 1
    return tuple(bars)


def _cfg_offset(draw: st.DrawFn, size: int) -> int:
    if pick(draw, ("register", "register", "register", "edge")) == "edge":
        return pick(draw, _CFG_EDGES)
    offset: int = pick(draw, _CFG_OFFSETS)
    return offset - offset % size if size in (2, 4) and boolean(draw) else offset


_COMMANDS = (0x2, 0x6, 0x7, 0x1, 0x4, 0, 0xFFFF)  # Memory, +Bus Master, +I/O, ..., all ones
_MMIO_SIZES = (4, 4, 8, 2, 1, 3)
_MMIO_VALUES = (0x1234_5678, 0, 0xFFFF_FFFF_FFFF_FFFF, 0xFEE0_0000, 1)


def _mmio(
    draw: st.DrawFn, device: p.Device, kind: str, registers: tuple[tuple[int, int], ...] = ()
) -> p.Statement:
    """An MMIO access: to a BAR's own registers, to the MSI-X `registers` ((BAR, offset) of
    table fields and the PBA), past a BAR's end, misaligned, or to an absent BAR."""
    size = pick(draw, _MMIO_SIZES)
    if registers and mostly(draw):
        index, offset = pick(draw, registers)
    else:
        bars = {bar.index: bar for bar in device.bars}
        index = pick(draw, (*sorted(bars), 5)) if bars else 0  # 5 (or 0 with none): absent
        bar = bars.get(index)
        span = bar.size if bar is not None else 4096
        where = pick(draw, ("start", "start", "inside", "end", "past", "odd"))
        offset = {
            "start": 0,
            "inside": min(0x10, span - size) if span > size else 0,
            "end": max(span - size, 0),  # the last access that fits
            "past": span,  # out of range
            "odd": 1,  # unaligned for every size but 1
        }[where]
    if kind == "mmio-read":
        return p.MmioRead(device.name, index, offset, size)
    value = pick(draw, _MMIO_VALUES) & ((1 << (8 * min(size, 8))) - 1)
    return p.MmioWrite(device.name, index, offset, value, size)


def _config_op(draw: st.DrawFn, device: p.Device, kinds: list[str]) -> p.Statement:
    kind = pick(draw, kinds)
    if kind in ("mmio-read", "mmio-write"):
        return _mmio(draw, device, kind)
    if kind == "reset":
        return p.Reset(device.name)
    if kind == "command":
        return p.CfgWrite(device.name, _COMMAND_REG, pick(draw, _COMMANDS), 2)
    if kind == "sizing":
        bar = integer(draw, 0, 6)
        if bar == 6:
            return p.CfgWrite(device.name, _ROM_REG, pick(draw, (0xFFFF_F800, 0xFFFF_FFFF)))
        return p.CfgWrite(device.name, _BAR_REG + 4 * bar, 0xFFFF_FFFF)
    if kind == "alloc":
        return p.Alloc(device.name)
    size = pick(draw, (4, 4, 4, 2, 1, 3))
    offset = _cfg_offset(draw, size)
    if kind == "read":
        return p.CfgRead(device.name, offset, size)
    bits = 8 * min(size, 4)
    value = pick(draw, _CFG_VALUES) & ((1 << bits) - 1)
    return p.CfgWrite(device.name, offset, value, size)


@st.composite
def config_programs(
    draw: st.DrawFn, methods: frozenset[str], max_ops: int = MAX_OPS, avoid: Avoid = frozenset()
) -> p.Program:
    """A device with random BARs, sizing and address writes, reads, alloc; then its BARs."""
    rom = pick(draw, _ROMS) if "device_rom" in methods else None
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
            ("command", "cfg_write"),
            ("mmio-read", "mmio_read"),
            ("mmio-write", "mmio_write"),
            ("reset", "device_reset"),
        )
        if method in methods
    ]
    statements: list[p.Statement] = [device]
    for _ in operations(draw, max_ops if kinds else 0):
        statements.append(_config_op(draw, device, kinds))
    queries = [
        p.Query(device.name, f"bar{bar.index}.{what}", f"bar_{what}", bar.index)
        for bar in bars
        for what in ("size", "gpa")
    ]
    if rom is not None:
        queries += [p.Query(device.name, f"rom.{what}", f"rom_{what}") for what in ("size", "gpa")]
    queries.append(p.Query(device.name, "command", "command"))
    statements += [q for q in queries if q.method in methods]
    return p.Program("config", tuple(statements))


# -------------------------------------------------------------------------------- msix

_VECTORS = (1, 2, 4, 31, 32, 33, 63, 64, 65, 128, 2048)
_MSI_ADDRS = (0xFEE0_0000, 0xFEE0_1000, 0xFEEF_F000, 0, 0xFED0_0000, 0x1_FEE0_0000)
_MSI_DATA = (0x4041, 0, 0xFFFF_FFFF)


def _msix_device(draw: st.DrawFn, vectors: int) -> p.Device:
    table_size = 16 * vectors
    pba_size = 8 * -(-vectors // 64)
    if pick(draw, ("shared", "split")) == "shared":
        pba_offset = -(-table_size // 4096) * 4096
        bar_size = max(4096, 1 << (pba_offset + pba_size - 1).bit_length())
        kind = pick(draw, ("mem32", "mem64"))
        bars: tuple[p.Bar, ...] = (p.Bar(0, kind, bar_size),)  # type: ignore[arg-type]
        msix = p.MsixCap(vectors, 0, 0, 0, pba_offset)
    else:
        table_bar = max(4096, 1 << (table_size - 1).bit_length())
        bars = (p.Bar(0, "mem64", table_bar, prefetch=True), p.Bar(2, "mem32", 4096))
        msix = p.MsixCap(vectors, 0, 0, 2, 0)
    return p.Device("gpu0", "0000:01:00.0", bars, None, msix)


def _msix_registers(device: p.Device, pool: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """(BAR, offset) of each field of the table entries of the vectors used, and of the PBA."""
    assert device.msix is not None
    m = device.msix
    fields = tuple(
        (m.table_bar, m.table_offset + 16 * v + f) for v in pool[:-1] for f in (12, 0, 4, 8)
    )
    return ((m.pba_bar, m.pba_offset), *fields)


def _msix_op(
    draw: st.DrawFn, device: p.Device, pool: Sequence[int], kinds: list[str]
) -> p.Statement:
    name = device.name
    kind = pick(draw, kinds)
    if kind in ("mmio-read", "mmio-write"):
        return _mmio(draw, device, kind, _msix_registers(device, pool))
    if kind == "reset":
        return p.Reset(name)
    if kind == "bus-master":
        return p.CfgWrite(name, _COMMAND_REG, pick(draw, (0x6, 0x2, 0)), 2)
    vector = pick(draw, pool)
    if kind == "entry":
        return p.MsixEntry(name, vector, pick(draw, _MSI_ADDRS), pick(draw, _MSI_DATA))
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
    ("mmio-write", "mmio_write"),
    ("mmio-read", "mmio_read"),
    ("bus-master", "cfg_write"),
    ("reset", "device_reset"),
)


@st.composite
def msix_programs(
    draw: st.DrawFn, methods: frozenset[str], max_ops: int = MAX_OPS, avoid: Avoid = frozenset()
) -> p.Program:
    """A device with MSI-X; entries, masks, Enable, Function Mask, irqs; then every vector."""
    vectors = pick(draw, _VECTORS)
    device = _msix_device(draw, vectors)
    pool = sorted({0, min(1, vectors - 1), vectors - 1, vectors})  # `vectors`: out of range
    kinds = [kind for kind, method in _MSIX_KINDS if method in methods]
    statements: list[p.Statement] = [device]
    # Bus Master Enable gates MSI-X messages (PCIe; the model follows QEMU): most programs set
    # it first, as a guest driver does, so that interrupts are delivered at all.
    if "cfg_write" in methods and mostly(draw):
        statements.append(p.CfgWrite(device.name, _COMMAND_REG, 0x6, 2))
    for _ in operations(draw, max_ops if kinds else 0):
        statements.append(_msix_op(draw, device, pool, kinds))
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
            p.Query(device.name, "msix.last_addr", "msix_last_addr", vector, True),
            p.Query(device.name, "msix.last_data", "msix_last_data", vector, True),
        ]
    statements += [q for q in queries if q.method in methods]
    return p.Program("msix", tuple(statements))
