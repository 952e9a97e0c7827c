"""The parser boundary: scenario text in, a `Program` or one located `ScenarioSyntaxError` out.

lark's exceptions never leave this module. One LALR parser per process, built lazily, with the
transformer inline (no parse tree) and the lexer of `lexer.py` (the same tokens as lark's
contextual lexer, faster: bench/scenarios.py). A syntax error names the line and column, what
was found and, in words, what was expected there, with a hint for the common slips.
"""

from __future__ import annotations

import threading
from pathlib import Path

import lark
from lark import Lark, Token, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.exceptions import UnexpectedEOF
from lark.grammar import Rule
from lark.lexer import PatternStr

from annotations.lark_cache import cache_file
from harness.errors import HintedError
from harness.scenario import hints
from harness.scenario.lexer import ScenarioLexer
from harness.scenario.nodes import Program, Statement
from harness.scenario.transform import ScenarioTransformer

GRAMMAR = Path(__file__).with_name("scenario.lark")

# What a terminal means to someone writing a scenario (keywords are quoted from the grammar).
# Every terminal that is not a literal string is here (a test audits it); literals are quoted.
_WORDS = {
    "NAME": "a name",
    "INT": "a number",
    "BDF": "a PCI address such as 0000:01:00.0",
    "_NL": "end of line",
    "$END": "end of file",
    "COMP_OP": "a comparison",
    "OPTION": "an option key=value",
    "COMMENT": "a comment",
    "WS": "a space",
}
_OPERATORS = {"+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "or", "and"}
_STATEMENT_TERMINALS = frozenset(word.upper() for word in hints.STATEMENTS)


class ScenarioSyntaxError(HintedError):
    """A syntax error at `file:line:column`: what was found and expected, and a hint."""

    def __init__(
        self, file: str, line: int, column: int, message: str, hint: str | None = None
    ) -> None:
        super().__init__(message, hint)
        self.file = file
        self.line = line
        self.column = column

    def where(self) -> str:
        """`file:line:column`."""
        return f"{self.file}:{self.line}:{self.column}"


class _Parser:
    """The lazily built parser and the transformer it calls; a lock guards `file`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lark: Lark | None = None
        self._transformer = ScenarioTransformer()
        self._words: dict[str, str] = {}

    def lark(self) -> Lark:
        """The one LALR parser of this process."""
        if self._lark is None:
            self._lark = Lark(
                GRAMMAR.read_text(encoding="utf-8"),
                parser="lalr",
                lexer=ScenarioLexer,
                transformer=self._transformer,
                maybe_placeholders=False,
                # The grammar analysis, kept between runs: 88 ms -> 18 ms per process.
                cache=cache_file("scenario", lark.__version__),
            )
            _quicken(self._lark)
            for terminal in self._lark.terminals:
                if isinstance(terminal.pattern, PatternStr):
                    self._words[terminal.name] = f"'{terminal.pattern.value}'"
        return self._lark

    def word(self, terminal: str) -> str:
        """What `terminal` means in words."""
        return _WORDS.get(terminal) or self._words.get(terminal, terminal)

    def parse(self, text: str, file: str) -> Program:
        """Parse one file's text (a leading BOM is dropped, a missing final newline supplied)."""
        if text.startswith("\ufeff"):
            text = text[1:]  # as `harness.sources.decode` does: Windows editors write one
        if not text.endswith("\n"):
            text += "\n"
        lark = self.lark()
        with self._lock:
            self._transformer.file = file
            try:
                statements: tuple[Statement, ...] = lark.parse(text)  # type: ignore[assignment]
            except UnexpectedInput as error:
                raise self._located(error, text, file) from None
        return Program(file, statements)

    def _located(self, error: UnexpectedInput, text: str, file: str) -> ScenarioSyntaxError:
        line = error.line if error.line and error.line > 0 else text.count("\n") or 1
        column = error.column if error.column and error.column > 0 else 1
        token: Token | None = None
        if isinstance(error, UnexpectedCharacters):
            value = text[error.pos_in_stream or 0]
            kind, found = "character", f"character {value!r}"
            expected = set(error.allowed or ())
        elif isinstance(error, UnexpectedToken):
            token = error.token
            value, found = str(token.value), self._found(token)
            kind = {"_NL": "eol", "$END": "eof"}.get(token.type, "token")
            expected = set(error.expected)
            if error.interactive_parser is not None:
                # LALR's default reductions widen `expected`; ask what really fits here.
                accepts = error.interactive_parser.accepts()  # type: ignore[no-untyped-call]
                expected = set(accepts) or expected
        elif isinstance(error, UnexpectedEOF):
            value, kind, found = "", "eof", "end of file"
            expected = set(error.expected)
        else:  # pragma: no cover - lark raises only the three kinds above
            value, kind, found, expected = "", "token", "input", set()
        # Only terminals have words; a parser state also lists rules (never shown to a user).
        expected = {name for name in expected if name in self._words or name in _WORDS}
        context = hints.Context(text, line, column, kind, value, frozenset(expected))
        header = hints.unclosed_device(context)
        if header is not None:
            # As Python reports "'(' was never closed": at the opening, where it is annotated.
            source = text.split("\n")[header - 1]
            column = source.find("{") + 1 or 1
            message = "this device's '{' is never closed: the file ends before its '}'"
            return ScenarioSyntaxError(file, header, column, message, hints.late(context))
        hint = hints.early(context)
        if hint is None and token is not None and "OPTION" in expected:
            option = _option_error(token, text, file)
            if option is not None:
                return option
        words = self._expected_words(expected)
        message = f"unexpected {found}"
        if words:
            message += f"; expected {words}"
        if hint is None:
            hint = hints.late(context)
        if hint is None and "OPTION" in expected:
            hint = _OPTION_HINT
        return ScenarioSyntaxError(file, line, column, message, hint)

    def _found(self, token: Token) -> str:
        if token.type in ("_NL", "$END"):
            return _WORDS[token.type]
        return f"'{token.value}'"

    def _expected_words(self, expected: set[str]) -> str:
        if len(expected & _STATEMENT_TERMINALS) > 4:
            # At the start of a line: blank lines and the end of the file need no mention.
            words = ["a statement such as 'map', 'unmap', 'cfg' or 'assert'"]
            expected = expected - _STATEMENT_TERMINALS - {"_NL", "$END"}
        elif expected | {"NOT"} >= hints.EXPRESSION_START:
            words = ["an expression"]
            expected = expected - hints.EXPRESSION_START
        else:
            words = []
        words += sorted({self.word(name) for name in expected}, key=_word_order)
        operators = [w for w in words if w.strip("'") in _OPERATORS]
        if operators and (len(operators) > 2 or {"RPAR", "_NL"} & expected):
            # After a complete operand every operator is possible; one phrase says it.
            words = [w for w in words if w not in operators] + ["an operator"]
        if len(words) <= 1:
            return "".join(words)
        return ", ".join(words[:-1]) + " or " + words[-1]


_OPTION_HINT = "options are written key=value without spaces, e.g. iova=0x100000"


def _option_error(token: Token, text: str, file: str) -> ScenarioSyntaxError | None:
    """A precise error for a broken `key=value` (lexed as a bare name, since it is no option)."""
    if token.type != "NAME" or token.start_pos is None:
        return None
    line, column = token.line or 1, token.column or 1
    end = token.start_pos + len(token)
    rest = text[end : text.find("\n", end)]
    hint = _OPTION_HINT
    if rest.lstrip(" \t").startswith("=") and not rest.startswith("="):
        message = f"option '{token}' has a space before '='"
        return ScenarioSyntaxError(file, line, column + len(token), message, hint)
    if not rest.startswith("="):
        message = f"unexpected '{token}'; expected an option key=value or end of line"
        return ScenarioSyntaxError(file, line, column, message, hint)
    value_column = column + len(token) + 1
    value = rest[1:].split(maxsplit=1)[0] if rest[1:].strip() else ""
    if not value or rest[1] in " \t":
        message = f"option '{token}=' needs a value: a number, a word or BAR:OFFSET"
    else:
        message = f"option '{token}=' has a bad value {value!r}: a number, a word or BAR:OFFSET"
    return ScenarioSyntaxError(file, line, value_column, message, hint)


def _word_order(word: str) -> tuple[int, str]:
    """Descriptions (a name, a number) first, then keywords and symbols alphabetically."""
    return (0 if not word.startswith("'") else 1, word)


class _IdentityRule(Rule):
    """A rule compared and hashed by identity: the parse table holds one object per rule."""

    __slots__ = ()
    __hash__ = object.__hash__
    __eq__ = object.__eq__


def _quicken(lark: Lark) -> None:
    """Spare lark's LALR loop three Python-level calls per step; the table is unchanged.

    On every reduction lark hashes the rule to find its callback and compares it with the end
    state (`Rule.__hash__`, `Rule.__eq__`, both Python), then looks up the rule's origin name,
    a `Token` whose `__eq__` is Python too. Rules of one parser are distinct objects, so
    identity is their equality; a plain `str` name finds the same entries.

    This reads lark's internal layout (seen on lark 1.1.9 to 1.3.x). Where a lark release lays
    it out otherwise, nothing is touched and parsing is merely slower, never different.
    """
    try:  # ParsingFrontend -> LALR_Parser -> _Parser
        parser = lark.parser.parser.parser
        states = parser.parse_table.states
        callbacks = parser.callbacks
    except AttributeError:
        return
    if not isinstance(states, dict) or not isinstance(callbacks, dict):
        return
    for actions in states.values():
        for _action, arg in actions.values():
            if isinstance(arg, Rule):
                arg.origin.name = str(arg.origin.name)
    for rule in callbacks:
        rule.__class__ = _IdentityRule
    parser.callbacks = dict(callbacks.items())  # rehashed by identity


_PARSER = _Parser()


def parse(text: str, file: str = "<text>") -> Program:
    """Parse scenario text; raises `ScenarioSyntaxError` (and nothing from lark)."""
    return _PARSER.parse(text, file)


def parser() -> Lark:
    """The process's LALR parser (with the inline transformer); for benchmarks and tools."""
    return _PARSER.lark()
