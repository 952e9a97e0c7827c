"""Rendering: failure reports as exact fixed-width text, issue links, stale-bug advice."""

from __future__ import annotations

from pathlib import Path

from rich.syntax import Syntax

from annotations.annotation import Annotation, IssueRef, Kind, Output, OutputId, ReadResult
from annotations.bless import remedy
from annotations.outcome import Finding, FindingKind, Outcome, Verdict
from harness.discovery import Scenario
from harness.render import CodeFrame, Source, console, failure_report, stale_advice
from harness.runner import RunResult
from harness.tags import issue_link

TEXT = (
    "container c0\n"
    "//:: ExpectedOutput(dma.map.failed:overlap)\n"
    "map c0 iova=0 vaddr=0 size=4K\n"
    "map c0 iova=0 vaddr=0 size=0\n"
    "//:: UnexpectedOutput(dma.map.failed:no.access, /model/issue/4/)\n"
    "map c0 iova=0x1000 vaddr=0 size=4K perm=r\n"
)
FILE = "scenarios/dma/x.vfio"


def result(findings: tuple[Finding, ...], texts: dict[str, str] | None = None) -> RunResult:
    scenario = Scenario("x", (Path(FILE),), Path("scenarios"))
    outcome = Outcome(Verdict.FAILED, findings)
    return RunResult(scenario, (), ReadResult((FILE,)), outcome, texts or {FILE: TEXT})


STALE = Annotation(
    Kind.UNEXPECTED, FILE, 5, 6, OutputId("dma.map.failed", "no.access"), IssueRef("model", 4)
)
FINDINGS = (
    Finding(
        FindingKind.UNEXPECTED_BUT_MISSING,
        FILE,
        6,
        "dma.map.failed:no.access",
        "the known bug did not occur",
        annotation=STALE,
    ),
    Finding(
        FindingKind.ADDITIONAL_OUTPUT,
        FILE,
        4,
        "dma.map.failed:size.zero",
        "size 0",
        output=Output(FILE, 4, "dma.map.failed:size.zero"),
    ),
    Finding(FindingKind.EXPECTED_BUT_MISSING, FILE, 3, "dma.map.failed:overlap", "did not occur"),
)


def test_failure_report_groups_findings_with_code_frames() -> None:
    assert failure_report(result(FINDINGS)) == (
        "Additional output:\n"
        "scenarios/dma/x.vfio:4: dma.map.failed:size.zero — size 0\n"
        "  3 map c0 iova=0 vaddr=0 size=4K\n"
        "❱ 4 map c0 iova=0 vaddr=0 size=0\n"
        "  5 //:: UnexpectedOutput(dma.map.failed:no.access, /model/issue/4/)\n"
        "Expected output but missing:\n"
        "scenarios/dma/x.vfio:3: dma.map.failed:overlap — did not occur\n"
        "  2 //:: ExpectedOutput(dma.map.failed:overlap)\n"
        "❱ 3 map c0 iova=0 vaddr=0 size=4K\n"
        "  4 map c0 iova=0 vaddr=0 size=0\n"
        "Unexpected output but missing (known bug looks fixed):\n"
        "scenarios/dma/x.vfio:6: dma.map.failed:no.access — the known bug did not occur\n"
        "the known bug /model/issue/4/ looks fixed: remove "
        "`//:: UnexpectedOutput(dma.map.failed:no.access, /model/issue/4/)` (line 5)\n"
        "  5 //:: UnexpectedOutput(dma.map.failed:no.access, /model/issue/4/)\n"
        "❱ 6 map c0 iova=0x1000 vaddr=0 size=4K perm=r\n"
    )


def test_stale_advice_uses_the_issue_url_template() -> None:
    text = failure_report(result(FINDINGS[:1]), issue_url="https://bugs.example/{project}/{issue}")
    assert "the known bug https://bugs.example/model/4 looks fixed: remove" in text


def test_stale_advice_is_the_engines_remedy_for_stale_known_bugs_only() -> None:
    # One place words the fix: the bless engine (what bless does with its known-bug rules).
    for finding in FINDINGS:
        advice = stale_advice(finding, None)
        if finding.kind in (FindingKind.UNEXPECTED_BUT_MISSING, FindingKind.MISSING_BUT_PRESENT):
            assert advice == remedy(finding)
        else:
            assert advice is None


def test_unreadable_and_annotation_errors_without_lines_have_no_frame() -> None:
    findings = (
        Finding(FindingKind.UNREADABLE, "gone.vfio", None, None, "cannot read gone.vfio: denied"),
        Finding(FindingKind.ANNOTATION_ERROR, FILE, 2, None, "unknown id"),
    )
    assert failure_report(result(findings), width=80) == (
        "Annotation errors:\n"
        "scenarios/dma/x.vfio:2: - — unknown id\n"
        "  1 container c0\n"
        "❱ 2 //:: ExpectedOutput(dma.map.failed:overlap)\n"
        "  3 map c0 iova=0 vaddr=0 size=4K\n"
        "Unreadable files:\n"
        "gone.vfio: - — cannot read gone.vfio: denied\n"
    )


def test_frame_at_the_first_and_last_line_stays_inside_the_file() -> None:
    findings = (
        Finding(FindingKind.ADDITIONAL_OUTPUT, FILE, 1, "x:y", "first"),
        Finding(FindingKind.ADDITIONAL_OUTPUT, FILE, 2, "x:y", "last"),
        Finding(FindingKind.ADDITIONAL_OUTPUT, FILE, 9, "x:y", "beyond"),
    )
    text = failure_report(result(findings, {FILE: "alloc a\nalloc b"}), width=40)
    assert text == (
        "Additional output:\n"
        "scenarios/dma/x.vfio:1: x:y — first\n"
        "❱ 1 alloc a\n"
        "  2 alloc b\n"
        "scenarios/dma/x.vfio:2: x:y — last\n"
        "  1 alloc a\n"
        "❱ 2 alloc b\n"
        "scenarios/dma/x.vfio:9: x:y — beyond\n"
    )


def test_long_headers_are_not_wrapped() -> None:
    finding = Finding(FindingKind.ADDITIONAL_OUTPUT, FILE, 1, "x:y", "m" * 80)
    text = failure_report(result((finding,), {FILE: "alloc a\n"}), width=40)
    assert text.splitlines()[1] == f"scenarios/dma/x.vfio:1: x:y — {'m' * 80}"


def test_color_report_has_styles_and_plain_report_has_none() -> None:
    assert "\x1b[" in failure_report(result(FINDINGS), color=True)
    assert "\x1b[" not in failure_report(result(FINDINGS), color=False)


def test_issue_link_fills_the_template_or_keeps_the_link() -> None:
    ref = IssueRef("Model", 12)
    assert issue_link(ref, None) == "/Model/issue/12/"
    assert issue_link(ref, "https://x/{project}/issues/{issue}") == "https://x/Model/issues/12"
    assert issue_link(ref, "https://x/issues/{issue}") == "https://x/issues/12"


def run_text(tmp_path: Path, text: str | bytes) -> RunResult:
    from harness.runner import run_scenario

    path = tmp_path / "t.vfio"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return run_scenario(Scenario("t", (path,), tmp_path))


def test_annotation_error_shows_its_column_kind_and_did_you_mean_hint(tmp_path: Path) -> None:
    text = (
        "container c0\n//:: ExpectedOutput(dma.mapp.failed:size.zero)\n"
        "map c0 iova=0 vaddr=0 size=0\n"
    )
    report = failure_report(run_text(tmp_path, text), width=200).splitlines()
    at = report.index("Annotation errors:")
    assert report[at + 1].startswith(f"{tmp_path / 't.vfio'}:2:1: UnknownId — ")
    assert report[at + 2] == "hint: did you mean `dma.map.failed:size.zero`?"


def test_unexpected_parser_error_shows_its_column_and_hint(tmp_path: Path) -> None:
    report = failure_report(run_text(tmp_path, "container c0\nmap c0 iova = 0\n"), width=200)
    assert report.splitlines()[1:3] == [
        f"{tmp_path / 't.vfio'}:2:12: parser.error — option 'iova' has a space before '='",
        "hint: options are written key=value without spaces, e.g. iova=0x100000",
    ]


def test_code_frame_escapes_control_and_invisible_characters(tmp_path: Path) -> None:
    text = "container c0\r\nassert 0 // \x1b[31m red \x07\u202e\r\n"
    report = failure_report(run_text(tmp_path, text), width=200)
    assert "❱ 2 assert 0 // \\x1b[31m red \\x07\\u202e\n" in report
    assert "\x1b" not in report and "\x07" not in report and "\r" not in report


def test_a_frame_deep_in_a_long_file_shows_its_lines_with_their_numbers() -> None:
    # Frames render only the lines they show (the text is split once per report): the
    # numbers must still be those of the file, CRLF line ends included.
    text = "".join(f"assert {n} == {n}\r\n" for n in range(1, 100_001))
    findings = tuple(
        Finding(FindingKind.ADDITIONAL_OUTPUT, FILE, line, "x:y", f"at {line}")
        for line in (1, 99_999, 100_000)
    )
    assert failure_report(result(findings, {FILE: text}), width=60) == (
        "Additional output:\n"
        "scenarios/dma/x.vfio:1: x:y — at 1\n"
        "❱ 1 assert 1 == 1\n"
        "  2 assert 2 == 2\n"
        "scenarios/dma/x.vfio:99999: x:y — at 99999\n"
        "   99998 assert 99998 == 99998\n"
        "❱  99999 assert 99999 == 99999\n"
        "  100000 assert 100000 == 100000\n"
        "scenarios/dma/x.vfio:100000: x:y — at 100000\n"
        "   99999 assert 99999 == 99999\n"
        "❱ 100000 assert 100000 == 100000\n"
    )


def test_a_frame_hands_rich_only_the_lines_it_shows() -> None:
    # Issue 10: each frame once handed rich's Syntax the whole file, which lexed it up to the
    # frame's line; a frame near line 100,000 took seconds and a report's time grew with the
    # square of the file's length.
    source = Source.of("".join(f"assert {n}\n" for n in range(1, 100_001)))
    out = console(width=80)
    [syntax] = CodeFrame(source, 50_000).__rich_console__(out, out.options)
    assert isinstance(syntax, Syntax)
    assert syntax.code.splitlines() == ["assert 49999", "assert 50000", "assert 50001"]
