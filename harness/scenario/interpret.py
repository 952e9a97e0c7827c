"""The interpreter: checks and runs statements one at a time on a backend, collecting outputs.

Each statement is checked (`check.py`) and its steps run at once, so memory does not grow
with the length of a file. A backend failure (`VfioError`) becomes one output at the
statement's line with the backend's id and message (and its errno, when the backend gives one);
the backend guarantees it changed no state, and the run goes on. A value check (`== EXPR`) runs
only when the operation succeeded; an `assert` or a check that is false is
`assert.failed:assertion.false`, one that cannot be evaluated is `scenario.error:eval`.

A `for` runs its body's steps once per value of its variable. Every output of a body statement
names the iteration (`(v=3)`) and carries the pass over its line that produced it
(`Output.run`); `runs` counts the passes over each body line (0 when the body never ran), as
the annotation matcher takes them. A loop runs at most `MAX_ITERATIONS` times.

Anything a backend raises but a `VfioError` stops the run (`aborts.py`): `run` returns the
`Abort`, and the outputs before it are kept.
"""

from __future__ import annotations

import errno as errno_names
from collections.abc import Iterable

from annotations.annotation import Output
from harness.backend import Abort, Backend
from harness.literals import show
from harness.scenario import nodes, printer
from harness.scenario.aborts import Stopped, abort
from harness.scenario.check import Checker
from harness.scenario.evaluate import EvalError, Frame
from harness.scenario.fields import CheckError, evaluated
from harness.scenario.steps import Assertion, Bind, Call, Expect, Failure, Loop, Step
from harness.vfio.catalog import ErrorId, VfioError

_ASSERT = ErrorId.ASSERT_FALSE.value
_EVAL = ErrorId.SCENARIO_EVAL.value
MAX_ITERATIONS = 1 << 24


class _Aborted(Exception):
    """A backend call stopped the run: the `Abort`, made where the call was."""

    def __init__(self, made: Abort) -> None:
        super().__init__(made.message)
        self.abort = made


class Interpreter:
    """Runs the files of one scenario, in order, on one backend and one name space."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.checker = Checker()
        self.frame = Frame(backend)
        self.outputs: list[Output] = []
        self.runs: dict[tuple[str, int], int] = {}  # passes over each line inside a loop
        self.file = ""

    def run(self, file: str, statements: Iterable[nodes.Statement]) -> Abort | None:
        """Check and run `file`'s statements in order; the Abort when a backend stopped it."""
        self.file = file
        check, step = self.checker.check, self._step
        try:
            for statement in statements:
                for each in check(statement, file):
                    step(each, False)
        except _Aborted as stopped:
            return stopped.abort
        return None

    # ---- one step
    def _step(self, step: Step, looping: bool) -> None:
        """Run one step (`looping`: in a `for` body) and append the output it produces."""
        run = 0
        if looping:
            key = (self.file, step.line)
            run = self.runs.get(key, 0)
            self.runs[key] = run + 1
        try:
            failure = self._call(step) if type(step) is Call else self._other(step)
        except Stopped as stopped:
            raise _Aborted(abort(stopped, self.backend, self.file, step.line)) from None
        if failure is not None:
            kind, message = failure
            if looping:
                message = f"{message} {self.frame.iteration()}"
            self.outputs.append(Output(self.file, step.line, kind, message, run=run))

    def _call(self, step: Call) -> tuple[str, str] | None:
        """Run a backend call: None, or the (id, message) of its output."""
        build = step.build
        if isinstance(build, tuple):
            arguments, options = build
        else:
            try:
                arguments, options = build(self.frame)
            except CheckError as error:
                return error.kind.value, error.message
        try:
            result = getattr(self.backend, step.method)(*arguments, **options)
        except VfioError as error:
            return error.id, _with_errno(error)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # as `aborts.call` (inline: the most frequent call)
            raise Stopped(step.method, error) from None
        if step.expect is None:
            return None
        if not isinstance(result, int):
            wrong = TypeError(f"{step.method} returned {result!r}, not an integer")
            raise Stopped(step.method, wrong)
        return _verify_result(step, step.expect, result, self.frame)

    def _other(self, step: Step) -> tuple[str, str] | None:
        """Run any other step: None, or the (id, message) of the output it produces."""
        if isinstance(step, Assertion):
            return _test(step.expect, self.frame)
        if isinstance(step, Failure):
            self._not_entered(step.lines)
            return step.kind.value, step.message
        if isinstance(step, Bind):
            try:
                value = evaluated(step.value, self.frame)
            except CheckError as error:
                return error.kind.value, error.message
            self.checker.bind(step.name, step.line, value)
            return None
        assert isinstance(step, Loop)
        return self._loop(step)

    def _loop(self, loop: Loop) -> tuple[str, str] | None:
        try:
            first, last = evaluated(loop.first, self.frame), evaluated(loop.last, self.frame)
        except CheckError as error:
            self._not_entered(loop.lines)
            return error.kind.value, error.message
        count = last - first + 1
        if count > MAX_ITERATIONS:
            self._not_entered(loop.lines)
            return (
                ErrorId.SCENARIO_VALUE_RANGE.value,
                f"for {loop.name} in {show(first)}..{show(last)} would run {show(count)} times"
                f" (at most {MAX_ITERATIONS:,})",
            )
        self._not_entered(loop.lines)
        variables = self.frame.variables
        try:
            for value in range(first, last + 1):
                variables[loop.name] = value
                for step in loop.body:
                    self._step(step, True)
        finally:
            variables.pop(loop.name, None)
        return None

    def _not_entered(self, lines: tuple[int, ...]) -> None:
        """Count the lines of a body as run 0 times, unless they ran already."""
        for line in lines:
            self.runs.setdefault((self.file, line), 0)


def _with_errno(error: VfioError) -> str:
    """The backend's message, with the errno it carries (as a process backend reports it)."""
    number = error.errno
    if number is None:
        return error.message
    return f"{error.message} (errno {number} {errno_names.errorcode.get(number, '?')})"


def _verify_result(step: Call, expect: Expect, result: int, frame: Frame) -> tuple[str, str] | None:
    try:
        wanted = expect.fn(frame)
    except EvalError as error:
        return _EVAL, _eval_message(expect, error)
    if result == wanted:
        return None
    what = step.method.replace("_", " ")
    text = printer.quote(expect.expr)
    return _ASSERT, f"{what} returned {show(int(result))}, expected {text} = {show(wanted)}"


def _test(expect: Expect, frame: Frame) -> tuple[str, str] | None:
    """None when the expression holds, else (id, message)."""
    try:
        if expect.fn(frame):
            return None
        detail = ""
        if expect.parts is not None:
            left, op, right = expect.parts
            detail = f" ({show(left(frame))} {op} {show(right(frame))})"
    except EvalError as error:
        return _EVAL, _eval_message(expect, error)
    return _ASSERT, f"assertion is false: {printer.quote(expect.expr)}{detail}"


def _eval_message(expect: Expect, error: EvalError) -> str:
    return f"cannot evaluate {printer.quote(expect.expr)}: {error}"
