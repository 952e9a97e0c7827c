"""The parser boundary: scenario text in, a `Program` or one located `ScenarioSyntaxError` out.

lark's exceptions never leave this module. One LALR parser per process, built lazily, with the
transformer inline (no parse tree) and the lexer of `lexer.py` (the same tokens as lark's
contextual lexer, faster: bench/scenarios.py). A syntax error names the line and column, what
was found and, in words, what was expected there, with a hint for the common slips.
"""

from __future__ import annotations

import threading
from pathlib import Path

from lark import Lark, Token, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.exceptions import UnexpectedEOF
from lark.lexer import PatternStr

from harness.scenario.lexer import ScenarioLexer
from harness.scenario.nodes import Program, Statement
from harness.scenario.transform import ScenarioTransformer

GRAMMAR = Path(__file__).with_name("scenario.lark")

# What a terminal means to someone writing a scenario (keywords are quoted from the grammar).
_WORDS = {
    "NAME": "a name",
    "INT": "a number",
    "BDF": "a PCI address such as 0000:01:00.0",
    "_NL": "end of line",
    "$END": "end of file",
    "COMP_OP": "a comparison",
    "OPTION": "an option key=value",
}
_OPERATORS = {"+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "or", "and"}
_STATEMENT_WORDS = {
    "container",
    "window",
    "device",
    "attach",
    "map",
    "unmap",
    "alloc",
    "cfg",
    "msix",
    "irq",
    "assert",
}


class ScenarioSyntaxError(Exception):
    """A syntax error at `file:line:column`: what was found and expected, and a hint."""

    def __init__(
        self, file: str, line: int, column: int, message: str, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        hint = f"\nhint: {self.hint}" if self.hint else ""
        return f"{self.file}:{self.line}:{self.column}: {self.message}{hint}"


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
            )
            for terminal in self._lark.terminals:
                if isinstance(terminal.pattern, PatternStr):
                    self._words[terminal.name] = f"'{terminal.pattern.value}'"
        return self._lark

    def word(self, terminal: str) -> str:
        """What `terminal` means in words."""
        return _WORDS.get(terminal) or self._words.get(terminal, terminal)

    def parse(self, text: str, file: str) -> Program:
        """Parse one file's text (a missing final newline is supplied)."""
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
        if isinstance(error, UnexpectedCharacters):
            found = f"character {text[error.pos_in_stream or 0]!r}"
            expected = set(error.allowed or ())
        elif isinstance(error, UnexpectedToken):
            found = self._found(error.token)
            expected = set(error.expected)
            if error.interactive_parser is not None:
                # LALR's default reductions widen `expected`; ask what really fits here.
                accepts = error.interactive_parser.accepts()  # type: ignore[no-untyped-call]
                expected = set(accepts) or expected
        elif isinstance(error, UnexpectedEOF):
            found = "end of file"
            expected = set(error.expected)
        else:  # pragma: no cover - lark raises only the three kinds above
            found, expected = "input", set()
        if isinstance(error, UnexpectedToken) and "OPTION" in expected:
            option = _option_error(error.token, text, file)
            if option is not None:
                return option
        words = self._expected_words(expected)
        message = f"unexpected {found}"
        if words:
            message += f"; expected {words}"
        return ScenarioSyntaxError(file, line, column, message, _hint(found, expected, self))

    def _found(self, token: Token) -> str:
        if token.type in ("_NL", "$END"):
            return _WORDS[token.type]
        return f"'{token.value}'"

    def _expected_words(self, expected: set[str]) -> str:
        words = sorted({self.word(name) for name in expected}, key=_word_order)
        operators = [w for w in words if w.strip("'") in _OPERATORS]
        if len(operators) > 2:
            # After a complete operand every operator is possible; one phrase says it.
            words = [w for w in words if w not in operators] + ["an operator"]
        keywords = [w for w in words if w.strip("'") in _STATEMENT_WORDS]
        if len(keywords) > 4:
            words = [w for w in words if w not in keywords] + ["a statement"]
        if len(words) <= 1:
            return "".join(words)
        return ", ".join(words[:-1]) + " or " + words[-1]


def _option_error(token: Token, text: str, file: str) -> ScenarioSyntaxError | None:
    """A precise error for a broken `key=value` (lexed as a bare name, since it is no option)."""
    if token.type != "NAME" or token.start_pos is None:
        return None
    line, column = token.line or 1, token.column or 1
    end = token.start_pos + len(token)
    rest = text[end : text.find("\n", end)]
    hint = "options are written key=value without spaces, e.g. iova=0x100000"
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


def _hint(found: str, expected: set[str], parser: _Parser) -> str | None:
    words = {parser.word(name).strip("'") for name in expected}
    if "}" in words and "bar" in words:
        return "device members are 'bar', 'rom' or 'msix', one per line; '}' ends the device"
    if "{" in words:
        return "a device header ends with '{' on its line; members follow, one per line"
    if words >= {"map", "assert"}:
        return "a statement starts with a keyword: " + ", ".join(sorted(_STATEMENT_WORDS))
    if "OPTION" in expected:
        return "options are written key=value without spaces, e.g. iova=0x100000"
    if found.startswith("character"):
        return "numbers are decimal (4096, 2M), hex (0x1000) or binary (0b101)"
    if "BDF" in expected:
        return "write the PCI address as DDDD:BB:DD.F or BB:DD.F"
    return None


_PARSER = _Parser()


def parse(text: str, file: str = "<text>") -> Program:
    """Parse scenario text; raises `ScenarioSyntaxError` (and nothing from lark)."""
    return _PARSER.parse(text, file)


def parser() -> Lark:
    """The process's LALR parser (with the inline transformer); for benchmarks and tools."""
    return _PARSER.lark()
