"""Running one scenario end to end: read annotations, parse, check, run, match.

Shared by the CLI (`python -m harness run`) and the pytest plugin, whose items call it:

- `load_backend(spec, defaults)` builds `model` or `package.module:Class`; a bad spec raises
  `BackendError` with a message and a hint.
- `run_scenario(...)` never raises for a bad scenario: an unreadable file becomes a FAILED
  outcome with an UNREADABLE finding; a syntax error (also bytes that are not UTF-8, at the
  first bad one) is a `parser.error` output. It reads the files itself (`harness.sources`)
  unless given the sources already read.

Multi-file scenarios: a file ignored (`IgnoreFile` for a project in force) is neither parsed nor
run; the other files run as if it were absent. The rest is the scenario language's
`harness.scenario.execute` (parse every file, then check and run them in order on one state;
a file with a syntax error, and every file after it, does not run).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from annotations import ignored_files, match
from annotations.annotation import Output, ReadResult
from annotations.outcome import Outcome, Verdict
from harness.backend import Abort, Backend, CoreDefaults
from harness.discovery import Scenario
from harness.errors import HintedError
from harness.scenario import FileRun, ScenarioSyntaxError, execute
from harness.sources import Sources, read_sources
from harness.tags import SUITE_PROJECT


class BackendError(HintedError):
    """A backend spec that cannot be loaded."""

    def __init__(self, spec: str, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.spec = spec

    def where(self) -> str:
        """`backend 'spec'`."""
        return f"backend {self.spec!r}"


@dataclass(frozen=True, slots=True)
class RunResult:
    """A scenario's outputs, its annotations, and the matcher's outcome."""

    scenario: Scenario
    outputs: tuple[Output, ...]
    read: ReadResult
    outcome: Outcome
    texts: dict[str, str]  # file (as in outputs) -> text, for code frames
    # The syntax errors behind the `parser.error` outputs, for their column and hint.
    syntax_errors: tuple[ScenarioSyntaxError, ...] = ()
    # What became of each file run (a file after a syntax error did not run; empty files).
    files: tuple[FileRun, ...] = ()
    # Where and why the run stopped early (Unsupported, BackendFault, a crash): the outcome
    # is then FAILED without findings, and `outputs` are those produced before the stop.
    abort: Abort | None = None


_SPEC_HINT = "name the backend 'model' or give an import path 'package.module:Class'"


def load_backend(spec: str, defaults: CoreDefaults) -> Backend:
    """Build the backend named `model` or `package.module:Class`."""
    if spec == "model":
        from harness.model import ModelBackend

        return ModelBackend(defaults)
    module_name, colon, class_name = spec.partition(":")
    if not colon or not module_name or not class_name:
        raise BackendError(spec, "not a backend name", _SPEC_HINT)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise BackendError(
            spec,
            f"cannot import module {module_name!r}: {error}",
            "check the module is installed or on PYTHONPATH",
        ) from None
    factory = getattr(module, class_name, None)
    if factory is None or not callable(factory):
        raise BackendError(
            spec,
            f"module {module_name!r} has no class {class_name!r}",
            "the part after ':' names a class in that module",
        )
    try:
        backend = factory(defaults)
    except Exception as error:  # a third-party constructor may fail in any way
        raise BackendError(
            spec,
            f"{class_name}(defaults) failed: {type(error).__name__}: {error}",
            "a backend class is built as Class(defaults: CoreDefaults)",
        ) from None
    missing = [name for name in _BACKEND_MEMBERS if not hasattr(backend, name)]
    if missing:
        raise BackendError(
            spec,
            f"{class_name} lacks {', '.join(missing)}",
            "a backend implements harness.backend.Backend",
        )
    return backend  # type: ignore[no-any-return]


_BACKEND_MEMBERS = ("name", *sorted(m for m in vars(Backend) if not m.startswith("_")))


def run_scenario(
    scenario: Scenario,
    *,
    backend: str = "model",
    defaults: CoreDefaults | None = None,
    strict: bool = True,
    sources: Sources | None = None,
) -> RunResult:
    """Run one scenario and match its outputs against its annotations.

    `sources` are the scenario's files as already read (`harness.sources.read_sources` of this
    same scenario); by default they are read here.
    """
    if sources is None:
        sources = read_sources(scenario)
    texts, read = sources.texts, sources.read
    if sources.unreadable:
        outcome = Outcome(Verdict.FAILED, sources.unreadable)
        return RunResult(scenario, (), ReadResult(tuple(texts)), outcome, texts)
    system = load_backend(backend, defaults if defaults is not None else CoreDefaults())
    projects = (system.name, SUITE_PROJECT)
    # An ignored file is not run (it may crash the system under test); the others run in
    # order on the shared state, as if the ignored files were absent.
    ignored = set(ignored_files(read, projects))
    to_run = {file: text for file, text in texts.items() if file not in ignored}
    execution = execute(list(to_run.items()), system, not_utf8=sources.not_utf8)
    if execution.abort is not None:
        # The scenario did not finish: its outputs are kept for the report, not matched.
        outcome = Outcome(Verdict.FAILED)
    else:
        outcome = match(execution.outputs, read, projects, strict=strict, runs=execution.runs)
    return RunResult(
        scenario,
        execution.outputs,
        read,
        outcome,
        texts,
        execution.syntax_errors,
        execution.files,
        execution.abort,
    )
