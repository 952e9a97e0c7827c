"""Matching outputs against annotations (annotations/matcher.py): Silver's OutputMatcher."""

from __future__ import annotations

import pytest

from annotations import (
    Finding,
    FindingKind,
    IssueRef,
    Output,
    OutputId,
    Verdict,
    id_matches,
    ignored_files,
    match,
    project_matches,
    read_text,
    read_texts,
)

PROJECTS = ("model", "vfio")


def kinds(findings: tuple[Finding, ...]) -> list[FindingKind]:
    return [f.kind for f in findings]


def out(line: int | None, id_: str, file: str = "<text>") -> Output:
    return Output(file, line, id_, "message")


def test_match_passes_when_every_output_is_expected() -> None:
    read = read_text("//:: ExpectedOutput(dma.map.failed:overlap)\nmap\n")
    outcome = match([out(2, "dma.map.failed:overlap")], read, PROJECTS)
    assert outcome.verdict is Verdict.PASSED
    assert outcome.findings == ()
    assert outcome.matched == ((out(2, "dma.map.failed:overlap"), read.annotations[0]),)


def test_match_lets_an_annotation_without_reason_accept_any_reason_of_its_key() -> None:
    read = read_text("//:: ExpectedOutput(dma.map.failed)\nmap\n")
    assert match([out(2, "dma.map.failed:overlap")], read, PROJECTS).verdict is Verdict.PASSED


def test_match_fails_when_an_annotation_reason_differs_from_the_outputs() -> None:
    read = read_text("//:: ExpectedOutput(dma.map.failed:size.zero)\nmap\n")
    outcome = match([out(2, "dma.map.failed:overlap")], read, PROJECTS)
    assert kinds(outcome.findings) == [
        FindingKind.ADDITIONAL_OUTPUT,
        FindingKind.EXPECTED_BUT_MISSING,
    ]


def test_match_fails_when_an_output_without_reason_meets_an_annotation_with_one() -> None:
    read = read_text("//:: ExpectedOutput(parser.error:x)\nbad\n")
    outcome = match([out(2, "parser.error")], read, PROJECTS)
    assert outcome.verdict is Verdict.FAILED


def test_match_fails_on_an_output_on_another_line() -> None:
    read = read_text("//:: ExpectedOutput(a)\nx\ny\n")
    outcome = match([out(3, "a")], read, PROJECTS)
    assert kinds(outcome.findings) == [
        FindingKind.ADDITIONAL_OUTPUT,
        FindingKind.EXPECTED_BUT_MISSING,
    ]
    assert outcome.findings[0].line == 3
    assert outcome.findings[1].line == 2


def test_match_lets_one_annotation_accept_many_equal_outputs() -> None:
    read = read_text("//:: ExpectedOutput(a)\nx\n")
    outcome = match([out(2, "a:r"), out(2, "a:r"), out(2, "a:s")], read, PROJECTS)
    assert outcome.verdict is Verdict.PASSED
    assert len(outcome.matched) == 3


def test_match_fails_on_a_second_identical_annotation_silver_never_satisfies() -> None:
    read = read_text("//:: ExpectedOutput(a)\n//:: ExpectedOutput(a)\nx\n")
    outcome = match([out(3, "a"), out(3, "a")], read, PROJECTS, strict=False)
    assert kinds(outcome.findings) == [FindingKind.EXPECTED_BUT_MISSING]
    assert outcome.findings[0].annotation == read.annotations[1]


def test_match_gives_missing_output_precedence_as_missing_but_present() -> None:
    read = read_text(
        "//:: ExpectedOutput(a)\n//:: MissingOutput(a, /model/issue/4/)\n//:: IgnoreOthers\nx\n"
    )
    outcome = match([out(4, "a")], read, PROJECTS)
    assert kinds(outcome.findings) == [FindingKind.MISSING_BUT_PRESENT]
    assert outcome.findings[0].output == out(4, "a")


def test_match_tells_to_replace_a_stale_missing_output_with_an_expected_output() -> None:
    read = read_text("//:: MissingOutput(a:b, /model/issue/4/)\nx\n")
    outcome = match([out(2, "a:b")], read, PROJECTS)
    assert kinds(outcome.findings) == [FindingKind.MISSING_BUT_PRESENT]
    message = outcome.findings[0].message
    assert message.endswith("so replace the annotation with `ExpectedOutput(a:b)`")
    assert "remove" not in message


def test_match_tells_to_remove_a_stale_missing_output_its_expected_output_stands_beside() -> None:
    read = read_text("//:: ExpectedOutput(a:b)\n//:: MissingOutput(a:b, /model/issue/4/)\nx\n")
    outcome = match([out(3, "a:b")], read, PROJECTS)
    assert kinds(outcome.findings) == [FindingKind.MISSING_BUT_PRESENT]
    assert outcome.findings[0].message.endswith(
        "so remove the annotation: the ExpectedOutput(a:b) beside it accepts the output"
    )


def test_match_tells_to_replace_a_stale_missing_file_output_with_its_expected_form() -> None:
    read = read_text("//:: MissingFileOutput(a, /model/issue/4/)\nx\n")
    outcome = match([out(None, "a")], read, PROJECTS)
    assert outcome.findings[0].message.endswith("with `ExpectedFileOutput(a)`")


def test_match_lets_missing_output_excuse_the_expected_output_on_its_target() -> None:
    read = read_text("//:: ExpectedOutput(a:b)\n//:: MissingOutput(a:b, /model/issue/4/)\nx\n")
    outcome = match([], read, PROJECTS)
    assert outcome.verdict is Verdict.KNOWN_FAILURE
    assert outcome.issues == (IssueRef("model", 4),)


def test_match_does_not_let_missing_output_with_another_id_excuse_an_expected_output() -> None:
    read = read_text("//:: ExpectedOutput(a:b)\n//:: MissingOutput(a, /model/issue/4/)\nx\n")
    outcome = match([], read, PROJECTS)
    assert kinds(outcome.findings) == [FindingKind.EXPECTED_BUT_MISSING]


def test_match_reports_a_known_failure_for_an_unexpected_output_that_occurs() -> None:
    read = read_text("//:: UnexpectedOutput(a, /vfio/issue/12/)\nx\n")
    outcome = match([out(2, "a")], read, PROJECTS)
    assert outcome.verdict is Verdict.KNOWN_FAILURE
    assert outcome.issues == (IssueRef("vfio", 12),)
    assert not outcome.failed


def test_match_fails_on_an_unexpected_output_that_no_longer_occurs() -> None:
    read = read_text("//:: UnexpectedOutput(a, /vfio/issue/12/)\nx\n")
    outcome = match([], read, PROJECTS)
    assert kinds(outcome.findings) == [FindingKind.UNEXPECTED_BUT_MISSING]
    assert "/vfio/issue/12/" in outcome.findings[0].message


def test_match_lets_ignore_others_accept_other_outputs_on_its_line_only() -> None:
    read = read_text("//:: ExpectedOutput(a)\n//:: IgnoreOthers\nx\ny\n")
    outcome = match([out(3, "a"), out(3, "b"), out(4, "c")], read, PROJECTS)
    assert kinds(outcome.findings) == [FindingKind.ADDITIONAL_OUTPUT]
    assert outcome.findings[0].line == 4
    assert (out(3, "b"), None) in outcome.matched


@pytest.mark.parametrize(
    ("annotated", "in_force"),
    [
        ("vfio", "vfio"),
        ("VFIO", "vfio"),
        ("vfio", "Vfio"),
        ("vfio", "fork-vfio"),
        ("vfio", "vfio-next"),
        ("vfio", "a-b-vfio-2"),
        ("vfio-next", "VFIO-Next"),
    ],
)
def test_match_applies_known_bugs_of_a_project_in_force(annotated: str, in_force: str) -> None:
    read = read_text(f"//:: UnexpectedOutput(a, /{annotated}/issue/1/)\nx\n")
    outcome = match([out(2, "a")], read, ["model", in_force])
    assert outcome.verdict is Verdict.KNOWN_FAILURE
    assert outcome.issues == (IssueRef(annotated, 1),)


@pytest.mark.parametrize(
    ("annotated", "current", "expected"),
    [
        ("silicon", "silicon", True),
        ("silicon", "Silicon", True),
        ("silicon", "silicon-Wands", True),
        ("silicon", "magic-wands-silicon-2", True),
        ("silicon", "sil", False),
        ("silicon", "sil-wands", False),
        ("sil", "sil-wands", True),
        ("sil", "silicon", False),
        ("silicon-wands", "silicon-Wands", True),
        ("silicon-wands", "silicon", False),
        ("silicon-wands", "magic-wands-silicon-2", False),
        ("v.o", "vfio", False),  # literal, not a regular expression
    ],
)
def test_project_matches_follows_silvers_examples(
    annotated: str, current: str, expected: bool
) -> None:
    assert project_matches(annotated, current) is expected


def test_match_drops_known_bugs_of_other_projects() -> None:
    read = read_text("//:: UnexpectedOutput(a, /carbon/issue/1/)\nx\n")
    outcome = match([out(2, "a")], read, PROJECTS)
    assert kinds(outcome.findings) == [FindingKind.ADDITIONAL_OUTPUT]


def test_match_ignores_a_file_ignored_for_a_project_in_force() -> None:
    read = read_text("//:: IgnoreFile(/Model/issue/5/)\nx\n")
    outcome = match([], read, PROJECTS)
    assert outcome.verdict is Verdict.IGNORED
    assert outcome.issues == (IssueRef("Model", 5),)


def test_match_runs_a_file_ignored_only_for_another_project() -> None:
    read = read_text("//:: IgnoreFile(/carbon/issue/5/)\nx\n")
    assert match([], read, PROJECTS).verdict is Verdict.PASSED


def test_match_ignores_every_file_for_any_ignore_file_list() -> None:
    read = read_texts([("a", "//:: IgnoreFileList(/carbon/issue/5/)\nx\n"), ("b", "x\n")])
    assert ignored_files(read, PROJECTS) == ("a", "b")
    assert match([], read, PROJECTS).verdict is Verdict.IGNORED


def test_match_drops_the_annotations_of_an_ignored_file_in_a_multi_file_test() -> None:
    read = read_texts(
        [("a", "//:: IgnoreFile(/vfio/issue/1/)\n//:: ExpectedOutput(x)\ny\n"), ("b", "z\n")]
    )
    assert match([], read, PROJECTS).verdict is Verdict.PASSED


def test_match_lets_an_output_match_annotations_of_its_own_file_only() -> None:
    read = read_texts([("a", "//:: ExpectedOutput(x)\ny\n"), ("b", "y\ny\n")])
    outcome = match([Output("b", 2, "x")], read, PROJECTS)
    assert kinds(outcome.findings) == [
        FindingKind.ADDITIONAL_OUTPUT,
        FindingKind.EXPECTED_BUT_MISSING,
    ]
    assert match([Output("a", 2, "x")], read, PROJECTS).verdict is Verdict.PASSED


def test_match_expects_an_output_without_a_line_through_a_file_level_form() -> None:
    read = read_text("//:: ExpectedFileOutput(dma.leak)\nx\n")
    assert match([out(None, "dma.leak:pages")], read, PROJECTS).verdict is Verdict.PASSED
    outcome = match([out(2, "dma.leak")], read, PROJECTS)
    assert kinds(outcome.findings) == [
        FindingKind.ADDITIONAL_OUTPUT,
        FindingKind.EXPECTED_BUT_MISSING,
    ]


def test_match_fails_on_an_output_without_a_line_that_nothing_expects() -> None:
    read = read_text("//:: ExpectedOutput(dma.leak)\nx\n")
    outcome = match([out(None, "dma.leak")], read, PROJECTS)
    assert kinds(outcome.findings) == [
        FindingKind.ADDITIONAL_OUTPUT,
        FindingKind.EXPECTED_BUT_MISSING,
    ]


def test_match_known_file_level_bug_is_a_known_failure() -> None:
    read = read_text(
        "//:: ExpectedFileOutput(dma.leak)\n//:: MissingFileOutput(dma.leak, /model/issue/8/)\nx\n"
    )
    outcome = match([], read, PROJECTS)
    assert outcome.verdict is Verdict.KNOWN_FAILURE
    assert outcome.issues == (IssueRef("model", 8),)


def test_match_fails_on_a_parse_error_even_when_not_strict() -> None:
    read = read_text("//:: Bogus\nx\n")
    outcome = match([], read, PROJECTS, strict=False)
    assert kinds(outcome.findings) == [FindingKind.ANNOTATION_ERROR]
    assert outcome.findings[0].diagnostic == read.diagnostics[0]


def test_match_fails_on_a_near_miss_when_strict_and_warns_otherwise() -> None:
    read = read_text("// :: ExpectedOutput(a)\nx\n")
    assert kinds(match([], read, PROJECTS).findings) == [FindingKind.ANNOTATION_ERROR]
    lenient = match([], read, PROJECTS, strict=False)
    assert lenient.verdict is Verdict.PASSED
    assert lenient.warnings == read.diagnostics


def test_match_groups_findings_in_silvers_error_order() -> None:
    read = read_text(
        "//:: Bogus\n//:: ExpectedOutput(a)\n//:: UnexpectedOutput(u, /vfio/issue/1/)\n"
        "//:: MissingOutput(m, /vfio/issue/2/)\nx\n"
    )
    outcome = match([out(5, "m"), out(5, "z")], read, PROJECTS)
    assert kinds(outcome.findings) == [
        FindingKind.ANNOTATION_ERROR,
        FindingKind.ADDITIONAL_OUTPUT,
        FindingKind.EXPECTED_BUT_MISSING,
        FindingKind.UNEXPECTED_BUT_MISSING,
        FindingKind.MISSING_BUT_PRESENT,
    ]


@pytest.mark.parametrize(
    ("annotation", "output", "expected"),
    [
        (OutputId("a", "b"), "a:b", True),
        (OutputId("a"), "a:b", True),
        (OutputId("a"), "a", True),
        (OutputId("a", "b"), "a", False),
        (OutputId("a", "b"), "a:c", False),
        (OutputId("a", "b"), "a:b:", True),  # Java's split drops the trailing empty part
        (OutputId("a"), "a:", False),  # Java's split drops the empty reason
        (OutputId("a"), "::", False),
    ],
)
def test_id_matches_follows_silvers_output_annotation_id(
    annotation: OutputId, output: str, expected: bool
) -> None:
    assert id_matches(annotation, output) is expected


@pytest.mark.parametrize(
    ("annotation", "output", "expected"),
    [
        (OutputId("a", "b"), "a:b:c", False),
        (OutputId("a"), "a:b:c", False),
        (OutputId("a", "b:c"), "a:b:c", True),
        (OutputId("a", ":b"), "a::b", True),
        (OutputId("a", "b:d"), "a:b:c", False),
    ],
)
def test_id_matches_an_output_id_with_two_colons_only_by_an_equal_id(
    annotation: OutputId, output: str, expected: bool
) -> None:
    # Silver's assertion aborts the whole run on such an id; this engine reads it strictly.
    assert id_matches(annotation, output) is expected


def test_match_fails_on_an_output_id_with_two_colons_that_no_equal_annotation_expects() -> None:
    read = read_text("//:: ExpectedOutput(a:b)\n//:: ExpectedOutput(a)\nmap\n")
    outcome = match([out(3, "a:b:c")], read, PROJECTS)
    assert kinds(outcome.findings) == [
        FindingKind.ADDITIONAL_OUTPUT,
        FindingKind.EXPECTED_BUT_MISSING,
        FindingKind.EXPECTED_BUT_MISSING,
    ]
