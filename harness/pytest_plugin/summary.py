"""The terminal summary of the scenario tests: known issues, then Silver's count line.

Computed from the reports the controller receives, so a run under pytest-xdist reports the
same as a serial one. A scenario report is recognised by its `vfio_scenario` marker keyword. Each
scenario counts once, at its worst phase: Failed is a failing test call (a failed match, or a
harness bug), Errors a failure in setup or teardown, Known bugs an XFAIL, Skipped an ignored
file.
"""

from __future__ import annotations

import enum
import re
from collections import Counter

import pytest

from harness.pytest_plugin.items import SCENARIO_MARKER
from harness.pytest_plugin.junit import ISSUE


class Status(enum.Enum):
    """One scenario's end, most severe first (a scenario counts once, at its worst)."""

    FAILED = "Failed"
    ERROR = "Errors"
    KNOWN_BUG = "Known bugs"
    SKIPPED = "Skipped"
    PASSED = "Passed"


_LABEL = {
    Status.FAILED: "failed",
    Status.ERROR: "error",
    Status.KNOWN_BUG: "xfail",
    Status.SKIPPED: "ignored",
    Status.PASSED: "passed",
}


class ScenarioSummary:
    """Collects scenario reports and writes the summary at the end of the run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.status: dict[str, Status] = {}
        self.issues: dict[str, list[str]] = {}  # issue link -> node ids, in report order

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Fold one phase's report into its scenario's status and issue links."""
        if SCENARIO_MARKER not in report.keywords:
            return
        status = _status(report)
        previous = self.status.get(report.nodeid)
        order = list(Status)
        if previous is None or order.index(status) < order.index(previous):
            self.status[report.nodeid] = status
        for name, value in report.user_properties:
            if name == ISSUE:
                nodes = self.issues.setdefault(str(value), [])
                if report.nodeid not in nodes:
                    nodes.append(report.nodeid)

    def counts(self) -> str:
        """`Total N, Failed F, Errors E, Passed P, Known bugs K, Skipped S`."""
        counted = Counter(self.status.values())
        parts = [f"Total {len(self.status)}"]
        parts += [
            f"{status.value} {counted[status]}"
            for status in (
                Status.FAILED, Status.ERROR, Status.PASSED, Status.KNOWN_BUG, Status.SKIPPED
            )
        ]
        return ", ".join(parts)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """The known-issues table and the count line, when scenarios ran."""
        if not self.status:
            return
        write = terminalreporter
        write.section("vfio scenarios")
        if self.issues:
            width = max(len(link) for link in self.issues)
            write.line("Known issues:")
            for link, nodes in sorted(self.issues.items(), key=lambda item: _natural(item[0])):
                for index, node in enumerate(sorted(nodes)):
                    head = link if index == 0 else ""
                    write.line(f"  {head:<{width}}  {node}  [{_LABEL[self.status[node]]}]")
        line = self.counts()
        failed = any(s in (Status.FAILED, Status.ERROR) for s in self.status.values())
        write.line(line, red=failed, green=not failed, bold=True)


def _natural(text: str) -> tuple[tuple[int, str], ...]:
    """A sort key that orders `/model/issue/3/` before `/model/issue/12/`."""
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", text)
    )


def _status(report: pytest.TestReport) -> Status:
    """The status one phase's report stands for."""
    if hasattr(report, "wasxfail"):
        return Status.KNOWN_BUG if report.skipped else Status.PASSED
    if report.failed:
        return Status.FAILED if report.when == "call" else Status.ERROR
    if report.skipped:
        return Status.SKIPPED
    return Status.PASSED
