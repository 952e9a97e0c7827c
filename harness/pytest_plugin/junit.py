"""Junit properties of a scenario: its issue links and the output ids it matched.

Written as `user_properties`, so `--junitxml` emits them as `<property>` elements of the
testcase and pytest-xdist carries them from the workers to the controller (the terminal
summary reads them back from the reports).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from annotations.outcome import FindingKind
from harness.tags import issue_link

if TYPE_CHECKING:
    from harness.runner import RunResult

ISSUE = "issue"
MATCHED = "matched"
_STALE = (FindingKind.UNEXPECTED_BUT_MISSING, FindingKind.MISSING_BUT_PRESENT)


def record(item: pytest.Item, result: RunResult, template: str | None) -> None:
    """Add `issue` (known bugs, ignores, stale bugs) and `matched` (ids) properties."""
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
