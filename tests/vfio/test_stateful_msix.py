"""Stateful test of MSI-X against a per-vector dictionary oracle.

The oracle holds, per vector, the address, data, own mask bit, pending bit and delivery
count, plus Enable and Function Mask. It delivers when `enabled and not fmask and not
masked`, and otherwise sets the pending bit, as the PCI spec says; errors are predicted from
the same dictionary (vector range, unmask of an unconfigured entry, invalid address written
to an unmasked entry). Vector counts straddle the 64-vector PBA qword boundary.
"""

from __future__ import annotations

from collections import Counter

import pytest
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

from harness.vfio.catalog import ErrorId, VfioError
from harness.vfio.msix import Message, Msix

VALID = (0xFEE0_0000, 0xFEE0_3000, 0xFEEF_F00C)
INVALID = (0x0, 0xFEC0_0000, 0x1_FEE0_0000)
vectors = st.sampled_from((0, 1, 2, 3, 7, 31, 32, 63, 64, 65, 66))
addresses = st.sampled_from(VALID + INVALID)
datas = st.sampled_from((0x0, 0x41, 0x4041, 0xFFFF_FFFF))


class MsixMachine(RuleBasedStateMachine):
    """An `Msix` driven by table writes, masks, control bits and interrupts."""

    configured = Bundle("configured")  # vectors last seen holding a valid address

    def __init__(self) -> None:
        super().__init__()
        self.msix: Msix | None = None
        self.n = 0
        self.addr: dict[int, int] = {}
        self.data: dict[int, int] = {}
        self.masked: dict[int, bool] = {}
        self.pending: set[int] = set()
        self.delivered: Counter[int] = Counter()
        self.log: list[tuple[int, int, int]] = []
        self.enabled = False
        self.fmask = False

    # -- the oracle ------------------------------------------------------------------------

    def _valid(self, addr: int) -> bool:
        return addr >> 20 == 0xFEE

    def _open(self, v: int) -> bool:
        return self.enabled and not self.fmask and not self.masked[v]

    def _send(self, v: int) -> tuple[int, int, int]:
        self.delivered[v] += 1
        message = (v, self.addr[v], self.data[v])
        self.log.append(message)
        return message

    def _flush(self, candidates: list[int]) -> list[tuple[int, int, int]]:
        sent = []
        for v in sorted(candidates):
            if v in self.pending and self._open(v):
                self.pending.discard(v)
                sent.append(self._send(v))
        return sent

    def _same(self, actual: tuple[Message, ...], expected: list[tuple[int, int, int]]) -> None:
        assert sorted((m.vector, m.addr, m.data) for m in actual) == sorted(expected)

    def _run(self, expected_error: ErrorId | None, call: object) -> tuple[Message, ...]:
        if expected_error is None:
            return call()  # type: ignore[operator,no-any-return]
        with pytest.raises(VfioError) as caught:
            call()  # type: ignore[operator]
        assert caught.value.kind is expected_error, caught.value.id
        return ()

    # -- rules -----------------------------------------------------------------------------

    @initialize(n=st.sampled_from((1, 2, 8, 64, 65)))
    def create(self, n: int) -> None:
        """A fresh table: every entry masked, address 0, nothing pending."""
        self.msix, self.n = Msix(n), n
        for v in range(n):
            self.addr[v], self.data[v], self.masked[v] = 0, 0, True

    @rule(target=configured, v=vectors, addr=addresses, data=datas)
    def program(self, v: int, addr: int, data: int) -> object:
        """Write an entry; an invalid address is refused while the entry is unmasked."""
        assert self.msix is not None
        if v >= self.n:
            error: ErrorId | None = ErrorId.MSIX_VECTOR_OUT_OF_RANGE
        elif not self.masked[v] and not self._valid(addr):
            error = ErrorId.MSIX_ENTRY_UNMASKED_INVALID
        else:
            error = None
        assert self._run(error, lambda: self.msix.program(v, addr, data)) == ()
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
        """Clear a mask bit: needs a valid address; delivers a pending message if now open."""
        assert self.msix is not None
        if v >= self.n:
            error: ErrorId | None = ErrorId.MSIX_VECTOR_OUT_OF_RANGE
        elif not self._valid(self.addr[v]):
            error = ErrorId.MSIX_UNMASK_UNCONFIGURED
        else:
            error = None
        sent = self._run(error, lambda: self.msix.unmask(v))
        if error is None:
            self.masked[v] = False
            self._same(sent, self._flush([v]))

    @rule(target=configured, v=vectors)
    def mask(self, v: int) -> object:
        """Set a mask bit; never delivers. A configured vector goes back to the bundle."""
        assert self.msix is not None
        error = ErrorId.MSIX_VECTOR_OUT_OF_RANGE if v >= self.n else None
        assert self._run(error, lambda: self.msix.mask(v)) == ()
        if error is not None:
            return multiple()
        self.masked[v] = True
        return v if self._valid(self.addr[v]) else multiple()

    @rule(on=st.booleans())
    def set_enable(self, on: bool) -> None:
        """Message Control bit 15."""
        assert self.msix is not None
        sent = self.msix.set_enable(on)
        self.enabled = on
        self._same(sent, self._flush(list(self.pending)))

    @rule(on=st.booleans())
    def set_function_mask(self, on: bool) -> None:
        """Message Control bit 14."""
        assert self.msix is not None
        sent = self.msix.set_function_mask(on)
        self.fmask = on
        self._same(sent, self._flush(list(self.pending)))

    @rule(v=vectors)
    def raise_irq(self, v: int) -> None:
        """The device signals `v`: delivered if open, else pending."""
        assert self.msix is not None
        error = ErrorId.IRQ_VECTOR_OUT_OF_RANGE if v >= self.n else None
        sent = self._run(error, lambda: self.msix.raise_irq(v))
        if error is None:
            if self._open(v):
                self._same(sent, [self._send(v)])
            else:
                assert sent == ()
                self.pending.add(v)

    @precondition(lambda self: bool(self.pending))
    @rule()
    def open_everything(self) -> None:
        """Unmask every configured pending vector and open the gate: all pending fire."""
        assert self.msix is not None
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
        if self.msix is None:
            return
        msix = self.msix
        assert (msix.enabled, msix.function_masked) == (self.enabled, self.fmask)
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
