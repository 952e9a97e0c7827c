"""Properties of MSI-X (`harness/vfio/msix.py`) against the PCI spec's masking rules.

The expectations restate the spec in the simplest terms: a vector delivers when Enable is
set, Function Mask clear and its own mask bit clear; otherwise an interrupt sets its PBA bit
(bit v % 64 of qword v // 64). The valid-address rule is `addr >> 20 == 0xfee`.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st
from vfio_errors import error_of

from harness.vfio.bars import BarKind, BarSpec
from harness.vfio.catalog import ErrorId, VfioError
from harness.vfio.device import Device
from harness.vfio.mmio import MsixLocation
from harness.vfio.msix import Message, Msix, is_valid_msi_address
from harness.vfio.pci import Bdf

Sent = tuple[Message, ...]

VALID = (0xFEE0_0000, 0xFEE0_1000, 0xFEEF_FFFC)
INVALID = (0, 0xFED0_0000, 0xFF00_0000, 0x1_FEE0_0000, 0xFEE0_0000_0000_0000)
ADDRS = VALID + INVALID
N_MAX = 8
# Every operation on up to N_MAX + 1 vectors, precomputed: a draw is one sampled_from.
OPS = tuple(
    [("program", v, a, 0x4000 + 16 * v + i) for v in range(N_MAX + 1) for i, a in enumerate(ADDRS)]
    + [(name, v, 0, 0) for name in ("mask", "unmask", "irq", "irq") for v in range(N_MAX + 1)]
    + [(name, on, 0, 0) for name in ("enable", "fmask") for on in (0, 1)]
)
ops = st.lists(st.sampled_from(OPS), max_size=16)
vector_counts = st.integers(min_value=1, max_value=N_MAX)
# A vector below N is drawn as `raw % n`: one plain draw instead of a dependent one.
raw_vectors = st.integers(min_value=0, max_value=2047)
ALLOWED = {
    ErrorId.MSIX_VECTOR_OUT_OF_RANGE,
    ErrorId.IRQ_VECTOR_OUT_OF_RANGE,
    ErrorId.MSIX_UNMASK_UNCONFIGURED,
    ErrorId.MSIX_ENTRY_UNMASKED_INVALID,
}


def _valid(addr: int) -> bool:
    return addr >> 20 == 0xFEE


def _apply(msix: Msix, op: tuple[str, int, int, int]) -> None:
    """Run one operation; an error must be one of the documented MSI-X errors."""
    name, a, b, c = op
    calls: dict[str, Callable[[], object]] = {
        "program": lambda: msix.program(a, b, c),
        "mask": lambda: msix.mask(a),
        "unmask": lambda: msix.unmask(a),
        "irq": lambda: msix.raise_irq(a),
        "enable": lambda: msix.set_enable(bool(a)),
        "fmask": lambda: msix.set_function_mask(bool(a)),
    }
    try:
        calls[name]()
    except VfioError as error:
        assert error.kind in ALLOWED


def _mastering(n: int) -> Msix:
    """N fresh vectors of a function whose driver set Bus Master Enable."""
    msix = Msix(n)
    msix.set_bus_master(True)
    return msix


def _ready(n: int, enable: bool = True) -> Msix:
    """N vectors, each holding a valid address and data 0x100+v, unmasked; BME set."""
    msix = _mastering(n)
    for v in range(n):
        msix.program(v, 0xFEE0_0000 | v << 12, 0x100 + v)
        msix.unmask(v)
    msix.set_enable(enable)
    return msix


@given(st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans())
def test_prop_msix_valid_transitions(
    en0: bool, fm0: bool, en1: bool, fm1: bool, vector_masked: bool, raise_first: bool
) -> None:
    """A Message Control change delivers a pending vector iff it opens the gate for it."""
    msix = _mastering(4)
    msix.program(2, 0xFEE0_0000, 0x42)
    if not vector_masked:
        msix.unmask(2)
    msix.set_control(en0, fm0)
    open_before = en0 and not fm0 and not vector_masked
    if raise_first:
        sent = msix.raise_irq(2)
        assert len(sent) == int(open_before)
    pending = raise_first and not open_before
    assert msix.pending(2) == pending
    sent = msix.set_control(en1, fm1)
    open_after = en1 and not fm1 and not vector_masked
    fires = pending and open_after
    assert [(m.vector, m.addr, m.data) for m in sent] == ([(2, 0xFEE0_0000, 0x42)] if fires else [])
    assert msix.pending(2) == (pending and not fires)
    assert (msix.enabled, msix.function_masked) == (en1, fm1)
    assert msix.effectively_masked(2) == (not open_after)


@given(vector_counts, raw_vectors, st.sampled_from(ADDRS))
def test_prop_msix_no_enable_unconfigured(n: int, raw: int, addr: int) -> None:
    """Unmask needs a valid MSI address (0xfeeXXXXX, high dword 0); otherwise it stays masked."""
    msix = Msix(n)
    v = raw % n
    error_of(ErrorId.MSIX_UNMASK_UNCONFIGURED, lambda: msix.unmask(v))
    msix.program(v, addr, 0x1)
    if _valid(addr):
        msix.unmask(v)
        assert not msix.masked(v) and msix.configured == 1 and msix.unmasked_count == 1
    else:
        error_of(ErrorId.MSIX_UNMASK_UNCONFIGURED, lambda: msix.unmask(v))
        assert msix.masked(v) and msix.configured == 0 and msix.unmasked_count == 0


@given(vector_counts, ops)
def test_prop_msix_count_invariants(n: int, sequence: list[tuple[str, int, int, int]]) -> None:
    """After any operations: unmasked <= configured <= vectors, each counted from the entries."""
    msix = Msix(n)
    for op in sequence:
        _apply(msix, op)
        entries = [msix.entry(v) for v in range(n)]
        configured = sum(_valid(e.addr) for e in entries)
        unmasked = sum(not e.masked for e in entries)
        assert msix.configured == configured and msix.unmasked_count == unmasked
        assert unmasked <= configured <= n == msix.vectors
        assert all(_valid(e.addr) for e in entries if not e.masked)


@given(vector_counts, st.booleans(), st.booleans(), st.booleans(), raw_vectors)
def test_prop_msix_can_deliver(n: int, enable: bool, fmask: bool, own_mask: bool, raw: int) -> None:
    """An irq delivers now iff Enable and no mask applies; otherwise it sets the PBA bit."""
    msix = _ready(n, enable)
    msix.set_function_mask(fmask)
    v = raw % n
    if own_mask:
        msix.mask(v)
    deliverable = enable and not fmask and not own_mask
    sent = msix.raise_irq(v)
    assert [(m.vector, m.data) for m in sent] == ([(v, 0x100 + v)] if deliverable else [])
    assert msix.pending(v) == (not deliverable)
    assert msix.delivered(v) == int(deliverable)
    assert all(not msix.pending(u) and msix.delivered(u) == 0 for u in range(n) if u != v)


@given(st.integers(min_value=1, max_value=2048), raw_vectors)
def test_prop_msix_pba_bit_position(n: int, raw: int) -> None:
    """Pending v sets only bit v % 64 of qword v // 64, in a PBA of ceil(N/64) qwords."""
    v = raw % n
    msix = _mastering(n)
    msix.raise_irq(v)  # not enabled: held pending
    expected = [0] * (-(-n // 64))
    expected[v // 64] = 1 << (v % 64)
    assert list(msix.pba) == expected
    assert [u for u in (v - 32, v - 1, v, v + 1, v + 32) if 0 <= u < n and msix.pending(u)] == [v]
    # ceil(N/64) qwords: never one too many when N is a multiple of 64.
    assert len(msix.pba) == (n + 63) // 64 and (len(msix.pba) - 1) * 64 < n


@given(st.integers(min_value=1, max_value=2048), raw_vectors)
def test_prop_msix_entries_reset_masked(n: int, raw: int) -> None:
    """A new table: every entry masked, nothing pending, configured 0, control bits clear."""
    msix = Msix(n)
    assert (msix.vectors, msix.enabled, msix.function_masked) == (n, False, False)
    assert msix.configured == 0 and msix.unmasked_count == 0 and msix.log == ()
    assert not any(msix.pba)
    v = raw % n
    assert msix.masked(v) and not msix.pending(v) and msix.delivered(v) == 0
    assert msix.entry(v).vector_control & 1 == 1


@given(vector_counts, st.integers(min_value=0, max_value=64))
def test_prop_msix_vector_out_of_range(n: int, excess: int) -> None:
    """Vectors at or above N are refused: msix.failed for table ops, irq.failed for irq."""
    msix = _ready(n)
    bad = n + excess
    for call in (
        lambda: msix.program(bad, 0xFEE0_0000, 0),
        lambda: msix.mask(bad),
        lambda: msix.unmask(bad),
        lambda: msix.masked(bad),
        lambda: msix.pending(bad),
    ):
        error_of(ErrorId.MSIX_VECTOR_OUT_OF_RANGE, call)
    error_of(ErrorId.IRQ_VECTOR_OUT_OF_RANGE, lambda: msix.raise_irq(bad))
    error_of(ErrorId.IRQ_VECTOR_OUT_OF_RANGE, lambda: msix.raise_irq(-1 - excess))
    assert msix.log == () and not any(msix.pba)


@given(st.integers(min_value=-4, max_value=4100))
def test_prop_msix_vector_count_bounds(n: int) -> None:
    """A function has 1 to 2048 vectors; any other count is device.invalid:msix.vectors."""
    if 1 <= n <= 2048:
        assert Msix(n).vectors == n
    else:
        error_of(ErrorId.DEVICE_INVALID_MSIX_VECTORS, lambda: Msix(n))


@given(vector_counts, st.lists(st.booleans(), min_size=N_MAX, max_size=N_MAX), st.booleans())
def test_prop_msix_function_mask_preserves_vector_bits(
    n: int, masks: list[bool], enable: bool
) -> None:
    """Function Mask overrides the per-vector bits without changing them."""
    msix = _ready(n, enable)
    for v in range(n):
        if masks[v]:
            msix.mask(v)
    before = [msix.masked(v) for v in range(n)]
    msix.set_function_mask(True)
    assert all(msix.effectively_masked(v) for v in range(n))
    assert [msix.masked(v) for v in range(n)] == before
    msix.set_function_mask(False)
    assert [msix.masked(v) for v in range(n)] == before
    assert [msix.effectively_masked(v) for v in range(n)] == [
        (not enable) or masks[v] for v in range(n)
    ]


@given(
    vector_counts,
    st.integers(min_value=1, max_value=6),
    st.sampled_from(["own", "fmask", "enable"]),
)
def test_prop_msix_pending_delivered_once(n: int, irqs: int, gate: str) -> None:
    """Many irqs while masked leave one pending bit; unmasking delivers exactly one message."""
    msix = _ready(n)
    v = n - 1
    gates: dict[str, tuple[Callable[[], Sent], Callable[[], Sent]]] = {
        "own": (lambda: msix.mask(v), lambda: msix.unmask(v)),
        "fmask": (lambda: msix.set_function_mask(True), lambda: msix.set_function_mask(False)),
        "enable": (lambda: msix.set_enable(False), lambda: msix.set_enable(True)),
    }
    close, reopen = gates[gate]
    close()
    for _ in range(irqs):
        assert msix.raise_irq(v) == ()
    assert msix.pending(v) and msix.delivered(v) == 0
    sent = reopen()
    assert [m.vector for m in sent] == [v]
    assert not msix.pending(v) and msix.delivered(v) == 1
    assert reopen() == () and msix.delivered(v) == 1


@given(
    vector_counts,
    st.sampled_from(VALID),
    st.integers(min_value=0, max_value=0xFFFF_FFFF),
    st.sampled_from(ADDRS),
    st.integers(min_value=0, max_value=0xFFFF_FFFF),
)
def test_prop_msix_delivery_uses_current_entry(
    n: int, addr1: int, data1: int, addr2: int, data2: int
) -> None:
    """A held message goes out with the entry's address/data at delivery, not at the irq."""
    msix = _mastering(n)
    v = n // 2
    msix.program(v, addr1, data1)
    msix.set_enable(True)
    msix.raise_irq(v)  # held: the entry is still masked
    msix.program(v, addr2, data2)  # allowed while masked, even an invalid address
    if _valid(addr2):
        (message,) = msix.unmask(v)
        assert (message.vector, message.addr, message.data) == (v, addr2, data2)
        assert msix.log[-1] == message
    else:
        error_of(ErrorId.MSIX_UNMASK_UNCONFIGURED, lambda: msix.unmask(v))
        assert msix.pending(v) and msix.log == ()


@given(vector_counts, st.sampled_from(INVALID), st.integers(min_value=0, max_value=0xFFFF))
def test_prop_msix_unmasked_entry_rejects_invalid_address(n: int, addr: int, data: int) -> None:
    """An unmasked entry keeps a valid address: reprogramming it with an invalid one fails."""
    msix = _ready(n)
    v = n - 1
    before = msix.entry(v)
    error_of(ErrorId.MSIX_ENTRY_UNMASKED_INVALID, lambda: msix.program(v, addr, data))
    assert msix.entry(v) == before and msix.configured == n


@given(
    st.one_of(
        st.integers(min_value=0, max_value=2**64 - 1),
        st.integers(min_value=0, max_value=0xFFFFF).map(lambda low: 0xFEE0_0000 | low),
        st.integers(min_value=1, max_value=2**32 - 1).map(lambda high: high << 32 | 0xFEE0_0000),
    )
)
def test_prop_msix_valid_address_predicate(addr: int) -> None:
    """A valid x86 MSI address is 0xfeeXXXXX with a zero high dword, nothing else."""
    assert is_valid_msi_address(addr) == (addr >> 20 == 0xFEE)


@given(
    vector_counts,
    st.lists(st.sampled_from(["irq", "enable", "disable", "fmask", "unfmask"]), max_size=20),
)
def test_prop_msix_masked_vectors_never_deliver(n: int, steps: list[str]) -> None:
    """A vector whose own mask bit is set never delivers, whatever the control bits do."""
    msix = _ready(n)
    v = 0
    msix.mask(v)
    for step in steps:
        sent = {
            "irq": lambda: msix.raise_irq(v),
            "enable": lambda: msix.set_enable(True),
            "disable": lambda: msix.set_enable(False),
            "fmask": lambda: msix.set_function_mask(True),
            "unfmask": lambda: msix.set_function_mask(False),
        }[step]()
        assert all(m.vector != v for m in sent)
    assert msix.delivered(v) == 0
    assert msix.pending(v) == ("irq" in steps)


# BARs of the device used for location checks: 0 mem64 64K, 2 mem32 4K, 3 io 256, 4 absent.
LOCATION_BARS = {0: (BarKind.MEM64, 0x10000), 2: (BarKind.MEM32, 0x1000), 3: (BarKind.IO, 0x100)}
location_offsets = st.one_of(
    st.integers(min_value=0, max_value=0x11000).map(lambda k: k // 8 * 8),
    st.sampled_from([0, 4, 0x800, 0x1000 - 8, 0xF000, 0x10000 - 16]),
)


@given(
    st.sampled_from([1, 2, 63, 64, 65, 128, 256]),
    st.sampled_from([0, 2, 3, 4]),
    location_offsets,
    st.sampled_from([0, 2, 3, 4]),
    location_offsets,
)
def test_prop_msix_location_rules(
    n: int, table_bar: int, table_offset: int, pba_bar: int, pba_offset: int
) -> None:
    """Table (16 B/vector) and PBA (8 B/64 vectors) sit 8-byte aligned inside memory BARs,
    without overlapping; anything else is device.invalid:msix.location and adds nothing."""
    device = Device(Bdf(0, 9, 0, 0))
    for index, (kind, size) in LOCATION_BARS.items():
        device.add_bar(BarSpec(index, kind, size))
    table = (table_offset, table_offset + 16 * n - 1)
    pba = (pba_offset, pba_offset + 8 * ((n + 63) // 64) - 1)

    def fits(bar: int, span: tuple[int, int]) -> bool:
        if bar not in LOCATION_BARS or LOCATION_BARS[bar][0] is BarKind.IO:
            return False
        return span[0] % 8 == 0 and span[1] < LOCATION_BARS[bar][1]

    overlap = table_bar == pba_bar and table[0] <= pba[1] and pba[0] <= table[1]
    if fits(table_bar, table) and fits(pba_bar, pba) and not overlap:
        msix = device.add_msix(n, (table_bar, table_offset), (pba_bar, pba_offset))
        assert msix.vectors == n and device.msix is msix
        assert device.msix_location == MsixLocation(table_bar, table_offset, pba_bar, pba_offset)
    else:
        error_of(
            ErrorId.DEVICE_INVALID_MSIX_LOCATION,
            lambda: device.add_msix(n, (table_bar, table_offset), (pba_bar, pba_offset)),
        )
        assert device.msix is None and device.msix_location is None
