"""Properties of bless: for random annotated texts and random outputs, blessing then matching
finds no error, and blessing again changes nothing.

A generated test is a list of code lines `opN`, each under a stack of annotations (comment
lines mixed in), plus outputs tied to code lines by index; after a bless, the outputs follow
their code lines to wherever the edits moved them.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import assume, given
from hypothesis import strategies as st

from annotations import (
    Annotation,
    FindingKind,
    IssueRef,
    Kind,
    Output,
    OutputId,
    Verdict,
    match,
    read_text,
    render,
)
from annotations.bless import plan

FILE = "generated.vfio"
PROJECTS = ("model", "vfio")
IDS = ["a", "a:x", "a:y", "b", "b:x"]
_ids = st.sampled_from(IDS).map(OutputId.parse)
_issues = st.builds(IssueRef, st.sampled_from(["model", "kernel"]), st.integers(1, 9))
_annotations = st.one_of(
    st.builds(lambda i: Annotation(Kind.EXPECTED, FILE, 0, 0, i), _ids),
    st.builds(lambda i, n: Annotation(Kind.UNEXPECTED, FILE, 0, 0, i, n), _ids, _issues),
    st.builds(lambda i, n: Annotation(Kind.MISSING, FILE, 0, 0, i, n), _ids, _issues),
    st.just(Annotation(Kind.IGNORE_OTHERS, FILE, 0, 0)),
)


@dataclass(frozen=True)
class Case:
    """Code lines with their annotation stacks (None: a comment line), and the outputs."""

    stacks: tuple[tuple[Annotation | None, ...], ...]
    outputs: tuple[tuple[int, str], ...]  # (code line index, id)
    indent: str
    crlf: bool

    def text(self) -> str:
        lines: list[str] = []
        for index, stack in enumerate(self.stacks):
            for item in stack:
                lines.append(self.indent + ("// a comment" if item is None else render(item)))
            lines.append(f"{self.indent}op{index} x")
        return ("\r\n" if self.crlf else "\n").join(lines) + ("\r\n" if self.crlf else "\n")


cases = st.builds(
    Case,
    st.lists(st.lists(st.none() | _annotations, max_size=3).map(tuple), min_size=1, max_size=5).map(
        tuple
    ),
    st.lists(st.tuples(st.integers(0, 4), st.sampled_from(IDS)), max_size=8).map(tuple),
    st.sampled_from(["", "  ", "\t"]),
    st.booleans(),
)


def outputs_in(text: str, case: Case) -> list[Output]:
    """The case's outputs on the lines where its code lines now stand in `text`."""
    numbers = {
        line.strip(): number for number, line in enumerate(text.split("\n"), 1) if "op" in line
    }
    count = len(case.stacks)
    return [
        Output(FILE, numbers[f"op{index % count} x"], output_id)
        for index, output_id in case.outputs
    ]


def blessed(text: str, case: Case, known_bugs: bool) -> tuple[str, bool]:
    """The text after one bless, and whether it changed."""
    read = read_text(text, FILE)
    outcome = match(outputs_in(text, case), read, PROJECTS, strict=True)
    (result,) = plan(
        [(FILE, text.encode())], read, outcome, known_bugs=known_bugs, projects=PROJECTS
    )
    assert result.refused is None
    return result.new.decode(), result.changed


@given(cases)
def test_bless_with_known_bugs_then_matching_finds_no_error_and_a_second_bless_does_nothing(
    case: Case,
) -> None:
    text = case.text()
    assume(not read_text(text, FILE).diagnostics)  # bless refuses files with annotation errors
    once, _ = blessed(text, case, known_bugs=True)
    outcome = match(outputs_in(once, case), read_text(once, FILE), PROJECTS, strict=True)
    assert outcome.verdict is not Verdict.FAILED, outcome.findings
    twice, changed = blessed(once, case, known_bugs=True)
    assert not changed and twice == once


@given(cases)
def test_bless_leaves_only_stale_known_bugs_failing_and_is_idempotent(case: Case) -> None:
    text = case.text()
    assume(not read_text(text, FILE).diagnostics)
    once, _ = blessed(text, case, known_bugs=False)
    outcome = match(outputs_in(once, case), read_text(once, FILE), PROJECTS, strict=True)
    # What stays: stale known bugs, and annotations whose output a stale MissingOutput takes.
    blocked = {f.fallback for f in outcome.findings if f.fallback is not None}
    for finding in outcome.findings:
        assert (
            finding.kind
            in (
                FindingKind.UNEXPECTED_BUT_MISSING,
                FindingKind.MISSING_BUT_PRESENT,
            )
            or finding.annotation in blocked
        ), finding
    twice, changed = blessed(once, case, known_bugs=False)
    assert not changed and twice == once


@given(cases, st.booleans())
def test_the_line_map_takes_every_code_line_to_where_bless_moved_it(
    case: Case, known_bugs: bool
) -> None:
    text = case.text()
    assume(not read_text(text, FILE).diagnostics)
    read = read_text(text, FILE)
    outcome = match(outputs_in(text, case), read, PROJECTS, strict=True)
    (result,) = plan([(FILE, text.encode())], read, outcome, known_bugs=known_bugs)
    new_line = result.line_map()
    old_lines, new_lines = text.split("\n"), result.new.decode().split("\n")
    for number, line in enumerate(old_lines, 1):
        moved = new_line(number)
        annotation = line.strip().startswith("//::")
        if moved is None:  # only annotation lines are removed
            assert annotation, (number, line)
        elif not annotation:  # code and comments stay as they were (an annotation may be replaced)
            assert new_lines[moved - 1] == line, (number, line)
    assert sum(new_line(n) is None for n in range(1, len(old_lines) + 1)) == len(result.deleted)
