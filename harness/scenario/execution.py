"""The language's one entry point: a scenario's files in, everything their run produced out.

`execute(files, backend)` parses every file, then checks and runs them in order on one
backend, and returns an `Execution`: the outputs (each tagged with the pass over its line that
produced it), the syntax errors, how many times each line in a loop ran, what became of each
file, and the `Abort` that stopped the run early, if one did.

Files and syntax errors: every file is parsed before anything runs, so each file's own syntax
errors are reported at their lines. A file with a syntax error does not run, and neither does
any file after it: their statements would run on a state missing the broken file's
declarations and drown the real error in follow-on ones.

Backends: a `VfioError` is an output and the run goes on. `Unsupported`, `BackendFault` and any
other exception stop the run at that call (`Abort`): the outputs before it are kept, the
statement's file is STOPPED and the files after it are UNREACHED.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from annotations.annotation import Output
from harness.backend import Abort, Backend
from harness.scenario.interpret import Interpreter
from harness.scenario.program import Program
from harness.scenario.syntax import ScenarioSyntaxError, parse
from harness.vfio.catalog import ErrorId


class Undecodable(Protocol):
    """Where a file's bytes stop being text (`harness.sources.NotUtf8` is one)."""

    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...
    @property
    def message(self) -> str: ...
    @property
    def hint(self) -> str: ...


class FileStatus(enum.Enum):
    """What became of one file of a scenario."""

    RAN = "ran"  # every statement ran
    BROKEN = "syntax error"  # a syntax error in the file itself: nothing in it ran
    BLOCKED = "after a syntax error"  # an earlier file has a syntax error: nothing in it ran
    STOPPED = "stopped"  # the run was aborted in this file: the statements before it ran
    UNREACHED = "not reached"  # the run was aborted in an earlier file: nothing in it ran


@dataclass(frozen=True, slots=True)
class FileRun:
    """One file of a scenario: its status and whether it holds no statement at all."""

    file: str
    status: FileStatus
    empty: bool = False

    @property
    def ran(self) -> bool:
        """Whether its statements ran (all of them, or up to an abort)."""
        return self.status in _RAN


_RAN = frozenset({FileStatus.RAN, FileStatus.STOPPED})


@dataclass(frozen=True, slots=True)
class Execution:
    """Everything a scenario's run produced.

    `runs` gives, per `(file, line)`, how many times a line inside a `for` body ran (absent:
    once; 0: its body was never entered), as `annotations.match(runs=...)` takes it.
    """

    outputs: tuple[Output, ...]
    syntax_errors: tuple[ScenarioSyntaxError, ...]
    files: tuple[FileRun, ...]
    runs: Mapping[tuple[str, int], int] = field(default_factory=dict)
    abort: Abort | None = None

    @property
    def ran(self) -> tuple[str, ...]:
        """The files whose statements ran (all of them, or up to an abort)."""
        return tuple(f.file for f in self.files if f.ran)

    @property
    def not_run(self) -> tuple[str, ...]:
        """The files none of whose statements ran (a syntax error, or an earlier abort)."""
        return tuple(f.file for f in self.files if not f.ran)

    @property
    def empty(self) -> tuple[str, ...]:
        """The files that hold no statement (only comments and blank lines, or nothing)."""
        return tuple(f.file for f in self.files if f.empty)


def execute(
    files: Sequence[tuple[str, str]],
    backend: Backend,
    *,
    not_utf8: Mapping[str, Undecodable] | None = None,
) -> Execution:
    """Parse, check and run a scenario's files (`(file, text)` in run order) on `backend`.

    `not_utf8` names the files whose bytes are not UTF-8 (with the first bad byte): each is a
    syntax error at that place and does not run.
    """
    bad = not_utf8 or {}
    parsed: list[tuple[str, Program | ScenarioSyntaxError]] = []
    for file, text in files:
        where = bad.get(file)
        if where is not None:
            error = ScenarioSyntaxError(file, where.line, where.column, where.message, where.hint)
            parsed.append((file, error))
            continue
        try:
            parsed.append((file, parse(text, file)))
        except ScenarioSyntaxError as error:
            parsed.append((file, error))
    interpreter = Interpreter(backend)
    statuses: list[FileRun] = []
    broken = False
    abort: Abort | None = None
    for file, program in parsed:
        if isinstance(program, ScenarioSyntaxError):
            interpreter.outputs.append(syntax_output(program))
            statuses.append(FileRun(file, FileStatus.BROKEN))
            broken = True
        elif broken:
            statuses.append(FileRun(file, FileStatus.BLOCKED, program.empty))
        elif abort is not None:
            statuses.append(FileRun(file, FileStatus.UNREACHED, program.empty))
        else:
            abort = interpreter.run(file, program)
            status = FileStatus.RAN if abort is None else FileStatus.STOPPED
            statuses.append(FileRun(file, status, program.empty))
    errors = tuple(p for _, p in parsed if isinstance(p, ScenarioSyntaxError))
    outputs = tuple(interpreter.outputs)
    return Execution(outputs, errors, tuple(statuses), interpreter.runs, abort)


def syntax_output(error: ScenarioSyntaxError) -> Output:
    """The `parser.error` output of a syntax error (its column and hint in the message)."""
    hint = f" (hint: {error.hint})" if error.hint else ""
    message = f"column {error.column}: {error.message}{hint}"
    return Output(error.file, error.line, ErrorId.PARSER_ERROR.value, message)
