"""The lark side of the forms: `annotation.lark`, its transformer, the one lark error boundary.

The transformer keeps every value as written (`Parsed`); `forms.parse_form` checks them (an
issue number's size) and builds the `Form`. Imported only when an annotation body is first
parsed: reading a file without `//::` lines never imports lark.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from lark import Lark, Token, Transformer, UnexpectedInput, UnexpectedToken

from annotations.annotation import Kind
from annotations.lark_cache import cached_lark

GRAMMAR_PATH = Path(__file__).with_name("annotation.lark")


@dataclass(frozen=True, slots=True)
class Parsed:
    """A body as the grammar reads it: the kind and the texts of its parts, as written.

    `output_id` is None for kinds without an id (an empty id is ""); `project` and `number`
    are None for kinds without an issue link; `number_column` is the 1-based column of the
    number within the body.
    """

    kind: Kind
    output_id: str | None = None
    project: str | None = None
    number: str | None = None
    number_column: int = 0


def _text(token: object) -> str:
    return str(token) if isinstance(token, Token) else ""


class FormBuilder(Transformer[Token, Parsed]):
    """Builds a `Parsed` from the parse tree; methods are named after the grammar's rules."""

    def start(self, children: list[Parsed]) -> Parsed:
        """The one form of the body."""
        return children[0]

    def link(self, children: list[Token | None]) -> _Link:
        """`, /PROJECT/issue/N/)`: the issue link of an output kind."""
        return _link(children)

    def expected(self, children: list[Token | None]) -> Parsed:
        """`ExpectedOutput(ID)`."""
        return Parsed(Kind.EXPECTED, _text(children[0]))

    def expected_file(self, children: list[Token | None]) -> Parsed:
        """`ExpectedFileOutput(ID)`."""
        return Parsed(Kind.EXPECTED_FILE, _text(children[0]))

    def unexpected(self, children: list[object]) -> Parsed:
        """`UnexpectedOutput(ID, /PROJECT/issue/N/)`."""
        return self._with_id(Kind.UNEXPECTED, children)

    def unexpected_file(self, children: list[object]) -> Parsed:
        """`UnexpectedFileOutput(ID, /PROJECT/issue/N/)`."""
        return self._with_id(Kind.UNEXPECTED_FILE, children)

    def missing(self, children: list[object]) -> Parsed:
        """`MissingOutput(ID, /PROJECT/issue/N/)`."""
        return self._with_id(Kind.MISSING, children)

    def missing_file(self, children: list[object]) -> Parsed:
        """`MissingFileOutput(ID, /PROJECT/issue/N/)`."""
        return self._with_id(Kind.MISSING_FILE, children)

    def ignore_others(self, children: list[object]) -> Parsed:
        """`IgnoreOthers`."""
        return Parsed(Kind.IGNORE_OTHERS)

    def ignore_file(self, children: list[Token | None]) -> Parsed:
        """`IgnoreFile(/PROJECT/issue/N/)`."""
        return Parsed(Kind.IGNORE_FILE, None, *_link(children))

    def ignore_file_list(self, children: list[Token | None]) -> Parsed:
        """`IgnoreFileList(/PROJECT/issue/N/)`."""
        return Parsed(Kind.IGNORE_FILE_LIST, None, *_link(children))

    @staticmethod
    def _with_id(kind: Kind, children: list[object]) -> Parsed:
        token, link = children
        assert isinstance(link, tuple)
        return Parsed(kind, _text(token), *link)


# An issue link's parts: the project, the number's digits, the number's column in the body.
_Link = tuple[str, str, int]


def _link(children: list[Token | None]) -> _Link:
    project, number = children
    column = number.column if isinstance(number, Token) and number.column else 0
    return _text(project), _text(number), column


@functools.cache
def parser() -> Lark:
    """The process-wide LALR parser, built on first use (transformer applied while parsing)."""
    return cached_lark(
        "annotation",
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        transformer=FormBuilder(),
        maybe_placeholders=True,
    )


def parse(body: str) -> Parsed | int:
    """The body as written, or the 1-based column (within the body) where parsing stopped."""
    try:
        parsed = parser().parse(body)
    except UnexpectedInput as error:
        at_end = isinstance(error, UnexpectedToken) and error.token.type == "$END"
        return len(body) + 1 if at_end or error.column < 1 else error.column
    assert isinstance(parsed, Parsed)
    return parsed
