"""The value rules a statement's integers must meet before its backend call, beyond 0..2^64-1.

Each rule raises `scenario.error:value.range` (or `bad.option` where the page says so):
- container: `pgsize` a power of two (bad.option otherwise) from 4K to 1G (the kernel shows no
  IOMMU page size below PAGE_SIZE); `limit` fits 32 bits (the kernel's `dma_entry_limit` is an
  unsigned int); `aw` from 32 to 64 bits. The rules are the core's (`harness.vfio.dma`).
- window: size above 0 (bad.option); the window ends inside its address space (mmio32 4G,
  mmio64 2^64, io 64K): the core's rule (`harness.vfio.bars.window_error`).
- a register write (`cfg write`, `mmio write`) fits the access size when that size is one the
  bus has (1, 2, 4 bytes, and 8 for MMIO); with any other size the backend reports the access
  as unaligned, whatever the value.
- a BAR index (`bar N` member, `mmio … barN`) fits 32 bits (the VFIO region index).
Values that fit these but break the device's rules (BAR index 6, 4096 vectors, a config offset
past 4096) are left to the backend, whose `device.invalid:*` and `*.failed:*` ids say what the
kernel or the PCI spec would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from harness.scenario import nodes
from harness.scenario.evaluate import Frame
from harness.scenario.fields import Value, evaluated, fail, width
from harness.vfio import config_space, mmio
from harness.vfio.bars import WindowKind, window_error
from harness.vfio.catalog import ErrorId, VfioError
from harness.vfio.dma import address_width_error, limit_error, page_size_error

CONTAINER_INTS = frozenset({"pgsize", "limit", "aw"})
CFG_SIZES = config_space.ACCESS_SIZES  # the access sizes the bus has: the core's rules
MMIO_SIZES = mmio.ACCESS_SIZES
# The core's rule for each integer option of a container.
_CONTAINER_RULES: dict[str, Callable[[int], VfioError | None]] = {
    "pgsize": page_size_error,
    "limit": limit_error,
    "aw": address_width_error,
}


def _raise(error: VfioError | None) -> None:
    if error is not None:
        assert isinstance(error.kind, ErrorId)
        raise fail(error.kind, error.message)


def container(ints: Mapping[str, Value], frame: Frame) -> dict[str, int]:
    """The container's integer options, evaluated and checked by the core's rules."""
    checked: dict[str, int] = {}
    for key, field in ints.items():
        value = evaluated(field, frame)
        _raise(_CONTAINER_RULES[key](value))
        checked[key] = value
    return checked


def window(kind: str, base: int, size: int) -> tuple[int, int]:
    """`(base, size)` of a window, checked by the core's rule."""
    _raise(window_error(WindowKind(kind), base, size))
    return base, size


def register(value: int, size: int, sizes: tuple[int, ...], expr: nodes.Expr) -> int:
    """A value written with an access of `size` bytes: it fits, or the size is none the bus has."""
    if size in sizes:
        width(value, 8 * size, expr, f"{size}-byte register")
    return value


def bar_index(bar: nodes.BarName) -> int:
    """The index of `barN`, which must fit the 32-bit VFIO region index."""
    return width(bar.index, 32, bar.text, "BAR index")
