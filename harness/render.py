"""Rendering results with rich: findings with code frames, scenario lines, summaries.

The only module that imports rich. Renderables are plain objects implementing
`__rich_console__`; each entry point makes one `Console` (`console()`), which owns `NO_COLOR`,
terminal detection and the output's encoding. `failure_report` renders to a string for the
pytest plugin.

Findings are grouped as Silver's report groups them (additional output, expected but missing,
unexpected but missing, missing but present), then annotation errors and unreadable files.
Each entry is `path:line: id — message` (`path:line:column: kind — message` and a `hint:` line
for annotation errors and syntax errors), then a frame of the source around that line, its
control and invisible characters escaped. A scenario the backend stopped shows where and why
instead (and, for a crash, the backend's own frames).

Cost: a file's text is split into lines once per report, and a frame renders only the lines it
shows, so a report's time grows with the number of frames, not with their depth in the file.
"""

from __future__ import annotations

import codecs
import io
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, TypeAlias, cast

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.syntax import Syntax
from rich.text import Text

from annotations.annotation import Kind
from annotations.bless import remedy
from annotations.outcome import Finding, FindingKind
from harness.backend import Abort, AbortKind
from harness.runner import RunResult, Status
from harness.scenario import ScenarioSyntaxError
from harness.tags import issue_link, project_applies
from harness.vfio.catalog import ErrorId

Out: TypeAlias = Console  # the console type, for modules that must not import rich

CONTEXT = 1  # lines shown above and below the line concerned
_PARSER_ERROR = ErrorId.PARSER_ERROR.value
_GROUPS: tuple[tuple[FindingKind, str], ...] = (
    (FindingKind.ADDITIONAL_OUTPUT, "Additional output"),
    (FindingKind.EXPECTED_BUT_MISSING, "Expected output but missing"),
    (FindingKind.UNEXPECTED_BUT_MISSING, "Unexpected output but missing (known bug looks fixed)"),
    (FindingKind.MISSING_BUT_PRESENT, "Missing output but present (known bug looks fixed)"),
    (FindingKind.ANNOTATION_ERROR, "Annotation errors"),
    (FindingKind.UNREADABLE, "Unreadable files"),
)
_STATUS_STYLE = {
    Status.PASSED: ("passed", "green"),
    Status.FAILED: ("FAILED", "bold red"),
    Status.KNOWN_BUG: ("known bug", "yellow"),
    Status.IGNORED: ("ignored", "cyan"),
    Status.SKIPPED: ("skipped", "cyan"),
}
_ABORT_LABEL = {
    AbortKind.UNSUPPORTED: "backend unsupported",
    AbortKind.FAULT: "backend fault",
    AbortKind.CRASH: "backend crash",
}
# What an output that cannot encode them shows instead of the non-ASCII characters the
# reports use; anything else not encodable (a file's own text) is shown as a \u escape.
_ASCII = str.maketrans(
    {"—": "-", "–": "-", "❱": ">", "…": "...", "→": "->", "≤": "<=", "≥": ">=", "×": "x",
     "‘": "'", "’": "'", "“": '"', "”": '"', "│": "|", "─": "-"}
)


class AsciiWriter:
    """A text stream over one that cannot encode the reports' characters (say ASCII): writes
    ASCII look-alikes for them, and a backslash escape for any other it cannot encode."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.encoding: str = getattr(stream, "encoding", None) or "ascii"

    def write(self, text: str) -> int:
        """Write `text`, degraded to what the stream can encode."""
        degraded = text.translate(_ASCII)
        safe = degraded.encode(self.encoding, "backslashreplace").decode(self.encoding)
        self.stream.write(safe)
        return len(text)

    def flush(self) -> None:
        """Flush the stream below."""
        self.stream.flush()

    def isatty(self) -> bool:
        """Whether the stream below is a terminal."""
        return bool(getattr(self.stream, "isatty", lambda: False)())


def can_encode(stream: IO[str], sample: str = "—❱…") -> bool:
    """Whether `stream` can write the characters reports use."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        codecs.lookup(encoding)
        sample.encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def console(
    file: IO[str] | None = None, *, color: bool | None = None, width: int | None = None
) -> Console:
    """The one Console of an entry point; `color=None` lets rich decide (tty, NO_COLOR).

    Without color the output is plain text: no styles at all, not even bold. An output that
    cannot encode the reports' characters (`PYTHONIOENCODING=ascii`) gets ASCII look-alikes.
    """
    stream = sys.stdout if file is None else file
    if not can_encode(stream):
        stream = cast(IO[str], AsciiWriter(stream))
    if color is None:
        detected = Console(file=stream, highlight=False, width=width)
        if detected.is_terminal and not detected.no_color:
            return detected
        color = False
    return Console(
        file=stream,
        width=width,
        highlight=False,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        legacy_windows=False,
    )


# Characters a terminal would act on or hide (C0 and C1 controls but tab, DEL, zero-width and
# bidi marks, a BOM, a CR): shown escaped, so a frame shows what the file holds and cannot
# move the cursor, ring a bell or reorder the line.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(line: str) -> str:
    """One line (without its `\\n`) with a CRLF's CR dropped and every invisible or control
    character escaped."""
    return _INVISIBLE.sub(_escape, line.removesuffix("\r"))


@dataclass(frozen=True, slots=True)
class Source:
    """A file's text split into lines once, for any number of frames."""

    lines: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> Source:
        """The lines of `text` (a final newline ends the last line; it starts no new one)."""
        lines = text.split("\n")
        if len(lines) > 1 and lines[-1] == "":
            lines.pop()
        return cls(tuple(lines))


@dataclass(frozen=True, slots=True)
class CodeFrame:
    """Lines around `line` of a source, with line numbers and the line itself marked."""

    source: Source
    line: int

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        count = len(self.source.lines)
        if not 1 <= self.line <= count:
            return
        first, last = max(1, self.line - CONTEXT), min(count, self.line + CONTEXT)
        shown = "\n".join(visible(line) for line in self.source.lines[first - 1 : last])
        yield Syntax(
            shown,
            "text",
            theme="ansi_dark",
            line_numbers=True,
            start_line=first,
            highlight_lines={self.line},
            background_color="default",
            word_wrap=True,
        )


def _header(where: str, label: str, message: str) -> Text:
    # One unbroken line, as compilers print `path:line: message`: grep and editors read it.
    header = Text(f"{where}: ", style="bold", no_wrap=True, overflow="ignore")
    header.append(label, style="red")
    header.append(f" — {message}")
    return header


def _plain(text: str, style: str) -> Text:
    return Text(text, style=style, no_wrap=True, overflow="ignore")


def finding_line(
    finding: Finding, syntax: ScenarioSyntaxError | None = None
) -> tuple[str, str, str, str]:
    """A finding's `(where, label, message, hint)`; an annotation error or a syntax error is
    located at its column and carries its hint ("" when there is none)."""
    if finding.diagnostic is not None:
        d = finding.diagnostic
        return f"{d.file}:{d.line}:{d.column}", d.kind, d.message, d.hint or ""
    label = finding.id or "-"
    if syntax is not None:
        where = f"{syntax.file}:{syntax.line}:{syntax.column}"
        return where, label, syntax.message, syntax.hint or ""
    where = finding.file if finding.line is None else f"{finding.file}:{finding.line}"
    return where, label, finding.message, ""


@dataclass(frozen=True, slots=True)
class FindingView:
    """One finding: `path:line[:column]: id — message`, a hint or advice, a code frame."""

    finding: Finding
    source: Source | None
    issue_url: str | None = None
    syntax: ScenarioSyntaxError | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        where, label, message, hint = finding_line(self.finding, self.syntax)
        yield _header(where, label, message)
        if hint:
            yield _plain(f"hint: {hint}", "cyan")
        advice = stale_advice(self.finding, self.issue_url)
        if advice is not None:
            yield _plain(advice, "yellow")
        if self.source is not None and self.finding.line is not None:
            yield CodeFrame(self.source, self.finding.line)


def stale_advice(finding: Finding, template: str | None) -> str | None:
    """For a stale known bug: which issue looks fixed, and how to update its annotation, in
    the engine's words (`annotations.bless.remedy`: what bless does with its known-bug rules),
    the issue link through the `issueUrl` template."""
    if finding.kind not in (FindingKind.UNEXPECTED_BUT_MISSING, FindingKind.MISSING_BUT_PRESENT):
        return None
    return remedy(finding, link=lambda issue: issue_link(issue, template))


def abort_line(abort: Abort, backend: str) -> tuple[str, str, str]:
    """`(where, label, message)` of a scenario the backend stopped; a crash in a call names
    the backend and the method it raised in."""
    where = f"{abort.file}:{abort.line}" if abort.line else abort.file
    message = abort.message
    if abort.kind is AbortKind.CRASH and abort.method:
        message = f"backend {backend} raised {message} in {abort.method}"
    return where, _ABORT_LABEL[abort.kind], message


@dataclass(frozen=True, slots=True)
class AbortView:
    """Where and why the backend stopped a scenario: the statement, and what it raised."""

    abort: Abort
    backend: str
    source: Source | None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield _header(*abort_line(self.abort, self.backend))
        if self.source is not None and self.abort.line:
            yield CodeFrame(self.source, self.abort.line)
        if self.abort.detail:
            title = "backend frames" if self.abort.kind is AbortKind.CRASH else "backend said"
            yield _plain(f"{title}:", "bold")
            yield Text(self.abort.detail.rstrip("\n"), no_wrap=True, overflow="ignore")


@dataclass(frozen=True, slots=True)
class FailureReport:
    """A result's findings in Silver's groups, each entry with its code frame (or, for a
    scenario the backend stopped, where and why)."""

    result: RunResult
    issue_url: str | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        result = self.result
        sources = {file: Source.of(text) for file, text in result.texts.items()}
        if result.skipped:
            yield _plain(skipped_note(result.skipped), "yellow")
        if result.abort is not None:
            yield AbortView(result.abort, result.backend, sources.get(result.abort.file))
            return
        syntax = {(e.file, e.line): e for e in result.syntax_errors}
        for kind, title in _GROUPS:
            group = [f for f in result.outcome.findings if f.kind is kind]
            if not group:
                continue
            yield Text(f"{title}:", style="bold underline")
            for finding in group:
                error = None
                if finding.output is not None and finding.output.id == _PARSER_ERROR:
                    error = syntax.get((finding.file, finding.line or 0))
                yield FindingView(finding, sources.get(finding.file), self.issue_url, error)


def skipped_note(skipped: Sequence[str]) -> str:
    """What a multi-file failure must say: the files it ran without."""
    names = ", ".join(skipped)
    return (f"note: {names} did not run (ignored for a project in force); the files after it "
            "ran without its statements")


@dataclass(frozen=True, slots=True)
class KnownBugEntry:
    """One known bug in force: the output it gives (UnexpectedOutput) or hides (MissingOutput)."""

    file: str
    line: int | None
    id: str
    message: str

    @property
    def where(self) -> str:
        """`path:line` (`path` for a file-level one)."""
        return self.file if self.line is None else f"{self.file}:{self.line}"


def known_bug_entries(
    result: RunResult, projects: tuple[str, ...], issue_url: str | None = None
) -> list[KnownBugEntry]:
    """The known bugs that make a result a known failure, in file order."""
    entries = []
    for output, annotation in result.outcome.matched:
        if annotation is not None and annotation.issue is not None:
            link = issue_link(annotation.issue, issue_url)
            message = f"{output.message} (known bug {link})" if output.message else link
            entries.append(KnownBugEntry(output.file, output.line, output.id, message))
    for annotation in result.read.annotations:
        issue = annotation.issue
        if annotation.kind not in (Kind.MISSING, Kind.MISSING_FILE) or issue is None:
            continue
        if annotation.file in result.skipped or not project_applies(issue.project, projects):
            continue
        link = issue_link(issue, issue_url)
        entries.append(
            KnownBugEntry(
                annotation.file,
                annotation.target,
                str(annotation.output_id),
                f"should occur but does not (known bug {link})",
            )
        )
    return entries


@dataclass(frozen=True, slots=True)
class KnownBugReport:
    """The known bugs of a result as failures (`--runxfail`): each output a known bug gives,
    and each output a known bug hides, with its code frame."""

    result: RunResult
    projects: tuple[str, ...]
    issue_url: str | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        sources = {file: Source.of(text) for file, text in self.result.texts.items()}
        yield Text("Known bugs (reported as failures by --runxfail):", style="bold underline")
        for entry in known_bug_entries(self.result, self.projects, self.issue_url):
            yield _header(entry.where, entry.id, entry.message)
            if entry.line is not None and entry.file in sources:
                yield CodeFrame(sources[entry.file], entry.line)


def known_bug_line(
    result: RunResult, projects: tuple[str, ...], issue_url: str | None = None
) -> str:
    """One line for a known failure reported as a failure: its first known bug."""
    entries = known_bug_entries(result, projects, issue_url)
    if not entries:
        return f"{result.scenario.relpath}: known bug"
    first = entries[0]
    more = f" (+{len(entries) - 1} more)" if len(entries) > 1 else ""
    return f"{first.where}: {first.id} — {_first_line(first.message)}{more}"


def crash_line(result: RunResult) -> str:
    """One line for a failed result: `path:line: id — message` of its first finding (or of
    where the backend stopped it), with the count of the others."""
    if result.abort is not None:
        where, label, message = abort_line(result.abort, result.backend)
        return f"{where}: {label} — {message}"
    findings = result.outcome.findings
    if not findings:
        return f"{result.scenario.relpath}: failed"
    syntax = {(e.file, e.line): e for e in result.syntax_errors}
    first = findings[0]
    error = syntax.get((first.file, first.line or 0)) if first.id == _PARSER_ERROR else None
    where, label, message, _ = finding_line(first, error)
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    return f"{where}: {label} — {_first_line(message)}{more}"


def _first_line(text: str) -> str:
    return text.partition("\n")[0]


@dataclass(frozen=True, slots=True)
class ScenarioLine:
    """One line per scenario: its status and name, and the issues of a known bug or ignore."""

    result: RunResult
    status: Status
    issue_url: str | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        word, style = _STATUS_STYLE[self.status]
        line = Text(f"{word:<9} ", style=style, no_wrap=True, overflow="ignore")
        line.append(self.result.scenario.relpath)
        issues = self.result.outcome.issues
        if issues:
            links = ", ".join(issue_link(i, self.issue_url) for i in dict.fromkeys(issues))
            line.append(f"  ({links})", style="dim")
        if self.result.abort is not None and self.status is Status.SKIPPED:
            line.append(f"  ({self.result.abort.message})", style="dim")
        yield line


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts of each status, e.g. `61 passed, 1 known bug, 1 ignored`."""

    statuses: tuple[Status, ...]
    stopped: str | None = None  # why the run stopped before its end

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        parts = []
        for status, (word, style) in _STATUS_STYLE.items():
            count = self.statuses.count(status)
            if count:
                parts.append(Text(f"{count} {word.lower()}", style=style))
        text = Text(", ").join(parts) if parts else Text("no scenarios")
        if self.stopped:
            text.append(f" ({self.stopped})", style="bold red")
        yield text


def failure_details(results: Iterable[RunResult], issue_url: str | None = None) -> Group:
    """Each failed result's name and report, for the end of the CLI's run."""
    parts: list[Text | FailureReport] = []
    for result in results:
        parts.append(Text(""))
        parts.append(Text(f"{result.scenario.relpath}", style="bold red"))
        parts.append(FailureReport(result, issue_url))
    return Group(*parts)


def _to_text(renderable: FailureReport | KnownBugReport, color: bool, width: int) -> str:
    buffer = io.StringIO()
    console(buffer, color=color, width=width).print(renderable, crop=False)
    return buffer.getvalue()


def failure_report(
    result: RunResult, *, color: bool = False, width: int = 100, issue_url: str | None = None
) -> str:
    """The findings of a failed result as text (ANSI styles when `color`)."""
    return _to_text(FailureReport(result, issue_url), color, width)


def known_bug_report(
    result: RunResult,
    projects: tuple[str, ...],
    *,
    color: bool = False,
    width: int = 100,
    issue_url: str | None = None,
) -> str:
    """The known bugs of a result as text, for `--runxfail`."""
    return _to_text(KnownBugReport(result, projects, issue_url), color, width)
