"""The child's side of `vfio-harness/1`: any `BackendSession` served over stdin/stdout.

`serve(open_session, stdin, stdout)` reads one request per line and answers each at once:

- `initialize` opens the session with the run's defaults and answers the session's `name`, the
  protocol, the Backend methods it implements and its `info`;
- `reset` takes a fresh backend (`session.fresh()`), reopening the session first when the
  defaults differ from the ones it was opened with;
- every Backend method is validated against the method table (names, JSON types, choices) and
  called by name; `VfioError` is error code 1 with `data.id` (and `data.errno` when the error
  carries one), `Unsupported` is code 2, a method the session lacks is -32601;
- `shutdown` closes the session, answers null and ends the loop; so does end of input;
- `BackendFault` (from the session or a backend) ends the child with status 3 after writing
  `FAULT: message` and the detail to stderr: a broken system is a fault, never an answer.

Anything else a backend raises is a bug in it: the request gets -32603 with the exception's type
and message, its traceback goes to stderr (where the harness shows the last lines), and the
loop goes on, because the harness decides what a broken child means.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO

from harness.backend import Backend, BackendFault, BackendSession, CoreDefaults, Unsupported
from harness.protocol import wire
from harness.protocol.lifecycle import (
    Handshake,
    LifecycleError,
    defaults_from_wire,
    handshake_to_wire,
)
from harness.protocol.methods import KIND_WORDS, METHODS, PROTOCOL, Method, is_kind
from harness.vfio.catalog import VfioError

OpenSession = Callable[[CoreDefaults], BackendSession]
FAULT_STATUS = 3  # the exit status of a child whose system broke down (BackendFault)


class Server:
    """The state between requests: the open session, its defaults, the scenario's backend.

    `handle(line)` answers one request line; `serve` is the loop around it. An adapter written
    in Python can drive a `Server` from its own loop (to log, or to listen elsewhere).
    """

    def __init__(self, open_session: OpenSession) -> None:
        self.open_session = open_session
        self.session: BackendSession | None = None
        self.defaults: CoreDefaults | None = None
        self.backend: Backend | None = None

    def handle(self, line: bytes) -> tuple[bytes, bool]:
        """The answer to one request line, and whether the loop ends after it."""
        try:
            request = wire.decode_request(line)
        except wire.RequestError as error:
            return wire.error_response(error.id, error.code, error.message), False
        try:
            result = self.dispatch(request.method, request.params)
        except wire.RequestError as error:
            return wire.error_response(request.id, error.code, error.message), False
        except VfioError as error:
            data: dict[str, Any] = {"id": error.id}
            if error.errno is not None:
                data["errno"] = error.errno
            answer = wire.error_response(request.id, wire.DECLARED_FAILURE, error.message, data)
            return answer, False
        except Unsupported as error:
            return wire.error_response(request.id, wire.UNSUPPORTED, error.reason), False
        except BackendFault:
            raise  # the system broke down: `serve` ends the child
        except Exception as error:  # a bug in the backend: report it, stay in service
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            message = f"{request.method} raised {type(error).__name__}: {error}"
            return wire.error_response(request.id, wire.INTERNAL_ERROR, message), False
        return wire.response(request.id, result), request.method == "shutdown"

    def dispatch(self, method: str, params: dict[str, Any]) -> Any:
        """Run one request; protocol-level problems raise `wire.RequestError`."""
        if method == "initialize":
            return self.initialize(params)
        if method == "shutdown":
            self.close()
            return None
        if self.session is None:
            raise wire.RequestError(None, wire.INVALID_REQUEST, f"{method} before initialize")
        if method == "reset":
            self.reset(_defaults(params))
            return None
        spec = METHODS.get(method)
        if spec is None or method not in self.session.methods:
            raise wire.RequestError(None, wire.METHOD_NOT_FOUND, f"method not found: {method}")
        assert self.backend is not None  # set by initialize
        return _call(self.backend, spec, params)

    def initialize(self, params: dict[str, Any]) -> Any:
        """Open the session with the run's defaults; the handshake."""
        protocol = params.get("protocol")
        if protocol != PROTOCOL:
            raise wire.RequestError(
                None, wire.INVALID_PARAMS, f"protocol {protocol!r} is not {PROTOCOL!r}"
            )
        self.reset(_defaults(params))
        session = self.session
        assert session is not None
        return handshake_to_wire(Handshake(session.name, session.methods, session.info))

    def reset(self, defaults: CoreDefaults) -> None:
        """A fresh backend, from a session opened with these defaults."""
        if self.session is None or defaults != self.defaults:
            self.close()
            self.session = self.open_session(defaults)
            self.defaults = defaults
        self.backend = self.session.fresh()

    def close(self) -> None:
        """Close the session, if one is open."""
        session, self.session, self.backend = self.session, None, None
        if session is not None:
            session.close()


def _defaults(params: dict[str, Any]) -> CoreDefaults:
    try:
        return defaults_from_wire(params)
    except LifecycleError as error:
        raise wire.RequestError(None, wire.INVALID_PARAMS, error.reason) from None


def _call(backend: Backend, method: Method, params: dict[str, Any]) -> Any:
    """Validate the params against the method table, call by name, check the result's type."""
    if not params.keys() <= method.names:
        unknown = sorted(params.keys() - method.names)[0]
        raise wire.RequestError(
            None, wire.INVALID_PARAMS, f"{method.name} has no parameter {unknown!r}"
        )
    for param in method.params:
        if param.name not in params:
            if param.required:
                raise wire.RequestError(
                    None, wire.INVALID_PARAMS, f"{method.name} needs {param.name!r}"
                )
        elif not param.accepts(params[param.name]):
            raise wire.RequestError(
                None,
                wire.INVALID_PARAMS,
                f"{method.name}: {param.name!r} must be {param.describe()}",
            )
    result = getattr(backend, method.name)(**params)
    if not is_kind(result, method.result):
        raise TypeError(f"{method.name} returned {result!r}, not {KIND_WORDS[method.result]}")
    return result


def fault_report(fault: BackendFault, prefix: str = "FAULT: ") -> str:
    """What a child writes to stderr as it ends on a fault: the message, then as much of the
    detail as fits in the stderr tail the harness keeps (`wire.STDERR_LINES`), so that the message
    is never the line that falls out of it."""
    lines = [f"{prefix}{fault.message}"]
    if fault.detail:
        lines += fault.detail.splitlines()[-(wire.STDERR_LINES - 1) :]
    return "".join(f"{line}\n" for line in lines)


def serve(open_session: OpenSession, stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Serve requests from `stdin` until `shutdown` or end of input; the exit status.

    0 after `shutdown` or at end of input; `FAULT_STATUS` when the session or a backend raised
    `BackendFault` (the system broke down: a guest died, a VMM hung): then `FAULT: message` and
    the fault's detail go to stderr, the session is closed, and the child exits, so that the
    harness reports "exited with status 3 during METHOD" with those lines and starts a new one.
    """
    server = Server(open_session)
    try:
        for line in stdin:
            answer, done = server.handle(line)
            stdout.write(answer)
            stdout.flush()
            if done:
                break
    except BackendFault as fault:
        sys.stderr.write(fault_report(fault))
        sys.stderr.flush()
        return FAULT_STATUS
    finally:
        server.close()
    return 0
