"""The pytest plugin (entry point `pytest11: vfio`): options, configuration, collection.

- Options: `-D key=value` (alias `--define`, repeatable, last wins) after the ini list
  `vfio_defines`; see `harness.options` for the keys. A bad entry is a usage error.
- Backend: each pytest process (the serial session, the xdist controller and each worker) opens
  one backend session as it configures (`harness.sessions.open_backend`; one that cannot be
  loaded is a usage error) and closes it as it unconfigures, on every exit path.
- Scenario roots: the ini option `vfio_scenario_roots` (paths relative to the ini file). A file's
  root is the deepest configured root holding it, else its nearest ancestor folder named
  `scenarios`, else the rootdir. `includeFiles` and `-k` names are relative to that root.
- Collection: every `.vfio` file whose relative path fully matches `includeFiles` is one File
  with one item named for its stem (`scenarios/dma/overlap.vfio::overlap`). A `_fileN` group is
  one item under its first file (`scenarios/dma/pair_file1.vfio::pair`); its other files are
  collected only when named on the command line, then as the group under that file. A group
  collected twice (two of its files named) runs once: its first item is kept and the other is
  reported as deselected (unless `--keep-duplicates`). Collection reads each scenario's
  annotations for its markers and `-k` names (`harness.pytest_plugin.items`).
- Header: the effective options, projects in force and backend, after the collection line,
  only in a session that collected scenarios.
- Bless: `--vfio-bless`, `--vfio-bless-dry-run`, `--vfio-bless-check`,
  `--vfio-bless-known-bugs` (`harness.pytest_plugin.bless`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from harness.discovery import SUFFIX
from harness.options import OptionError, parse_defines
from harness.pytest_plugin import bless
from harness.pytest_plugin.context import RunContext
from harness.pytest_plugin.items import (
    CONTEXT,
    SCENARIO_MARKER,
    SESSION,
    ScenarioFile,
    ScenarioItem,
)
from harness.pytest_plugin.link_cache import NAME as LINKS
from harness.pytest_plugin.link_cache import LinkCache
from harness.pytest_plugin.outcomes import restore
from harness.pytest_plugin.summary import ScenarioSummary
from harness.sessions import BackendError, open_backend
from harness.tags import SUITE_PROJECT

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
    bless.add_options(group)
    parser.addini(
        "vfio_defines", "scenario options as KEY=VALUE lines, before -D", type="linelist"
    )
    parser.addini(
        "vfio_scenario_roots",
        "folders scenario names are relative to (default: nearest 'scenarios' folder)",
        type="paths",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers, validate the options, open the backend, install the summary."""
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    defines = [*config.getini("vfio_defines"), *(config.option.vfio_defines or [])]
    try:
        options = parse_defines(defines)
    except OptionError as err:
        raise pytest.UsageError(str(err)) from None
    bless.configure(config)  # before the backend opens: a usage error opens nothing
    try:
        worker = getattr(config, "workerinput", {}).get("workerid")
        session = open_backend(
            options.backend, options.defaults, options, cwd=config.rootpath, worker=worker
        )
    except BackendError as err:
        message = f"-D backend={err.spec!r}: {err.message}\nhint: {err.hint}"
        raise pytest.UsageError(message) from None
    config.add_cleanup(session.close)
    config.stash[SESSION] = session
    roots = tuple(Path(root).resolve() for root in config.getini("vfio_scenario_roots"))
    config.stash[CONTEXT] = RunContext(
        options,
        # A process backend whose first child failed initialize has no name (yet).
        tuple(project for project in (SUITE_PROJECT, session.name) if project),
        roots,
        config.rootpath.resolve(),
        config.invocation_params.dir.resolve(),
        links=link_cache(config),
        unsupported_fails=options.unsupported_fails,
    )
    if not hasattr(config, "workerinput"):  # the xdist controller (or a serial run) reports
        config.pluginmanager.register(ScenarioSummary(config), "vfio-summary")
        config.pluginmanager.register(XdistParity(config), "vfio-xdist-parity")


def link_cache(config: pytest.Config) -> LinkCache | None:
    """The issue-link cache in pytest's cache folder (none under `-p no:cacheprovider`); it
    is saved as the run ends."""
    cache: pytest.Cache | None = getattr(config, "cache", None)
    if cache is None:
        return None
    links = LinkCache(cache.mkdir("vfio") / LINKS)
    config.add_cleanup(links.save)
    return links


def header(config: pytest.Config) -> list[str]:
    """The effective options, projects in force, backend and scenario roots."""
    context = config.stash[CONTEXT]
    session = config.stash[SESSION]
    roots = ", ".join(str(root) for root in context.roots) or "nearest 'scenarios' folder"
    info = "".join(f", {key}={value}" for key, value in session.info.items())
    # A process backend names its project when its child answers `initialize`; one that could
    # not start has no name yet, and the first scenario fails with the reason.
    nameless = (
        [f"vfio: backend {context.options.backend} has no project name: its process did not "
         "start or did not complete initialize (the first scenario's failure says why)"]
        if not session.name
        else []
    )
    return [
        *(f"vfio: {line}" for line in context.options.describe()),
        f"vfio: projects in force: {', '.join(context.projects)}; scenario roots: {roots}",
        *nameless,
        *([f"vfio: backend {session.name}{info}"] if info else []),
    ]


def pytest_report_collectionfinish(
    config: pytest.Config, items: Sequence[pytest.Item]
) -> list[str]:
    """The header, below the collection line, when scenarios were collected."""
    if shows_header(config) and any(isinstance(item, ScenarioItem) for item in items):
        return header(config)
    return []


def shows_header(config: pytest.Config) -> bool:
    """Whether pytest shows its own header (not under `-q` or `--no-header`)."""
    return config.get_verbosity() >= 0 and not config.getoption("no_header", False)


class XdistParity:
    """What the reporting process does so that a run under pytest-xdist reports as a serial
    one: the controller collects nothing, so it prints the header once, after the first
    worker's collection, when that holds scenarios; a worker sends a failure as text, which
    gets its scenario layout back (`outcomes.restore`)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.printed = False

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: Sequence[str]) -> None:
        """Print the header if these node ids hold a scenario."""
        if self.printed or not shows_header(self.config):
            return
        if not any(is_scenario_id(nodeid) for nodeid in ids):
            return
        self.printed = True
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            for line in header(self.config):
                terminal.write_line(line)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Lay out a scenario failure received as text (before the terminal and junit see it)."""
        if SCENARIO_MARKER in report.keywords:
            restore(report, self.config)


def is_scenario_id(nodeid: str) -> bool:
    """Whether a node id names a scenario item (`path.vfio::name`)."""
    return nodeid.partition("::")[0].endswith(SUFFIX)


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
