"""Matching: outputs + annotations + the projects in force → an `Outcome`, by Silver's rules.

This is Silver's `OutputMatcher` and the verdict logic of its `AnnotationBasedTestSuite`
(viper.silver.testing), with deliberate differences, all documented in README.md: an output
matches only annotations of its own file (Silver compares lines only); outputs without a line
are matched by the file-level `*FileOutput` forms (Silver never matches them); an output id with
two or more colons (Silver aborts) is matched only by an equal id.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

from annotations.annotation import (
    Annotation,
    Diagnostic,
    IssueRef,
    Kind,
    Output,
    OutputId,
    ReadResult,
)
from annotations.kinds import (
    ACCEPTING_KINDS,
    EXPECTED_KINDS,
    KNOWN_BUG_KINDS,
    MATCHED_KINDS,
    MISSING_KINDS,
)
from annotations.outcome import Finding, FindingKind, Outcome, Verdict
from annotations.render import render_body

# Silver's TestErrorType order, which its failure message groups by.
_FINDING_ORDER = {
    kind: rank
    for rank, kind in enumerate(
        (
            FindingKind.UNREADABLE,
            FindingKind.ANNOTATION_ERROR,
            FindingKind.ADDITIONAL_OUTPUT,
            FindingKind.EXPECTED_BUT_MISSING,
            FindingKind.UNEXPECTED_BUT_MISSING,
            FindingKind.MISSING_BUT_PRESENT,
        )
    )
}


# How many passes an expected-but-missing message lists before it says "and N more".
_SHOWN_PASSES = 5


@functools.lru_cache(maxsize=1024)
def _project_pattern(annotation_project: str) -> re.Pattern[str]:
    # Silver: currentProject.matches(s"(?i)(.*?-)?$annotationProject(-.*?)?"). Java's (?i) folds
    # ASCII only, hence re.ASCII. Silver splices the name in unescaped; here it is literal.
    return re.compile(
        r"(?:.*?-)?" + re.escape(annotation_project) + r"(?:-.*?)?", re.IGNORECASE | re.ASCII
    )


def project_matches(annotation_project: str, project: str) -> bool:
    """Silver's rule: `project` is the annotation's project, ignoring case, `X-`/`-Y` affixes."""
    return _project_pattern(annotation_project).fullmatch(project) is not None


def _java_split_colon(text: str) -> list[str]:
    # Java's split(":"): no colon → the text itself; else trailing empty parts are dropped.
    if ":" not in text:
        return [text]
    parts = text.split(":")
    while parts and not parts[-1]:
        parts.pop()
    return parts


def id_matches(annotation_id: OutputId, output_id: str) -> bool:
    """Silver's OutputAnnotationId.matches: an id without reason matches any reason of its key."""
    parts = _java_split_colon(output_id)
    if len(parts) == 1:
        return annotation_id.key == output_id and annotation_id.reason is None
    if not parts:  # Silver's assertion fails on ids made of colons only; nothing matches them
        return False
    if len(parts) > 2:
        # Silver's assertion aborts the run on `a:b:c`; here only the equal id matches it, so
        # neither `a` nor `a:b` can accept an output that differs from them.
        return str(annotation_id) == output_id
    return annotation_id.key == parts[0] and annotation_id.reason in (None, parts[1])


def matching_ids(output_id: str) -> tuple[OutputId, ...]:
    """Every annotation id that `id_matches` lets accept `output_id` (at most two)."""
    parts = _java_split_colon(output_id)
    if len(parts) == 1:
        return (OutputId(output_id),)
    if not parts:
        return ()
    if len(parts) > 2:
        return (OutputId.parse(output_id),)
    return (OutputId(parts[0]), OutputId(parts[0], parts[1]))


def in_force(annotation: Annotation, projects: tuple[str, ...]) -> bool:
    """Whether an annotation applies: it links no issue, or its project is one in force."""
    issue = annotation.issue
    return issue is None or any(project_matches(issue.project, p) for p in projects)


def ignored_files(read: ReadResult, projects: Iterable[str]) -> tuple[str, ...]:
    """The files of `read` not to run: IgnoreFile for a project in force, or any IgnoreFileList."""
    projects = tuple(projects)
    if any(a.kind is Kind.IGNORE_FILE_LIST for a in read.annotations):
        return read.files  # Silver: an IgnoreFileList ignores every file, for every project
    ignored = {
        a.file for a in read.annotations if a.kind is Kind.IGNORE_FILE and in_force(a, projects)
    }
    return tuple(file for file in read.files if file in ignored)


def _ignore_issues(read: ReadResult, projects: tuple[str, ...]) -> tuple[IssueRef, ...]:
    links = [
        a.issue
        for a in read.annotations
        if a.issue is not None
        and (
            a.kind is Kind.IGNORE_FILE_LIST
            or (a.kind is Kind.IGNORE_FILE and in_force(a, projects))
        )
    ]
    return tuple(dict.fromkeys(links))


def _diagnostic_finding(diagnostic: Diagnostic) -> Finding:
    return Finding(
        FindingKind.ANNOTATION_ERROR,
        diagnostic.file,
        diagnostic.line,
        None,
        diagnostic.message,
        diagnostic=diagnostic,
    )


def match(
    outputs: Iterable[Output],
    read: ReadResult,
    projects: Iterable[str],
    *,
    strict: bool = True,
    runs: Mapping[tuple[str, int], int] | None = None,
) -> Outcome:
    """Judge a run's outputs against the annotations read for the projects in force.

    `runs` gives, per (file, line), how many times that line ran (absent: once). An
    ExpectedOutput on a line that ran k > 1 times needs an output in each pass 0..k-1
    (`Output.run`); on a line that never ran, an annotation expects nothing.
    """
    projects = tuple(projects)
    ignored = set(ignored_files(read, projects))
    if read.files and all(file in ignored for file in read.files):
        return Outcome(
            Verdict.IGNORED, issues=_ignore_issues(read, projects), warnings=read.diagnostics
        )
    passes = _Passes(runs or {})

    findings: list[Finding] = []
    warnings: list[Diagnostic] = []
    for diagnostic in read.diagnostics:
        if diagnostic.silver or strict:
            findings.append(_diagnostic_finding(diagnostic))
        else:
            warnings.append(diagnostic)

    active = [
        a
        for a in read.annotations
        if a.kind in MATCHED_KINDS and a.file not in ignored and in_force(a, projects)
    ]
    # Per (file, line, annotation id): the first MissingOutput and the first accepting
    # annotation, in file order; per (file, line): whether an IgnoreOthers stands there. An
    # output then looks up only the ids that can match it (`matching_ids`), however many
    # annotations its line has.
    first_missing: dict[tuple[str, int | None, OutputId], int] = {}
    first_accepting: dict[tuple[str, int | None, OutputId], int] = {}
    ignore_others: set[tuple[str, int | None]] = set()
    for index, annotation in enumerate(active):
        if annotation.kind is Kind.IGNORE_OTHERS:
            ignore_others.add((annotation.file, annotation.target))
            continue
        slot = (annotation.file, annotation.target, _id_of(annotation))
        table = first_missing if annotation.kind in MISSING_KINDS else first_accepting
        table.setdefault(slot, index)

    # Per accepting annotation: None (accepted, on a line that ran once) or, on a line that ran
    # k > 1 times, one byte per pass saying whether that pass gave it an output.
    accepted: dict[int, bytearray | None] = {}
    matched: list[tuple[Output, Annotation | None]] = []
    for output in outputs:
        slots = [(output.file, output.line, i) for i in matching_ids(output.id)]
        missing = min((first_missing[s] for s in slots if s in first_missing), default=None)
        accepting = min((first_accepting[s] for s in slots if s in first_accepting), default=None)
        if missing is not None:
            fallback = None if accepting is None else active[accepting]
            findings.append(_missing_but_present(active[missing], output, passes, fallback))
        elif accepting is not None:
            passes.accept(accepted, accepting, active[accepting], output)
            matched.append((output, active[accepting]))
        elif (output.file, output.line) in ignore_others:
            matched.append((output, None))  # IgnoreOthers on that line
        else:
            findings.append(_additional(output, passes))

    missing_sources = {_source(a) for a in active if a.kind in MISSING_KINDS}
    for index, annotation in enumerate(active):
        total = passes.of(annotation)
        if annotation.kind not in ACCEPTING_KINDS or total == 0:
            continue  # a line that never ran expects nothing
        if annotation.kind in EXPECTED_KINDS:
            # Silver's sameSource: a MissingOutput with an equal id on the same target excuses it.
            if _source(annotation) in missing_sources:
                continue
            if index not in accepted:
                findings.append(_expected_but_missing(annotation, tuple(range(total)), total))
                continue
            seen = accepted[index]
            if seen is not None and not all(seen):
                gaps = tuple(run for run in range(total) if not seen[run])
                findings.append(_expected_but_missing(annotation, gaps, total))
        elif index not in accepted:
            findings.append(_unexpected_but_missing(annotation))

    findings.sort(key=lambda finding: _FINDING_ORDER[finding.kind])
    issues: tuple[IssueRef, ...]
    known_bugs = [a.issue for a in active if a.kind in KNOWN_BUG_KINDS and a.issue is not None]
    if findings:
        verdict, issues = Verdict.FAILED, ()
    elif known_bugs:
        verdict, issues = Verdict.KNOWN_FAILURE, tuple(dict.fromkeys(known_bugs))
    else:
        verdict, issues = Verdict.PASSED, ()
    return Outcome(verdict, tuple(findings), issues, tuple(matched), tuple(warnings))


class _Passes:
    """How many times each line ran, and which passes gave an annotation its output."""

    def __init__(self, runs: Mapping[tuple[str, int], int]) -> None:
        self.runs = runs

    def of(self, annotation: Annotation) -> int:
        """How many times the annotation's target ran (a file-level annotation: once)."""
        if annotation.target is None:
            return 1
        return self.runs.get((annotation.file, annotation.target), 1)

    def of_output(self, output: Output) -> int:
        """How many times the output's line ran."""
        return 1 if output.line is None else self.runs.get((output.file, output.line), 1)

    def accept(
        self,
        accepted: dict[int, bytearray | None],
        index: int,
        annotation: Annotation,
        output: Output,
    ) -> None:
        """Record that annotation `index` accepted `output` (in the output's pass)."""
        total = self.of(annotation)
        if total <= 1:
            accepted[index] = None
            return
        seen = accepted.get(index)
        if seen is None:
            seen = accepted[index] = bytearray(total)
        if 0 <= output.run < total:
            seen[output.run] = 1

    def where(self, output: Output) -> str:
        """` (pass R of K)` for an output of a line that ran K > 1 times, else nothing."""
        total = self.of_output(output)
        return f" (pass {output.run + 1} of {total})" if total > 1 else ""


def _passes_text(gaps: tuple[int, ...], total: int) -> str:
    """`pass 4 of 8`, `passes 2, 5 and 7 of 8`, `any of its 8 passes` (gaps are 0-based)."""
    if len(gaps) == total:
        return f"any of its {total} passes"
    shown = [str(run + 1) for run in gaps[:_SHOWN_PASSES]]
    if len(gaps) == 1:
        return f"pass {shown[0]} of {total}"
    more = len(gaps) - len(shown)
    listed = (
        f"{', '.join(shown)} and {more} more"
        if more
        else f"{', '.join(shown[:-1])} and {shown[-1]}"
    )
    return f"passes {listed} of {total}"


def _id_of(annotation: Annotation) -> OutputId:
    assert annotation.output_id is not None
    return annotation.output_id


def _source(annotation: Annotation) -> tuple[str, int | None, OutputId | None]:
    # Silver's sameSource: same file, same target, equal id (key and reason alike).
    return annotation.file, annotation.target, annotation.output_id


def _where(annotation: Annotation) -> str:
    if annotation.target is None:
        return f"in {annotation.file} (file-level, written on line {annotation.line})"
    return f"on line {annotation.target}"


def _additional(output: Output, passes: _Passes) -> Finding:
    where = "without a line" if output.line is None else f"on line {output.line}"
    where += passes.where(output)
    detail = f": {output.message}" if output.message else ""
    return Finding(
        FindingKind.ADDITIONAL_OUTPUT,
        output.file,
        output.line,
        output.id,
        f"output [{output.id}] {where} is not expected by any annotation{detail}",
        output=output,
    )


def _expected_but_missing(annotation: Annotation, gaps: tuple[int, ...], total: int) -> Finding:
    output_id = _id_of(annotation)
    expects = (
        f"{annotation.kind.value}({output_id}) expects output [{output_id}] {_where(annotation)}"
    )
    if total > 1:
        message = f"{expects} in each of its {total} passes, but it did not occur in "
        message += _passes_text(gaps, total)
    else:
        message, gaps = f"{expects}, but it did not occur", ()
    return Finding(
        FindingKind.EXPECTED_BUT_MISSING,
        annotation.file,
        annotation.target if annotation.target is not None else annotation.line,
        str(output_id),
        message,
        annotation=annotation,
        passes=gaps,
        runs=total,
    )


def _unexpected_but_missing(annotation: Annotation) -> Finding:
    output_id = _id_of(annotation)
    return Finding(
        FindingKind.UNEXPECTED_BUT_MISSING,
        annotation.file,
        annotation.target if annotation.target is not None else annotation.line,
        str(output_id),
        f"{annotation.kind.value}({output_id}, {annotation.issue}) records a known bug producing "
        f"[{output_id}] {_where(annotation)}, but the output did not occur: the bug looks fixed, "
        "so remove the annotation",
        annotation=annotation,
    )


def _missing_but_present(
    annotation: Annotation, output: Output, passes: _Passes, fallback: Annotation | None
) -> Finding:
    output_id = _id_of(annotation)
    expected = Kind.EXPECTED_FILE if annotation.kind is Kind.MISSING_FILE else Kind.EXPECTED
    if fallback is not None:
        fix = f"remove the annotation: the {render_body(fallback)} beside it accepts the output"
    else:
        fix = f"replace the annotation with `{expected.value}({output_id})`"
    return Finding(
        FindingKind.MISSING_BUT_PRESENT,
        output.file,
        output.line,
        output.id,
        f"{annotation.kind.value}({output_id}, {annotation.issue}) records a known bug hiding "
        f"[{output_id}] {_where(annotation)}, but output [{output.id}] occurred"
        f"{passes.where(output)}: the bug looks fixed, so {fix}",
        annotation=annotation,
        output=output,
        fallback=fallback,
    )
