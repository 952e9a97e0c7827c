"""Running one scenario end to end: read annotations, parse, check, run, match.

Shared by the CLI (`python -m harness run`) and the pytest plugin, whose items call it:

- `run_scenario(scenario, session=...)` runs it on `session.fresh()` (a session per run comes
  from `harness.sessions.open_backend`). It never raises for a bad scenario: an unreadable file
  becomes a FAILED outcome with an UNREADABLE finding; a syntax error (also bytes that are not
  UTF-8, at the first bad one) is a `parser.error` output; a backend that cannot give a fresh
  backend, or stops the run, is the result's `abort`. It reads the files itself
  (`harness.sources`) unless given the sources already read.

Multi-file scenarios: a file ignored (`IgnoreFile` for a project in force) is neither parsed nor
run; the other files run as if it were absent. The rest is the scenario language's
`harness.scenario.execute` (parse every file, then check and run them in order on one state;
a file with a syntax error, and every file after it, does not run: the findings of their
annotations say so). A file without a statement gets an `EmptyScenario` finding (a warning
under `strict=false`), as the other checks that go beyond Silver.

`rematch(result, texts)` matches a finished run's outputs against other texts of its files
(what bless has made of them), without running anything again.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field, replace

from annotations import ignored_files, match
from annotations.annotation import Output, ReadResult
from annotations.outcome import FindingKind, Outcome, Verdict
from harness.backend import (
    Abort,
    AbortKind,
    BackendFault,
    BackendSession,
    CoreDefaults,
    Unsupported,
)
from harness.discovery import Scenario
from harness.scenario import FileRun, ScenarioSyntaxError, execute
from harness.sessions import MODEL, BackendError, open_backend
from harness.sources import Sources, empty_file, read_annotations, read_sources
from harness.tags import SUITE_PROJECT

_NOT_OCCURRED = (FindingKind.EXPECTED_BUT_MISSING, FindingKind.UNEXPECTED_BUT_MISSING)


class Status(enum.Enum):
    """How a scenario ended, as the reports count it (a known bug and a skip are no failure)."""

    PASSED = "passed"
    FAILED = "failed"
    KNOWN_BUG = "known bug"
    IGNORED = "ignored"  # every file ignored by an IgnoreFile for a project in force
    SKIPPED = "skipped"  # the backend cannot run a call the scenario makes


@dataclass(frozen=True, slots=True)
class RunResult:
    """A scenario's outputs, its annotations, and the matcher's outcome.

    `abort` is set when the backend stopped the scenario before its end (it could not run a
    call, broke down, or crashed): its outputs so far are kept but not matched, and `outcome` is
    a failure without findings. `skipped` are the files not run because an IgnoreFile for a
    project in force names them.
    """

    scenario: Scenario
    outputs: tuple[Output, ...]
    read: ReadResult
    outcome: Outcome
    texts: dict[str, str]  # file (as in outputs) -> text, for code frames
    # The syntax errors behind the `parser.error` outputs, for their column and hint.
    syntax_errors: tuple[ScenarioSyntaxError, ...] = ()
    # What became of each file run (a file after a syntax error did not run; empty files).
    files: tuple[FileRun, ...] = ()
    abort: Abort | None = None
    backend: str = MODEL  # the backend's project name, for messages
    skipped: tuple[str, ...] = ()
    fatal: bool = False  # the backend cannot run any further scenario: stop the run
    strict: bool = True  # as the outcome was matched
    # How many times each line in a loop ran (absent: once), as `annotations.match` takes it.
    runs: Mapping[tuple[str, int], int] = field(default_factory=dict)

    @property
    def projects(self) -> tuple[str, str]:
        """The projects in force for this run: the backend's and the suite's."""
        return (self.backend, SUITE_PROJECT)

    def status(self, *, unsupported_fails: bool = False) -> Status:
        """The scenario's end; a call the backend cannot run fails it when `unsupported_fails`."""
        if self.abort is not None:
            skip = self.abort.kind is AbortKind.UNSUPPORTED and not unsupported_fails
            return Status.SKIPPED if skip else Status.FAILED
        return _STATUS[self.outcome.verdict]


_STATUS = {
    Verdict.PASSED: Status.PASSED,
    Verdict.FAILED: Status.FAILED,
    Verdict.KNOWN_FAILURE: Status.KNOWN_BUG,
    Verdict.IGNORED: Status.IGNORED,
}


def run_scenario(
    scenario: Scenario,
    *,
    session: BackendSession | None = None,
    defaults: CoreDefaults | None = None,
    strict: bool = True,
    sources: Sources | None = None,
) -> RunResult:
    """Run one scenario on a fresh backend of `session` and match its outputs.

    Without a session, the run opens the model with `defaults` for this one scenario.
    `sources` are the scenario's files as already read (`harness.sources.read_sources` of this
    same scenario); by default they are read here.
    """
    if session is None:
        with closing(open_backend(MODEL, defaults or CoreDefaults())) as model:
            return run_scenario(scenario, session=model, strict=strict, sources=sources)
    if sources is None:
        sources = read_sources(scenario)
    texts, read = sources.texts, sources.read
    if sources.unreadable:
        outcome = Outcome(Verdict.FAILED, sources.unreadable)
        return RunResult(scenario, (), ReadResult(tuple(texts)), outcome, texts)
    # An ignored file is not run (it may crash the system under test); the others run in
    # order on the shared state, as if the ignored files were absent.
    base = RunResult(
        scenario, (), read, Outcome(Verdict.FAILED), texts, backend=session.name, strict=strict
    )
    skipped = ignored_files(read, base.projects)
    to_run = {file: text for file, text in texts.items() if file not in skipped}
    if not to_run:
        return replace(base, outcome=match((), read, base.projects, strict=strict), skipped=skipped)
    try:
        system = session.fresh()
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # a backend is third-party code: it may raise anything
        fatal = isinstance(error, BackendFault) and error.fatal
        abort = _no_start(error, session, scenario)
        return replace(base, abort=abort, skipped=skipped, fatal=fatal)
    execution = execute(list(to_run.items()), system, not_utf8=sources.not_utf8)
    done = replace(
        base,
        outputs=execution.outputs,
        syntax_errors=execution.syntax_errors,
        files=execution.files,
        skipped=skipped,
        runs=execution.runs,
    )
    if execution.abort is not None:
        # The scenario did not finish: its outputs are kept for the report, not matched.
        return replace(done, abort=execution.abort)
    return _matched(done, read)


def rematch(result: RunResult, texts: Mapping[str, str]) -> RunResult:
    """A finished, unaborted run's outputs matched against new texts of its files (each file
    absent from `texts` keeps its own), with their annotations read afresh."""
    assert result.abort is None, "an aborted run's outputs are not matched"
    merged = {**result.texts, **texts}
    return _matched(replace(result, texts=merged), read_annotations(merged))


def _matched(done: RunResult, read: ReadResult) -> RunResult:
    """`done` with `read` (plus the empty files' findings) and the matcher's outcome."""
    empty = tuple(empty_file(run.file, done.texts[run.file]) for run in done.files if run.empty)
    read = replace(read, diagnostics=read.diagnostics + empty)
    outcome = match(done.outputs, read, done.projects, strict=done.strict, runs=done.runs)
    return replace(done, read=read, outcome=_label_not_run(outcome, done))


def _no_start(error: BaseException, session: BackendSession, scenario: Scenario) -> Abort:
    """Why the session could not give a backend for this scenario, as its abort."""
    first = str(scenario.files[0])
    if isinstance(error, Unsupported):
        reason = f"backend {session.name} cannot run {scenario.relpath}: {error.reason}"
        return Abort(AbortKind.UNSUPPORTED, first, 0, "", reason)
    if isinstance(error, BackendFault):
        return Abort(AbortKind.FAULT, first, 0, "", error.message, error.detail)
    cause = error.message if isinstance(error, BackendError) else f"{type(error).__name__}: {error}"
    message = f"backend {session.name} failed to start the scenario: {cause}"
    return Abort(AbortKind.CRASH, first, 0, "", message)


def _label_not_run(outcome: Outcome, done: RunResult) -> Outcome:
    """Findings of annotations in files that never ran say so, rather than "did not occur"."""
    not_run = {run.file for run in done.files if not run.ran}
    if not not_run or not done.syntax_errors:
        return outcome
    stop = done.syntax_errors[0]
    reason = f"{stop.file}:{stop.line} has a syntax error"
    labelled = []
    for finding in outcome.findings:
        if finding.kind in _NOT_OCCURRED and finding.file in not_run:
            what = "this file" if finding.file == stop.file else finding.file
            message = f"not checked: {what} did not run ({reason}); {finding.message}"
            finding = replace(finding, message=message)
        labelled.append(finding)
    return replace(outcome, findings=tuple(labelled))
