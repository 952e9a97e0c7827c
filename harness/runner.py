"""Running one scenario end to end: read annotations, parse, check, run, match.

Shared by the CLI (`python -m harness run`) and the pytest plugin, whose items call it:

- `load_backend(spec, defaults)` builds `model` or `package.module:Class`; a bad spec raises
  `BackendError` with a message and a hint.
- `run_scenario(...)` never raises for a bad scenario: an unreadable file becomes a FAILED
  outcome with an UNREADABLE finding; a syntax error (also bytes that are not UTF-8, at the
  first bad one) is a `parser.error` output. It reads the files itself (`harness.sources`)
  unless given the sources already read.

Multi-file scenarios: a file ignored (`IgnoreFile` for a project in force) is neither parsed nor
run; the other files run as if it were absent. Every file is read and parsed first (so each
file's own syntax errors are reported at their lines), then the files are checked and run in
order on one state. A file with a syntax error does not run, and neither does any file after
it: their statements would run on a state missing the broken file's declarations and drown the
real error in follow-on ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from annotations import ignored_files, match
from annotations.annotation import Output, ReadResult
from annotations.outcome import Outcome, Verdict
from harness.backend import Backend, CoreDefaults
from harness.discovery import Scenario
from harness.errors import HintedError
from harness.scenario import Checker, Program, ScenarioSyntaxError, parse, run
from harness.sources import NotUtf8, Sources, read_sources
from harness.tags import SUITE_PROJECT
from harness.vfio.catalog import ErrorId


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
    programs = parse_files(to_run, sources.not_utf8)
    outputs = tuple(run_programs(programs, system)) if to_run else ()
    errors = tuple(p for p in programs if isinstance(p, ScenarioSyntaxError))
    outcome = match(outputs, read, projects, strict=strict)
    return RunResult(scenario, outputs, read, outcome, texts, errors)
