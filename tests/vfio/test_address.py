"""Address types and the inclusive Range (`harness/vfio/address.py`)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.vfio.address import (
    U64_MAX,
    Gpa,
    Hva,
    Iova,
    Range,
    align_down,
    align_up,
    is_power_of_two,
)

ADDRESS_TYPES = (Gpa, Hva, Iova)


def test_power_of_two_accepts_only_positive_powers() -> None:
    assert [n for n in range(-2, 70) if is_power_of_two(n)] == [1, 2, 4, 8, 16, 32, 64]
    assert is_power_of_two(1 << 63)


def test_align_up_and_down_round_to_the_multiple() -> None:
    assert align_down(0x1234, 0x1000) == 0x1000
    assert align_up(0x1234, 0x1000) == 0x2000
    assert align_up(0x2000, 0x1000) == 0x2000
    assert align_down(0x2000, 0x1000) == 0x2000


def test_align_fails_non_power_of_two() -> None:
    with pytest.raises(ValueError, match="0x3"):
        align_up(5, 3)
    with pytest.raises(ValueError):
        align_down(5, 0)


@pytest.mark.parametrize("cls", ADDRESS_TYPES)
def test_address_holds_its_value_and_repr_replays(cls: type[Gpa]) -> None:
    address = cls(0x1000)
    assert address.value == 0x1000
    assert repr(address) == f"{cls.__name__}(0x1000)"
    assert eval(repr(address), {cls.__name__: cls}) == address


@pytest.mark.parametrize("cls", ADDRESS_TYPES)
@pytest.mark.parametrize("bad", [-1, U64_MAX + 1])
def test_address_fails_out_of_u64(cls: type[Gpa], bad: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        cls(bad)


def test_address_fails_non_int() -> None:
    with pytest.raises(TypeError):
        Gpa("0x1000")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Gpa(True)


def test_address_is_frozen_and_hashable() -> None:
    gpa = Gpa(0x1000)
    with pytest.raises(AttributeError):
        gpa.value = 0x2000  # type: ignore[misc]
    assert {Gpa(0x1000), Gpa(0x1000)} == {gpa}


def test_address_plus_int_and_minus_int() -> None:
    assert Gpa(0x1000) + 0x10 == Gpa(0x1010)
    assert Gpa(0x1000) - 0x10 == Gpa(0xFF0)
    assert Gpa(U64_MAX - 1) + 1 == Gpa(U64_MAX)


def test_address_minus_same_type_is_int() -> None:
    difference = Iova(0x3000) - Iova(0x1000)
    assert difference == 0x2000
    assert type(difference) is int


def test_address_add_fails_overflow_never_wraps() -> None:
    with pytest.raises(OverflowError, match="0x10000000000000000"):
        Gpa(U64_MAX) + 1


def test_address_sub_fails_underflow() -> None:
    with pytest.raises(OverflowError):
        Hva(0) - 1


def test_address_add_fails_for_two_addresses() -> None:
    left: Any = Gpa(1)
    with pytest.raises(TypeError):
        left + Gpa(2)


@pytest.mark.parametrize(("a", "b"), [(Gpa(1), Iova(1)), (Gpa(1), Hva(1)), (Iova(1), Hva(1))])
def test_address_mixing_types_fails(a: Any, b: Any) -> None:
    with pytest.raises(TypeError):
        a - b
    with pytest.raises(TypeError):
        a < b  # noqa: B015
    with pytest.raises(TypeError):
        a >= b  # noqa: B015
    assert a != b  # equality across spaces is simply false, as for unrelated types


def test_address_ordering_within_a_type() -> None:
    assert Gpa(1) < Gpa(2) <= Gpa(2) < Gpa(3)
    assert Iova(5) > Iova(4) >= Iova(4)
    assert sorted([Hva(3), Hva(1), Hva(2)]) == [Hva(1), Hva(2), Hva(3)]


def test_address_alignment_helpers() -> None:
    assert Gpa(0x2000).is_aligned(0x1000)
    assert not Gpa(0x2001).is_aligned(0x1000)
    assert Gpa(0x2FFF).align_down(0x1000) == Gpa(0x2000)
    assert Gpa(0x2001).align_up(0x1000) == Gpa(0x3000)


def test_address_align_up_fails_overflow() -> None:
    with pytest.raises(OverflowError):
        Iova(U64_MAX).align_up(0x1000)


def test_gpa_iova_explicit_conversions_are_identity() -> None:
    assert Iova.from_gpa(Gpa(0x1234)) == Iova(0x1234)
    assert Gpa.from_iova(Iova(0x1234)) == Gpa(0x1234)


def test_conversion_fails_wrong_source_type() -> None:
    with pytest.raises(TypeError):
        Iova.from_gpa(Hva(1))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Gpa.from_iova(Gpa(1))  # type: ignore[arg-type]


def test_range_is_inclusive() -> None:
    r = Range(0x1000, 0x1FFF)
    assert r.size == 0x1000
    assert r.contains(0x1000) and r.contains(0x1FFF)
    assert not r.contains(0xFFF) and not r.contains(0x2000)
    assert repr(r) == "Range(0x1000, 0x1fff)"


def test_range_fails_first_above_last() -> None:
    with pytest.raises(ValueError, match="above"):
        Range(2, 1)


def test_range_fails_out_of_u64() -> None:
    with pytest.raises(ValueError):
        Range(0, U64_MAX + 1)
    with pytest.raises(ValueError):
        Range(-1, 0)


def test_range_from_size() -> None:
    assert Range.from_size(0x1000, 0x1000) == Range(0x1000, 0x1FFF)
    # The very last byte of the 64-bit space can be covered (the kernel checks iova+size-1).
    assert Range.from_size(U64_MAX - 0xFFF, 0x1000).last == U64_MAX
    assert Range.from_size(0, 2**64).size == 2**64


def test_range_from_size_fails_size_zero() -> None:
    with pytest.raises(ValueError):
        Range.from_size(0x1000, 0)


def test_range_from_size_fails_overflow() -> None:
    with pytest.raises(OverflowError):
        Range.from_size(U64_MAX, 2)


def test_range_overlaps_is_symmetric_and_inclusive() -> None:
    a = Range(0x1000, 0x1FFF)
    assert a.overlaps(Range(0x1FFF, 0x2FFF)) and Range(0x1FFF, 0x2FFF).overlaps(a)
    assert not a.overlaps(Range(0x2000, 0x2FFF))  # adjacent, not overlapping
    assert a.overlaps(Range(0, U64_MAX))


def test_range_contains_range() -> None:
    outer = Range(0x1000, 0x4FFF)
    assert outer.contains_range(Range(0x1000, 0x4FFF))
    assert outer.contains_range(Range(0x2000, 0x2FFF))
    assert not outer.contains_range(Range(0xFFF, 0x2000))
    assert not outer.contains_range(Range(0x4000, 0x5000))
