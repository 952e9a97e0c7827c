"""What the reader produces: annotations, diagnostics, and the outputs they are matched with.

This module is the engine's data contract (shared by the reader, the matcher, the CLI and the
pytest plugin). It holds plain frozen values and nothing that reads or matches.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Kind(enum.Enum):
    """The annotation keywords, valued by their exact spelling."""

    EXPECTED = "ExpectedOutput"
    UNEXPECTED = "UnexpectedOutput"
    MISSING = "MissingOutput"
    IGNORE_OTHERS = "IgnoreOthers"
    IGNORE_FILE = "IgnoreFile"
    IGNORE_FILE_LIST = "IgnoreFileList"
    # This engine's file-level forms for outputs without a line (Silver has none; see README.md).
    EXPECTED_FILE = "ExpectedFileOutput"
    UNEXPECTED_FILE = "UnexpectedFileOutput"
    MISSING_FILE = "MissingFileOutput"


@dataclass(frozen=True, slots=True)
class OutputId:
    """An id `KEY[:REASON]`: KEY is the text up to the first ':'."""

    key: str
    reason: str | None = None

    @classmethod
    def parse(cls, text: str) -> OutputId:
        """Split `KEY[:REASON]` at the first colon."""
        key, sep, reason = text.partition(":")
        return cls(key, reason if sep else None)

    def __str__(self) -> str:
        return self.key if self.reason is None else f"{self.key}:{self.reason}"


@dataclass(frozen=True, slots=True)
class IssueRef:
    """A link `/PROJECT/issue/N/` as written (project keeps its case)."""

    project: str
    number: int

    def __str__(self) -> str:
        return f"/{self.project}/issue/{self.number}/"


@dataclass(frozen=True, slots=True)
class Annotation:
    """One `//::` annotation: where it is written (`line`) and the line it targets (`target`).

    `target` is None only for file-level kinds (IgnoreFile, IgnoreFileList and the
    `*FileOutput` kinds). `output_id` is None for IgnoreOthers, IgnoreFile and IgnoreFileList;
    `issue` is None for ExpectedOutput, ExpectedFileOutput and IgnoreOthers.
    """

    kind: Kind
    file: str
    line: int
    target: int | None
    output_id: OutputId | None = None
    issue: IssueRef | None = None
    column: int = 1


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A finding of the reader about the annotations themselves, located at `file:line:column`.

    `kind` is a CamelCase word (`ParseError`, `PendingAtEndOfFile`, `BlankTarget`,
    `DuplicateAnnotation`, `NearMiss`, `UnknownId`). `silver` is True when Silver itself fails
    the test on it (parse errors); the others are this engine's stricter findings, which a
    caller may downgrade to warnings.
    """

    kind: str
    file: str
    line: int
    column: int
    message: str
    hint: str | None = None
    silver: bool = False


@dataclass(frozen=True, slots=True)
class Output:
    """One output of a run: the file and 1-based line it belongs to (None: no line), its id.

    `run` says which pass over its line produced it (0-based): a line in a loop runs once per
    iteration, and `match(..., runs=...)` expects an ExpectedOutput's output in every pass.
    """

    file: str
    line: int | None
    id: str
    message: str = ""
    run: int = field(default=0, kw_only=True)


@dataclass(frozen=True, slots=True)
class ReadResult:
    """Everything read from one test's files (`files`, in order): annotations, diagnostics."""

    files: tuple[str, ...] = ()
    annotations: tuple[Annotation, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
