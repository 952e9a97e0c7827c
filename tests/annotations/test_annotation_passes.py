"""Lines that run more than once (a loop body): `Output.run` and `match(..., runs=...)`.

An ExpectedOutput on a line that ran k > 1 times needs an output in every pass 0..k-1; a line
that never ran expects nothing; a line that ran once is matched by Silver's rules unchanged.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from annotations import (
    Finding,
    FindingKind,
    Kind,
    Output,
    Verdict,
    match,
    read_text,
    render,
)
from annotations.annotation import Annotation, OutputId

PROJECTS = ("model", "vfio")
FILE = "<text>"
LOOP = "//:: ExpectedOutput(a:b)\nx\n"


def out(line: int | None, id_: str, run: int = 0) -> Output:
    return Output(FILE, line, id_, "message", run=run)


def kinds(findings: tuple[Finding, ...]) -> list[FindingKind]:
    return [f.kind for f in findings]


def test_match_passes_a_loop_line_with_its_expected_output_in_every_pass() -> None:
    outputs = [out(2, "a:b", run) for run in range(8)]
    outcome = match(outputs, read_text(LOOP), PROJECTS, runs={(FILE, 2): 8})
    assert outcome.verdict is Verdict.PASSED
    assert len(outcome.matched) == 8


def test_match_names_the_one_pass_without_the_expected_output() -> None:
    outputs = [out(2, "a:b", run) for run in range(8) if run != 3]
    outcome = match(outputs, read_text(LOOP), PROJECTS, runs={(FILE, 2): 8})
    assert kinds(outcome.findings) == [FindingKind.EXPECTED_BUT_MISSING]
    finding = outcome.findings[0]
    assert finding.passes == (3,)
    assert finding.message == (
        "ExpectedOutput(a:b) expects output [a:b] on line 2 in each of its 8 passes, "
        "but it did not occur in pass 4 of 8"
    )


def test_match_lists_a_few_passes_without_the_expected_output_and_counts_the_rest() -> None:
    outputs = [out(2, "a:b", 0)]
    outcome = match(outputs, read_text(LOOP), PROJECTS, runs={(FILE, 2): 10})
    finding = outcome.findings[0]
    assert finding.passes == tuple(range(1, 10))
    assert finding.message.endswith("did not occur in passes 2, 3, 4, 5, 6 and 4 more of 10")


def test_match_lists_two_passes_without_the_expected_output_with_and() -> None:
    outputs = [out(2, "a:b", run) for run in (0, 2)]
    outcome = match(outputs, read_text(LOOP), PROJECTS, runs={(FILE, 2): 4})
    assert outcome.findings[0].message.endswith("did not occur in passes 2 and 4 of 4")


def test_match_reports_a_loop_line_without_the_expected_output_in_any_pass_once() -> None:
    outcome = match([], read_text(LOOP), PROJECTS, runs={(FILE, 2): 3})
    assert kinds(outcome.findings) == [FindingKind.EXPECTED_BUT_MISSING]
    assert outcome.findings[0].passes == (0, 1, 2)
    assert outcome.findings[0].message.endswith("did not occur in any of its 3 passes")


def test_match_expects_nothing_on_a_line_that_never_ran() -> None:
    text = "//:: ExpectedOutput(a:b)\n//:: UnexpectedOutput(c, /model/issue/2/)\nx\n"
    outcome = match([], read_text(text), PROJECTS, runs={(FILE, 3): 0})
    assert outcome.findings == ()
    # The known bug stays linked: the run did not show that it is gone.
    assert outcome.verdict is Verdict.KNOWN_FAILURE


def test_match_keeps_silvers_rules_for_a_line_absent_from_runs() -> None:
    outcome = match([], read_text(LOOP), PROJECTS, runs={(FILE, 99): 5})
    assert outcome.findings[0].message == (
        "ExpectedOutput(a:b) expects output [a:b] on line 2, but it did not occur"
    )
    assert outcome.findings[0].passes == ()


def test_match_names_the_pass_of_an_additional_output_on_a_loop_line() -> None:
    outcome = match([out(2, "c", 1)], read_text("x\ny\n"), PROJECTS, runs={(FILE, 2): 3})
    assert outcome.findings[0].message == (
        "output [c] on line 2 (pass 2 of 3) is not expected by any annotation: message"
    )


def test_match_names_the_pass_of_a_stale_missing_output_on_a_loop_line() -> None:
    read = read_text("//:: MissingOutput(a, /model/issue/4/)\nx\n")
    outcome = match([out(2, "a", 4)], read, PROJECTS, runs={(FILE, 2): 5})
    assert kinds(outcome.findings) == [FindingKind.MISSING_BUT_PRESENT]
    assert "occurred (pass 5 of 5):" in outcome.findings[0].message


def test_match_lets_a_missing_output_excuse_every_pass_of_its_expected_output() -> None:
    read = read_text("//:: ExpectedOutput(a)\n//:: MissingOutput(a, /model/issue/4/)\nx\n")
    outcome = match([], read, PROJECTS, runs={(FILE, 3): 6})
    assert outcome.verdict is Verdict.KNOWN_FAILURE


def test_match_counts_an_unexpected_output_in_some_passes_as_a_known_bug_still_present() -> None:
    read = read_text("//:: UnexpectedOutput(a, /model/issue/4/)\nx\n")
    outcome = match([out(2, "a", 1)], read, PROJECTS, runs={(FILE, 2): 6})
    assert outcome.verdict is Verdict.KNOWN_FAILURE


def test_match_ignores_runs_for_file_level_annotations() -> None:
    read = read_text("//:: ExpectedFileOutput(leak)\nx\n")
    outcome = match([out(None, "leak")], read, PROJECTS, runs={(FILE, 1): 4, (FILE, 2): 4})
    assert outcome.verdict is Verdict.PASSED


# Properties. A generated stack holds ExpectedOutput and IgnoreOthers annotations (the kinds
# whose loop rule is "every pass"); `unrolled` writes the stack and its line once per pass.
_ids = st.sampled_from(["a", "a:x", "a:y", "b"])
_stack = st.lists(
    _ids.map(lambda i: Annotation(Kind.EXPECTED, FILE, 0, 1, OutputId.parse(i)))
    | st.just(Annotation(Kind.IGNORE_OTHERS, FILE, 0, 1)),
    max_size=3,
)


def _text(stack: list[Annotation], copies: int) -> str:
    block = "".join(render(a) + "\n" for a in stack) + "x\n"
    return "head\n" + block * copies


@given(_stack, st.integers(0, 6), st.lists(st.tuples(st.integers(0, 5), _ids), max_size=12))
def test_a_loop_line_is_judged_as_its_unrolled_copies_are(
    stack: list[Annotation], total: int, emitted: list[tuple[int, str]]
) -> None:
    emitted = [(run, id_) for run, id_ in emitted if run < total]
    target = 2 + len(stack)
    looped = match(
        [out(target, id_, run) for run, id_ in emitted],
        read_text(_text(stack, 1)),
        PROJECTS,
        runs={(FILE, target): total},
        strict=False,  # a duplicate in the stack is a finding about the text, not the passes
    )
    span = len(stack) + 1
    unrolled = match(
        [out(1 + span * (run + 1), id_) for run, id_ in emitted],
        read_text(_text(stack, total)),
        PROJECTS,
        strict=False,
    )
    assert looped.verdict is unrolled.verdict
    additional = [f for f in unrolled.findings if f.kind is FindingKind.ADDITIONAL_OUTPUT]
    assert len(additional) == sum(f.kind is FindingKind.ADDITIONAL_OUTPUT for f in looped.findings)
    # Each unrolled copy that misses an expected output is one pass the loop's finding names.
    missing_unrolled = sorted(
        ((f.line or 0) // span - 1, f.id)
        for f in unrolled.findings
        if f.kind is FindingKind.EXPECTED_BUT_MISSING
    )
    missing_looped = sorted(
        (run, f.id)
        for f in looped.findings
        if f.kind is FindingKind.EXPECTED_BUT_MISSING
        for run in f.passes or (0,)
    )
    assert missing_looped == missing_unrolled


@given(_stack, st.lists(st.tuples(st.integers(1, 4), _ids), max_size=8))
def test_runs_of_one_for_every_line_change_nothing(
    stack: list[Annotation], emitted: list[tuple[int, str]]
) -> None:
    read = read_text(_text(stack, 2))
    outputs = [out(line, id_) for line, id_ in emitted]
    every_line_once = {(FILE, line): 1 for line in range(1, 20)}
    assert match(outputs, read, PROJECTS, runs=every_line_once) == match(outputs, read, PROJECTS)
