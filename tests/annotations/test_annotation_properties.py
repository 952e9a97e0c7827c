"""Properties of the engine: render/read round trips, and how the matcher responds to edits.

A generated test is a `Program`: code lines, each preceded by a stack of annotations (with
comment lines mixed in). Its text is rendered with `render`, so line numbers are computed here,
independently of the reader.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypothesis import given
from hypothesis import strategies as st

from annotations import (
    Annotation,
    FindingKind,
    IssueRef,
    Kind,
    Output,
    OutputId,
    Verdict,
    id_matches,
    match,
    read_text,
    render,
)

FILE = "generated.vfio"
PROJECTS = ("model", "vfio")

_word = st.text("abcxyz019._", min_size=1, max_size=10)
output_ids = st.builds(OutputId, _word, st.none() | _word)
issues = st.builds(IssueRef, st.text("abcXYZ09-", min_size=1, max_size=8), st.integers(0, 99999))
_located_kinds = [Kind.EXPECTED, Kind.UNEXPECTED, Kind.MISSING, Kind.IGNORE_OTHERS]
_file_kinds = [Kind.IGNORE_FILE, Kind.IGNORE_FILE_LIST, Kind.EXPECTED_FILE, Kind.MISSING_FILE]


@st.composite
def annotations(draw: st.DrawFn) -> Annotation:
    """An annotation with placeholder location: any kind, id and issue it can carry."""
    kind = draw(st.sampled_from(_located_kinds + _file_kinds))
    with_id = kind not in (Kind.IGNORE_OTHERS, Kind.IGNORE_FILE, Kind.IGNORE_FILE_LIST)
    with_issue = kind not in (Kind.EXPECTED, Kind.EXPECTED_FILE, Kind.IGNORE_OTHERS)
    return Annotation(
        kind,
        FILE,
        0,
        None,
        draw(output_ids) if with_id else None,
        draw(issues) if with_issue else None,
    )


@dataclass(frozen=True)
class Program:
    """Code lines, each with the stack of annotations above it (None: a comment line)."""

    stacks: tuple[tuple[Annotation | None, ...], ...]

    def render(self) -> tuple[str, list[Annotation], list[int]]:
        """The text, the annotations as the reader must return them, each code line's number."""
        lines: list[str] = []
        expected: list[Annotation] = []
        code_lines: list[int] = []
        for index, stack in enumerate(self.stacks):
            written: list[tuple[Annotation, int]] = []
            for item in stack:
                if item is None:
                    lines.append("  // a comment between annotations")
                else:
                    lines.append("\t" + render(item))
                    written.append((item, len(lines)))
            lines.append(f"op{index} x y")
            target = len(lines)
            code_lines.append(target)
            for item, line in written:
                located = item.kind in (
                    Kind.EXPECTED,
                    Kind.UNEXPECTED,
                    Kind.MISSING,
                    Kind.IGNORE_OTHERS,
                )
                expected.append(
                    replace(item, line=line, target=target if located else None, column=2)
                )
        return "\n".join(lines) + "\n", expected, code_lines


programs = st.builds(
    Program,
    st.lists(
        st.lists(st.none() | annotations(), max_size=4).map(tuple), min_size=1, max_size=6
    ).map(tuple),
)


@given(programs)
def test_rendered_annotations_read_back_unchanged(program: Program) -> None:
    text, expected, _ = program.render()
    assert list(read_text(text, FILE).annotations) == expected


@given(programs)
def test_rendered_annotations_read_back_unchanged_with_crlf_and_another_prefix(
    program: Program,
) -> None:
    text, expected, _ = program.render()
    text = text.replace("//", "--").replace("\n", "\r\n")
    assert list(read_text(text, FILE, prefix="--").annotations) == expected


# For matching: only ExpectedOutput and IgnoreOthers stacks, and outputs on code lines.
_expect_stacks = st.lists(
    st.builds(lambda i: Annotation(Kind.EXPECTED, FILE, 0, 1, i), output_ids)
    | st.just(Annotation(Kind.IGNORE_OTHERS, FILE, 0, 1)),
    max_size=3,
).map(tuple)


@st.composite
def runs(draw: st.DrawFn) -> tuple[Program, list[tuple[int, str]]]:
    """A program and its outputs as (code line index, id): expected ones, plus stray ones."""
    stacks = draw(st.lists(_expect_stacks, min_size=1, max_size=5))
    outputs: list[tuple[int, str]] = []
    for index, stack in enumerate(stacks):
        for item in stack:
            if item.output_id is not None:
                copies = draw(st.integers(1, 2))
                outputs += [(index, str(item.output_id))] * copies
    strays = st.tuples(st.integers(0, len(stacks) - 1), output_ids.map(str))
    outputs += draw(st.lists(strays, max_size=4))
    return Program(tuple(stacks)), draw(st.permutations(outputs))


def outputs_of(pairs: list[tuple[int, str]], code_lines: list[int]) -> list[Output]:
    return [Output(FILE, code_lines[index], id_) for index, id_ in pairs]


@given(runs())
def test_annotating_every_additional_output_turns_a_failure_into_a_pass(
    run: tuple[Program, list[tuple[int, str]]],
) -> None:
    program, pairs = run
    text, _, code_lines = program.render()
    outcome = match(outputs_of(pairs, code_lines), read_text(text, FILE), PROJECTS, strict=False)
    if {f.kind for f in outcome.findings} != {FindingKind.ADDITIONAL_OUTPUT}:
        return  # the property is about failures made of additional outputs only
    stacks = [list(stack) for stack in program.stacks]
    for finding in outcome.findings:
        index = code_lines.index(finding.line or 0)
        assert finding.id is not None
        # One annotation accepts every output it matches (a reasonless one, all reasons): add
        # one only where no annotation added before already accepts this output.
        added = [a for a in stacks[index] if a is not None and a.kind is Kind.EXPECTED]
        if not any(a.output_id and id_matches(a.output_id, finding.id) for a in added):
            stacks[index].append(Annotation(Kind.EXPECTED, FILE, 0, 1, OutputId.parse(finding.id)))
    fixed = Program(tuple(tuple(stack) for stack in stacks))
    text, _, code_lines = fixed.render()
    after = match(outputs_of(pairs, code_lines), read_text(text, FILE), PROJECTS, strict=False)
    assert after.verdict is Verdict.PASSED, after.findings


@given(runs(), st.data())
def test_removing_an_output_an_expected_output_needs_turns_a_pass_into_a_failure(
    run: tuple[Program, list[tuple[int, str]]], data: st.DataObject
) -> None:
    program, pairs = run
    text, _, code_lines = program.render()
    read = read_text(text, FILE)
    outputs = outputs_of(pairs, code_lines)
    outcome = match(outputs, read, PROJECTS, strict=False)
    if outcome.verdict is not Verdict.PASSED:
        return
    needed = [
        (output, annotation)
        for output, annotation in outcome.matched
        if annotation is not None
        and annotation.kind is Kind.EXPECTED
        and sum(1 for _, other in outcome.matched if other is annotation) == 1
    ]
    if not needed:
        return
    output, annotation = data.draw(st.sampled_from(needed))
    remaining = list(outputs)
    remaining.remove(output)
    after = match(remaining, read, PROJECTS, strict=False)
    assert after.verdict is Verdict.FAILED
    assert [(f.kind, f.annotation) for f in after.findings] == [
        (FindingKind.EXPECTED_BUT_MISSING, annotation)
    ]


_hostile_pieces = st.sampled_from(
    [
        "//::",
        "//:: ",
        "// ::",
        "////",
        "ExpectedOutput(",
        "UnexpectedOutput(",
        "MissingFileOutput(",
        "IgnoreFile(",
        "IgnoreOthers",
        "expected",
        "a:b",
        ")",
        ", /",
        "/issue/",
        "9" * 50,
        "0" * 20,
        "/)",
        " ",
        "\t",
        "\n",
        "\r\n",
        "\\r",
        "\ufeff",
        "\u2028",
        "\x00",
        "é",
        "// x",
    ]
)


@given(
    st.lists(_hostile_pieces | st.text(max_size=3), max_size=40).map("".join),
    st.sampled_from(["//", "#", "--"]),
)
def test_reading_any_text_never_raises_and_locates_every_diagnostic_in_the_text(
    text: str, prefix: str
) -> None:
    text = text.replace("//", prefix) if prefix != "//" else text
    result = read_text(text, FILE, prefix=prefix)
    lines = text.replace("\\r", "").split("\n")
    for diagnostic in result.diagnostics:
        assert 1 <= diagnostic.line <= len(lines)
        assert 1 <= diagnostic.column <= len(lines[diagnostic.line - 1]) + 1, diagnostic
    outputs = [Output(FILE, a.target, str(a.output_id)) for a in result.annotations if a.output_id]
    match(outputs, result, PROJECTS)  # never raises either
