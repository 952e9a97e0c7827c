"""`--vfio-bless` and its companions: bless under pytest, through the same driver as the CLI.

- `--vfio-bless` rewrites each scenario's annotations as its item runs (`harness.bless`); the
  item then reports as a run would with the blessed files (passed, or what no edit fixed).
- `--vfio-bless-dry-run` writes nothing and shows the edits as unified diffs in the summary;
  items report as if the files were written.
- `--vfio-bless-check` writes nothing and fails each scenario whose files would change, showing
  the diff (for CI: the run exits 1).
- `--vfio-bless-known-bugs` applies the known-bug rules too (stale `UnexpectedOutput` removed,
  stale `MissingOutput` turned into `ExpectedOutput`).

Any of the four turns bless on; dry run and check combine (a check that shows the diffs). The
terminal summary's "vfio bless" section says, per file, what changed and what was left alone and
why, then a summary line. Under pytest-xdist (`-n`) bless is a usage error: it writes files and
keeps its report in the process that runs the scenarios, which under xdist are workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the driver runs scenarios: it imports the language, which waits for a bless
    from harness.backend import BackendSession
    from harness.bless import BlessOptions, ScenarioBless
    from harness.discovery import Scenario

OPTIONS = (
    ("--vfio-bless", "vfio_bless", "rewrite scenario annotations to accept what the run does"),
    (
        "--vfio-bless-dry-run",
        "vfio_bless_dry_run",
        "bless without writing: show the edits as unified diffs",
    ),
    (
        "--vfio-bless-check",
        "vfio_bless_check",
        "bless without writing: fail each scenario whose annotations would change (for CI)",
    ),
    (
        "--vfio-bless-known-bugs",
        "vfio_bless_known_bugs",
        "bless known-bug annotations too (stale UnexpectedOutput/MissingOutput)",
    ),
)
KNOWN_BUGS_SWITCH = "--vfio-bless-known-bugs"
BLESS = pytest.StashKey["Blessing"]()


def add_options(group: pytest.OptionGroup) -> None:
    """The four bless switches."""
    for flag, dest, text in OPTIONS:
        group.addoption(flag, action="store_true", dest=dest, default=False, help=text)


def configure(config: pytest.Config) -> None:
    """Set up the run's bless when a switch asks for one (in the stash, and registered for the
    summary); a usage error under pytest-xdist."""
    if not any(config.getoption(dest) for _, dest, _ in OPTIONS):
        return
    from harness.bless import BlessOptions, Mode

    workers = config.getoption("numprocesses", None)
    if workers or config.getoption("dist", "no") != "no" or hasattr(config, "workerinput"):
        shown = f"-n {workers}" if workers else "--dist"
        raise pytest.UsageError(
            f"--vfio-bless cannot run under pytest-xdist ({shown}): bless rewrites scenario files "
            "and reports what it did from the process that runs the scenarios, and under xdist "
            "those are worker processes\n"
            "hint: run it without -n (or with -n 0), or use: python -m harness bless PATH"
        )
    check = config.getoption("vfio_bless_check")
    dry_run = config.getoption("vfio_bless_dry_run")
    mode = Mode.CHECK if check else Mode.DRY_RUN if dry_run else Mode.WRITE
    blessing = Blessing(
        BlessOptions(mode, known_bugs=config.getoption("vfio_bless_known_bugs")), diffs=dry_run
    )
    config.stash[BLESS] = blessing
    config.pluginmanager.register(blessing, "vfio-bless")


class Blessing:
    """Blesses each scenario as its item runs, and writes the report at the end of the run."""

    def __init__(self, options: BlessOptions, *, diffs: bool) -> None:
        from harness.bless import Folders, Mode
        from harness.bless_report import BlessReport

        self.folders = Folders()
        self.options = options
        self.check = options.mode is Mode.CHECK  # a scenario whose files would change fails
        self.diffs = diffs
        self.report = BlessReport(options.mode, options.known_bugs, KNOWN_BUGS_SWITCH)
        self.lines: list[str] = []
        self.patches: list[str] = []

    def bless(
        self,
        scenario: Scenario,
        session: BackendSession,
        *,
        strict: bool,
        unsupported_fails: bool,
    ) -> ScenarioBless:
        """Bless one scenario, keeping its report lines and diffs."""
        from harness.bless import bless_scenario

        blessed = bless_scenario(
            scenario, session, strict=strict, options=self.options, folders=self.folders
        )
        self.lines += self.report.add(blessed, unsupported_fails=unsupported_fails)
        if self.diffs:
            self.patches += [
                file.plan.diff(file.file)
                for file in blessed.files
                if file.edited and file.plan is not None
            ]
        return blessed

    def check_failure(self, blessed: ScenarioBless) -> str:
        """A check's failure text: its first line sums it up (`--tb=line`, `-r`); then a line
        per file that would change, and the diffs."""
        from harness.bless_report import changes

        edited = [file for file in blessed.files if file.edited and file.plan is not None]
        lines = []
        for file in edited:
            lines.append(
                f"{file.file}: bless --check — its annotations would change: "
                f"{changes(file.counts())} (bless with --vfio-bless to write them)"
            )
        patches = "".join(file.plan.diff(file.file) for file in edited if file.plan is not None)
        return "\n".join([lines[0], *lines]) + "\n" + patches

    def pytest_sessionfinish(self) -> None:
        """Flush the folders bless wrote in, once each."""
        self.folders.sync()

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """The "vfio bless" section: the diffs of a dry run, a line per file, the summary."""
        if not self.report.scenarios:
            return
        write = terminalreporter
        write.section("vfio bless")
        for patch in self.patches:
            write.write(patch)
        for line in self.lines:
            write.line(line)
        for line in self.report.hints():
            write.line(line, yellow=True)
        write.line(self.report.summary(), bold=True)

