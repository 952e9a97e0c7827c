"""The collected nodes: one File per scenario file, one Item per scenario.

Collection names the items from file names alone and reads no file: a scenario's issue links
(`harness.tags`: `-k issue-12`, the `known_bug` and `ignored` markers) are read from its files
the first time pytest asks the item for its keywords or markers: when `-k` or `-m` selects,
when a plugin looks at them, or at the latest when the item runs. So `--collect-only` and a run
without `-k`/`-m` never read a file during collection. When the item's run begins
(`read_for_run`, from the plugin's `pytest_runtest_protocol`), its files are read afresh, for
its markers if nothing has asked yet and for the run, so that a plain run reads each file once
and a run never uses text read earlier. An unreadable file still becomes an
item, which fails with the runner's message when it runs. Running is the runner's job; the
item records junit properties and hands the result to `outcomes`, which turns it into pass,
fail, xfail or skip.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from harness.discovery import Scenario
from harness.pytest_plugin import junit, outcomes
from harness.pytest_plugin.context import RunContext
from harness.sources import Sources, read_sources
from harness.tags import Tags

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
        """The scenario's one item, named after it (its tags are read when first needed)."""
        item: ScenarioItem = ScenarioItem.from_parent(
            self, name=self.scenario.name, scenario=self.scenario
        )
        yield item


class ScenarioItem(pytest.Item):
    """One scenario run as a test."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        # Set before pytest's __init__, which sets the three properties below.
        self._tags: Tags | None = None
        self._named = False  # whether the `-k` names are in extra_keyword_matches
        # The files as read when the run began, with the scenario they were read as.
        self._sources: tuple[Scenario, Sources] | None = None
        super().__init__(**kwargs)
        self.scenario = scenario

    # pytest's Node sets these three public attributes in its __init__ and reads them to select
    # (`-k`, `-m`), to evaluate markers and to build reports. Reading any of them first reads
    # the scenario's tags (`_load_tags`), and the `-k` names for extra_keyword_matches; setting
    # them is plain.
    @property
    def keywords(self) -> MutableMapping[str, Any]:
        """pytest's keyword mapping, with the scenario's markers once its tags are read."""
        self._load_tags()
        return self.__dict__["keywords"]  # type: ignore[no-any-return]

    @keywords.setter
    def keywords(self, value: MutableMapping[str, Any]) -> None:
        self.__dict__["keywords"] = value

    @property
    def own_markers(self) -> list[pytest.Mark]:
        """The item's markers: `vfio_scenario`, and `known_bug`/`ignored` from its tags."""
        self._load_tags()
        return self.__dict__["own_markers"]  # type: ignore[no-any-return]

    @own_markers.setter
    def own_markers(self, value: list[pytest.Mark]) -> None:
        self.__dict__["own_markers"] = value

    @property
    def extra_keyword_matches(self) -> set[str]:
        """The `-k` names: relative paths, file names, stems, folders and issue tags."""
        names: set[str] = self.__dict__["extra_keyword_matches"]
        if not self._named:
            self._named = True
            names.update(keyword_names(self.scenario, self.tags))
        return names

    @extra_keyword_matches.setter
    def extra_keyword_matches(self, value: set[str]) -> None:
        self.__dict__["extra_keyword_matches"] = value

    @property
    def tags(self) -> Tags:
        """The issue links of the scenario's files (read on first use)."""
        self._load_tags()
        assert self._tags is not None
        return self._tags

    def read_for_run(self) -> None:
        """Read the files for the run about to begin (and for the tags, if not read yet)."""
        try:
            scenario = self.config.stash[CONTEXT].for_runner(self.scenario)
            sources = read_sources(scenario)
        except Exception:  # outside setup, call and teardown an error would end the session
            return  # `runtest` reads again, inside the call, where an error fails this item only
        self._sources = (scenario, sources)
        if self._tags is None:
            self._set_tags(Tags(sources.read))

    def forget_sources(self) -> None:
        """Drop the files read for the run (the run is over, or never came)."""
        self._sources = None

    def _load_tags(self) -> None:
        """Read the files' issue links once."""
        if self._tags is None:
            scenario = self.config.stash[CONTEXT].for_runner(self.scenario)
            self._set_tags(Tags(read_sources(scenario).read))

    def _set_tags(self, tags: Tags) -> None:
        """Keep the tags; add the markers they imply."""
        self._tags = tags
        projects = self.config.stash[CONTEXT].projects
        self.add_marker(_SCENARIO)
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
        options = context.options
        kept, self._sources = self._sources, None
        scenario, sources = kept if kept else (context.for_runner(self.scenario), None)
        result = run_scenario(
            scenario,
            backend=options.backend,
            defaults=options.defaults,
            strict=options.strict,
            sources=sources,
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


def keyword_names(scenario: Scenario, tags: Tags) -> set[str]:
    """`-k` names: relative paths, file names, stems, directory prefixes and issue tags."""
    names = {scenario.relpath, scenario.name}
    for relpath in scenario.file_relpaths:
        folder, _, filename = relpath.rpartition("/")
        names.update((relpath, filename, filename.removesuffix(".vfio")))
        parts = folder.split("/") if folder else []
        names.update("/".join(parts[: depth + 1]) + "/" for depth in range(len(parts)))
    return names | tags.keywords()

