"""The collected nodes: one File per scenario file, one Item per scenario.

Collection reads each scenario's files once, for their annotations only (the scenario language
is never parsed then), as mypy's data tests split their headers: the issue links become `-k`
names (`issue-12`, `model-issue-12`, `/model/issue/12/`) and the `known_bug` and `ignored`
markers, added in the item's constructor through pytest's public `add_marker` and
`extra_keyword_matches`. A file that cannot be read, or whose annotations cannot be read, still
becomes an item: its run reports what is wrong, so it fails on its own and never ends the
session or vanishes from it. The run reads the files afresh (a file edited between collection
and run is run as it is then). The item records junit properties and hands the result to
`outcomes`, which turns it into pass, fail, xfail or skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.backend import BackendSession
from harness.discovery import Scenario
from harness.pytest_plugin import junit, outcomes
from harness.pytest_plugin.bless import BLESS
from harness.pytest_plugin.context import RunContext
from harness.tags import Tags

CONTEXT = pytest.StashKey[RunContext]()
SESSION = pytest.StashKey[BackendSession]()
# The marker every scenario item carries; the summary finds scenario reports by it (a plain
# `vfio` would also match every test below a folder named vfio, since folder names are
# keywords too).
SCENARIO_MARKER = "vfio_scenario"
# Built once: add_marker with a name looks the marker up again for every item.
_SCENARIO = getattr(pytest.mark, SCENARIO_MARKER)
_KNOWN_BUG, _IGNORED = pytest.mark.known_bug, pytest.mark.ignored


class ScenarioFile(pytest.File):
    """A `.vfio` file that holds one scenario (a single file, or the group it starts)."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario

    def collect(self) -> Iterator[ScenarioItem]:
        """The scenario's one item, named after it, with the tags its annotations give."""
        context = self.config.stash[CONTEXT]
        item: ScenarioItem = ScenarioItem.from_parent(
            self, name=self.scenario.name, scenario=self.scenario, tags=context.tags(self.scenario)
        )
        yield item


class ScenarioItem(pytest.Item):
    """One scenario run as a test."""

    def __init__(self, *, scenario: Scenario, tags: Tags | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.tags = tags  # None: the files' annotations could not be read at collection
        self.add_marker(_SCENARIO)
        self.extra_keyword_matches.update(keyword_names(scenario, tags))
        if tags is not None:
            projects = self.config.stash[CONTEXT].projects
            if tags.known_bug(projects):
                self.add_marker(_KNOWN_BUG)
            # Like the matcher, on all files together (an IgnoreFileList in one ignores them all).
            if tags.ignored(projects):
                self.add_marker(_IGNORED)

    def runtest(self) -> None:
        """Run the scenario, record its properties, and settle its outcome."""
        # Imported here, not at the top: `--collect-only` never needs the scenario language.
        from harness.runner import run_scenario

        context = self.config.stash[CONTEXT]
        scenario = context.for_runner(self.scenario)
        session = self.config.stash[SESSION]
        blessing = self.config.stash.get(BLESS, None)
        if blessing is None:
            result = run_scenario(scenario, session=session, strict=context.options.strict)
        else:
            # Outcomes as with the blessed files (as they would be, for a dry run or a check).
            blessed = blessing.bless(
                scenario,
                session,
                strict=context.options.strict,
                unsupported_fails=context.unsupported_fails,
            )
            result = blessed.after
            if blessing.check and blessed.edited:
                junit.record(self, result, context.options.issue_url)
                raise outcomes.ScenarioFailed(result, blessing.check_failure(blessed))
        junit.record(self, result, context.options.issue_url)
        if result.fatal and result.abort is not None:
            # The backend can run no further scenario: stop, rather than fail every one.
            self.session.shouldstop = result.abort.message
        outcomes.settle(self, result, context)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        """The Silver-grouped findings for a scenario failure; a traceback for a harness bug."""
        if isinstance(excinfo.value, outcomes.ScenarioFailed):
            return outcomes.ScenarioRepr.of(str(excinfo.value), self.config)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        """The first file, line 0 (0-based), and the scenario's relative name."""
        return self.scenario.files[0], 0, self.scenario.relpath


def keyword_names(scenario: Scenario, tags: Tags | None) -> set[str]:
    """`-k` names: relative paths, file names, stems, directory prefixes and issue tags."""
    names = {scenario.relpath, scenario.name}
    for relpath in scenario.file_relpaths:
        folder, _, filename = relpath.rpartition("/")
        names.update((relpath, filename, filename.removesuffix(".vfio")))
        parts = folder.split("/") if folder else []
        names.update("/".join(parts[: depth + 1]) + "/" for depth in range(len(parts)))
    return names if tags is None else names | tags.keywords()

