"""Rendering results with rich: findings with code frames, scenario lines, summaries.

The only module that imports rich. Renderables are plain objects implementing
`__rich_console__`; each entry point makes one `Console` (`console()`), which owns `NO_COLOR`
and terminal detection. `failure_report` renders to a string for the pytest plugin.

Findings are grouped as Silver's report groups them (additional output, expected but missing,
unexpected but missing, missing but present), then annotation errors and unreadable files.
Each entry is `path:line: id — message`, then a frame of the source around that line.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, TypeAlias

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.syntax import Syntax
from rich.text import Text

from annotations.annotation import IssueRef
from annotations.outcome import Finding, FindingKind, Verdict
from harness.runner import RunResult

Out: TypeAlias = Console  # the console type, for modules that must not import rich

CONTEXT = 1  # lines shown above and below the line concerned
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


def issue_link(ref: IssueRef, template: str | None) -> str:
    """An issue link through the `issueUrl` template (`{project}`, `{issue}`), else as written."""
    if template is None:
        return str(ref)
    return template.format(project=ref.project, issue=ref.number)


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
            self.text,
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
    """One finding: `path:line: id — message`, advice for a stale known bug, a code frame."""

    finding: Finding
    text: str | None
    issue_url: str | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        f = self.finding
        where = f.file if f.line is None else f"{f.file}:{f.line}"
        # One unbroken line, as compilers print `path:line: message`: grep and editors read it.
        header = Text(f"{where}: ", style="bold", no_wrap=True, overflow="ignore")
        header.append(f.id or "-", style="red")
        header.append(f" — {f.message}")
        yield header
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
        for kind, title in _GROUPS:
            group = [f for f in findings if f.kind is kind]
            if not group:
                continue
            yield Text(f"{title}:", style="bold underline")
            for finding in group:
                text = self.result.texts.get(finding.file)
                yield FindingView(finding, text, self.issue_url)


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
