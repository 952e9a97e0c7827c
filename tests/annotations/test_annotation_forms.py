"""The annotation grammar (annotations/annotation.lark via annotations/forms.py).

Silver's own regular expressions (TestAnnotationParser) serve as the oracle: Python's `re` and
Java's regex engine backtrack alike on them, so the lark grammar must agree on every body.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from annotations import IssueRef, Kind, OutputId
from annotations.forms import Form, FormError, grammar_form, parse_form, plain_form

# Silver's patterns, as in viper.silver.testing.TestAnnotationParser (Java `.` = no terminator).
_DOT = r"[^\n\r\u0085\u2028\u2029]"
_ID = rf"([^:]*)(:({_DOT}*))?"
_LINK = rf", /({_DOT}*)/issue/([0-9]+)/\)"
SILVER = [
    (Kind.EXPECTED, re.compile(rf"ExpectedOutput\({_ID}\)")),
    (Kind.UNEXPECTED, re.compile(rf"UnexpectedOutput\({_ID}{_LINK}")),
    (Kind.MISSING, re.compile(rf"MissingOutput\({_ID}{_LINK}")),
    (Kind.IGNORE_OTHERS, re.compile(r"IgnoreOthers")),
    (Kind.IGNORE_FILE, re.compile(rf"IgnoreFile\(/({_DOT}*)/issue/([0-9]+)/\)")),
    (Kind.IGNORE_FILE_LIST, re.compile(rf"IgnoreFileList\(/({_DOT}*)/issue/([0-9]+)/\)")),
]


def silver_reads(body: str) -> Form | None:
    """What Silver's reader makes of a body: its form, or None for a parse error."""
    for kind, pattern in SILVER:
        found = pattern.fullmatch(body)
        if found is None:
            continue
        groups = found.groups()
        if kind is Kind.IGNORE_OTHERS:
            return Form(kind)
        if kind in (Kind.IGNORE_FILE, Kind.IGNORE_FILE_LIST):
            return Form(kind, issue=IssueRef(groups[0], int(groups[1])))
        output_id = OutputId(groups[0], groups[2])
        if kind is Kind.EXPECTED:
            return Form(kind, output_id)
        return Form(kind, output_id, IssueRef(groups[3], int(groups[4])))
    return None


def engine_reads(body: str) -> Form | None:
    form = parse_form(body)
    return form if isinstance(form, Form) else None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("ExpectedOutput(a.b:c.d)", Form(Kind.EXPECTED, OutputId("a.b", "c.d"))),
        ("ExpectedOutput(a.b)", Form(Kind.EXPECTED, OutputId("a.b"))),
        ("ExpectedOutput()", Form(Kind.EXPECTED, OutputId(""))),
        ("ExpectedOutput(a:)", Form(Kind.EXPECTED, OutputId("a", ""))),
        ("ExpectedOutput(a:b:c)", Form(Kind.EXPECTED, OutputId("a", "b:c"))),
        ("ExpectedOutput(a)b)", Form(Kind.EXPECTED, OutputId("a)b"))),
        (
            "UnexpectedOutput(a:b, /silicon/issue/34/)",
            Form(Kind.UNEXPECTED, OutputId("a", "b"), IssueRef("silicon", 34)),
        ),
        (
            "MissingOutput(a, /carbon/issue/007/)",
            Form(Kind.MISSING, OutputId("a"), IssueRef("carbon", 7)),
        ),
        (
            "UnexpectedOutput(a:b, /x/issue/1/, /y/issue/2/)",
            Form(Kind.UNEXPECTED, OutputId("a", "b, /x/issue/1/"), IssueRef("y", 2)),
        ),
        ("IgnoreFile(/a/b/issue/3/)", Form(Kind.IGNORE_FILE, issue=IssueRef("a/b", 3))),
        ("IgnoreFile(//issue/3/)", Form(Kind.IGNORE_FILE, issue=IssueRef("", 3))),
        (
            "IgnoreFileList(/silver/issue/1/)",
            Form(Kind.IGNORE_FILE_LIST, issue=IssueRef("silver", 1)),
        ),
        ("IgnoreOthers", Form(Kind.IGNORE_OTHERS)),
        ("ExpectedFileOutput(dma.leak)", Form(Kind.EXPECTED_FILE, OutputId("dma.leak"))),
        (
            "MissingFileOutput(a:b, /model/issue/2/)",
            Form(Kind.MISSING_FILE, OutputId("a", "b"), IssueRef("model", 2)),
        ),
    ],
)
def test_parse_form_reads_each_form_as_silver_does(body: str, expected: Form) -> None:
    assert parse_form(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "ExpectedOutput(a) ",  # trailing text (the line is trimmed before, so only inner blanks)
        "ExpectedOutput (a)",
        "expectedOutput(a)",
        "UnexpectedOutput(a,/x/issue/1/)",  # exactly one space after the comma
        "UnexpectedOutput(a,  /x/issue/1/)",
        "UnexpectedOutput(a, /x/issue/one/)",
        "UnexpectedOutput(a)",
        "IgnoreOthers()",
        "IgnoreFile(/x/issue/)",
        "Foo(a)",
        "",
    ],
)
def test_parse_form_fails_on_text_silver_rejects(body: str) -> None:
    assert isinstance(parse_form(body), FormError)
    assert silver_reads(body) is None


def test_parse_form_fails_on_issue_numbers_beyond_silvers_int() -> None:
    error = parse_form("UnexpectedOutput(a, /x/issue/2147483648/)")
    assert isinstance(error, FormError)
    assert "2147483648" in error.message


def test_parse_form_error_points_at_the_column_where_parsing_stops() -> None:
    error = parse_form("UnexpectedOutput(a,/x/issue/1/)")
    assert isinstance(error, FormError)
    assert error.column >= len("UnexpectedOutput(") + 1


_pieces = st.sampled_from(
    [
        "ExpectedOutput(",
        "UnexpectedOutput(",
        "MissingOutput(",
        "IgnoreFile(",
        "IgnoreOthers",
        "IgnoreFileList(",
        "a",
        "b.c",
        ":",
        ")",
        "(",
        ", /",
        "/",
        "issue",
        "/issue/",
        "1",
        "07",
        " ",
        ",",
        "\u2028",
        "/)",
    ]
)


@given(st.lists(_pieces, min_size=1, max_size=10).map("".join))
@example("UnexpectedOutput(a, /b:c, /d/issue/1/)")
@example("MissingOutput(:, /x/issue/1/)")
@example("ExpectedOutput(a:\u2028)")
@example("ExpectedOutput(\u2028:a)")
def test_parse_form_agrees_with_silvers_regular_expressions(body: str) -> None:
    assert engine_reads(body) == silver_reads(body)


_annotation_pieces = st.sampled_from(
    [
        "ExpectedOutput(",
        "UnexpectedOutput(",
        "IgnoreFile(",
        "IgnoreFileList(",
        "IgnoreOthers",
        "a-b",
        "x_1.y",
        ":",
        ")",
        ", /",
        "/",
        "/issue/",
        "07",
        "/)",
        " ",
    ]
)


@given(st.lists(_annotation_pieces, min_size=1, max_size=10).map("".join))
@example("UnexpectedOutput(a:b, /p-x/issue/007/)")
@example("IgnoreFileList(/p/issue/1/)")
def test_parse_form_agrees_with_silver_on_bodies_built_from_annotation_pieces(body: str) -> None:
    assert engine_reads(body) == silver_reads(body)


_plain_pieces = st.sampled_from(
    [
        "ExpectedOutput(",
        "ExpectedFileOutput(",
        "UnexpectedOutput(",
        "MissingFileOutput(",
        "IgnoreFile(",
        "IgnoreFileList(",
        "IgnoreOthers",
        "a",
        "dma.map_failed-2",
        ":",
        ")",
        ", /",
        "/",
        "/issue/",
        "0",
        "2147483647",
        "2147483648",
        "/)",
        " ",
        "\u00e9",
    ]
)


@given(st.lists(_plain_pieces, min_size=1, max_size=10).map("".join))
@example("UnexpectedOutput(a:b, /model/issue/2147483647/)")
@example("UnexpectedOutput(a:b, /model/issue/2147483648/)")
@example("IgnoreFileList(//issue/0/)")
@example("ExpectedOutput(a:b:c)")
def test_the_plain_shape_shortcut_reads_every_body_it_takes_as_the_grammar_does(
    body: str,
) -> None:
    plain = plain_form(body)
    if plain is not None:
        assert plain == grammar_form(body)
    assert parse_form(body) == grammar_form(body)


@pytest.mark.parametrize(
    "body",
    [
        "ExpectedOutput(dma.map.failed:overlap)",
        "UnexpectedOutput(dma.map.failed:overlap, /model/issue/12/)",
        "MissingOutput(a, /vfio/issue/13/)",
        "IgnoreFile(/model/issue/14/)",
        "IgnoreFileList(/silver/issue/1/)",
        "IgnoreOthers",
        "ExpectedFileOutput(dma.leak)",
    ],
)
def test_the_plain_shape_shortcut_takes_the_common_annotations(body: str) -> None:
    assert plain_form(body) is not None
