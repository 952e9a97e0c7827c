"""Per-run state of the pytest plugin: options, projects in force, scenario roots, tags.

Kept free of pytest so that it can be built and tested on its own; the plugin builds one per
session and keeps it in the config's stash.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from harness.discovery import SUFFIX, Scenario, group, relative, scenario_root
from harness.options import RunOptions
from harness.sources import read_sources
from harness.tags import Tags


@dataclass(frozen=True)
class RunContext:
    """Per-run state of the plugin: effective options, projects in force, scenario roots."""

    options: RunOptions
    projects: tuple[str, ...]
    roots: tuple[Path, ...]
    rootpath: Path
    invocation_dir: Path
    unsupported_fails: bool = False  # a call the backend cannot run fails its scenario
    # folder -> {first file of each scenario: scenario}; filled lazily during collection.
    _folders: dict[Path, dict[Path, Scenario]] = field(default_factory=dict)

    def root_of(self, path: Path) -> Path:
        """The scenario root of a file."""
        return scenario_root(path, self.roots, self.rootpath)

    def for_runner(self, scenario: Scenario) -> Scenario:
        """The scenario with paths relative to the invocation folder, so reports show short
        paths (`scenarios/dma/overlap.vfio:3`); absolute when outside it or after a chdir."""
        base = self.invocation_dir
        try:
            here = os.getcwd()
        except OSError:  # the working folder was removed (by a test, say)
            return scenario
        if here != str(base):
            return scenario
        prefix = str(base) + os.sep
        root = str(scenario.root) + os.sep
        if not root.startswith(prefix) or not all(
            str(path).startswith(prefix) for path in scenario.files
        ):
            return scenario
        files = tuple(Path(str(path)[len(prefix) :]) for path in scenario.files)
        return Scenario(scenario.name, files, Path(root[len(prefix) :] or "."))

    def tags(self, scenario: Scenario) -> Tags | None:
        """The tags of a scenario's files; None when its annotations cannot be read at all."""
        try:
            return Tags(read_sources(scenario).read)
        except Exception:  # a reader bug fails this item when it runs, not the collection
            return None

    def scenarios_in(self, folder: Path) -> dict[Path, Scenario]:
        """The included scenarios of one folder, by the path of their first file."""
        found = self._folders.get(folder)
        if found is None:
            root = self.root_of(folder / "_")
            paths = [
                path
                for path in folder.iterdir()
                if path.suffix == SUFFIX and self.options.includes(relative(path, root))
            ]
            found = {scenario.files[0]: scenario for scenario in group(paths, root)}
            self._folders[folder] = found
        return found
