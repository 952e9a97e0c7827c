"""The lark side of the forms: `annotation.lark`, its transformer, the one lark error boundary.

Imported only when an annotation body is first parsed (see `forms.parse_form`): the pre-scan of
files without `//::` lines never pays for importing lark.
"""

from __future__ import annotations

import functools
from pathlib import Path

import lark
from lark import Lark, Token, Transformer, UnexpectedInput, UnexpectedToken

from annotations.annotation import IssueRef, Kind, OutputId
from annotations.forms import Form
from annotations.lark_cache import cache_file

GRAMMAR_PATH = Path(__file__).with_name("annotation.lark")


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

    lark's grammar analysis is cached in the user's own cache folder (`annotations.lark_cache`):
    measured on this grammar, that brings the build from ~50 ms to ~3 ms, more than reading the
    whole Silver corpus costs.
    """
    return Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        transformer=FormBuilder(),
        maybe_placeholders=True,
        cache=cache_file("annotation", lark.__version__),
    )


def parse(body: str) -> Form | int:
    """The body's `Form`, or the 1-based column (within the body) where parsing stopped."""
    try:
        form = parser().parse(body)
    except UnexpectedInput as error:
        at_end = isinstance(error, UnexpectedToken) and error.token.type == "$END"
        return len(body) + 1 if at_end or error.column < 1 else error.column
    assert isinstance(form, Form)
    return form
