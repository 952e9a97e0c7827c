"""BDF parsing and BAR register offsets (`harness/vfio/pci.py`)."""

from __future__ import annotations

import pytest

from harness.vfio.catalog import ErrorId, VfioError
from harness.vfio.pci import (
    ROM_CONFIG_OFFSET,
    BadBdf,
    Bdf,
    Region,
    bar_config_offset,
    bar_index_at,
)


def test_bdf_parse_full_form() -> None:
    assert Bdf.parse("0000:01:00.0") == Bdf(0, 1, 0, 0)
    assert Bdf.parse("ffff:ff:1f.7") == Bdf(0xFFFF, 0xFF, 0x1F, 7)


def test_bdf_parse_short_form_has_domain_zero() -> None:
    assert Bdf.parse("01:00.1") == Bdf(0, 1, 0, 1)


def test_bdf_parse_accepts_any_case() -> None:
    assert Bdf.parse("00AB:Cd:1F.3") == Bdf(0xAB, 0xCD, 0x1F, 3)


def test_bdf_str_is_canonical_lowercase() -> None:
    assert str(Bdf(0xAB, 0xCD, 0x1F, 3)) == "00ab:cd:1f.3"
    assert str(Bdf.parse("1:2.3")) == "0000:01:02.3"


@pytest.mark.parametrize("text", ["0000:01:00.0", "abcd:ef:1f.7", "0000:00:00.0"])
def test_bdf_parse_display_round_trips_canonical_text(text: str) -> None:
    assert str(Bdf.parse(text)) == text


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("0000:100:00.0", "bus"),
        ("0000:01:20.0", "device"),
        ("0000:01:00.8", "function"),
        ("10000:01:00.0", "domain"),
    ],
)
def test_bdf_parse_fails_out_of_range(text: str, field: str) -> None:
    with pytest.raises(VfioError) as caught:
        Bdf.parse(text)
    assert caught.value.kind is ErrorId.DEVICE_INVALID_BDF
    assert field in caught.value.message
    assert text in caught.value.message
    detail = caught.value.detail
    assert isinstance(detail, BadBdf) and (detail.text, detail.field) == (text, field)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (":01:00.0", "domain"),
        ("0000::00.0", "bus"),
        ("0000:01:.0", "device"),
        ("01:00.", "function"),
    ],
)
def test_bdf_parse_fails_empty_field(text: str, field: str) -> None:
    with pytest.raises(VfioError, match=f"empty {field}") as caught:
        Bdf.parse(text)
    assert caught.value.kind is ErrorId.DEVICE_INVALID_BDF


@pytest.mark.parametrize(
    "text",
    [
        "0000:01:00.0x",
        " 01:00.0",
        "01:00.0 ",
        "0000:01:00:00.0",
        "01:00.0.1",
        "01-00.0",
        "",
        "g1:00.0",
    ],
)
def test_bdf_parse_fails_extra_or_bad_characters(text: str) -> None:
    with pytest.raises(VfioError) as caught:
        Bdf.parse(text)
    assert caught.value.kind is ErrorId.DEVICE_INVALID_BDF
    assert repr(text) in caught.value.message


def test_bdf_construction_fails_out_of_range() -> None:
    with pytest.raises(VfioError) as caught:
        Bdf(0, 0, 0x20, 0)
    assert caught.value.kind is ErrorId.DEVICE_INVALID_BDF
    assert caught.value.detail == BadBdf(None, "device", 0x20)


def test_bar_config_offsets_follow_the_type0_header() -> None:
    assert [bar_config_offset(i) for i in range(6)] == [0x10, 0x14, 0x18, 0x1C, 0x20, 0x24]


@pytest.mark.parametrize("index", [-1, 6])
def test_bar_config_offset_fails_bad_index(index: int) -> None:
    with pytest.raises(ValueError):
        bar_config_offset(index)


def test_bar_index_at_inverts_the_offset() -> None:
    assert all(bar_index_at(bar_config_offset(i)) == i for i in range(6))
    assert bar_index_at(0x0C) is None
    assert bar_index_at(0x28) is None  # CardBus CIS pointer, not a BAR
    assert bar_index_at(0x11) is None


def test_rom_register_is_at_0x30_not_the_cardbus_cis_pointer() -> None:
    # PCI spec type 0 header: 0x28 is the CardBus CIS pointer, 0x30 the expansion ROM BAR.
    assert ROM_CONFIG_OFFSET == 0x30


def test_regions_use_vfio_indices() -> None:
    # include/uapi/linux/vfio.h: VFIO_PCI_BAR0..5 = 0..5, ROM 6, CONFIG 7, VGA 8.
    assert [int(r) for r in Region] == list(range(9))
    assert (int(Region.ROM), int(Region.CONFIG), int(Region.VGA)) == (6, 7, 8)
