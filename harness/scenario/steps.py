"""The plan of a statement, as the checker makes it and the interpreter runs it.

A checked statement is one or more steps: a backend `Call` (its arguments built when it runs,
so that a `for` variable takes each iteration's value), an `Assertion`, a `Bind` (`let`), a
`Loop` (`for`, with its body's steps), or a `Failure` in place of a statement that failed its
check. Steps are data; `interpret.py` runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.scenario import nodes
from harness.scenario.evaluate import Compiled, Frame
from harness.scenario.fields import Field, Value
from harness.vfio.catalog import ErrorId

Arguments = tuple[tuple[Any, ...], dict[str, Any]]  # a backend call's positional and keywords
Build = Callable[[Frame], Arguments]


def fixed(*args: Any) -> Arguments:
    """The arguments of a call whose values are all known when it is checked."""
    return args, {}


def arguments(*parts: Any) -> Build | Arguments:
    """A call's positional arguments: known now when no part is a `Field`, else a build that
    evaluates each Field (and checks its value) when the call runs."""
    for part in parts:  # (a loop: `any(...)` over a generator costs more on every statement)
        if type(part) is Field:
            break
    else:
        return parts, {}

    def build(frame: Frame) -> Arguments:
        return tuple([part.get(frame) if type(part) is Field else part for part in parts]), {}

    return build


@dataclass(frozen=True, slots=True)
class Expect:
    """A compiled expression and its source; `parts` explains a false single comparison."""

    fn: Compiled
    expr: nodes.Expr
    parts: tuple[Compiled, str, Compiled] | None = None


@dataclass(frozen=True, slots=True)
class Call:
    """One backend call at `line`: its arguments, or a `build` that evaluates them (and checks
    their values) each time the call runs."""

    line: int
    method: str
    build: Build | Arguments  # the arguments, or how to compute them when the call runs
    expect: Expect | None = None  # the `== EXPR` its result must equal


@dataclass(frozen=True, slots=True)
class Assertion:
    """An `assert`."""

    line: int
    expect: Expect


@dataclass(frozen=True, slots=True)
class Bind:
    """A `let`: evaluate `value` and bind `name` to it (declared when the value is known)."""

    line: int
    name: str
    value: Value


@dataclass(frozen=True, slots=True)
class Failure:
    """A statement that failed its check: the output to emit where it would have run."""

    line: int
    kind: ErrorId
    message: str
    lines: tuple[int, ...] = ()  # a failed `for`: its body's lines, which never run


@dataclass(frozen=True, slots=True)
class Loop:
    """A `for`: bounds, and the body's steps; `lines` are the body's statement lines."""

    line: int
    name: str
    first: Value
    last: Value
    body: tuple[Step, ...]
    lines: tuple[int, ...]


Step = Call | Assertion | Bind | Failure | Loop
