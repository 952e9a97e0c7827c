"""The runner: files read and parsed, multi-file scenarios on one state, unreadable files,
and syntax errors."""

from __future__ import annotations

from pathlib import Path

from annotations.outcome import FindingKind, Verdict
from harness.backend import CoreDefaults
from harness.discovery import Scenario
from harness.runner import run_scenario


def scenario(tmp_path: Path, files: dict[str, str | bytes]) -> Scenario:
    paths = []
    for name, content in files.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        paths.append(path)
    return Scenario(paths[0].stem.partition("_file")[0], tuple(paths), tmp_path)


def test_passing_scenario_has_its_outputs_and_texts(tmp_path: Path) -> None:
    text = (
        "container c0\n//:: ExpectedOutput(dma.map.failed:size.zero)\n"
        "map c0 iova=0 vaddr=0 size=0\n"
    )
    result = run_scenario(scenario(tmp_path, {"a.vfio": text}))
    assert result.outcome.verdict is Verdict.PASSED
    file = str(tmp_path / "a.vfio")
    assert [(o.file, o.line, o.id) for o in result.outputs] == [
        (file, 3, "dma.map.failed:size.zero")
    ]
    assert result.texts == {file: text}


def test_multi_file_scenario_runs_in_order_on_one_state(tmp_path: Path) -> None:
    s = scenario(
        tmp_path,
        {
            "v_file1.vfio": "container c0\nmap c0 iova=0 vaddr=0 size=4K\n",
            "v_file2.vfio": (
                "//:: ExpectedOutput(dma.map.failed:overlap)\nmap c0 iova=0 vaddr=0 size=4K\n"
                "assert c0.mappings == 1\n"
            ),
        },
    )
    result = run_scenario(s)
    assert result.outcome.verdict is Verdict.PASSED
    assert [(Path(o.file).name, o.line) for o in result.outputs] == [("v_file2.vfio", 2)]


def test_output_matches_only_annotations_of_its_own_file(tmp_path: Path) -> None:
    s = scenario(
        tmp_path,
        {
            "v_file1.vfio": (
                "container c0\n//:: ExpectedOutput(dma.map.failed:size.zero)\nalloc c0\n"
            ),
            "v_file2.vfio": "\n\nmap c0 iova=0 vaddr=0 size=0\n",
        },
    )
    result = run_scenario(s)
    kinds = sorted(f.kind.value for f in result.outcome.findings)
    assert result.outcome.verdict is Verdict.FAILED
    assert "additional output" in kinds and "expected but missing" in kinds


def test_syntax_error_is_a_parser_error_and_stops_the_scenario(tmp_path: Path) -> None:
    s = scenario(
        tmp_path,
        {
            "v_file1.vfio": "container c0\nmap c0 iova=0 vaddr=0 size=0\n",
            "v_file2.vfio": "map c0 iova=\n",
            "v_file3.vfio": "map c0 iova=0 vaddr=0 size=0\nmap c0 size\n",
        },
    )
    result = run_scenario(s)
    found = [(Path(o.file).name, o.line, o.id) for o in result.outputs]
    assert found == [
        ("v_file1.vfio", 2, "dma.map.failed:size.zero"),
        ("v_file2.vfio", 1, "parser.error"),
        ("v_file3.vfio", 2, "parser.error"),
    ]
    assert result.outputs[1].message == (
        "column 13: option 'iova=' needs a value: a number, a word, (expression) or BAR:OFFSET"
        " (hint: options are written key=value without spaces, e.g. iova=0x100000)"
    )


def test_unreadable_file_fails_with_an_unreadable_finding(tmp_path: Path) -> None:
    missing = Scenario("gone", (tmp_path / "gone.vfio",), tmp_path)
    result = run_scenario(missing)
    assert result.outcome.verdict is Verdict.FAILED
    [finding] = result.outcome.findings
    assert finding.kind is FindingKind.UNREADABLE
    assert finding.file == str(tmp_path / "gone.vfio")
    assert finding.message.startswith(f"cannot read {tmp_path / 'gone.vfio'}: ")
    assert result.outputs == ()


def test_invalid_utf8_is_a_parser_error_at_the_first_bad_byte(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "a_file1.vfio": "container c0\n",
        "a_file2.vfio": b"// \xc3\xa9\n//:: ExpectedOutput(parser.error)\n"
        b"container c\xc3\xa9\xff0\n",
        "a_file3.vfio": "assert 0\n",
    }
    result = run_scenario(scenario(tmp_path, files))
    [output] = result.outputs  # file 2 does not run, nor does file 3
    assert (Path(output.file).name, output.line, output.id) == ("a_file2.vfio", 3, "parser.error")
    [error] = result.syntax_errors
    assert (error.line, error.column) == (3, 13)  # characters, not bytes: `é` is one column
    assert error.message == "byte 0xff is not valid UTF-8 (scenario files are UTF-8 text)"
    assert error.hint is not None and "as UTF-8" in error.hint
    assert result.outcome.verdict is Verdict.PASSED  # the annotation was read all the same


def test_utf8_bom_is_accepted_and_lines_stay_the_same(tmp_path: Path) -> None:
    text = "//:: ExpectedOutput(dma.map.failed:size.zero)\nmap c0 iova=0 vaddr=0 size=0\n"
    files: dict[str, str | bytes] = {
        "b_file1.vfio": "\ufeffcontainer c0\n".encode(),
        "b_file2.vfio": ("\ufeff" + text).encode(),
    }
    result = run_scenario(scenario(tmp_path, files))
    assert [(o.line, o.id) for o in result.outputs] == [(2, "dma.map.failed:size.zero")]
    assert result.outcome.verdict is Verdict.PASSED


def test_unknown_annotation_id_is_flagged(tmp_path: Path) -> None:
    text = (
        "container c0\n//:: ExpectedOutput(dma.map.failed:size.zer0)\n"
        "map c0 iova=0 vaddr=0 size=0\n"
    )
    result = run_scenario(scenario(tmp_path, {"a.vfio": text}))
    assert result.outcome.verdict is Verdict.FAILED
    assert any(f.kind is FindingKind.ANNOTATION_ERROR for f in result.outcome.findings)


def test_ignored_scenario_is_not_run(tmp_path: Path) -> None:
    text = "//:: IgnoreFile(/model/issue/3/)\nmap nope iova=0\n"
    result = run_scenario(scenario(tmp_path, {"a.vfio": text}))
    assert result.outcome.verdict is Verdict.IGNORED
    assert result.outputs == ()


def test_ignored_file_of_a_multi_file_scenario_is_skipped_and_the_others_run(
    tmp_path: Path,
) -> None:
    files: dict[str, str | bytes] = {
        "s_file1.vfio": "container c0\n",
        "s_file2.vfio": "map c0 iova=0 vaddr=0 size=4K\n//:: IgnoreFile(/model/issue/1/)\n"
        "assert 0\nthis is no statement\n",
        "s_file3.vfio": "assert c0.mappings == 0\n//:: ExpectedOutput(dma.map.failed)\n"
        "map c0 iova=0 vaddr=0 size=0\n",
    }
    result = run_scenario(scenario(tmp_path, files))
    # file 2 never ran: no map, no failed assert, no parser error; file 3 saw file 1's c0
    assert [(o.file, o.line, o.id) for o in result.outputs] == [
        (str(tmp_path / "s_file3.vfio"), 3, "dma.map.failed:size.zero")
    ]
    assert result.outcome.verdict is Verdict.PASSED


def test_file_ignored_for_another_project_runs(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "s_file1.vfio": "container c0\n",
        "s_file2.vfio": "//:: IgnoreFile(/kernel/issue/1/)\nmap c0 iova=0 vaddr=0 size=4K\n",
        "s_file3.vfio": "assert c0.mappings == 1\n",
    }
    result = run_scenario(scenario(tmp_path, files))
    assert result.outputs == () and result.outcome.verdict is Verdict.PASSED


def test_defaults_reach_the_backend(tmp_path: Path) -> None:
    text = (
        "container c0\n//:: ExpectedOutput(dma.map.failed:misaligned)\n"
        "map c0 iova=0x1000 vaddr=0 size=4K\n"
    )
    defaults = CoreDefaults(pgsize=64 << 10)
    result = run_scenario(scenario(tmp_path, {"a.vfio": text}), defaults=defaults)
    assert result.outcome.verdict is Verdict.PASSED


def test_a_file_of_cr_line_ends_that_starts_with_a_comment_is_empty_and_says_why(
    tmp_path: Path,
) -> None:
    # Found by the fuzz campaign: lines end at LF (as in Silver), so a file of CR line ends is
    # one line, all comment when it starts with one; the finding must say so.
    text = "// a comment\rcontainer c0\rassert c0.mappings == 0\r"
    result = run_scenario(scenario(tmp_path, {"a.vfio": text}))
    [finding] = result.outcome.findings
    assert finding.diagnostic is not None and finding.diagnostic.kind == "EmptyScenario"
    assert finding.diagnostic.hint == (
        "its lines end in CR alone (old Mac line ends), which end no line: save it with LF"
        " or CRLF line ends"
    )
