"""Running one scenario end to end: read annotations, parse, check, run, match.

Shared by the CLI (`python -m harness run`) and the pytest plugin. CONTRACT (signatures are
fixed; bodies are filled in by the scenario-language work):

- `load_backend(spec, defaults)` builds `model` or `package.module:Class`; a bad spec raises
  `BackendError` with a message and a hint.
- `run_scenario(...)` never raises for a bad scenario: an unreadable file becomes a FAILED
  outcome with an UNREADABLE finding; a syntax error is a `parser.error` output.
"""

from __future__ import annotations

from dataclasses import dataclass

from annotations.annotation import Output, ReadResult
from annotations.outcome import Outcome
from harness.backend import Backend, CoreDefaults
from harness.discovery import Scenario


class BackendError(Exception):
    """A backend spec that cannot be loaded."""

    def __init__(self, spec: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.spec = spec
        self.message = message
        self.hint = hint


@dataclass(frozen=True, slots=True)
class RunResult:
    """A scenario's outputs, its annotations, and the matcher's outcome."""

    scenario: Scenario
    outputs: tuple[Output, ...]
    read: ReadResult
    outcome: Outcome
    texts: dict[str, str]  # file (as in outputs) -> text, for code frames


def load_backend(spec: str, defaults: CoreDefaults) -> Backend:
    """Build the backend named `model` or `package.module:Class`."""
    raise NotImplementedError


def run_scenario(
    scenario: Scenario,
    *,
    backend: str = "model",
    defaults: CoreDefaults | None = None,
    strict: bool = True,
) -> RunResult:
    """Run one scenario and match its outputs against its annotations."""
    raise NotImplementedError
