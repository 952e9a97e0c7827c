"""Stateful test of a device's config space against a dword-table oracle.

The oracle keeps the guest-visible value of each implemented dword (BAR, ROM and MSI-X
capability registers), the guest address of each BAR, the two Message Control bits and the
set of pending vectors, the Command register, Cache Line Size and Interrupt Line. It applies
the spec's rules itself: writable address bits down to the BAR's size, read-only type bits,
sizing writes that do not move a BAR, 64-bit BARs that move on the high-dword write, Message
Control with only bits 14-15 writable, pending vectors firing when the function-wide gate
opens, Command with only the bits QEMU's `pci_init_wmask` makes writable (0x0507), interrupts
that do nothing while Bus Master Enable is clear, and a function-level reset that returns
everything to the declared state. Read-only ID registers are learned once at the start; every
other dword reads 0.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
)
from vfio_errors import error_of

from harness.vfio.bars import BarKind, BarSpec, RomSpec
from harness.vfio.catalog import ErrorId
from harness.vfio.config_space import BarRelocated, VectorDelivered
from harness.vfio.device import Device
from harness.vfio.pci import Bdf, Region
from harness.vfio.vmm import Vmm

DW = 0xFFFF_FFFF
ROM = 0x30
# Slot layout: BAR0+1 mem64 prefetchable, BAR2 mem32 (holds the MSI-X table and PBA),
# BAR3 io, BAR4 mem32, BAR5 unimplemented.
KIND = {0: BarKind.MEM64, 2: BarKind.MEM32, 3: BarKind.IO, 4: BarKind.MEM32}
TYPE_BITS = {BarKind.MEM64: 0xC, BarKind.MEM32: 0x0, BarKind.IO: 0x1}
LOW_MASK = {BarKind.MEM64: 0xFFFF_FFF0, BarKind.MEM32: 0xFFFF_FFF0, BarKind.IO: 0xFFFF_FFFC}
VECTORS = 4
COMMAND_WRITABLE = 0x0507  # I/O, Memory, Bus Master, SERR# Enable, INTx Disable
BUS_MASTER = 0x0004
bar_registers = st.sampled_from(range(0x10, 0x28, 4))
values = st.one_of(
    st.sampled_from((DW, 0, 0xFFFF_FFF0, 0xE000_0000, 0x8000_1234, 0x1_0000 - 4)),
    st.integers(min_value=0, max_value=DW),
)
ACCESSES = (*((o, s) for s in (1, 2, 4) for o in range(0, 0x60, s)), (0x100, 4), (0xFFC, 4))


class ConfigMachine(RuleBasedStateMachine):
    """Guest config reads and writes on a device with every kind of BAR, MSI-X, maybe a ROM."""

    saved = Bundle("saved")  # (register, value) pairs read before a sizing write

    def __init__(self) -> None:
        super().__init__()
        self.device: Device | None = None
        self.size: dict[int, int] = {}
        self.gpa: dict[int, int] = {}  # BAR index (6 = ROM) -> guest address
        self.regs: dict[int, int] = {}  # dword offset -> guest-visible value
        self.learned: dict[int, int] = {}
        self.cap = 0
        self.enabled = False
        self.fmask = False
        self.pending: set[int] = set()
        self.vmm = Vmm()
        self.command = 0
        self.cache_line = 0
        self.interrupt_line = 0

    # -- the oracle ------------------------------------------------------------------------

    def _dword(self, offset: int) -> int:
        if offset == 0x04:
            return self.learned[0x04] & 0xFFFF_0000 | self.command
        if offset == 0x0C:
            return self.learned[0x0C] & 0xFFFF_FF00 | self.cache_line
        if offset == 0x3C:
            return self.interrupt_line
        return self.regs.get(offset, self.learned.get(offset, 0))

    def _control_dword(self) -> int:
        control = (VECTORS - 1) | (0x8000 if self.enabled else 0) | (0x4000 if self.fmask else 0)
        return 0x11 | control << 16  # id 0x11, next pointer 0

    def _write_bar(self, register: int, value: int) -> list[object]:
        """The spec's effect of a dword write to a BAR register; returns expected events."""
        slot = (register - 0x10) // 4
        if slot - 1 in KIND and KIND[slot - 1] is BarKind.MEM64:  # high dword of BAR slot-1
            index = slot - 1
            self.regs[register] = value & (~(self.size[index] - 1) >> 32) & DW
            if value == DW:
                return []  # sizing the high dword
            new = (self.regs[register] << 32 | self.regs[register - 4]) & ~0xF
            return self._move(index, new)
        if slot not in KIND:
            return []  # unimplemented: reads 0
        kind = KIND[slot]
        mask = LOW_MASK[kind] & ~(self.size[slot] - 1) & DW
        self.regs[register] = (value & mask) | TYPE_BITS[kind]
        if kind is BarKind.MEM64 or value & LOW_MASK[kind] == LOW_MASK[kind]:
            return []  # low dword latched, or a sizing write
        return self._move(slot, value & mask)

    def _move(self, index: int, new: int) -> list[object]:
        old = self.gpa[index]
        self.gpa[index] = new
        return [] if new == old else [BarRelocated(Region(index), old, new)]

    def _open(self) -> list[tuple[int, int, int]]:
        """Messages the gate releases now: every pending vector, with its table entry."""
        if not (self.enabled and not self.fmask):
            return []
        fired = [(v, 0xFEE0_0000, 0x20 + v) for v in sorted(self.pending)]
        self.pending.clear()  # without Bus Master Enable the bits clear and nothing is sent
        return fired if self.command & BUS_MASTER else []

    # -- rules -----------------------------------------------------------------------------

    @initialize(
        sizes=st.tuples(
            st.sampled_from((1 << 20, 1 << 32, 1 << 34)),  # BAR0 mem64
            st.sampled_from((0x10000, 0x100000)),  # BAR2 mem32 with MSI-X
            st.sampled_from((4, 32, 256)),  # BAR3 io
            st.sampled_from((16, 0x1000, 1 << 24)),  # BAR4 mem32
            st.sampled_from((0, 0x800, 0x10000)),  # ROM (0: none)
        )
    )
    def create(self, sizes: tuple[int, int, int, int, int]) -> None:
        """Build and allocate the device; learn its addresses and read-only registers."""
        device = Device(Bdf(0, 2, 0, 0))
        for index, size in zip((0, 2, 3, 4), sizes, strict=False):
            device.add_bar(BarSpec(index, KIND[index], size, prefetch=index == 0))
            self.size[index] = size
        if sizes[4]:
            device.add_rom(RomSpec(sizes[4]))
        self.size[6] = sizes[4]
        device.add_msix(VECTORS, (2, 0x0), (2, 0x800))
        self.vmm = Vmm()
        self.vmm.alloc(device)
        self.device = device
        self._learn()
        self._drive()

    def _drive(self) -> None:
        """What a guest driver does first: Memory Space and Bus Master on, every vector routed
        and unmasked (so only Message Control and Bus Master gate them)."""
        assert self.device is not None and self.device.msix is not None
        self.device.cfg_write(0x04, 0x0006, 2)
        self.command = 0x0006
        for v in range(VECTORS):
            self.device.msix.program(v, 0xFEE0_0000, 0x20 + v)
            self.device.msix.unmask(v)

    def _learn(self) -> None:
        """The oracle's registers from the device's addresses and read-only registers."""
        device = self.device
        assert device is not None
        for index in KIND:
            self.gpa[index] = device.bar_gpa(index)
            low = self.gpa[index] & DW
            self.regs[0x10 + 4 * index] = low | TYPE_BITS[KIND[index]]
            if KIND[index] is BarKind.MEM64:
                self.regs[0x14 + 4 * index] = self.gpa[index] >> 32
        self.gpa[6] = device.rom_gpa
        self.regs[ROM] = self.gpa[6]
        self.regs[0x24] = 0  # BAR5: unimplemented
        for offset in (0x00, 0x04, 0x08, 0x0C, 0x34):
            self.learned[offset] = device.cfg_read(offset)
        self.cap = self.learned[0x34] & 0xFC
        self.regs[self.cap] = self._control_dword()
        self.regs[self.cap + 4] = 0x0 | 2
        self.regs[self.cap + 8] = 0x800 | 2

    @rule()
    def reset(self) -> None:
        """Function-level reset: every register as declared, BARs unplaced, MSI-X off; then
        the guest places the BARs and drives the function again."""
        assert self.device is not None
        self.device.reset()
        assert self.device.command == 0
        assert all(self.device.bar_gpa(index) == 0 for index in (*KIND, 5))
        assert self.device.rom_gpa == 0
        msix = self.device.msix
        assert msix is not None and msix.pba == (0,) and msix.configured == 0
        assert all(self.device.cfg_read(0x10 + 4 * i) == TYPE_BITS[KIND[i]] for i in KIND)
        self.enabled = self.fmask = False
        self.pending.clear()
        self.cache_line = self.interrupt_line = 0
        self.vmm.alloc(self.device)
        self._learn()
        self._drive()

    @rule(value=st.integers(min_value=0, max_value=0xFFFF), how=st.sampled_from((2, 1, 4)))
    def write_command(self, value: int, how: int) -> None:
        """Command through its word, its low byte, or the Command/Status dword."""
        assert self.device is not None
        if how == 2:
            self.device.cfg_write(0x04, value, 2)
            self.command = value & COMMAND_WRITABLE
        elif how == 1:
            self.device.cfg_write(0x04, value & 0xFF, 1)
            self.command = self.command & 0xFF00 | value & 0xFF & COMMAND_WRITABLE
        else:
            self.device.cfg_write(0x04, 0xFFFF_0000 | value, 4)  # Status bits are read-only
            self.command = value & COMMAND_WRITABLE
        assert self.device.command == self.command

    @rule(offset=st.sampled_from((0x0C, 0x3C)), value=st.integers(0, 0xFF))
    def write_read_write_byte(self, offset: int, value: int) -> None:
        """Cache Line Size and Interrupt Line keep what the guest writes."""
        assert self.device is not None
        self.device.cfg_write(offset, value, 1)
        if offset == 0x0C:
            self.cache_line = value
        else:
            self.interrupt_line = value

    @rule(register=bar_registers, value=values)
    def write_bar(self, register: int, value: int) -> None:
        """A dword write to any BAR register (sizing, relocation, latched low dword, nothing)."""
        assert self.device is not None
        expected = self._write_bar(register, value)
        assert list(self.device.cfg_write(register, value)) == expected

    @rule(target=saved, register=bar_registers)
    def save_and_size(self, register: int) -> tuple[int, int]:
        """Linux sizing: save the register, write all ones (the BAR must not move)."""
        assert self.device is not None
        original = self.device.cfg_read(register)
        assert original == self._dword(register)
        self.write_bar(register, DW)
        return (register, original)

    @rule(saved=consumes(saved))
    def restore(self, saved: tuple[int, int]) -> None:
        """Write a saved value back, as Linux does after sizing."""
        self.write_bar(*saved)

    @precondition(lambda self: self.size.get(6, 0) > 0)
    @rule(value=values)
    def write_rom(self, value: int) -> None:
        """The ROM register at 0x30: enable bit kept, sizing keeps the ROM in place."""
        assert self.device is not None
        assert self.device.rom_size == self.size[6]
        mask = 0xFFFF_F800 & ~(self.size[6] - 1)
        self.regs[ROM] = (value & mask) | (value & 1)
        sizing = value & 0xFFFF_F800 == 0xFFFF_F800
        expected = [] if sizing else self._move(6, value & mask)
        assert list(self.device.cfg_write(ROM, value)) == expected

    @precondition(lambda self: self.size.get(6) == 0)
    @rule(value=values)
    def write_absent_rom(self, value: int) -> None:
        """Without a ROM, 0x30 is an unimplemented register: it ignores writes, reads 0."""
        assert self.device is not None
        assert self.device.cfg_write(ROM, value) == ()
        assert self.device.cfg_read(ROM) == 0 and self.device.rom_gpa == 0

    @rule(value=st.integers(min_value=0, max_value=0xFFFF), how=st.sampled_from((2, 1, 4)))
    def write_control(self, value: int, how: int) -> None:
        """Message Control through a word, its high byte, or the whole capability dword."""
        assert self.device is not None
        if how == 2:
            events = self.device.cfg_write(self.cap + 2, value, 2)
        elif how == 1:
            events = self.device.cfg_write(self.cap + 3, value >> 8, 1)
        else:
            events = self.device.cfg_write(self.cap, value << 16 | 0x1234, 4)
        self.enabled, self.fmask = bool(value & 0x8000), bool(value & 0x4000)
        self.regs[self.cap] = self._control_dword()
        assert all(isinstance(e, VectorDelivered) for e in events)
        released = sorted((e.message.vector, e.message.addr, e.message.data) for e in events)  # type: ignore[union-attr]
        assert released == self._open()

    @rule(v=st.integers(min_value=0, max_value=VECTORS - 1))
    def irq(self, v: int) -> None:
        """The device raises a vector: nothing without Bus Master Enable, else delivered while
        the gate is open and pending while it is closed."""
        assert self.device is not None
        sent = self.device.irq(v)
        if not self.command & BUS_MASTER:
            assert sent == ()
        elif self.enabled and not self.fmask:
            assert [(m.vector, m.data) for m in sent] == [(v, 0x20 + v)]
        else:
            assert sent == ()
            self.pending.add(v)

    @rule(
        offset=st.sampled_from((0x00, 0x08, 0x28, 0x2C, 0x38, 0x100, 0xFFC)),
        value=values,
    )
    def write_other(self, offset: int, value: int) -> None:
        """Read-only and unimplemented registers ignore writes."""
        assert self.device is not None
        assert self.device.cfg_write(offset, value) == ()

    @rule(access=st.sampled_from(ACCESSES))
    def read(self, access: tuple[int, int]) -> None:
        """Any aligned read returns the oracle's bytes (little endian)."""
        assert self.device is not None
        offset, size = access
        expected = self._dword(offset & ~3) >> 8 * (offset & 3) & ((1 << 8 * size) - 1)
        assert self.device.cfg_read(offset, size) == expected

    @rule(offset=st.integers(min_value=4090, max_value=4100), size=st.sampled_from((1, 2, 4, 3)))
    def bad_access(self, offset: int, size: int) -> None:
        """Accesses past 4096 or across a dword fail (unaligned first); reads and writes alike."""
        assert self.device is not None
        unaligned = size not in (1, 2, 4) or offset % 4 + size > 4
        outside = offset + size > 4096
        if not unaligned and not outside:
            return
        expected = ErrorId.CONFIG_UNALIGNED if unaligned else ErrorId.CONFIG_OUT_OF_RANGE
        error_of(expected, self.device.cfg_read, offset, size)
        error_of(expected, self.device.cfg_write, offset, 0, size)

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def addresses_match(self) -> None:
        """Every BAR's and the ROM's guest address is the oracle's, never a host address."""
        if self.device is None:
            return
        for index in KIND:
            assert self.device.bar_gpa(index) == self.gpa[index]
            assert self.gpa[index] != self.device.host_address(Region(index))
        assert self.device.rom_gpa == self.gpa[6]
        assert self.device.bar_size(5) == 0 and self.device.bar_gpa(5) == 0

    @invariant()
    def control_matches(self) -> None:
        """Message Control bits and pending vectors agree with the oracle."""
        if self.device is None or self.device.msix is None:
            return
        msix = self.device.msix
        assert (msix.enabled, msix.function_masked) == (self.enabled, self.fmask)
        assert {v for v in range(VECTORS) if msix.pending(v)} == self.pending


ConfigMachine.TestCase.settings = settings(ConfigMachine.TestCase.settings, stateful_step_count=20)
test_stateful_config = ConfigMachine.TestCase
