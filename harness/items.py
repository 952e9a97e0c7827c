"""The collected nodes: one File per scenario file, one Item per scenario.

Collection reads each file once for its issue links (`harness.tags`) and never parses it; an
unreadable file still becomes an item, which fails with the runner's message when it runs.
Running is the runner's job; the item records junit properties and hands the result to
`harness.outcomes`, which turns it into pass, fail, xfail or skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import junit, outcomes
from harness.context import RunContext
from harness.discovery import Scenario
from harness.tags import Tags, scan

CONTEXT = pytest.StashKey[RunContext]()
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
        """The scenario's one item, named and marked from file names and issue links."""
        per_file = tuple(_scan_file(path) for path in self.scenario.files)
        item: ScenarioItem = ScenarioItem.from_parent(
            self, name=self.scenario.name, scenario=self.scenario, per_file=per_file
        )
        yield item


class ScenarioItem(pytest.Item):
    """One scenario run as a test."""

    def __init__(self, *, scenario: Scenario, per_file: tuple[Tags, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.tags = sum(per_file, Tags())
        self.extra_keyword_matches.update(keywords(scenario, self.tags))
        projects = self.config.stash[CONTEXT].projects
        self.add_marker(_SCENARIO)
        if self.tags.known_bug(projects):
            self.add_marker(_KNOWN_BUG)
        # Like the matcher, on all files together (an IgnoreFileList in one ignores them all).
        if self.tags.ignored(projects):
            self.add_marker(_IGNORED)

    def runtest(self) -> None:
        """Run the scenario, record its properties, and settle its outcome."""
        # Imported here, not at the top: `--collect-only` never needs the scenario language.
        from harness.runner import run_scenario

        context = self.config.stash[CONTEXT]
        options = context.options
        result = run_scenario(
            context.for_runner(self.scenario),
            backend=options.backend,
            defaults=options.defaults,
            strict=options.strict,
        )
        junit.record(self, result, options.issue_url)
        outcomes.settle(self, result, options)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        """The Silver-grouped findings for a scenario failure; a traceback for a harness bug."""
        if isinstance(excinfo.value, outcomes.ScenarioFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        """The first file, line 0 (0-based), and the scenario's relative name."""
        return self.scenario.files[0], 0, self.scenario.relpath


def keywords(scenario: Scenario, tags: Tags) -> set[str]:
    """`-k` names: relative paths, file names, stems, directory prefixes and issue tags."""
    names = {scenario.relpath, scenario.name}
    for relpath in scenario.file_relpaths:
        folder, _, filename = relpath.rpartition("/")
        names.update((relpath, filename, filename.removesuffix(".vfio")))
        parts = folder.split("/") if folder else []
        names.update("/".join(parts[: depth + 1]) + "/" for depth in range(len(parts)))
    return names | tags.keywords()


def _scan_file(path: Path) -> Tags:
    """The issue links of one file, read as the runner reads it; an unreadable file has none.

    Like the runner: a leading byte order mark is dropped and bytes that are not UTF-8 are
    replaced (the run reports them as a syntax error but still reads the annotations).
    """
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return Tags()  # it fails with its own message when it runs
    return scan(text.removeprefix("\ufeff"))
