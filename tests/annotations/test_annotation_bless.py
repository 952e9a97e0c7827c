"""Bless (annotations/bless.py): the edits that make a test's annotations accept its run.

Each test reads a text as the harness does (a byte order mark dropped), matches outputs against
it, plans the edits from the bytes and the outcome, and checks the new text and the report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pytest

from annotations import Output, Verdict, match, read_text, read_texts
from annotations.bless import Action, Change, FilePlan, never, plan, remedy

PROJECTS = ("model", "vfio")
FILE = "t.vfio"
BOM = "\ufeff"


def bless(
    text: str,
    outputs: Sequence[Output],
    *,
    known_bugs: bool = False,
    prefix: str = "//",
    runs: Mapping[tuple[str, int], int] | None = None,
    never_bless: Callable[[str], bool] = never,
    data: bytes | None = None,
) -> FilePlan:
    """Plan the bless of one file whose text (a BOM dropped, as the harness reads it) is `text`."""
    read = read_text(text.removeprefix(BOM), FILE, prefix=prefix)
    outcome = match(outputs, read, PROJECTS, strict=True, runs=runs)
    (result,) = plan(
        [(FILE, text.encode() if data is None else data)],
        read,
        outcome,
        prefix=prefix,
        runs=runs,
        known_bugs=known_bugs,
        never_bless=never_bless,
    )
    return result


def out(line: int | None, id_: str, run: int = 0, file: str = FILE) -> Output:
    return Output(file, line, id_, "what happened", run=run)


def new_text(result: FilePlan) -> str:
    return result.new.decode()


def rematch(result: FilePlan, outputs: Sequence[Output], **options: object) -> Verdict:
    """The verdict of the blessed text for outputs moved to the lines bless shifted them to."""
    return match(outputs, read_text(new_text(result), FILE), PROJECTS, **options).verdict  # type: ignore[arg-type]


def test_bless_adds_an_expected_output_above_the_line_of_an_output_nothing_accepts() -> None:
    result = bless("a\nmap x\n", [out(2, "dma.map.failed:overlap")])
    assert new_text(result) == "a\n//:: ExpectedOutput(dma.map.failed:overlap)\nmap x\n"
    assert result.changes == (
        Change(Action.ADDED, 2, None, "//:: ExpectedOutput(dma.map.failed:overlap)"),
    )
    assert rematch(result, [out(3, "dma.map.failed:overlap")]) is Verdict.PASSED


def test_bless_indents_the_new_annotation_like_its_target() -> None:
    result = bless("device d {\n\t  bar 0 x\n}\n", [out(2, "bar.bad")])
    assert new_text(result) == "device d {\n\t  //:: ExpectedOutput(bar.bad)\n\t  bar 0 x\n}\n"


def test_bless_joins_an_annotation_block_with_comments_between_in_output_order() -> None:
    text = "//:: ExpectedOutput(a)\n// why a\n//:: IgnoreOthers\n// note\nx\n"
    result = bless(text, [out(5, "a"), out(5, "c"), out(5, "b")])
    assert new_text(result) == text  # IgnoreOthers accepts c and b: nothing to add
    text = "//:: ExpectedOutput(a)\n// why a\n// note\nx\n"
    result = bless(text, [out(4, "a"), out(4, "c"), out(4, "b"), out(4, "c")])
    assert new_text(result) == (
        "//:: ExpectedOutput(a)\n// why a\n// note\n"
        "//:: ExpectedOutput(c)\n//:: ExpectedOutput(b)\nx\n"
    )


def test_bless_writes_one_annotation_for_equal_outputs_on_one_line() -> None:
    result = bless("x\n", [out(1, "a:b")] * 3)
    assert new_text(result) == "//:: ExpectedOutput(a:b)\nx\n"
    assert len(result.changes) == 1


def test_bless_removes_an_expected_output_that_saw_no_output_and_only_its_line() -> None:
    text = "// keep me\n  //:: ExpectedOutput(a)\n//:: ExpectedOutput(b)\nx\n"
    result = bless(text, [out(4, "b")])
    assert new_text(result) == "// keep me\n//:: ExpectedOutput(b)\nx\n"
    assert result.changes == (Change(Action.REMOVED, 2, "//:: ExpectedOutput(a)"),)


def test_bless_moves_an_expectation_whose_reason_changed() -> None:
    result = bless("//:: ExpectedOutput(a:old)\nx\n", [out(2, "a:new")])
    assert new_text(result) == "//:: ExpectedOutput(a:new)\nx\n"
    assert [c.action for c in result.changes] == [Action.REMOVED, Action.ADDED]


KNOWN_BUGS = (
    "//:: UnexpectedOutput(a, /model/issue/1/)\nx\n"
    "//:: MissingOutput(b, /model/issue/2/)\ny\n"
    "//:: IgnoreFile(/other/issue/3/)\n//:: IgnoreOthers\nz\n"
)


def test_bless_leaves_known_bugs_ignores_and_comments_alone_by_default() -> None:
    result = bless(KNOWN_BUGS, [out(4, "b")])
    assert not result.changed
    assert [left.finding.kind.value for left in result.left_alone] == [
        "unexpected but missing",
        "missing but present",
    ]
    assert all("left alone" in left.reason for left in result.left_alone)


def test_bless_with_known_bugs_removes_a_stale_unexpected_and_turns_a_missing_expected() -> None:
    result = bless(KNOWN_BUGS, [out(4, "b")], known_bugs=True)
    assert new_text(result) == (
        "x\n//:: ExpectedOutput(b)\ny\n//:: IgnoreFile(/other/issue/3/)\n//:: IgnoreOthers\nz\n"
    )
    assert rematch(result, [out(3, "b")]) is Verdict.PASSED


def test_bless_with_known_bugs_removes_a_missing_output_where_another_accepts_its_output() -> None:
    text = "//:: ExpectedOutput(b)\n  //:: MissingOutput(b, /model/issue/2/)\ny\n"
    result = bless(text, [out(3, "b")], known_bugs=True)
    assert new_text(result) == "//:: ExpectedOutput(b)\ny\n"


def test_bless_with_known_bugs_removes_a_later_missing_output_the_same_output_shows_stale() -> None:
    # Silver reports the output against the first MissingOutput only; the second is as stale.
    text = "//:: MissingOutput(b:x, /model/issue/1/)\n//:: MissingOutput(b, /model/issue/1/)\ny\n"
    result = bless(text, [out(3, "b:x")], known_bugs=True)
    assert new_text(result) == "//:: ExpectedOutput(b:x)\ny\n"
    assert rematch(result, [out(2, "b:x")]) is Verdict.PASSED


def test_bless_with_known_bugs_puts_a_narrow_expected_output_before_a_bare_one() -> None:
    # A bare ExpectedOutput(a) first would take the a:x output from ExpectedOutput(a:x).
    text = "//:: MissingOutput(a:x, /model/issue/1/)\n//:: MissingOutput(a, /model/issue/1/)\ny\n"
    result = bless(text, [out(3, "a"), out(3, "a:x")], known_bugs=True)
    assert new_text(result) == "//:: ExpectedOutput(a:x)\n//:: ExpectedOutput(a)\ny\n"
    assert rematch(result, [out(3, "a"), out(3, "a:x")]) is Verdict.PASSED


def test_bless_with_known_bugs_turns_a_missing_output_stale_for_an_output_only_it_takes() -> None:
    # Stale twice: once where ExpectedOutput(b:x) would take the output, once where nothing would.
    text = "//:: ExpectedOutput(b:x)\n//:: MissingOutput(b, /model/issue/1/)\ny\n"
    result = bless(text, [out(3, "b:x"), out(3, "b")], known_bugs=True)
    assert new_text(result) == "//:: ExpectedOutput(b:x)\n//:: ExpectedOutput(b)\ny\n"
    assert rematch(result, [out(3, "b:x"), out(3, "b")]) is Verdict.PASSED


def test_bless_with_known_bugs_removes_an_expected_output_a_removed_missing_one_excused() -> None:
    # The output goes to the UnexpectedOutput first in file order once the MissingOutput goes.
    text = (
        "//:: UnexpectedOutput(a, /model/issue/1/)\n//:: MissingOutput(a:y, /model/issue/1/)\n"
        "//:: ExpectedOutput(a:y)\ny\n"
    )
    result = bless(text, [out(4, "a:y")], known_bugs=True)
    assert new_text(result) == "//:: UnexpectedOutput(a, /model/issue/1/)\ny\n"
    assert rematch(result, [out(2, "a:y")]) is Verdict.KNOWN_FAILURE


def test_bless_with_known_bugs_keeps_the_indentation_of_a_replaced_missing_output() -> None:
    result = bless(
        "\t//:: MissingOutput(b:c, /vfio/issue/2/)\n\ty\n", [out(2, "b:c")], known_bugs=True
    )
    assert new_text(result) == "\t//:: ExpectedOutput(b:c)\n\ty\n"
    assert result.changes == (
        Change(
            Action.REPLACED,
            1,
            "//:: MissingOutput(b:c, /vfio/issue/2/)",
            "//:: ExpectedOutput(b:c)",
        ),
    )


def test_bless_never_touches_known_bugs_of_other_projects() -> None:
    text = "//:: UnexpectedOutput(a, /kernel/issue/1/)\nx\n"
    result = bless(text, [], known_bugs=True)
    assert not result.changed and result.changes == () and result.left_alone == ()


@pytest.mark.parametrize("output_id", ["parser.error", "scenario.error:unknown.name"])
def test_bless_does_not_rewrite_a_file_with_an_output_never_to_be_blessed(output_id: str) -> None:
    text = "//:: ExpectedOutput(stale)\nmpa x\ny\n"
    result = bless(
        text,
        [out(2, output_id), out(3, "c")],
        never_bless=lambda i: i == "parser.error" or i.startswith("scenario.error:"),
    )
    assert result.refused is not None
    assert f"output [{output_id}] on line 2 is one that is never blessed" in result.refused
    assert result.new == result.old and result.changes == ()


def test_bless_rewrites_a_file_whose_never_blessed_outputs_are_all_expected() -> None:
    text = "//:: ExpectedOutput(parser.error)\nmpa x\ny\n"
    result = bless(
        text, [out(2, "parser.error"), out(3, "c")], never_bless=lambda i: i == "parser.error"
    )
    assert result.refused is None
    assert new_text(result) == text.replace("y\n", "//:: ExpectedOutput(c)\ny\n")


def test_bless_does_not_rewrite_a_file_with_an_annotation_error() -> None:
    result = bless("//:: ExpectedOutput(a) // note\nx\n", [out(2, "b")])
    assert result.refused is not None
    assert result.refused.startswith("it has an annotation error (line 1: cannot parse")
    assert not result.changed


def test_bless_does_not_rewrite_bytes_that_are_not_utf8() -> None:
    read = read_text("x\n", FILE)
    outcome = match([out(1, "a")], read, PROJECTS)
    (result,) = plan([(FILE, b"x\xff\n")], read, outcome)
    assert result.refused == "it is not UTF-8 text"


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("x\n\n", 2, "line 2 is blank, so no annotation can target it"),
        (
            "x\n// c\n",
            2,
            "line 2 is a comment, so an annotation above it would target a later line",
        ),
        ("x\n", 7, "line 7 is not in the file"),
    ],
)
def test_bless_leaves_an_output_no_annotation_above_its_line_could_accept(
    text: str, line: int, reason: str
) -> None:
    result = bless(text, [out(line, "a")])
    assert not result.changed
    assert [left.reason for left in result.left_alone] == [reason]


@pytest.mark.parametrize("output_id", ["a b", "a,b", "f(x)", "", ":reason"])
def test_bless_leaves_an_output_whose_id_no_annotation_can_spell(output_id: str) -> None:
    result = bless("x\n", [out(1, output_id)])
    assert not result.changed
    assert result.left_alone[0].reason == f"the id [{output_id}] cannot be written in an annotation"


def test_bless_expects_an_output_without_a_line_with_a_file_level_annotation() -> None:
    result = bless("// header\nx\n", [out(None, "dma.leak")])
    assert new_text(result) == "//:: ExpectedFileOutput(dma.leak)\n// header\nx\n"
    assert rematch(result, [out(None, "dma.leak")]) is Verdict.PASSED


def test_bless_blesses_a_loop_line_only_when_the_output_occurs_in_every_pass() -> None:
    runs = {(FILE, 2): 3}
    every = bless("for\nx\n", [out(2, "a", run) for run in range(3)], runs=runs)
    assert new_text(every) == "for\n//:: ExpectedOutput(a)\nx\n"
    some = bless("for\nx\n", [out(2, "a", 0), out(2, "a", 2)], runs=runs)
    assert not some.changed
    assert some.left_alone[0].reason == (
        "output [a] occurs in 2 of the 3 passes of line 2; an ExpectedOutput there would expect "
        "it in every pass"
    )


def test_bless_keeps_an_expected_output_its_loop_line_gave_in_some_passes() -> None:
    result = bless("//:: ExpectedOutput(a)\nx\n", [out(2, "a", 1)], runs={(FILE, 2): 3})
    assert not result.changed
    assert result.left_alone[0].reason == "the output occurs in some passes of the line only"


def test_bless_removes_an_expected_output_its_loop_line_never_gave() -> None:
    result = bless("//:: ExpectedOutput(a)\nx\n", [], runs={(FILE, 2): 3})
    assert new_text(result) == "x\n"


def test_bless_keeps_crlf_line_endings_and_the_missing_final_newline() -> None:
    text = "//:: ExpectedOutput(gone)\r\nx\r\ny"
    result = bless(text, [out(2, "a"), out(3, "b")])
    assert new_text(result) == "//:: ExpectedOutput(a)\r\nx\r\n//:: ExpectedOutput(b)\r\ny"


def test_bless_keeps_a_byte_order_mark_at_the_start_of_the_file() -> None:
    text = BOM + "x\r\n"
    result = bless(text, [out(1, "a")])
    assert result.new == ("\ufeff//:: ExpectedOutput(a)\r\nx\r\n").encode()


def test_bless_works_for_another_comment_prefix() -> None:
    result = bless("#:: ExpectedOutput(old)\nx = 1\n", [out(2, "value.error")], prefix="#")
    assert new_text(result) == "#:: ExpectedOutput(value.error)\nx = 1\n"


def test_bless_edits_each_file_of_a_multi_file_test_for_its_own_outputs() -> None:
    texts = [("a.vfio", "//:: ExpectedOutput(x)\nm\n"), ("b.vfio", "m\nn\n"), ("c.vfio", "m\n")]
    read = read_texts(texts)
    outputs = [Output("b.vfio", 2, "x"), Output("a.vfio", 2, "y")]
    outcome = match(outputs, read, PROJECTS)
    plans = plan([(f, t.encode()) for f, t in texts], read, outcome)
    assert [(p.file, p.new.decode()) for p in plans] == [
        ("a.vfio", "//:: ExpectedOutput(y)\nm\n"),
        ("b.vfio", "m\n//:: ExpectedOutput(x)\nn\n"),
        ("c.vfio", "m\n"),
    ]
    assert not plans[2].changed


def test_bless_of_a_passing_file_changes_nothing() -> None:
    result = bless("//:: ExpectedOutput(a)\nx\n", [out(2, "a")])
    assert not result.changed and result.changes == () and result.diff() == ""


def test_bless_twice_changes_nothing_the_second_time() -> None:
    first = bless("//:: ExpectedOutput(a)\ny\nx\n", [out(3, "b"), out(2, "c")])
    outputs = [out(4, "b"), out(2, "c")]  # the lines after the first bless
    second = bless(new_text(first), outputs)
    assert first.changed and not second.changed


def test_bless_shows_its_change_as_a_unified_diff() -> None:
    result = bless("//:: ExpectedOutput(a)\nx\n", [out(2, "b")])
    assert result.diff("dma/x.vfio") == (
        "--- a/dma/x.vfio\n+++ b/dma/x.vfio\n@@ -1,2 +1,2 @@\n"
        "-//:: ExpectedOutput(a)\n+//:: ExpectedOutput(b)\n x\n"
    )


def test_remedy_says_what_bless_does_for_each_finding() -> None:
    text = (
        "//:: ExpectedOutput(gone)\nx\n"
        "//:: UnexpectedOutput(a, /model/issue/1/)\ny\n"
        "//:: MissingOutput(b, /model/issue/2/)\nz\n"
    )
    read = read_text(text, FILE)
    outcome = match([out(6, "b"), out(2, "new")], read, PROJECTS)
    assert [remedy(f) for f in outcome.findings] == [
        "add `//:: ExpectedOutput(new)` above line 2",
        "remove `//:: ExpectedOutput(gone)` (line 1)",
        "the known bug /model/issue/1/ looks fixed: remove "
        "`//:: UnexpectedOutput(a, /model/issue/1/)` (line 3)",
        "the known bug /model/issue/2/ looks fixed: replace "
        "`//:: MissingOutput(b, /model/issue/2/)` (line 5) with `//:: ExpectedOutput(b)`",
    ]


def test_remedy_writes_issue_links_through_the_given_link() -> None:
    text = "//:: UnexpectedOutput(a, /model/issue/1/)\ny\n"
    (finding,) = match([], read_text(text, FILE), PROJECTS).findings
    words = remedy(finding, link=lambda issue: f"https://bugs.example/{issue.number}")
    assert words == (
        "the known bug https://bugs.example/1 looks fixed: remove "
        "`//:: UnexpectedOutput(a, /model/issue/1/)` (line 1)"
    )
