"""The corpus under scenarios/: every catalog id expected somewhere, every area covered.

Whether each scenario passes on the model is what `pytest scenarios/` itself checks (the
full suite collects scenarios/ through testpaths), so it is not repeated here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from annotations import Kind, read_texts
from harness.discovery import group
from harness.vfio.catalog import ErrorId

ROOT = Path(__file__).resolve().parents[2] / "scenarios"
FILES = sorted(ROOT.rglob("*.vfio"))
SCENARIOS = group(FILES, ROOT)


def test_corpus_has_at_least_sixty_files() -> None:
    assert len(FILES) >= 60


def test_every_catalog_id_is_expected_by_a_scenario() -> None:
    # The catalog's own ids; the kernel.errno:<NAME> family names kernel failures, which no
    # model run produces.
    read = read_texts([(str(p), p.read_text(encoding="utf-8")) for p in FILES])
    expected = {
        str(a.output_id)
        for a in read.annotations
        if a.kind is Kind.EXPECTED and a.output_id is not None
    }
    assert sorted({error_id.value for error_id in ErrorId} - expected) == []


@pytest.mark.parametrize(
    "area", ["address", "pci", "bdf", "dma", "bars", "msix", "config", "integration", "edge"]
)
def test_every_area_of_the_seed_report_has_scenarios(area: str) -> None:
    assert list((ROOT / area).glob("*.vfio"))


def test_corpus_has_a_multi_file_scenario() -> None:
    assert any(len(s.files) > 1 for s in SCENARIOS)
