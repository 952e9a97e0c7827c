"""PCI addressing: the BDF (domain:bus:device.function), BAR register offsets, VFIO regions."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from harness.vfio.catalog import Detail, ErrorId, VfioError

BAR_COUNT = 6
BAR0_CONFIG_OFFSET = 0x10
# The expansion ROM BAR of a type 0 header; 0x28 is the CardBus CIS pointer (a known port bug).
ROM_CONFIG_OFFSET = 0x30

_FIELD_MAX = {"domain": 0xFFFF, "bus": 0xFF, "device": 0x1F, "function": 0x7}
# Split on the separators only; field contents are checked one by one so the message can name
# the bad field. Anything else (spaces, a second '.', a third ':') fails this shape.
_SHAPE = re.compile(
    r"(?:(?P<domain>[^:.]*):)?(?P<bus>[^:.]*):(?P<device>[^:.]*)\.(?P<function>[^:.]*)"
)
_HEX = re.compile(r"[0-9A-Fa-f]+")


class Region(enum.IntEnum):
    """VFIO PCI region indices (`VFIO_PCI_*_REGION_INDEX` in `include/uapi/linux/vfio.h`)."""

    BAR0 = 0
    BAR1 = 1
    BAR2 = 2
    BAR3 = 3
    BAR4 = 4
    BAR5 = 5
    ROM = 6
    CONFIG = 7
    VGA = 8


@dataclass(frozen=True, slots=True)
class BadBdf(Detail):
    """What is wrong with a BDF: its text (when parsed), the field at fault and its value."""

    text: str | None = None
    field: str | None = None
    value: int | None = None


def _bdf_error(
    text: str, message: str, field: str | None = None, value: int | None = None
) -> VfioError:
    return VfioError(
        ErrorId.DEVICE_INVALID_BDF, f"invalid BDF {text!r}: {message}", BadBdf(text, field, value)
    )


@dataclass(frozen=True, slots=True)
class Bdf:
    """A PCI address; canonical text `DDDD:BB:DD.F` in lowercase hex."""

    domain: int
    bus: int
    device: int
    function: int

    def __post_init__(self) -> None:
        for field, limit in _FIELD_MAX.items():
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
                raise VfioError(
                    ErrorId.DEVICE_INVALID_BDF,
                    f"BDF {field} {value!r} is outside 0..{limit:#x}",
                    BadBdf(None, field, value if isinstance(value, int) else None),
                )

    @classmethod
    def parse(cls, text: str) -> Bdf:
        """Parse `DDDD:BB:DD.F` or `BB:DD.F` (domain 0), hex in any case."""
        shape = _SHAPE.fullmatch(text)
        if shape is None:
            raise _bdf_error(text, "expected DDDD:BB:DD.F or BB:DD.F")
        fields: dict[str, int] = {}
        for field, limit in _FIELD_MAX.items():
            digits = shape.group(field)
            if digits is None:  # only the domain is optional
                fields[field] = 0
                continue
            if digits == "":
                raise _bdf_error(text, f"empty {field} field", field)
            if _HEX.fullmatch(digits) is None:
                raise _bdf_error(text, f"{field} {digits!r} is not hex", field)
            value = int(digits, 16)
            if value > limit:
                raise _bdf_error(text, f"{field} {value:#x} is above {limit:#x}", field, value)
            fields[field] = value
        return cls(**fields)

    def __str__(self) -> str:
        return f"{self.domain:04x}:{self.bus:02x}:{self.device:02x}.{self.function:x}"


def bar_config_offset(index: int) -> int:
    """Config-space offset of BAR `index` (0..5): `0x10 + 4*index`."""
    if not 0 <= index < BAR_COUNT:
        raise ValueError(f"BAR index {index} is outside 0..{BAR_COUNT - 1}")
    return BAR0_CONFIG_OFFSET + 4 * index


def bar_index_at(offset: int) -> int | None:
    """The BAR whose register starts at config `offset`, or None."""
    relative = offset - BAR0_CONFIG_OFFSET
    if relative < 0 or relative % 4 or relative // 4 >= BAR_COUNT:
        return None
    return relative // 4
