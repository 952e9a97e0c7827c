"""The annotation forms: `annotation.lark`, its transformer, and the one lark error boundary.

`parse_form(body)` parses the text after `//:: ` into a `Form`, or returns a `FormError` with
the column (1-based, within the body) where the text stops being an annotation. One LALR parser
is built per process, lazily; results are memoised per body text because test suites repeat the
same few annotations many times.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from lark import Lark, Token, Transformer, UnexpectedInput, UnexpectedToken

from annotations.annotation import IssueRef, Kind, OutputId

GRAMMAR_PATH = Path(__file__).with_name("annotation.lark")

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


def _text(token: Token | None) -> str:
    return "" if token is None else str(token)


class FormBuilder(Transformer[Token, Form]):
    """Builds a `Form` from the parse tree; methods are named after the grammar's rules."""

    def start(self, children: list[Form]) -> Form:
        """The one form of the body."""
        return children[0]

    def link(self, children: list[Token | None]) -> IssueRef:
        """`, /PROJECT/issue/N/)`: the issue link."""
        project, number = children
        return IssueRef(_text(project), int(_text(number)))

    def expected(self, children: list[Token | None]) -> Form:
        """`ExpectedOutput(ID)`."""
        return Form(Kind.EXPECTED, OutputId.parse(_text(children[0])))

    def expected_file(self, children: list[Token | None]) -> Form:
        """`ExpectedFileOutput(ID)`."""
        return Form(Kind.EXPECTED_FILE, OutputId.parse(_text(children[0])))

    def unexpected(self, children: list[object]) -> Form:
        """`UnexpectedOutput(ID, /PROJECT/issue/N/)`."""
        return self._linked(Kind.UNEXPECTED, children)

    def unexpected_file(self, children: list[object]) -> Form:
        """`UnexpectedFileOutput(ID, /PROJECT/issue/N/)`."""
        return self._linked(Kind.UNEXPECTED_FILE, children)

    def missing(self, children: list[object]) -> Form:
        """`MissingOutput(ID, /PROJECT/issue/N/)`."""
        return self._linked(Kind.MISSING, children)

    def missing_file(self, children: list[object]) -> Form:
        """`MissingFileOutput(ID, /PROJECT/issue/N/)`."""
        return self._linked(Kind.MISSING_FILE, children)

    def ignore_others(self, children: list[object]) -> Form:
        """`IgnoreOthers`."""
        return Form(Kind.IGNORE_OTHERS)

    def ignore_file(self, children: list[Token | None]) -> Form:
        """`IgnoreFile(/PROJECT/issue/N/)`."""
        return Form(Kind.IGNORE_FILE, issue=IssueRef(_text(children[0]), int(_text(children[1]))))

    def ignore_file_list(self, children: list[Token | None]) -> Form:
        """`IgnoreFileList(/PROJECT/issue/N/)`."""
        project, number = children
        return Form(Kind.IGNORE_FILE_LIST, issue=IssueRef(_text(project), int(_text(number))))

    @staticmethod
    def _linked(kind: Kind, children: list[object]) -> Form:
        token, issue = children
        assert isinstance(issue, IssueRef)
        return Form(kind, OutputId.parse(_text(token if isinstance(token, Token) else None)), issue)


@functools.cache
def parser() -> Lark:
    """The process-wide LALR parser, built on first use (transformer applied while parsing).

    `cache=True` keeps lark's grammar analysis in the temporary folder: measured on this grammar,
    it brings the build from ~50 ms to ~3 ms, more than reading the whole Silver corpus costs.
    """
    return Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        transformer=FormBuilder(),
        maybe_placeholders=True,
        cache=True,
    )


@functools.lru_cache(maxsize=8192)
def parse_form(body: str) -> Form | FormError:
    """Parse the text after `//:: ` (Silver's rules, exactly) into a `Form` or a `FormError`."""
    try:
        form = parser().parse(body)
    except UnexpectedInput as error:
        at_end = isinstance(error, UnexpectedToken) and error.token.type == "$END"
        column = len(body) + 1 if at_end or error.column < 1 else error.column
        return FormError(_describe(body, column), column)
    assert isinstance(form, Form)
    if form.issue is not None and form.issue.number > MAX_ISSUE:
        column = body.rfind("/issue/") + len("/issue/") + 1
        return FormError(f"issue number {form.issue.number} is larger than {MAX_ISSUE}", column)
    return form


def _describe(body: str, column: int) -> str:
    """A one-line reason for a parse error, naming the text where parsing stopped."""
    rest = body[column - 1 :]
    if not rest:
        return "the annotation ends too early"
    shown = rest if len(rest) <= 24 else rest[:21] + "..."
    return f"unexpected `{shown}` at column {column}"
