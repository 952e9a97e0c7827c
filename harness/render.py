"""Rendering results with rich: findings with code frames, scenario lines, summaries.

The only module that imports rich. Renderables are plain objects implementing
`__rich_console__`; each entry point makes one `Console` (`console()`), which owns `NO_COLOR`
and terminal detection. `failure_report` renders to a string for the pytest plugin.

Findings are grouped as Silver's report groups them (additional output, expected but missing,
unexpected but missing, missing but present), then annotation errors and unreadable files.
Each entry is `path:line: id — message` (`path:line:column: kind — message` and a `hint:` line
for annotation errors and syntax errors), then a frame of the source around that line, its
control and invisible characters escaped.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, TypeAlias

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.syntax import Syntax
from rich.text import Text

from annotations.outcome import Finding, FindingKind, Verdict
from harness.runner import RunResult
from harness.scenario import ScenarioSyntaxError
from harness.tags import issue_link
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
_VERDICT_STYLE = {
    Verdict.PASSED: ("passed", "green"),
    Verdict.FAILED: ("FAILED", "bold red"),
    Verdict.KNOWN_FAILURE: ("known bug", "yellow"),
    Verdict.IGNORED: ("ignored", "cyan"),
}


def console(
    file: IO[str] | None = None, *, color: bool | None = None, width: int | None = None
) -> Console:
    """The one Console of an entry point; `color=None` lets rich decide (tty, NO_COLOR).

    Without color the output is plain text: no styles at all, not even bold.
    """
    if color is None:
        detected = Console(file=file, highlight=False, width=width)
        if detected.is_terminal and not detected.no_color:
            return detected
        color = False
    return Console(
        file=file,
        width=width,
        highlight=False,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        legacy_windows=False,
    )


# Characters a terminal would act on or hide (C0 and C1 controls but tab and newline, a CR not
# ending a line, DEL, zero-width and bidi marks, a BOM): shown escaped, so a frame shows what
# the file holds and cannot move the cursor, ring a bell or reorder the line.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]|\r(?!\n)"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with CRLF read as a line end and every invisible or control character escaped."""
    return _INVISIBLE.sub(_escape, text.replace("\r\n", "\n"))


@dataclass(frozen=True, slots=True)
class CodeFrame:
    """Lines around `line` of `text`, with line numbers and the line itself marked."""

    text: str
    line: int

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        count = self.text.count("\n") + (0 if self.text.endswith("\n") else 1)
        if not 1 <= self.line <= max(count, 1):
            return
        yield Syntax(
            visible(self.text),
            "text",
            theme="ansi_dark",
            line_numbers=True,
            line_range=(max(1, self.line - CONTEXT), min(count, self.line + CONTEXT)),
            highlight_lines={self.line},
            background_color="default",
            word_wrap=True,
        )


@dataclass(frozen=True, slots=True)
class FindingView:
    """One finding: `path:line[:column]: id — message`, a hint or advice, a code frame.

    An annotation error shows its diagnostic's column, kind and hint (`did you mean …`); an
    unexpected `parser.error` shows the syntax error's column, message and hint.
    """

    finding: Finding
    text: str | None
    issue_url: str | None = None
    syntax: ScenarioSyntaxError | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        f = self.finding
        where = f.file if f.line is None else f"{f.file}:{f.line}"
        label, message, hint = f.id or "-", f.message, None
        if f.diagnostic is not None:
            d = f.diagnostic
            where, label, message, hint = f"{d.file}:{d.line}:{d.column}", d.kind, d.message, d.hint
        elif self.syntax is not None:
            e = self.syntax
            where, message, hint = f"{e.file}:{e.line}:{e.column}", e.message, e.hint
        # One unbroken line, as compilers print `path:line: message`: grep and editors read it.
        header = Text(f"{where}: ", style="bold", no_wrap=True, overflow="ignore")
        header.append(label, style="red")
        header.append(f" — {message}")
        yield header
        if hint is not None:
            yield Text(f"hint: {hint}", style="cyan", no_wrap=True, overflow="ignore")
        advice = stale_advice(f, self.issue_url)
        if advice is not None:
            yield Text(advice, style="yellow", no_wrap=True, overflow="ignore")
        if self.text is not None and f.line is not None:
            yield CodeFrame(self.text, f.line)


def stale_advice(finding: Finding, template: str | None) -> str | None:
    """For a stale known bug: which issue looks fixed, and which annotation to remove."""
    if finding.kind not in (FindingKind.UNEXPECTED_BUT_MISSING, FindingKind.MISSING_BUT_PRESENT):
        return None
    annotation = finding.annotation
    if annotation is None or annotation.issue is None:
        return None
    return (
        f"stale known bug: {issue_link(annotation.issue, template)} looks fixed; remove "
        f"`//:: {annotation.kind.value}({annotation.output_id}, {annotation.issue})` "
        f"at {annotation.file}:{annotation.line}"
    )


@dataclass(frozen=True, slots=True)
class FailureReport:
    """A result's findings in Silver's groups, each entry with its code frame."""

    result: RunResult
    issue_url: str | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        findings = self.result.outcome.findings
        syntax = {(e.file, e.line): e for e in self.result.syntax_errors}
        for kind, title in _GROUPS:
            group = [f for f in findings if f.kind is kind]
            if not group:
                continue
            yield Text(f"{title}:", style="bold underline")
            for finding in group:
                text = self.result.texts.get(finding.file)
                error = None
                if finding.output is not None and finding.output.id == _PARSER_ERROR:
                    error = syntax.get((finding.file, finding.line or 0))
                yield FindingView(finding, text, self.issue_url, error)


@dataclass(frozen=True, slots=True)
class ScenarioLine:
    """One line per scenario: its verdict and name, and the issues of a known bug."""

    result: RunResult
    issue_url: str | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        outcome = self.result.outcome
        word, style = _VERDICT_STYLE[outcome.verdict]
        line = Text(f"{word:<9} ", style=style, no_wrap=True, overflow="ignore")
        line.append(self.result.scenario.relpath)
        if outcome.issues:
            links = ", ".join(issue_link(i, self.issue_url) for i in dict.fromkeys(outcome.issues))
            line.append(f"  ({links})", style="dim")
        yield line


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts of each verdict, e.g. `61 passed, 1 known bug, 1 ignored`."""

    verdicts: tuple[Verdict, ...]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        parts = []
        for verdict, (word, style) in _VERDICT_STYLE.items():
            count = self.verdicts.count(verdict)
            if count:
                parts.append(Text(f"{count} {word.lower()}", style=style))
        yield Text(", ").join(parts) if parts else Text("no scenarios")


def run_report(results: Iterable[RunResult], issue_url: str | None = None) -> Group:
    """The CLI's report: a line per scenario, the failures in detail, a summary."""
    results = list(results)
    parts: list[ScenarioLine | FailureReport | Text | Summary] = [
        ScenarioLine(r, issue_url) for r in results
    ]
    for result in results:
        if result.outcome.verdict is Verdict.FAILED:
            parts.append(Text(""))
            parts.append(Text(f"{result.scenario.relpath}", style="bold red"))
            parts.append(FailureReport(result, issue_url))
    parts.append(Text(""))
    parts.append(Summary(tuple(r.outcome.verdict for r in results)))
    return Group(*parts)


def failure_report(
    result: RunResult, *, color: bool = False, width: int = 100, issue_url: str | None = None
) -> str:
    """The findings of a failed result as text (ANSI styles when `color`)."""
    buffer = io.StringIO()
    console(buffer, color=color, width=width).print(FailureReport(result, issue_url), crop=False)
    return buffer.getvalue()
