"""Reading annotations from text (annotations/reader.py): Silver's rules, then the extras."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from annotations import (
    Annotation,
    DiagnosticKind,
    IssueRef,
    Kind,
    OutputId,
    ReadResult,
    read_files,
    read_text,
    read_texts,
)


def kinds_of(result: ReadResult) -> list[str]:
    return [d.kind for d in result.diagnostics]


def located(result: ReadResult) -> list[tuple[str, int, int | None, str | None]]:
    """(keyword, line, target, id) of each annotation, for compact comparisons."""
    return [
        (a.kind.value, a.line, a.target, None if a.output_id is None else str(a.output_id))
        for a in result.annotations
    ]


def test_read_text_gives_an_annotation_its_line_and_the_next_line_as_target() -> None:
    result = read_text(
        "x := 1\n//:: ExpectedOutput(assert.failed:assertion.false)\nassert x == 2\n"
    )
    assert result.annotations == (
        Annotation(
            Kind.EXPECTED, "<text>", 2, 3, OutputId("assert.failed", "assertion.false"), None, 1
        ),
    )
    assert result.diagnostics == ()
    assert result.files == ("<text>",)


def test_read_text_stacks_annotations_with_comments_between_on_one_target() -> None:
    text = (
        "//:: ExpectedOutput(a)\n"
        "// a plain comment\n"
        "\t  //:: UnexpectedOutput(b:c, /silicon/issue/3/)\n"
        "//\n"
        "//:: IgnoreOthers\n"
        "code\n"
    )
    assert located(read_text(text)) == [
        ("ExpectedOutput", 1, 6, "a"),
        ("UnexpectedOutput", 3, 6, "b:c"),
        ("IgnoreOthers", 5, 6, None),
    ]


def test_read_text_trims_tabs_and_blanks_around_annotation_lines() -> None:
    result = read_text("\t \t//:: ExpectedOutput(a)\t \ncode")
    assert located(result) == [("ExpectedOutput", 1, 2, "a")]
    assert result.annotations[0].column == 4


def test_read_text_reads_crlf_as_silver_does() -> None:
    result = read_text("//:: ExpectedOutput(a)\r\n\r\ncode\r\n//:: ExpectedOutput(b)\r\nmore\r\n")
    assert located(result) == [("ExpectedOutput", 1, 2, "a"), ("ExpectedOutput", 4, 5, "b")]


def test_read_text_keeps_a_carriage_return_inside_a_line_and_breaks_only_on_lf() -> None:
    # Silver trims a CR at a line end but keeps one inside a line: this keyword is misspelt.
    result = read_text("//:: Expected\rOutput(a)\ncode\rmore\n")
    assert result.annotations == ()
    assert [(d.kind, d.line) for d in result.diagnostics] == [(DiagnosticKind.PARSE_ERROR, 1)]


def test_read_text_keeps_a_last_line_holding_only_a_carriage_return_as_the_target() -> None:
    # Java's split drops trailing empty strings only: the final "\r" is line 3, a blank target.
    text = "m()\r\n//:: IgnoreFile(/silicon/issue/5/)\r\n\r\n"
    result = read_text(text)
    assert [(a.kind, a.line) for a in result.annotations] == [(Kind.IGNORE_FILE, 2)]
    assert result.diagnostics == ()
    expected = read_text(text.replace("IgnoreFile(/silicon/issue/5/)", "ExpectedOutput(a)"))
    assert located(expected) == [("ExpectedOutput", 2, 3, "a")]
    assert [d.kind for d in expected.diagnostics] == [DiagnosticKind.BLANK_TARGET]


def test_read_text_drops_a_stack_before_trailing_lf_only_lines_at_end_of_file() -> None:
    result = read_text("m()\n//:: ExpectedOutput(a)\n\n\n")
    assert result.annotations == ()
    assert [d.kind for d in result.diagnostics] == [DiagnosticKind.PENDING_AT_END_OF_FILE]


def test_read_text_removes_the_literal_text_backslash_r_as_silver_does() -> None:
    # Silver removes the text backslash-r (a Scala raw string), never a real CR.
    result = read_text("//:: ExpectedOutput(a\\rb)\n\\r\n//:: Expected\\rOutput(c)\nx\n")
    assert located(result) == [("ExpectedOutput", 1, 2, "ab"), ("ExpectedOutput", 3, 4, "c")]


def test_read_text_keeps_a_carriage_return_inside_an_id_key_as_silver_does() -> None:
    # Silver's key is `[^:]*` (a CR is allowed); its reason is Java's `.*` (no CR): a parse error.
    key = read_text("//:: ExpectedOutput(a\rb)\nx\n")
    assert located(key) == [("ExpectedOutput", 1, 2, "a\rb")]
    reason = read_text("//:: ExpectedOutput(a:b\rc)\nx\n")
    assert reason.annotations == ()
    assert [d.kind for d in reason.diagnostics] == [DiagnosticKind.PARSE_ERROR]


def test_read_text_fails_on_an_annotation_without_a_space_after_the_marker() -> None:
    result = read_text("//::ExpectedOutput(a)\ncode\n")
    assert result.annotations == ()
    (diagnostic,) = result.diagnostics
    assert diagnostic.kind == DiagnosticKind.PARSE_ERROR
    assert diagnostic.silver
    assert diagnostic.hint is not None and "//:: ExpectedOutput(a)" in diagnostic.hint


def test_read_text_fails_on_a_keyword_with_the_wrong_case_and_hints_the_right_one() -> None:
    (diagnostic,) = read_text("//:: expectedoutput(a)\ncode\n").diagnostics
    assert diagnostic.kind == DiagnosticKind.PARSE_ERROR
    assert diagnostic.hint is not None and "ExpectedOutput(a)" in diagnostic.hint


def test_read_text_fails_on_an_unknown_keyword_with_a_did_you_mean() -> None:
    (diagnostic,) = read_text("//:: ExpectedOutputs(a)\ncode\n").diagnostics
    assert diagnostic.kind == DiagnosticKind.PARSE_ERROR
    assert diagnostic.hint is not None and "ExpectedOutput" in diagnostic.hint


def test_read_text_fails_on_two_spaces_after_the_marker() -> None:
    (diagnostic,) = read_text("//::  ExpectedOutput(a)\ncode\n").diagnostics
    assert diagnostic.kind == DiagnosticKind.PARSE_ERROR
    assert diagnostic.hint is not None and "exactly one space" in diagnostic.hint


def test_read_text_parse_error_keeps_the_stack_open() -> None:
    # Silver: an unparsable `//:: ` line is a comment line; the stack's target comes after it.
    result = read_text("//:: ExpectedOutput(a)\n//:: Nonsense\ncode\n")
    assert located(result) == [("ExpectedOutput", 1, 3, "a")]
    assert kinds_of(result) == [DiagnosticKind.PARSE_ERROR]


def test_read_text_ignores_an_annotation_after_code_and_reports_a_near_miss() -> None:
    result = read_text("x := 1 //:: ExpectedOutput(a)\ncode\n")
    assert result.annotations == ()
    (diagnostic,) = result.diagnostics
    assert diagnostic.kind == DiagnosticKind.NEAR_MISS
    assert not diagnostic.silver
    assert diagnostic.column == 8


def test_read_text_code_before_the_marker_ends_a_stack() -> None:
    result = read_text("//:: ExpectedOutput(a)\nx := 1 //:: ExpectedOutput(b)\n")
    assert located(result) == [("ExpectedOutput", 1, 2, "a")]


@pytest.mark.parametrize(
    "line",
    [
        "// :: ExpectedOutput(a)",
        "//  ::ExpectedOutput(a)",
        "////:: ExpectedOutput(a)",
        "/// :: ExpectedOutput(a)",
        "// :: expectedOutput(a)",
    ],
)
def test_read_text_reports_near_misses_silver_reads_as_comments(line: str) -> None:
    result = read_text(f"{line}\ncode\n")
    assert result.annotations == ()
    (diagnostic,) = result.diagnostics
    assert diagnostic.kind == DiagnosticKind.NEAR_MISS
    assert diagnostic.hint is not None and "`//:: ExpectedOutput(a)`" in diagnostic.hint


@pytest.mark.parametrize(
    "line",
    [
        "// :: this is prose",
        "x :: y // c",
        "// std::vector",
        "//: note",
        "// Expected output: a",
        "// ExpectedOutput is the keyword",
        "// // ExpectedOutput(a)",
    ],
)
def test_read_text_reports_no_near_miss_for_ordinary_comments(line: str) -> None:
    assert read_text(f"{line}\ncode\n").diagnostics == ()


@pytest.mark.parametrize(
    "line",
    [
        "//: ExpectedOutput(a)",
        "//:ExpectedOutput(a)",
        "// ExpectedOutput(a)",
        "//ExpectedOutput(a)",
        "//\texpectedoutput(a)",
        "// //:: ExpectedOutput(a)",
        "//  //:: ExpectedOutput(a)",
    ],
)
def test_read_text_reports_single_colon_keyword_comment_and_commented_out_near_misses(
    line: str,
) -> None:
    result = read_text(f"{line}\ncode\n")
    assert result.annotations == ()
    (diagnostic,) = result.diagnostics
    assert diagnostic.kind == DiagnosticKind.NEAR_MISS
    assert diagnostic.hint is not None
    assert diagnostic.hint.startswith("did you mean `//:: ExpectedOutput(a)`?")


def test_read_text_reports_a_keyword_comment_with_an_issue_link_as_a_near_miss() -> None:
    (diagnostic,) = read_text("// IgnoreFileList(/a/issue/1/)\ncode\n").diagnostics
    assert diagnostic.hint is not None
    assert "`//:: IgnoreFileList(/a/issue/1/)`" in diagnostic.hint


def test_read_text_accepts_a_commented_out_annotation_above_commented_out_code() -> None:
    # Silver's suites disable a test by commenting out the annotation with its code.
    assert read_text("// //:: ExpectedOutput(a)\n// assert false\ncode\n").diagnostics == ()
    assert read_text("// //:: ExpectedOutput(a)\n").diagnostics == ()


@pytest.mark.parametrize(
    ("text", "line", "hint"),
    [
        ("\ufeff//:: ExpectedOutput(a)\ncode\n", 1, "save the file as UTF-8 without a BOM"),
        ("x\n\ufeff//:: ExpectedOutput(a)\ncode\n", 2, "remove the U+FEFF character"),
    ],
)
def test_read_text_names_the_byte_order_mark_before_an_annotation(
    text: str, line: int, hint: str
) -> None:
    result = read_text(text)
    assert result.annotations == ()
    (diagnostic,) = result.diagnostics
    assert (diagnostic.kind, diagnostic.line, diagnostic.hint) == (
        DiagnosticKind.NEAR_MISS,
        line,
        hint,
    )
    assert "byte-order mark (BOM, U+FEFF)" in diagnostic.message


def test_read_text_reports_an_id_with_an_issue_link_as_a_near_miss() -> None:
    result = read_text("//:: ExpectedOutput(a, /silicon/issue/1/)\ncode\n")
    assert located(result) == [("ExpectedOutput", 1, 2, "a, /silicon/issue/1/")]
    assert kinds_of(result) == [DiagnosticKind.NEAR_MISS]


def test_read_text_reads_leading_zeros_in_issue_numbers() -> None:
    (annotation,) = read_text("//:: MissingOutput(a, /carbon/issue/0042/)\ncode\n").annotations
    assert annotation.issue == IssueRef("carbon", 42)


def test_read_text_drops_annotations_pending_at_end_of_file_and_reports_them() -> None:
    result = read_text(
        "code\n//:: ExpectedOutput(a)\n// trailing comment\n//:: IgnoreFile(/x/issue/1/)\n"
    )
    assert result.annotations == ()
    assert kinds_of(result) == [DiagnosticKind.PENDING_AT_END_OF_FILE] * 2
    assert [d.line for d in result.diagnostics] == [2, 4]


def test_read_text_trailing_empty_lines_do_not_count_as_targets() -> None:
    # Java's split drops trailing empty strings: the stack stays pending.
    result = read_text("//:: ExpectedOutput(a)\n\n\n")
    assert result.annotations == ()
    assert kinds_of(result) == [DiagnosticKind.PENDING_AT_END_OF_FILE]


def test_read_text_reports_a_blank_target_but_keeps_the_annotation() -> None:
    result = read_text("//:: ExpectedOutput(a)\n   \ncode\n")
    assert located(result) == [("ExpectedOutput", 1, 2, "a")]
    assert kinds_of(result) == [DiagnosticKind.BLANK_TARGET]


def test_read_text_gives_file_level_kinds_no_target() -> None:
    result = read_text(
        "//:: IgnoreFile(/silicon/issue/9/)\n//:: ExpectedFileOutput(dma.leak)\ncode\n"
    )
    assert located(result) == [
        ("IgnoreFile", 1, None, None),
        ("ExpectedFileOutput", 2, None, "dma.leak"),
    ]
    assert result.diagnostics == ()


def test_read_text_reports_an_identical_annotation_on_the_same_target() -> None:
    result = read_text("//:: ExpectedOutput(a:b)\n//:: ExpectedOutput(a:b)\ncode\n")
    assert len(result.annotations) == 2
    (diagnostic,) = result.diagnostics
    assert diagnostic.kind == DiagnosticKind.DUPLICATE_ANNOTATION
    assert diagnostic.line == 2


def test_read_text_reports_an_annotation_shadowed_by_an_earlier_reasonless_one() -> None:
    result = read_text("//:: ExpectedOutput(a)\n//:: UnexpectedOutput(a:b, /x/issue/1/)\ncode\n")
    assert kinds_of(result) == [DiagnosticKind.DUPLICATE_ANNOTATION]


def test_read_text_does_not_report_an_id_with_two_colons_as_shadowed_by_its_key() -> None:
    # `a` does not accept the output `a:b:c` (only an equal id does), so both can be satisfied.
    assert read_text("//:: ExpectedOutput(a)\n//:: ExpectedOutput(a:b:c)\ncode\n").diagnostics == ()
    repeated = read_text("//:: ExpectedOutput(a:b:c)\n//:: ExpectedOutput(a:b:c)\ncode\n")
    assert kinds_of(repeated) == [DiagnosticKind.DUPLICATE_ANNOTATION]


def test_read_text_accepts_known_bugs_of_different_projects_on_one_target() -> None:
    text = (
        "//:: UnexpectedOutput(a:b, /carbon/issue/1/)\n"
        "//:: UnexpectedOutput(a:b, /silicon/issue/2/)\n"
        "//:: ExpectedOutput(c)\n"
        "//:: MissingOutput(c, /silicon/issue/3/)\n"
        "code\n"
    )
    assert read_text(text).diagnostics == ()


def test_read_text_accepts_equal_annotations_on_different_targets() -> None:
    text = "//:: ExpectedOutput(a)\ncode\n//:: ExpectedOutput(a)\ncode\n"
    assert read_text(text).diagnostics == ()


def test_read_text_reports_ids_unknown_to_the_catalog_with_a_did_you_mean() -> None:
    catalog = ["dma.map.failed:overlap", "dma.map.failed:size.zero", "parser.error"]
    text = (
        "//:: ExpectedOutput(dma.map.failed:overlap)\n"
        "//:: ExpectedOutput(parser.error)\n"
        "//:: ExpectedOutput(dma.map.failed:overlapp)\n"
        "code\n"
        "//:: ExpectedOutput(dma.map.failed)\n"
        "code\n"
    )
    result = read_text(text, catalog=catalog)
    (diagnostic,) = result.diagnostics
    assert diagnostic.kind == DiagnosticKind.UNKNOWN_ID
    assert diagnostic.line == 3
    assert diagnostic.hint == "did you mean `dma.map.failed:overlap`?"


def test_read_text_reads_another_comment_prefix() -> None:
    result = read_text(
        "# note\n#:: ExpectedOutput(a)\nx = 1\n## :: ExpectedOutput(b)\n", prefix="#"
    )
    assert located(result) == [("ExpectedOutput", 2, 3, "a")]
    assert kinds_of(result) == [DiagnosticKind.NEAR_MISS]


def test_read_text_fails_on_an_empty_prefix() -> None:
    with pytest.raises(ValueError, match="prefix"):
        read_text("x", prefix="")


def test_read_texts_keeps_each_files_annotations_in_file_order() -> None:
    result = read_texts(
        [("a.vfio", "//:: ExpectedOutput(x)\ncode\n"), ("b.vfio", "//:: IgnoreOthers\ncode\n")]
    )
    assert result.files == ("a.vfio", "b.vfio")
    assert [(a.file, a.kind) for a in result.annotations] == [
        ("a.vfio", Kind.EXPECTED),
        ("b.vfio", Kind.IGNORE_OTHERS),
    ]


def test_read_files_keys_files_by_their_path_and_keeps_carriage_returns(tmp_path: Path) -> None:
    path = tmp_path / "t.vfio"
    path.write_bytes(b"//:: ExpectedOutput(a)\r\ncode\r\n//:: Expected\rOutput(b)\r\ncode\r\n")
    result = read_files([path])
    assert result.files == (str(path),)
    assert located(result) == [("ExpectedOutput", 1, 2, "a")]
    assert [(d.kind, d.line) for d in result.diagnostics] == [(DiagnosticKind.PARSE_ERROR, 3)]


def test_read_files_fails_on_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_files([tmp_path / "absent.vfio"])


def test_read_files_fails_on_text_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.vfio"
    path.write_bytes(b"// caf\xe9\n")
    with pytest.raises(UnicodeDecodeError):
        read_files([path])


def test_read_text_takes_a_last_line_without_newline_as_target() -> None:
    assert located(read_text("//:: ExpectedOutput(a)\ncode")) == [("ExpectedOutput", 1, 2, "a")]


def test_read_text_reports_no_blank_target_for_file_level_kinds() -> None:
    result = read_text("//:: IgnoreFile(/x/issue/1/)\n\ncode\n")
    assert located(result) == [("IgnoreFile", 1, None, None)]
    assert result.diagnostics == ()


def test_read_text_reports_a_repeated_ignore_file() -> None:
    result = read_text("//:: IgnoreFile(/x/issue/1/)\ncode\n//:: IgnoreFile(/X/issue/1/)\ncode\n")
    assert kinds_of(result) == [DiagnosticKind.DUPLICATE_ANNOTATION]
    assert result.diagnostics[0].line == 3


def test_read_text_reports_an_empty_id_as_a_near_miss() -> None:
    result = read_text("//:: ExpectedOutput()\ncode\n")
    assert located(result) == [("ExpectedOutput", 1, 2, "")]
    assert kinds_of(result) == [DiagnosticKind.NEAR_MISS]


def test_reading_text_without_annotation_lines_never_imports_lark() -> None:
    # The pre-scan must not pay for importing the parser; an annotation line does need it.
    code = (
        "import sys, annotations\n"
        "annotations.read_text('x\\n// note\\n// :: prose\\n')\n"
        "assert 'lark' not in sys.modules, 'lark imported for a file without annotations'\n"
        "annotations.read_text('//:: ExpectedOutput(a b)\\nx\\n')\n"
        "assert 'lark' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_read_text_reports_a_missing_output_an_earlier_one_of_its_project_covers() -> None:
    text = (
        "//:: MissingOutput(b, /model/issue/1/)\n"
        "//:: MissingOutput(b:x, /Model/issue/2/)\n"
        "//:: MissingOutput(b, /kernel/issue/3/)\n"
        "x\n"
    )
    result = read_text(text)
    assert [(d.kind, d.line) for d in result.diagnostics] == [
        (DiagnosticKind.DUPLICATE_ANNOTATION, 2)
    ]
    assert result.diagnostics[0].message == (
        "MissingOutput(b:x, /Model/issue/2/) is never reported: MissingOutput(b, /model/issue/1/) "
        "on line 1 also targets line 4 and Silver gives every matching output to the first"
    )


# Inputs that took quadratic time once (the timings are in bench/scaling.py; these check
# the results at a size where quadratic time would take minutes).


def test_read_text_of_a_megabyte_of_slashes_finds_nothing() -> None:
    assert read_text("/" * 1_000_000) == ReadResult(("<text>",))
    assert read_text("// " * 300_000 + "\n//:: ExpectedOutput(a)\nx\n").annotations[0].line == 2


def test_read_text_reports_each_of_many_stacked_duplicates_against_the_first() -> None:
    count = 20_000
    result = read_text("//:: ExpectedOutput(a)\n" * count + "x\n")
    assert len(result.annotations) == count
    assert len(result.diagnostics) == count - 1
    assert all("on line 1 " in d.message for d in result.diagnostics)


def test_read_text_of_a_long_body_without_an_issue_link_is_one_parse_error() -> None:
    result = read_text("//:: UnexpectedOutput(" + ", /" * 300_000 + ")\nx\n")
    assert [d.kind for d in result.diagnostics] == [DiagnosticKind.PARSE_ERROR]
    assert len(result.diagnostics[0].message) < 400
