"""The one shape of an error a user can act on: where, what, and a hint.

Option errors, backend errors, scenario syntax errors and command-line usage errors all derive
from `HintedError`, so every front end (pytest's usage errors, the CLI, reports) prints them
the same way: `WHERE: MESSAGE` and, on the next line, `hint: HINT`.
"""

from __future__ import annotations


class HintedError(Exception):
    """A message, an optional hint, and (from subclasses) where the problem is."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def where(self) -> str:
        """The location prefix (a file position, an option); empty when there is none."""
        return ""

    def __str__(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        return f"{text}\nhint: {self.hint}" if self.hint else text
