"""Parse errors say what the slip is and point at it (annotations/diagnosis.py).

Each malformed annotation gets its own message and hint, located at the column of the slip
(1-based, in the line as written): the comma hint only where the comma is the problem.
"""

from __future__ import annotations

import pytest

from annotations import Diagnostic, DiagnosticKind, read_text
from annotations.forms import MAX_ISSUE, FormError, parse_form


def parse_error(line: str) -> Diagnostic:
    (diagnostic,) = read_text(f"{line}\ncode\n").diagnostics
    assert diagnostic.kind == DiagnosticKind.PARSE_ERROR
    assert diagnostic.silver
    return diagnostic


def column_of(line: str, text: str, after: int = 0) -> int:
    """The 1-based column of `text` in `line` (`after` characters further)."""
    return line.index(text) + 1 + after


def test_a_link_without_its_closing_slash_is_located_after_the_number() -> None:
    line = "//:: UnexpectedOutput(dma.map.failed:overlap, /model/issue/7)"
    diagnostic = parse_error(line)
    assert diagnostic.column == column_of(line, "7)", 1)
    assert diagnostic.message.endswith(": an issue link ends with `/` after its number")
    assert diagnostic.hint == (
        "did you mean `//:: UnexpectedOutput(dma.map.failed:overlap, /model/issue/7/)`?"
    )


def test_a_link_saying_issues_is_located_at_that_word() -> None:
    line = "//:: MissingOutput(dma.map.failed:overlap, /model/issues/7/)"
    diagnostic = parse_error(line)
    assert diagnostic.column == column_of(line, "issues")
    assert "`issue` singular, not `issues`" in diagnostic.message
    assert diagnostic.hint == (
        "did you mean `//:: MissingOutput(dma.map.failed:overlap, /model/issue/7/)`?"
    )


def test_a_url_in_place_of_a_link_is_located_at_the_url_and_named() -> None:
    line = "//:: UnexpectedOutput(a, https://tracker.example/o/r/issues/7)"
    diagnostic = parse_error(line)
    assert diagnostic.column == column_of(line, "https")
    assert diagnostic.message.endswith("an issue link is `/PROJECT/issue/N/`, not a URL")
    assert diagnostic.hint == (
        "write `/PROJECT/issue/7/`, PROJECT naming the project the issue is filed against"
    )


@pytest.mark.parametrize(
    "line",
    [
        "//:: UnexpectedOutput(dma.map.failed:overlap, /model/issue/12/)   // occurs, should not",
        "//:: MissingOutput(a, /model/issue/13/) // should occur, but does not",
        "//:: IgnoreFile(/model/issue/14/)  // not run for this backend",
        "//:: ExpectedOutput(dma.map.failed:overlap) // the second map overlaps",
        "//:: IgnoreOthers // anything else",
    ],
)
def test_a_trailing_comment_is_located_at_the_comment_and_told_to_move(line: str) -> None:
    diagnostic = parse_error(line)
    annotation, comment = line.split(" //", 1)
    assert diagnostic.column == column_of(line, " //" + comment, 1)
    assert f"the comment `//{comment}` follows the annotation on its line" in diagnostic.message
    assert diagnostic.hint == (
        "an annotation line ends with the annotation: put the comment on a `//` line of its own "
        f"above it, and keep `{annotation.rstrip()}` alone on its line"
    )


def test_a_missing_space_after_the_comma_is_located_where_the_space_belongs() -> None:
    line = "//:: UnexpectedOutput(a,/x/issue/1/)"
    diagnostic = parse_error(line)
    assert diagnostic.column == column_of(line, ",/", 1)
    assert diagnostic.message.endswith(
        "the comma before the issue link must be followed by exactly one space"
    )
    assert diagnostic.hint == "did you mean `//:: UnexpectedOutput(a, /x/issue/1/)`?"


def test_two_spaces_after_the_comma_are_located_at_the_second() -> None:
    line = "  //:: UnexpectedOutput(a,  /x/issue/1/)"
    diagnostic = parse_error(line)
    assert diagnostic.column == column_of(line, ",  ", 2)
    assert "exactly one space" in diagnostic.message


def test_another_separator_than_a_comma_is_located_and_shown() -> None:
    line = "//:: UnexpectedOutput(a; /x/issue/1/)"
    diagnostic = parse_error(line)
    assert diagnostic.column == column_of(line, ";")
    assert diagnostic.message.endswith("must be separated by `, ` (found `; `)")
    assert diagnostic.hint == "did you mean `//:: UnexpectedOutput(a, /x/issue/1/)`?"


def test_a_known_bug_without_a_link_is_told_to_add_one() -> None:
    line = "//:: UnexpectedOutput(dma.map.failed:overlap)"
    diagnostic = parse_error(line)
    assert diagnostic.column == len(line)
    assert diagnostic.message.endswith("UnexpectedOutput needs an issue link after its id")
    assert diagnostic.hint == (
        "write `//:: UnexpectedOutput(dma.map.failed:overlap, /PROJECT/issue/N/)`, naming the "
        "issue that records the known bug"
    )


@pytest.mark.parametrize(
    ("line", "at", "message", "hint"),
    [
        (
            "//:: IgnoreFile(/model/issue/7)",
            ")",
            "an issue link ends with `/` after its number",
            "did you mean `//:: IgnoreFile(/model/issue/7/)`?",
        ),
        (
            "//:: IgnoreFile(model/issue/7/)",
            "model",
            "an issue link starts with `/`",
            "did you mean `//:: IgnoreFile(/model/issue/7/)`?",
        ),
        (
            "//:: IgnoreFileList(/model/bug/7/)",
            "/model",
            "an issue link is `/PROJECT/issue/N/`: `/issue/` is missing",
            "an issue link is `/PROJECT/issue/N/`, e.g. `/model/issue/7/`",
        ),
        (
            "//:: MissingOutput(a, /model/issue/seven/)",
            "seven",
            "the issue number must be decimal digits, not `seven`",
            "an issue link is `/PROJECT/issue/N/`, N being the issue's number",
        ),
        (
            "//:: MissingOutput(a, /model/issue//)",
            "/)",
            "the issue number is missing: an issue link is `/PROJECT/issue/N/`",
            "an issue link is `/PROJECT/issue/N/`, N being the issue's number",
        ),
        (
            "//:: UnexpectedOutput(a, /model/issue/7a/)",
            "a/)",
            "the issue number must be decimal digits only, not `7a`",
            "an issue link is `/PROJECT/issue/N/`, N being the issue's number",
        ),
        (
            "//:: UnexpectedOutput(a, /model/issue/7/x)",
            "x)",
            "unexpected `x` after the issue link",
            "did you mean `//:: UnexpectedOutput(a, /model/issue/7/)`?",
        ),
        (
            "//:: UnexpectedOutput(a, /model/issue/7/ )",
            " )",
            "blanks between the issue link and `)`",
            "did you mean `//:: UnexpectedOutput(a, /model/issue/7/)`?",
        ),
    ],
)
def test_each_malformed_link_gets_its_own_message_and_column(
    line: str, at: str, message: str, hint: str
) -> None:
    diagnostic = parse_error(line)
    assert diagnostic.column == column_of(line, at)
    assert diagnostic.message.endswith(": " + message)
    assert diagnostic.hint == hint


@pytest.mark.parametrize(
    ("line", "column", "message", "hint"),
    [
        (
            "//:: IgnoreFileList",
            20,
            "`IgnoreFileList` must be followed by `(`",
            "the form is `//:: IgnoreFileList(/PROJECT/issue/N/)`",
        ),
        (
            "//:: ExpectedOutput(a",
            22,
            "the annotation does not end with `)`",
            "the form is `//:: ExpectedOutput(ID)`",
        ),
        ("//:: IgnoreOthers()", 18, "IgnoreOthers takes no arguments", "write `//:: IgnoreOthers`"),
        (
            "//:: expectedOutput(a)",
            6,
            "unknown keyword `expectedOutput`",
            "did you mean `//:: ExpectedOutput(a)`? (keywords are case-sensitive)",
        ),
        (
            "//:: ExpectedOutputs(a)",
            6,
            "unknown keyword `ExpectedOutputs`",
            "did you mean `//:: ExpectedOutput(a)`?",
        ),
        (
            "//::  ExpectedOutput(a)",
            6,
            "more than one blank after `//::`",
            "write exactly one space after `//::`; did you mean `//:: ExpectedOutput(a)`?",
        ),
    ],
)
def test_other_slips_get_their_own_message_and_column(
    line: str, column: int, message: str, hint: str
) -> None:
    diagnostic = parse_error(line)
    assert (diagnostic.column, diagnostic.hint) == (column, hint)
    assert diagnostic.message.endswith(": " + message)


def test_the_comma_hint_is_given_only_where_a_comma_is_the_problem() -> None:
    lines = [
        "//:: UnexpectedOutput(a, /model/issue/7)",
        "//:: UnexpectedOutput(a, /model/issues/7/)",
        "//:: UnexpectedOutput(a, https://x.example/7)",
        "//:: UnexpectedOutput(a, /model/issue/7/) // note",
        "//:: IgnoreFile(/model/issue/7)",
        "//:: UnexpectedOutput(a)",
    ]
    for line in lines:
        diagnostic = parse_error(line)
        assert "comma" not in diagnostic.message + (diagnostic.hint or ""), line


@pytest.mark.parametrize(
    "line",
    [
        "//:: UnexpectedOutput(a, /vfio/issue/" + "1" * 4301 + "/)",
        "//:: IgnoreFile(/vfio/issue/" + "1" * 4301 + "/)",
        "//:: IgnoreFileList(/vfio/issue/" + "9" * 100_000 + "/)",
        "//:: MissingFileOutput(a, /vfio/issue/" + "0" * 5000 + "2147483648/)",
    ],
)
def test_an_issue_number_too_long_for_an_int_is_a_located_parse_error(line: str) -> None:
    diagnostic = parse_error(line)
    assert diagnostic.column == column_of(line, "/issue/", len("/issue/"))
    assert f"is larger than {MAX_ISSUE}" in diagnostic.message
    assert len(diagnostic.message) < 400  # the number is shown shortened, never in full
    assert (
        diagnostic.hint
        == f"an issue number is at most {MAX_ISSUE} (Silver reads it as a 32-bit int)"
    )


def test_an_issue_number_with_leading_zeros_is_read_by_its_value() -> None:
    result = read_text("//:: IgnoreFile(/vfio/issue/" + "0" * 5000 + "7/)\ncode\n")
    assert result.diagnostics == ()
    assert result.annotations[0].issue is not None
    assert result.annotations[0].issue.number == 7


def test_parse_form_returns_a_form_error_for_a_huge_issue_number() -> None:
    error = parse_form("IgnoreFile(/x/issue/" + "1" * 4301 + "/)")
    assert isinstance(error, FormError)
    assert "(4,301 digits)" in error.message
