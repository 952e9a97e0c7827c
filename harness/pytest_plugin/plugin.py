"""The pytest plugin (entry point `pytest11: vfio`): options, configuration, collection.

- Options: `-D key=value` (alias `--define`, repeatable, last wins) after the ini list
  `vfio_defines`; see `harness.options` for the keys. A bad entry is a usage error.
- Scenario roots: the ini option `vfio_scenario_roots` (paths relative to the ini file). A file's
  root is the deepest configured root holding it, else its nearest ancestor folder named
  `scenarios`, else the rootdir. `includeFiles` and `-k` names are relative to that root.
- Collection: every `.vfio` file whose relative path fully matches `includeFiles` is one File
  with one item named for its stem (`scenarios/dma/overlap.vfio::overlap`). A `_fileN` group is
  one item under its first file (`scenarios/dma/pair_file1.vfio::pair`); its other files are
  collected only when named on the command line, then as the group under that file. A group
  collected twice (two of its files named) runs once: its first item is kept and the other is
  reported as deselected (unless `--keep-duplicates`).
  Collection reads no file and never parses the scenario language: an item reads its files
  (issue links for `-k issue-12` and the markers) the first time its keywords or markers are
  asked for, and again as its run begins, for the run (`harness.pytest_plugin.items`).
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from harness.discovery import SUFFIX
from harness.options import OptionError, RunOptions, parse_defines
from harness.pytest_plugin.context import RunContext
from harness.pytest_plugin.items import CONTEXT, ScenarioFile, ScenarioItem
from harness.pytest_plugin.summary import ScenarioSummary
from harness.tags import SUITE_PROJECT

MODEL = "model"  # the core model's backend spec, and its project name (scenario-language.md)
MARKERS = (
    "vfio_scenario: a scenario test (one .vfio file or one _fileN group)",
    "known_bug: the scenario has UnexpectedOutput/MissingOutput annotations in force",
    "ignored: the scenario has IgnoreFile/IgnoreFileList annotations in force",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """`-D/--define`, and the ini options `vfio_defines` and `vfio_scenario_roots`."""
    group = parser.getgroup("vfio", "vfio scenarios")
    group.addoption(
        "-D",
        "--define",
        action="append",
        dest="vfio_defines",
        default=[],
        metavar="KEY=VALUE",
        help="scenario option, repeatable, last wins: includeFiles=<regex>, backend=<spec>, "
        "vfio:<option>=<value>, issueUrl=<template>, strict=true|false",
    )
    parser.addini(
        "vfio_defines", "scenario options as KEY=VALUE lines, before -D", type="linelist"
    )
    parser.addini(
        "vfio_scenario_roots",
        "folders scenario names are relative to (default: nearest 'scenarios' folder)",
        type="paths",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers, validate the options and the backend, install the summary."""
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    defines = [*config.getini("vfio_defines"), *(config.option.vfio_defines or [])]
    try:
        options = parse_defines(defines)
    except OptionError as err:
        raise pytest.UsageError(str(err)) from None
    backend_name = _backend_name(options)
    roots = tuple(Path(root).resolve() for root in config.getini("vfio_scenario_roots"))
    config.stash[CONTEXT] = RunContext(
        options,
        (SUITE_PROJECT, backend_name),
        roots,
        config.rootpath.resolve(),
        config.invocation_params.dir.resolve(),
    )
    if not hasattr(config, "workerinput"):  # the xdist controller (or a serial run) reports
        config.pluginmanager.register(ScenarioSummary(config), "vfio-summary")


def _backend_name(options: RunOptions) -> str:
    """The backend's project name; a backend that cannot be built is a usage error."""
    if options.backend == MODEL:
        # The core model needs no check, and importing the runner here would cost every
        # `--collect-only` the scenario language's import time.
        return MODEL
    from harness.runner import BackendError, load_backend

    try:
        return load_backend(options.backend, options.defaults).name
    except BackendError as err:
        hint = f"\nhint: {err.hint}" if err.hint else ""
        raise pytest.UsageError(f"-D backend={err.spec!r}: {err.message}{hint}") from None


def pytest_report_header(config: pytest.Config) -> list[str]:
    """The effective options, projects in force and scenario roots."""
    context = config.stash[CONTEXT]
    roots = ", ".join(str(root) for root in context.roots) or "nearest 'scenarios' folder"
    return [
        *(f"vfio: {line}" for line in context.options.describe()),
        f"vfio: projects in force: {', '.join(context.projects)}; scenario roots: {roots}",
    ]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """One item per scenario: a group collected under two of its files keeps the first."""
    if config.getoption("keepduplicates"):
        return
    seen: set[Path] = set()
    kept: list[pytest.Item] = []
    again: list[pytest.Item] = []
    for item in items:
        if isinstance(item, ScenarioItem):
            first = item.scenario.files[0]
            if first in seen:
                again.append(item)
                continue
            seen.add(first)
        kept.append(item)
    if again:
        config.hook.pytest_deselected(items=again)
        items[:] = kept


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """A scenario reads its files as its run begins, once for its markers and its run."""
    if not isinstance(item, ScenarioItem):
        return (yield)
    item.read_for_run()
    try:
        return (yield)
    finally:
        item.forget_sources()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
    """A `.vfio` file that starts an included scenario (or is named on the command line)."""
    if file_path.suffix != SUFFIX:
        return None
    context = parent.config.stash[CONTEXT]
    scenarios = context.scenarios_in(file_path.parent)
    scenario = scenarios.get(file_path)
    if scenario is None:
        # A later member of a group, or a file includeFiles leaves out.
        scenario = next((s for s in scenarios.values() if file_path in s.files), None)
        if scenario is None or not parent.session.isinitpath(file_path):
            return None
    file: ScenarioFile = ScenarioFile.from_parent(parent, path=file_path, scenario=scenario)
    return file
