"""BAR declarations, register encoding and window allocation (`harness/vfio/bars.py`)."""

from __future__ import annotations

import pytest
from vfio_errors import error_of

from harness.vfio.address import Range
from harness.vfio.bars import (
    DEFAULT_WINDOWS,
    WINDOW_END,
    BarKind,
    BarSpec,
    Declared,
    Exhausted,
    Member,
    RomSpec,
    Window,
    WindowKind,
    Windows,
    members_of,
    window_error,
)
from harness.vfio.catalog import ErrorId
from harness.vfio.pci import Region

MB = 1 << 20


# -- declarations ---------------------------------------------------------------------------


@pytest.mark.parametrize("index", [-1, 6, 7])
def test_bar_fails_index(index: int) -> None:
    error = error_of(ErrorId.DEVICE_INVALID_BAR_INDEX, BarSpec, index, BarKind.MEM32, 16)
    assert error.detail == Declared(index, 16)


def test_bar_fails_index_for_64bit_at_5() -> None:
    # A 64-bit BAR needs slots n and n+1 (PCI spec 6.2.5.1), so 5 cannot hold one.
    error_of(ErrorId.DEVICE_INVALID_BAR_INDEX, BarSpec, 5, BarKind.MEM64, 16)
    assert BarSpec(4, BarKind.MEM64, 16).slots == (4, 5)


@pytest.mark.parametrize(
    ("kind", "size"),
    [
        (BarKind.MEM32, 24),  # not a power of two
        (BarKind.MEM32, 8),  # below the memory minimum of 16
        (BarKind.MEM64, 0),
        (BarKind.IO, 2),  # below the I/O minimum of 4
        (BarKind.IO, 512),  # I/O BARs are at most 256 bytes
        (BarKind.MEM32, 1 << 32),  # a 32-bit BAR cannot decode 4 GiB
    ],
)
def test_bar_fails_size(kind: BarKind, size: int) -> None:
    error = error_of(ErrorId.DEVICE_INVALID_BAR_SIZE, BarSpec, 0, kind, size)
    assert hex(size) in error.message


def test_bar_size_limits_are_inclusive() -> None:
    assert BarSpec(0, BarKind.MEM32, 16).size == 16
    assert BarSpec(0, BarKind.IO, 4).size == 4
    assert BarSpec(0, BarKind.IO, 256).size == 256
    assert BarSpec(0, BarKind.MEM64, 1 << 40).size == 1 << 40


def test_bar_fails_prefetch_on_io() -> None:
    # PCI spec: an I/O BAR has no prefetchable bit (bit 1 reserved, bits 31:2 address).
    error_of(ErrorId.DEVICE_INVALID_BAR_PREFETCH, BarSpec, 4, BarKind.IO, 256, True)


def test_bar_check_order_index_before_size() -> None:
    error_of(ErrorId.DEVICE_INVALID_BAR_INDEX, BarSpec, 9, BarKind.MEM32, 3)


@pytest.mark.parametrize("size", [1024, 3000, 1 << 32])
def test_rom_fails_size(size: int) -> None:
    error_of(ErrorId.DEVICE_INVALID_BAR_SIZE, RomSpec, size)


def test_rom_minimum_is_2k() -> None:
    assert RomSpec(2048).size == 2048


# -- encoding -------------------------------------------------------------------------------


def test_type_bits_follow_pci_regs() -> None:
    assert BarSpec(0, BarKind.MEM32, 16).type_bits == 0x0
    assert BarSpec(0, BarKind.MEM32, 16, prefetch=True).type_bits == 0x8
    assert BarSpec(0, BarKind.MEM64, 16).type_bits == 0x4
    assert BarSpec(0, BarKind.MEM64, 16, prefetch=True).type_bits == 0xC
    assert BarSpec(0, BarKind.IO, 16).type_bits == 0x1


def test_sizing_value_of_a_64bit_prefetchable_16m_bar() -> None:
    # vfio-semantics.md: low dword 0xff00000c, high dword 0xffffffff.
    value = BarSpec(0, BarKind.MEM64, 16 * MB, prefetch=True).sizing_value()
    assert value & 0xFFFF_FFFF == 0xFF00000C
    assert value >> 32 == 0xFFFFFFFF


def test_sizing_value_of_a_large_64bit_bar_puts_the_mask_in_the_high_dword() -> None:
    value = BarSpec(0, BarKind.MEM64, 16 << 30).sizing_value()
    assert value & 0xFFFF_FFFF == 0x4
    assert value >> 32 == 0xFFFFFFFC


def test_sizing_values_of_32bit_io_and_rom() -> None:
    assert BarSpec(2, BarKind.MEM32, 16 * MB).sizing_value() == 0xFF000000
    assert BarSpec(4, BarKind.IO, 256).sizing_value() == 0xFFFFFF01
    assert RomSpec(512 << 10).address_mask == 0xFFF80000


def test_register_masks_low_bits_of_the_address() -> None:
    spec = BarSpec(0, BarKind.MEM32, 16)
    assert spec.register(0x12345678) == 0x12345670
    assert RomSpec(2048).register(0xC0000800, enabled=True) == 0xC0000801


# -- windows --------------------------------------------------------------------------------


def test_default_windows_match_the_scenario_language() -> None:
    assert DEFAULT_WINDOWS[WindowKind.MMIO32] == Window(0xC0000000, 640 * MB)
    assert DEFAULT_WINDOWS[WindowKind.MMIO64] == Window(0x100_0000_0000, 1 << 40)
    assert DEFAULT_WINDOWS[WindowKind.IO] == Window(0x1000, 60 << 10)


def test_window_fails_bad_values() -> None:
    with pytest.raises(ValueError):
        Window(0x1000, 0)
    with pytest.raises(ValueError):
        Window(2**64 - 1, 2)


def test_windows_fail_32bit_window_above_4g() -> None:
    error = error_of(
        ErrorId.SCENARIO_VALUE_RANGE, Windows, {WindowKind.MMIO32: Window(0xF000_0000, 1 << 29)}
    )
    assert "mmio32" in error.message


@pytest.mark.parametrize(
    ("kind", "base", "size", "error"),
    [
        (WindowKind.IO, 0x1000, 0xF000, None),  # ends exactly at 0x10000
        (WindowKind.IO, 0x1000, 0xF001, ErrorId.SCENARIO_VALUE_RANGE),
        (WindowKind.IO, 0x10000, 0x1000, ErrorId.SCENARIO_VALUE_RANGE),
        (WindowKind.MMIO32, 0xC000_0000, 1 << 30, None),
        (WindowKind.MMIO32, 0xC000_0000, (1 << 30) + 1, ErrorId.SCENARIO_VALUE_RANGE),
        (WindowKind.MMIO64, 2**64 - 0x1000, 0x1000, None),
        (WindowKind.MMIO64, 0, 0, ErrorId.SCENARIO_BAD_OPTION),
    ],
)
def test_window_rule_bounds_each_window_by_what_its_bars_can_address(
    kind: WindowKind, base: int, size: int, error: ErrorId | None
) -> None:
    found = window_error(kind, base, size)
    assert (found and found.kind) is error
    assert base + size <= WINDOW_END[kind] or error is not None


def gpu_members() -> tuple[Member, ...]:
    return members_of(
        [
            BarSpec(0, BarKind.MEM64, 256 * MB, prefetch=True),
            BarSpec(2, BarKind.MEM32, 16 * MB),
            BarSpec(3, BarKind.MEM32, 32 * MB),
            BarSpec(4, BarKind.IO, 256),
        ],
        RomSpec(512 << 10),
    )


def test_alloc_places_each_member_in_its_window() -> None:
    placements = {p.region: p for p in Windows().allocate(gpu_members())}
    assert placements[Region.BAR0].window is WindowKind.MMIO64
    assert placements[Region.BAR0].address == 0x100_0000_0000
    assert placements[Region.BAR4].window is WindowKind.IO
    assert placements[Region.BAR4].address == 0x1000
    assert placements[Region.ROM].window is WindowKind.MMIO32


def test_alloc_decreasing_size_packs_without_gaps() -> None:
    placements = {p.region: p.address for p in Windows().allocate(gpu_members())}
    assert placements[Region.BAR3] == 0xC0000000  # 32M first
    assert placements[Region.BAR2] == 0xC2000000  # then 16M
    assert placements[Region.ROM] == 0xC3000000  # then the 512K ROM


def test_alloc_ties_break_by_index() -> None:
    members = members_of([BarSpec(3, BarKind.MEM32, MB), BarSpec(1, BarKind.MEM32, MB)], None)
    placements = Windows().allocate(members)
    assert [(p.region, p.address) for p in placements] == [
        (Region.BAR1, 0xC0000000),
        (Region.BAR3, 0xC0100000),
    ]


def test_alloc_is_naturally_aligned_across_devices() -> None:
    windows = Windows()
    windows.allocate([Member(Region.BAR0, WindowKind.MMIO32, 16)])
    (second,) = windows.allocate([Member(Region.BAR0, WindowKind.MMIO32, MB)])
    assert second.address == 0xC0100000  # the lowest MB-aligned address past the first BAR
    assert windows.cursor(WindowKind.MMIO32) == 0xC0200000


def test_alloc_addresses_increase_in_allocation_order() -> None:
    windows = Windows()
    first = windows.allocate([Member(Region.BAR0, WindowKind.MMIO32, 16 * MB)])
    second = windows.allocate([Member(Region.BAR0, WindowKind.MMIO32, 16)])
    assert second[0].address > first[0].range.last


def test_alloc_again_places_afresh_after_the_current_end() -> None:
    windows = Windows()
    members = [Member(Region.BAR0, WindowKind.MMIO32, MB)]
    (first,) = windows.allocate(members)
    (again,) = windows.allocate(members)
    assert again.address == first.range.end


def test_alloc_fails_window_exhausted_and_changes_nothing() -> None:
    windows = Windows({WindowKind.MMIO32: Window(0xC0000000, 2 * MB)})
    windows.allocate([Member(Region.BAR0, WindowKind.MMIO32, MB)])
    members = [
        Member(Region.BAR1, WindowKind.MMIO64, MB),
        Member(Region.BAR2, WindowKind.MMIO32, MB),
        Member(Region.BAR3, WindowKind.MMIO32, MB),
    ]
    error = error_of(ErrorId.BAR_ALLOC_WINDOW_EXHAUSTED, windows.allocate, members)
    window = Range(0xC0000000, 0xC01FFFFF)
    assert error.detail == Exhausted(Region.BAR3, MB, WindowKind.MMIO32, window, 0xC0200000)
    assert windows.cursor(WindowKind.MMIO32) == 0xC0100000
    assert windows.cursor(WindowKind.MMIO64) == 0x100_0000_0000  # the BAR that fitted is undone


def test_alloc_fails_window_exhausted_by_alignment() -> None:
    windows = Windows({WindowKind.MMIO32: Window(0xC0001000, 2 * MB)})
    # 2M fits by size, but the first 2M-aligned address is 0xc0200000, past the end.
    error_of(
        ErrorId.BAR_ALLOC_WINDOW_EXHAUSTED,
        windows.allocate,
        [Member(Region.BAR0, WindowKind.MMIO32, 2 * MB)],
    )


def test_replacing_a_window_keeps_placements_from_overlapping() -> None:
    windows = Windows()
    windows.allocate([Member(Region.BAR0, WindowKind.MMIO32, MB)])
    windows.set(WindowKind.MMIO32, Window(0xC0000000, 4 * MB))
    assert windows.cursor(WindowKind.MMIO32) == 0xC0100000
    windows.set(WindowKind.MMIO32, Window(0xD0000000, 4 * MB))
    assert windows.cursor(WindowKind.MMIO32) == 0xD0000000
    assert windows.placed(WindowKind.MMIO32) == (Range(0xC0000000, 0xC00FFFFF),)
