"""From a scenario's result to pytest's outcome, through pytest's own machinery.

- passed: the test passes; under `strict=false` the downgraded annotation findings become
  `AnnotationWarning`s, located at the scenario line.
- failed: `ScenarioFailed`, whose text is a one-line summary (`path:line: id — message` of the
  first finding) and the Silver-grouped report (`harness.render`), plain so that it survives
  xdist and dumb terminals. A scenario the backend broke down or crashed in fails the same way,
  showing where and why (for a crash, the backend's own frames), never a harness traceback.
- known failure: a dynamic `xfail(strict=True)` marker whose reason lists the issue links, then
  `KnownFailure`; pytest's skipping plugin turns that into XFAIL. `--runxfail` means, as in
  pytest, "report as if not marked": a known bug that still occurs fails, showing the outputs
  the known bugs give or hide.
- ignored: a skip at the scenario's location, with the issue links; a scenario making a call
  the backend cannot run is skipped with the reason.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from annotations.annotation import IssueRef
from harness.pytest_plugin.context import RunContext
from harness.tags import issue_link

if TYPE_CHECKING:
    from harness.runner import RunResult

REPORT_WIDTH = 400


class AnnotationWarning(UserWarning):
    """An annotation finding beyond Silver's, downgraded to a warning by `strict=false`."""


class ScenarioFailed(Exception):
    """A scenario whose outputs do not match its annotations; `str()` is the report."""

    def __init__(self, result: RunResult, report: str) -> None:
        super().__init__(report)
        self.result = result


class KnownFailure(ScenarioFailed):
    """A scenario that fails only as its known-bug annotations say (reported as XFAIL)."""


def settle(item: pytest.Item, result: RunResult, context: RunContext) -> None:
    """Pass, or raise the pytest outcome the result stands for."""
    from harness.runner import Status

    options = context.options
    outcome = result.outcome
    for diagnostic in outcome.warnings:
        hint = f" (hint: {diagnostic.hint})" if diagnostic.hint else ""
        warnings.warn_explicit(
            AnnotationWarning(f"{diagnostic.kind}: {diagnostic.message}{hint}"),
            AnnotationWarning,
            diagnostic.file,
            diagnostic.line,
        )
    status = result.status(unsupported_fails=context.unsupported_fails)
    if status is Status.PASSED:
        return
    if status is Status.SKIPPED:
        assert result.abort is not None
        raise pytest.skip.Exception(result.abort.message, _use_item_location=True)
    if status is Status.IGNORED:
        raise pytest.skip.Exception(
            f"ignored: {links(outcome.issues, options.issue_url)}", _use_item_location=True
        )
    if status is Status.KNOWN_BUG:
        reason = f"known bug: {links(outcome.issues, options.issue_url)}"
        if getattr(item.config.option, "runxfail", False):  # absent under -p no:skipping
            raise ScenarioFailed(result, known_bug_text(result, context))
        item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
        raise KnownFailure(result, reason)
    raise ScenarioFailed(result, report(result, options.issue_url))


def links(issues: Iterable[IssueRef], template: str | None) -> str:
    """Issue links, comma-separated, through the `issueUrl` template when there is one."""
    return ", ".join(issue_link(issue, template) for issue in dict.fromkeys(issues))


def report(result: RunResult, issue_url: str | None) -> str:
    """The failure text: its one-line summary, then the grouped report."""
    from harness.render import crash_line, failure_report

    # Wide enough that no entry wraps: one finding, one line, whatever the terminal.
    body = failure_report(result, color=False, width=REPORT_WIDTH, issue_url=issue_url)
    first = crash_line(result)
    # The report of a stopped scenario starts with that same line: it is not said twice.
    return body if body.startswith(f"{first}\n") else f"{first}\n{body}"


def known_bug_text(result: RunResult, context: RunContext) -> str:
    """A known failure reported as a failure (`--runxfail`): the outputs of its known bugs."""
    from harness.render import known_bug_line, known_bug_report

    issue_url = context.options.issue_url
    body = known_bug_report(result, context.projects, width=REPORT_WIDTH, issue_url=issue_url)
    return f"{known_bug_line(result, context.projects, issue_url)}\n{body}"


@dataclass(frozen=True, slots=True)
class CrashLine:
    """A failure's one line, `path:line: id — message`, for `--tb=line`, `-r` and junit."""

    text: str

    @property
    def message(self) -> str:
        """What follows the location: `id — message` (pytest's `-r` summary shows it)."""
        where, sep, rest = self.text.partition(": ")
        return rest if sep else where

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class ScenarioRepr:
    """A scenario failure as pytest shows it: the report, or under `--tb=line` nothing but its
    first line (`reprcrash`, which pytest prints there, in `-r` lines and in junit messages).

    pytest-xdist sends failures to the controller as text; `restore` turns that text back into
    this form there, so that a parallel run reports as a serial one does.
    """

    text: str
    line_only: bool

    @classmethod
    def of(cls, text: str, config: pytest.Config) -> ScenarioRepr:
        """The failure text, laid out for the run's `--tb` style."""
        return cls(text, config.getoption("tbstyle", "auto") == "line")

    @property
    def reprcrash(self) -> CrashLine:
        """The first line of the report."""
        return CrashLine(self.text.partition("\n")[0])

    def toterminal(self, out: Any) -> None:
        """Write the report (nothing under `--tb=line`: pytest writes `reprcrash` itself)."""
        if not self.line_only:
            out.line(self.text.rstrip("\n"))

    def __str__(self) -> str:
        return self.text


def restore(report: pytest.TestReport, config: pytest.Config) -> None:
    """A scenario failure received as text (from an xdist worker) gets its ScenarioRepr back."""
    if report.failed and isinstance(report.longrepr, str) and report.when == "call":
        report.longrepr = ScenarioRepr.of(report.longrepr, config)  # type: ignore[assignment]
