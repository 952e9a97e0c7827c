"""The guest's real PCI devices, as VFIO shows them, and matching scenario declarations to them.

At setup, every device bound to vfio-pci is described once from what the kernel reports: BAR
sizes from `VFIO_DEVICE_GET_REGION_INFO`, BAR kinds (I/O, 32/64-bit, prefetchable) from the
low bits of the BAR registers read through the VFIO config region, the ROM's size from the ROM
region, and the MSI-X layout (vectors, table and PBA BIR:offset) from the MSI-X capability. The
description is saved with the snapshot.

A scenario's `device` declaration runs on the kernel only when one of these devices has exactly
the declared BARs, ROM and MSI-X layout: the declaration is checked member by member as it
arrives (so a BAR no guest device has stops the scenario at that line) and as a whole when it
ends. The BDF is not compared: it is the VMM's address for the device, not the guest's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from harness.backend import BarKindName
from harness.literals import SUFFIXES

# Config space (include/uapi/linux/pci_regs.h)
PCI_VENDOR_ID, PCI_STATUS, PCI_CLASS_REVISION = 0x00, 0x06, 0x08
PCI_BASE_ADDRESS_0, PCI_ROM_ADDRESS, PCI_CAPABILITY_LIST = 0x10, 0x30, 0x34
PCI_STATUS_CAP_LIST = 0x10
PCI_CAP_ID_MSIX = 0x11
BAR_COUNT = 6
ROM_REGION = 6  # VFIO_PCI_ROM_REGION_INDEX
_CAP_WALK_LIMIT = 48  # a config space holds at most 48 capabilities: stop a looping list


@dataclass(frozen=True, slots=True)
class Bar:
    """One BAR as a declaration states it."""

    index: int
    kind: BarKindName
    size: int
    prefetch: bool = False

    def __str__(self) -> str:
        prefetch = " prefetch" if self.prefetch else ""
        return f"bar {self.index} {self.kind}{prefetch} {size_text(self.size)}"


@dataclass(frozen=True, slots=True)
class MsixLayout:
    """An MSI-X capability: vector count and where the table and PBA are (BAR, offset)."""

    vectors: int
    table_bar: int
    table_offset: int
    pba_bar: int
    pba_offset: int

    def __str__(self) -> str:
        return (
            f"msix {self.vectors} table={self.table_bar}:{self.table_offset:#x}"
            f" pba={self.pba_bar}:{self.pba_offset:#x}"
        )


@dataclass(frozen=True, slots=True)
class Layout:
    """What a declaration can say about a device: its BARs, ROM size (0: none) and MSI-X."""

    bars: tuple[Bar, ...] = ()
    rom: int = 0
    msix: MsixLayout | None = None

    def bar(self, index: int) -> Bar | None:
        """The BAR at `index`, if any."""
        return next((b for b in self.bars if b.index == index), None)

    def declaration(self) -> str:
        """The members in scenario syntax, `; `-separated (for messages)."""
        members = [str(b) for b in sorted(self.bars, key=lambda b: b.index)]
        if self.rom:
            members.append(f"rom {size_text(self.rom)}")
        if self.msix is not None:
            members.append(str(self.msix))
        return "; ".join(members) if members else "(no BARs)"


@dataclass(frozen=True, slots=True)
class GuestDevice:
    """A PCI function bound to vfio-pci in the guest."""

    bdf: str
    group: int
    vendor: int
    device: int
    class_code: int
    layout: Layout
    msix_cap: int = 0  # config offset of the MSI-X capability (0: none)

    def summary(self) -> str:
        """`0000:00:01.0 (8086:10d3, group 1): bar 0 mem32 128K; ...`."""
        return (
            f"{self.bdf} ({self.vendor:04x}:{self.device:04x}, group {self.group}):"
            f" {self.layout.declaration()}"
        )

    def to_json(self) -> dict[str, Any]:
        """Plain data for the snapshot's manifest."""
        msix = self.layout.msix
        return {
            "bdf": self.bdf,
            "group": self.group,
            "vendor": self.vendor,
            "device": self.device,
            "class": self.class_code,
            "bars": [[b.index, b.kind, b.size, b.prefetch] for b in self.layout.bars],
            "rom": self.layout.rom,
            "msix": None
            if msix is None
            else [msix.vectors, msix.table_bar, msix.table_offset, msix.pba_bar, msix.pba_offset],
            "msix_cap": self.msix_cap,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GuestDevice:
        """The device `to_json` described (KeyError/TypeError/ValueError when malformed)."""
        bars = tuple(Bar(int(i), _kind(k), int(s), bool(p)) for i, k, s, p in data["bars"])
        msix = data["msix"]
        layout = Layout(
            bars,
            int(data["rom"]),
            None if msix is None else MsixLayout(*(int(v) for v in msix)),
        )
        return cls(
            str(data["bdf"]),
            int(data["group"]),
            int(data["vendor"]),
            int(data["device"]),
            int(data["class"]),
            layout,
            int(data["msix_cap"]),
        )


def _kind(text: object) -> BarKindName:
    if text == "mem32" or text == "mem64" or text == "io":
        return text
    raise ValueError(f"not a BAR kind: {text!r}")


def size_text(size: int) -> str:
    """A size as a scenario writes it: `128K`, `16M`, or plain bytes."""
    for suffix, multiplier in sorted(SUFFIXES.items(), key=lambda item: -item[1]):
        if size >= multiplier and size % multiplier == 0:
            return f"{size // multiplier}{suffix}"
    return str(size)


# -- reading a device from the kernel ------------------------------------------------------

ConfigRead = Callable[[int, int], int]  # (offset, size) -> value, through the config region


def bar_from_register(index: int, register: int, size: int) -> Bar:
    """The BAR a register's low bits and its region size describe."""
    if register & 0x1:
        return Bar(index, "io", size)
    kind: BarKindName = "mem64" if (register >> 1) & 0x3 == 0x2 else "mem32"
    return Bar(index, kind, size, bool(register & 0x8))


def msix_layout(read: ConfigRead) -> tuple[int, MsixLayout | None]:
    """The MSI-X capability's offset and layout, found by walking the capability list."""
    if not read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST:
        return 0, None
    pointer = read(PCI_CAPABILITY_LIST, 1) & ~0x3
    for _ in range(_CAP_WALK_LIMIT):
        if pointer < 0x40:
            break
        if read(pointer, 1) == PCI_CAP_ID_MSIX:
            control = read(pointer + 2, 2)
            table = read(pointer + 4, 4)
            pba = read(pointer + 8, 4)
            layout = MsixLayout(
                (control & 0x7FF) + 1, table & 0x7, table & ~0x7, pba & 0x7, pba & ~0x7
            )
            return pointer, layout
        pointer = read(pointer + 1, 1) & ~0x3
    return 0, None


def describe(
    bdf: str, group: int, read: ConfigRead, region_sizes: Mapping[int, int]
) -> GuestDevice:
    """A device from its config space (through VFIO) and its region sizes (index → bytes)."""
    bars: list[Bar] = []
    index = 0
    while index < BAR_COUNT:
        size = region_sizes.get(index, 0)
        register = read(PCI_BASE_ADDRESS_0 + 4 * index, 4)
        if size:
            bar = bar_from_register(index, register, size)
            bars.append(bar)
            if bar.kind == "mem64":
                index += 1  # the upper half of a 64-bit BAR is no BAR of its own
        index += 1
    cap, msix = msix_layout(read)
    ids = read(PCI_VENDOR_ID, 4)
    layout = Layout(tuple(bars), region_sizes.get(ROM_REGION, 0), msix)
    return GuestDevice(
        bdf, group, ids & 0xFFFF, ids >> 16, read(PCI_CLASS_REVISION, 4) >> 8, layout, cap
    )


# -- matching declarations -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Declaration:
    """A scenario's device declaration as far as it has arrived."""

    name: str
    layout: Layout = field(default_factory=Layout)

    def with_bar(self, bar: Bar) -> Declaration:
        """The declaration with one more BAR."""
        return replace(self, layout=replace(self.layout, bars=(*self.layout.bars, bar)))

    def with_rom(self, size: int) -> Declaration:
        """The declaration with its ROM."""
        return replace(self, layout=replace(self.layout, rom=size))

    def with_msix(self, msix: MsixLayout) -> Declaration:
        """The declaration with its MSI-X capability."""
        return replace(self, layout=replace(self.layout, msix=msix))


def consistent(declared: Layout, real: Layout) -> bool:
    """Whether `real` has every member declared so far, exactly as declared."""
    if any(real.bar(b.index) != b for b in declared.bars):
        return False
    if declared.rom and declared.rom != real.rom:
        return False
    return declared.msix is None or declared.msix == real.msix


def matches(declared: Layout, real: Layout) -> bool:
    """Whether the whole declaration describes `real`: the same BARs, ROM and MSI-X."""
    return (
        sorted(declared.bars, key=lambda b: b.index) == sorted(real.bars, key=lambda b: b.index)
        and declared.rom == real.rom
        and declared.msix == real.msix
    )


def candidates(
    declared: Layout, devices: Iterable[GuestDevice], *, complete: bool
) -> list[GuestDevice]:
    """The guest devices a declaration (complete or so far) can stand for."""
    test = matches if complete else consistent
    return [d for d in devices if test(declared, d.layout)]


def no_match_reason(
    declaration: Declaration, devices: Sequence[GuestDevice], *, complete: bool
) -> str:
    """Why a declaration cannot run on the kernel."""
    what = "declares" if complete else "declares so far"
    return (
        f"device {declaration.name} {what} [{declaration.layout.declaration()}], and none of"
        f" the guest's {len(devices)} devices has exactly that (the kernel backend runs"
        " declarations of the guest's real devices; docs/kernel.md lists them)"
    )
