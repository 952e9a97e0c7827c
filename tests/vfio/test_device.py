"""Building a device member by member (`harness/vfio/device.py`)."""

from __future__ import annotations

import pytest
from vfio_errors import error_of

from harness.vfio.bars import BarKind, BarSpec, RomSpec
from harness.vfio.catalog import ErrorId
from harness.vfio.device import Device, HostSpace, SlotTaken
from harness.vfio.mmio import MsixLocation
from harness.vfio.pci import Bdf, Region

MB = 1 << 20


@pytest.fixture
def device() -> Device:
    d = Device(Bdf(0, 1, 0, 0))
    d.add_bar(BarSpec(0, BarKind.MEM64, 256 * MB, prefetch=True))
    d.add_bar(BarSpec(2, BarKind.MEM32, 16 * MB))
    d.add_bar(BarSpec(4, BarKind.IO, 256))
    return d


def test_device_reports_bar_sizes_and_zero_when_absent(device: Device) -> None:
    assert [device.bar_size(i) for i in range(6)] == [256 * MB, 0, 16 * MB, 0, 256, 0]
    assert device.bar_gpa(0) == 0 and device.rom_size == 0 and device.rom_gpa == 0


def test_add_bar_fails_slot_taken(device: Device) -> None:
    error = error_of(ErrorId.DEVICE_INVALID_BAR_SLOT, device.add_bar, BarSpec(2, BarKind.IO, 4))
    assert error.detail == SlotTaken(2, 2, 2)


def test_add_bar_fails_slot_taken_by_the_high_half_of_a_64bit_bar(device: Device) -> None:
    error = error_of(ErrorId.DEVICE_INVALID_BAR_SLOT, device.add_bar, BarSpec(1, BarKind.MEM32, 16))
    assert error.detail == SlotTaken(1, 1, 0)


def test_add_bar_fails_64bit_bar_whose_high_slot_is_taken(device: Device) -> None:
    error = error_of(ErrorId.DEVICE_INVALID_BAR_SLOT, device.add_bar, BarSpec(3, BarKind.MEM64, 16))
    assert error.detail == SlotTaken(3, 4, 4)
    assert device.bar_size(3) == 0  # nothing added


def test_add_rom_fails_second_rom(device: Device) -> None:
    device.add_rom(RomSpec(2048))
    error_of(ErrorId.DEVICE_INVALID_BAR_SLOT, device.add_rom, RomSpec(4096))
    assert device.rom_size == 2048


def test_add_msix_sets_up_state(device: Device) -> None:
    msix = device.add_msix(64, table=(2, 0), pba=(2, 0x1000))
    assert device.msix is msix and msix.vectors == 64
    assert device.msix_location == MsixLocation(2, 0, 2, 0x1000)


def test_add_msix_fails_duplicate(device: Device) -> None:
    device.add_msix(1, table=(2, 0), pba=(2, 0x1000))
    error_of(ErrorId.DEVICE_INVALID_MSIX_DUPLICATE, device.add_msix, 1, (2, 0), (2, 0x1000))


def test_add_msix_fails_vectors(device: Device) -> None:
    error_of(ErrorId.DEVICE_INVALID_MSIX_VECTORS, device.add_msix, 0, (2, 0), (2, 0x1000))
    assert device.msix is None


@pytest.mark.parametrize(
    ("table", "pba", "reason"),
    [
        ((3, 0), (2, 0x1000), "does not have"),  # absent BAR
        ((1, 0), (2, 0x1000), "does not have"),  # BAR0's high slot is not a BAR
        ((2, 0), (4, 0), "io BAR"),
        ((2, 4), (2, 0x1000), "8-byte aligned"),
        ((2, 0), (2, 0x1004), "8-byte aligned"),
        ((2, 16 * MB - 0x100), (2, 0), "outside"),  # 64 entries = 0x400 bytes
        ((2, 0), (2, 16 * MB), "outside"),
        ((2, 0), (2, 0x3F8), "overlap"),
    ],
)
def test_add_msix_fails_location(
    device: Device, table: tuple[int, int], pba: tuple[int, int], reason: str
) -> None:
    error = error_of(ErrorId.DEVICE_INVALID_MSIX_LOCATION, device.add_msix, 64, table, pba)
    assert reason in error.message
    assert device.msix is None


def test_add_msix_table_and_pba_may_touch(device: Device) -> None:
    device.add_msix(64, table=(2, 0), pba=(2, 0x400))  # table is exactly 0x400 bytes


def test_add_msix_table_and_pba_in_different_bars_never_overlap(device: Device) -> None:
    device.add_msix(64, table=(0, 0), pba=(2, 0))


def test_msix_operations_fail_unsupported_without_msix(device: Device) -> None:
    error_of(ErrorId.MSIX_UNSUPPORTED, device.require_msix)
    error_of(ErrorId.MSIX_UNSUPPORTED, device.irq, 0)


def test_irq_reaches_msix_once_bus_master_is_enabled(device: Device) -> None:
    msix = device.add_msix(4, table=(2, 0), pba=(2, 0x1000))
    device.irq(1)
    assert not msix.pending(1)  # Bus Master Enable is clear at power-on: nothing happens
    device.cfg_write(0x04, 0x0004, 2)
    device.irq(1)
    assert msix.pending(1)


def test_members_list_bars_and_rom(device: Device) -> None:
    device.add_rom(RomSpec(4096))
    assert [m.region for m in device.members()] == [
        Region.BAR0,
        Region.BAR2,
        Region.BAR4,
        Region.ROM,
    ]


def test_device_without_bdf_is_usable() -> None:
    # The backend declares a device even when its BDF is bad.
    d = Device(None)
    d.add_bar(BarSpec(0, BarKind.MEM32, 16))
    assert d.bar_size(0) == 16


def test_host_addresses_are_distinct_and_naturally_aligned() -> None:
    sizes = {0: 16, 1: 1 << 31, 2: 1 << 34, 4: 1 << 40}
    host = HostSpace()
    devices = [Device(Bdf(0, 1, 0, f), host=host) for f in range(2)]
    for d in devices:
        for index, size in sizes.items():
            d.add_bar(BarSpec(index, BarKind.MEM32 if size <= 1 << 31 else BarKind.MEM64, size))
        d.add_rom(RomSpec(2048))
    hosts = [
        (d.host_address(Region(i)), size)
        for d in devices
        for i, size in [*sizes.items(), (6, 2048)]
    ]
    assert len({address for address, _ in hosts}) == len(hosts)
    assert all(address % size == 0 for address, size in hosts)
