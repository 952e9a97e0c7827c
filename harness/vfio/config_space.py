"""The guest's view of a device's 4 KiB PCIe config space: register values plus writable masks.

Every byte has a value and a writable mask (as cloud-hypervisor's `configuration.rs`); a write
of any width is a read-modify-write through the mask, so read-only bits (BAR type bits, the
MSI-X table size, the capability pointer) never change and unimplemented registers read 0 and
ignore writes. Side effects are returned as events, never performed on the caller's behalf.

BAR and ROM registers are shadows: they hold guest addresses only. Host (physical) BAR
addresses live in `Device` and never reach these bytes.

- Sizing: a dword write with every address bit of the register set is a sizing write. The
  register then reads the size mask plus the read-only type bits (that is just the writable
  mask at work) until the next write, and the BAR does not move.
- Relocation: any other write that changes a BAR's address moves it and returns
  `BarRelocated`. A 32-bit or I/O BAR moves on the write of its register; a 64-bit BAR moves
  on the write of its high dword (the low dword is latched), as Linux writes low then high.
  The ROM moves on a write of its register (bit 0, the enable bit, is kept as written).
- MSI-X: the capability sits at `MSIX_CAP_OFFSET` (0x40), the first capability after the
  type 0 header, reached from the capability pointer (0x34) with Status bit 4 set. Only
  Message Control bits 14 (Function Mask) and 15 (Enable) are writable; writing them drives
  `Msix.set_control`, whose deliveries come back as `VectorDelivered` events.
- Read-write header registers, as QEMU's `pci_init_wmask` (hw/pci/pci.c) makes them: Cache
  Line Size (0x0c), Interrupt Line (0x3c), and the Command bits I/O Space, Memory Space, Bus
  Master, SERR# Enable and Interrupt Disable. Every other Command bit reads 0. Bus Master
  Enable is passed on to MSI-X (`Msix.set_bus_master`), which it gates.
- Reset (`reset`): every register back to its power-on value, as the declaration built it.

Access checks, in this order: size not 1, 2 or 4, or an access crossing a dword boundary
(offset % 4 + size > 4) → `config.access.failed:unaligned`; then offset+size beyond 4096 →
`config.access.failed:out.of.range`. Alignment first because it is a property of the access
alone, as a bus rejects a malformed transaction before decoding its address. A 2-byte access
at an odd offset inside one dword is legal: PCIe config requests carry byte enables for any
bytes of one dword (PCIe Base spec §2.2.5), and vfio-pci splits such an access into byte
accesses (`vfio_config_do_rw` in drivers/vfio/pci/vfio_pci_config.c).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.vfio.bars import (
    BAR_IO_ADDR_MASK,
    BAR_MEM_ADDR_MASK,
    DWORD,
    ROM_ADDR_MASK,
    ROM_ENABLE,
    BarKind,
    BarSpec,
    RomSpec,
)
from harness.vfio.catalog import Detail, ErrorId, VfioError
from harness.vfio.msix import MSIX_CAP_ID, Message, Msix
from harness.vfio.pci import ROM_CONFIG_OFFSET, Region, bar_config_offset, bar_index_at

CONFIG_SPACE_SIZE = 4096
ACCESS_SIZES = (1, 2, 4)

# Type 0 header (include/uapi/linux/pci_regs.h names)
PCI_VENDOR_ID = 0x00
PCI_DEVICE_ID = 0x02
PCI_COMMAND = 0x04
PCI_STATUS = 0x06
PCI_REVISION_ID = 0x08
PCI_CLASS_PROG = 0x09
PCI_CACHE_LINE_SIZE = 0x0C
PCI_HEADER_TYPE = 0x0E
PCI_CAPABILITY_LIST = 0x34
PCI_INTERRUPT_LINE = 0x3C
PCI_STATUS_CAP_LIST = 0x10
PCI_COMMAND_IO = 0x0001
PCI_COMMAND_MEMORY = 0x0002
PCI_COMMAND_MASTER = 0x0004
PCI_COMMAND_SERR = 0x0100
PCI_COMMAND_INTX_DISABLE = 0x0400
PCI_COMMAND_WRITABLE = (
    PCI_COMMAND_IO
    | PCI_COMMAND_MEMORY
    | PCI_COMMAND_MASTER
    | PCI_COMMAND_SERR
    | PCI_COMMAND_INTX_DISABLE
)

MSIX_CAP_OFFSET = 0x40
PCI_MSIX_FLAGS = 2  # Message Control, relative to the capability
PCI_MSIX_TABLE = 4
PCI_MSIX_PBA = 8
PCI_MSIX_FLAGS_QSIZE = 0x07FF
PCI_MSIX_FLAGS_MASKALL = 0x4000
PCI_MSIX_FLAGS_ENABLE = 0x8000
PCI_MSIX_BIR = 0x7

DEFAULT_VENDOR_ID = 0x10DE  # NVIDIA
DEFAULT_DEVICE_ID = 0x2330
DEFAULT_CLASS = 0x030200  # display controller, 3D controller


@dataclass(frozen=True, slots=True)
class BarRelocated:
    """The guest moved a BAR (or the ROM, region 6) from `old` to `new`."""

    region: Region
    old: int
    new: int

    def __repr__(self) -> str:
        return f"BarRelocated(Region.{self.region.name}, {self.old:#x}, {self.new:#x})"


@dataclass(frozen=True, slots=True)
class VectorDelivered:
    """A Message Control write released a pending MSI-X message."""

    message: Message


Event = BarRelocated | VectorDelivered


@dataclass(frozen=True, slots=True)
class Access(Detail):
    """A refused config access: its offset and size."""

    offset: int
    size: int


def check_access(offset: int, size: int) -> None:
    """Raise the config access error for a bad (offset, size), unaligned first."""
    if size not in ACCESS_SIZES or offset % 4 + size > 4:
        raise VfioError(
            ErrorId.CONFIG_UNALIGNED,
            f"config access of size {size} at {offset:#x}: size must be 1, 2 or 4 and the"
            " access must stay inside one dword",
            Access(offset, size),
        )
    if offset < 0 or offset + size > CONFIG_SPACE_SIZE:
        raise VfioError(
            ErrorId.CONFIG_OUT_OF_RANGE,
            f"config access {offset:#x}+{size} passes the {CONFIG_SPACE_SIZE}-byte config space",
            Access(offset, size),
        )


class ConfigSpace:
    """Register values and writable masks of one function's config space."""

    def __init__(
        self,
        vendor_id: int = DEFAULT_VENDOR_ID,
        device_id: int = DEFAULT_DEVICE_ID,
        class_code: int = DEFAULT_CLASS,
    ) -> None:
        self._ids = (vendor_id, device_id, class_code)
        self._bars: dict[int, BarSpec] = {}
        self._rom: RomSpec | None = None
        self._msix: Msix | None = None
        self._msix_location = (0, 0, 0, 0)
        self._power_on()

    def _power_on(self) -> None:
        """Every register at its power-on value, for the members declared so far."""
        self._value = bytearray(CONFIG_SPACE_SIZE)
        self._wmask = bytearray(CONFIG_SPACE_SIZE)
        self._bar_address: dict[int, int] = {}
        self._rom_address = 0
        vendor_id, device_id, class_code = self._ids
        self._set(PCI_VENDOR_ID, 2, vendor_id)
        self._set(PCI_DEVICE_ID, 2, device_id)
        self._set(PCI_COMMAND, 2, 0, PCI_COMMAND_WRITABLE)
        self._set(PCI_CLASS_PROG, 3, class_code)
        self._set(PCI_CACHE_LINE_SIZE, 1, 0, 0xFF)
        self._set(PCI_HEADER_TYPE, 1, 0)
        self._set(PCI_INTERRUPT_LINE, 1, 0, 0xFF)
        for spec in self._bars.values():
            self._expose_bar(spec)
        if self._rom is not None:
            self._expose_rom(self._rom)
        if self._msix is not None:
            self._expose_msix(self._msix.vectors, *self._msix_location)

    def reset(self) -> None:
        """Function-level reset: every register back to its power-on value (PCIe §6.6.2).

        BARs and the ROM read as after declaration (address 0, not placed), Command is 0,
        Cache Line Size and Interrupt Line are 0. MSI-X state lives in `Msix`, which the
        device resets beside this.
        """
        self._power_on()

    # -- raw register bytes ----------------------------------------------------------------

    def _set(self, offset: int, size: int, value: int, wmask: int | None = None) -> None:
        self._value[offset : offset + size] = value.to_bytes(size, "little")
        if wmask is not None:
            self._wmask[offset : offset + size] = wmask.to_bytes(size, "little")

    def _get(self, offset: int, size: int) -> int:
        return int.from_bytes(self._value[offset : offset + size], "little")

    # -- building (host side) --------------------------------------------------------------

    def add_bar(self, spec: BarSpec) -> None:
        """Expose a BAR: type bits read-only, address bits writable down to its size."""
        self._bars[spec.index] = spec
        self._expose_bar(spec)

    def _expose_bar(self, spec: BarSpec) -> None:
        self._bar_address[spec.index] = 0
        mask = spec.address_mask
        self._set(bar_config_offset(spec.index), 4, spec.register(0) & DWORD, mask & DWORD)
        if spec.is_64bit:
            self._set(bar_config_offset(spec.index + 1), 4, 0, mask >> 32)

    def add_rom(self, spec: RomSpec) -> None:
        """Expose the expansion ROM register at 0x30."""
        self._rom = spec
        self._expose_rom(spec)

    def _expose_rom(self, spec: RomSpec) -> None:
        self._rom_address = 0
        self._set(ROM_CONFIG_OFFSET, 4, spec.register(0), spec.address_mask | ROM_ENABLE)

    def add_msix(
        self, msix: Msix, table_bar: int, table_offset: int, pba_bar: int, pba_offset: int
    ) -> None:
        """Expose the MSI-X capability at `MSIX_CAP_OFFSET`."""
        self._msix = msix
        self._msix_location = (table_bar, table_offset, pba_bar, pba_offset)
        self._expose_msix(msix.vectors, *self._msix_location)

    def _expose_msix(
        self, vectors: int, table_bar: int, table_offset: int, pba_bar: int, pba_offset: int
    ) -> None:
        cap = MSIX_CAP_OFFSET
        status = self._get(PCI_STATUS, 2) | PCI_STATUS_CAP_LIST
        self._set(PCI_STATUS, 2, status)
        self._set(PCI_CAPABILITY_LIST, 1, cap)
        self._set(cap, 1, MSIX_CAP_ID)
        self._set(cap + 1, 1, 0)  # last capability
        control_mask = PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE
        self._set(cap + PCI_MSIX_FLAGS, 2, vectors - 1, control_mask)
        self._set(cap + PCI_MSIX_TABLE, 4, table_offset | table_bar)
        self._set(cap + PCI_MSIX_PBA, 4, pba_offset | pba_bar)

    def place(self, region: Region, address: int) -> None:
        """Set a BAR's (or the ROM's) guest address, as the VMM's allocator does."""
        if region is Region.ROM:
            if self._rom is None:
                raise KeyError("the device has no ROM")
            enabled = bool(self._get(ROM_CONFIG_OFFSET, 4) & ROM_ENABLE)
            self._rom_address = address
            self._set(ROM_CONFIG_OFFSET, 4, self._rom.register(address, enabled))
            return
        spec = self._bars[int(region)]
        self._bar_address[spec.index] = address
        value = spec.register(address)
        self._set(bar_config_offset(spec.index), 4, value & DWORD)
        if spec.is_64bit:
            self._set(bar_config_offset(spec.index + 1), 4, value >> 32)

    # -- queries ---------------------------------------------------------------------------

    def bar_address(self, index: int) -> int:
        """The guest address of BAR `index` (0 when absent or not placed)."""
        return self._bar_address.get(index, 0)

    @property
    def rom_address(self) -> int:
        """The guest address of the ROM (0 when absent or not placed)."""
        return self._rom_address

    @property
    def command(self) -> int:
        """The Command register as the guest reads it."""
        return self._get(PCI_COMMAND, 2)

    @property
    def rom_enabled(self) -> bool:
        """The ROM register's enable bit."""
        return self._rom is not None and bool(self._get(ROM_CONFIG_OFFSET, 4) & ROM_ENABLE)

    # -- guest accesses --------------------------------------------------------------------

    def _sync_msix_control(self) -> None:
        if self._msix is None:
            return
        control = self._msix.vectors - 1
        control |= PCI_MSIX_FLAGS_MASKALL if self._msix.function_masked else 0
        control |= PCI_MSIX_FLAGS_ENABLE if self._msix.enabled else 0
        self._set(MSIX_CAP_OFFSET + PCI_MSIX_FLAGS, 2, control)

    def read(self, offset: int, size: int = 4) -> int:
        """A guest read of `size` bytes at `offset` (little-endian)."""
        check_access(offset, size)
        self._sync_msix_control()
        return self._get(offset, size)

    def write(self, offset: int, value: int, size: int = 4) -> tuple[Event, ...]:
        """A guest write through the writable masks; returns what it caused."""
        check_access(offset, size)
        if not 0 <= value < 1 << (8 * size):
            raise ValueError(f"config write value {value:#x} does not fit {size} bytes")
        self._sync_msix_control()
        for i in range(size):
            byte = value >> (8 * i) & 0xFF
            at = offset + i
            mask = self._wmask[at]
            self._value[at] = (self._value[at] & ~mask & 0xFF) | (byte & mask)
        dword = offset & ~3
        if bar_index_at(dword) is not None:
            return self._bar_written(dword, value if size == 4 else None)
        if dword == ROM_CONFIG_OFFSET:
            return self._rom_written(value if size == 4 else None)
        if self._msix is not None and dword == PCI_COMMAND:
            sent = self._msix.set_bus_master(bool(self.command & PCI_COMMAND_MASTER))
            return tuple(VectorDelivered(message) for message in sent)
        if self._msix is not None and dword == MSIX_CAP_OFFSET:
            control = self._get(MSIX_CAP_OFFSET + PCI_MSIX_FLAGS, 2)
            sent = self._msix.set_control(
                bool(control & PCI_MSIX_FLAGS_ENABLE), bool(control & PCI_MSIX_FLAGS_MASKALL)
            )
            return tuple(VectorDelivered(message) for message in sent)
        return ()

    def _bar_written(self, dword: int, whole: int | None) -> tuple[Event, ...]:
        slot = bar_index_at(dword)
        assert slot is not None
        if slot in self._bars:
            spec = self._bars[slot]
            if spec.is_64bit:
                return ()  # the low dword is latched until the high dword is written
            low_mask = BAR_IO_ADDR_MASK if spec.kind is BarKind.IO else BAR_MEM_ADDR_MASK
            if whole is not None and whole & low_mask == low_mask:
                return ()  # sizing
            new = self._get(dword, 4) & spec.address_mask
            return self._move(spec.index, new)
        owner = self._bars.get(slot - 1)
        if owner is None or not owner.is_64bit:
            return ()  # unimplemented register: the mask already ignored the write
        if whole == DWORD:
            return ()  # sizing the high dword
        low = self._get(dword - 4, 4)
        new = ((self._get(dword, 4) << 32) | low) & owner.address_mask
        return self._move(owner.index, new)

    def _move(self, index: int, new: int) -> tuple[Event, ...]:
        old = self._bar_address[index]
        if new == old:
            return ()
        self._bar_address[index] = new
        return (BarRelocated(Region(index), old, new),)

    def _rom_written(self, whole: int | None) -> tuple[Event, ...]:
        if self._rom is None:
            return ()
        if whole is not None and whole & ROM_ADDR_MASK == ROM_ADDR_MASK:
            return ()  # sizing
        new = self._get(ROM_CONFIG_OFFSET, 4) & self._rom.address_mask
        old = self._rom_address
        if new == old:
            return ()
        self._rom_address = new
        return (BarRelocated(Region.ROM, old, new),)
