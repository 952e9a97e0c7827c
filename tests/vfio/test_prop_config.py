"""Properties of the guest's config space (`harness/vfio/config_space.py` through `Device`).

Expectations are written from the PCI spec: a little-endian 4 KiB space, BAR registers that
read their guest address plus type bits, a sizing read whose lowest set address bit is the size
(Linux `pci_size`), a capability list walked from 0x34, MSI-X Message Control with only bits
14-15 writable, and unimplemented registers that read 0.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from vfio_errors import error_of

from harness.vfio.bars import BarKind, BarSpec, RomSpec
from harness.vfio.catalog import ErrorId
from harness.vfio.config_space import BarRelocated
from harness.vfio.device import Device
from harness.vfio.pci import Bdf, Region
from harness.vfio.vmm import Vmm

DW = 0xFFFF_FFFF
BAR_SIZES = {
    BarKind.MEM32: tuple(1 << b for b in range(4, 29, 3)),
    BarKind.MEM64: tuple(1 << b for b in range(4, 37, 4)),
    BarKind.IO: tuple(1 << b for b in range(2, 9)),
}
ROM_SIZES = tuple(1 << b for b in range(11, 21, 3))
Layout = dict[str, Any]
BAR0 = (None, *((k, s) for k in (BarKind.MEM64, BarKind.MEM32, BarKind.IO) for s in BAR_SIZES[k]))
BAR4 = (None, *((k, s) for k in (BarKind.MEM64, BarKind.IO) for s in BAR_SIZES[k]))
# Every device also has BAR 2, mem32 64K, holding the MSI-X table (at 0) and PBA (at 0x8000).
layouts = st.builds(
    lambda bar0, bar4, rom, vectors: {"bar0": bar0, "bar4": bar4, "rom": rom, "vectors": vectors},
    st.sampled_from(BAR0),
    st.sampled_from(BAR4),
    st.sampled_from((None, *ROM_SIZES)),
    st.integers(min_value=1, max_value=2048),
)
MSIX_BAR, TABLE_OFFSET, PBA_OFFSET = 2, 0x0, 0x8000


def _build(layout: Layout, alloc: bool = True) -> Device:
    device = Device(Bdf(0, 3, 0, 0))
    for index in (0, 4):
        if layout[f"bar{index}"] is not None:
            kind, size = layout[f"bar{index}"]
            device.add_bar(BarSpec(index, kind, size, prefetch=kind is BarKind.MEM64))
    device.add_bar(BarSpec(MSIX_BAR, BarKind.MEM32, 0x10000))
    if layout["rom"] is not None:
        device.add_rom(RomSpec(layout["rom"]))
    device.add_msix(layout["vectors"], (MSIX_BAR, TABLE_OFFSET), (MSIX_BAR, PBA_OFFSET))
    if alloc:
        Vmm().alloc(device)
    return device


def _bar_value(device: Device, index: int) -> int:
    """A BAR register (pair for 64-bit) as the guest reads it."""
    low = device.cfg_read(0x10 + 4 * index)
    if device.bars[index].kind is BarKind.MEM64:
        return low | device.cfg_read(0x14 + 4 * index) << 32
    return low


def _address_bits(kind: BarKind, value: int) -> int:
    return value & ~(0x3 if kind is BarKind.IO else 0xF)


def _lowest_bit(value: int) -> int:
    return value & -value


def _find_msix_cap(device: Device) -> int | None:
    """Walk the capability list from 0x34 (status bit 4 says it exists)."""
    if not device.cfg_read(0x06, 2) & 0x10:
        return None
    pointer, seen = device.cfg_read(0x34, 1) & ~3, set()
    while pointer and pointer not in seen:
        seen.add(pointer)
        if device.cfg_read(pointer, 1) == 0x11:
            return pointer
        pointer = device.cfg_read(pointer + 1, 1) & ~3
    return None


@given(layouts, st.booleans())
def test_prop_config_shadow_isolation(layout: Layout, alloc: bool) -> None:
    """BAR and ROM registers read guest addresses (0 before alloc), never the host's."""
    device = _build(layout, alloc)
    for index, spec in device.bars.items():
        guest = _address_bits(spec.kind, _bar_value(device, index))
        assert guest == device.bar_gpa(index) == (guest if alloc else 0)
        assert guest != device.host_address(Region(index))
    if device.rom is not None:
        rom = device.cfg_read(0x30) & 0xFFFF_F800
        assert rom == device.rom_gpa == (rom if alloc else 0)
        assert rom != device.host_address(Region.ROM)


@given(layouts, st.lists(st.tuples(st.integers(0, 11), st.integers(0, DW)), max_size=6))
def test_prop_config_msix_stable(layout: Layout, writes: list[tuple[int, int]]) -> None:
    """The MSI-X capability is found by walking the list and its fields survive guest writes."""
    device = _build(layout)
    cap = _find_msix_cap(device)
    assert cap is not None
    for where, value in writes:
        size = 4 if where % 4 == 0 else (2 if where % 2 == 0 else 1)
        device.cfg_write(cap + where, value & ((1 << 8 * size) - 1), size)
        assert _find_msix_cap(device) == cap
        control = device.cfg_read(cap + 2, 2)
        assert control & 0x7FF == layout["vectors"] - 1 and control & 0x3800 == 0
        assert device.cfg_read(cap + 4) == TABLE_OFFSET | MSIX_BAR
        assert device.cfg_read(cap + 8) == PBA_OFFSET | MSIX_BAR


@given(
    layouts,
    st.lists(
        st.sampled_from([(o, s) for s in (1, 2, 4) for o in range(0, 0x50, s)] + [(0xFFC, 4)]),
        max_size=12,
    ),
)
def test_prop_config_read_idempotent(layout: Layout, reads: list[tuple[int, int]]) -> None:
    """Reads have no side effects: each equals the bytes of a snapshot, which stays unchanged."""
    device = _build(layout)
    snapshot = b"".join(device.cfg_read(o).to_bytes(4, "little") for o in range(0, 0x50, 4))
    for offset, size in reads:
        expected = int.from_bytes(snapshot[offset : offset + size], "little")
        assert device.cfg_read(offset, size) == (expected if offset < 0x50 else 0)
    after = b"".join(device.cfg_read(o).to_bytes(4, "little") for o in range(0, 0x50, 4))
    assert after == snapshot


@given(
    st.integers(min_value=0, max_value=4),
    st.sampled_from(BAR_SIZES[BarKind.MEM64]),
    st.integers(min_value=0, max_value=2**64 - 1),
)
def test_prop_config_64bit_bar_consistent(index: int, size: int, address: int) -> None:
    """A 64-bit BAR moves on its high-dword write; both halves then read the new address."""
    device = Device(Bdf(0, 4, 0, 0))
    device.add_bar(BarSpec(index, BarKind.MEM64, size, prefetch=True))
    Vmm().alloc(device)
    old = device.bar_gpa(index)
    new = address & ~(size - 1) & ~0xF
    assert device.cfg_write(0x10 + 4 * index, address & DW) == ()
    assert device.bar_gpa(index) == old  # the low dword is latched
    events = device.cfg_write(0x14 + 4 * index, address >> 32)
    if address >> 32 == DW:
        return  # an all-ones high dword is a sizing write (the BAR does not move)
    assert device.bar_gpa(index) == new
    assert events == ((BarRelocated(Region(index), old, new),) if new != old else ())
    assert device.cfg_read(0x10 + 4 * index) == (new & DW) | 0xC
    assert device.cfg_read(0x14 + 4 * index) == new >> 32


@given(
    st.sampled_from([(k, s) for k, sizes in BAR_SIZES.items() for s in sizes]),
    st.integers(min_value=0, max_value=4),
)
def test_prop_config_bar_sizing_protocol(choice: tuple[BarKind, int], index: int) -> None:
    """All ones reads back the size mask + type bits; the BAR stays put; restoring is silent."""
    kind, size = choice
    device = Device(Bdf(0, 5, 0, 0))
    device.add_bar(BarSpec(index, kind, size))
    Vmm().alloc(device)
    gpa, original = device.bar_gpa(index), _bar_value(device, index)
    registers = [0x10 + 4 * index] + ([0x14 + 4 * index] if kind is BarKind.MEM64 else [])
    for register in registers:
        assert device.cfg_write(register, DW) == ()
    sized = _bar_value(device, index)
    assert _lowest_bit(_address_bits(kind, sized)) == size
    assert sized & (0x3 if kind is BarKind.IO else 0xF) == original & (
        0x3 if kind is BarKind.IO else 0xF
    )
    assert device.bar_gpa(index) == gpa
    for i, register in enumerate(registers):
        assert device.cfg_write(register, original >> (32 * i) & DW) == ()
    assert _bar_value(device, index) == original and device.bar_gpa(index) == gpa


@given(
    layouts,
    st.sampled_from([o for o in range(0x100, 0x1000, 4)] + [0x28, 0x2C, 0x38, 0x3C - 4]),
    st.integers(min_value=0, max_value=DW),
)
def test_prop_config_unimplemented_registers(layout: Layout, offset: int, value: int) -> None:
    """Extended config space and unimplemented header registers read 0 and ignore writes."""
    device = _build(layout)
    before = device.cfg_read(offset)
    assert device.cfg_write(offset, value) == ()
    assert device.cfg_read(offset) == before
    if offset >= 0x100 or offset in (0x28, 0x2C, 0x38):
        assert before == 0


@given(
    st.integers(min_value=-8, max_value=4200),
    st.sampled_from([0, 1, 2, 3, 4, 5, 8]),
)
def test_prop_config_access_fails_bad_size_or_alignment(offset: int, size: int) -> None:
    """Sizes 1/2/4 that stay inside one dword of the 4096 bytes work; others fail by reason,
    unaligned first (a property of the access alone, checked before its address)."""
    device = _build({"bar0": None, "bar4": None, "rom": None, "vectors": 1}, alloc=False)
    unaligned = size not in (1, 2, 4) or offset % 4 + size > 4
    outside = offset < 0 or offset + size > 4096
    if not unaligned and not outside:
        device.cfg_read(offset, size)
        device.cfg_write(offset, 0, size)
        return
    expected = ErrorId.CONFIG_UNALIGNED if unaligned else ErrorId.CONFIG_OUT_OF_RANGE
    error_of(expected, device.cfg_read, offset, size)
    error_of(expected, device.cfg_write, offset, 0, size)


@given(layouts, st.integers(0, 0xFF), st.sampled_from([1, 2]), st.integers(0, 0xFFFF))
def test_prop_config_sub_dword_access(layout: Layout, at: int, size: int, value: int) -> None:
    """An access inside one dword, at any byte offset, reads and writes exactly its bytes: a
    read is the dword's bytes at that offset, a write equals byte writes of its bytes."""
    device = _build(layout)
    offset = 4 * (at // 4) + (at % (5 - size))  # every start that keeps the access in its dword
    value &= (1 << (8 * size)) - 1
    dword = device.cfg_read(offset & ~3)
    assert device.cfg_read(offset, size) == dword >> (8 * (offset % 4)) & ((1 << (8 * size)) - 1)
    twin = _build(layout)
    device.cfg_write(offset, value, size)
    for i in range(size):
        twin.cfg_write(offset + i, value >> (8 * i) & 0xFF, 1)
    assert device.cfg_read(offset & ~3) == twin.cfg_read(offset & ~3)


@given(layouts, st.integers(min_value=0, max_value=0xFFFF), st.booleans())
def test_prop_config_msix_control_writable_bits(layout: Layout, value: int, bytewise: bool) -> None:
    """Message Control: only Enable (15) and Function Mask (14) take a write; N-1 stays."""
    device = _build(layout)
    cap = _find_msix_cap(device)
    assert cap is not None
    if bytewise:
        device.cfg_write(cap + 3, value >> 8, 1)
        value &= 0xFF00
    else:
        device.cfg_write(cap + 2, value, 2)
    assert device.cfg_read(cap + 2, 2) == (value & 0xC000) | (layout["vectors"] - 1)
    msix = device.msix
    assert msix is not None
    assert (msix.enabled, msix.function_masked) == (bool(value & 0x8000), bool(value & 0x4000))


@given(st.sampled_from(ROM_SIZES), st.integers(min_value=0, max_value=DW))
def test_prop_config_rom_register(size: int, value: int) -> None:
    """The ROM lives at 0x30 (not 0x28): sizing reads its mask, a write moves it, bit 0 enables."""
    device = Device(Bdf(0, 6, 0, 0))
    device.add_rom(RomSpec(size))
    device.cfg_write(0x30, 0xFFFF_F800)
    assert _lowest_bit(device.cfg_read(0x30) & 0xFFFF_F800) == size
    assert device.rom_gpa == 0
    device.cfg_write(0x28, value)  # the CardBus CIS pointer: not the ROM
    assert device.rom_gpa == 0 and device.cfg_read(0x28) == 0
    events = device.cfg_write(0x30, value)
    if value & 0xFFFF_F800 == 0xFFFF_F800:
        assert events == () and device.rom_gpa == 0  # a sizing write
        return
    new = value & 0xFFFF_F800 & ~(size - 1)
    assert device.rom_gpa == new
    assert events == ((BarRelocated(Region.ROM, 0, new),) if new else ())
    assert device.cfg_read(0x30) == new | (value & 1)


@given(
    st.sampled_from([(k, s) for k in (BarKind.MEM32, BarKind.IO) for s in BAR_SIZES[k]]),
    st.integers(min_value=0, max_value=5),
    st.integers(min_value=0, max_value=DW),
)
def test_prop_config_bar32_relocation_events(
    choice: tuple[BarKind, int], index: int, value: int
) -> None:
    """A 32-bit or io BAR moves on its register write and reports old and new addresses."""
    kind, size = choice
    device = Device(Bdf(0, 7, 0, 0))
    device.add_bar(BarSpec(index, kind, size))
    Vmm().alloc(device)
    old = device.bar_gpa(index)
    low_bits = 0x3 if kind is BarKind.IO else 0xF
    events = device.cfg_write(0x10 + 4 * index, value)
    if value | low_bits == DW:
        assert events == () and device.bar_gpa(index) == old  # a sizing write
        return
    new = value & ~low_bits & ~(size - 1)
    assert device.bar_gpa(index) == new
    assert events == ((BarRelocated(Region(index), old, new),) if new != old else ())
    assert device.cfg_read(0x10 + 4 * index) == new | (1 if kind is BarKind.IO else 0)


@given(layouts, st.lists(st.tuples(st.integers(0, 0x3F), st.integers(0, DW)), max_size=8))
def test_prop_config_read_only_registers_hold(
    layout: Layout, writes: list[tuple[int, int]]
) -> None:
    """IDs, class, header type and the capability pointer ignore every guest write."""
    device = _build(layout)
    read_only = [(0x00, 4), (0x08, 4), (0x0E, 1), (0x34, 1)]
    before = [device.cfg_read(o, s) for o, s in read_only]
    for dword, value in writes:
        device.cfg_write(dword * 4, value)
    assert [device.cfg_read(o, s) for o, s in read_only] == before
    assert device.cfg_read(0x34, 1) != 0 and device.cfg_read(0x0E, 1) & 0x7F == 0
