"""The core model as a backend: `harness.backend.Backend` over `harness.vfio`.

This is the one place that turns the interpreter's plain values (names, ints, option strings)
into the core's types (`Iova`, `Hva`, `BarSpec`, enums) and back. The core checks the values
a container or window may take itself (`dma.page_size_error`, `bars.window_error`, ...) and
raises their `scenario.error:*` ids; a value too wide for its field (a config or MMIO write
value wider than its size, MSI-X data above 32 bits) becomes `scenario.error:value.range`
here, so every failure a scenario sees is a catalog id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from harness.backend import (
    BarKindName,
    CoreDefaults,
    PermName,
    ReservedName,
    UnmapModeName,
    WindowKindName,
    WindowSpec,
)
from harness.vfio import bars, dma
from harness.vfio.address import Hva, Iova, Range
from harness.vfio.catalog import ErrorId, VfioError
from harness.vfio.device import Device
from harness.vfio.mappings import Perm
from harness.vfio.msix import Message, Msix
from harness.vfio.pci import Bdf
from harness.vfio.vmm import Vmm

T = TypeVar("T")

_RESERVED: Mapping[str, tuple[Range, ...]] = {"x86": dma.X86_MSI_RESERVED, "none": ()}
_PERMS: Mapping[str, Perm] = {perm.value: perm for perm in Perm}  # faster than Perm(name)


def _value_range(call: Callable[[], T]) -> T:
    """Run a core operation, reporting a value too wide for its field as `value.range`."""
    try:
        return call()
    except ValueError as error:
        raise VfioError(ErrorId.SCENARIO_VALUE_RANGE, str(error)) from None


def _window(kind: bars.WindowKind, base: int, size: int) -> bars.Window:
    """The core's window, or the scenario error `bars.window_error` gives."""
    error = bars.window_error(kind, base, size)
    if error is not None:
        raise error
    return bars.Window(base, size)


class ModelBackend:
    """The reference backend: the Python core model (`harness.vfio`)."""

    name = "model"

    def __init__(self, defaults: CoreDefaults = CoreDefaults()) -> None:  # noqa: B008
        self.defaults = defaults
        given: dict[bars.WindowKind, WindowSpec] = {
            bars.WindowKind.MMIO32: defaults.mmio32,
            bars.WindowKind.MMIO64: defaults.mmio64,
            bars.WindowKind.IO: defaults.io,
        }
        self.vmm = Vmm({kind: _window(kind, w.base, w.size) for kind, w in given.items()})
        self.containers: dict[str, dma.Container] = {}
        self.devices: dict[str, Device] = {}

    # -- declarations ----------------------------------------------------------------------

    def container(
        self,
        name: str,
        *,
        mode: UnmapModeName | None = None,
        pgsize: int | None = None,
        limit: int | None = None,
        reserved: ReservedName | None = None,
        aw: int | None = None,
    ) -> None:
        """Create a container; None means the run's default."""
        d = self.defaults
        mode_name = d.mode if mode is None else mode
        reserved_name = d.reserved if reserved is None else reserved
        if mode_name not in ("v1", "v2") or reserved_name not in _RESERVED:
            raise VfioError(
                ErrorId.SCENARIO_BAD_OPTION,
                f"container {name}: mode is v1 or v2 and reserved is x86 or none, not"
                f" {mode_name!r} and {reserved_name!r}",
            )
        self.containers[name] = dma.Container(
            pgsize=d.pgsize if pgsize is None else pgsize,
            limit=d.limit if limit is None else limit,
            mode=dma.UnmapMode(mode_name),
            reserved=_RESERVED[reserved_name],
            aw=d.aw if aw is None else aw,
        )

    def window(self, kind: WindowKindName, base: int, size: int) -> None:
        """Replace the guest allocation window of that kind."""
        window_kind = bars.WindowKind(kind)
        self.vmm.set_window(window_kind, _window(window_kind, base, size))

    def device(self, name: str, bdf: str) -> None:
        """Declare a device; a bad BDF raises `device.invalid:bdf` after declaring it."""
        try:
            parsed: Bdf | None = Bdf.parse(bdf)
        except VfioError:
            self.devices[name] = self.vmm.new_device(None)
            raise
        self.devices[name] = self.vmm.new_device(parsed)

    def device_bar(
        self, device: str, index: int, kind: BarKindName, size: int, *, prefetch: bool = False
    ) -> None:
        """Add a BAR to a declared device."""
        self.devices[device].add_bar(bars.BarSpec(index, bars.BarKind(kind), size, prefetch))

    def device_rom(self, device: str, size: int) -> None:
        """Add an expansion ROM to a declared device."""
        self.devices[device].add_rom(bars.RomSpec(size))

    def device_msix(
        self,
        device: str,
        vectors: int,
        table_bar: int,
        table_offset: int,
        pba_bar: int,
        pba_offset: int,
    ) -> None:
        """Add MSI-X to a declared device."""
        self.devices[device].add_msix(
            vectors, table=(table_bar, table_offset), pba=(pba_bar, pba_offset)
        )

    def attach(self, device: str, container: str) -> None:
        """Join the device's group to the container."""
        self.vmm.attach(self.devices[device], self.containers[container])

    # -- operations ------------------------------------------------------------------------

    def map(self, container: str, iova: int, vaddr: int, size: int, perm: PermName = "rw") -> None:
        """VFIO_IOMMU_MAP_DMA."""
        self.containers[container].map(Iova(iova), Hva(vaddr), size, _PERMS[perm])

    def unmap(self, container: str, iova: int, size: int) -> int:
        """VFIO_IOMMU_UNMAP_DMA of a range; returns the bytes unmapped."""
        return self.containers[container].unmap(Iova(iova), size)

    def unmap_all(self, container: str, *, iova: int | None = None, size: int | None = None) -> int:
        """VFIO_IOMMU_UNMAP_DMA with the ALL flag; returns the bytes unmapped."""
        return self.containers[container].unmap_all(iova or 0, size or 0)

    def alloc(self, device: str) -> None:
        """Place every BAR (and the ROM) of the device in the guest windows."""
        self.vmm.alloc(self.devices[device])

    def cfg_read(self, device: str, offset: int, size: int = 4) -> int:
        """Guest config-space read."""
        return self.devices[device].cfg_read(offset, size)

    def cfg_write(self, device: str, offset: int, value: int, size: int = 4) -> None:
        """Guest config-space write."""
        _value_range(lambda: self.devices[device].cfg_write(offset, value, size))

    def _msix(self, device: str) -> Msix:
        return self.devices[device].require_msix()

    def msix_entry(self, device: str, vector: int, addr: int, data: int) -> None:
        """Program table entry `vector`."""
        msix = self._msix(device)
        _value_range(lambda: msix.program(vector, addr, data))

    def msix_mask(self, device: str, vector: int) -> None:
        """Set the entry's mask bit."""
        self._msix(device).mask(vector)

    def msix_unmask(self, device: str, vector: int) -> None:
        """Clear the entry's mask bit (needs a valid MSI address)."""
        self._msix(device).unmask(vector)

    def msix_enable(self, device: str, on: bool) -> None:
        """Set or clear Message Control bit 15 (Enable)."""
        self._msix(device).set_enable(on)

    def msix_fmask(self, device: str, on: bool) -> None:
        """Set or clear Message Control bit 14 (Function Mask)."""
        self._msix(device).set_function_mask(on)

    def irq(self, device: str, vector: int) -> None:
        """The device raises `vector`."""
        self.devices[device].irq(vector)

    # -- observable attributes (container) -------------------------------------------------

    def mappings(self, container: str) -> int:
        """Number of mappings."""
        return len(self.containers[container])

    def mapped(self, container: str) -> int:
        """Bytes mapped."""
        return self.containers[container].mapped

    def avail(self, container: str) -> int:
        """Mappings still available before the entry limit."""
        return self.containers[container].avail

    def mapped_at(self, container: str, iova: int) -> bool:
        """Whether a mapping holds byte `iova`."""
        return self.containers[container].find(Iova(iova)) is not None

    def translate(self, container: str, iova: int) -> int:
        """The vaddr byte `iova` maps to; unmapped is `scenario.error:eval`."""
        vaddr = self.containers[container].translate(Iova(iova))
        if vaddr is None:
            raise VfioError(
                ErrorId.SCENARIO_EVAL,
                f"translate({iova:#x}): no mapping of {container} holds that iova",
            )
        return vaddr.value

    # -- observable attributes (device) ----------------------------------------------------

    def bar_size(self, device: str, index: int) -> int:
        """Size of BAR `index` (0 when absent)."""
        return self.devices[device].bar_size(index)

    def bar_gpa(self, device: str, index: int) -> int:
        """Guest address of BAR `index` (0 before allocation, or when absent)."""
        return self.devices[device].bar_gpa(index)

    def rom_size(self, device: str) -> int:
        """Size of the ROM (0 when absent)."""
        return self.devices[device].rom_size

    def rom_gpa(self, device: str) -> int:
        """Guest address of the ROM (0 before allocation, or when absent)."""
        return self.devices[device].rom_gpa

    def msix_vectors(self, device: str) -> int:
        """Vector count (0 without MSI-X)."""
        msix = self.devices[device].msix
        return 0 if msix is None else msix.vectors

    # Without an MSI-X capability there is nothing to enable, mask or configure: Enable and
    # Function Mask read as clear and no entry is configured, as `msix.vectors` reads 0. The
    # per-vector queries below have no entry to read and stay `msix.failed:unsupported`.
    def msix_enabled(self, device: str) -> bool:
        """Message Control Enable (False without MSI-X)."""
        msix = self.devices[device].msix
        return msix is not None and msix.enabled

    def msix_function_masked(self, device: str) -> bool:
        """Message Control Function Mask (False without MSI-X)."""
        msix = self.devices[device].msix
        return msix is not None and msix.function_masked

    def msix_masked(self, device: str, vector: int) -> bool:
        """The entry's own mask bit."""
        return self._msix(device).masked(vector)

    def msix_pending(self, device: str, vector: int) -> bool:
        """The vector's PBA bit."""
        return self._msix(device).pending(vector)

    def msix_delivered(self, device: str, vector: int) -> int:
        """Messages delivered on the vector so far."""
        return self._msix(device).delivered(vector)

    def msix_configured(self, device: str) -> int:
        """Entries holding a valid MSI address (0 without MSI-X)."""
        msix = self.devices[device].msix
        return 0 if msix is None else msix.configured

    def _last(self, device: str, vector: int, attribute: str) -> Message:
        message = self._msix(device).last_message(vector)
        if message is None:
            raise VfioError(
                ErrorId.SCENARIO_EVAL,
                f"msix.{attribute}({vector}): no message was delivered on vector {vector}",
            )
        return message

    def msix_last_addr(self, device: str, vector: int) -> int:
        """Address of the last message delivered on the vector (`eval` when none was)."""
        return self._last(device, vector, "last_addr").addr

    def msix_last_data(self, device: str, vector: int) -> int:
        """Data of the last message delivered on the vector (`eval` when none was)."""
        return self._last(device, vector, "last_data").data

    def command(self, device: str) -> int:
        """The Command register as the guest reads it."""
        return self.devices[device].command

    # -- guest MMIO and reset --------------------------------------------------------------

    def mmio_read(self, device: str, bar: int, offset: int, size: int = 4) -> int:
        """Guest read of `size` bytes at `offset` into BAR `bar` (little-endian)."""
        return self.devices[device].mmio_read(bar, offset, size)

    def mmio_write(self, device: str, bar: int, offset: int, value: int, size: int = 4) -> None:
        """Guest write of `size` bytes at `offset` into BAR `bar` (little-endian)."""
        _value_range(lambda: self.devices[device].mmio_write(bar, offset, value, size))

    def device_reset(self, device: str) -> None:
        """Function-level reset (the scenario's `reset DEV`)."""
        self.devices[device].reset()
