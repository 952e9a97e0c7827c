"""The vocabulary of a generated program: a backend call, a line of scenario text, a size.

A statement of a generated program renders as `Line`s, each with the `Call` the interpreter
makes for it (`harness.diff.statements`); the comparison makes those calls on both backends.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.backend import Backend
from harness.literals import SUFFIXES

Value = int | str | bool


@dataclass(frozen=True, slots=True)
class Call:
    """One backend call: `backend.<method>(*args, **kwargs)`.

    `returns`: an operation whose result the file checks with `== VALUE` (bytes unmapped, a
    value read). `query`: an attribute read by an `assert`, whose failure the interpreter reports
    as `scenario.error:eval`; `boolean`: a query that reads as a truth value.
    """

    method: str
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...] = ()
    returns: bool = False
    query: bool = False
    boolean: bool = False

    def invoke(self, backend: Backend) -> object:
        """Make the call on `backend`."""
        return getattr(backend, self.method)(*self.args, **dict(self.kwargs))


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a rendered program, and the call it makes (None for `}`)."""

    text: str
    call: Call | None = None


def size_text(value: int) -> str:
    """A size as a person writes it: `4K`, `2M`, `1G` when exact, decimal below 1K, else hex."""
    if value < 1024:
        return str(value)
    for suffix, unit in sorted(SUFFIXES.items(), key=lambda item: -item[1]):
        if value and value % unit == 0 and value // unit < 1024 * 1024:
            return f"{value // unit}{suffix}"
    return hex(value)
