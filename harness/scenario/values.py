"""The value rules a statement's integers must meet before its backend call, beyond 0..2^64-1.

Each rule raises `scenario.error:value.range` (or `bad.option` where the page says so) with a
message naming the value as written:
- container: `pgsize` a power of two (bad.option otherwise) from 4K to 1G (the kernel shows no
  IOMMU page size below PAGE_SIZE); `limit` fits 32 bits (the kernel's `dma_entry_limit` is an
  unsigned int); `aw` from 32 to 64 bits.
- window: size above 0 (bad.option); the window ends inside its address space (mmio32 4G,
  mmio64 2^64, io 64K).
- a register write (`cfg write`, `mmio write`) fits the access size when that size is one the
  bus has (1, 2, 4 bytes, and 8 for MMIO); with any other size the backend reports the access
  as unaligned, whatever the value.
- a BAR index (`bar N` member, `mmio … barN`) fits 32 bits (the VFIO region index).
Values that fit these but break the device's rules (BAR index 6, 4096 vectors, a config offset
past 4096) are left to the backend, whose `device.invalid:*` and `*.failed:*` ids say what the
kernel or the PCI spec would.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.literals import show
from harness.scenario import nodes
from harness.scenario.evaluate import Frame
from harness.scenario.fields import Value, evaluated, fail, width
from harness.vfio.catalog import ErrorId

CONTAINER_INTS = frozenset({"pgsize", "limit", "aw"})
CFG_SIZES = (1, 2, 4)
MMIO_SIZES = (1, 2, 4, 8)
_WINDOW_END = {"mmio32": 1 << 32, "mmio64": 1 << 64, "io": 1 << 16}
_MIN_PGSIZE, _MAX_PGSIZE = 4096, 1 << 30
_MIN_AW, _MAX_AW = 32, 64


def container(ints: Mapping[str, Value], frame: Frame) -> dict[str, int]:
    """The container's integer options, evaluated and checked."""
    checked: dict[str, int] = {}
    for key, field in ints.items():
        value = evaluated(field, frame)
        if key == "pgsize":
            _page_size(value)
        elif key == "limit":
            width(value, 32, show(value), "entry limit")
        elif not _MIN_AW <= value <= _MAX_AW:
            raise fail(
                ErrorId.SCENARIO_VALUE_RANGE,
                f"aw {show(value)} is outside {_MIN_AW}..{_MAX_AW} (bits)",
            )
        checked[key] = value
    return checked


def _page_size(value: int) -> None:
    if value == 0 or value & (value - 1):
        raise fail(ErrorId.SCENARIO_BAD_OPTION, f"pgsize {show(value)} is not a power of two")
    if value < _MIN_PGSIZE:
        raise fail(
            ErrorId.SCENARIO_VALUE_RANGE,
            f"pgsize {show(value)} is below 4K: type1 reports no IOMMU page size below PAGE_SIZE",
        )
    if value > _MAX_PGSIZE:
        raise fail(
            ErrorId.SCENARIO_VALUE_RANGE, f"pgsize {show(value)} is above 1G, the largest page"
        )


def window(kind: str, base: int, size: int) -> tuple[int, int]:
    """`(base, size)` of a window, checked."""
    if size == 0:
        raise fail(ErrorId.SCENARIO_BAD_OPTION, f"window {kind} size must be above 0")
    end = _WINDOW_END[kind]
    if base + size > end:
        raise fail(
            ErrorId.SCENARIO_VALUE_RANGE,
            f"window {kind} [{show(base)}, {show(base + size)}) passes {show(end - 1)}",
        )
    return base, size


def register(value: int, size: int, sizes: tuple[int, ...], expr: nodes.Expr) -> int:
    """A value written with an access of `size` bytes: it fits, or the size is none the bus has."""
    if size in sizes:
        width(value, 8 * size, expr, f"{size}-byte register")
    return value


def bar_index(bar: nodes.BarName) -> int:
    """The index of `barN`, which must fit the 32-bit VFIO region index."""
    return width(bar.index, 32, bar.text, "BAR index")
