"""Hints for syntax errors: the likely slip behind an error, in the words of the language.

Pure functions of the error's context (the text, where the parser stopped, what it found and
which terminals it would have taken); `parse.py` calls them only on the error path. `early`
hints explain a token better than the generic option error would (`size=4k`, a keyword in the
wrong case, a second statement on a line); `late` hints cover the rest, most specific first,
ending with the usage of the statement on that line.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from harness.literals import SUFFIXES, too_long

STATEMENTS = (
    "container",
    "window",
    "device",
    "let",
    "attach",
    "map",
    "unmap",
    "alloc",
    "cfg",
    "mmio",
    "msix",
    "irq",
    "reset",
    "assert",
    "for",
)
DECLARATIONS = ("container", "window", "device", "let")
KEYWORDS = frozenset(
    (
        *STATEMENTS,
        *("bar", "rom", "all", "read", "write", "entry", "mask", "unmask", "enable"),
        *("disable", "fmask", "io", "prefetch", "mem32", "mem64", "mmio32", "mmio64", "in"),
        *("and", "or", "not"),
    )
)
# Terminals that may start an expression (the grammar's `atom` and prefix operators).
EXPRESSION_START = frozenset({"NAME", "INT", "LPAR", "PLUS", "MINUS", "TILDE", "NOT"})

USAGE = {
    "container": (
        "container NAME [mode=v2|v1] [pgsize=SIZE] [limit=N] [reserved=x86|none] [aw=BITS]"
    ),
    "window": "window mmio32|mmio64|io base=ADDRESS size=SIZE",
    "device": "device NAME BDF {   (members on the next lines, then '}' alone on its line)",
    "let": "let NAME = EXPRESSION, e.g. let ram = 3G",
    "for": "for NAME in FIRST..LAST {   (statements on the next lines, then '}' alone)",
    "attach": "attach DEVICE CONTAINER",
    "map": "map CONTAINER iova=… vaddr=… size=… [perm=rw|r|w|none]",
    "unmap": "unmap CONTAINER iova=… size=… [== VALUE]  or  unmap CONTAINER all [== VALUE]",
    "mmio read": "mmio read DEVICE barN OFFSET [size=1|2|4|8] [== VALUE]",
    "mmio write": "mmio write DEVICE barN OFFSET VALUE [size=1|2|4|8]",
    "mmio": "mmio read DEVICE barN OFFSET [size=…] [== VALUE]  or  mmio write DEVICE barN OFFSET"
    " VALUE",
    "reset": "reset DEVICE",
    "alloc": "alloc DEVICE",
    "cfg read": "cfg read DEVICE OFFSET [size=1|2|4] [== VALUE]",
    "cfg write": "cfg write DEVICE OFFSET VALUE [size=1|2|4]",
    "cfg": "cfg read DEVICE OFFSET [size=…] [== VALUE]  or  cfg write DEVICE OFFSET VALUE",
    "msix entry": "msix entry DEVICE VECTOR addr=ADDRESS data=DATA",
    "msix mask": "msix mask DEVICE VECTOR",
    "msix unmask": "msix unmask DEVICE VECTOR",
    "msix enable": "msix enable DEVICE",
    "msix disable": "msix disable DEVICE",
    "msix fmask": "msix fmask DEVICE on|off",
    "msix": "msix entry|mask|unmask DEVICE VECTOR …, msix enable|disable DEVICE, "
    "msix fmask DEVICE on|off",
    "irq": "irq DEVICE VECTOR",
    "assert": "assert EXPRESSION, e.g. assert c0.mappings == 1",
}
MEMBER_USAGE = {
    "bar": "bar INDEX mem32|mem64 [prefetch] SIZE  or  bar INDEX io SIZE",
    "rom": "rom SIZE",
    "msix": "msix VECTORS table=BAR:OFFSET pba=BAR:OFFSET",
}
# A number that ends right before the column (the token found is glued to it).
_NUMBER_BEFORE = re.compile(
    r"(?<![A-Za-z0-9_.])(0[xX][0-9a-fA-F_]*|0[bB][01_]*|[0-9][0-9_]*[KMGT]?)\Z"
)
_OPERATORS_AFTER = (
    *("==", "!=", "<=", ">=", "<<", ">>", "<", ">", "+", "-", "*", "/", "%"),
    *("&", "|", "^", "~", "(", " not", " and", " or", "assert"),
)


@dataclass(frozen=True)
class Context:
    """Where the parser stopped: `kind` is token, character, eol (end of line) or eof."""

    text: str
    line: int
    column: int
    kind: str
    value: str
    expected: frozenset[str]

    @functools.cached_property
    def source(self) -> str:
        """The text of the error's line."""
        return line_of(self.text, self.line)

    @property
    def before(self) -> str:
        """The line's text before the error's column."""
        return self.source[: self.column - 1]

    @property
    def words(self) -> list[str]:
        """The line's words up to its comment."""
        return self.source.split("//", 1)[0].split()


def early(c: Context) -> str | None:
    """A hint that explains the found token better than a generic option error would."""
    if c.kind != "token":
        return None
    if c.value != c.value.lower() and c.value.lower() in KEYWORDS:
        return f"keywords are lowercase: '{c.value.lower()}'"
    glued = _glued_to_number(c)
    if glued is not None:
        return glued
    first_column = len(c.source) - len(c.source.lstrip()) + 1
    if c.value in STATEMENTS and c.column > first_column:
        return f"one statement per line: start a new line before '{c.value}'"
    return None


def late(c: Context) -> str | None:
    """The most specific hint for the error, or the usage of the line's statement."""
    for rule in (_after_brace, _characters, _parentheses, _missing_operand, _no_value_check):
        found = rule(c)
        if found is not None:
            return found
    blocks = _open_blocks(c)
    if c.kind == "eof" and "RBRACE" in c.expected:
        if blocks and blocks[-1][1] == "for":
            return "add '}' on a line of its own after the loop's body"
        return "add '}' on a line of its own after the device's members"
    if {"BAR", "ROM", "RBRACE"} <= c.expected:
        where = f" opened on line {blocks[-1][0]}" if blocks else ""
        return (
            "device members are 'bar', 'rom' or 'msix', one per line; '}' alone on its line "
            f"ends the device{where}"
        )
    if c.words[:1] and c.words[0] in DECLARATIONS:
        # The blocks open before this line: a `device` header here opens one of its own.
        around = _open_blocks(c, c.line - 1)
        if around and around[-1][1] == "for":
            return (
                f"a 'for' body holds operations only: declare '{c.words[0]}' before the loop"
                f" (opened on line {around[-1][0]})"
            )
    operators = {"PLUS", "STAR", "COMP_OP"} & c.expected
    if c.kind == "token" and "_NL" in c.expected and c.value[:1].isalnum() and operators:
        return f"two operands in a row: an operator (+, ==, and, …) is missing before '{c.value}'"
    if "LBRACE" in c.expected:
        return "a device header ends with '{' on its line; members follow, one per line"
    if "BDF" in c.expected:
        return "write the PCI address as DDDD:BB:DD.F or BB:DD.F"
    return _unknown_statement(c) or _usage(c)


def _glued_to_number(c: Context) -> str | None:
    number = _NUMBER_BEFORE.search(c.before)
    if number is None or not c.value[:1].isalpha():
        return None
    digits, word = number.group(1), c.value
    if too_long(digits):
        return None
    if (digits == "0" and word[0] in "xXbB") or digits[1:] in ("x", "X", "b", "B"):
        return "a hex number needs digits after 0x (0x1000), a binary one after 0b (0b101)"
    suffix = word[0].upper()
    if digits[:2].lower() in ("0x", "0b") and suffix in SUFFIXES:
        scaled = int(digits.replace("_", ""), 0)
        value = scaled * SUFFIXES[suffix]
        return (
            "size suffixes K M G T apply to decimal numbers only: "
            f"write {scaled}{suffix} or {value:#x}"
        )
    if digits[-1] in SUFFIXES and word.lower() in ("b", "ib"):
        return f"write {digits}: size suffixes are 1024-based and take no 'B'"
    if digits[-1].isdigit() and word.lower() in ("k", "m", "g", "t"):
        return f"size suffixes are upper case: {digits}{word.upper()}"
    if digits[-1].isdigit() and word.lower() in ("kb", "kib", "mb", "mib", "gb", "gib", "tb"):
        return f"write {digits}{suffix}: size suffixes are K M G T, 1024-based, without 'B'"
    return (
        f"'{digits}{word}' is not a number: numbers are decimal (4096, with a suffix 4K 2M 1G"
        " 1T), hex (0x1000) or binary (0b101)"
    )


def _after_brace(c: Context) -> str | None:
    if c.kind not in ("token", "character"):
        return None
    stripped = c.source.lstrip()
    if stripped.startswith("}"):
        return "'}' stands alone on its line: put what follows on the next line"
    if c.words[:1] == ["device"] and "{" in c.before:
        return (
            "members go on their own lines: end the header line with '{', write each member "
            "on a line of its own, then '}' alone on the last line"
        )
    return None


def _characters(c: Context) -> str | None:
    value = c.value
    if c.kind == "token" and value in ("&", "|") and c.before.endswith(value):
        return "logic is written 'and', 'or', 'not'; '&' and '|' are bitwise"
    if value == "=" and (c.kind == "character" or "COMP_OP" in c.expected):
        return "did you mean '=='? A single '=' joins an option's key to its value (iova=0x1000)"
    if c.kind != "character":
        return None
    if value == "!":
        return "write 'not x' for negation; '!' only starts '!='"
    if value in "'\"`":
        return "there are no strings: names and numbers are written bare"
    if value in "[]":
        return "there is no indexing: attributes are name.attribute, calls name.attribute(ARG)"
    if ord(value) < 0x20 or 0x7F <= ord(value) < 0xA0:
        return f"remove the control character {value!r} (an editor or a paste inserted it)"
    if ord(value) > 0x7F:
        return "outside comments a scenario is ASCII: keywords, names, numbers and operators"
    if "OPTION" not in c.expected and "BDF" not in c.expected:
        return f"{value!r} is no operator: expressions use + - * / % & | ^ << >> ~ and comparisons"
    return None


def _parentheses(c: Context) -> str | None:
    if c.kind == "eol" and "RPAR" in c.expected:
        depth = c.before.count("(") - c.before.count(")")
        if depth > 1:
            return f"{depth} ')' are missing: as many '(' on this line are not closed"
        return "a ')' is missing: a '(' on this line is not closed"
    if c.kind == "token" and c.value == ")" and "RPAR" not in c.expected:
        return "this ')' closes no '('"
    return None


def _missing_operand(c: Context) -> str | None:
    if not {"NAME", "INT", "LPAR"} <= c.expected or c.kind not in ("eol", "eof", "token"):
        return None
    before = c.before.rstrip()
    for op in _OPERATORS_AFTER:
        if before.endswith(op):
            if op == "assert":
                return "assert takes an expression, e.g. assert c0.mappings == 1"
            return f"an expression is missing after '{op.strip()}'"
    return None


def _no_value_check(c: Context) -> str | None:
    if c.kind != "token" or c.value != "==" or not c.words:
        return None
    statement = c.words[0]
    if "CHECK" in c.expected:
        return None
    return (
        f"'{statement}' returns no value to check: only 'unmap', 'cfg read' and 'mmio read'"
        " take '== VALUE'"
    )


def _unknown_statement(c: Context) -> str | None:
    if c.kind != "token" or len(set(STATEMENTS) & {e.lower() for e in c.expected}) < 5:
        return None
    close = difflib.get_close_matches(c.value.lower(), STATEMENTS, n=1, cutoff=0.6)
    listing = "a statement starts with a keyword: " + ", ".join(sorted(STATEMENTS))
    return f"did you mean '{close[0]}'? {listing}" if close else listing


def _usage(c: Context) -> str | None:
    words = c.words
    if not words:
        return None
    first = words[0]
    blocks = _open_blocks(c)
    if first in MEMBER_USAGE and (first != "msix" or (blocks and blocks[-1][1] == "device")):
        return f"usage: {MEMBER_USAGE[first]}"
    if len(words) > 1 and f"{first} {words[1]}" in USAGE:
        return f"usage: {USAGE[f'{first} {words[1]}']}"
    if first in USAGE:
        return f"usage: {USAGE[first]}"
    return None


def unclosed_block(c: Context) -> tuple[int, str] | None:
    """At the end of the file inside a block: its header line and 'device' or 'for' loop."""
    if c.kind != "eof" or "RBRACE" not in c.expected:
        return None
    blocks = _open_blocks(c)
    if not blocks:
        return None
    line, kind = blocks[-1]
    return line, "device" if kind == "device" else "'for' loop"


def _open_blocks(c: Context, lines: int | None = None) -> list[tuple[int, str]]:
    """The blocks open after the first `lines` lines (default: up to the error's line, that
    line included), outermost first: (header line, 'device' or 'for')."""
    opened: list[tuple[int, str]] = []
    for number, line in enumerate(_lines(c.text, c.line if lines is None else lines), start=1):
        stripped = line.split("//", 1)[0].strip()
        if stripped.endswith("{") and stripped.split(maxsplit=1)[0] in ("device", "for"):
            opened.append((number, stripped.split(maxsplit=1)[0]))
        elif stripped.startswith("}") and opened:
            opened.pop()
    return opened


def _lines(text: str, count: int) -> Iterator[str]:
    """The first `count` lines of `text`, one at a time (a long file is never split whole)."""
    start = 0
    for _ in range(count):
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


def line_of(text: str, number: int) -> str:
    """Line `number` (1-based) of `text`, or "" past its end."""
    for index, line in enumerate(_lines(text, number), start=1):
        if index == number:
            return line
    return ""
