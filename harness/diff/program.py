"""Generated programs: scenario statements that know their text and their backend calls.

A `Program` is a list of statements of the scenario language (`harness.diff.statements`).
Each statement renders as the lines a person would write (`map c0 iova=0x100000
vaddr=0x7f0000100000 size=8K`) and carries the `Call`s the interpreter makes for those lines,
in the interpreter's order and with its arguments (a test runs the rendered text and compares
the calls). The differential run calls backends directly from the `Call`s; the written
regression file is the rendered text. This module also says which names a statement declares
and uses, and renames them, for the file-level shrinking.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from harness.diff.calls import Call, Line, Value, size_text
from harness.diff.statements import (
    DECLARATIONS,
    Alloc,
    Attach,
    Bar,
    CfgRead,
    CfgWrite,
    Container,
    Device,
    Irq,
    Map,
    MmioRead,
    MmioWrite,
    MsixCap,
    MsixEnable,
    MsixEntry,
    MsixFmask,
    MsixVector,
    Query,
    Reset,
    Statement,
    Unmap,
    UnmapAll,
)

# The vocabulary a generator or a test needs, in one import (`from harness.diff import
# program as p`: p.Map, p.Program, p.Call).
__all__ = [
    "Alloc",
    "Attach",
    "Bar",
    "Call",
    "CfgRead",
    "CfgWrite",
    "Container",
    "Device",
    "Irq",
    "Line",
    "Map",
    "MmioRead",
    "MmioWrite",
    "MsixCap",
    "MsixEnable",
    "MsixEntry",
    "MsixFmask",
    "MsixVector",
    "Program",
    "Query",
    "Reset",
    "Statement",
    "Unmap",
    "UnmapAll",
    "Value",
    "declared",
    "renamed",
    "size_text",
    "used",
]


def declared(statement: Statement) -> str | None:
    """The name a statement declares, if any."""
    return statement.name if isinstance(statement, DECLARATIONS) else None


def used(statement: Statement) -> tuple[str, ...]:
    """The names a statement uses (that an earlier declaration must provide)."""
    if isinstance(statement, DECLARATIONS):
        return ()
    if isinstance(statement, Attach):
        return (statement.device, statement.container)
    if isinstance(statement, Query):
        return (statement.name,)
    if isinstance(statement, Map | Unmap | UnmapAll):
        return (statement.container,)
    return (statement.device,)


_NAME_FIELDS = ("name", "container", "device")


def renamed(statement: Statement, names: Mapping[str, str]) -> Statement:
    """The statement with every name it declares or uses replaced as `names` says."""
    changes: dict[str, Any] = {
        key: names[value]
        for key in _NAME_FIELDS
        if isinstance(value := getattr(statement, key, None), str) and value in names
    }
    return replace(statement, **changes) if changes else statement


@dataclass(frozen=True, slots=True)
class Program:
    """A generated scenario: statements in order."""

    area: str
    statements: tuple[Statement, ...]

    def lines(self) -> Iterator[tuple[int, Line]]:
        """Every line with the index of its statement."""
        for index, statement in enumerate(self.statements):
            for line in statement.lines():
                yield index, line

    def calls(self) -> list[tuple[int, Call]]:
        """Every call in order, with the index of its statement."""
        return [(index, line.call) for index, line in self.lines() if line.call is not None]

    def text(self) -> str:
        """The program as scenario text, without value checks or annotations."""
        return "".join(line.text + "\n" for _, line in self.lines())

    def __len__(self) -> int:
        return len(self.statements)

    def with_statements(self, statements: Sequence[Statement]) -> Program:
        """The same area with other statements."""
        return Program(self.area, tuple(statements))

    def renamed(self, names: Mapping[str, str]) -> Program:
        """Every name replaced as `names` says."""
        return self.with_statements([renamed(s, names) for s in self.statements])
