"""The error catalog: every stable output id the harness can produce, and the core's error type.

Ids are `type:reason` (or a bare `type` for `parser.error`). They are what annotations match
against, so they never change; messages may. Ids added beyond the language reference's
minimum say `(extension)` in their description.

Each id whose failure a Linux kernel reports through an errno names that errno (`ErrorId.errno`),
so a backend driving a real kernel can tell which ids an errno may stand for. A kernel failure
that no id claims exactly is reported in the family `kernel.errno:<NAME>`, one id per Linux
errno name (`kernel.errno:EFAULT`); `KernelErrno` is that family's kind.

`VfioError` is the one failure type of every backend: a kind (which fixes the id), a message,
an optional typed `Detail` holding the values the message names, and an optional errno (what
the system under test returned, when it was a kernel).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from harness.vfio.linux_errno import Errno

KERNEL_ERRNO = "kernel.errno"  # the type part of the `kernel.errno:<NAME>` family


class ErrorId(enum.Enum):
    """A stable output id; the value is the id text."""

    DMA_MAP_SIZE_ZERO = "dma.map.failed:size.zero"
    DMA_MAP_OVERFLOW = "dma.map.failed:overflow"
    DMA_MAP_NO_ACCESS = "dma.map.failed:no.access"
    DMA_MAP_MISALIGNED = "dma.map.failed:misaligned"
    DMA_MAP_OVERLAP = "dma.map.failed:overlap"
    DMA_MAP_LIMIT_EXCEEDED = "dma.map.failed:limit.exceeded"
    DMA_MAP_OUT_OF_RANGE = "dma.map.failed:out.of.range"
    DMA_UNMAP_SIZE_ZERO = "dma.unmap.failed:size.zero"
    DMA_UNMAP_MISALIGNED = "dma.unmap.failed:misaligned"
    DMA_UNMAP_OVERFLOW = "dma.unmap.failed:overflow"
    DMA_UNMAP_BISECTS_MAPPING = "dma.unmap.failed:bisects.mapping"
    DMA_UNMAP_ALL_WITH_RANGE = "dma.unmap.failed:all.with.range"
    DEVICE_INVALID_BDF = "device.invalid:bdf"
    DEVICE_INVALID_BAR_INDEX = "device.invalid:bar.index"
    DEVICE_INVALID_BAR_SLOT = "device.invalid:bar.slot"
    DEVICE_INVALID_BAR_SIZE = "device.invalid:bar.size"
    DEVICE_INVALID_BAR_PREFETCH = "device.invalid:bar.prefetch"
    DEVICE_INVALID_MSIX_VECTORS = "device.invalid:msix.vectors"
    DEVICE_INVALID_MSIX_LOCATION = "device.invalid:msix.location"
    DEVICE_INVALID_MSIX_DUPLICATE = "device.invalid:msix.duplicate"
    DEVICE_ATTACH_ALREADY_ATTACHED = "device.attach.failed:already.attached"
    DEVICE_ATTACH_CONFLICT = "device.attach.failed:conflict"
    BAR_ALLOC_WINDOW_EXHAUSTED = "bar.alloc.failed:window.exhausted"
    CONFIG_OUT_OF_RANGE = "config.access.failed:out.of.range"
    CONFIG_UNALIGNED = "config.access.failed:unaligned"
    MMIO_NO_BAR = "mmio.access.failed:no.bar"
    MMIO_OUT_OF_RANGE = "mmio.access.failed:out.of.range"
    MMIO_UNALIGNED = "mmio.access.failed:unaligned"
    MSIX_UNSUPPORTED = "msix.failed:unsupported"
    MSIX_VECTOR_OUT_OF_RANGE = "msix.failed:vector.out.of.range"
    MSIX_UNMASK_UNCONFIGURED = "msix.unmask.failed:unconfigured"
    MSIX_ENTRY_UNMASKED_INVALID = "msix.entry.failed:unmasked.invalid"
    IRQ_VECTOR_OUT_OF_RANGE = "irq.failed:vector.out.of.range"
    ASSERT_FALSE = "assert.failed:assertion.false"
    PARSER_ERROR = "parser.error"
    SCENARIO_UNKNOWN_NAME = "scenario.error:unknown.name"
    SCENARIO_WRONG_KIND = "scenario.error:wrong.kind"
    SCENARIO_DUPLICATE_NAME = "scenario.error:duplicate.name"
    SCENARIO_BAD_OPTION = "scenario.error:bad.option"
    SCENARIO_VALUE_RANGE = "scenario.error:value.range"
    SCENARIO_EVAL = "scenario.error:eval"

    @property
    def description(self) -> str:
        """What the id means, in one sentence."""
        return _DESCRIPTIONS[self]

    @property
    def errno(self) -> Errno | None:
        """The errno a Linux kernel returns for this failure (None: no kernel call fails so)."""
        return _ERRNOS.get(self)


_DESCRIPTIONS: Mapping[ErrorId, str] = {
    ErrorId.DMA_MAP_SIZE_ZERO: "map of size 0",
    ErrorId.DMA_MAP_OVERFLOW: "map whose iova+size-1 or vaddr+size-1 passes 2^64-1",
    ErrorId.DMA_MAP_NO_ACCESS: "map with neither read nor write permission",
    ErrorId.DMA_MAP_MISALIGNED: "map iova, vaddr or size not a multiple of the page size",
    ErrorId.DMA_MAP_OVERLAP: "a byte of the map's range is already mapped",
    ErrorId.DMA_MAP_LIMIT_EXCEEDED: "the container already holds its limit of mappings",
    ErrorId.DMA_MAP_OUT_OF_RANGE: (
        "the map's range is not inside one valid IOVA range (a reserved range, or above the"
        " IOMMU's address width aw)"
    ),
    ErrorId.DMA_UNMAP_SIZE_ZERO: "unmap of size 0",
    ErrorId.DMA_UNMAP_MISALIGNED: "unmap iova or size not a multiple of the page size",
    ErrorId.DMA_UNMAP_OVERFLOW: "unmap whose iova+size-1 passes 2^64-1",
    ErrorId.DMA_UNMAP_BISECTS_MAPPING: (
        "type1 v2: the unmap range cuts a mapping at its first or last byte"
    ),
    ErrorId.DMA_UNMAP_ALL_WITH_RANGE: "unmap all with a non-zero iova or size",
    ErrorId.DEVICE_INVALID_BDF: (
        "malformed BDF: domain > 0xffff, bus > 0xff, device > 0x1f, function > 7, or bad text"
    ),
    ErrorId.DEVICE_INVALID_BAR_INDEX: "BAR index above 5, or a 64-bit BAR at index 5",
    ErrorId.DEVICE_INVALID_BAR_SLOT: (
        "BAR slot already taken (also slot n+1 of a 64-bit BAR n, and a second ROM)"
    ),
    ErrorId.DEVICE_INVALID_BAR_SIZE: (
        "BAR size not a power of two, below the minimum (mem 16, io 4, rom 2K), or io above 256"
    ),
    ErrorId.DEVICE_INVALID_BAR_PREFETCH: (
        "an io BAR declared prefetchable (bit 3 is an address bit of an I/O BAR) (extension)"
    ),
    ErrorId.DEVICE_INVALID_MSIX_VECTORS: "MSI-X with 0 or more than 2048 vectors",
    ErrorId.DEVICE_INVALID_MSIX_LOCATION: (
        "MSI-X table or PBA in an absent or io BAR, outside its BAR, overlapping,"
        " or not 8-byte aligned"
    ),
    ErrorId.DEVICE_INVALID_MSIX_DUPLICATE: "a second msix member in one device (extension)",
    ErrorId.DEVICE_ATTACH_ALREADY_ATTACHED: "the device is attached to a container already",
    ErrorId.DEVICE_ATTACH_CONFLICT: "an existing mapping lies in a range the attach reserves",
    ErrorId.BAR_ALLOC_WINDOW_EXHAUSTED: "no naturally aligned free space left in the window",
    ErrorId.CONFIG_OUT_OF_RANGE: "config access with offset+size beyond 4096",
    ErrorId.CONFIG_UNALIGNED: (
        "config access crossing a dword boundary (offset % 4 + size > 4), or size not 1, 2 or 4"
    ),
    ErrorId.MMIO_NO_BAR: "MMIO to an absent BAR, or to the upper half of a 64-bit BAR",
    ErrorId.MMIO_OUT_OF_RANGE: "MMIO with offset+size beyond the BAR's size",
    ErrorId.MMIO_UNALIGNED: (
        "MMIO size not 1, 2, 4 or 8 (8 not on an io BAR), offset not a multiple of size, or an"
        " MSI-X table/PBA access not an aligned 4- or 8-byte one"
    ),
    ErrorId.MSIX_UNSUPPORTED: "MSI-X operation on a device without MSI-X",
    ErrorId.MSIX_VECTOR_OUT_OF_RANGE: "MSI-X vector at or above the device's vector count",
    ErrorId.MSIX_UNMASK_UNCONFIGURED: (
        "unmask of an entry without a valid MSI address (0xfeeXXXXX, high dword 0)"
    ),
    ErrorId.MSIX_ENTRY_UNMASKED_INVALID: (
        "programming an unmasked entry with an address that is not a valid MSI address"
        " (extension; keeps unmasked <= configured)"
    ),
    ErrorId.IRQ_VECTOR_OUT_OF_RANGE: "irq on a vector the device does not have",
    ErrorId.ASSERT_FALSE: "an assert, or a '== VALUE' check, is false",
    ErrorId.PARSER_ERROR: "syntax error: the file does not run",
    ErrorId.SCENARIO_UNKNOWN_NAME: "use of an undeclared name or attribute",
    ErrorId.SCENARIO_WRONG_KIND: "a name of the wrong kind (a device where a container is wanted)",
    ErrorId.SCENARIO_DUPLICATE_NAME: "a name declared twice (names are unique across kinds)",
    ErrorId.SCENARIO_BAD_OPTION: "an unknown option, a repeated option, or a bad option value",
    ErrorId.SCENARIO_VALUE_RANGE: (
        "a value outside its range (above 2^64-1, too wide a field, a pgsize below 4K, ...)"
    ),
    ErrorId.SCENARIO_EVAL: "an expression that cannot be evaluated (division by zero, ...)",
}

# The kernel's answer for each failure a kernel call can have (drivers/vfio/vfio_iommu_type1.c
# `vfio_dma_do_map`, `vfio_dma_do_unmap`, `vfio_iommu_type1_unmap_dma`,
# `vfio_iommu_type1_attach_group`; drivers/vfio/group.c `vfio_group_ioctl_set_container`;
# drivers/vfio/pci/vfio_pci_config.c `vfio_config_do_rw`; drivers/vfio/pci/vfio_pci_rdwr.c
# `vfio_pci_bar_rw`; drivers/vfio/vfio_main.c `vfio_set_irqs_validate_and_prepare`). Ids
# without an entry are the VMM's own checks (declarations, allocation, alignment the kernel
# would split) or the scenario language's.
_ERRNOS: Mapping[ErrorId, Errno] = {
    ErrorId.DMA_MAP_SIZE_ZERO: Errno.EINVAL,
    ErrorId.DMA_MAP_OVERFLOW: Errno.EOVERFLOW,
    ErrorId.DMA_MAP_NO_ACCESS: Errno.EINVAL,
    ErrorId.DMA_MAP_MISALIGNED: Errno.EINVAL,
    ErrorId.DMA_MAP_OVERLAP: Errno.EEXIST,
    ErrorId.DMA_MAP_LIMIT_EXCEEDED: Errno.ENOSPC,
    ErrorId.DMA_MAP_OUT_OF_RANGE: Errno.EINVAL,
    ErrorId.DMA_UNMAP_SIZE_ZERO: Errno.EINVAL,
    ErrorId.DMA_UNMAP_MISALIGNED: Errno.EINVAL,
    ErrorId.DMA_UNMAP_OVERFLOW: Errno.EOVERFLOW,
    ErrorId.DMA_UNMAP_BISECTS_MAPPING: Errno.EINVAL,
    ErrorId.DMA_UNMAP_ALL_WITH_RANGE: Errno.EINVAL,
    ErrorId.DEVICE_ATTACH_ALREADY_ATTACHED: Errno.EINVAL,
    ErrorId.DEVICE_ATTACH_CONFLICT: Errno.EINVAL,
    ErrorId.CONFIG_OUT_OF_RANGE: Errno.EFAULT,
    ErrorId.MMIO_NO_BAR: Errno.EINVAL,
    ErrorId.MMIO_OUT_OF_RANGE: Errno.EINVAL,
    ErrorId.MSIX_UNSUPPORTED: Errno.EINVAL,
    ErrorId.MSIX_VECTOR_OUT_OF_RANGE: Errno.EINVAL,
    ErrorId.IRQ_VECTOR_OUT_OF_RANGE: Errno.EINVAL,
}


@dataclass(frozen=True, slots=True)
class KernelErrno:
    """The kind of an id of the family `kernel.errno:<NAME>`: the kernel failed with `errno`."""

    errno: Errno

    @property
    def value(self) -> str:
        """The id text, e.g. `kernel.errno:EFAULT`."""
        return f"{KERNEL_ERRNO}:{self.errno.name}"

    @property
    def description(self) -> str:
        """What the id means."""
        return (
            f"the kernel failed the call with {self.errno.name} ({int(self.errno)}),"
            " and no other id claims that failure"
        )

    def __repr__(self) -> str:
        return f"KernelErrno(Errno.{self.errno.name})"


@dataclass(frozen=True, slots=True)
class UncataloguedId:
    """The kind of an id a backend reported that the catalog does not know (it never matches)."""

    value: str


ErrorKind = ErrorId | KernelErrno | UncataloguedId


def kind_of(text: str) -> ErrorId | KernelErrno | None:
    """The kind an id names: a catalog id, a member of the `kernel.errno` family, or None."""
    try:
        return ErrorId(text)
    except ValueError:
        pass
    family, _, name = text.partition(":")
    if family == KERNEL_ERRNO and name in Errno.__members__:
        return KernelErrno(Errno[name])
    return None


def is_known(text: str) -> bool:
    """Whether `text` is an id of the catalog, the `kernel.errno` family included."""
    return kind_of(text) is not None


def catalog() -> dict[str, str]:
    """Every id with its description (and errno, when a kernel fails so): the catalog's ids
    in order, then the errno family."""
    ids = {
        error_id.value: error_id.description
        + ("" if error_id.errno is None else f" ({error_id.errno.name})")
        for error_id in ErrorId
    }
    for errno in Errno:
        kind = KernelErrno(errno)
        ids[kind.value] = kind.description
    return ids


@dataclass(frozen=True, slots=True)
class Detail:
    """The values an error's message names, typed; each domain module defines its own kinds."""


class VfioError(Exception):
    """The one failure type of a backend: a kind (the id), a message, its values, an errno.

    `detail` holds the values the message names (both ranges of an overlap, the bad offset),
    for callers and tests that want them without parsing the message. `errno` is what the
    system under test returned, when it was a kernel call; for the `kernel.errno` family it
    defaults to the family member's errno.
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        detail: Detail | None = None,
        *,
        errno: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail
        if errno is None and isinstance(kind, KernelErrno):
            errno = int(kind.errno)
        self.errno = errno

    @classmethod
    def from_id(cls, text: str, message: str, *, errno: int | None = None) -> VfioError:
        """The error a backend reported by id text (a process backend's `data.id`)."""
        kind = kind_of(text)
        return cls(UncataloguedId(text) if kind is None else kind, message, errno=errno)

    @classmethod
    def from_errno(cls, errno: int, message: str) -> VfioError:
        """A kernel failure no catalog id claims: `kernel.errno:<NAME>` (ValueError if unknown)."""
        return cls(KernelErrno(Errno(errno)), message)

    @property
    def id(self) -> str:
        """The id text, e.g. `dma.map.failed:overlap`."""
        return self.kind.value

    def __repr__(self) -> str:
        errno = "" if self.errno is None else f", errno={self.errno}"
        detail = "" if self.detail is None else f", {self.detail!r}"
        return f"VfioError({self.kind!s}, {self.message!r}{detail}{errno})"
