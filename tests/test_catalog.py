"""The error catalog: complete against the normative page, stable, and described."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.vfio.catalog import DESCRIPTIONS, ErrorId, VfioError, catalog

SPEC = Path(__file__).resolve().parents[2] / "shared" / "design" / "scenario-language.md"


def spec_ids(text: str) -> set[str]:
    """Ids named in the error table of scenario-language.md (rows starting with an id)."""
    ids: set[str] = set()
    for row in text.splitlines():
        if not row.startswith("| `"):
            continue
        cell = row.split("|")[1]
        names = re.findall(r"`([^`]+)`", cell)
        first_type = names[0].split(":")[0]
        for name in names:
            if name.startswith("…:"):
                name = first_type + name[1:]
            if name.endswith(":<reason>"):
                continue
            ids.add(name)
    reasons = re.search(r"`unknown\.name`, `wrong\.kind`.*`value\.range`", text)
    assert reasons, "the scenario.error reasons row is where the page has it"
    ids.update(f"scenario.error:{r}" for r in re.findall(r"`([a-z.]+)`", reasons.group(0)))
    return ids


@pytest.mark.skipif(not SPEC.exists(), reason="design pages not beside the checkout")
def test_catalog_holds_every_id_of_the_normative_table() -> None:
    missing = spec_ids(SPEC.read_text(encoding="utf-8")) - set(catalog())
    assert not missing


def test_every_id_has_a_description() -> None:
    assert set(DESCRIPTIONS) == set(ErrorId)
    assert all(text.strip() for text in DESCRIPTIONS.values())


def test_ids_have_the_type_reason_shape() -> None:
    for error_id in catalog():
        assert re.fullmatch(r"[a-z]+(\.[a-z]+)*(:[a-z]+(\.[a-z]+)*)?", error_id), error_id


def test_error_carries_its_id_message_and_values() -> None:
    error = VfioError(ErrorId.DMA_MAP_OVERLAP, "overlaps", first=0x1000)
    assert error.id == "dma.map.failed:overlap"
    assert str(error) == "overlaps"
    assert error.values == {"first": 0x1000}
