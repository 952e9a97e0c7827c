"""The interpreter: runs a checked plan against a backend and collects outputs.

A backend failure (`VfioError`) becomes one output at the statement's line with the core's id
and message; the backend guarantees it changed no state, and the run goes on. A value check
(`== EXPR`) runs only when the operation succeeded; an `assert` or a check that is false is
`assert.failed:assertion.false`, one that cannot be evaluated is `scenario.error:eval`.
Outputs come in plan order: statement order, except that a device's MSI-X members run (and
report) after its BARs and ROM. Any exception from a backend other than `VfioError` is a bug
in that backend (or in the harness) and propagates: hiding it would pass a broken run.
"""

from __future__ import annotations

from collections.abc import Callable

from annotations.annotation import Output
from harness.backend import Abort, Backend
from harness.scenario.aborts import Stopped, abort, call
from harness.scenario.check import Assertion, Call, Expect, Failure, Step
from harness.scenario.evaluate import EvalError, show
from harness.vfio.catalog import ErrorId, VfioError

_ASSERT = ErrorId.ASSERT_FALSE.value
_EVAL = ErrorId.SCENARIO_EVAL.value
_EVAL_FAILURES = (EvalError, VfioError, ArithmeticError)


def run(steps: list[Step], backend: Backend, outputs: list[Output]) -> Abort | None:
    """Run the steps in order, appending one output per failure to `outputs`.

    A backend call that raises anything but a VfioError stops the run: the Abort says where.
    """
    append = outputs.append
    for step in steps:
        if isinstance(step, Failure):
            append(step.output)
            continue
        try:
            _step(step, backend, append)
        except Stopped as stopped:
            return abort(stopped, backend, step.file, step.line)
    return None


def _step(step: Call | Assertion, backend: Backend, append: Callable[[Output], None]) -> None:
    if isinstance(step, Call):
        try:
            result = call(backend, step.method, *step.args, **step.kwargs)
        except VfioError as error:
            append(Output(step.file, step.line, error.id, error.message))
            return
        if step.expect is not None:
            _verify_result(step, result, backend, append)
    else:
        failure = _test(step.expect, backend)
        if failure is not None:
            append(Output(step.file, step.line, *failure))


def _verify_result(
    step: Call, result: int, backend: Backend, append: Callable[[Output], None]
) -> None:
    assert step.expect is not None
    try:
        wanted = step.expect.fn(backend)
    except _EVAL_FAILURES as error:
        append(Output(step.file, step.line, _EVAL, _eval_message(step.expect, error)))
        return
    if result != wanted:
        what = step.method.replace("_", " ")
        message = (
            f"{what} returned {show(int(result))}, expected {step.expect.text} = {show(wanted)}"
        )
        append(Output(step.file, step.line, _ASSERT, message))


def _test(expect: Expect, backend: Backend) -> tuple[str, str] | None:
    """None when the expression holds, else (id, message)."""
    try:
        if expect.fn(backend):
            return None
        detail = ""
        if expect.parts is not None:
            left, op, right = expect.parts
            detail = f" ({show(left(backend))} {op} {show(right(backend))})"
    except _EVAL_FAILURES as error:
        return _EVAL, _eval_message(expect, error)
    return _ASSERT, f"assertion is false: {expect.text}{detail}"


def _eval_message(expect: Expect, error: Exception) -> str:
    reason = error.message if isinstance(error, VfioError) else str(error)
    return f"cannot evaluate {expect.text}: {reason}"
