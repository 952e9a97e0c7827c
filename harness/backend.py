"""The interface between the scenario interpreter and a system under test (a backend).

One method per operation and one per observable attribute. Arguments are plain values (names,
ints, strings) so that a backend can be anything: the core model (`model`, the default), or a
class named by an import path `package.module:Class`, built as `Class(defaults)`.

Contract for every method: a failure raises `harness.vfio.catalog.VfioError` with a catalog id
and changes no state. Names are the scenario's names; the interpreter has already checked that
they exist and have the right kind, and that values fit their fields.

A backend that cannot honour a call at all (a method it lacks, or arguments its system cannot
represent, such as a device no real hardware matches) raises `Unsupported` with the reason: the
scenario is then skipped (or failed, with `-D backend.unsupported=fail`), never passed.

The method names and parameter names are also the wire names of the process protocol
(`vfio-harness/1`): keep them in step with the protocol's method table in `docs/`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from harness.vfio.bars import DEFAULT_WINDOWS, WindowKind
from harness.vfio.dma import DEFAULT_AW, DEFAULT_LIMIT, DEFAULT_PGSIZE

UnmapModeName = Literal["v1", "v2"]
ReservedName = Literal["x86", "none"]
BarKindName = Literal["mem32", "mem64", "io"]
WindowKindName = Literal["mmio32", "mmio64", "io"]
PermName = Literal["rw", "r", "w", "none"]


class Unsupported(Exception):
    """The backend cannot run this call (not a failure of the system under test).

    The scenario stops there and is skipped (or fails, with `backend.unsupported=fail`); the
    reason should say what is missing ("does not implement cfg_write", "no guest device has a
    256M BAR 0").
    """

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = missing  # the backend lacks the method itself (not just these arguments)

    def at(self, backend: str, method: str, where: str) -> str:
        """The report's sentence for the call of `method` at `where` (`FILE:LINE`)."""
        if self.missing:
            return f"backend {backend} does not implement {method} ({where})"
        return f"backend {backend} cannot run {method} at {where}: {self.reason}"


class BackendFault(Exception):
    """The backend broke down (a child exited, hung or broke the protocol): never an output.

    The scenario stops there and fails with `at(FILE:LINE)` (or `message` when the fault came
    before any statement, from `BackendSession.fresh()`); `detail` is shown below it (for a
    process backend, the tail of the child's standard error). `located` is the message split
    where the call's `FILE:LINE` goes ("backend myvmm did not answer map at ", " within 30 s").
    `fatal`: the session will not run any further scenario (a child failed `initialize` three
    times in a row): the run should stop instead of failing every scenario with this message.
    """

    def __init__(
        self,
        message: str,
        detail: str = "",
        *,
        located: tuple[str, str] | None = None,
        fatal: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.located = located
        self.fatal = fatal

    def at(self, where: str) -> str:
        """The message for a fault during the call at `where` (`FILE:LINE`)."""
        if self.located is None:
            return f"{self.message} ({where})"
        before, after = self.located
        return f"{before}{where}{after}"


class AbortKind(enum.Enum):
    """Why a scenario stopped before its end."""

    UNSUPPORTED = "unsupported"  # the backend cannot run a call: skipped (or failed)
    FAULT = "fault"  # the backend broke down (BackendFault): failed
    CRASH = "crash"  # the backend raised something else, a bug in it: failed


@dataclass(frozen=True, slots=True)
class Abort:
    """Where and why a scenario stopped: the call at `file:line`, and what went wrong.

    `detail` is extra text for the report: a child's stderr tail, or for a crash the
    exception's traceback cut to the backend's own frames.
    """

    kind: AbortKind
    file: str
    line: int
    method: str
    message: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """A guest allocation window `[base, base+size)`."""

    base: int
    size: int


def _default_window(kind: WindowKind) -> WindowSpec:
    window = DEFAULT_WINDOWS[kind]
    return WindowSpec(window.base, window.size)


# The core's default windows as plain values (WindowSpec is frozen, so sharing them is safe).
_MMIO32 = _default_window(WindowKind.MMIO32)
_MMIO64 = _default_window(WindowKind.MMIO64)
_IO = _default_window(WindowKind.IO)


@dataclass(frozen=True, slots=True)
class CoreDefaults:
    """Defaults a run starts from (the core's); `-D vfio:<option>=<value>` overrides them."""

    pgsize: int = DEFAULT_PGSIZE
    limit: int = DEFAULT_LIMIT
    mode: UnmapModeName = "v2"
    reserved: ReservedName = "x86"
    aw: int = DEFAULT_AW  # IOMMU address width: IOVAs lie below 2^aw
    mmio32: WindowSpec = _MMIO32
    mmio64: WindowSpec = _MMIO64
    io: WindowSpec = _IO


@runtime_checkable
class Backend(Protocol):
    """A system under test driven by scenarios."""

    name: str  # the project name of this backend for issue-linked annotations (`model`)

    # declarations
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
        ...

    def window(self, kind: WindowKindName, base: int, size: int) -> None:
        """Replace the guest allocation window of that kind."""
        ...

    def device(self, name: str, bdf: str) -> None:
        """Declare a device. A bad BDF raises `device.invalid:bdf` but the device is declared."""
        ...

    def device_bar(
        self, device: str, index: int, kind: BarKindName, size: int, *, prefetch: bool = False
    ) -> None:
        """Add a BAR to a declared device (a bad one raises `device.invalid:*`, nothing added)."""
        ...

    def device_rom(self, device: str, size: int) -> None:
        """Add an expansion ROM to a declared device."""
        ...

    def device_msix(
        self,
        device: str,
        vectors: int,
        table_bar: int,
        table_offset: int,
        pba_bar: int,
        pba_offset: int,
    ) -> None:
        """Add MSI-X; called after every bar/rom member of the device has been added."""
        ...

    def attach(self, device: str, container: str) -> None:
        """Join the device's group to the container."""
        ...

    # operations
    def map(self, container: str, iova: int, vaddr: int, size: int, perm: PermName = "rw") -> None:
        """VFIO_IOMMU_MAP_DMA."""
        ...

    def unmap(self, container: str, iova: int, size: int) -> int:
        """VFIO_IOMMU_UNMAP_DMA of a range; returns the bytes unmapped."""
        ...

    def unmap_all(
        self, container: str, *, iova: int | None = None, size: int | None = None
    ) -> int:
        """VFIO_IOMMU_UNMAP_DMA with the ALL flag; returns the bytes unmapped.

        `iova`/`size` are passed only when the scenario wrote them (`unmap c0 all iova=..`): a
        non-zero one is `dma.unmap.failed:all.with.range`, as the kernel's EINVAL.
        """
        ...

    def alloc(self, device: str) -> None:
        """Place every BAR (and the ROM) of the device in the guest windows."""
        ...

    def cfg_read(self, device: str, offset: int, size: int = 4) -> int:
        """Guest config-space read."""
        ...

    def cfg_write(self, device: str, offset: int, value: int, size: int = 4) -> None:
        """Guest config-space write."""
        ...

    def msix_entry(self, device: str, vector: int, addr: int, data: int) -> None:
        """Program table entry `vector` (address as 64 bits, data as 32 bits)."""
        ...

    def msix_mask(self, device: str, vector: int) -> None:
        """Set the entry's mask bit."""
        ...

    def msix_unmask(self, device: str, vector: int) -> None:
        """Clear the entry's mask bit (needs a valid MSI address)."""
        ...

    def msix_enable(self, device: str, on: bool) -> None:
        """Set or clear Message Control bit 15 (Enable)."""
        ...

    def msix_fmask(self, device: str, on: bool) -> None:
        """Set or clear Message Control bit 14 (Function Mask)."""
        ...

    def irq(self, device: str, vector: int) -> None:
        """The device raises `vector`."""
        ...

    def mmio_read(self, device: str, bar: int, offset: int, size: int = 4) -> int:
        """Guest read of `size` bytes at `offset` into BAR `bar` (little-endian)."""
        ...

    def mmio_write(self, device: str, bar: int, offset: int, value: int, size: int = 4) -> None:
        """Guest write of `size` bytes at `offset` into BAR `bar` (little-endian)."""
        ...

    def device_reset(self, device: str) -> None:
        """Function-level reset (the scenario's `reset DEV`; `reset` is the protocol's own)."""
        ...

    # observable attributes (container)
    def mappings(self, container: str) -> int:
        """Number of mappings."""
        ...

    def mapped(self, container: str) -> int:
        """Bytes mapped."""
        ...

    def avail(self, container: str) -> int:
        """Mappings still available before the entry limit."""
        ...

    def mapped_at(self, container: str, iova: int) -> bool:
        """Whether a mapping holds byte `iova`."""
        ...

    def translate(self, container: str, iova: int) -> int:
        """The vaddr byte `iova` maps to; an unmapped iova raises `scenario.error:eval`."""
        ...

    # observable attributes (device)
    def bar_size(self, device: str, index: int) -> int:
        """Size of BAR `index` (0 when absent)."""
        ...

    def bar_gpa(self, device: str, index: int) -> int:
        """Guest address of BAR `index` (0 before allocation, or when absent)."""
        ...

    def rom_size(self, device: str) -> int:
        """Size of the ROM (0 when absent)."""
        ...

    def rom_gpa(self, device: str) -> int:
        """Guest address of the ROM (0 before allocation, or when absent)."""
        ...

    def msix_vectors(self, device: str) -> int:
        """Vector count (0 without MSI-X)."""
        ...

    def msix_enabled(self, device: str) -> bool:
        """Message Control Enable."""
        ...

    def msix_function_masked(self, device: str) -> bool:
        """Message Control Function Mask."""
        ...

    def msix_masked(self, device: str, vector: int) -> bool:
        """The entry's own mask bit."""
        ...

    def msix_pending(self, device: str, vector: int) -> bool:
        """The vector's PBA bit."""
        ...

    def msix_delivered(self, device: str, vector: int) -> int:
        """Messages delivered on the vector so far."""
        ...

    def msix_configured(self, device: str) -> int:
        """Entries holding a valid MSI address."""
        ...

    def msix_last_addr(self, device: str, vector: int) -> int:
        """Address of the last message delivered on the vector (`scenario.error:eval` if none)."""
        ...

    def msix_last_data(self, device: str, vector: int) -> int:
        """Data of the last message delivered on the vector (`scenario.error:eval` if none)."""
        ...

    def command(self, device: str) -> int:
        """The Command register as the guest reads it."""
        ...


@runtime_checkable
class BackendSession(Protocol):
    """A backend for a whole run: one fresh `Backend` per scenario, closed at the end.

    For the model or a Python class, `fresh()` builds a new object; for a process backend it
    sends `reset` to the one child of this process (starting it when needed). `close()` ends
    whatever the session started (a child process, a guest); it is safe to call twice.
    """

    name: str  # the project name for issue links (`model`, `kernel`, an adapter's own)
    info: Mapping[str, str]  # what the run header shows about the system (kernel release, ...)
    methods: frozenset[str]  # the Backend methods it implements (a process child's `methods`)

    def fresh(self) -> Backend:
        """A backend in its initial state, for the next scenario.

        A process backend raises `BackendFault` when no child could be started, initialized or
        reset for it: the scenario fails with the fault's `message` (and stops the run when the
        fault is `fatal`).
        """
        ...

    def close(self) -> None:
        """End the session and every process it started."""
        ...
