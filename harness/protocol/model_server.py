"""`python -m harness serve`: the core model behind the protocol, the reference adapter.

It answers with the project name `model`, so a suite run over it links known bugs exactly as an
in-process run does, and it implements every method of the protocol.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from harness.backend import Backend, CoreDefaults
from harness.model import ModelBackend
from harness.protocol.methods import METHODS
from harness.protocol.server import serve


class ModelSession:
    """The model as a `BackendSession`: a new `ModelBackend` per scenario, nothing to close."""

    name = ModelBackend.name
    info: Mapping[str, str] = {}
    methods = frozenset(m for m in METHODS if callable(getattr(ModelBackend, m, None)))

    def __init__(self, defaults: CoreDefaults) -> None:
        self.defaults = defaults

    def fresh(self) -> Backend:
        """A model in its initial state."""
        return ModelBackend(self.defaults)

    def close(self) -> None:
        """Nothing to end: the model lives in this process."""


def main() -> int:
    """Serve the model on this process's stdin and stdout; the exit status."""
    try:
        return serve(ModelSession, sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:  # the harness went away mid-answer: nobody is left to answer
        return 0
    except KeyboardInterrupt:  # run by hand in a terminal
        return 130
