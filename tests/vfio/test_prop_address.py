"""Properties of the address types (`harness/vfio/address.py`), against plain-int arithmetic.

Every expectation is computed on unbounded Python ints (division, modulo, `bin().count`),
never with the helpers under test, so a wrong mask or a missing overflow check shows up.
"""

from __future__ import annotations

import dataclasses
import operator

import pytest
from hypothesis import given
from hypothesis import strategies as st

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

TYPES = (Gpa, Hva, Iova)
u64 = st.integers(min_value=0, max_value=U64_MAX)
# Values near both ends of the space are where overflow checks go wrong.
edgy_u64 = st.one_of(
    u64,
    st.integers(min_value=U64_MAX - 0x10000, max_value=U64_MAX),
    st.integers(min_value=0, max_value=0x10000),
)
address_type = st.sampled_from(TYPES)
pow2 = st.integers(min_value=0, max_value=63).map(lambda k: 1 << k)
offset = st.integers(min_value=0, max_value=U64_MAX)


def _ceil_multiple(value: int, align: int) -> int:
    return -(-value // align) * align


def _range(first: int, last: int) -> Range:
    return Range(min(first, last), max(first, last))


ranges = st.builds(_range, u64, u64)
small_ranges = st.builds(
    _range, st.integers(min_value=0, max_value=64), st.integers(min_value=0, max_value=64)
)


@given(u64)
def test_prop_gpa_iova_roundtrip(value: int) -> None:
    """Identity mapping is a bijection: GPA -> IOVA -> GPA keeps the number and the type."""
    gpa = Gpa(value)
    iova = Iova.from_gpa(gpa)
    assert type(iova) is Iova and iova.value == value
    back = Gpa.from_iova(iova)
    assert type(back) is Gpa and back == gpa
    assert Iova.from_gpa(Gpa.from_iova(Iova(value))) == Iova(value)


@given(address_type, u64)
def test_prop_address_roundtrip(kind: type[Gpa], value: int) -> None:
    """`.value` returns what was stored and the repr is Python that rebuilds an equal value."""
    address = kind(value)
    assert address.value == value
    assert repr(address) == f"{kind.__name__}({hex(value)})"
    rebuilt = eval(repr(address), {kind.__name__: kind})
    assert rebuilt == address and hash(rebuilt) == hash(address)


@given(address_type, edgy_u64, st.integers(min_value=-(2**65), max_value=2**65))
def test_prop_address_arithmetic_safe(kind: type[Gpa], value: int, delta: int) -> None:
    """`+ int` / `- int` give the exact result inside 0..2^64-1 and OverflowError outside."""
    for op, result in ((operator.add, value + delta), (operator.sub, value - delta)):
        if 0 <= result <= U64_MAX:
            moved = op(kind(value), delta)
            assert type(moved) is kind and moved.value == result
        else:
            with pytest.raises(OverflowError):
                op(kind(value), delta)
    if 0 <= value + delta <= U64_MAX:  # a move that fits can be undone
        assert (kind(value) + delta) - delta == kind(value)


@given(address_type, edgy_u64, pow2)
def test_prop_address_alignment(kind: type[Gpa], value: int, align: int) -> None:
    """Aligning down/up gives the nearest multiples of `align` around the address."""
    address = kind(value)
    assert address.is_aligned(align) == (value % align == 0)
    down = address.align_down(align)
    assert type(down) is kind and down.value == value // align * align
    assert down.is_aligned(align) and value - down.value < align
    up_value = _ceil_multiple(value, align)
    if up_value <= U64_MAX:
        up = address.align_up(align)
        assert up.value == up_value and up.is_aligned(align) and up.value - value < align
    else:
        with pytest.raises(OverflowError):
            address.align_up(align)


@given(address_type, u64, u64)
def test_prop_address_ordering(kind: type[Gpa], a: int, b: int) -> None:
    """Ordering and equality within one space are numeric; the difference is an int."""
    x, y = kind(a), kind(b)
    assert (x < y) == (a < b)
    assert (x <= y) == (a <= b)
    assert (x > y) == (a > b)
    assert (x >= y) == (a >= b)
    assert (x == y) == (a == b)
    assert (x != y) == (a != b)
    difference = x - y  # the signed distance, a plain int
    assert type(difference) is int and difference == a - b


@given(st.permutations(TYPES), u64, u64)
def test_prop_address_cross_type_ops_rejected(kinds: list[type[Gpa]], a: int, b: int) -> None:
    """Mixing spaces in `+`, `-` or an ordering, or adding two addresses, is a TypeError."""
    x, y = kinds[0](a), kinds[1](b)
    for op in (operator.add, operator.sub, operator.lt, operator.le, operator.gt, operator.ge):
        with pytest.raises(TypeError):
            op(x, y)
    # Same number in two spaces is still two different things.
    assert kinds[0](a) != kinds[1](a)
    # Adding two addresses is meaningless even within one space.
    with pytest.raises(TypeError):
        operator.add(x, kinds[0](b))


@given(
    address_type,
    st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=U64_MAX + 1, max_value=2**80),
    ),
)
def test_prop_address_construction_fails_outside_u64(kind: type[Gpa], value: int) -> None:
    """An address below 0 or above 2^64-1 cannot be built."""
    with pytest.raises(ValueError):
        kind(value)


@given(address_type, u64, u64)
def test_prop_address_immutable_and_hashable(kind: type[Gpa], a: int, b: int) -> None:
    """Addresses are frozen, and a set of them dedupes exactly as the set of their values."""
    address = kind(a)
    with pytest.raises(dataclasses.FrozenInstanceError):
        address.value = b  # type: ignore[misc]
    assert len({kind(a), kind(b), kind(a)}) == len({a, b})


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_prop_is_power_of_two_matches_bit_count(n: int) -> None:
    """A positive integer with exactly one bit set, and nothing else, is a power of two."""
    assert is_power_of_two(n) == (n > 0 and bin(n).count("1") == 1)


@given(st.integers(min_value=0, max_value=2**70), pow2)
def test_prop_align_helpers_match_division(value: int, align: int) -> None:
    """`align_down`/`align_up` are floor/ceil to a multiple, computed by integer division."""
    assert align_down(value, align) == value // align * align
    assert align_up(value, align) == _ceil_multiple(value, align)


@given(
    u64,
    st.integers(min_value=2, max_value=2**64).filter(lambda n: n & (n - 1) != 0),
)
def test_prop_align_helpers_fail_non_power_of_two(value: int, align: int) -> None:
    """Aligning to a non-power-of-two is refused rather than silently masking wrongly."""
    with pytest.raises(ValueError):
        align_down(value, align)
    with pytest.raises(ValueError):
        align_up(value, align)


@given(u64, st.integers(min_value=-(2**64), max_value=2**64))
def test_prop_range_from_size_matches_bounds(start: int, size: int) -> None:
    """`Range.from_size` covers `size` bytes from `start`; no bytes or a wrap past 2^64-1 fail."""
    if size <= 0:
        with pytest.raises(ValueError):
            Range.from_size(start, size)
    elif start + size - 1 <= U64_MAX:
        rng = Range.from_size(start, size)
        assert (rng.first, rng.last, rng.size) == (start, start + size - 1, size)
    else:
        with pytest.raises(OverflowError):
            Range.from_size(start, size)


@given(u64, u64)
def test_prop_range_fails_inverted(first: int, last: int) -> None:
    """A range's first byte may not come after its last."""
    if first > last:
        with pytest.raises(ValueError):
            Range(first, last)
    else:
        assert Range(first, last).size == last - first + 1


@given(small_ranges, small_ranges)
def test_prop_range_overlaps_matches_byte_sets(a: Range, b: Range) -> None:
    """Two ranges overlap exactly when their byte sets intersect (small ranges, by sets)."""
    bytes_a = set(range(a.first, a.last + 1))
    bytes_b = set(range(b.first, b.last + 1))
    assert a.overlaps(b) == b.overlaps(a) == bool(bytes_a & bytes_b)
    assert a.contains_range(b) == (bytes_b <= bytes_a)


@given(ranges, ranges)
def test_prop_range_overlaps_matches_interval_test(a: Range, b: Range) -> None:
    """Over the 64-bit space, overlap is `max(firsts) <= min(lasts)`; containment is by bounds."""
    assert a.overlaps(b) == b.overlaps(a) == (max(a.first, b.first) <= min(a.last, b.last))
    assert a.overlaps(a) and a.contains_range(a)
    # Containment: both end bytes inside; it implies overlap and is antisymmetric.
    inside = a.contains_range(b)
    assert inside == (a.first <= b.first and b.last <= a.last)
    if inside:
        assert a.overlaps(b) and a.size >= b.size
        assert not b.contains_range(a) or a == b


@given(ranges, st.one_of(u64, st.integers(min_value=-4, max_value=U64_MAX + 4)))
def test_prop_range_contains_matches_bounds(rng: Range, x: int) -> None:
    """A byte is in a range exactly when it lies between first and last inclusive."""
    assert rng.contains(x) == (rng.first <= x <= rng.last)
    assert rng.contains(rng.first) and rng.contains(rng.last)
