"""Junit properties of a scenario: its issue links, the output ids it matched, and the method
the backend could not run when it was skipped for that (the conformance report reads it).

Written as `user_properties`, so `--junitxml` emits them as `<property>` elements of the
testcase and pytest-xdist carries them from the workers to the controller (the terminal
summary reads them back from the reports).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from annotations.outcome import FindingKind
from harness.backend import AbortKind
from harness.tags import issue_link

if TYPE_CHECKING:
    from harness.runner import RunResult

ISSUE = "issue"
MATCHED = "matched"
UNSUPPORTED = "unsupported"  # the Backend method the backend could not run
_STALE = (FindingKind.UNEXPECTED_BUT_MISSING, FindingKind.MISSING_BUT_PRESENT)


def record(item: pytest.Item, result: RunResult, template: str | None) -> None:
    """Add `issue` (known bugs, ignores, stale bugs), `matched` (ids) and `unsupported`."""
    issues = list(result.outcome.issues)
    issues += [
        finding.annotation.issue
        for finding in result.outcome.findings
        if finding.kind in _STALE and finding.annotation and finding.annotation.issue
    ]
    for issue in dict.fromkeys(issues):
        item.user_properties.append((ISSUE, issue_link(issue, template)))
    for output_id in dict.fromkeys(output.id for output, _ in result.outcome.matched):
        item.user_properties.append((MATCHED, output_id))
    if result.abort is not None and result.abort.kind is AbortKind.UNSUPPORTED:
        item.user_properties.append((UNSUPPORTED, result.abort.method))
