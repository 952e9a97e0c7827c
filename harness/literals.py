"""Integer literals of the scenario language, for everything that reads them.

The syntax is the `INT` terminal of `harness/scenario/scenario.lark` (decimal with a binary
K/M/G/T suffix, `0x`, `0b`, single `_` separators between digits). It is read from the grammar
file itself, so `-D vfio:pgsize=64K` and `map ... size=64K` accept exactly the same text, and this
module needs no lark (the plugin's option parsing imports it before any scenario is parsed).
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.vfio.address import U64_MAX

GRAMMAR = Path(__file__).with_name("scenario") / "scenario.lark"
SUFFIXES = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}  # binary, 1024-based


def _terminal_pattern(name: str) -> re.Pattern[str]:
    """The regular expression of a `NAME: /regex/` terminal of the scenario grammar."""
    found = re.search(rf"^{name}:\s*/(.*)/\s*$", GRAMMAR.read_text(encoding="utf-8"), re.M)
    if found is None:
        raise RuntimeError(f"{GRAMMAR} defines no terminal {name} as a regular expression")
    return re.compile(found.group(1))


INT = _terminal_pattern("INT")


def int_value(text: str) -> int:
    """The value of text that is an INT token: `0x..`, `0b..`, decimal with `_` and a suffix."""
    if len(text) > 1 and text[1] in "xXbB":
        return int(text, 0)
    multiplier = SUFFIXES.get(text[-1], 0)
    if multiplier:
        return int(text[:-1].replace("_", "")) * multiplier
    return int(text.replace("_", ""))


def parse_int(text: str) -> int:
    """An unsigned 64-bit integer in the scenario syntax; ValueError when malformed or too big."""
    if INT.fullmatch(text) is None:
        raise ValueError(f"not an integer: {text!r}")
    value = int_value(text)
    if value > U64_MAX:
        raise ValueError(f"{text!r} is above 2^64-1")
    return value
