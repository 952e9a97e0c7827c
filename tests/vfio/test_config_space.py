"""The guest's config space (`harness/vfio/config_space.py`): masks, BAR sizing and
relocation, shadowing, the MSI-X capability, and access checks. Register facts follow the PCI
Local Bus spec 3.0 (§6.2.5 BARs, §6.8.2 MSI-X) and Linux `include/uapi/linux/pci_regs.h`."""

from __future__ import annotations

import pytest
from vfio_errors import error_of

from harness.vfio.bars import BarKind, BarSpec, RomSpec
from harness.vfio.catalog import ErrorId
from harness.vfio.config_space import (
    MSIX_CAP_OFFSET,
    PCI_CACHE_LINE_SIZE,
    PCI_CAPABILITY_LIST,
    PCI_INTERRUPT_LINE,
    PCI_STATUS,
    Access,
    BarRelocated,
    ConfigSpace,
    VectorDelivered,
    check_access,
)
from harness.vfio.device import Device
from harness.vfio.msix import Message
from harness.vfio.pci import Bdf, Region
from harness.vfio.vmm import Vmm

MB = 1 << 20
MSG_CTRL = MSIX_CAP_OFFSET + 2


def gpu(vmm: Vmm | None = None) -> Device:
    """The scenario-language example device (of `vmm`, when given)."""
    device = Device(Bdf(0, 1, 0, 0)) if vmm is None else vmm.new_device(Bdf(0, 1, 0, 0))
    device.add_bar(BarSpec(0, BarKind.MEM64, 256 * MB, prefetch=True))
    device.add_bar(BarSpec(2, BarKind.MEM32, 16 * MB))
    device.add_bar(BarSpec(4, BarKind.IO, 256))
    device.add_rom(RomSpec(512 << 10))
    device.add_msix(64, table=(2, 0x0), pba=(2, 0x1000))
    return device


def allocated(vmm: Vmm | None = None) -> Device:
    vmm = Vmm() if vmm is None else vmm
    device = gpu(vmm)
    vmm.alloc(device)
    return device


# -- access checks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "size"), [(0x10, 3), (0x10, 8), (0x13, 2), (0x12, 4), (0x11, 4), (0, 0)]
)
def test_cfg_access_fails_unaligned(offset: int, size: int) -> None:
    error = error_of(ErrorId.CONFIG_UNALIGNED, ConfigSpace().read, offset, size)
    assert error.detail == Access(offset, size)


@pytest.mark.parametrize("offset", [0x01, 0x05, 0x11, 0x3D])
def test_cfg_word_access_at_an_odd_offset_inside_a_dword_is_legal(offset: int) -> None:
    # PCIe config requests carry byte enables for any bytes of one dword; vfio-pci's
    # vfio_config_do_rw splits such an access into byte accesses.
    space = ConfigSpace(vendor_id=0xABCD, device_id=0x1234)
    dword = space.read(offset & ~3)
    shift = 8 * (offset % 4)
    assert space.read(offset, 2) == dword >> shift & 0xFFFF


def test_cfg_word_write_at_an_odd_offset_goes_through_the_masks() -> None:
    space = ConfigSpace()
    space.write(0x05, 0xFFFF, 2)  # Command high byte and Status low byte
    assert space.read(0x04, 2) == 0x0500  # SERR# (bit 8) and INTx Disable (bit 10) only
    assert space.read(0x06, 2) == 0


@pytest.mark.parametrize(("offset", "size"), [(0x1000, 4), (0x1000, 1), (0xFFFC + 4, 4)])
def test_cfg_access_fails_out_of_range(offset: int, size: int) -> None:
    error_of(ErrorId.CONFIG_OUT_OF_RANGE, ConfigSpace().read, offset, size)
    error_of(ErrorId.CONFIG_OUT_OF_RANGE, ConfigSpace().write, offset, 0, size)


def test_cfg_access_checks_alignment_before_range() -> None:
    error_of(ErrorId.CONFIG_UNALIGNED, check_access, 0x1003, 2)
    error_of(ErrorId.CONFIG_UNALIGNED, check_access, 0x1000, 3)
    error_of(ErrorId.CONFIG_OUT_OF_RANGE, check_access, 0x1001, 2)


def test_cfg_last_dword_is_accessible() -> None:
    assert ConfigSpace().read(0xFFC, 4) == 0
    assert ConfigSpace().read(0xFFF, 1) == 0


def test_cfg_write_fails_value_wider_than_size() -> None:
    with pytest.raises(ValueError):
        ConfigSpace().write(0x04, 0x10000, 2)


# -- plain registers -------------------------------------------------------------------------


def test_unimplemented_registers_read_zero_and_ignore_writes() -> None:
    space = ConfigSpace()
    space.write(0x80, 0xFFFFFFFF)
    space.write(0x3D, 0xFF, 1)  # Interrupt Pin: read-only, 0 for a function without INTx
    space.write(0x0D, 0xFF, 1)  # Latency Timer: read-only 0 on PCIe
    assert space.read(0x80) == 0 and space.read(0x3D, 1) == 0 and space.read(0x0D, 1) == 0


@pytest.mark.parametrize("offset", [PCI_CACHE_LINE_SIZE, PCI_INTERRUPT_LINE])
def test_cache_line_size_and_interrupt_line_are_read_write(offset: int) -> None:
    # QEMU pci_init_wmask: wmask[PCI_CACHE_LINE_SIZE] = wmask[PCI_INTERRUPT_LINE] = 0xff.
    space = ConfigSpace()
    space.write(offset, 0x5A, 1)
    assert space.read(offset, 1) == 0x5A
    space.write(offset & ~3, 0xFFFFFFFF)
    assert space.read(offset, 1) == 0xFF


def test_read_only_ids_ignore_writes() -> None:
    space = ConfigSpace(vendor_id=0x10DE, device_id=0x1234)
    space.write(0x00, 0xFFFFFFFF)
    assert space.read(0x00) == 0x1234_10DE


def test_command_register_keeps_only_writable_bits() -> None:
    # QEMU pci_init_wmask: I/O, Memory, Bus Master, SERR# Enable, INTx Disable.
    space = ConfigSpace()
    space.write(0x04, 0xFFFF, 2)
    assert space.read(0x04, 2) == 0x0507 == space.command
    space.write(0x04, 0x0002, 2)
    assert space.command == 0x0002


def test_byte_and_word_reads_compose_the_dword() -> None:
    space = ConfigSpace(vendor_id=0xABCD, device_id=0x1234)
    assert space.read(0x00, 2) == 0xABCD
    assert space.read(0x02, 2) == 0x1234
    assert [space.read(i, 1) for i in range(4)] == [0xCD, 0xAB, 0x34, 0x12]


def test_reads_are_idempotent() -> None:
    device = allocated()
    first = [device.cfg_read(offset) for offset in range(0, 0x100, 4)]
    assert [device.cfg_read(offset) for offset in range(0, 0x100, 4)] == first


# -- BARs -----------------------------------------------------------------------------------


def test_bar_registers_hold_guest_addresses_and_type_bits() -> None:
    device = allocated()
    assert device.cfg_read(0x10) == (device.bar_gpa(0) & 0xFFFFFFFF) | 0xC
    assert device.cfg_read(0x14) == device.bar_gpa(0) >> 32
    assert device.cfg_read(0x18) == device.bar_gpa(2)
    assert device.cfg_read(0x20) == device.bar_gpa(4) | 0x1


def test_bar_sizing_returns_mask_and_type_bits_until_the_next_write() -> None:
    device = allocated()
    original = device.cfg_read(0x18)
    assert device.cfg_write(0x18, 0xFFFFFFFF) == ()
    assert device.cfg_read(0x18) == 0xFF000000
    assert device.cfg_read(0x18) == 0xFF000000
    assert device.cfg_write(0x18, original) == ()  # restoring is not a move
    assert device.cfg_read(0x18) == original


def test_bar_sizing_of_a_64bit_prefetchable_bar() -> None:
    # vfio-semantics.md's example with this device's 256M BAR: 0xf000000c / 0xffffffff.
    device = allocated()
    device.cfg_write(0x10, 0xFFFFFFFF)
    device.cfg_write(0x14, 0xFFFFFFFF)
    assert device.cfg_read(0x10) == 0xF000000C
    assert device.cfg_read(0x14) == 0xFFFFFFFF


def test_bar_sizing_of_io_bar_and_rom() -> None:
    device = allocated()
    device.cfg_write(0x20, 0xFFFFFFFF)
    assert device.cfg_read(0x20) == 0xFFFFFF01
    device.cfg_write(0x30, 0xFFFFF800)
    assert device.cfg_read(0x30) == 0xFFF80000


def test_bar_sizing_does_not_move_the_bar() -> None:
    device = allocated()
    gpa = device.bar_gpa(0)
    device.cfg_write(0x10, 0xFFFFFFFF)
    device.cfg_write(0x14, 0xFFFFFFFF)
    assert device.bar_gpa(0) == gpa


def test_32bit_bar_relocates_on_its_write() -> None:
    device = allocated()
    old = device.bar_gpa(2)
    events = device.cfg_write(0x18, 0xD0000000)
    assert events == (BarRelocated(Region.BAR2, old, 0xD0000000),)
    assert device.bar_gpa(2) == 0xD0000000


def test_64bit_bar_moves_on_the_high_dword_write() -> None:
    device = allocated()
    old = device.bar_gpa(0)
    assert device.cfg_write(0x10, 0x20000000) == ()  # low dword latched
    assert device.bar_gpa(0) == old
    events = device.cfg_write(0x14, 0x200)
    assert events == (BarRelocated(Region.BAR0, old, 0x200_2000_0000),)
    assert device.bar_gpa(0) == 0x200_2000_0000
    assert device.cfg_read(0x10) == 0x2000000C and device.cfg_read(0x14) == 0x200


def test_bar_write_drops_bits_below_its_size() -> None:
    device = allocated()
    device.cfg_write(0x18, 0xD0123456)
    assert device.bar_gpa(2) == 0xD0000000
    assert device.cfg_read(0x18) == 0xD0000000


def test_rom_relocates_and_keeps_the_enable_bit() -> None:
    device = allocated()
    old = device.rom_gpa
    events = device.cfg_write(0x30, 0xE0000001)
    assert events == (BarRelocated(Region.ROM, old, 0xE0000000),)
    assert device.cfg_read(0x30) == 0xE0000001
    assert device.config.rom_enabled


def test_rom_register_is_at_0x30_and_0x28_is_unimplemented() -> None:
    device = allocated()
    assert device.cfg_read(0x30) == device.rom_gpa
    device.cfg_write(0x28, 0xFFFFFFFF)
    assert device.cfg_read(0x28) == 0


def test_unimplemented_bar_registers_read_zero_and_ignore_writes() -> None:
    device = allocated()  # slots 3 and 5 are empty; 1 is BAR0's high dword
    for offset in (0x1C, 0x24):
        assert device.cfg_write(offset, 0xFFFFFFFF) == ()
        assert device.cfg_read(offset) == 0


def test_byte_writes_to_a_bar_go_through_the_mask() -> None:
    device = allocated()
    device.cfg_write(0x18 + 3, 0xD1, 1)
    assert device.cfg_read(0x18) == 0xD1000000
    assert device.bar_gpa(2) == 0xD1000000


def test_guest_reads_never_expose_host_bar_addresses() -> None:
    vmm = Vmm()
    devices = [allocated(vmm), allocated(vmm)]
    hosts = {
        d.host_address(region)
        for d in devices
        for region in (Region.BAR0, Region.BAR2, Region.BAR4, Region.ROM)
    }
    assert len(hosts) == 8  # distinct per device and per BAR
    for device in devices:
        seen = set()
        for offset in range(0x10, 0x34, 4):
            seen.add(device.cfg_read(offset) & ~0xF)
        # the 64-bit BAR as a whole
        seen.add(device.cfg_read(0x10) & ~0xF | device.cfg_read(0x14) << 32)
        for host in hosts:
            assert host not in seen
            assert host & 0xFFFFFFFF not in seen and host >> 32 not in seen


# -- MSI-X capability ------------------------------------------------------------------------


def test_capability_list_reaches_msix() -> None:
    device = gpu()
    assert device.cfg_read(PCI_STATUS, 2) & 0x10
    assert device.cfg_read(PCI_CAPABILITY_LIST, 1) == MSIX_CAP_OFFSET
    assert device.cfg_read(MSIX_CAP_OFFSET, 1) == 0x11
    assert device.cfg_read(MSIX_CAP_OFFSET + 1, 1) == 0  # last capability


def test_no_capability_list_without_msix() -> None:
    device = Device(Bdf(0, 1, 0, 0))
    assert device.cfg_read(PCI_STATUS, 2) & 0x10 == 0
    assert device.cfg_read(PCI_CAPABILITY_LIST, 1) == 0


def test_msix_table_and_pba_registers_hold_bir_and_offset() -> None:
    device = gpu()
    assert device.cfg_read(MSIX_CAP_OFFSET + 4) == 0x0 | 2
    assert device.cfg_read(MSIX_CAP_OFFSET + 8) == 0x1000 | 2
    device.cfg_write(MSIX_CAP_OFFSET + 4, 0xFFFFFFFF)
    assert device.cfg_read(MSIX_CAP_OFFSET + 4) == 2  # read-only


def test_message_control_table_size_is_read_only() -> None:
    device = gpu()
    assert device.cfg_read(MSG_CTRL, 2) == 63
    device.cfg_write(MSG_CTRL, 0x07FF, 2)
    assert device.cfg_read(MSG_CTRL, 2) == 63


def test_message_control_writes_drive_enable_and_function_mask() -> None:
    device = gpu()
    msix = device.msix
    assert msix is not None
    device.cfg_write(MSG_CTRL, 0x8000, 2)
    assert msix.enabled and not msix.function_masked
    device.cfg_write(MSG_CTRL, 0xC000, 2)
    assert msix.enabled and msix.function_masked
    assert device.cfg_read(MSG_CTRL, 2) == 0xC000 | 63
    device.cfg_write(MSG_CTRL + 1, 0x00, 1)
    assert not msix.enabled and not msix.function_masked


def test_message_control_reads_follow_direct_msix_changes() -> None:
    device = gpu()
    assert device.msix is not None
    device.msix.set_enable(True)
    assert device.cfg_read(MSG_CTRL, 2) == 0x8000 | 63
    assert device.cfg_read(MSIX_CAP_OFFSET) == (0x8000 | 63) << 16 | 0x11


def test_message_control_write_returns_released_messages() -> None:
    device = gpu()
    msix = device.msix
    assert msix is not None
    device.cfg_write(0x04, 0x0006, 2)  # Memory Space and Bus Master, as a driver sets them
    msix.program(3, 0xFEE00000, 0x41)
    msix.unmask(3)
    msix.raise_irq(3)
    events = device.cfg_write(MSG_CTRL, 0x8000, 2)
    assert events == (VectorDelivered(Message(3, 0xFEE00000, 0x41)),)
    assert msix.delivered(3) == 1


def test_msix_capability_stays_stable_across_bar_writes() -> None:
    device = allocated()
    before = [device.cfg_read(MSIX_CAP_OFFSET + i) for i in range(0, 12, 4)]
    device.cfg_write(0x18, 0xFFFFFFFF)
    device.cfg_write(0x10, 0x0)
    assert [device.cfg_read(MSIX_CAP_OFFSET + i) for i in range(0, 12, 4)] == before


def test_command_bus_master_drives_msix() -> None:
    device = gpu()
    assert device.msix is not None and not device.msix.bus_master
    device.cfg_write(0x04, 0x0004, 2)
    assert device.msix.bus_master
    device.cfg_write(0x04, 0x0000)
    assert not device.msix.bus_master


# -- reset ------------------------------------------------------------------------------------


def test_reset_returns_every_register_to_its_power_on_value() -> None:
    fresh = gpu()
    power_on = [fresh.cfg_read(offset) for offset in range(0, 0x100, 4)]
    device = allocated()
    device.cfg_write(0x04, 0x0507, 2)
    device.cfg_write(PCI_CACHE_LINE_SIZE, 0x10, 1)
    device.cfg_write(PCI_INTERRUPT_LINE, 0x0B, 1)
    device.cfg_write(0x18, 0xFFFFFFFF)  # sizing in progress
    device.cfg_write(0x30, 0xE0000001)
    device.cfg_write(MSG_CTRL, 0xC000, 2)
    device.reset()
    assert [device.cfg_read(offset) for offset in range(0, 0x100, 4)] == power_on
    assert device.bar_gpa(0) == device.bar_gpa(2) == device.rom_gpa == 0
    assert not device.config.rom_enabled


def test_reset_config_keeps_the_declared_registers_working() -> None:
    device = allocated()
    device.reset()
    device.cfg_write(0x18, 0xFFFFFFFF)
    assert device.cfg_read(0x18) == 0xFF000000  # still sizes as the 16M BAR it is
    assert device.cfg_write(0x18, 0xD0000000) == (BarRelocated(Region.BAR2, 0, 0xD0000000),)
