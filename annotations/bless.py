"""Bless: the annotation edits that make a test accept what its run now does.

`plan(files, read, outcome, ...)` takes the bytes of a test's files as they were read, the
annotations read from them, and the matcher's outcome, and returns one `FilePlan` per file:
its changes, the findings it leaves alone and why, or why the file is not rewritten at all,
and the new bytes. Nothing is written here; `annotations.rewrite.write_atomically` does that.

The rules, applied to the matcher's findings:

- an additional output gets `//:: ExpectedOutput(ID)` directly above its line, indented like
  that line, after any annotations and comments already standing there, in output order; equal
  outputs on one line get one annotation. An output without a line gets
  `//:: ExpectedFileOutput(ID)` at the top of its file;
- an ExpectedOutput that saw no output is removed (its own line only);
- UnexpectedOutput, MissingOutput, IgnoreOthers, IgnoreFile and comments are never touched,
  except with `known_bugs`: a stale UnexpectedOutput is removed, and a stale MissingOutput
  becomes `ExpectedOutput` of the same id, moved to the foot of its stack where bless adds
  annotations (or is removed where another annotation on its line accepts the output);
- a file is not rewritten when it holds an output that `never_bless` refuses (a syntax error
  must be fixed, not expected), an annotation error, or bytes that are not UTF-8.

What a rule cannot fix is left alone with a reason: an output on a blank or comment line, an id
no annotation can spell, an output in only some passes of a loop line (an ExpectedOutput there
needs it in every pass), an ExpectedOutput that saw its output in some passes only.
"""

from __future__ import annotations

import bisect
import enum
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from annotations.annotation import Annotation, IssueRef, Kind, OutputId, ReadResult
from annotations.forms import Form, parse_form
from annotations.matcher import id_matches, in_force
from annotations.outcome import Finding, FindingKind, Outcome
from annotations.reader import TRIM
from annotations.render import render, render_body
from annotations.rewrite import Delete, Edit, Insert, Lines, Replace, decode, encode, unified_diff


class Action(enum.Enum):
    """What a change does to an annotation line."""

    ADDED = "added"
    REMOVED = "removed"
    REPLACED = "replaced"


@dataclass(frozen=True, slots=True)
class Change:
    """One annotation edit, located in the file as read.

    `line` is, for ADDED, the line the new annotation stands above; otherwise the annotation's
    own line. `old` is the annotation line removed or replaced (as written), `new` the
    annotation written (without indentation).
    """

    action: Action
    line: int
    old: str | None = None
    new: str | None = None


@dataclass(frozen=True, slots=True)
class LeftAlone:
    """A finding bless does not fix, and why."""

    finding: Finding
    reason: str


@dataclass(frozen=True, slots=True)
class FilePlan:
    """What bless does to one file: its changes, what it leaves alone, the new bytes.

    `refused` says why the file is not rewritten at all (then `new == old`). `inserted`
    (line, count: lines put directly above that line) and `deleted` (lines removed) are the
    edits by line numbers of the file as read, sorted, for `line_map`.
    """

    file: str
    old: bytes
    new: bytes
    changes: tuple[Change, ...] = ()
    left_alone: tuple[LeftAlone, ...] = ()
    refused: str | None = None
    inserted: tuple[tuple[int, int], ...] = ()
    deleted: tuple[int, ...] = ()

    @property
    def changed(self) -> bool:
        """True when the file's bytes would change."""
        return self.new != self.old

    def diff(self, name: str | None = None) -> str:
        """The change as a unified diff (empty when nothing changes)."""
        if not self.changed:
            return ""
        old, new = decode(self.old), decode(self.new)
        assert old is not None and new is not None
        return unified_diff(name or self.file, old[0], new[0])

    def line_map(self) -> Callable[[int], int | None]:
        """Where each line of the file as read stands in the new text (None: removed), so that
        outputs can follow their lines."""
        starts = [line for line, _ in self.inserted]
        above = list(itertools.accumulate(count for _, count in self.inserted))
        deleted = self.deleted

        def new_line(line: int) -> int | None:
            gone = bisect.bisect_left(deleted, line)
            if gone < len(deleted) and deleted[gone] == line:
                return None
            count = bisect.bisect_right(starts, line)
            return line + (above[count - 1] if count else 0) - gone

        return new_line


def never(_: str) -> bool:
    """The default `never_bless`: every output id may be blessed."""
    return False


def plan(
    files: Sequence[tuple[str, bytes]],
    read: ReadResult,
    outcome: Outcome,
    *,
    prefix: str = "//",
    runs: Mapping[tuple[str, int], int] | None = None,
    known_bugs: bool = False,
    never_bless: Callable[[str], bool] = never,
    projects: Sequence[str] | None = None,
) -> tuple[FilePlan, ...]:
    """One `FilePlan` per file of the test (`files`: key and bytes as read, in order).

    `projects` are the projects in force, as given to `match`; None counts every project's
    known bugs as in force.
    """
    matched = {annotation for _, annotation in outcome.matched if annotation is not None}
    force = None if projects is None else tuple(projects)
    return tuple(
        _FilePlanner(file, data, prefix, runs or {}, known_bugs, never_bless, matched, force).plan(
            [f for f in outcome.findings if f.file == file],
            [a for a in read.annotations if a.file == file],
        )
        for file, data in files
    )


def remedy(
    finding: Finding, prefix: str = "//", *, link: Callable[[IssueRef], str] = str
) -> str | None:
    """What to do about a finding, in words (what bless does with `known_bugs`), or None.

    `link` writes an issue link as the reader wants to see it (by default as annotated).
    """
    annotation = finding.annotation
    if finding.kind is FindingKind.ADDITIONAL_OUTPUT and finding.output is not None:
        if finding.output.line is None:
            return f"add `{prefix}:: ExpectedFileOutput({finding.output.id})` to the file"
        return f"add `{prefix}:: ExpectedOutput({finding.output.id})` above line {finding.line}"
    if annotation is None:
        return None
    written = f"`{render(annotation, prefix)}` (line {annotation.line})"
    if finding.kind is FindingKind.EXPECTED_BUT_MISSING:
        return f"remove {written}" if not _partly_seen(finding) else None
    issue = link(annotation.issue) if annotation.issue is not None else "?"
    if finding.kind is FindingKind.UNEXPECTED_BUT_MISSING:
        return f"the known bug {issue} looks fixed: remove {written}"
    if finding.kind is FindingKind.MISSING_BUT_PRESENT:
        if finding.fallback is not None:
            beside = render_body(finding.fallback)
            return (
                f"the known bug {issue} looks fixed: remove {written}; the {beside} "
                "beside it accepts the output"
            )
        return (
            f"the known bug {issue} looks fixed: replace {written} with "
            f"`{prefix}:: {render_body(_expected_for(annotation))}`"
        )
    return None


def _partly_seen(finding: Finding) -> bool:
    # An expected-but-missing finding of a loop line names the passes without the output;
    # when other passes had it, the annotation is not stale and removing it is no fix.
    return 0 < len(finding.passes) < finding.runs


def _has_fallback(finding: Finding) -> bool:
    """Whether another annotation would accept the output a stale MissingOutput takes."""
    return finding.kind is FindingKind.MISSING_BUT_PRESENT and finding.fallback is not None


def _narrow_first(added: list[tuple[OutputId | None, str]]) -> list[str]:
    """The added lines, each `KEY:REASON` id before the bare `KEY` of the same key.

    Silver gives an output to the first annotation that matches it: a bare `ExpectedOutput(a)`
    above `ExpectedOutput(a:x)` would take the `a:x` output and leave the other unsatisfied.
    Otherwise the order is kept (ids grouped by the first appearance of their key).
    """
    first_seen: dict[str, int] = {}
    for position, (output_id, _) in enumerate(added):
        if output_id is not None:
            first_seen.setdefault(output_id.key, position)

    def place(item: tuple[int, tuple[OutputId | None, str]]) -> tuple[int, int, int]:
        position, (output_id, _) = item
        if output_id is None:
            return (position, 0, position)
        return (first_seen[output_id.key], output_id.reason is None, position)

    return [text for _, (_, text) in sorted(enumerate(added), key=place)]


def _expected_for(missing: Annotation) -> Annotation:
    """The ExpectedOutput (or ExpectedFileOutput) of a MissingOutput's id, where it stands."""
    kind = Kind.EXPECTED_FILE if missing.kind is Kind.MISSING_FILE else Kind.EXPECTED
    return Annotation(kind, missing.file, missing.line, missing.target, missing.output_id)


class _FilePlanner:
    """Works out one file's plan; see the module's rules."""

    def __init__(
        self,
        file: str,
        data: bytes,
        prefix: str,
        runs: Mapping[tuple[str, int], int],
        known_bugs: bool,
        never_bless: Callable[[str], bool],
        matched: set[Annotation],
        projects: tuple[str, ...] | None,
    ) -> None:
        self.file, self.data, self.prefix, self.runs = file, data, prefix, runs
        self.known_bugs, self.never_bless, self.matched = known_bugs, never_bless, matched
        self.projects = projects
        self.edits: list[Edit] = []
        # The annotations to insert above each line, with their ids, in order.
        self.above: dict[int, list[tuple[OutputId | None, str]]] = {}
        self.changes: list[Change] = []
        self.left: list[LeftAlone] = []

    def refuse(self, reason: str) -> FilePlan:
        """The plan of a file that is not rewritten."""
        return FilePlan(self.file, self.data, self.data, refused=reason)

    def plan(self, findings: list[Finding], annotations: list[Annotation]) -> FilePlan:
        """The plan for this file's findings."""
        decoded = decode(self.data)
        if decoded is None:
            return self.refuse("it is not UTF-8 text")
        text, bom = decoded
        for finding in findings:
            if finding.kind in (FindingKind.ANNOTATION_ERROR, FindingKind.UNREADABLE):
                where = f"line {finding.line}: " if finding.line is not None else ""
                return self.refuse(f"it has an annotation error ({where}{finding.message})")
            output = finding.output
            additional = finding.kind is FindingKind.ADDITIONAL_OUTPUT
            if additional and output is not None and self.never_bless(output.id):
                where = f"on line {output.line}" if output.line is not None else "in the file"
                detail = f": {output.message}" if output.message else ""
                return self.refuse(
                    f"output [{output.id}] {where} is one that is never blessed{detail} "
                    "(fix the scenario, or write its annotation by hand)"
                )
        lines = Lines(text)
        # An annotation that would accept the output a stale MissingOutput takes is not stale:
        # it accepts the output once that MissingOutput goes (with `known_bugs`), and until then
        # it must stay.
        blocked = {
            f.fallback: f.annotation
            for f in findings
            if f.kind is FindingKind.MISSING_BUT_PRESENT and f.fallback is not None
        }
        done: set[Annotation] = set()
        if self.known_bugs:
            findings = findings + self._shadowed_missing(findings, annotations)
        # A MissingOutput can be stale for several outputs: where one of them has no other
        # annotation to go to, it must become an ExpectedOutput, so that finding decides.
        findings = sorted(findings, key=_has_fallback)
        for finding in findings:
            annotation = finding.annotation
            if annotation is None or annotation in done:
                continue
            done.add(annotation)
            missing = blocked.get(annotation)
            if missing is None:
                self._stale(finding, annotation, lines)
                done.update(self._excused(finding, annotations, lines, done))
            elif not self.known_bugs:
                reason = f"its output goes to the stale MissingOutput on line {missing.line}"
                self.left.append(LeftAlone(finding, reason))
        self._outputs(lines, [f for f in findings if f.kind is FindingKind.ADDITIONAL_OUTPUT])
        for line, added in self.above.items():
            news = _narrow_first(added)
            if line <= len(lines):
                content = lines.content(line)
                indent = content[: len(content) - len(content.lstrip(" \t"))]
            else:
                indent = ""
            self.edits.append(Insert(line, tuple(indent + new for new in news)))
        if not self.edits:
            return FilePlan(self.file, self.data, self.data, (), tuple(self.left))
        lines.apply(self.edits)
        changes = tuple(sorted(self.changes, key=lambda change: change.line))
        inserted = sorted((e.line, len(e.contents)) for e in self.edits if isinstance(e, Insert))
        deleted = sorted(e.line for e in self.edits if isinstance(e, Delete))
        new = encode(lines.text(), bom)
        left = tuple(self.left)
        return FilePlan(
            self.file, self.data, new, changes, left, None, tuple(inserted), tuple(deleted)
        )

    def _shadowed_missing(
        self, findings: list[Finding], annotations: list[Annotation]
    ) -> list[Finding]:
        """Stale MissingOutputs the matcher did not name: later ones matching the same output.

        Silver reports a present output against the first MissingOutput of its line that
        matches it; any later one matching it is just as stale, and would take the output
        once the first is blessed. Each is removed (the first becomes the ExpectedOutput).
        """
        shadowed: list[Finding] = []
        named = {f.annotation for f in findings if f.annotation is not None}
        for finding in findings:
            first, output = finding.annotation, finding.output
            if finding.kind is not FindingKind.MISSING_BUT_PRESENT or first is None:
                continue
            assert output is not None
            for other in annotations:
                if (
                    other.kind is first.kind
                    and other is not first
                    and other not in named
                    and other.target == first.target
                    and other.output_id is not None
                    and id_matches(other.output_id, output.id)
                    and (self.projects is None or in_force(other, self.projects))
                ):
                    named.add(other)
                    shadowed.append(
                        Finding(
                            FindingKind.MISSING_BUT_PRESENT,
                            finding.file,
                            finding.line,
                            finding.id,
                            finding.message,
                            annotation=other,
                            output=output,
                            fallback=first,
                        )
                    )
        return shadowed

    def _excused(
        self, finding: Finding, annotations: list[Annotation], lines: Lines, done: set[Annotation]
    ) -> list[Annotation]:
        """ExpectedOutputs a removed MissingOutput excused, which its output cannot reach now.

        A MissingOutput that is removed because another annotation (its `fallback`) accepts its
        output leaves the ExpectedOutput of the same id beside it, which it excused, with no
        output: Silver gives the output to the fallback, the first in file order. So that
        ExpectedOutput goes too (a second bless would remove it as expected-but-missing).
        """
        missing, fallback = finding.annotation, finding.fallback
        if not (self.known_bugs and _has_fallback(finding)) or missing is None:
            return []
        excused = [
            other
            for other in annotations
            if other.kind in (Kind.EXPECTED, Kind.EXPECTED_FILE)
            and other is not fallback
            and other not in done
            and other not in self.matched
            and other.target == missing.target
            and other.output_id == missing.output_id
        ]
        for other in excused:
            self._remove(other, lines.content(other.line).strip(TRIM))
        return excused

    def _stale(self, finding: Finding, annotation: Annotation, lines: Lines) -> None:
        """Expected-but-missing, and (with `known_bugs`) stale known bugs."""
        old = lines.content(annotation.line).strip(TRIM)
        if finding.kind is FindingKind.EXPECTED_BUT_MISSING:
            if annotation in self.matched:
                self.left.append(
                    LeftAlone(finding, "the output occurs in some passes of the line only")
                )
                return
            self._remove(annotation, old)
        elif finding.kind in (FindingKind.UNEXPECTED_BUT_MISSING, FindingKind.MISSING_BUT_PRESENT):
            if not self.known_bugs:
                reason = f"a known bug ({annotation.issue}) looks fixed; known bugs are left alone"
                self.left.append(LeftAlone(finding, reason + " unless blessed as known bugs too"))
            elif finding.kind is FindingKind.UNEXPECTED_BUT_MISSING or finding.fallback:
                self._remove(annotation, old)
            else:
                new = render(_expected_for(annotation), self.prefix)
                self.changes.append(Change(Action.REPLACED, annotation.line, old, new))
                if annotation.target is None:  # file-level: where it stands
                    content = lines.content(annotation.line)
                    indent = content[: len(content) - len(content.lstrip(" \t"))]
                    self.edits.append(Replace(annotation.line, indent + new))
                else:
                    # At the foot of the stack, as bless adds annotations: in its own place it
                    # could take outputs that the annotations after it accept now.
                    self.edits.append(Delete(annotation.line))
                    self.above.setdefault(annotation.target, []).append(
                        (annotation.output_id, new)
                    )

    def _remove(self, annotation: Annotation, old: str) -> None:
        self.edits.append(Delete(annotation.line))
        self.changes.append(Change(Action.REMOVED, annotation.line, old))

    def _outputs(self, lines: Lines, findings: list[Finding]) -> None:
        """One ExpectedOutput per (line, id) of the additional outputs, in output order."""
        groups: dict[tuple[int | None, str], list[Finding]] = {}
        for finding in findings:
            assert finding.output is not None
            groups.setdefault((finding.output.line, finding.output.id), []).append(finding)
        accepting: dict[int | None, list[OutputId]] = {}  # the ids added so far, per line
        for (line, output_id), group in groups.items():
            if any(id_matches(earlier, output_id) for earlier in accepting.get(line, ())):
                continue  # `ExpectedOutput(a)` added for one output accepts `a:x` as well
            reason = self._unwritable(lines, line, output_id, group)
            if reason is not None:
                self.left.extend(LeftAlone(finding, reason) for finding in group)
                continue
            accepting.setdefault(line, []).append(OutputId.parse(output_id))
            kind = Kind.EXPECTED if line is not None else Kind.EXPECTED_FILE
            new = f"{self.prefix}:: {kind.value}({output_id})"
            above = line if line is not None else 1
            self.above.setdefault(above, []).append((OutputId.parse(output_id), new))
            self.changes.append(Change(Action.ADDED, above, None, new))

    def _unwritable(
        self, lines: Lines, line: int | None, output_id: str, group: list[Finding]
    ) -> str | None:
        """Why no annotation can accept these outputs, or None when one can."""
        kind = Kind.EXPECTED if line is not None else Kind.EXPECTED_FILE
        form = parse_form(f"{kind.value}({output_id})")
        odd = any(ch in output_id for ch in " \t(),") or not output_id.partition(":")[0]
        if not isinstance(form, Form) or form.output_id != OutputId.parse(output_id) or odd:
            return f"the id [{output_id}] cannot be written in an annotation"
        if line is None:
            if all(content.strip(TRIM).startswith(self.prefix) for content in lines.contents):
                return "the file has no line that is not a comment for a file-level annotation"
            return None
        if not 1 <= line <= len(lines) or (line == len(lines) and not lines.content(line)):
            return f"line {line} is not in the file"
        trimmed = lines.content(line).strip(TRIM)
        if not trimmed:
            return f"line {line} is blank, so no annotation can target it"
        if trimmed.startswith(self.prefix):
            return f"line {line} is a comment, so an annotation above it would target a later line"
        total = self.runs.get((self.file, line), 1)
        seen = {f.output.run for f in group if f.output is not None and 0 <= f.output.run < total}
        if total > 1 and len(seen) < total:
            return (
                f"output [{output_id}] occurs in {len(seen)} of the {total} passes of line {line}; "
                "an ExpectedOutput there would expect it in every pass"
            )
        return None
