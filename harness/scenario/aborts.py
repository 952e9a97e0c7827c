"""Backend calls that stop a scenario: `Unsupported`, `BackendFault`, and anything else.

Every call the interpreter makes into a backend goes through `call`: a `VfioError` passes
through (it becomes an output), `KeyboardInterrupt` passes through (the user stops the run),
and any other exception becomes `Stopped`, which the interpreter turns into the run's `Abort`
with `abort(...)`. A crash's detail is its traceback cut to the backend's own frames: the
interpreter's frame that made the call, and everything above it (the runner, pluggy, pytest),
is left out.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.backend import Abort, AbortKind, Backend, BackendFault, Unsupported
from harness.vfio.catalog import VfioError

_HERE = str(Path(__file__).resolve().parent)


class Stopped(Exception):
    """A backend call raised something that stops the run (kept in `error`)."""

    def __init__(self, method: str, error: BaseException) -> None:
        super().__init__(method, error)
        self.method = method
        self.error = error


def call(backend: Backend, method: str, *args: Any, **kwargs: Any) -> Any:
    """`backend.<method>(*args, **kwargs)`; anything but a VfioError is raised as `Stopped`."""
    function: Callable[..., Any] = getattr(backend, method)
    try:
        return function(*args, **kwargs)
    except (VfioError, KeyboardInterrupt):
        raise
    except BaseException as error:
        raise Stopped(method, error) from None


def abort(stopped: Stopped, backend: Backend, file: str, line: int) -> Abort:
    """The `Abort` for a call at `file:line` that raised `stopped.error`."""
    error, method, where = stopped.error, stopped.method, f"{file}:{line}"
    name = str(getattr(backend, "name", type(backend).__name__))
    if isinstance(error, Unsupported):
        message = f"backend {name} cannot run {method} at {where}: {error.reason}"
        return Abort(AbortKind.UNSUPPORTED, file, line, method, message)
    if isinstance(error, BackendFault):
        message = f"{error.message} ({where})"
        return Abort(AbortKind.FAULT, file, line, method, message, error.detail)
    message = f"{type(error).__name__}: {error}"
    return Abort(AbortKind.CRASH, file, line, method, message, backend_frames(error))


def backend_frames(error: BaseException) -> str:
    """The traceback of `error` from the first frame outside this package (the backend's)."""
    frames = traceback.extract_tb(error.__traceback__)
    start = 0
    while start < len(frames) and frames[start].filename.startswith(_HERE):
        start += 1
    return "".join(traceback.format_list(frames[start:]))
