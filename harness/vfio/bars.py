"""BARs: their declaration, their register encoding, and their placement in guest windows.

Register layout (PCI Local Bus spec 3.0 §6.2.5.1, `PCI_BASE_ADDRESS_*` in
`include/uapi/linux/pci_regs.h`): bit 0 selects I/O; for memory, bits 2:1 are the type
(`00` 32-bit, `10` 64-bit) and bit 3 prefetchable; address masks are memory `~0xf`, I/O `~0x3`,
and for the expansion ROM `~0x7ff` with bit 0 the enable bit.

An I/O BAR has no prefetchable bit: bit 1 is reserved and bits 31:2 are address, so
`bar N io prefetch` describes nothing a device can present. The model rejects it with the
extension id `device.invalid:bar.prefetch` rather than silently dropping the word.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from harness.vfio.address import U64_MAX, Range, align_up, is_power_of_two
from harness.vfio.catalog import Detail, ErrorId, VfioError
from harness.vfio.pci import BAR_COUNT, Region

BAR_IO_SPACE = 0x1  # PCI_BASE_ADDRESS_SPACE_IO
BAR_MEM_TYPE_64 = 0x4  # PCI_BASE_ADDRESS_MEM_TYPE_64
BAR_MEM_PREFETCH = 0x8  # PCI_BASE_ADDRESS_MEM_PREFETCH
BAR_MEM_ADDR_MASK = 0xFFFF_FFF0  # PCI_BASE_ADDRESS_MEM_MASK
BAR_IO_ADDR_MASK = 0xFFFF_FFFC  # PCI_BASE_ADDRESS_IO_MASK
ROM_ADDR_MASK = 0xFFFF_F800  # PCI_ROM_ADDRESS_MASK
ROM_ENABLE = 0x1  # PCI_ROM_ADDRESS_ENABLE
DWORD = 0xFFFF_FFFF

MIN_MEM_BAR = 16
MIN_IO_BAR = 4
MAX_IO_BAR = 256
MIN_ROM = 2048
# Largest sizes the registers can express: a 32-bit BAR or the ROM decodes at most 2 GiB
# (bit 31 must stay an address bit), a 64-bit BAR at most 2^63.
MAX_MEM32_BAR = 1 << 31
MAX_MEM64_BAR = 1 << 63
MAX_ROM = 1 << 31


class BarKind(enum.Enum):
    """What a BAR decodes: 32-bit memory, 64-bit memory (two slots) or I/O ports."""

    MEM32 = "mem32"
    MEM64 = "mem64"
    IO = "io"


class WindowKind(enum.Enum):
    """The guest allocation windows `alloc` places BARs in."""

    MMIO32 = "mmio32"
    MMIO64 = "mmio64"
    IO = "io"


# Size limits of each kind of BAR (PCI 3.0 §6.2.5.1: 16 bytes of memory and 4 of I/O at least;
# the largest sizes are above), and the window `alloc` places each kind in.
_SIZE_LIMITS = {
    BarKind.MEM32: (MIN_MEM_BAR, MAX_MEM32_BAR),
    BarKind.MEM64: (MIN_MEM_BAR, MAX_MEM64_BAR),
    BarKind.IO: (MIN_IO_BAR, MAX_IO_BAR),
}
_WINDOW_OF = {
    BarKind.MEM32: WindowKind.MMIO32,
    BarKind.MEM64: WindowKind.MMIO64,
    BarKind.IO: WindowKind.IO,
}


@dataclass(frozen=True, slots=True)
class Declared(Detail):
    """A rejected BAR or ROM declaration: its index (None for the ROM) and size."""

    index: int | None
    size: int


@dataclass(frozen=True, slots=True)
class Exhausted(Detail):
    """`alloc` found no room: the member, its window, and the next aligned address there."""

    region: Region
    size: int
    window: WindowKind
    window_range: Range
    address: int


def _size_error(what: str, size: int, rule: str, index: int | None = None) -> VfioError:
    return VfioError(
        ErrorId.DEVICE_INVALID_BAR_SIZE, f"{what} size {size:#x} {rule}", Declared(index, size)
    )


@dataclass(frozen=True, slots=True)
class BarSpec:
    """A declared BAR: slot `index` (and `index+1` for 64-bit), kind, size, prefetchable."""

    index: int
    kind: BarKind
    size: int
    prefetch: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.index < BAR_COUNT:
            raise VfioError(
                ErrorId.DEVICE_INVALID_BAR_INDEX,
                f"BAR index {self.index} is outside 0..{BAR_COUNT - 1}",
                Declared(self.index, self.size),
            )
        if self.kind is BarKind.MEM64 and self.index == BAR_COUNT - 1:
            raise VfioError(
                ErrorId.DEVICE_INVALID_BAR_INDEX,
                f"a 64-bit BAR needs slots {self.index} and {self.index + 1}; 5 is the last",
                Declared(self.index, self.size),
            )
        if self.kind is BarKind.IO and self.prefetch:
            raise VfioError(
                ErrorId.DEVICE_INVALID_BAR_PREFETCH,
                f"BAR {self.index}: an io BAR cannot be prefetchable",
                Declared(self.index, self.size),
            )
        minimum, maximum = _SIZE_LIMITS[self.kind]
        if not is_power_of_two(self.size) or not minimum <= self.size <= maximum:
            rule = (
                "is not a power of two"
                if not is_power_of_two(self.size)
                else f"is below the minimum {minimum}"
                if self.size < minimum
                else f"is above the maximum {maximum:#x}"
            )
            where = f"BAR {self.index} ({self.kind.value})"
            raise _size_error(where, self.size, rule, self.index)

    @property
    def is_64bit(self) -> bool:
        """Whether the BAR takes two slots."""
        return self.kind is BarKind.MEM64

    @property
    def slots(self) -> tuple[int, ...]:
        """The BAR register slots it occupies."""
        return (self.index, self.index + 1) if self.is_64bit else (self.index,)

    @property
    def window(self) -> WindowKind:
        """The window `alloc` places it in."""
        return _WINDOW_OF[self.kind]

    @property
    def type_bits(self) -> int:
        """The read-only low bits of the (low) BAR register."""
        if self.kind is BarKind.IO:
            return BAR_IO_SPACE
        bits = BAR_MEM_TYPE_64 if self.is_64bit else 0
        return bits | (BAR_MEM_PREFETCH if self.prefetch else 0)

    @property
    def address_mask(self) -> int:
        """Writable address bits of the full (64-bit for mem64) register pair."""
        low_mask = BAR_IO_ADDR_MASK if self.kind is BarKind.IO else BAR_MEM_ADDR_MASK
        width = (1 << 64) - 1 if self.is_64bit else DWORD
        return ~(self.size - 1) & width & (low_mask | (DWORD << 32))

    def register(self, address: int) -> int:
        """The register pair value (low dword, plus high dword for mem64) for `address`."""
        return (address & self.address_mask) | self.type_bits

    def sizing_value(self) -> int:
        """What the register pair reads after all ones were written: size mask + type bits."""
        return self.address_mask | self.type_bits


@dataclass(frozen=True, slots=True)
class RomSpec:
    """A declared expansion ROM of `size` bytes."""

    size: int

    def __post_init__(self) -> None:
        if not is_power_of_two(self.size):
            raise _size_error("ROM", self.size, "is not a power of two")
        if self.size < MIN_ROM:
            raise _size_error("ROM", self.size, f"is below the minimum {MIN_ROM}")
        if self.size > MAX_ROM:
            raise _size_error("ROM", self.size, f"is above the maximum {MAX_ROM:#x}")

    @property
    def address_mask(self) -> int:
        """Writable address bits of the ROM register."""
        return ~(self.size - 1) & ROM_ADDR_MASK

    def register(self, address: int, enabled: bool = False) -> int:
        """The ROM register value for `address` and the enable bit."""
        return (address & self.address_mask) | (ROM_ENABLE if enabled else 0)


# -- guest windows -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """A guest allocation window `[base, base+size)`."""

    base: int
    size: int

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise ValueError(f"window size {self.size:#x} must be positive")
        if self.base < 0 or self.base + self.size - 1 > U64_MAX:
            raise ValueError(f"window {self.base:#x}+{self.size:#x} passes 0x{U64_MAX:x}")

    @property
    def range(self) -> Range:
        """The bytes of the window."""
        return Range.from_size(self.base, self.size)

    @property
    def last(self) -> int:
        """The window's last byte."""
        return self.base + self.size - 1


DEFAULT_WINDOWS: Mapping[WindowKind, Window] = MappingProxyType(
    {
        WindowKind.MMIO32: Window(0xC000_0000, 640 << 20),
        WindowKind.MMIO64: Window(0x100_0000_0000, 1 << 40),
        WindowKind.IO: Window(0x1000, 60 << 10),
    }
)
# Where each window must end (exclusive): 32-bit BARs and the ROM hold 32-bit addresses, and
# x86 I/O port addresses are 16 bits (so `io` ends at 0x10000 at the latest).
WINDOW_END: Mapping[WindowKind, int] = MappingProxyType(
    {WindowKind.MMIO32: 1 << 32, WindowKind.MMIO64: 1 << 64, WindowKind.IO: 1 << 16}
)


def window_error(kind: WindowKind, base: int, size: int) -> VfioError | None:
    """Why `[base, base+size)` cannot be the `kind` window, or None.

    Size 0 is `scenario.error:bad.option`; a window ending past `WINDOW_END` (its BARs could
    not address it) is `scenario.error:value.range`.
    """
    if size <= 0:
        return VfioError(ErrorId.SCENARIO_BAD_OPTION, f"window {kind.value} size must be above 0")
    end = WINDOW_END[kind]
    if base < 0 or base + size > end:
        return VfioError(
            ErrorId.SCENARIO_VALUE_RANGE,
            f"window {kind.value} [{base:#x}, {base + size:#x}) passes {end - 1:#x}, the last"
            f" address its BARs can hold",
        )
    return None


@dataclass(frozen=True, slots=True)
class Member:
    """Something `alloc` places: a BAR (region 0..5) or the ROM (region 6) of one device."""

    region: Region
    window: WindowKind
    size: int


@dataclass(frozen=True, slots=True)
class Placement:
    """Where `alloc` put one member."""

    region: Region
    window: WindowKind
    range: Range

    @property
    def address(self) -> int:
        """The guest address of the member."""
        return self.range.first


def members_of(bars: Iterable[BarSpec], rom: RomSpec | None) -> tuple[Member, ...]:
    """The members of a device `alloc` places: each BAR, and the ROM in mmio32."""
    members = [Member(Region(bar.index), bar.window, bar.size) for bar in bars]
    if rom is not None:
        members.append(Member(Region.ROM, WindowKind.MMIO32, rom.size))
    return tuple(members)


class Windows:
    """The three guest windows, each a bump allocator shared by every device.

    Each window keeps a cursor: the end of everything placed in it so far. A member goes to
    the lowest address at or above the cursor that is a multiple of its size (natural
    alignment). One `allocate` call places its members in decreasing size order (ties by
    region index, the ROM counting as region 6), so a device's BARs pack without gaps.

    Space is never given back, as in a VMM's BAR allocator that runs once per device at boot:
    allocating a device again places its members afresh after the current end (the old
    ranges stay used). Replacing a window starts its cursor at the new base, or after the
    last member already placed that overlaps the new window, so placements never overlap.
    """

    def __init__(self, windows: Mapping[WindowKind, Window] | None = None) -> None:
        self._windows = dict(DEFAULT_WINDOWS)
        self._placed: dict[WindowKind, list[Range]] = {kind: [] for kind in WindowKind}
        self._cursor: dict[WindowKind, int] = {}
        for kind, window in (windows or {}).items():
            self._check(kind, window)
            self._windows[kind] = window
        for kind, window in self._windows.items():
            self._cursor[kind] = window.base

    @staticmethod
    def _check(kind: WindowKind, window: Window) -> None:
        error = window_error(kind, window.base, window.size)
        if error is not None:
            raise error

    def __getitem__(self, kind: WindowKind) -> Window:
        return self._windows[kind]

    def cursor(self, kind: WindowKind) -> int:
        """The end of everything placed in the window so far (its base when empty)."""
        return self._cursor[kind]

    def set(self, kind: WindowKind, window: Window) -> None:
        """Replace a window; placements already made keep their addresses."""
        self._check(kind, window)
        # A placement that merely reaches into the new window still occupies part of it.
        inside = [r.end for r in self._placed[kind] if window.range.overlaps(r)]
        self._windows[kind] = window
        self._cursor[kind] = max([window.base, *inside])

    def plan(self, members: Sequence[Member]) -> tuple[Placement, ...]:
        """Where `allocate` would place the members; raises window.exhausted, changes nothing."""
        cursor = dict(self._cursor)
        placements: list[Placement] = []
        for member in sorted(members, key=lambda m: (-m.size, m.region)):
            window = self._windows[member.window]
            address = align_up(max(cursor[member.window], window.base), member.size)
            last = address + member.size - 1
            if last > window.last:
                raise VfioError(
                    ErrorId.BAR_ALLOC_WINDOW_EXHAUSTED,
                    f"{member.region.name} ({member.size:#x} bytes) does not fit in window"
                    f" {member.window.value} {window.range}: the next naturally aligned"
                    f" address is {address:#x}",
                    Exhausted(member.region, member.size, member.window, window.range, address),
                )
            placements.append(Placement(member.region, member.window, Range(address, last)))
            cursor[member.window] = last + 1
        return tuple(placements)

    def allocate(self, members: Sequence[Member]) -> tuple[Placement, ...]:
        """Place the members (all or none) and advance the cursors."""
        placements = self.plan(members)
        for placement in placements:
            self._placed[placement.window].append(placement.range)
            self._cursor[placement.window] = placement.range.end
        return placements

    def placed(self, kind: WindowKind) -> tuple[Range, ...]:
        """Every range placed in the window, in placement order."""
        return tuple(self._placed[kind])
