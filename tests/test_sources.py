"""A scenario's files as a run reads them (harness/sources.py), and runs on sources given."""

from __future__ import annotations

from pathlib import Path

from annotations.kinds import DiagnosticKind
from annotations.outcome import FindingKind, Verdict
from harness.discovery import Scenario
from harness.runner import rematch, run_scenario
from harness.sources import decode, read_sources

ZERO_SIZE = """container c0
//:: ExpectedOutput(dma.map.failed:size.zero)
map c0 iova=0x1000 vaddr=0x1000 size=0
"""


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


def test_a_run_on_sources_given_runs_them_not_the_file_as_it_is_now(tmp_path: Path) -> None:
    path = tmp_path / "a.vfio"
    path.write_text(ZERO_SIZE, encoding="utf-8")
    scenario = Scenario("a", (path,), tmp_path)
    sources = read_sources(scenario)
    path.write_text("container c0\n", encoding="utf-8")
    given = run_scenario(scenario, sources=sources)
    assert [(o.id, o.line) for o in given.outputs] == [("dma.map.failed:size.zero", 3)]
    assert given.outcome.verdict is Verdict.PASSED
    assert run_scenario(scenario).outputs == ()  # without sources, the file as it is now


def test_a_file_not_utf8_in_the_sources_is_the_runs_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "a.vfio"
    path.write_bytes(b"container c0\nmap \xff c0\n")
    scenario = Scenario("a", (path,), tmp_path)
    result = run_scenario(scenario, sources=read_sources(scenario))
    assert [(o.id, o.line) for o in result.outputs] == [("parser.error", 2)]
    assert result.syntax_errors[0].column == 5


def test_sources_keep_each_files_bytes_exactly_as_read(tmp_path: Path) -> None:
    # Bless computes its edits from these bytes and writes only if the file still holds them:
    # the byte order mark, CRLF endings and bytes that are not UTF-8 are all kept.
    files = {
        "g_file1.vfio": b"\xef\xbb\xbfcontainer c0\r\nmap c0 iova=0 vaddr=0 size=0\r\n",
        "g_file2.vfio": b"map \xff c0",
    }
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    sources = read_sources(Scenario("g", tuple(paths), tmp_path))
    assert sources.data == {str(tmp_path / name): data for name, data in files.items()}
    assert sources.texts[str(paths[0])] == "container c0\r\nmap c0 iova=0 vaddr=0 size=0\r\n"
    assert list(sources.not_utf8) == [str(paths[1])]


def test_rematch_judges_the_same_outputs_against_new_texts_without_running_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.vfio"
    path.write_text(ZERO_SIZE, encoding="utf-8")
    result = run_scenario(Scenario("a", (path,), tmp_path))
    assert result.outcome.verdict is Verdict.PASSED
    # The same lines, the annotation now a plain comment (rematch does not move outputs).
    unannotated = ZERO_SIZE.replace("//:: ExpectedOutput(dma.map.failed:size.zero)", "// none")
    again = rematch(result, {str(path): unannotated})
    assert again.outputs == result.outputs  # not run again: the outputs as they were
    assert again.texts[str(path)] == unannotated
    assert [(f.kind, f.line) for f in again.outcome.findings] == [
        (FindingKind.ADDITIONAL_OUTPUT, 3)
    ]
    assert path.read_text(encoding="utf-8") == ZERO_SIZE
