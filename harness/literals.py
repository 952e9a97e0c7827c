"""Integer literals of the scenario language, for everything that reads or shows them.

The syntax is the `INT` terminal of `harness/scenario/scenario.lark` (decimal with a binary
K/M/G/T suffix, `0x`, `0b`, single `_` separators between digits). It is read from the grammar
file itself, so `-D vfio:pgsize=64K` and `map ... size=64K` accept exactly the same text, and this
module needs no lark (the plugin's option parsing imports it before any scenario is parsed).

A literal is at most `MAX_LITERAL` characters long: the widest useful one, a 64-bit binary
number with a `_` every four digits, has 81; anything longer is a mistake (and Python refuses
to convert decimal text of more than 4,300 digits). `show` writes any integer for a message
without converting more than a fixed number of its digits.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.vfio.address import U64_MAX

GRAMMAR = Path(__file__).with_name("scenario") / "scenario.lark"
SUFFIXES = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}  # binary, 1024-based
MAX_LITERAL = 100  # characters of one integer literal, prefix, separators and suffix included
_SHOWN_BITS = 64  # a value wider than this is shown by its ends and its width


def _terminal_pattern(name: str) -> re.Pattern[str]:
    """The regular expression of a `NAME: /regex/` terminal of the scenario grammar."""
    found = re.search(rf"^{name}:\s*/(.*)/\s*$", GRAMMAR.read_text(encoding="utf-8"), re.M)
    if found is None:
        raise RuntimeError(f"{GRAMMAR} defines no terminal {name} as a regular expression")
    return re.compile(found.group(1))


INT = _terminal_pattern("INT")


def too_long(text: str) -> str | None:
    """Why `text` is too long to be a literal, or None."""
    if len(text) <= MAX_LITERAL:
        return None
    return f"a number of {len(text):,} characters (at most {MAX_LITERAL})"


def int_value(text: str) -> int:
    """The value of text that is an INT token: `0x..`, `0b..`, decimal with `_` and a suffix.

    ValueError when it is longer than `MAX_LITERAL` characters.
    """
    if len(text) > MAX_LITERAL:
        raise ValueError(f"{too_long(text)}: {text[:20]}…")
    if len(text) > 1 and text[1] in "xXbB":
        return int(text, 0)
    multiplier = SUFFIXES.get(text[-1], 0)
    if multiplier:
        return int(text[:-1].replace("_", "")) * multiplier
    return int(text.replace("_", ""))


def parse_int(text: str) -> int:
    """An unsigned 64-bit integer in the scenario syntax; ValueError when malformed or too big."""
    problem = too_long(text)
    if problem is not None:
        raise ValueError(f"not an integer: {problem}")
    if INT.fullmatch(text) is None:
        raise ValueError(f"not an integer: {text!r}")
    value = int_value(text)
    if value > U64_MAX:
        raise ValueError(f"{text!r} is above 2^64-1")
    return value


def show(value: int) -> str:
    """A value for a message: decimal when small, else hex; a wide one by its ends and width.

    Negative values keep their sign. Only the first and last 16 hex digits of a value wider than
    64 bits are converted: `0x1000000000000000…0000000000000000 (a 4097-bit number)`.
    """
    if -10 < value < 10:
        return str(value)
    sign, magnitude = ("-", -value) if value < 0 else ("", value)
    bits = magnitude.bit_length()
    if bits <= _SHOWN_BITS:
        return f"{sign}{magnitude:#x}"
    digits = (bits + 3) // 4
    head = magnitude >> (4 * (digits - 16))
    tail = magnitude & ((1 << 64) - 1)
    return f"{sign}{head:#x}…{tail:016x} (a {bits}-bit number)"
