"""The kernel backend's errors a user can act on: each says where, what, and what to do."""

from __future__ import annotations

from harness.errors import HintedError


class SetupError(HintedError):
    """A step of `kernel setup` (or a session needing its artifacts) cannot go on.

    `step` names the step (`host tools`, `download`, `boot`...), shown as the location.
    """

    def __init__(self, step: str, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.step = step

    def where(self) -> str:
        """`kernel setup (STEP)`."""
        return f"kernel setup ({self.step})"
