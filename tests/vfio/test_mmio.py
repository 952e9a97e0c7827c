"""Guest MMIO to a device's BARs (`harness/vfio/mmio.py` through `Device`): the access checks
in their order, decode gating by the Command register, the MSI-X table and PBA, plain memory,
and function-level reset (scenario language v2; PCI Local Bus 3.0 §6.2.2, §6.8.2)."""

from __future__ import annotations

import pytest
from vfio_errors import error_of

from harness.vfio.bars import BarKind, BarSpec
from harness.vfio.catalog import ErrorId
from harness.vfio.device import Device
from harness.vfio.mmio import BarAccess
from harness.vfio.msix import Message
from harness.vfio.pci import Bdf

MEMORY, IO, MASTER = 0x0002, 0x0001, 0x0004
MSI = 0xFEE0_0000


def nic(command: int = MEMORY | IO | MASTER) -> Device:
    """BAR0 mem64 64K (table at 0x2000, PBA at 0x3000), BAR2 mem32 4K, BAR4 io 32."""
    device = Device(Bdf(0, 3, 0, 0))
    device.add_bar(BarSpec(0, BarKind.MEM64, 0x10000))
    device.add_bar(BarSpec(2, BarKind.MEM32, 0x1000))
    device.add_bar(BarSpec(4, BarKind.IO, 32))
    device.add_msix(8, table=(0, 0x2000), pba=(0, 0x3000))
    device.cfg_write(0x04, command, 2)
    return device


# -- access checks, in the order no.bar, out.of.range, unaligned ----------------------------


@pytest.mark.parametrize("bar", [1, 3, 5, 6])
def test_mmio_fails_no_bar_for_an_absent_bar_or_the_upper_half_of_a_64bit_one(bar: int) -> None:
    device = nic()
    error = error_of(ErrorId.MMIO_NO_BAR, device.mmio_read, bar, 0)
    assert error.detail == BarAccess(bar, 0, 4)
    error_of(ErrorId.MMIO_NO_BAR, device.mmio_write, bar, 0, 0)
    if bar == 1:
        assert "upper half of 64-bit BAR 0" in error.message


@pytest.mark.parametrize(("offset", "size"), [(0x1000, 4), (0xFFC, 8), (0xFFF, 2), (-4, 4)])
def test_mmio_fails_out_of_range_past_the_bar(offset: int, size: int) -> None:
    error_of(ErrorId.MMIO_OUT_OF_RANGE, nic().mmio_read, 2, offset, size)


@pytest.mark.parametrize(("offset", "size"), [(0, 3), (0, 0), (0, 16), (2, 4), (4, 8), (1, 2)])
def test_mmio_fails_unaligned(offset: int, size: int) -> None:
    error_of(ErrorId.MMIO_UNALIGNED, nic().mmio_write, 2, offset, 0, size)


def test_mmio_checks_out_of_range_before_unaligned() -> None:
    error_of(ErrorId.MMIO_OUT_OF_RANGE, nic().mmio_read, 2, 0xFFF, 3)


def test_io_bars_take_no_8_byte_access() -> None:
    device = nic()
    error_of(ErrorId.MMIO_UNALIGNED, device.mmio_read, 4, 0, 8)
    assert device.mmio_read(4, 4, 4) == 0


@pytest.mark.parametrize(("offset", "size"), [(0x2000, 2), (0x2001, 1), (0x2006, 2), (0x3000, 1)])
def test_msix_table_and_pba_take_aligned_dword_or_qword_accesses_only(
    offset: int, size: int
) -> None:
    device = nic()
    error = error_of(ErrorId.MMIO_UNALIGNED, device.mmio_read, 0, offset, size)
    assert "MSI-X" in error.message


def test_access_errors_are_reported_whatever_the_command_register() -> None:
    device = nic(command=0)
    error_of(ErrorId.MMIO_NO_BAR, device.mmio_read, 1, 0)
    error_of(ErrorId.MMIO_OUT_OF_RANGE, device.mmio_read, 2, 0x1000)
    error_of(ErrorId.MMIO_UNALIGNED, device.mmio_read, 0, 0x2000, 2)


def test_mmio_write_fails_a_value_wider_than_its_size() -> None:
    with pytest.raises(ValueError):
        nic().mmio_write(2, 0, 0x100, 1)


# -- decode --------------------------------------------------------------------------------


def test_memory_bars_decode_only_with_memory_space() -> None:
    device = nic(command=IO)
    assert device.mmio_read(2, 0x10) == 0xFFFF_FFFF  # master abort: all ones
    assert device.mmio_read(2, 0x10, 1) == 0xFF
    assert device.mmio_read(0, 0x18, 8) == (1 << 64) - 1
    device.mmio_write(2, 0x10, 0x1234)  # dropped
    device.cfg_write(0x04, MEMORY, 2)
    assert device.mmio_read(2, 0x10) == 0


def test_io_bars_decode_only_with_io_space() -> None:
    device = nic(command=MEMORY)
    device.mmio_write(4, 0, 0xAB, 1)
    assert device.mmio_read(4, 0, 1) == 0xFF
    device.cfg_write(0x04, IO, 2)
    assert device.mmio_read(4, 0, 1) == 0


def test_table_writes_are_dropped_while_not_decoded() -> None:
    device = nic(command=0)
    device.mmio_write(0, 0x2000, MSI)
    assert device.msix is not None and device.msix.entry(0).addr == 0


# -- plain memory ---------------------------------------------------------------------------


def test_plain_memory_reads_what_was_written_little_endian() -> None:
    device = nic()
    assert device.mmio_read(2, 0x40, 8) == 0
    device.mmio_write(2, 0x40, 0x1122_3344_5566_7788, 8)
    assert device.mmio_read(2, 0x40) == 0x5566_7788
    assert device.mmio_read(2, 0x44) == 0x1122_3344
    assert device.mmio_read(2, 0x41, 1) == 0x77
    assert device.mmio_read(2, 0x42, 2) == 0x5566
    device.mmio_write(2, 0x43, 0xEE, 1)
    assert device.mmio_read(2, 0x40, 8) == 0x1122_3344_EE66_7788


def test_plain_memory_is_per_bar_and_per_device() -> None:
    a, b = nic(), nic()
    a.mmio_write(2, 0, 0xAAAA)
    a.mmio_write(0, 0, 0xBBBB)
    assert a.mmio_read(2, 0) == 0xAAAA and a.mmio_read(0, 0) == 0xBBBB
    assert b.mmio_read(2, 0) == 0


def test_memory_next_to_the_msix_structures_is_plain_memory() -> None:
    device = nic()
    device.mmio_write(0, 0x2000 - 4, 0x5A, 4)  # just before the table
    device.mmio_write(0, 0x2080, 0x5B, 4)  # just after the table (8 entries x 16 bytes)
    device.mmio_write(0, 0x3008, 0x5C, 1)  # just after the PBA (one qword)
    assert [device.mmio_read(0, o, 1) for o in (0x1FFC, 0x2080, 0x3008)] == [0x5A, 0x5B, 0x5C]


# -- the MSI-X table and PBA ----------------------------------------------------------------


def test_table_writes_program_and_unmask_as_the_msix_statements_do() -> None:
    device = nic()
    msix = device.msix
    assert msix is not None
    device.mmio_write(0, 0x2000 + 3 * 16, MSI | 0x1000)
    device.mmio_write(0, 0x2000 + 3 * 16 + 8, 0x4041)
    msix.set_enable(True)
    device.irq(3)
    assert msix.pending(3)
    assert device.mmio_write(0, 0x2000 + 3 * 16 + 12, 0) == (Message(3, MSI | 0x1000, 0x4041),)
    assert device.mmio_read(0, 0x2000 + 3 * 16 + 12) == 0
    assert device.mmio_read(0, 0x2000 + 3 * 16, 8) == MSI | 0x1000


def test_table_unmask_of_an_unconfigured_entry_fails_and_is_dropped() -> None:
    device = nic()
    error_of(ErrorId.MSIX_UNMASK_UNCONFIGURED, device.mmio_write, 0, 0x2000 + 12, 0)
    assert device.mmio_read(0, 0x2000 + 12) == 1


def test_pba_reads_the_pending_bits_and_ignores_writes() -> None:
    device = nic()
    assert device.msix is not None
    device.irq(5)  # masked: pending
    assert device.mmio_read(0, 0x3000) == 1 << 5
    device.mmio_write(0, 0x3000, 0)
    assert device.mmio_read(0, 0x3000, 8) == 1 << 5 and device.msix.pending(5)


# -- reset ----------------------------------------------------------------------------------


def test_reset_zeroes_the_device_registers_and_the_table() -> None:
    device = nic()
    device.mmio_write(2, 0x40, 0xFFFF)
    device.mmio_write(0, 0x2000, MSI)
    device.reset()
    assert device.command == 0
    assert device.mmio_read(2, 0x40) == 0xFFFF_FFFF  # Memory Space is off after reset
    device.cfg_write(0x04, MEMORY, 2)
    assert device.mmio_read(2, 0x40) == 0
    assert device.mmio_read(0, 0x2000) == 0 and device.mmio_read(0, 0x2000 + 12) == 1
