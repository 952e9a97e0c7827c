"""Boundary properties: the smallest and largest legal values of every field, and one past.

Each test sweeps a small neighbourhood of a boundary (so Hypothesis usually exhausts it) and
states on which side of the boundary each value must fall.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vfio_errors import error_of

from harness.vfio.address import U64_MAX, Gpa, Hva, Iova
from harness.vfio.bars import BarKind, BarSpec, RomSpec
from harness.vfio.catalog import ErrorId
from harness.vfio.config_space import ConfigSpace
from harness.vfio.device import Device
from harness.vfio.dma import Container
from harness.vfio.msix import Msix
from harness.vfio.pci import ROM_CONFIG_OFFSET, Bdf, Region, bar_config_offset, bar_index_at

PG = 4096


@given(st.integers(min_value=-2, max_value=3))
def test_edge_min_vectors(vector: int) -> None:
    """One vector is the minimum: vector 0 works end to end, any other is out of range."""
    error_of(ErrorId.DEVICE_INVALID_MSIX_VECTORS, lambda: Msix(0))
    msix = Msix(1)
    msix.set_bus_master(True)
    assert len(msix.pba) == 1
    if vector == 0:
        msix.program(0, 0xFEE0_0000, 0x31)
        msix.unmask(0)
        msix.set_enable(True)
        assert [(m.vector, m.data) for m in msix.raise_irq(0)] == [(0, 0x31)]
        assert msix.delivered(0) == 1 and msix.configured == msix.unmasked_count == 1
    else:
        error_of(ErrorId.MSIX_VECTOR_OUT_OF_RANGE, lambda: msix.program(vector, 0xFEE0_0000, 0))
        error_of(ErrorId.IRQ_VECTOR_OUT_OF_RANGE, lambda: msix.raise_irq(vector))


@given(st.integers(min_value=2040, max_value=2050))
def test_edge_max_vectors(vector: int) -> None:
    """2048 vectors is the maximum: table size field 0x7ff, 32 PBA qwords, vector 2047 = bit 63."""
    error_of(ErrorId.DEVICE_INVALID_MSIX_VECTORS, lambda: Msix(2049))
    device = Device(Bdf(0, 1, 0, 0))
    device.add_bar(BarSpec(0, BarKind.MEM64, 1 << 20))
    msix = device.add_msix(2048, (0, 0x0), (0, 0x8000))  # table: 32 KiB exactly
    device.cfg_write(0x04, 0x0006, 2)  # Memory Space and Bus Master
    cap = device.cfg_read(0x34, 1)  # the only capability: MSI-X
    assert device.cfg_read(cap, 1) == 0x11 and device.cfg_read(cap + 2, 2) & 0x7FF == 0x7FF
    assert len(msix.pba) == 32
    if vector < 2048:
        msix.raise_irq(vector)
        assert msix.pba[vector // 64] == 1 << (vector % 64)
        assert msix.pending(vector)
    else:
        error_of(ErrorId.IRQ_VECTOR_OUT_OF_RANGE, lambda: msix.raise_irq(vector))
        assert not any(msix.pba)


@given(st.integers(min_value=-2, max_value=9), st.sampled_from(list(BarKind)))
def test_edge_bar_boundaries(index: int, kind: BarKind) -> None:
    """BAR indices 0-5 are valid (0-4 for 64-bit); 6 and up are not BARs.

    Follows vfio-semantics.md (the kernel and PCI spec), not the seed's "0-6 valid": VFIO's
    region 6 is the expansion ROM, whose register is at 0x30, so it is declared with `rom`,
    never as BAR 6.
    """
    top = 4 if kind is BarKind.MEM64 else 5
    size = 16 if kind is not BarKind.IO else 4
    if 0 <= index <= top:
        spec = BarSpec(index, kind, size)
        assert bar_config_offset(index) == 0x10 + 4 * index <= 0x24
        assert bar_index_at(bar_config_offset(index)) == index == int(Region(index))
        assert spec.slots[-1] <= 5
    else:
        error_of(ErrorId.DEVICE_INVALID_BAR_INDEX, lambda: BarSpec(index, kind, size))
    assert Region(6) is Region.ROM and bar_index_at(ROM_CONFIG_OFFSET) is None
    assert bar_index_at(0x28) is None and ROM_CONFIG_OFFSET == 0x30


@given(st.sampled_from([PG, 0x10000, 0x200000]), st.integers(min_value=0, max_value=3))
def test_edge_last_page_of_iova_space(pg: int, extra: int) -> None:
    """The very last page maps; a range one page longer wraps and is overflow."""
    c = Container(pgsize=pg)
    top = U64_MAX + 1 - pg
    c.map(Iova(top), Hva(0), pg)
    assert c.find(Iova(U64_MAX)) is not None
    longer = (extra + 2) * pg  # ends one page past the top
    error_of(ErrorId.DMA_MAP_OVERFLOW, lambda: c.map(Iova(top - extra * pg), Hva(0), longer))
    error_of(ErrorId.DMA_UNMAP_OVERFLOW, lambda: c.unmap(Iova(top), 2 * pg))
    assert c.unmap(Iova(top), pg) == pg


@given(st.integers(min_value=-3, max_value=3), st.booleans())
def test_edge_msi_window_boundaries(step: int, at_end: bool) -> None:
    """Pages right outside 0xfee00000-0xfeefffff map on x86; pages touching it do not."""
    c = Container(pgsize=PG)
    iova = (0xFEF0_0000 if at_end else 0xFEE0_0000 - PG) + step * PG
    outside = iova + PG - 1 < 0xFEE0_0000 or iova > 0xFEEF_FFFF
    if outside:
        c.map(Iova(iova), Hva(0), PG)
        assert len(c) == 1
    else:
        error_of(ErrorId.DMA_MAP_OUT_OF_RANGE, lambda: c.map(Iova(iova), Hva(0), PG))


@given(st.integers(min_value=4088, max_value=4100), st.sampled_from([1, 2, 4]))
def test_edge_config_space_end(offset: int, size: int) -> None:
    """Config space is exactly 4096 bytes: the last access inside a dword fits, one past not."""
    config = ConfigSpace()
    if offset % 4 + size > 4:
        error_of(ErrorId.CONFIG_UNALIGNED, lambda: config.read(offset, size))
    elif offset + size <= 4096:
        assert config.read(offset, size) == 0
    else:
        error_of(ErrorId.CONFIG_OUT_OF_RANGE, lambda: config.read(offset, size))


@given(
    st.sampled_from([(BarKind.MEM32, 16), (BarKind.MEM64, 16), (BarKind.IO, 4), (BarKind.IO, 256)]),
    st.sampled_from([-1, 0, 1]),
)
def test_edge_bar_size_limits(limit: tuple[BarKind, int], side: int) -> None:
    """Minimums mem 16 B and io 4 B, io maximum 256 B: the limit is legal, beyond it is not."""
    kind, size = limit
    is_max = kind is BarKind.IO and size == 256
    candidate = size * 2 if side > 0 else (size // 2 if side < 0 else size)
    legal = side == 0 or (side < 0 and is_max) or (side > 0 and not is_max)
    if legal:
        assert BarSpec(0, kind, candidate).size == candidate
    else:
        error_of(ErrorId.DEVICE_INVALID_BAR_SIZE, lambda: BarSpec(0, kind, candidate))


@given(st.sampled_from([1024, 2048, 4096]))
def test_edge_rom_minimum(size: int) -> None:
    """A ROM is at least 2 KiB."""
    if size >= 2048:
        assert RomSpec(size).size == size
    else:
        error_of(ErrorId.DEVICE_INVALID_BAR_SIZE, lambda: RomSpec(size))


@given(st.sampled_from(["domain", "bus", "device", "function"]), st.booleans())
def test_edge_bdf_field_limits(field: str, past: bool) -> None:
    """ffff:ff:1f.7 is the largest BDF; one more in any field is invalid."""
    fields = {"domain": 0xFFFF, "bus": 0xFF, "device": 0x1F, "function": 0x7}
    fields[field] += int(past)
    text = "{domain:x}:{bus:x}:{device:x}.{function:x}".format(**fields)
    if past:
        error_of(ErrorId.DEVICE_INVALID_BDF, lambda: Bdf.parse(text))
    else:
        assert str(Bdf.parse(text)) == "ffff:ff:1f.7"


@given(st.integers(min_value=0, max_value=2), st.integers(min_value=1, max_value=4))
def test_edge_dma_limit_boundary(limit: int, attempts: int) -> None:
    """A container with limit L takes exactly L mappings; limit 0 takes none."""
    c = Container(pgsize=PG, limit=limit)
    for i in range(attempts):
        if i < limit:
            c.map(Iova(i * PG), Hva(0), PG)
        else:
            error_of(ErrorId.DMA_MAP_LIMIT_EXCEEDED, lambda i=i: c.map(Iova(i * PG), Hva(0), PG))
    assert len(c) == min(limit, attempts) and c.avail == limit - len(c)


@given(st.sampled_from([Gpa, Hva, Iova]), st.sampled_from([0, 1, U64_MAX - 1, U64_MAX]))
def test_edge_address_extremes(kind: type[Gpa], value: int) -> None:
    """At 0 and 2^64-1 one step further is an OverflowError, not a wrap."""
    address = kind(value)
    if value == U64_MAX:
        with pytest.raises(OverflowError):
            address + 1
        with pytest.raises(OverflowError):
            address.align_up(PG)
    else:
        assert (address + 1).value == value + 1
    if value == 0:
        with pytest.raises(OverflowError):
            address - 1
    else:
        assert (address - 1).value == value - 1
