"""Bless, driven by a run: rewrite a scenario's annotations to accept what it does now.

`bless_scenario(scenario, session, ...)` reads the scenario's files once (their bytes are kept,
`harness.sources`), runs it, asks the engine (`annotations.bless.plan`) for the edits of each
file, and writes each changed file atomically (`annotations.rewrite.write_atomically`), or with
a dry run or a check only computes them. The CLI's `bless` command and the pytest plugin's
`--vfio-bless` both call it: one engine, one driver.

What the harness adds to the engine's rules:

- a run the backend stopped (a call it cannot run, a fault, a crash), or with a file that
  cannot be read, is never blessed: its outputs say nothing about the annotations;
- an output that is never blessed (`parser.error`, `scenario.error:*`: a typo to fix, not to
  expect) keeps its file from being rewritten (the engine's rule), and every file of the
  scenario that ran after it too: their outputs may follow from the typo;
- a file that did not run (after a syntax error) is not rewritten: its annotations were not
  checked; a file an `IgnoreFile` keeps from running is not touched;
- `after` is the run's outputs matched against the blessed texts (written, or as they would
  be written for a dry run or a check), so a report says what a run would say now.

Writing many files: each file's bytes are flushed to disk before its rename, always; the
folders' flush (which makes the renames durable) can be left to the caller, once per folder at
the end of the whole bless (`Folders`), rather than after every file: a crash in between
leaves some files as they were, whole, never half written.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from annotations.bless import Action, FilePlan, LeftAlone, plan
from annotations.outcome import FindingKind
from annotations.rewrite import Written, sync_folders, write_atomically
from harness.backend import BackendSession
from harness.discovery import Scenario
from harness.runner import RunResult, Status, rematch, run_scenario
from harness.sources import PREFIX, Sources, decode, read_sources
from harness.vfio.catalog import ErrorId

# The outputs a bless never expects: a syntax error, and the checker's family of errors in
# the scenario itself (an undeclared name, a bad option, ...).
_SYNTAX = ErrorId.PARSER_ERROR.value
_SCENARIO_ERRORS = ErrorId.SCENARIO_EVAL.value.partition(":")[0] + ":"


def never_blessed(output_id: str) -> bool:
    """Whether an output is one bless refuses to expect (it says the scenario is wrong)."""
    return output_id == _SYNTAX or output_id.startswith(_SCENARIO_ERRORS)


class Mode(enum.Enum):
    """Whether bless writes what it computes."""

    WRITE = "write"
    DRY_RUN = "dry run"  # show the edits as a diff, write nothing
    CHECK = "check"  # write nothing; anything to change fails (for CI)


class Folders:
    """The folders bless renamed files in, to flush once each when the bless ends."""

    def __init__(self) -> None:
        self.pending: set[str] = set()

    def sync(self) -> None:
        """Flush every folder written in since the last call."""
        sync_folders(self.pending)
        self.pending.clear()


@dataclass(frozen=True, slots=True)
class BlessOptions:
    """How to bless: the mode, and whether the known-bug rules apply (`--bless-known-bugs`)."""

    mode: Mode = Mode.WRITE
    known_bugs: bool = False


class FileState(enum.Enum):
    """What bless did with one file."""

    UNCHANGED = "unchanged"  # nothing to change (it passes, or what fails no edit can fix)
    CHANGED = "changed"  # written
    WOULD_CHANGE = "would change"  # a dry run or a check: the edits, not written
    NOT_WRITTEN = "not written"  # changed on disk since it was read, or the write failed
    NOT_REWRITTEN = "not rewritten"  # refused: see the reason
    IGNORED = "ignored"  # an IgnoreFile for a project in force: not run, not touched


@dataclass(frozen=True, slots=True)
class FileBless:
    """One file's fate: its state, the engine's plan (None when none was made), and why."""

    file: str
    state: FileState
    plan: FilePlan | None = None
    reason: str = ""

    def counts(self) -> dict[Action, int]:
        """How many annotations this file's plan adds, removes and replaces."""
        changes = () if self.plan is None else self.plan.changes
        return {action: sum(c.action is action for c in changes) for action in Action}

    @property
    def left_alone(self) -> tuple[LeftAlone, ...]:
        """The findings no edit fixes, with the engine's reasons."""
        return () if self.plan is None else self.plan.left_alone

    @property
    def edited(self) -> bool:
        """Whether the file was, or in a dry run or a check would be, rewritten."""
        return self.state in (FileState.CHANGED, FileState.WOULD_CHANGE)


@dataclass(frozen=True, slots=True)
class ScenarioBless:
    """What bless did with one scenario.

    `before` is the run; `after` the same outputs matched against the blessed texts (for a dry
    run or a check: as they would be). `stopped` says why nothing of it was blessed.
    """

    before: RunResult
    after: RunResult
    files: tuple[FileBless, ...]
    stopped: str | None = None

    @property
    def edited(self) -> bool:
        """Whether a file was (or would be) rewritten."""
        return any(file.edited for file in self.files)

    def status(self, *, unsupported_fails: bool = False) -> Status:
        """How the scenario ends with its blessed annotations."""
        return self.after.status(unsupported_fails=unsupported_fails)


def bless_scenario(
    scenario: Scenario,
    session: BackendSession,
    *,
    strict: bool = True,
    options: BlessOptions = BlessOptions(),
    folders: Folders | None = None,
) -> ScenarioBless:
    """Run a scenario on a fresh backend of `session` and bless its files (with `folders`,
    the folders written in are flushed by `folders.sync()`, not after each file)."""
    sources = read_sources(scenario)
    result = run_scenario(scenario, session=session, strict=strict, sources=sources)
    return bless_result(result, sources, options, folders)


def bless_result(
    result: RunResult, sources: Sources, options: BlessOptions, folders: Folders | None = None
) -> ScenarioBless:
    """Bless the files of a finished run (`sources`: the files as that run read them)."""
    if result.abort is not None:
        stopped = f"the backend stopped the run: {result.abort.message}"
        return ScenarioBless(result, result, (), stopped)
    if sources.unreadable:
        return ScenarioBless(result, result, (), "a file of the scenario cannot be read")
    ran = [file for file in sources.texts if file not in result.skipped]
    plans = plan(
        [(file, sources.data[file]) for file in ran],
        result.read,
        result.outcome,
        prefix=PREFIX,
        runs=result.runs,
        known_bugs=options.known_bugs,
        never_bless=never_blessed,
        projects=result.projects,
    )
    by_file = dict(zip(ran, plans, strict=True))
    typo = _first_typo(result)
    not_run = {run.file for run in result.files if not run.ran}
    files: list[FileBless] = []
    after: dict[str, FilePlan] = {}
    passed_typo = False
    for file in sources.texts:
        planned = by_file.get(file)
        if planned is None:
            files.append(FileBless(file, FileState.IGNORED))
            continue
        reason = planned.refused
        if reason is None and file in not_run and planned.changed:
            reason = f"it did not run ({_stop(result)}), so its annotations were not checked"
        if reason is None and passed_typo and planned.changed:
            reason = (
                f"it ran after {typo}, which is not rewritten: its outputs may follow from "
                "that file's error"
            )
        passed_typo = passed_typo or file == typo
        if reason is not None:
            files.append(FileBless(file, FileState.NOT_REWRITTEN, planned, reason))
        elif not planned.changed:
            files.append(FileBless(file, FileState.UNCHANGED, planned))
        else:
            files.append(_apply(file, planned, options.mode, folders))
            if files[-1].edited:
                after[file] = planned
    return ScenarioBless(result, _as_blessed(result, after), tuple(files))


def _as_blessed(result: RunResult, plans: dict[str, FilePlan]) -> RunResult:
    """The run's outputs matched against the new texts of the files in `plans`; the outputs
    and the loop lines' run counts follow their lines to where the edits moved them."""
    if not plans:
        return result
    maps = {file: planned.line_map() for file, planned in plans.items()}

    def moved(file: str, line: int) -> int:
        new_line = maps[file](line) if file in maps else line
        assert new_line is not None, "bless removes annotation lines only"
        return new_line

    outputs = tuple(
        replace(output, line=moved(output.file, output.line))
        if output.line is not None
        else output
        for output in result.outputs
    )
    runs = {(file, moved(file, line)): count for (file, line), count in result.runs.items()}
    texts = {file: decode(planned.new, file)[0] for file, planned in plans.items()}
    return rematch(replace(result, outputs=outputs, runs=runs), texts)


def _first_typo(result: RunResult) -> str | None:
    """The first file (in run order) with an output that is never blessed and no annotation
    expects."""
    files = {
        finding.file
        for finding in result.outcome.findings
        if finding.kind is FindingKind.ADDITIONAL_OUTPUT
        and finding.output is not None
        and never_blessed(finding.output.id)
    }
    return next((file for file in result.texts if file in files), None)


def _stop(result: RunResult) -> str:
    """Why files did not run: the first syntax error."""
    if not result.syntax_errors:
        return "an earlier file did not run"
    error = result.syntax_errors[0]
    return f"{error.file}:{error.line} has a syntax error"


def _apply(file: str, planned: FilePlan, mode: Mode, folders: Folders | None) -> FileBless:
    """Write a changed file (in WRITE mode), or record what would be written."""
    if mode is not Mode.WRITE:
        return FileBless(file, FileState.WOULD_CHANGE, planned)
    written = write_atomically(file, planned.old, planned.new, sync_folder=folders is None)
    if written.status is Written.WRITTEN:
        if folders is not None:
            folders.pending.add(written.folder)
        return FileBless(file, FileState.CHANGED, planned)
    if written.status is Written.CHANGED_ON_DISK:
        reason = "it changed on disk since it was read (bless it again)"
    else:
        reason = f"it could not be written: {written.detail}"
    return FileBless(file, FileState.NOT_WRITTEN, planned, reason)
