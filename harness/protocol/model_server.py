"""`python -m harness serve`: the core model behind the protocol, the reference adapter.

It serves the same session `-D backend=model` opens in process, so a suite run over it answers
with the project name `model` (known bugs link exactly as in process) and implements every
method of the protocol.
"""

from __future__ import annotations

import sys

from harness.backend import BackendSession, CoreDefaults
from harness.protocol.server import serve
from harness.sessions import MODEL, open_backend


def open_model(defaults: CoreDefaults) -> BackendSession:
    """The model's session for these defaults."""
    return open_backend(MODEL, defaults)


def main() -> int:
    """Serve the model on this process's stdin and stdout; the exit status."""
    try:
        return serve(open_model, sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:  # the harness went away mid-answer: nobody is left to answer
        return 0
    except KeyboardInterrupt:  # run by hand in a terminal
        return 130
