"""The parser boundary: scenario text in, a `Program` or one located `ScenarioSyntaxError` out.

lark's exceptions never leave this module. One LALR parser per process (lark's own contextual
lexer, the transformer inline so that no parse tree is built), built on first use. A syntax
error names the line and column, what was found and, in words, what was expected there, with a
hint for the common slips (`hints.py`).

Limits: at most `MAX_NESTING` parentheses open at once, prefix operators in a row (`- - x`,
`not not x`) and `for` bodies inside one another; literals of at most `literals.MAX_LITERAL`
characters. Beyond them the file has a syntax error at that token. A text that might come near
a nesting limit (counting its parentheses, braces and prefix operators says so) is parsed token
by token through lark's interactive parser, each token checked before lark takes it, so in text
order and before lark's stack can grow with them; any other text is parsed in one call. A
literal's length is checked where the transformer converts it.

The statements come back as a `Program` (`program.py`), which keeps a long file's statements
packed in chunks.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from lark import Lark, Token, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.exceptions import UnexpectedEOF
from lark.lexer import PatternStr

from annotations.lark_cache import cached_lark
from harness.errors import HintedError
from harness.literals import INT
from harness.scenario import hints
from harness.scenario.program import Program, Statements
from harness.scenario.transform import LiteralTooLong, ScenarioTransformer

GRAMMAR = Path(__file__).with_name("scenario.lark")
MAX_NESTING = 32  # open parentheses, prefix operators in a row, `for` bodies in one another

# What a terminal means to someone writing a scenario (keywords are quoted from the grammar).
# Every terminal that is not a literal string is here (a test audits it); literals are quoted.
_WORDS = {
    "NAME": "a name",
    "INT": "a number",
    "BDF": "a PCI address such as 0000:01:00.0",
    "BAR_NAME": "a BAR such as bar0",
    "_NL": "end of line",
    "$END": "end of file",
    "COMP_OP": "a comparison",
    "OPTION": "an option key=value",
    "OPTION_KEY": "an option key=(expression)",  # named only where it alone is expected
    "COMMENT": "a comment",
    "WS": "a space",
}
_OPERATORS = {"+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "or", "and"}
_STATEMENT_TERMINALS = frozenset(word.upper() for word in hints.STATEMENTS)
_PREFIX = frozenset({"MINUS", "PLUS", "TILDE", "NOT"})
_KEYWORD = re.compile(r"([a-z0-9]+)\(\?!\[A-Za-z0-9_=\]\)")  # `map(?![A-Za-z0-9_=])`
_OPTION_HINT = "options are written key=value without spaces, e.g. iova=0x100000"


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


class _Limit(Exception):
    """A token beyond one of the parser's limits (raised from the token stream, never escapes)."""

    def __init__(self, token: Token, message: str, hint: str, offset: int = 0) -> None:
        super().__init__(message)
        self.line = token.line or 1
        self.column = (token.column or 1) + offset
        self.message = message
        self.hint = hint


# Quick scans of a text (at C speed) that find every place a nesting limit could be passed,
# and some more: a line with more than MAX_NESTING '(' in all; more than half as many prefix
# symbols or `not`s in a row (a run is `not`s, then symbols); more than MAX_NESTING blocks open.
_PARENTHESES = re.compile(rf"\((?:[^\n(]*\(){{{MAX_NESTING}}}")
_SYMBOLS = re.compile(rf"[-+~](?:[ \t]*[-+~]){{{MAX_NESTING // 2}}}")
_NOTS = re.compile(rf"not(?:[ \t]+not\b){{{MAX_NESTING // 2}}}")
_BLOCK_ENDS = re.compile(r"(\{)[ \t]*(?://[^\n]*)?$|^[ \t]*\}", re.M)


def _near_a_limit(text: str) -> bool:
    """Whether a nesting limit might be passed in `text` (if not, none is)."""
    if _PARENTHESES.search(text) or _SYMBOLS.search(text) or _NOTS.search(text):
        return True
    if text.count("{") <= MAX_NESTING:
        return False
    depth = 0
    for end in _BLOCK_ENDS.finditer(text):
        depth += 1 if end.group(1) else -1
        if depth > MAX_NESTING:
            return True
    return False


def _checked(tokens: Iterator[Token]) -> Iterator[Token]:
    """The tokens unchanged; `_Limit` at the first one beyond a limit, before lark takes it."""
    parentheses = prefix = blocks = 0
    for token in tokens:
        kind = token.type
        if kind in _PREFIX:
            prefix += 1
            if prefix > MAX_NESTING:
                raise _Limit(
                    token,
                    f"more than {MAX_NESTING} prefix operators in a row",
                    "write the operators once: - - x is x, not not x is x != 0",
                )
            yield token
            continue
        prefix = 0
        if kind == "LPAR":
            parentheses += 1
            if parentheses > MAX_NESTING:
                raise _Limit(
                    token,
                    f"expression nested too deeply: more than {MAX_NESTING} parentheses open",
                    "bind parts of the expression to names with 'let' and use those",
                )
        elif kind == "RPAR":
            parentheses -= 1
        elif kind == "_NL":
            parentheses = 0
        elif kind == "LBRACE":
            blocks += 1
            if blocks > MAX_NESTING:
                raise _Limit(
                    token,
                    f"more than {MAX_NESTING} 'for' bodies inside one another",
                    "loop over a range of the product of the bounds in fewer loops",
                )
        elif kind == "RBRACE":
            blocks -= 1
        yield token


@functools.cache
def _lark() -> Lark:
    """The process's LALR parser, with the inline transformer."""
    # The grammar's analysis is kept in the user's cache (annotations.lark_cache); a parser
    # loaded from it carries its own copy of the transformer, which holds no state.
    return cached_lark(
        "scenario",
        GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        transformer=ScenarioTransformer(),
        maybe_placeholders=False,
    )


@functools.cache
def _literal_words() -> dict[str, str]:
    """Each keyword or symbol terminal quoted: `MAP` -> `'map'`, `LPAR` -> `'('`."""
    words = {}
    for terminal in _lark().terminals:
        pattern = terminal.pattern
        if isinstance(pattern, PatternStr):
            words[terminal.name] = f"'{pattern.value}'"
        else:
            keyword = _KEYWORD.fullmatch(pattern.value)
            if keyword is not None:
                words[terminal.name] = f"'{keyword.group(1)}'"
    return words


def word(terminal: str) -> str:
    """What `terminal` means in words."""
    return _WORDS.get(terminal) or _literal_words().get(terminal, terminal)


def parse(text: str, file: str = "<text>") -> Program:
    """Parse scenario text; raises `ScenarioSyntaxError` (and nothing from lark).

    A leading byte order mark is dropped and a missing final newline supplied.
    """
    if text.startswith("\ufeff"):
        text = text[1:]  # as `harness.sources.decode` does: Windows editors write one
    if not text.endswith("\n"):
        text += "\n"
    try:
        statements = _parse_checked(text) if _near_a_limit(text) else _lark().parse(text)
    except (_Limit, LiteralTooLong) as limit:
        raise ScenarioSyntaxError(
            file, limit.line, limit.column, limit.message, limit.hint
        ) from None
    except UnexpectedInput as error:
        raise _located(error, text, file) from None
    return Program(file, statements)  # type: ignore[arg-type]


def _parse_checked(text: str) -> Statements:
    """Parse token by token (lark's public interactive parser), checking each against the
    limits before lark takes it: for texts that might reach one."""
    parser = _lark().parse_interactive(text)
    last: Token | None = None
    try:
        for token in _checked(parser.iter_parse()):
            last = token
        return parser.feed_eof(last)  # type: ignore[no-any-return, no-untyped-call]
    except UnexpectedInput as error:
        # As lark's own parse() sets it; a lexer error (UnexpectedCharacters) raised while
        # iterating has no such attribute at all.
        if getattr(error, "interactive_parser", None) is None:
            error.interactive_parser = parser
        raise


def _located(error: UnexpectedInput, text: str, file: str) -> ScenarioSyntaxError:
    line = error.line if error.line and error.line > 0 else text.count("\n") or 1
    column = error.column if error.column and error.column > 0 else 1
    position = _position(error)
    if position is not None:
        malformed = _malformed_number(text, position, file, line, column)
        if malformed is not None:
            return malformed
    token: Token | None = None
    if isinstance(error, UnexpectedToken):
        token = error.token
        value, found = str(token.value), _found(token)
        kind = {"_NL": "eol", "$END": "eof"}.get(token.type, "token")
        expected = set(error.expected)
        if error.interactive_parser is not None:
            # LALR's default reductions widen `expected`; ask what really fits here.
            accepts = error.interactive_parser.accepts()  # type: ignore[no-untyped-call]
            expected = set(accepts) or expected
        if token.type == "BDF" and "BDF" not in expected:
            # Only the catch-all BDF matched here: no token of the language starts so.
            value = value[0]
            kind, found, token = "character", character(value), None
    elif isinstance(error, UnexpectedCharacters):
        value = text[error.pos_in_stream or 0]
        kind, found = "character", character(value)
        expected = set(error.allowed or ())
        if error.interactive_parser is not None:
            accepts = error.interactive_parser.accepts()  # type: ignore[no-untyped-call]
            expected = set(accepts) or expected
    elif isinstance(error, UnexpectedEOF):
        value, kind, found = "", "eof", "end of file"
        expected = set(error.expected)
    else:  # pragma: no cover - lark raises only the three kinds above
        value, kind, found, expected = "", "token", "input", set()
    # Only terminals have words; a parser state also lists rules (never shown to a user).
    expected = {name for name in expected if name in _WORDS or name in _literal_words()}
    expected -= {"COMMENT", "WS"}
    context = hints.Context(text, line, column, kind, value, frozenset(expected))
    header = hints.unclosed_block(context)
    if header is not None:
        # As Python reports "'(' was never closed": at the opening, where it is annotated.
        number, what = header
        source = hints.line_of(text, number)
        column = source.rfind("{") + 1 or 1
        message = f"this {what}'s '{{' is never closed: the file ends before its '}}'"
        return ScenarioSyntaxError(file, number, column, message, hints.late(context))
    hint = hints.early(context)
    if hint is None and token is not None and "OPTION" in expected:
        option = _option_error(token, text, file)
        if option is not None:
            return option
    words = _expected_words(expected)
    message = f"unexpected {found}"
    if words:
        message += f"; expected {words}"
    if hint is None:
        hint = hints.late(context)
    if hint is None and "OPTION" in expected:
        hint = _OPTION_HINT
    return ScenarioSyntaxError(file, line, column, message, hint)


def _position(error: UnexpectedInput) -> int | None:
    """Where in the text the error is (the offending token's or character's offset)."""
    if isinstance(error, UnexpectedToken):
        position: int | None = error.token.start_pos
        return position
    if isinstance(error, UnexpectedCharacters):
        return error.pos_in_stream
    return None


_WORD_AT = re.compile(r"\w+")
_DIGITS = frozenset("0123456789")
_NUMBER_START = re.compile(r"0[xX][0-9a-fA-F_]*|0[bB][01_]*|[0-9][0-9_]*[KMGT]?")


def _malformed_number(
    text: str, position: int, file: str, line: int, column: int
) -> ScenarioSyntaxError | None:
    """A word that starts like a number but is none (`4k`, `0x10K`, `4KB`, `1and`): an error at
    the first character that makes it no number, with the hint for that slip."""
    word = _WORD_AT.match(text, position)
    # ASCII digits only: str.isdigit() is also true of fullwidth and other digits, which
    # start no number of the language.
    if word is None or word.group()[0] not in _DIGITS or INT.fullmatch(word.group()):
        return None
    number = _NUMBER_START.match(word.group())
    assert number is not None  # a word starting with a digit starts with a number
    cut = number.end() if number.end() < len(word.group()) else len(word.group()) - 1
    rest = word.group()[cut:]
    context = hints.Context(text, line, column + cut, "token", rest, frozenset())
    message = f"unexpected {hints.quoted(rest)}: {hints.quoted(word.group())} is not a number"
    hint = hints.early(context)
    if hint is None or hint.startswith(f"{hints.quoted(word.group())} is not a number"):
        hint = _NUMBER_HINT
    return ScenarioSyntaxError(file, line, column + cut, message, hint)


_NUMBER_HINT = (
    "numbers are decimal (4096, with a suffix 4K 2M 1G 1T), hex (0x1000) or binary (0b101)"
)


def character(value: str) -> str:
    """A character for a message; one outside ASCII also by its code point and name, since a
    look-alike (a Cyrillic а, a fullwidth ０, the Kelvin sign K) reads as the letter it mimics."""
    if value.isascii():
        return f"character {value!r}"
    name = unicodedata.name(value, "")
    return f"character {value!r} (U+{ord(value):04X}{' ' + name if name else ''})"


def _found(token: Token) -> str:
    if token.type in ("_NL", "$END"):
        return _WORDS[token.type]
    return hints.quoted(str(token.value))


def _expected_words(expected: set[str]) -> str:
    if "OPTION" in expected:
        expected = expected - {"OPTION_KEY"}  # `key=(expression)` is one of its forms
    if len(expected & _STATEMENT_TERMINALS) > 4:
        # At the start of a line: blank lines and the end of the file need no mention.
        words = ["a statement such as 'map', 'unmap', 'cfg' or 'assert'"]
        expected = expected - _STATEMENT_TERMINALS - {"_NL", "$END", "FOR", "LET"}
        if "RBRACE" in expected:
            words.append("'}'")
            expected = expected - {"RBRACE"}
    elif expected | {"NOT"} >= hints.EXPRESSION_START:
        words = ["an expression"]
        expected = expected - hints.EXPRESSION_START
    else:
        words = []
    words += sorted({word(name) for name in expected}, key=_word_order)
    operators = [w for w in words if w.strip("'") in _OPERATORS]
    if operators and (len(operators) > 2 or {"RPAR", "_NL"} & expected):
        # After a complete operand every operator is possible; one phrase says it.
        words = [w for w in words if w not in operators] + ["an operator"]
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
    if rest.lstrip(" \t").startswith("=") and not rest.startswith("="):
        message = f"option {hints.quoted(token)} has a space before '='"
        return ScenarioSyntaxError(file, line, column + len(token), message, _OPTION_HINT)
    if not rest.startswith("="):
        message = f"unexpected {hints.quoted(token)}; expected an option key=value or end of line"
        return ScenarioSyntaxError(file, line, column, message, _OPTION_HINT)
    value_column = column + len(token) + 1
    malformed = _malformed_number(text, end + 1, file, line, value_column)
    if malformed is not None:
        return malformed
    value = rest[1:].split(maxsplit=1)[0] if rest[1:].strip() else ""
    odd = next((ch for ch in value if not ch.isascii()), None)
    if odd is not None and rest[1] not in " \t":
        # A look-alike (a fullwidth digit, a Cyrillic letter): say which character it is.
        message = f"unexpected {character(odd)} in the value of option {hints.quoted(token + '=')}"
        context = hints.Context(text, line, value_column, "character", odd, frozenset())
        at = value_column + value.index(odd)
        return ScenarioSyntaxError(file, line, at, message, hints.late(context))
    if not value or rest[1] in " \t":
        message = (
            f"option {hints.quoted(token + '=')} needs a value: a number, a word, (expression)"
            " or BAR:OFFSET"
        )
    else:
        message = (
            f"option {hints.quoted(token + '=')} has a bad value {hints.quoted(value)}: a"
            " number, a word, (expression) or BAR:OFFSET"
        )
    return ScenarioSyntaxError(file, line, value_column, message, _OPTION_HINT)


def _word_order(word: str) -> tuple[int, str]:
    """Descriptions (a name, a number) first, then keywords and symbols alphabetically."""
    return (0 if not word.startswith("'") else 1, word)
