"""The error catalog: every stable output id the harness can produce, with a description.

Ids are `type:reason` (or a bare `type` for `parser.error`). They are what annotations match
against, so they never change; messages may. The table is normative in
`scenario-language.md`; ids added beyond it say `(extension)` in their description and are
listed, with their reasons, in `harness/scenario/README.md`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class ErrorId(enum.Enum):
    """A stable output id; the value is the id text, the description is in `DESCRIPTIONS`."""

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
        return DESCRIPTIONS[self]


DESCRIPTIONS: Mapping[ErrorId, str] = {
    ErrorId.DMA_MAP_SIZE_ZERO: "map of size 0 (EINVAL)",
    ErrorId.DMA_MAP_OVERFLOW: "iova+size-1 or vaddr+size-1 passes 2^64-1 (EOVERFLOW)",
    ErrorId.DMA_MAP_NO_ACCESS: "map with neither read nor write permission (EINVAL)",
    ErrorId.DMA_MAP_MISALIGNED: "iova, vaddr or size not a multiple of the page size (EINVAL)",
    ErrorId.DMA_MAP_OVERLAP: "a byte of the range is already mapped (EEXIST)",
    ErrorId.DMA_MAP_LIMIT_EXCEEDED: "the container already holds its limit of mappings (ENOSPC)",
    ErrorId.DMA_MAP_OUT_OF_RANGE: "the range is not inside one valid IOVA range (EINVAL)",
    ErrorId.DMA_UNMAP_SIZE_ZERO: "unmap of size 0 (EINVAL)",
    ErrorId.DMA_UNMAP_MISALIGNED: "unmap iova or size not a multiple of the page size (EINVAL)",
    ErrorId.DMA_UNMAP_OVERFLOW: "unmap iova+size-1 passes 2^64-1 (EOVERFLOW)",
    ErrorId.DMA_UNMAP_BISECTS_MAPPING: (
        "type1 v2: the unmap range cuts a mapping at its first or last byte (EINVAL)"
    ),
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
    ErrorId.CONFIG_UNALIGNED: "config offset not a multiple of size, or size not 1, 2 or 4",
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
    ErrorId.SCENARIO_VALUE_RANGE: "a value outside its range (above 2^64-1, or too wide a field)",
    ErrorId.SCENARIO_EVAL: "an expression that cannot be evaluated (division by zero, ...)",
}


def catalog() -> dict[str, str]:
    """Every id with its description, in catalog order."""
    return {error_id.value: error_id.description for error_id in ErrorId}


class VfioError(Exception):
    """The one failure type of the core: a stable id, a message naming the values, the values."""

    def __init__(self, kind: ErrorId, message: str, **values: Any) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.values = values

    @property
    def id(self) -> str:
        """The catalog id, e.g. `dma.map.failed:overlap`."""
        return self.kind.value

    def __repr__(self) -> str:
        return f"VfioError({self.kind!s}, {self.message!r})"
