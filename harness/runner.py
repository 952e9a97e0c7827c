"""Running one scenario end to end: read annotations, parse, check, run, match.

Shared by the CLI (`python -m harness run`) and the pytest plugin. CONTRACT (signatures are
fixed; bodies are filled in by the scenario-language work):

- `group(paths, root)` turns `.vfio` paths into scenarios from their names alone (no reading):
  `name_file1.vfio`, `name_file2.vfio`, ... in one folder form one scenario `name`, files in
  number order; every other file is a scenario of its own.
- `load_backend(spec, defaults)` builds `model` or `package.module:Class`; a bad spec raises
  `BackendError` with a message and a hint.
- `run_scenario(...)` never raises for a bad scenario: an unreadable file becomes a FAILED
  outcome with an UNREADABLE finding; a syntax error is a `parser.error` output.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from annotations.annotation import Output, ReadResult
from annotations.outcome import Outcome
from harness.backend import Backend, CoreDefaults


@dataclass(frozen=True, slots=True)
class Scenario:
    """One test: a single file, or a `_fileN` group run in number order on one state."""

    name: str  # the stem, or for a group the part before `_fileN`
    files: tuple[Path, ...]
    root: Path  # the scenario root that relative names are taken from

    @property
    def relpath(self) -> str:
        """Posix path relative to the root: `dma/overlap.vfio`, or `dma/name` for a group."""
        raise NotImplementedError


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


def group(paths: Iterable[Path], root: Path) -> list[Scenario]:
    """Scenarios from file names alone, sorted by relative path."""
    raise NotImplementedError


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
