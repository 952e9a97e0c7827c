"""Scenario files as text: UTF-8, with an optional byte order mark; invalid UTF-8 is located.

A UTF-8 BOM at the start of a file (as Windows editors write it) is dropped before anything
reads the text, so the parser and the annotation reader see the same lines and columns. Bytes
that are not UTF-8 make the file's syntax error, at the line and column (in characters) of the
first bad byte; the text is still returned, bad bytes replaced by U+FFFD, so that annotations
can be read and code frames shown.
"""

from __future__ import annotations

from harness.scenario.parse import ScenarioSyntaxError

BOM = "\ufeff"


def strip_bom(text: str) -> str:
    """`text` without a leading byte order mark."""
    return text[1:] if text.startswith(BOM) else text


def decode(data: bytes, file: str) -> tuple[str, ScenarioSyntaxError | None]:
    """The file's text (BOM dropped) and, when it is not UTF-8, the error at the first bad byte."""
    try:
        return strip_bom(data.decode("utf-8")), None
    except UnicodeDecodeError as error:
        # Everything before the first bad byte decodes (that is where decoding stopped).
        before = strip_bom(data[: error.start].decode("utf-8"))
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        bad = " ".join(f"{byte:#04x}" for byte in data[error.start : error.end])
        message = f"byte {bad} is not valid UTF-8 (scenario files are UTF-8 text)"
        hint = f"save {file} as UTF-8 (in most editors: 'save with encoding', UTF-8)"
        text = strip_bom(data.decode("utf-8", errors="replace"))
        return text, ScenarioSyntaxError(file, line, column, message, hint)
