"""The terminal summary of the scenario tests: known issues, the conformance report (for every
backend but the model: `harness.protocol.conformance`), then Silver's count line.

Computed from the reports the controller receives, so a run under pytest-xdist reports the
same as a serial one. A scenario report is recognised by its `vfio_scenario` marker keyword. Each
scenario counts once, at its worst phase: Failed is a failing test call (a failed match, or a
harness bug), Errors a failure in setup or teardown, Known bugs an XFAIL, Skipped an ignored
file. A scenario whose setup passed but whose call never reported (the run was interrupted
while it ran: Ctrl-C, a worker lost) did not run: it counts as "Not run", never as passed.
"""

from __future__ import annotations

import enum
import re
from collections import Counter

import pytest

from harness.discovery import relative
from harness.protocol.conformance import Column, Conformance, area_of
from harness.pytest_plugin.items import CONTEXT, SCENARIO_MARKER, SESSION
from harness.pytest_plugin.junit import ISSUE, UNSUPPORTED
from harness.sessions import MODEL


class Status(enum.Enum):
    """One scenario's end, most severe first (a scenario counts once, at its worst)."""

    FAILED = "Failed"
    ERROR = "Errors"
    KNOWN_BUG = "Known bugs"
    SKIPPED = "Skipped"
    PASSED = "Passed"
    NOT_RUN = "Not run"  # started (its setup passed) but its call never reported


_LABEL = {
    Status.FAILED: "failed",
    Status.ERROR: "error",
    Status.KNOWN_BUG: "xfail",
    Status.SKIPPED: "ignored",
    Status.PASSED: "passed",
    Status.NOT_RUN: "not run",
}


class ScenarioSummary:
    """Collects scenario reports and writes the summary at the end of the run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.status: dict[str, Status] = {}
        self.issues: dict[str, list[str]] = {}  # issue link -> node ids, in report order
        self.unsupported: dict[str, str] = {}  # node id -> the method the backend lacks

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
            elif name == UNSUPPORTED:
                self.unsupported[report.nodeid] = str(value)

    def counts(self) -> str:
        """`Total N, Failed F, Errors E, Passed P, Known bugs K, Skipped S` (and `, Not run
        R` when an interrupted run left scenarios unfinished)."""
        counted = Counter(self.status.values())
        parts = [f"Total {len(self.status)}"]
        parts += [
            f"{status.value} {counted[status]}"
            for status in (
                Status.FAILED, Status.ERROR, Status.PASSED, Status.KNOWN_BUG, Status.SKIPPED
            )
        ]
        if counted[Status.NOT_RUN]:
            parts.append(f"{Status.NOT_RUN.value} {counted[Status.NOT_RUN]}")
        return ", ".join(parts)

    def conformance(self) -> Conformance:
        """The conformance report of the scenarios that ran (for backends but the model)."""
        context = self.config.stash[CONTEXT]
        # A process backend that never started has no project name: name it by its spec.
        report = Conformance(self.config.stash[SESSION].name or context.options.backend)
        for node, status in self.status.items():
            if status is Status.NOT_RUN:
                continue  # it neither passed nor failed on this backend
            column = _COLUMN[status]
            if status is Status.SKIPPED and node in self.unsupported:
                column = Column.UNSUPPORTED
            # The node id's path is relative to the rootdir, on workers and controller alike.
            path = context.rootpath / node.partition("::")[0]
            area = area_of(relative(path, context.root_of(path)))
            report.add(area, column, self.unsupported.get(node))
        return report

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
        if self.config.stash[CONTEXT].options.backend != MODEL:
            for text in self.conformance().lines():
                write.line(text)
        line = self.counts()
        failed = any(s in (Status.FAILED, Status.ERROR) for s in self.status.values())
        write.line(line, red=failed, green=not failed, bold=True)


_COLUMN = {
    Status.FAILED: Column.FAILED,
    Status.ERROR: Column.FAILED,
    Status.KNOWN_BUG: Column.KNOWN_BUG,
    Status.SKIPPED: Column.IGNORED,
    Status.PASSED: Column.PASSED,
}


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
    # A passed setup or teardown says nothing of the scenario: only its call does.
    return Status.PASSED if report.when == "call" else Status.NOT_RUN
