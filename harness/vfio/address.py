"""Address types of the three address spaces (GPA, HVA, IOVA) and the inclusive `Range`.

Python ints never wrap, so every arithmetic step that could pass 2^64-1 is checked explicitly
and raises `OverflowError` instead of silently growing past what the hardware can address.
The three address classes are distinct: arithmetic is with `int` only, ordering and subtraction
only within one class, and conversion between spaces is explicit (`Iova.from_gpa`). Their
dunders are typed with `Self`, so mypy rejects `Gpa(1) + Gpa(2)` or `Gpa(1) < Iova(2)` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self, overload

U64_MAX = 2**64 - 1


def is_power_of_two(n: int) -> bool:
    """Whether `n` is a positive power of two."""
    return n > 0 and n & (n - 1) == 0


def _check_align(align: int) -> None:
    if not is_power_of_two(align):
        raise ValueError(f"alignment {align:#x} is not a power of two")


def align_down(value: int, align: int) -> int:
    """The largest multiple of `align` (a power of two) at or below `value`."""
    _check_align(align)
    return value & ~(align - 1)


def align_up(value: int, align: int) -> int:
    """The smallest multiple of `align` (a power of two) at or above `value` (unbounded)."""
    _check_align(align)
    return (value + align - 1) & ~(align - 1)


def _check_u64(value: object, what: str) -> int:
    if type(value) is not int and (not isinstance(value, int) or isinstance(value, bool)):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not 0 <= value <= U64_MAX:
        raise ValueError(f"{what} {value:#x} is outside 0..0x{U64_MAX:x}")
    return value


class _Address:
    """Shared behaviour of the address classes; each subclass is its own address space."""

    __slots__ = ()
    value: int

    def __post_init__(self) -> None:
        _check_u64(self.value, type(self).__name__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value:#x})"

    def _make(self, value: int, op: str) -> Self:
        if not 0 <= value <= U64_MAX:
            raise OverflowError(f"{self!r} {op} leaves the 64-bit address space ({value:#x})")
        return type(self)(value)  # type: ignore[call-arg]

    def __add__(self, other: int) -> Self:
        if not isinstance(other, int) or isinstance(other, bool):
            return NotImplemented
        return self._make(self.value + other, f"+ {other:#x}")

    @overload
    def __sub__(self, other: Self) -> int: ...
    @overload
    def __sub__(self, other: int) -> Self: ...
    def __sub__(self, other: Self | int) -> Self | int:
        if isinstance(other, _Address):
            if type(other) is not type(self):
                return NotImplemented
            return self.value - other.value
        if not isinstance(other, int) or isinstance(other, bool):
            return NotImplemented
        return self._make(self.value - other, f"- {other:#x}")

    def _same(self, other: object) -> bool:
        return type(other) is type(self)

    def __lt__(self, other: Self) -> bool:
        if not self._same(other):
            return NotImplemented
        return self.value < other.value

    def __le__(self, other: Self) -> bool:
        if not self._same(other):
            return NotImplemented
        return self.value <= other.value

    def __gt__(self, other: Self) -> bool:
        if not self._same(other):
            return NotImplemented
        return self.value > other.value

    def __ge__(self, other: Self) -> bool:
        if not self._same(other):
            return NotImplemented
        return self.value >= other.value

    def is_aligned(self, align: int) -> bool:
        """Whether the address is a multiple of `align` (a power of two)."""
        _check_align(align)
        return self.value & (align - 1) == 0

    def align_down(self, align: int) -> Self:
        """The address rounded down to a multiple of `align`."""
        return type(self)(align_down(self.value, align))  # type: ignore[call-arg]

    def align_up(self, align: int) -> Self:
        """The address rounded up to a multiple of `align`; OverflowError past 2^64-1."""
        return self._make(align_up(self.value, align), f"aligned up to {align:#x}")


@dataclass(frozen=True, slots=True, repr=False)
class Gpa(_Address):
    """A guest physical address."""

    value: int

    @classmethod
    def from_iova(cls, iova: Iova) -> Gpa:
        """The GPA equal to `iova` under identity mapping (no vIOMMU)."""
        if not isinstance(iova, Iova):
            raise TypeError(f"Gpa.from_iova needs an Iova, not {type(iova).__name__}")
        return cls(iova.value)


@dataclass(frozen=True, slots=True, repr=False)
class Hva(_Address):
    """A host virtual address in the VMM process (the vaddr of a DMA map)."""

    value: int


@dataclass(frozen=True, slots=True, repr=False)
class Iova(_Address):
    """An I/O virtual address, as the device sees it through the IOMMU."""

    value: int

    @classmethod
    def from_gpa(cls, gpa: Gpa) -> Iova:
        """The IOVA equal to `gpa` under identity mapping (no vIOMMU)."""
        if not isinstance(gpa, Gpa):
            raise TypeError(f"Iova.from_gpa needs a Gpa, not {type(gpa).__name__}")
        return cls(gpa.value)


@dataclass(frozen=True, slots=True, repr=False)
class Range:
    """An inclusive range `[first, last]` of 64-bit addresses, never empty."""

    first: int
    last: int

    def __post_init__(self) -> None:
        _check_u64(self.first, "range first")
        _check_u64(self.last, "range last")
        if self.first > self.last:
            raise ValueError(f"range first {self.first:#x} is above last {self.last:#x}")

    @classmethod
    def from_size(cls, start: int, size: int) -> Range:
        """The range of `size` bytes from `start`; size 0 is ValueError, a wrap OverflowError."""
        _check_u64(start, "range start")
        if size <= 0:
            raise ValueError(f"range size {size:#x} must be positive")
        last = start + size - 1
        if last > U64_MAX:
            raise OverflowError(
                f"range {start:#x}+{size:#x} passes 0x{U64_MAX:x} (last byte {last:#x})"
            )
        return cls(start, last)

    def __repr__(self) -> str:
        return f"Range({self.first:#x}, {self.last:#x})"

    def __str__(self) -> str:
        return f"[{self.first:#x}, {self.last:#x}]"

    @property
    def size(self) -> int:
        """Number of bytes in the range (up to 2^64)."""
        return self.last - self.first + 1

    @property
    def end(self) -> int:
        """One past the last byte (may be 2^64)."""
        return self.last + 1

    def overlaps(self, other: Range) -> bool:
        """Whether the two ranges share a byte."""
        return self.first <= other.last and other.first <= self.last

    def contains(self, x: int) -> bool:
        """Whether byte `x` lies in the range."""
        return self.first <= x <= self.last

    def contains_range(self, other: Range) -> bool:
        """Whether every byte of `other` lies in this range."""
        return self.first <= other.first and other.last <= self.last
