"""A passthrough PCI function as the VMM presents it: BARs, ROM, MSI-X and config space.

A device is built member by member, as a `device { ... }` block declares it; each member is
validated on its own and a bad member is not added (the device stays usable). The guest sees
the device through `config` (shadow registers, guest addresses only) and through its BARs
(`mmio_read`/`mmio_write`, see `mmio.py`); the host side holds a distinct fake host (physical)
address per BAR so tests can prove the shadowing never leaks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from harness.vfio.address import U64_MAX, Range
from harness.vfio.bars import BarKind, BarSpec, Declared, Member, Placement, RomSpec, members_of
from harness.vfio.catalog import Detail, ErrorId, VfioError
from harness.vfio.config_space import ConfigSpace, Event
from harness.vfio.dma import X86_MSI_RESERVED
from harness.vfio.mmio import BarSpace, MsixLocation
from harness.vfio.msix import Message, Msix, pba_size, table_size
from harness.vfio.pci import BAR_COUNT, Bdf, Region

MSIX_ALIGN = 8  # table and PBA offsets are qword aligned (BIR takes bits 2:0)


class HostSpace:
    """Fake host physical BAR addresses for the devices of one VMM, far above the guest's.

    Each device gets a 1 TiB slice and each region a 64 GiB slot in it. Inside its slot a BAR
    of up to 1 GiB sits at low dword 0x40000000 (a multiple of every such size), so not even
    the low dword of a host address looks like a default guest 32-bit address or 0. Larger
    BARs align within the slot, and BARs above 64 GiB get naturally aligned space from a
    separate area.
    """

    BASE = 0x3800_0000_0000
    SLICE = 1 << 40
    SLOT = 1 << 36
    LOW_DWORD = 0x4000_0000
    HUGE_BASE = 1 << 56

    def __init__(self) -> None:
        self._slices = 0
        self._huge_cursor = self.HUGE_BASE

    def new_slice(self) -> int:
        """The base of the next device's slice."""
        base = self.BASE + self._slices * self.SLICE
        self._slices += 1
        return base

    def address(self, slice_base: int, region: Region, size: int) -> int:
        """A distinct, naturally aligned fake host address for one region of one device."""
        if size <= self.LOW_DWORD:
            return slice_base + int(region) * self.SLOT + self.LOW_DWORD
        if size <= self.SLOT:
            return slice_base + int(region) * self.SLOT + (size if size < 1 << 32 else 0)
        address = -(-self._huge_cursor // size) * size
        if address + size - 1 > U64_MAX:  # only for absurd sizes; distinctness is best-effort
            address = size
        self._huge_cursor = address + size
        return address


@dataclass(frozen=True, slots=True)
class SlotTaken(Detail):
    """A BAR whose slot is held: the BAR, the slot, and the BAR holding it."""

    index: int
    slot: int
    owner: int


@dataclass(frozen=True, slots=True)
class MsixPlace(Detail):
    """Where a rejected MSI-X table or PBA was declared."""

    what: str
    bar: int
    offset: int


def _location_error(message: str, what: str, bar: int, offset: int) -> VfioError:
    return VfioError(ErrorId.DEVICE_INVALID_MSIX_LOCATION, message, MsixPlace(what, bar, offset))


class Device:
    """One assigned PCI function."""

    def __init__(
        self,
        bdf: Bdf | None,
        reserved_regions: tuple[Range, ...] = X86_MSI_RESERVED,
        host: HostSpace | None = None,
    ) -> None:
        self.bdf = bdf
        # The IOMMU group's reserved regions, added to a container on attach (IOMMU_RESV_MSI
        # on x86). A bad BDF still declares the device, so bdf may be None.
        self.reserved_regions = reserved_regions
        self.config = ConfigSpace()
        self._bars: dict[int, BarSpec] = {}
        self._rom: RomSpec | None = None
        self._msix: Msix | None = None
        self._msix_location: MsixLocation | None = None
        self._space = BarSpace(self._bars)
        self._host = HostSpace() if host is None else host
        self._host_base = self._host.new_slice()
        self._host_address: dict[Region, int] = {}

    def __repr__(self) -> str:
        return f"Device({self.bdf!s})"

    # -- members ---------------------------------------------------------------------------

    def _slot_owner(self, slot: int) -> BarSpec | None:
        if slot in self._bars:
            return self._bars[slot]
        below = self._bars.get(slot - 1)
        return below if below is not None and below.is_64bit else None

    def add_bar(self, spec: BarSpec) -> None:
        """Add a BAR; its slot(s) must be free (`device.invalid:bar.slot`)."""
        for slot in spec.slots:
            owner = self._slot_owner(slot)
            if owner is not None:
                raise VfioError(
                    ErrorId.DEVICE_INVALID_BAR_SLOT,
                    f"BAR {spec.index} needs slot {slot}, already taken by BAR {owner.index}"
                    f" ({owner.kind.value})",
                    SlotTaken(spec.index, slot, owner.index),
                )
        self._bars[spec.index] = spec
        self.config.add_bar(spec)
        self._assign_host(Region(spec.index), spec.size)

    def add_rom(self, spec: RomSpec) -> None:
        """Add the expansion ROM; a second one is `device.invalid:bar.slot`."""
        if self._rom is not None:
            raise VfioError(
                ErrorId.DEVICE_INVALID_BAR_SLOT,
                f"the device already has a {self._rom.size:#x}-byte ROM",
                Declared(None, spec.size),
            )
        self._rom = spec
        self.config.add_rom(spec)
        self._assign_host(Region.ROM, spec.size)

    def _assign_host(self, region: Region, size: int) -> None:
        self._host_address[region] = self._host.address(self._host_base, region, size)

    def add_msix(self, vectors: int, table: tuple[int, int], pba: tuple[int, int]) -> Msix:
        """Add MSI-X with its table and PBA at `(bar, offset)` locations inside memory BARs."""
        if self._msix is not None:
            raise VfioError(
                ErrorId.DEVICE_INVALID_MSIX_DUPLICATE,
                f"the device already has MSI-X with {self._msix.vectors} vectors",
            )
        msix = Msix(vectors)  # raises device.invalid:msix.vectors
        spans: dict[str, Range] = {}
        for what, (bar, offset), length in (
            ("table", table, table_size(vectors)),
            ("PBA", pba, pba_size(vectors)),
        ):
            spec = self._bars.get(bar)
            if spec is None:
                raise _location_error(
                    f"MSI-X {what} is in BAR {bar}, which the device does not have",
                    what,
                    bar,
                    offset,
                )
            if spec.kind is BarKind.IO:
                raise _location_error(f"MSI-X {what} is in BAR {bar}, an io BAR", what, bar, offset)
            if offset < 0 or offset % MSIX_ALIGN:
                raise _location_error(
                    f"MSI-X {what} offset {offset:#x} is not 8-byte aligned", what, bar, offset
                )
            if offset + length > spec.size:
                raise _location_error(
                    f"MSI-X {what} [{offset:#x}, {offset + length - 1:#x}] lies outside BAR"
                    f" {bar} ({spec.size:#x} bytes)",
                    what,
                    bar,
                    offset,
                )
            spans[what] = Range.from_size(offset, length)
        if table[0] == pba[0] and spans["table"].overlaps(spans["PBA"]):
            raise _location_error(
                f"MSI-X table {spans['table']} and PBA {spans['PBA']} overlap in BAR {table[0]}",
                "PBA",
                pba[0],
                pba[1],
            )
        location = MsixLocation(table[0], table[1], pba[0], pba[1])
        self._msix = msix
        self._msix_location = location
        self.config.add_msix(msix, *table, *pba)
        self._space.add_msix(msix, location)
        return msix

    # -- queries ---------------------------------------------------------------------------

    @property
    def bars(self) -> Mapping[int, BarSpec]:
        """The declared BARs by index."""
        return MappingProxyType(self._bars)

    @property
    def rom(self) -> RomSpec | None:
        """The declared ROM, if any."""
        return self._rom

    @property
    def msix(self) -> Msix | None:
        """MSI-X state, or None when the device has none."""
        return self._msix

    @property
    def msix_location(self) -> MsixLocation | None:
        """Where the MSI-X table and PBA are, or None without MSI-X."""
        return self._msix_location

    def require_msix(self) -> Msix:
        """MSI-X state, or `msix.failed:unsupported`."""
        if self._msix is None:
            raise VfioError(
                ErrorId.MSIX_UNSUPPORTED, f"device {self.bdf!s} has no MSI-X capability"
            )
        return self._msix

    def bar_size(self, index: int) -> int:
        """Size of BAR `index` (0 when absent; the high slot of a 64-bit BAR is absent)."""
        spec = self._bars.get(index)
        return 0 if spec is None else spec.size

    def bar_gpa(self, index: int) -> int:
        """Guest address of BAR `index` (0 before allocation or when absent)."""
        return self.config.bar_address(index)

    @property
    def rom_size(self) -> int:
        """Size of the ROM (0 when absent)."""
        return 0 if self._rom is None else self._rom.size

    @property
    def rom_gpa(self) -> int:
        """Guest address of the ROM (0 before allocation or when absent)."""
        return self.config.rom_address

    def host_address(self, region: Region) -> int:
        """The fake host physical address of a BAR or the ROM (never visible to the guest)."""
        return self._host_address[region]

    def members(self) -> tuple[Member, ...]:
        """What `alloc` places for this device."""
        bars = [self._bars[i] for i in sorted(self._bars) if i < BAR_COUNT]
        return members_of(bars, self._rom)

    def apply(self, placements: tuple[Placement, ...]) -> None:
        """Set guest addresses from an allocation."""
        for placement in placements:
            self.config.place(placement.region, placement.address)

    # -- guest operations ------------------------------------------------------------------

    def cfg_read(self, offset: int, size: int = 4) -> int:
        """A guest config-space read."""
        return self.config.read(offset, size)

    def cfg_write(self, offset: int, value: int, size: int = 4) -> tuple[Event, ...]:
        """A guest config-space write; returns the events it caused."""
        return self.config.write(offset, value, size)

    def irq(self, vector: int) -> tuple[Message, ...]:
        """The device raises `vector` (`msix.failed:unsupported` without MSI-X)."""
        return self.require_msix().raise_irq(vector)

    @property
    def command(self) -> int:
        """The Command register as the guest reads it."""
        return self.config.command

    def mmio_read(self, bar: int, offset: int, size: int = 4) -> int:
        """A guest read of `size` bytes at `offset` into BAR `bar` (rules in `mmio.py`)."""
        return self._space.read(bar, offset, size, self.config.command)

    def mmio_write(self, bar: int, offset: int, value: int, size: int = 4) -> tuple[Message, ...]:
        """A guest write into BAR `bar`; returns the MSI-X messages it released."""
        return self._space.write(bar, offset, value, size, self.config.command)

    def reset(self) -> None:
        """Function-level reset (PCIe §6.6.2; QEMU `pci_do_device_reset` and `msix_reset`).

        Config space returns to its power-on values (Command 0, BARs and ROM unplaced),
        MSI-X to its reset state (Enable and Function Mask clear, entries zeroed and masked,
        PBA clear; the messages already delivered stay history), and the device's own
        registers in its BARs to 0. The host side (BARs, ROM, host addresses) and the
        device's attachment and DMA mappings are not part of the function and stay.
        """
        self.config.reset()
        if self._msix is not None:
            self._msix.reset()
        self._space.reset()
