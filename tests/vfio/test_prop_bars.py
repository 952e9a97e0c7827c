"""Properties of BARs (`harness/vfio/bars.py`, placement through `Vmm.alloc`).

Expectations come from the PCI spec's register layout, Linux's `pci_size()` way of decoding
a sizing read (lowest set address bit), and a bump allocator written out here from the text
of the language reference, docs/language.md (decreasing size, ties by index, lowest naturally
aligned address at or above the end of what the window already holds).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.vfio.bars import BarKind, BarSpec, RomSpec, Window, WindowKind
from harness.vfio.catalog import ErrorId, VfioError
from harness.vfio.device import Device
from harness.vfio.pci import Bdf
from harness.vfio.vmm import Vmm

WINDOWS = {  # the defaults of the language reference (docs/language.md)
    WindowKind.MMIO32: (0xC000_0000, 640 << 20),
    WindowKind.MMIO64: (0x100_0000_0000, 1 << 40),
    WindowKind.IO: (0x1000, 60 << 10),
}
WINDOW_OF = {
    BarKind.MEM32: WindowKind.MMIO32,
    BarKind.MEM64: WindowKind.MMIO64,
    BarKind.IO: WindowKind.IO,
}
SIZE_RANGE = {BarKind.MEM32: (4, 28), BarKind.MEM64: (4, 36), BarKind.IO: (2, 8)}
# (kind, size, prefetch) choices, precomputed so a draw is one cheap sampled_from.
CHOICES = tuple(
    (kind, 1 << bits, prefetch)
    for kind, (low, high) in SIZE_RANGE.items()
    for bits in range(low, high + 1)
    for prefetch in ((False,) if kind is BarKind.IO else (False, True))
)
ROM_SIZES = tuple(1 << bits for bits in range(11, 25))
Layout = list[tuple[BarKind, int, bool]]
Devices = list[tuple[Layout, int | None]]
layouts = st.lists(st.sampled_from(CHOICES), max_size=5)
roms = st.sampled_from((None, *ROM_SIZES))


def _specs(layout: Layout) -> list[BarSpec]:
    """Give each BAR the next free slot(s), dropping those that no longer fit in slots 0-5."""
    specs, slot = [], 0
    for kind, size, prefetch in layout:
        width = 2 if kind is BarKind.MEM64 else 1
        if slot + width > 6:
            continue
        specs.append(BarSpec(slot, kind, size, prefetch))
        slot += width
    return specs


def _device(layout: Layout, rom: int | None, n: int = 0) -> Device:
    device = Device(Bdf(0, 1 + n, 0, 0))
    for spec in _specs(layout):
        device.add_bar(spec)
    if rom is not None:
        device.add_rom(RomSpec(rom))
    return device


def _members(device: Device) -> list[tuple[WindowKind, int, int]]:
    """(window, size, region) of what alloc places, read from the device's own queries."""
    members = [(WINDOW_OF[spec.kind], spec.size, i) for i, spec in device.bars.items()]
    if device.rom_size:
        members.append((WindowKind.MMIO32, device.rom_size, 6))
    return members


def _gpa(device: Device, region: int) -> int:
    return device.rom_gpa if region == 6 else device.bar_gpa(region)


def _bump(
    cursors: dict[WindowKind, int], members: Sequence[tuple[WindowKind, int, int]]
) -> dict[int, int] | None:
    """The oracle: addresses by region, or None when something does not fit (all or nothing)."""
    trial, placed = dict(cursors), {}
    for window, size, region in sorted(members, key=lambda m: (-m[1], m[2])):
        base, length = WINDOWS[window]
        address = -(-trial[window] // size) * size
        if address + size > base + length:
            return None
        placed[region] = address
        trial[window] = address + size
    cursors.update(trial)
    return placed


def _lowest_bit(value: int) -> int:
    return value & -value


@given(st.lists(st.tuples(layouts, roms), min_size=1, max_size=3))
def test_prop_bar_natural_alignment(devices: Devices) -> None:
    """Every placed BAR and ROM sits at a multiple of its size, inside its own window."""
    vmm = Vmm()
    for n, (layout, rom) in enumerate(devices):
        device = _device(layout, rom, n)
        try:
            vmm.alloc(device)
        except VfioError as error:
            assert error.kind is ErrorId.BAR_ALLOC_WINDOW_EXHAUSTED
            continue
        for window, size, region in _members(device):
            gpa = _gpa(device, region)
            base, length = WINDOWS[window]
            assert gpa % size == 0 and base <= gpa and gpa + size <= base + length


@given(st.lists(st.tuples(layouts, roms), min_size=1, max_size=3))
def test_prop_bar_no_overlap(devices: Devices) -> None:
    """No two placed members, of one device or of different devices, share a byte."""
    vmm, spans = Vmm(), []
    for n, (layout, rom) in enumerate(devices):
        device = _device(layout, rom, n)
        try:
            vmm.alloc(device)
        except VfioError:
            continue
        spans += [(_gpa(device, r), _gpa(device, r) + s - 1) for _, s, r in _members(device)]
    spans.sort()
    for (_, last), (first, _) in itertools.pairwise(spans):
        assert last < first


@given(st.lists(st.tuples(layouts, roms), min_size=2, max_size=3))
def test_prop_bar_monotonic(devices: Devices) -> None:
    """In each window, addresses increase in allocation order, across devices."""
    vmm = Vmm()
    order: dict[WindowKind, list[int]] = {kind: [] for kind in WindowKind}
    for n, (layout, rom) in enumerate(devices):
        device = _device(layout, rom, n)
        try:
            placements = vmm.alloc(device)
        except VfioError:
            continue
        for placement in placements:
            order[placement.window].append(placement.address)
        # Within the device, larger members come first (ties by region index).
        sizes = [(-p.range.size, int(p.region)) for p in placements]
        assert sizes == sorted(sizes)
    for addresses in order.values():
        assert addresses == sorted(addresses) and len(set(addresses)) == len(addresses)


@given(st.lists(st.tuples(layouts, roms), min_size=1, max_size=4))
def test_prop_bar_allocation_matches_bump_oracle(devices: Devices) -> None:
    """Each device lands exactly where the written-out bump allocator says, or fails whole."""
    vmm = Vmm()
    cursors = {kind: base for kind, (base, _) in WINDOWS.items()}
    for n, (layout, rom) in enumerate(devices):
        device = _device(layout, rom, n)
        expected = _bump(cursors, _members(device))
        if expected is None:
            with pytest.raises(VfioError) as caught:
                vmm.alloc(device)
            assert caught.value.kind is ErrorId.BAR_ALLOC_WINDOW_EXHAUSTED
            assert all(_gpa(device, r) == 0 for _, _, r in _members(device))
        else:
            vmm.alloc(device)
            assert {r: _gpa(device, r) for _, _, r in _members(device)} == expected


@given(layouts, roms)
def test_prop_bar_packed_without_gaps(layout: Layout, rom: int | None) -> None:
    """One device in fresh windows: descending sizes pack each window with no gap.

    Window bases are aligned to every member size here, so the device fits exactly when the
    sizes in each window add up to no more than its length.
    """
    device = _device(layout, rom)
    fits = all(
        sum(s for w, s, _ in _members(device) if w is window) <= length
        for window, (_, length) in WINDOWS.items()
    )
    if not fits:
        with pytest.raises(VfioError) as caught:
            Vmm().alloc(device)
        assert caught.value.kind is ErrorId.BAR_ALLOC_WINDOW_EXHAUSTED
        return
    Vmm().alloc(device)
    for window, (base, _) in WINDOWS.items():
        spans = sorted((_gpa(device, r), s) for w, s, r in _members(device) if w is window)
        end = base
        for gpa, size in spans:
            assert gpa == end
            end = gpa + size


@given(st.sampled_from(CHOICES))
def test_prop_bar_sizing_value_decodes_to_size(choice: tuple[BarKind, int, bool]) -> None:
    """Linux's `pci_size`: the lowest set address bit of the sizing read is the BAR's size."""
    kind, size, prefetch = choice
    spec = BarSpec(0, kind, size, prefetch)
    value = spec.sizing_value()
    if kind is BarKind.IO:
        address_bits = value & 0xFFFF_FFFC
    elif kind is BarKind.MEM32:
        address_bits = value & 0xFFFF_FFF0
    else:
        address_bits = value & 0xFFFF_FFFF_FFFF_FFF0
    assert _lowest_bit(address_bits) == size
    # Every address bit from the size upwards reads as one (within the register's width).
    width = 64 if kind is BarKind.MEM64 else 32
    assert address_bits | (size - 1) == (1 << width) - 1


@given(st.sampled_from(CHOICES), st.integers(min_value=0, max_value=2**64 - 1))
def test_prop_bar_register_masks_address(choice: tuple[BarKind, int, bool], address: int) -> None:
    """The register holds the address bits at or above the size, then the spec's type bits."""
    kind, size, prefetch = choice
    spec = BarSpec(0, kind, size, prefetch)
    width = 64 if kind is BarKind.MEM64 else 32
    aligned = address % (1 << width) // size * size
    value = spec.register(address)
    low_bits = 0x3 if kind is BarKind.IO else 0xF
    assert value & ~low_bits == aligned & ~low_bits
    assert value < 1 << width
    # Type bits: bit 0 I/O; memory bits 2:1 = 00 (32-bit) or 10 (64-bit), bit 3 prefetchable.
    if kind is BarKind.IO:
        assert value & 0x3 == 0b01
    else:
        assert value & 1 == 0 and bool(value & 0b1000) == prefetch
        assert (value >> 1) & 0b11 == (0b10 if kind is BarKind.MEM64 else 0b00)


@given(
    st.sampled_from(list(BarKind)),
    st.one_of(st.integers(min_value=-8, max_value=600), st.sampled_from([1 << 31, 3 << 20])),
)
def test_prop_bar_spec_fails_bad_size(kind: BarKind, size: int) -> None:
    """A size that is not a power of two, under the minimum, or io above 256 is bar.size."""
    power = size > 0 and size & (size - 1) == 0
    minimum = 4 if kind is BarKind.IO else 16
    valid = power and size >= minimum and (kind is not BarKind.IO or size <= 256)
    if valid:
        assert BarSpec(0, kind, size).size == size
    else:
        with pytest.raises(VfioError) as caught:
            BarSpec(0, kind, size)
        assert caught.value.kind is ErrorId.DEVICE_INVALID_BAR_SIZE


@given(st.sampled_from(list(BarKind)), st.integers(min_value=-4, max_value=12))
def test_prop_bar_spec_fails_bad_index(kind: BarKind, index: int) -> None:
    """BAR indices are 0-5; a 64-bit BAR needs two slots, so 5 cannot hold one."""
    top = 4 if kind is BarKind.MEM64 else 5
    if 0 <= index <= top:
        assert BarSpec(index, kind, 256).slots == (
            (index, index + 1) if kind is BarKind.MEM64 else (index,)
        )
    else:
        with pytest.raises(VfioError) as caught:
            BarSpec(index, kind, 256)
        assert caught.value.kind is ErrorId.DEVICE_INVALID_BAR_INDEX


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=5), st.sampled_from(list(BarKind))),
        max_size=8,
    )
)
def test_prop_bar_slot_conflicts(requests: list[tuple[int, BarKind]]) -> None:
    """A BAR whose slot (or slot n+1 for 64-bit) is taken is bar.slot and is not added."""
    device = Device(Bdf(0, 1, 0, 0))
    taken: dict[int, int] = {}  # slot -> owning index
    for index, kind in requests:
        if kind is BarKind.MEM64 and index == 5:
            continue  # an index error, tested elsewhere
        slots = [index, index + 1] if kind is BarKind.MEM64 else [index]
        if any(s in taken for s in slots):
            with pytest.raises(VfioError) as caught:
                device.add_bar(BarSpec(index, kind, 256))
            assert caught.value.kind is ErrorId.DEVICE_INVALID_BAR_SLOT
        else:
            device.add_bar(BarSpec(index, kind, 256))
            taken.update(dict.fromkeys(slots, index))
    assert sorted(device.bars) == sorted(set(taken.values()))
    for slot in range(6):
        owner = taken.get(slot)
        assert device.bar_size(slot) == (256 if owner == slot else 0)


@given(
    st.integers(min_value=-4, max_value=1 << 24),
    st.integers(min_value=0, max_value=2**32 - 1),
    st.booleans(),
)
def test_prop_rom_register_encoding(size: int, address: int, enabled: bool) -> None:
    """ROM: a power of two of at least 2 KiB; bit 0 enables; address bits from max(size, 2K)."""
    if not (size >= 2048 and size & (size - 1) == 0):
        with pytest.raises(VfioError) as caught:
            RomSpec(size)
        assert caught.value.kind is ErrorId.DEVICE_INVALID_BAR_SIZE
        return
    rom = RomSpec(size)
    value = rom.register(address, enabled)
    assert value & 1 == int(enabled)
    assert value & 0x7FE == 0
    assert value & ~0x7FF == address // size * size
    assert _lowest_bit(rom.address_mask) == size


@given(layouts, st.integers(min_value=0, max_value=8))
def test_prop_bar_window_exhausted_changes_nothing(layout: Layout, shift: int) -> None:
    """When a small window cannot take every member, nothing of the device is placed."""
    io_size = 4 << shift  # 4 B .. 1 KiB io window
    vmm = Vmm({WindowKind.IO: Window(0x1000, io_size)})
    device = _device(layout, None)
    io_sizes = sorted((s for w, s, _ in _members(device) if w is WindowKind.IO), reverse=True)
    # The io window's base is aligned to every io size, so io members fit iff their sizes do.
    others = [(w, s, r) for w, s, r in _members(device) if w is not WindowKind.IO]
    cursors = {kind: base for kind, (base, _) in WINDOWS.items()}
    fits = _bump(cursors, others) is not None and sum(io_sizes) <= io_size
    if fits:
        vmm.alloc(device)
        assert all(_gpa(device, r) for _, _, r in _members(device))
    else:
        with pytest.raises(VfioError) as caught:
            vmm.alloc(device)
        assert caught.value.kind is ErrorId.BAR_ALLOC_WINDOW_EXHAUSTED
        assert all(_gpa(device, r) == 0 for _, _, r in _members(device))
        assert vmm.windows.cursor(WindowKind.IO) == 0x1000


# mmio32 windows a scenario might switch to: 16 MiB-aligned bases in and around the default,
# and 32-bit BAR sizes large enough (1-256 MiB) for a new base to land inside an old BAR.
NEW_WINDOWS = tuple(
    (0xC000_0000 + start * (1 << 24), length * (1 << 24))
    for start in (-2, 0, 1, 3, 8, 17)
    for length in (2, 8, 32)
)
BIG_MEM32 = tuple(1 << bits for bits in range(20, 29))


big_bars = st.lists(st.sampled_from(BIG_MEM32), min_size=1, max_size=3).map(lambda b: ("alloc", b))
# The first device gets 32-256 MiB BARs, so a new base 16-128 MiB up often lands inside one.
first_bars = st.lists(st.sampled_from(BIG_MEM32[-4:]), min_size=1, max_size=2).map(
    lambda b: ("alloc", b)
)
window_steps = st.one_of(big_bars, st.sampled_from(NEW_WINDOWS))


# Always alloc, replace, alloc (then a few more steps), so the interesting order comes first.
@given(
    st.tuples(first_bars, st.sampled_from(NEW_WINDOWS), big_bars).map(list),
    st.lists(window_steps, max_size=3),
)
def test_prop_bar_window_replacement_never_overlaps(opening: list[Any], more: list[Any]) -> None:
    """Replacing a window between allocations never makes a new BAR overlap an old one."""
    vmm, window = Vmm(), WINDOWS[WindowKind.MMIO32]
    spans: list[tuple[int, int]] = []
    for n, step in enumerate(opening + more):
        if step[0] != "alloc":
            window = step
            vmm.set_window(WindowKind.MMIO32, Window(*step))
            continue
        device = _device([(BarKind.MEM32, size, False) for size in step[1]], None, n)
        try:
            vmm.alloc(device)
        except VfioError as error:
            assert error.kind is ErrorId.BAR_ALLOC_WINDOW_EXHAUSTED
            continue
        for _, size, region in _members(device):
            first = _gpa(device, region)
            assert window[0] <= first and first + size <= window[0] + window[1]
            clash = [
                (hex(f), hex(last)) for f, last in spans if f <= first + size - 1 and first <= last
            ]
            assert not clash, f"[{first:#x}, {first + size - 1:#x}] overlaps {clash}"
            spans.append((first, first + size - 1))
