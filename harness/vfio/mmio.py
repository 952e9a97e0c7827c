"""Guest MMIO (and port I/O) to a function's BARs: the access checks, decode, and what answers.

An access is `size` bytes at `offset` from the start of BAR `bar`, little-endian (PCI is).
Checks, in this order, before anything else (so they hold whatever the Command register says):

1. `mmio.access.failed:no.bar`: the BAR is absent, or `bar` is the upper slot of a 64-bit BAR
   (VFIO has no region for it: `vfio_pci_bar_rw` in drivers/vfio/pci/vfio_pci_rdwr.c finds no
   resource there and returns EINVAL).
2. `mmio.access.failed:out.of.range`: offset + size passes the BAR's size (a guest access
   outside the BAR is not decoded by this function at all).
3. `mmio.access.failed:unaligned`: size not 1, 2, 4 or 8 (an I/O BAR takes 1, 2 or 4: x86
   port I/O has no 8-byte form), offset not a multiple of size, or an access to the MSI-X
   table or PBA that is not an aligned 4- or 8-byte one (`msix.structure_access_error`).

Then decode (PCI Local Bus 3.0 §6.2.2, PCIe Base §7.5.1.1): a memory BAR answers while
Command bit 1 (Memory Space) is set, an I/O BAR while bit 0 (I/O Space) is set, wherever the
BAR is placed. While its decode is off, a read returns all ones for its size and a write is
dropped, with no error: the access ends in a master abort, which is what a guest sees.

A decoded access lands in the MSI-X table or PBA when the function has them there (the rules
are in `msix.py`), and elsewhere in the device's own registers, which this model keeps as plain
memory: a read returns the bytes last written there, 0 before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.vfio.bars import BarKind, BarSpec
from harness.vfio.catalog import Detail, ErrorId, VfioError
from harness.vfio.config_space import PCI_COMMAND_IO, PCI_COMMAND_MEMORY
from harness.vfio.msix import Message, Msix, pba_size, structure_access_error, table_size

ACCESS_SIZES = (1, 2, 4, 8)
IO_ACCESS_SIZES = (1, 2, 4)
_QWORD = 8


@dataclass(frozen=True, slots=True)
class BarAccess(Detail):
    """A refused MMIO access: the BAR, the offset into it and the size."""

    bar: int
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class MsixLocation:
    """Where a function's MSI-X table and PBA live: (BAR, offset) of each."""

    table_bar: int
    table_offset: int
    pba_bar: int
    pba_offset: int


def _fail(kind: ErrorId, message: str, bar: int, offset: int, size: int) -> VfioError:
    return VfioError(kind, message, BarAccess(bar, offset, size))


class BarSpace:
    """What answers the guest's accesses to one function's BARs."""

    def __init__(self, bars: Mapping[int, BarSpec]) -> None:
        self._bars = bars  # the device's own view: BARs added later are seen
        self._msix: Msix | None = None
        self._location: MsixLocation | None = None
        # Plain memory, sparse: (BAR, qword index) -> the qword's value.
        self._memory: dict[tuple[int, int], int] = {}

    def add_msix(self, msix: Msix, location: MsixLocation) -> None:
        """Put the MSI-X table and PBA where `location` says."""
        self._msix = msix
        self._location = location

    def reset(self) -> None:
        """Function-level reset: the device's registers read 0 again."""
        self._memory.clear()

    # -- checks ----------------------------------------------------------------------------

    def _spec(self, bar: int, offset: int, size: int) -> BarSpec:
        """The BAR an access goes to, after the checks of the module docstring."""
        spec = self._bars.get(bar)
        if spec is None:
            below = self._bars.get(bar - 1)
            upper = below is not None and below.is_64bit
            reason = (
                f"BAR {bar} is the upper half of 64-bit BAR {bar - 1}"
                if upper
                else (f"the device has no BAR {bar}")
            )
            raise _fail(ErrorId.MMIO_NO_BAR, f"MMIO to BAR {bar}: {reason}", bar, offset, size)
        if offset < 0 or offset + size > spec.size:
            raise _fail(
                ErrorId.MMIO_OUT_OF_RANGE,
                f"MMIO of {size} bytes at {offset:#x} passes BAR {bar} ({spec.size:#x} bytes)",
                bar,
                offset,
                size,
            )
        sizes = IO_ACCESS_SIZES if spec.kind is BarKind.IO else ACCESS_SIZES
        if size not in sizes or offset % size:
            raise _fail(
                ErrorId.MMIO_UNALIGNED,
                f"MMIO of {size} bytes at {offset:#x} into BAR {bar}: the size must be one of"
                f" {', '.join(map(str, sizes))} and the offset a multiple of it",
                bar,
                offset,
                size,
            )
        structure = self._structure(bar, offset)
        if structure is not None:
            problem = structure_access_error(structure[0], offset, size)
            if problem is not None:
                raise _fail(ErrorId.MMIO_UNALIGNED, problem, bar, offset, size)
        return spec

    def _structure(self, bar: int, offset: int) -> tuple[str, int] | None:
        """(`table` or `PBA`, offset into it) when byte `offset` of `bar` is MSI-X's."""
        where, msix = self._location, self._msix
        if where is None or msix is None:
            return None
        for what, at, start, length in (
            ("table", where.table_bar, where.table_offset, table_size(msix.vectors)),
            ("PBA", where.pba_bar, where.pba_offset, pba_size(msix.vectors)),
        ):
            if bar == at and start <= offset < start + length:
                return what, offset - start
        return None

    @staticmethod
    def _decodes(spec: BarSpec, command: int) -> bool:
        enable = PCI_COMMAND_IO if spec.kind is BarKind.IO else PCI_COMMAND_MEMORY
        return bool(command & enable)

    # -- accesses --------------------------------------------------------------------------

    def read(self, bar: int, offset: int, size: int, command: int) -> int:
        """A guest read of `size` bytes at `offset` into BAR `bar`, with Command `command`."""
        spec = self._spec(bar, offset, size)
        if not self._decodes(spec, command):
            return (1 << (8 * size)) - 1
        structure = self._structure(bar, offset)
        if structure is not None and self._msix is not None:
            what, at = structure
            if what == "table":
                return self._msix.table_read(at, size)
            return self._msix.pba_read(at, size)
        qword = self._memory.get((bar, offset // _QWORD), 0)
        return qword >> (8 * (offset % _QWORD)) & ((1 << (8 * size)) - 1)

    def write(
        self, bar: int, offset: int, value: int, size: int, command: int
    ) -> tuple[Message, ...]:
        """A guest write; returns the MSI-X messages it released (a table unmask)."""
        spec = self._spec(bar, offset, size)
        if not 0 <= value < 1 << (8 * size):
            raise ValueError(f"MMIO write value {value:#x} does not fit {size} bytes")
        if not self._decodes(spec, command):
            return ()
        structure = self._structure(bar, offset)
        if structure is not None and self._msix is not None:
            what, at = structure
            if what == "table":
                return self._msix.table_write(at, value, size)
            return ()  # the PBA is read-only: writes are ignored
        key, shift = (bar, offset // _QWORD), 8 * (offset % _QWORD)
        mask = ((1 << (8 * size)) - 1) << shift
        self._memory[key] = (self._memory.get(key, 0) & ~mask) | (value << shift)
        return ()
