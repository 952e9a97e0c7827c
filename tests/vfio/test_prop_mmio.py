"""Properties of guest MMIO and function-level reset (`harness/vfio/mmio.py`, `Device.reset`).

Expectations come from the scenario language v2 and the PCI spec, restated simply: a BAR
answers only while its Command decode bit is set (a read otherwise returns all ones, a write
is dropped); the MSI-X table reached through the BAR is the same state the `msix` statements
program; the rest of a BAR is plain little-endian memory; a reset makes a device read exactly
as a twin that was only declared, except the messages already delivered.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from harness.vfio.bars import BarKind, BarSpec, RomSpec
from harness.vfio.catalog import VfioError
from harness.vfio.device import Device
from harness.vfio.pci import Bdf
from harness.vfio.vmm import Vmm

MEMORY, IO, MASTER = 0x0002, 0x0001, 0x0004
TABLE, PBA = 0x1000, 0x1800  # in BAR 0
N = 8
VALID = (0xFEE0_0000, 0xFEE0_1000, 0xFEEF_F00C)
ADDRS = (*VALID, 0, 0xFED0_0000, 0x1_FEE0_0000)
datas = st.integers(0, 0xFFFF_FFFF)


def device(vmm: Vmm | None = None) -> Device:
    """BAR0 mem64 8K (MSI-X table at 0x1000, PBA at 0x1800), BAR2 mem32 4K, BAR4 io 64, a ROM."""
    bdf = Bdf(0, 5, 0, 0)
    d = Device(bdf) if vmm is None else vmm.new_device(bdf)
    d.add_bar(BarSpec(0, BarKind.MEM64, 0x2000, prefetch=True))
    d.add_bar(BarSpec(2, BarKind.MEM32, 0x1000))
    d.add_bar(BarSpec(4, BarKind.IO, 64))
    d.add_rom(RomSpec(0x800))
    d.add_msix(N, (0, TABLE), (0, PBA))
    return d


def entry_state(d: Device) -> list[tuple[int, int, bool, bool, int]]:
    """Every entry's address, data, mask, pending bit and delivery count, plus control."""
    msix = d.msix
    assert msix is not None
    return [
        (msix.entry(v).addr, msix.entry(v).data, msix.masked(v), msix.pending(v), msix.delivered(v))
        for v in range(N)
    ]


# One step of entry programming: (vector, address, data, unmask?).
steps = st.lists(
    st.tuples(st.integers(0, N - 1), st.sampled_from(ADDRS), datas, st.booleans()),
    max_size=12,
)


def attempt(call: Callable[[], object]) -> object:
    """What a call gives: its result, or the id it failed with."""
    try:
        return call()
    except VfioError as error:
        return error.id


@given(steps, st.lists(st.integers(0, N - 1), max_size=6), st.booleans())
def test_prop_mmio_table_writes_equal_the_msix_statements(
    program: list[tuple[int, int, int, bool]], irqs: list[int], dwords: bool
) -> None:
    """Programming entries through MMIO or through `msix entry`/`msix unmask` gives the same
    entries, counts, pending bits, messages and the same errors. The guest writes an address
    as one qword, or (while the entry is masked, as Linux's `pci_write_msg_msix` does) as two
    dwords, then the data; it unmasks by clearing Vector Control bit 0."""
    by_call, by_mmio = device(), device()
    for d in (by_call, by_mmio):
        d.cfg_write(0x04, MEMORY | MASTER, 2)
        assert d.msix is not None
        d.msix.set_enable(True)
        for v in irqs:  # everything is masked yet: these pend
            d.irq(v)
    calls, guest = by_call.msix, by_mmio
    assert calls is not None and by_mmio.msix is not None
    for v, addr, data, unmask in program:
        at = TABLE + 16 * v

        def write_entry(at: int = at, addr: int = addr, data: int = data, v: int = v) -> object:
            assert by_mmio.msix is not None
            if dwords and by_mmio.msix.masked(v):
                guest.mmio_write(0, at, addr & 0xFFFF_FFFF, 4)
                guest.mmio_write(0, at + 4, addr >> 32, 4)
            else:
                guest.mmio_write(0, at, addr, 8)
            return guest.mmio_write(0, at + 8, data, 4)

        def statement(v: int = v, addr: int = addr, data: int = data) -> object:
            return calls.program(v, addr, data)

        assert attempt(statement) == attempt(write_entry)
        if unmask:
            by_statement = attempt(functools.partial(calls.unmask, v))
            assert by_statement == attempt(functools.partial(guest.mmio_write, 0, at + 12, 0, 4))
        assert entry_state(by_mmio) == entry_state(by_call)
    assert by_mmio.msix.log == calls.log
    assert by_mmio.msix.configured == calls.configured


@given(
    st.integers(0, 0xFFFF),
    st.sampled_from([(0, 0x0), (0, 0x1FF8), (2, 0x10), (2, 0xFF8), (4, 0x0), (4, 0x38)]),
    st.sampled_from([1, 2, 4, 8]),
    st.integers(0, 2**64 - 1),
)
def test_prop_mmio_decode_gating(
    command: int, where: tuple[int, int], size: int, value: int
) -> None:
    """A memory BAR answers only with Memory Space (bit 1), an I/O BAR only with I/O Space
    (bit 0), whatever else is set: otherwise reads are all ones and writes are dropped."""
    bar, offset = where
    if bar == 4 and size == 8:
        size = 4  # I/O has no 8-byte access
    value &= (1 << (8 * size)) - 1
    d = device()
    d.cfg_write(0x04, command, 2)
    decodes = bool(command & (IO if bar == 4 else MEMORY))
    d.mmio_write(bar, offset, value, size)
    read = d.mmio_read(bar, offset, size)
    assert read == (value if decodes else (1 << (8 * size)) - 1)
    d.cfg_write(0x04, MEMORY | IO, 2)
    assert d.mmio_read(bar, offset, size) == (value if decodes else 0)


@given(
    st.lists(
        st.tuples(st.integers(0, 0x1FF), st.sampled_from([1, 2, 4, 8]), st.integers(0, 2**64 - 1)),
        max_size=20,
    ),
    st.integers(0, 0x1FF),
)
def test_prop_mmio_plain_memory_is_little_endian_bytes(
    writes: list[tuple[int, int, int]], probe: int
) -> None:
    """Outside the MSI-X structures a BAR holds the bytes last written, 0 before."""
    d = device()
    d.cfg_write(0x04, MEMORY, 2)
    memory = bytearray(0x1000)
    for slot, size, value in writes:
        offset = slot * 8 // size * size  # aligned to its size, inside the first 4K
        value &= (1 << (8 * size)) - 1
        d.mmio_write(2, offset, value, size)
        memory[offset : offset + size] = value.to_bytes(size, "little")
    offset = probe * 8
    assert d.mmio_read(2, offset, 8) == int.from_bytes(memory[offset : offset + 8], "little")


@given(
    st.lists(
        st.one_of(
            st.tuples(
                st.just("cfg"),
                st.sampled_from([0x04, 0x0C, 0x10, 0x18, 0x30, 0x3C, 0x40]),
                st.integers(0, 0xFFFF_FFFF),
            ),
            st.tuples(
                st.just("mmio"),
                st.sampled_from([0x0, 0x100, TABLE, TABLE + 12, TABLE + 24]),
                st.integers(0, 0xFFFF_FFFF),
            ),
            st.tuples(st.just("msix"), st.integers(0, N - 1), st.sampled_from(ADDRS)),
            st.tuples(st.just("irq"), st.integers(0, N - 1), st.just(0)),
            st.tuples(st.just("alloc"), st.just(0), st.just(0)),
        ),
        max_size=16,
    )
)
def test_prop_reset_returns_to_the_declared_state(ops: list[tuple[str, int, int]]) -> None:
    """After any guest activity, a reset leaves the device reading exactly as a twin that
    was only declared: config space, BAR addresses, MSI-X table, PBA, control bits and the
    device's registers; only the delivery history stays."""
    vmm = Vmm()
    d, twin = device(vmm), device(vmm)
    assert d.msix is not None and twin.msix is not None
    for op, a, b in ops:
        try:
            if op == "cfg":
                d.cfg_write(a, b)
            elif op == "mmio":
                d.mmio_write(0, a, b)
            elif op == "msix":
                d.msix.program(a, b, 0x40 + a)
                d.msix.unmask(a)
                d.msix.set_enable(True)
            elif op == "irq":
                d.irq(a)
            else:
                vmm.alloc(d)
        except VfioError:
            pass  # a refused operation changes nothing; what matters is the state after it
    delivered = [d.msix.delivered(v) for v in range(N)]
    last = [d.msix.last_message(v) for v in range(N)]
    d.reset()
    assert [d.cfg_read(o) for o in range(0, 0x100, 4)] == [
        twin.cfg_read(o) for o in range(0, 0x100, 4)
    ]
    assert [d.bar_gpa(i) for i in range(6)] == [0] * 6 and d.rom_gpa == 0
    assert d.msix.pba == twin.msix.pba and d.msix.configured == 0
    assert [d.msix.entry(v) for v in range(N)] == [twin.msix.entry(v) for v in range(N)]
    assert (d.msix.enabled, d.msix.function_masked, d.msix.bus_master) == (False, False, False)
    for target in (d, twin):
        target.cfg_write(0x04, MEMORY | IO, 2)
    for bar, offset in ((0, 0x0), (0, 0x100), (0, TABLE), (0, TABLE + 12), (2, 0), (4, 0)):
        assert d.mmio_read(bar, offset) == twin.mmio_read(bar, offset)
    assert [d.msix.delivered(v) for v in range(N)] == delivered
    assert [d.msix.last_message(v) for v in range(N)] == last
