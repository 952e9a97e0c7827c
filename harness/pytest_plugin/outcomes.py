"""From the matcher's verdict to pytest's outcome, through pytest's own machinery.

- passed: the test passes; under `strict=false` the downgraded annotation findings become
  `AnnotationWarning`s, located at the scenario line.
- failed: `ScenarioFailed`, whose text is the Silver-grouped report (`harness.render`), plain so
  that it survives xdist and dumb terminals.
- known failure: a dynamic `xfail(strict=True)` marker whose reason lists the issue links, then
  `KnownFailure`; pytest's skipping plugin turns that into XFAIL. Under `--runxfail` the
  known-bug annotations are plain expectations, so a known failure passes (stale known bugs
  are failures of the matcher and still fail).
- ignored: a skip at the scenario's location, with the issue links.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pytest

from annotations.annotation import IssueRef
from annotations.outcome import Verdict
from harness.options import RunOptions
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


def settle(item: pytest.Item, result: RunResult, options: RunOptions) -> None:
    """Pass, or raise the pytest outcome the verdict stands for."""
    outcome = result.outcome
    for diagnostic in outcome.warnings:
        hint = f" (hint: {diagnostic.hint})" if diagnostic.hint else ""
        warnings.warn_explicit(
            AnnotationWarning(f"{diagnostic.kind}: {diagnostic.message}{hint}"),
            AnnotationWarning,
            diagnostic.file,
            diagnostic.line,
        )
    if outcome.verdict is Verdict.PASSED:
        return
    if outcome.verdict is Verdict.IGNORED:
        raise pytest.skip.Exception(
            f"ignored: {links(outcome.issues, options.issue_url)}", _use_item_location=True
        )
    if outcome.verdict is Verdict.KNOWN_FAILURE:
        if getattr(item.config.option, "runxfail", False):  # absent under -p no:skipping
            return
        reason = f"known bug: {links(outcome.issues, options.issue_url)}"
        item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
        raise KnownFailure(result, reason)
    raise ScenarioFailed(result, report(result, options))


def links(issues: Iterable[IssueRef], template: str | None) -> str:
    """Issue links, comma-separated, through the `issueUrl` template when there is one."""
    return ", ".join(issue_link(issue, template) for issue in dict.fromkeys(issues))


def report(result: RunResult, options: RunOptions) -> str:
    """The failure text: a one-line count (pytest's `-r` line), then the grouped report."""
    from harness.render import failure_report

    counts = Counter(finding.kind.value for finding in result.outcome.findings)
    headline = ", ".join(f"{number} {kind}" for kind, number in counts.items())
    # Wide enough that no entry wraps: one finding, one line, whatever the terminal.
    body = failure_report(result, color=False, width=REPORT_WIDTH, issue_url=options.issue_url)
    return f"{result.scenario.relpath}: {headline or 'failed'}\n{body}"
