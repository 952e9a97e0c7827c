"""Running one scenario end to end: read annotations, parse, check, run, match.

Shared by the CLI (`python -m harness run`) and the pytest plugin, whose items call it:

- `run_scenario(scenario, session=...)` runs it on `session.fresh()` (a session per run comes
  from `harness.sessions.open_backend`). It never raises for a bad scenario: an unreadable file
  becomes a FAILED outcome with an UNREADABLE finding; a syntax error (also bytes that are not
  UTF-8, at the first bad one) is a `parser.error` output; a backend that cannot give a fresh
  backend, or stops the run, is the result's `abort`. It reads the files itself
  (`harness.sources`) unless given the sources already read.

Multi-file scenarios: a file ignored (`IgnoreFile` for a project in force) is neither parsed nor
run; the other files run as if it were absent. Every file is read and parsed first (so each
file's own syntax errors are reported at their lines), then the files are checked and run in
order on one state. A file with a syntax error does not run, and neither does any file after
it: their statements would run on a state missing the broken file's declarations and drown the
real error in follow-on ones.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, replace

from annotations import ignored_files, match
from annotations.annotation import Output, ReadResult
from annotations.outcome import FindingKind, Outcome, Verdict
from harness.backend import (
    Abort,
    AbortKind,
    Backend,
    BackendFault,
    BackendSession,
    CoreDefaults,
    Unsupported,
)
from harness.discovery import Scenario
from harness.scenario import Checker, Program, ScenarioSyntaxError, parse, run
from harness.sessions import MODEL, BackendError, open_backend
from harness.sources import NotUtf8, Sources, read_sources
from harness.tags import SUITE_PROJECT
from harness.vfio.catalog import ErrorId

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
    project in force names them; `not_run` the other files that did not run (a syntax error
    stopped the scenario before them).
    """

    scenario: Scenario
    outputs: tuple[Output, ...]
    read: ReadResult
    outcome: Outcome
    texts: dict[str, str]  # file (as in outputs) -> text, for code frames
    # The syntax errors behind the `parser.error` outputs, for their column and hint.
    syntax_errors: tuple[ScenarioSyntaxError, ...] = ()
    abort: Abort | None = None
    backend: str = MODEL  # the backend's project name, for messages
    skipped: tuple[str, ...] = ()
    not_run: tuple[str, ...] = ()


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


def parse_files(
    texts: dict[str, str], not_utf8: Mapping[str, NotUtf8]
) -> list[Program | ScenarioSyntaxError]:
    """Each file parsed, in order; a syntax error (or not UTF-8: its first bad byte) instead."""
    programs: list[Program | ScenarioSyntaxError] = []
    for file, text in texts.items():
        if file in not_utf8:
            bad = not_utf8[file]
            programs.append(
                ScenarioSyntaxError(bad.file, bad.line, bad.column, bad.message, bad.hint)
            )
            continue
        try:
            programs.append(parse(text, file))
        except ScenarioSyntaxError as error:
            programs.append(error)
    return programs


def syntax_output(error: ScenarioSyntaxError) -> Output:
    """The `parser.error` output of a syntax error."""
    hint = f" (hint: {error.hint})" if error.hint else ""
    return Output(
        error.file,
        error.line,
        ErrorId.PARSER_ERROR.value,
        f"column {error.column}: {error.message}{hint}",
    )


def run_programs(
    programs: Sequence[Program | ScenarioSyntaxError], backend: Backend
) -> list[Output]:
    """Check and run the files in order on one backend (see the module docstring)."""
    outputs: list[Output] = []
    checker = Checker()
    broken = False
    for program in programs:
        if isinstance(program, ScenarioSyntaxError):
            outputs.append(syntax_output(program))
            broken = True
        elif not broken:
            run(checker.check(program), backend, outputs)
    return outputs


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
    projects = (session.name, SUITE_PROJECT)
    # An ignored file is not run (it may crash the system under test); the others run in
    # order on the shared state, as if the ignored files were absent.
    skipped = ignored_files(read, projects)
    to_run = {file: text for file, text in texts.items() if file not in skipped}
    base = RunResult(scenario, (), read, Outcome(Verdict.FAILED), texts, backend=session.name)
    programs = parse_files(to_run, sources.not_utf8)
    errors = tuple(p for p in programs if isinstance(p, ScenarioSyntaxError))
    outputs: tuple[Output, ...] = ()
    if to_run:
        system = _fresh(session, scenario)
        if isinstance(system, Abort):
            return replace(base, abort=system, skipped=skipped)
        outputs = tuple(run_programs(programs, system))
    not_run = _not_run(programs, tuple(to_run))
    outcome = _label_not_run(match(outputs, read, projects, strict=strict), not_run, errors)
    return replace(
        base, outputs=outputs, outcome=outcome, syntax_errors=errors, skipped=skipped,
        not_run=not_run,
    )


def _fresh(session: BackendSession, scenario: Scenario) -> Backend | Abort:
    """The session's backend for this scenario, or why there is none."""
    first = str(scenario.files[0])
    try:
        return session.fresh()
    except KeyboardInterrupt:
        raise
    except Unsupported as error:
        reason = f"backend {session.name} cannot run {scenario.relpath}: {error.reason}"
        return Abort(AbortKind.UNSUPPORTED, first, 0, "", reason)
    except BackendFault as error:
        return Abort(AbortKind.FAULT, first, 0, "", error.message, error.detail)
    except BaseException as error:
        message = f"backend {session.name} failed to start the scenario: {error}"
        if isinstance(error, BackendError):
            message = f"backend {session.name} failed to start the scenario: {error.message}"
        return Abort(AbortKind.CRASH, first, 0, "", message)


def _not_run(
    programs: Sequence[Program | ScenarioSyntaxError], files: Sequence[str]
) -> tuple[str, ...]:
    """The files a syntax error kept from running: its own and every file after it."""
    for index, program in enumerate(programs):
        if isinstance(program, ScenarioSyntaxError):
            return tuple(files[index:])
    return ()


def _label_not_run(
    outcome: Outcome, not_run: Sequence[str], errors: Sequence[ScenarioSyntaxError]
) -> Outcome:
    """Findings of annotations in files that never ran say so, rather than "did not occur"."""
    if not not_run:
        return outcome
    stop = errors[0]
    reason = f"{stop.file}:{stop.line} has a syntax error"
    labelled = []
    for finding in outcome.findings:
        if finding.kind in _NOT_OCCURRED and finding.file in not_run:
            what = "this file" if finding.file == stop.file else f"{finding.file}"
            finding = replace(
                finding,
                message=f"not checked: {what} did not run ({reason}); {finding.message}",
            )
        labelled.append(finding)
    return replace(outcome, findings=tuple(labelled))
