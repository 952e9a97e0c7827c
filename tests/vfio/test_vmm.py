"""Attach and allocation across devices (`harness/vfio/vmm.py`)."""

from __future__ import annotations

import pytest

from harness.vfio.address import Hva, Iova, Range
from harness.vfio.bars import BarKind, BarSpec, RomSpec, Window, WindowKind
from harness.vfio.catalog import ErrorId, VfioError
from harness.vfio.device import Device
from harness.vfio.dma import X86_MSI_RESERVED, Conflict, Container
from harness.vfio.pci import Bdf
from harness.vfio.vmm import Vmm

MB = 1 << 20


def gpu(function: int = 0) -> Device:
    d = Device(Bdf(0, 1, 0, function))
    d.add_bar(BarSpec(0, BarKind.MEM64, 256 * MB, prefetch=True))
    d.add_bar(BarSpec(2, BarKind.MEM32, 16 * MB))
    d.add_bar(BarSpec(4, BarKind.IO, 256))
    d.add_rom(RomSpec(512 << 10))
    return d


def test_attach_reserves_the_groups_msi_window() -> None:
    vmm, container = Vmm(), Container(reserved=())
    vmm.attach(gpu(), container)
    assert container.reserved == X86_MSI_RESERVED
    with pytest.raises(VfioError) as caught:
        container.map(Iova(0xFEE00000), Hva(0), 0x1000)
    assert caught.value.kind is ErrorId.DMA_MAP_OUT_OF_RANGE


def test_attach_fails_already_attached() -> None:
    vmm, device = Vmm(), gpu()
    first = Container()
    vmm.attach(device, first)
    with pytest.raises(VfioError) as caught:
        vmm.attach(device, Container())
    assert caught.value.kind is ErrorId.DEVICE_ATTACH_ALREADY_ATTACHED
    assert vmm.container_of(device) is first


def test_attach_fails_conflict_and_leaves_device_unattached() -> None:
    # Kernel: vfio_iommu_type1_attach_group fails when an existing dma lies in a new
    # reserved region (vfio_iommu_resv_conflict).
    vmm, device, container = Vmm(), gpu(), Container(reserved=())
    container.map(Iova(0xFEE00000), Hva(0), 0x1000)
    with pytest.raises(VfioError) as caught:
        vmm.attach(device, container)
    assert caught.value.kind is ErrorId.DEVICE_ATTACH_CONFLICT
    assert caught.value.detail == Conflict(X86_MSI_RESERVED[0], Range(0xFEE00000, 0xFEE00FFF))
    assert vmm.container_of(device) is None and container.reserved == ()


def test_two_devices_share_one_container() -> None:
    vmm, container = Vmm(), Container()
    vmm.attach(gpu(0), container)
    vmm.attach(gpu(1), container)
    assert container.reserved == X86_MSI_RESERVED


def test_alloc_sets_guest_addresses_in_the_default_windows() -> None:
    vmm, device = Vmm(), gpu()
    vmm.alloc(device)
    assert device.bar_gpa(0) == 0x100_0000_0000
    assert device.bar_gpa(2) == 0xC0000000
    assert device.rom_gpa == 0xC1000000
    assert device.bar_gpa(4) == 0x1000


def test_alloc_of_a_second_device_continues_after_the_first() -> None:
    vmm, a, b = Vmm(), gpu(0), gpu(1)
    vmm.alloc(a)
    vmm.alloc(b)
    assert b.bar_gpa(0) == a.bar_gpa(0) + 256 * MB
    assert b.bar_gpa(2) == 0xC2000000  # 16M-aligned after a's ROM ended at 0xc1080000
    assert b.bar_gpa(4) == 0x1100


def test_alloc_fails_window_exhausted_and_places_nothing() -> None:
    vmm = Vmm({WindowKind.MMIO32: Window(0xC0000000, 16 * MB)})
    device = gpu()
    with pytest.raises(VfioError) as caught:
        vmm.alloc(device)
    assert caught.value.kind is ErrorId.BAR_ALLOC_WINDOW_EXHAUSTED
    assert device.bar_gpa(0) == 0 and device.bar_gpa(2) == 0 and device.rom_gpa == 0
    assert vmm.windows.cursor(WindowKind.MMIO64) == 0x100_0000_0000


def test_set_window_changes_where_alloc_places() -> None:
    vmm, device = Vmm(), gpu()
    vmm.set_window(WindowKind.IO, Window(0x2000, 0x1000))
    vmm.alloc(device)
    assert device.bar_gpa(4) == 0x2000
