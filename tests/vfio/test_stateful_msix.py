"""Stateful test of MSI-X against a per-vector dictionary oracle.

The oracle holds, per vector, the address, data, own mask bit, pending bit and delivery
count, plus Enable, Function Mask, and the two Command bits that matter: Memory Space (does
the BAR holding the table decode?) and Bus Master Enable (may the function send messages?).
It delivers when `bus master and enabled and not fmask and not masked`; while Bus Master is
clear an interrupt does nothing and a pending vector that opens loses its bit; otherwise an
interrupt sets the pending bit, as the PCI spec says. Errors are predicted from the same
dictionary (vector range, unmask of an unconfigured entry, invalid address written to an
unmasked entry). The table is driven both by the `msix` statements' calls and by guest MMIO
to the BAR holding it, and read back through MMIO. Vector counts straddle the 64-vector PBA
qword boundary.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)
from vfio_errors import outcome

from harness.vfio.bars import BarKind, BarSpec
from harness.vfio.catalog import ErrorId
from harness.vfio.device import Device
from harness.vfio.msix import Message, Msix
from harness.vfio.pci import Bdf

VALID = (0xFEE0_0000, 0xFEE0_3000, 0xFEEF_F00C)
INVALID = (0x0, 0xFEC0_0000, 0x1_FEE0_0000)
vectors = st.sampled_from((0, 1, 2, 3, 7, 31, 32, 63, 64, 65, 66))
addresses = st.sampled_from(VALID + INVALID)
datas = st.sampled_from((0x0, 0x41, 0x4041, 0xFFFF_FFFF))
BAR = 2  # mem32 BAR holding the table at TABLE and the PBA at PBA
TABLE = 0x1000
PBA = 0x3000
MEMORY_SPACE, BUS_MASTER = 0x0002, 0x0004


class MsixMachine(RuleBasedStateMachine):
    """A device's MSI-X driven by table writes (calls and MMIO), masks, control bits, Command
    bits and interrupts."""

    configured = Bundle("configured")  # vectors last seen holding a valid address

    def __init__(self) -> None:
        super().__init__()
        self.device: Device | None = None
        self.n = 0
        self.addr: dict[int, int] = {}
        self.data: dict[int, int] = {}
        self.masked: dict[int, bool] = {}
        self.pending: set[int] = set()
        self.delivered: Counter[int] = Counter()
        self.log: list[tuple[int, int, int]] = []
        self.enabled = False
        self.fmask = False
        self.command = 0

    # -- the oracle ------------------------------------------------------------------------

    @property
    def _msix(self) -> Msix:
        assert self.device is not None and self.device.msix is not None
        return self.device.msix

    def _valid(self, addr: int) -> bool:
        return addr >> 20 == 0xFEE

    def _open(self, v: int) -> bool:
        return self.enabled and not self.fmask and not self.masked[v]

    def _send(self, v: int) -> list[tuple[int, int, int]]:
        if not self.command & BUS_MASTER:
            return []
        self.delivered[v] += 1
        message = (v, self.addr[v], self.data[v])
        self.log.append(message)
        return [message]

    def _flush(self, candidates: list[int]) -> list[tuple[int, int, int]]:
        sent = []
        for v in sorted(candidates):
            if v in self.pending and self._open(v):
                self.pending.discard(v)
                sent.extend(self._send(v))
        return sent

    def _same(self, actual: tuple[Message, ...], expected: list[tuple[int, int, int]]) -> None:
        assert sorted((m.vector, m.addr, m.data) for m in actual) == sorted(expected)

    def _program_error(self, v: int, addr: int) -> ErrorId | None:
        if v >= self.n:
            return ErrorId.MSIX_VECTOR_OUT_OF_RANGE
        if not self.masked[v] and not self._valid(addr):
            return ErrorId.MSIX_ENTRY_UNMASKED_INVALID
        return None

    def _unmask_error(self, v: int) -> ErrorId | None:
        if v >= self.n:
            return ErrorId.MSIX_VECTOR_OUT_OF_RANGE
        if not self._valid(self.addr[v]):
            return ErrorId.MSIX_UNMASK_UNCONFIGURED
        return None

    @property
    def _decodes(self) -> bool:
        return bool(self.command & MEMORY_SPACE)

    # -- rules: the msix statements' calls -------------------------------------------------

    @initialize(n=st.sampled_from((1, 2, 8, 64, 65)))
    def create(self, n: int) -> None:
        """A fresh function: every entry masked, address 0, nothing pending, Command 0."""
        device = Device(Bdf(0, 1, 0, 0))
        device.add_bar(BarSpec(BAR, BarKind.MEM32, 0x4000))
        device.add_msix(n, (BAR, TABLE), (BAR, PBA))
        self.device, self.n = device, n
        for v in range(n):
            self.addr[v], self.data[v], self.masked[v] = 0, 0, True

    @rule(target=configured, v=vectors, addr=addresses, data=datas)
    def program(self, v: int, addr: int, data: int) -> object:
        """Write an entry; an invalid address is refused while the entry is unmasked."""
        error = self._program_error(v, addr)
        assert outcome(error, self._msix.program, v, addr, data) in ((), None)
        if error is not None:
            return multiple()
        self.addr[v], self.data[v] = addr, data
        return v if self._valid(addr) else multiple()

    @rule(v=consumes(configured))
    def unmask_configured(self, v: int) -> None:
        """Unmask a vector once programmed validly (it may have been reprogrammed since)."""
        self.unmask(v)

    @rule(v=vectors)
    def unmask(self, v: int) -> None:
        """Clear a mask bit: needs a valid address; releases a pending message if now open."""
        error = self._unmask_error(v)
        sent = outcome(error, self._msix.unmask, v)
        if error is None:
            self.masked[v] = False
            self._same(sent, self._flush([v]))

    @rule(target=configured, v=vectors)
    def mask(self, v: int) -> object:
        """Set a mask bit; never delivers. A configured vector goes back to the bundle."""
        error = ErrorId.MSIX_VECTOR_OUT_OF_RANGE if v >= self.n else None
        assert outcome(error, self._msix.mask, v) in ((), None)
        if error is not None:
            return multiple()
        self.masked[v] = True
        return v if self._valid(self.addr[v]) else multiple()

    @rule(on=st.booleans())
    def set_enable(self, on: bool) -> None:
        """Message Control bit 15."""
        sent = self._msix.set_enable(on)
        self.enabled = on
        self._same(sent, self._flush(list(self.pending)))

    @rule(on=st.booleans())
    def set_function_mask(self, on: bool) -> None:
        """Message Control bit 14."""
        sent = self._msix.set_function_mask(on)
        self.fmask = on
        self._same(sent, self._flush(list(self.pending)))

    @rule(v=vectors)
    def raise_irq(self, v: int) -> None:
        """The device signals `v`: nothing without Bus Master, delivered if open, else pending."""
        assert self.device is not None
        error = ErrorId.IRQ_VECTOR_OUT_OF_RANGE if v >= self.n else None
        sent = outcome(error, self.device.irq, v)
        if error is not None or not self.command & BUS_MASTER:
            assert sent in ((), None)
        elif self._open(v):
            self._same(sent, self._send(v))
        else:
            assert sent == ()
            self.pending.add(v)

    # -- rules: the Command register -------------------------------------------------------

    @rule(memory=st.booleans(), master=st.booleans())
    def write_command(self, memory: bool, master: bool) -> None:
        """The guest sets or clears Memory Space and Bus Master; that releases nothing."""
        assert self.device is not None
        self.command = (MEMORY_SPACE if memory else 0) | (BUS_MASTER if master else 0)
        assert self.device.cfg_write(0x04, self.command, 2) == ()
        assert self._msix.bus_master is master

    # -- rules: the table and PBA through the BAR ------------------------------------------

    @rule(target=configured, v=vectors, addr=addresses, data=datas, qword=st.booleans())
    def mmio_program(self, v: int, addr: int, data: int, qword: bool) -> object:
        """The guest writes an entry's address (one qword, or two dwords low then high) and
        data through the BAR; checked like `program`, dropped while Memory Space is off."""
        assert self.device is not None
        if v >= self.n:
            return multiple()  # the table has no such entry: that offset is the device's
        at = TABLE + 16 * v
        if not self._decodes:
            self.device.mmio_write(BAR, at, addr, 8)
            self.device.mmio_write(BAR, at + 8, data, 4)
            return multiple()
        # One qword, or the low dword (with the entry's high dword) then the high dword.
        halves = [(0, (1 << 64) - 1)] if qword else [(0, 0xFFFF_FFFF), (4, 0xFFFF_FFFF << 32)]
        for offset, mask in halves:
            address = self.addr[v] & ~mask | addr & mask
            size = 8 if qword else 4
            error = self._program_error(v, address)
            value = (addr & mask) >> (8 * offset)
            outcome(error, self.device.mmio_write, BAR, at + offset, value, size)
            if error is None:
                self.addr[v] = address
        self.device.mmio_write(BAR, at + 8, data, 4)
        self.data[v] = data
        return v if self._valid(self.addr[v]) else multiple()

    @rule(v=vectors, masked=st.booleans())
    def mmio_vector_control(self, v: int, masked: bool) -> None:
        """The guest writes Vector Control: bit 0 clear unmasks (checked like `unmask`), set
        masks; dropped while Memory Space is off."""
        assert self.device is not None
        if v >= self.n:
            return
        at = TABLE + 16 * v + 12
        if not self._decodes:
            assert self.device.mmio_write(BAR, at, int(masked), 4) == ()
            return
        if masked:
            assert self.device.mmio_write(BAR, at, 1, 4) == ()
            self.masked[v] = True
            return
        error = self._unmask_error(v) if self.masked[v] else None
        sent = outcome(error, self.device.mmio_write, BAR, at, 0, 4)
        if error is None:
            self.masked[v] = False
            self._same(sent, self._flush([v]))

    @rule(v=vectors)
    def mmio_read_entry(self, v: int) -> None:
        """Reading an entry through the BAR gives its fields, or all ones while not decoded."""
        assert self.device is not None
        if v >= self.n:
            return
        at = TABLE + 16 * v
        fields = [self.device.mmio_read(BAR, at + 4 * i) for i in range(4)]
        if not self._decodes:
            assert fields == [0xFFFF_FFFF] * 4
            return
        expected = [self.addr[v] & 0xFFFF_FFFF, self.addr[v] >> 32, self.data[v]]
        assert fields == [*expected, int(self.masked[v])]
        assert self.device.mmio_read(BAR, at, 8) == self.addr[v]

    @rule(qword=st.integers(0, 1))
    def mmio_read_pba(self, qword: int) -> None:
        """Reading the PBA through the BAR gives the pending bits; writing it changes nothing."""
        assert self.device is not None
        if 64 * qword >= self.n:
            return
        at = PBA + 8 * qword
        self.device.mmio_write(BAR, at, 0xFFFF_FFFF_FFFF_FFFF, 8)
        expected = sum(1 << (v % 64) for v in self.pending if v // 64 == qword)
        value = self.device.mmio_read(BAR, at, 8)
        assert value == (expected if self._decodes else (1 << 64) - 1)

    @precondition(lambda self: bool(self.pending))
    @rule()
    def open_everything(self) -> None:
        """Unmask every configured pending vector and open the gate: all pending go."""
        for v in sorted(self.pending):
            if self._valid(self.addr[v]):
                self.unmask(v)
        self.set_function_mask(False)
        self.set_enable(True)
        assert all(not self._valid(self.addr[v]) for v in self.pending)

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def state_matches(self) -> None:
        """Control bits, masks, PBA, counters and the log agree with the oracle."""
        if self.device is None:
            return
        msix = self._msix
        assert (msix.enabled, msix.function_masked) == (self.enabled, self.fmask)
        assert msix.bus_master is bool(self.command & BUS_MASTER)
        pba = [0] * ((self.n + 63) // 64)
        for v in self.pending:
            pba[v // 64] |= 1 << (v % 64)
        assert list(msix.pba) == pba
        configured = sum(self._valid(a) for a in self.addr.values())
        unmasked = sum(not m for m in self.masked.values())
        assert (msix.configured, msix.unmasked_count) == (configured, unmasked)
        assert unmasked <= configured <= self.n
        assert Counter((m.vector, m.addr, m.data) for m in msix.log) == Counter(self.log)
        for v in (0, self.n - 1, min(self.n - 1, 63)):
            entry = msix.entry(v)
            assert (entry.addr, entry.data, entry.masked) == (
                self.addr[v],
                self.data[v],
                self.masked[v],
            )
            assert msix.delivered(v) == self.delivered[v]


MsixMachine.TestCase.settings = settings(MsixMachine.TestCase.settings, stateful_step_count=20)
test_stateful_msix = MsixMachine.TestCase
