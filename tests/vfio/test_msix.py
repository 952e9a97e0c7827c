"""MSI-X masking, pending bits and delivery (`harness/vfio/msix.py`), after the PCI spec
(3.0 §6.8.2) and vfio-semantics.md."""

from __future__ import annotations

import pytest
from vfio_errors import error_of

from harness.vfio.catalog import ErrorId
from harness.vfio.msix import (
    Entry,
    EntryAddress,
    Message,
    Msix,
    VectorOutOfRange,
    is_valid_msi_address,
    pba_qwords,
    pba_size,
    structure_access_error,
)

ADDR = 0xFEE00000
DATA = 0x4041


def mastering(vectors: int) -> Msix:
    """Fresh MSI-X of a function whose driver set Bus Master Enable."""
    msix = Msix(vectors)
    msix.set_bus_master(True)
    return msix


def live(vectors: int = 8) -> Msix:
    """Enabled MSI-X with every entry programmed (still masked), Bus Master Enable set."""
    msix = mastering(vectors)
    for v in range(vectors):
        msix.program(v, ADDR, DATA + v)
    msix.set_enable(True)
    return msix


@pytest.mark.parametrize("vectors", [0, 2049, -1])
def test_msix_fails_vectors(vectors: int) -> None:
    error_of(ErrorId.DEVICE_INVALID_MSIX_VECTORS, Msix, vectors)


@pytest.mark.parametrize("vectors", [1, 2048])
def test_msix_vector_count_limits_are_inclusive(vectors: int) -> None:
    assert Msix(vectors).vectors == vectors


def test_entries_reset_masked_and_empty() -> None:
    msix = Msix(4)
    assert all(msix.masked(v) for v in range(4))
    assert msix.entry(0).addr == 0 and msix.entry(0).data == 0
    assert msix.entry(0).vector_control == 1
    assert not msix.enabled and not msix.function_masked
    assert msix.configured == 0 and msix.unmasked_count == 0


def test_valid_msi_address_is_0xfeexxxxx_with_zero_high_dword() -> None:
    assert is_valid_msi_address(0xFEE00000)
    assert is_valid_msi_address(0xFEEFF00C)
    assert not is_valid_msi_address(0xFED00000)
    assert not is_valid_msi_address(0x1_FEE00000)
    assert not is_valid_msi_address(0)


def test_program_counts_configured_entries() -> None:
    msix = Msix(4)
    msix.program(0, ADDR, 1)
    msix.program(1, 0x1234, 1)
    assert msix.configured == 1
    msix.program(1, ADDR, 2)
    assert msix.configured == 2
    msix.program(0, 0, 0)
    assert msix.configured == 1


@pytest.mark.parametrize("vector", [-1, 4])
def test_program_fails_vector_out_of_range(vector: int) -> None:
    msix = Msix(4)
    error = error_of(ErrorId.MSIX_VECTOR_OUT_OF_RANGE, msix.program, vector, ADDR, 0)
    assert error.detail == VectorOutOfRange(vector, 4)


def test_mask_and_unmask_fail_vector_out_of_range() -> None:
    msix = Msix(4)
    error_of(ErrorId.MSIX_VECTOR_OUT_OF_RANGE, msix.mask, 4)
    error_of(ErrorId.MSIX_VECTOR_OUT_OF_RANGE, msix.unmask, 4)
    error_of(ErrorId.MSIX_VECTOR_OUT_OF_RANGE, msix.pending, 4)
    error_of(ErrorId.MSIX_VECTOR_OUT_OF_RANGE, msix.delivered, 4)
    error_of(ErrorId.MSIX_VECTOR_OUT_OF_RANGE, msix.masked, 4)


def test_irq_fails_vector_out_of_range() -> None:
    error_of(ErrorId.IRQ_VECTOR_OUT_OF_RANGE, Msix(4).raise_irq, 4)


def test_unmask_fails_unconfigured() -> None:
    msix = Msix(4)
    msix.program(0, 0xFED00000, 0)
    error = error_of(ErrorId.MSIX_UNMASK_UNCONFIGURED, msix.unmask, 0)
    assert "0xfed00000" in error.message
    assert msix.masked(0)


def test_unmask_fails_unconfigured_with_high_dword_set() -> None:
    msix = Msix(1)
    msix.program(0, 0x1_FEE00000, 0)
    error_of(ErrorId.MSIX_UNMASK_UNCONFIGURED, msix.unmask, 0)


def test_program_fails_invalid_address_on_unmasked_entry() -> None:
    msix = live(2)
    msix.unmask(0)
    error_of(ErrorId.MSIX_ENTRY_UNMASKED_INVALID, msix.program, 0, 0x1000, 0)
    assert msix.entry(0).addr == ADDR
    msix.program(0, 0xFEE01000, 7)  # a valid address may be rewritten while unmasked
    assert msix.entry(0).addr == 0xFEE01000


def test_unmasked_never_exceeds_configured() -> None:
    msix = live(4)
    msix.unmask(0)
    msix.unmask(1)
    msix.unmask(1)
    assert msix.unmasked_count == 2 <= msix.configured == 4


def test_irq_on_unmasked_enabled_vector_delivers_at_once() -> None:
    msix = live()
    msix.unmask(3)
    assert msix.raise_irq(3) == (Message(3, ADDR, DATA + 3),)
    assert msix.delivered(3) == 1 and not msix.pending(3)
    assert msix.log == (Message(3, ADDR, DATA + 3),)


def test_irq_on_masked_vector_sets_pending_and_delivers_nothing() -> None:
    msix = live()
    assert msix.raise_irq(3) == ()
    assert msix.pending(3) and msix.delivered(3) == 0


def test_unmask_delivers_a_pending_message_once() -> None:
    msix = live()
    msix.raise_irq(3)
    msix.raise_irq(3)  # still one pending bit
    assert msix.unmask(3) == (Message(3, ADDR, DATA + 3),)
    assert not msix.pending(3) and msix.delivered(3) == 1
    assert msix.unmask(3) == ()


def test_delivery_uses_the_entry_at_delivery_time() -> None:
    msix = live()
    msix.raise_irq(2)
    msix.program(2, 0xFEE0F000, 0x99)
    assert msix.unmask(2) == (Message(2, 0xFEE0F000, 0x99),)


def test_irq_while_disabled_is_pending_until_enable() -> None:
    msix = mastering(2)
    msix.program(1, ADDR, DATA)
    msix.unmask(1)
    assert msix.effectively_masked(1)
    msix.raise_irq(1)
    assert msix.pending(1)
    assert msix.set_enable(True) == (Message(1, ADDR, DATA),)
    assert not msix.pending(1)


def test_function_mask_overrides_without_changing_entry_bits() -> None:
    msix = live()
    msix.unmask(5)
    msix.set_function_mask(True)
    assert not msix.masked(5) and msix.effectively_masked(5)
    msix.raise_irq(5)
    assert msix.pending(5) and msix.delivered(5) == 0
    assert msix.set_function_mask(False) == (Message(5, ADDR, DATA + 5),)
    assert msix.delivered(5) == 1


def test_clearing_function_mask_leaves_individually_masked_vectors_pending() -> None:
    msix = live()
    msix.unmask(1)
    msix.set_function_mask(True)
    msix.raise_irq(1)
    msix.raise_irq(2)  # its own mask bit is set
    assert msix.set_function_mask(False) == (Message(1, ADDR, DATA + 1),)
    assert msix.pending(2)


def test_enable_while_function_masked_delivers_nothing() -> None:
    msix = mastering(1)
    msix.program(0, ADDR, 0)
    msix.unmask(0)
    msix.set_function_mask(True)
    msix.raise_irq(0)
    assert msix.set_enable(True) == ()
    assert msix.pending(0)


@pytest.mark.parametrize(
    ("old", "new", "releases"),
    [
        ((False, False), (True, False), True),
        ((True, True), (True, False), True),
        ((False, True), (True, False), True),
        ((False, False), (True, True), False),
        ((False, False), (False, False), False),
        ((True, True), (False, False), False),
    ],
)
def test_control_change_releases_pending_only_when_the_gate_opens(
    old: tuple[bool, bool], new: tuple[bool, bool], releases: bool
) -> None:
    msix = mastering(1)
    msix.program(0, ADDR, 0)
    msix.unmask(0)
    msix.set_control(*old)
    msix.raise_irq(0)
    assert msix.pending(0)
    sent = msix.set_control(*new)
    assert bool(sent) is releases
    assert msix.pending(0) is not releases
    assert (msix.enabled, msix.function_masked) == new


def test_masked_vectors_never_deliver() -> None:
    msix = live()
    for _ in range(3):
        msix.raise_irq(4)
    assert msix.delivered(4) == 0 and msix.log == ()


def test_pba_is_qwords_with_64bit_bit_positions() -> None:
    msix = live(130)
    for v in (0, 31, 32, 63, 64, 129):
        msix.raise_irq(v)
    # Vector v is bit v % 64 of qword v // 64 (not a 32-bit shift).
    assert msix.pba == ((1 << 0) | (1 << 31) | (1 << 32) | (1 << 63), 1 << 0, 1 << 1)
    assert all(msix.pending(v) for v in (0, 31, 32, 63, 64, 129))
    assert not msix.pending(33)


@pytest.mark.parametrize(
    ("vectors", "qwords"), [(1, 1), (63, 1), (64, 1), (65, 2), (128, 2), (2048, 32)]
)
def test_pba_length_is_ceil_n_over_64(vectors: int, qwords: int) -> None:
    # Not one qword too long when N is a multiple of 64 (a known defect elsewhere).
    assert pba_qwords(vectors) == qwords == len(Msix(vectors).pba)
    assert pba_size(vectors) == 8 * qwords


def test_mask_sets_the_bit_and_blocks_delivery() -> None:
    msix = live()
    msix.unmask(0)
    msix.mask(0)
    assert msix.masked(0) and msix.unmasked_count == 0
    msix.raise_irq(0)
    assert msix.delivered(0) == 0 and msix.pending(0)


def test_program_fails_values_wider_than_the_fields() -> None:
    msix = Msix(1)
    with pytest.raises(ValueError):
        msix.program(0, 2**64, 0)
    with pytest.raises(ValueError):
        msix.program(0, ADDR, 2**32)


# -- Bus Master Enable ---------------------------------------------------------------------
# PCIe Base §7.5.1.1.3: with Bus Master Enable clear a function issues no memory writes, and an
# MSI-X message is one. QEMU drops the message in its disabled bus-master address space.


def test_bus_master_is_clear_at_power_on() -> None:
    assert not Msix(1).bus_master


def test_irq_without_bus_master_sends_nothing_and_sets_no_pending_bit() -> None:
    msix = live()
    msix.set_bus_master(False)
    msix.unmask(3)
    assert msix.raise_irq(3) == ()
    assert msix.raise_irq(4) == ()  # masked: still no pending bit
    assert not msix.pending(3) and not msix.pending(4)
    assert msix.delivered(3) == 0 and msix.log == ()


def test_irq_checks_the_vector_range_whatever_bus_master() -> None:
    error_of(ErrorId.IRQ_VECTOR_OUT_OF_RANGE, Msix(4).raise_irq, 4)


def test_unmask_without_bus_master_clears_the_pending_bit_and_sends_nothing() -> None:
    msix = live()
    msix.raise_irq(2)
    msix.set_bus_master(False)
    assert msix.unmask(2) == ()
    assert not msix.pending(2) and msix.delivered(2) == 0
    msix.set_bus_master(True)
    assert msix.raise_irq(2) == (Message(2, ADDR, DATA + 2),)


def test_opening_the_gate_without_bus_master_drops_every_pending_message() -> None:
    msix = mastering(2)
    for v in range(2):
        msix.program(v, ADDR, v)
        msix.unmask(v)
        msix.raise_irq(v)  # Enable is clear: both pending
    msix.set_bus_master(False)
    assert msix.set_enable(True) == ()
    assert msix.pba == (0,) and msix.log == ()


def test_setting_bus_master_releases_nothing() -> None:
    msix = live()
    msix.raise_irq(1)
    msix.set_bus_master(False)
    assert msix.set_bus_master(True) == ()
    assert msix.pending(1)


# -- last message ---------------------------------------------------------------------------


def test_last_message_is_the_last_delivered_one() -> None:
    msix = live()
    assert msix.last_message(1) is None
    msix.unmask(1)
    msix.raise_irq(1)
    msix.program(1, 0xFEE0_1000, 0x77)
    msix.raise_irq(1)
    assert msix.last_message(1) == Message(1, 0xFEE0_1000, 0x77)
    error_of(ErrorId.MSIX_VECTOR_OUT_OF_RANGE, msix.last_message, 8)


# -- reset ----------------------------------------------------------------------------------


def test_reset_clears_the_table_pba_and_control_but_keeps_history() -> None:
    # QEMU msix_reset: control bits cleared, every entry zeroed and masked, PBA cleared.
    msix = live(2)
    msix.unmask(0)
    msix.raise_irq(0)
    msix.raise_irq(1)
    msix.set_function_mask(True)
    msix.reset()
    assert (msix.enabled, msix.function_masked, msix.bus_master) == (False, False, False)
    assert all(msix.entry(v) == Msix(2).entry(v) for v in range(2))
    assert msix.pba == (0,) and msix.configured == 0 and msix.unmasked_count == 0
    assert msix.delivered(0) == 1 and msix.last_message(0) == Message(0, ADDR, DATA)
    assert msix.log == (Message(0, ADDR, DATA),)


# -- the table and PBA through MMIO --------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "size", "refused"),
    [(0, 4, False), (8, 8, False), (12, 4, False), (0, 2, True), (4, 8, True), (2, 4, True)],
)
def test_table_and_pba_take_aligned_dword_or_qword_accesses_only(
    offset: int, size: int, refused: bool
) -> None:
    assert (structure_access_error("table", offset, size) is not None) is refused


def test_table_reads_return_the_entry_fields() -> None:
    msix = Msix(2)
    msix.program(1, 0x1_2345_6788, 0xCAFE)
    assert msix.table_read(16, 4) == 0x2345_6788
    assert msix.table_read(20, 4) == 0x1
    assert msix.table_read(24, 4) == 0xCAFE
    assert msix.table_read(28, 4) == 1  # masked
    assert msix.table_read(16, 8) == 0x1_2345_6788
    assert msix.table_read(24, 8) == 1 << 32 | 0xCAFE


def test_table_writes_program_the_entry_as_msix_entry_does() -> None:
    msix = Msix(2)
    msix.table_write(16, 0xFEE0_1000, 4)
    msix.table_write(24, 0x4041, 4)
    assert msix.entry(1) == Entry(0xFEE0_1000, 0x4041, True)
    assert msix.configured == 1
    msix.table_write(16, 0x1_FEE0_2000, 8)
    assert msix.entry(1).addr == 0x1_FEE0_2000 and msix.configured == 0


def test_table_write_of_vector_control_unmasks_and_releases_a_pending_message() -> None:
    msix = live(2)
    msix.raise_irq(1)
    assert msix.table_write(16 + 12, 0, 4) == (Message(1, ADDR, DATA + 1),)
    assert not msix.masked(1) and not msix.pending(1)
    assert msix.table_write(16 + 12, 1, 4) == ()
    assert msix.masked(1)


def test_table_write_keeps_only_the_mask_bit_of_vector_control() -> None:
    msix = live(1)
    msix.table_write(12, 0xFFFF_FFFE, 4)
    assert not msix.masked(0) and msix.table_read(12, 4) == 0


def test_table_unmask_fails_unconfigured_and_changes_nothing() -> None:
    msix = Msix(1)
    msix.table_write(8, 0x1234, 4)
    error = error_of(ErrorId.MSIX_UNMASK_UNCONFIGURED, msix.table_write, 8, 0x55, 8)
    assert error.detail == EntryAddress(0, 0)
    assert msix.masked(0) and msix.entry(0).data == 0x1234  # the data half was not written


def test_table_write_of_an_invalid_address_to_an_unmasked_entry_fails() -> None:
    msix = live(1)
    msix.unmask(0)
    error_of(ErrorId.MSIX_ENTRY_UNMASKED_INVALID, msix.table_write, 4, 1, 4)
    error_of(ErrorId.MSIX_ENTRY_UNMASKED_INVALID, msix.table_write, 0, 0xFED0_0000, 4)
    assert msix.entry(0).addr == ADDR
    msix.table_write(8, 0x99, 4)  # the data of an unmasked entry may change
    assert msix.entry(0).data == 0x99


def test_pba_reads_return_the_pending_bits() -> None:
    msix = live(70)
    for v in (0, 33, 64, 69):
        msix.raise_irq(v)
    assert msix.pba_read(0, 8) == 1 | 1 << 33
    assert msix.pba_read(4, 4) == 1 << 1
    assert msix.pba_read(8, 4) == 1 | 1 << 5
