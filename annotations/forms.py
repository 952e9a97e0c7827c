"""The annotation forms: `Form`, `FormError`, the keywords, and `parse_form`.

`parse_form(body)` parses the text after `//:: ` into a `Form`, or returns a `FormError` with
the column (1-based, within the body) where the text stops being an annotation. Every body is
parsed by the grammar in `annotation.lark` (`annotations.grammar`), the single source of the
syntax; it is imported and built on first use, so reading a file without `//::` lines never
imports lark. Results are memoised per body text because test suites repeat the same few
annotations many times.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from annotations.annotation import IssueRef, Kind, OutputId

if TYPE_CHECKING:
    from lark import Lark

# Silver reads issue numbers with Scala's `toInt`; a larger number makes its reader throw.
MAX_ISSUE = 2**31 - 1

KEYWORDS: tuple[str, ...] = tuple(kind.value for kind in Kind)

# How each form is written, for hints.
SYNTAX: dict[Kind, str] = {
    Kind.EXPECTED: "ExpectedOutput(ID)",
    Kind.UNEXPECTED: "UnexpectedOutput(ID, /PROJECT/issue/N/)",
    Kind.MISSING: "MissingOutput(ID, /PROJECT/issue/N/)",
    Kind.IGNORE_OTHERS: "IgnoreOthers",
    Kind.IGNORE_FILE: "IgnoreFile(/PROJECT/issue/N/)",
    Kind.IGNORE_FILE_LIST: "IgnoreFileList(/PROJECT/issue/N/)",
    Kind.EXPECTED_FILE: "ExpectedFileOutput(ID)",
    Kind.UNEXPECTED_FILE: "UnexpectedFileOutput(ID, /PROJECT/issue/N/)",
    Kind.MISSING_FILE: "MissingFileOutput(ID, /PROJECT/issue/N/)",
}


@dataclass(frozen=True, slots=True)
class Form:
    """One parsed annotation body: its kind, id (output kinds) and issue link (linked kinds)."""

    kind: Kind
    output_id: OutputId | None = None
    issue: IssueRef | None = None


@dataclass(frozen=True, slots=True)
class FormError:
    """Why a body is not an annotation: a message and the 1-based column within the body."""

    message: str
    column: int


def parser() -> Lark:
    """The process-wide LALR parser (`annotations.grammar`), imported and built on first use."""
    from annotations import grammar

    return grammar.parser()


@functools.lru_cache(maxsize=8192)
def parse_form(body: str) -> Form | FormError:
    """Parse the text after `//:: ` (Silver's rules, exactly) into a `Form` or a `FormError`."""
    from annotations import grammar  # lark takes tens of milliseconds to import: on demand

    result = grammar.parse(body)
    if isinstance(result, int):
        return FormError(_describe(body, result), result)
    if result.issue is not None and result.issue.number > MAX_ISSUE:
        column = body.rfind("/issue/") + len("/issue/") + 1
        return FormError(f"issue number {result.issue.number} is larger than {MAX_ISSUE}", column)
    return result


def _describe(body: str, column: int) -> str:
    """A one-line reason for a parse error, naming the text where parsing stopped."""
    rest = body[column - 1 :]
    if not rest:
        return "the annotation ends too early"
    shown = rest if len(rest) <= 24 else rest[:21] + "..."
    return f"unexpected `{shown}` at column {column}"
