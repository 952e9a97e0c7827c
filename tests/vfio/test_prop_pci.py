"""Properties of PCI addressing (`harness/vfio/pci.py`): BDF text, BAR register offsets.

Expected values come from the PCI type 0 header layout (`PCI_BASE_ADDRESS_0` = 0x10, six
dwords, `PCI_ROM_ADDRESS` = 0x30) and from building BDF text by hand with `random`-cased hex,
never from the parser or formatter under test.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.vfio.catalog import ErrorId, VfioError
from harness.vfio.pci import ROM_CONFIG_OFFSET, Bdf, bar_config_offset, bar_index_at

LIMITS = {"domain": 0xFFFF, "bus": 0xFF, "device": 0x1F, "function": 0x7}
WIDTHS = {"domain": 4, "bus": 2, "device": 2, "function": 1}
FIELDS = tuple(LIMITS)

domains = st.integers(min_value=0, max_value=0xFFFF)
buses = st.integers(min_value=0, max_value=0xFF)
devices = st.integers(min_value=0, max_value=0x1F)
functions = st.integers(min_value=0, max_value=0x7)
fields = st.tuples(domains, buses, devices, functions)
# The character case of each hex digit, drawn independently of the value.
case_masks = st.integers(min_value=0, max_value=(1 << 12) - 1)
# Inserting any of these anywhere breaks the shape or a field's hex.
NON_HEX = st.sampled_from(
    [" ", "\t", "\n", "x", "X", "g", "G", "-", "+", "_", "/", ",", ":", ".", "\u00e9", "0x"]
)


def _text(values: tuple[int, int, int, int], case_mask: int, short: bool) -> str:
    """BDF text built by hand: fixed-width hex with each letter's case set by a bit mask."""
    parts = [f"{v:0{WIDTHS[f]}x}" for f, v in zip(FIELDS, values, strict=True)]
    text = (
        f"{parts[1]}:{parts[2]}.{parts[3]}"
        if short
        else (f"{parts[0]}:{parts[1]}:{parts[2]}.{parts[3]}")
    )
    return "".join(ch.upper() if case_mask >> (i % 12) & 1 else ch for i, ch in enumerate(text))


def _fails_bdf(text: str) -> None:
    with pytest.raises(VfioError) as caught:
        Bdf.parse(text)
    assert caught.value.kind is ErrorId.DEVICE_INVALID_BDF
    assert caught.value.id == "device.invalid:bdf"


@given(fields, case_masks, case_masks)
def test_prop_bdf_parse_valid(values: tuple[int, int, int, int], mask_a: int, mask_b: int) -> None:
    """Every in-range BDF parses to its fields, whatever the letter case of its hex."""
    bdf = Bdf.parse(_text(values, mask_a, short=False))
    assert (bdf.domain, bdf.bus, bdf.device, bdf.function) == values
    assert Bdf.parse(_text(values, mask_b, short=False)) == bdf


@given(fields, case_masks, st.booleans())
def test_prop_bdf_parse_display_idempotent(
    values: tuple[int, int, int, int], case_mask: int, short: bool
) -> None:
    """Display is canonical lowercase `%04x:%02x:%02x.%x`, and parse/display round-trip."""
    if short:
        values = (0, *values[1:])
    bdf = Bdf.parse(_text(values, case_mask, short))
    canonical = "{:04x}:{:02x}:{:02x}.{:x}".format(*values)
    assert str(bdf) == canonical
    assert Bdf.parse(str(bdf)) == bdf
    assert str(Bdf.parse(str(bdf))) == str(bdf)


@given(st.tuples(buses, devices, functions), case_masks)
def test_prop_bdf_short_form_is_domain_zero(values: tuple[int, int, int], case_mask: int) -> None:
    """`BB:DD.F` means domain 0 and equals the long form with `0000:`."""
    full = (0, *values)
    assert Bdf.parse(_text(full, case_mask, short=True)) == Bdf(*full)
    assert Bdf.parse(_text(full, case_mask, short=True)) == Bdf.parse(_text(full, 0, short=False))


@given(fields, st.sampled_from(FIELDS), st.integers(min_value=1, max_value=0xFFFF))
def test_prop_bdf_parse_fails_field_above_limit(
    values: tuple[int, int, int, int], field: str, excess: int
) -> None:
    """A field above its limit (domain 0xffff, bus 0xff, device 0x1f, function 7) is refused."""
    index = FIELDS.index(field)
    bad = list(values)
    bad[index] = LIMITS[field] + excess
    text = "{:x}:{:x}:{:x}.{:x}".format(*bad)
    _fails_bdf(text)
    with pytest.raises(VfioError) as caught:
        Bdf(*bad)
    assert caught.value.kind is ErrorId.DEVICE_INVALID_BDF


@given(fields, st.booleans(), NON_HEX, st.integers(min_value=0, max_value=12))
def test_prop_bdf_parse_fails_extra_characters(
    values: tuple[int, int, int, int], short: bool, extra: str, at: int
) -> None:
    """A non-hex character inserted anywhere (a space, a separator, a sign) is refused."""
    # A ':' inserted into `BB:DD.F` can make a valid `D:BB:DD.F`; it must break the long form.
    short = short and extra != ":"
    if short:
        values = (0, *values[1:])
    text = _text(values, 0, short)
    where = at % (len(text) + 1)
    _fails_bdf(text[:where] + extra + text[where:])


@given(fields, st.booleans(), st.integers(min_value=0, max_value=3))
def test_prop_bdf_parse_fails_empty_field(
    values: tuple[int, int, int, int], short: bool, pick: int
) -> None:
    """Dropping the digits of any one field leaves an empty field, which is refused."""
    if short:
        values = (0, *values[1:])
    present = FIELDS[1:] if short else FIELDS
    field = present[pick % len(present)]
    parts = {f: f"{v:0{WIDTHS[f]}x}" for f, v in zip(FIELDS, values, strict=True)}
    parts[field] = ""
    head = "" if short else parts["domain"] + ":"
    _fails_bdf(f"{head}{parts['bus']}:{parts['device']}.{parts['function']}")


@given(fields, fields)
def test_prop_bdf_equality_matches_fields(
    a: tuple[int, int, int, int], b: tuple[int, int, int, int]
) -> None:
    """Two BDFs are equal (and hash equal) exactly when all four fields are equal."""
    assert (Bdf(*a) == Bdf(*b)) == (a == b)
    assert (str(Bdf(*a)) == str(Bdf(*b))) == (a == b)
    if a == b:
        assert hash(Bdf(*a)) == hash(Bdf(*b))


@given(st.integers(min_value=0, max_value=5))
def test_prop_bar_config_offset_valid(index: int) -> None:
    """BAR n lives at `0x10 + 4n`: dword aligned, inside the type 0 BAR block 0x10..0x27."""
    offset = bar_config_offset(index)
    assert offset == 0x10 + 4 * index
    assert offset % 4 == 0 and offset >= 0x10 and offset + 3 <= 0x27
    assert offset not in (0x28, ROM_CONFIG_OFFSET)


@given(st.integers(min_value=-64, max_value=64).filter(lambda i: not 0 <= i <= 5))
def test_prop_bar_config_offset_fails_outside_0_to_5(index: int) -> None:
    """There are six BAR registers; no other index has one (the ROM has its own offset)."""
    with pytest.raises(ValueError):
        bar_config_offset(index)


@given(st.integers(min_value=0, max_value=5), st.integers(min_value=0, max_value=0xFFF))
def test_prop_bar_index_roundtrip(index: int, offset: int) -> None:
    """Index -> offset -> index is the identity, and only the six BAR offsets name a BAR."""
    assert bar_index_at(bar_config_offset(index)) == index
    found = bar_index_at(offset)
    expected = (offset - 0x10) // 4 if 0x10 <= offset <= 0x24 and offset % 4 == 0 else None
    assert found == expected
    if found is not None:
        assert bar_config_offset(found) == offset
