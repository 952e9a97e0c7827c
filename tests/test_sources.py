"""A scenario's files read once (harness/sources.py), and a run on sources read beforehand."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotations.kinds import DiagnosticKind
from annotations.outcome import FindingKind
from harness.discovery import Scenario, group
from harness.runner import run_scenario
from harness.sources import decode, read_sources

CORPUS = Path(__file__).resolve().parent.parent / "scenarios"


def test_decode_drops_a_bom_and_locates_the_first_byte_that_is_not_utf8() -> None:
    assert decode(b"\xef\xbb\xbfcontainer c0\n", "a.vfio") == ("container c0\n", None)
    text, problem = decode(b"container c0\nmap \xff c0\n", "a.vfio")
    assert text == "container c0\nmap \ufffd c0\n"
    assert problem is not None
    assert (problem.file, problem.line, problem.column) == ("a.vfio", 2, 5)
    assert "0xff" in problem.message and "UTF-8" in problem.hint


def test_sources_hold_texts_and_annotations_checked_against_the_catalog(tmp_path: Path) -> None:
    path = tmp_path / "a.vfio"
    path.write_text(
        "//:: ExpectedOutput(dma.map.failed:no.such.reason)\ncontainer c0\n", encoding="utf-8"
    )
    sources = read_sources(Scenario("a", (path,), tmp_path))
    assert sources.texts == {str(path): path.read_text(encoding="utf-8")}
    assert sources.unreadable == () and sources.not_utf8 == {}
    assert [a.line for a in sources.read.annotations] == [1]
    assert [d.kind for d in sources.read.diagnostics] == [DiagnosticKind.UNKNOWN_ID.value]


def test_an_unreadable_file_is_a_finding_and_the_others_are_still_read(tmp_path: Path) -> None:
    first, second = tmp_path / "g_file1.vfio", tmp_path / "g_file2.vfio"
    first.write_text("container c0\n", encoding="utf-8")
    sources = read_sources(Scenario("g", (first, second), tmp_path))
    assert list(sources.texts) == [str(first)]
    assert [f.kind for f in sources.unreadable] == [FindingKind.UNREADABLE]
    assert str(second) in sources.unreadable[0].message


@pytest.mark.parametrize(
    "scenario",
    group(sorted(CORPUS.rglob("*.vfio")), CORPUS),
    ids=lambda scenario: scenario.relpath,
)
def test_a_run_on_sources_read_beforehand_is_the_same_run(scenario: Scenario) -> None:
    alone = run_scenario(scenario)
    shared = run_scenario(scenario, sources=read_sources(scenario))
    assert shared.outputs == alone.outputs
    assert shared.outcome == alone.outcome
    assert shared.read == alone.read
